package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// Apply implements removal.Store.
//
// On SQLite the batch runs in one immediate transaction (one commit), chunk
// by chunk of removal.ChunkSize numbers, checking ctx before the first chunk
// and between chunks; when ctx is done, the chunks already applied are
// committed and returned with ctx.Err().
//
// On PostgreSQL the batch is one statement (lock in key order, update,
// classify) in one transaction (round trips, not rows, dominate its cost
// there: see the README). ctx is checked before it, and the driver watches ctx while it
// runs: a cancellation aborts the statement and nothing is applied.
//
// Any storage failure rolls the transaction back: the result is then empty,
// which is exactly what was durably applied.
func (s *Store) Apply(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(numbers) == 0 {
		return []removal.Outcome{}, nil
	}
	if len(c.From) == 0 {
		return nil, errors.New("sqlstore: Apply with a change that has no From status")
	}
	if s.d == sqlite {
		return s.applySQLite(ctx, numbers, c)
	}
	return s.applyPostgresTx(ctx, numbers, c)
}

func (s *Store) applySQLite(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out := make([]removal.Outcome, 0, len(numbers))
	var stopped error
	err := s.writeTx(ctx, func(tx txRunner) error {
		wctx := context.WithoutCancel(ctx)
		p, err := s.prepareSQLite(wctx, tx)
		if err != nil {
			return err
		}
		defer p.close()
		for start := 0; start < len(numbers); start += removal.ChunkSize {
			if start > 0 {
				if err := ctx.Err(); err != nil {
					stopped = err
					return nil // commit the chunks done
				}
			}
			o, err := p.apply(wctx, numbers[start:min(start+removal.ChunkSize, len(numbers))], c)
			if err != nil {
				return err
			}
			out = append(out, o...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: apply: %w", err)
	}
	return out, stopped
}

// applyPostgresTx runs the batch's one statement in a transaction. The
// statement takes ctx, so that a cancellation aborts it; the commit does not.
func (s *Store) applyPostgresTx(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	wctx := context.WithoutCancel(ctx)
	tx, err := conn.BeginTxx(wctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: apply: %w", err)
	}
	out, err := s.applyPostgres(ctx, tx, numbers, c)
	if err == nil && s.beforeCommit != nil {
		s.beforeCommit()
	}
	if err != nil {
		tx.Rollback()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("sqlstore: apply: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlstore: apply: commit: %w", err)
	}
	return out, nil
}

// sqliteApply holds the prepared statements of one SQLite Apply. SQLite
// runs in-process, so single-row prepared statements cost no round trip,
// and they beat one IN-list statement per chunk (see the README).
type sqliteApply struct {
	set  *sqlx.Stmt // conditional single-row update
	read *sqlx.Stmt // one row's operator_connect and status
}

func (s *Store) prepareSQLite(ctx context.Context, tx txRunner) (*sqliteApply, error) {
	set, err := tx.PreparexContext(ctx, s.q.setStatus)
	if err != nil {
		return nil, err
	}
	read, err := tx.PreparexContext(ctx, s.q.status1)
	if err != nil {
		set.Close()
		return nil, err
	}
	return &sqliteApply{set: set, read: read}, nil
}

func (p *sqliteApply) close() {
	p.set.Close()
	p.read.Close()
}

// apply runs one chunk inside the immediate transaction, which holds the
// database's write lock: no other writer can change a row between the read
// that classifies it and the update that moves it.
func (p *sqliteApply) apply(ctx context.Context, chunk []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out := make([]removal.Outcome, len(chunk))
	at := c.At.UnixMicro()
	to := int(c.To)
	for i, n := range chunk {
		if len(c.From) == 1 {
			// The usual case: try the move first, read only on a miss.
			from := c.From[0]
			res, err := p.set.ExecContext(ctx, to, at, string(n), int(from))
			if err != nil {
				return nil, err
			}
			if k, err := res.RowsAffected(); err != nil {
				return nil, err
			} else if k == 1 {
				out[i] = removal.Outcome{Found: true, OperatorConnect: true, Status: from, Changed: true}
				continue
			}
		}
		var oc bool
		var st int
		err := p.read.QueryRowxContext(ctx, string(n)).Scan(&oc, &st)
		if isNoRows(err) {
			continue // Outcome{}: not found
		}
		if err != nil {
			return nil, err
		}
		o := removal.Outcome{Found: true, OperatorConnect: oc, Status: removal.NumberStatus(st)}
		if oc && c.Allows(o.Status) {
			res, err := p.set.ExecContext(ctx, to, at, string(n), st)
			if err != nil {
				return nil, err
			}
			if k, err := res.RowsAffected(); err != nil {
				return nil, err
			} else if k != 1 {
				return nil, fmt.Errorf("%s changed under the write lock", n)
			}
			o.Changed = true
		}
		out[i] = o
	}
	return out, nil
}

// applyPostgres runs the batch as one statement (a round trip per number,
// or per chunk, would cost several times more): it locks the requested rows
// in key order, so that concurrent batches wait for each other instead of
// deadlocking, moves those in a From status, and returns every row found
// with the status its compare-and-set saw under the lock. Numbers it does
// not return are not stored.
func (s *Store) applyPostgres(ctx context.Context, tx *sqlx.Tx, batch []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out := make([]removal.Outcome, len(batch))
	index := make(map[string]int, len(batch))
	numbers := make([]string, len(batch))
	for i, n := range batch {
		index[string(n)] = i
		numbers[i] = string(n)
	}
	from := make([]int16, len(c.From))
	for i, f := range c.From {
		from[i] = int16(f)
	}
	rows, err := tx.QueryxContext(ctx, s.q.applyAny, numbers, int16(c.To), c.At, from, from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var o removal.Outcome
		var st int16
		if err := rows.Scan(&n, &o.OperatorConnect, &st, &o.Changed); err != nil {
			return nil, err
		}
		o.Found, o.Status = true, removal.NumberStatus(st)
		out[index[n]] = o
	}
	return out, rows.Err()
}
