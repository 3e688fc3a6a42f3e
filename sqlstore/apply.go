package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
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
// On PostgreSQL the batch is one statement in one transaction, sent as
// one pipeline under the table's writer lock (see applyPostgres); ctx is
// checked every removal.ChunkSize numbers as the batch is prepared, and
// the driver watches it while the transaction runs: a cancellation then
// aborts the transaction and nothing is applied.
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
		return nil, errors.New("sqlstore: apply: the change has no From status")
	}
	// The contract promises a legal change; refuse rather than let a
	// conversion to the column's type wrap an impossible status around.
	for _, st := range append([]removal.NumberStatus{c.To}, c.From...) {
		if !st.Valid() {
			return nil, fmt.Errorf("sqlstore: apply: status %d is not one of 0-3", int(st))
		}
	}
	if s.d == sqlite {
		return s.applySQLite(ctx, numbers, c)
	}
	return s.applyPostgres(ctx, numbers, c)
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

// maxRaceAttempts bounds how often a PostgreSQL batch is rolled back and
// run again because a writer outside the store changed one of its rows
// while it ran (see applyPostgres).
const maxRaceAttempts = 5

// errRace is a batch's outcome that no one-by-one processing could give:
// a row its compare-and-set missed is in a From status.
var errRace = errors.New("a row changed while the batch ran")

// applyPostgres runs the batch on one connection, in one READ COMMITTED
// transaction, in two round trips: a pipeline of BEGIN, the table's
// advisory lock (lockSQL) and one statement for the whole batch (applyOne
// or applyMany), then COMMIT. Ten statements of removal.ChunkSize numbers
// measured 10% slower than one, and the chunks would all be sent together
// anyway (see the README).
//
// The advisory lock serialises the store's writers on the table (Put and
// Delete take it too), as SQLite's write lock and memstore's mutex do.
// Row locks alone would not: an UPDATE locks rows in its plan's order,
// which varies (bitmap scans go in heap order), so two batches sharing
// numbers could deadlock, and PostgreSQL would break the deadlock only
// after deadlock_timeout. Under the lock no other store writer can change
// a row between the compare-and-set and the snapshot read that classifies
// its misses, because under READ COMMITTED each statement's snapshot is
// taken after the lock is granted (a REPEATABLE READ default would take it
// before, while waiting, so it is overridden). A writer outside the store
// still can; the outcome then shows a miss in a From status, and the batch
// is rolled back and run again.
//
// ctx is checked every removal.ChunkSize numbers while the batch is
// prepared, and a cancellation found then sends nothing. The driver
// watches ctx while the pipeline runs (waiting for the lock included): a
// cancellation then aborts the transaction and nothing is applied. The
// commit runs detached from ctx, so that a cancellation cannot leave it in
// doubt.
func (s *Store) applyPostgres(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	var out []removal.Outcome
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		var err error
		for range maxRaceAttempts {
			out, err = s.applyPgx(ctx, conn, numbers, c)
			if err == nil {
				return nil
			}
			if conn.PgConn().TxStatus() != 'I' { // sent, and not committed
				if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
					return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
				}
			}
			if !errors.Is(err, errRace) {
				return err
			}
		}
		return err
	})
	if err == nil {
		return out, nil
	}
	return nil, storeErr(ctx, "apply", err)
}

// storeErr reports a failed call. When ctx is done the caller must see
// ctx.Err(); a failure that the cancellation did not cause is kept beside
// it rather than hidden.
func storeErr(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	switch {
	case cerr != nil && errors.Is(err, cerr):
		return cerr
	case cerr != nil:
		return errors.Join(cerr, fmt.Errorf("sqlstore: %s: %w", op, err))
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// applyPgx runs one attempt of applyPostgres and leaves its transaction
// committed (nil error), open for the caller to roll back, or unsent.
func (s *Store) applyPgx(ctx context.Context, conn *pgx.Conn, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	query := s.q.applyOne
	if len(c.From) > 1 {
		query = s.q.applyMany
	}
	from := make([]int16, len(c.From))
	for i, f := range c.From {
		from[i] = int16(f)
	}
	var b pgx.Batch
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(lockSQL, s.q.lockKey)
	// ctx is checked every removal.ChunkSize numbers as the batch is
	// prepared; nothing is sent before all of it is.
	arg := make([]string, 0, len(numbers))
	for chunk := range slices.Chunk(numbers, removal.ChunkSize) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		arg = append(arg, e164Strings(chunk)...)
	}
	b.Queue(query, int16(c.To), c.At, arg, from)
	index := make(map[e164.Number]int, len(numbers))
	for i, n := range numbers {
		index[n] = i
	}
	out := make([]removal.Outcome, len(numbers))
	br := conn.SendBatch(ctx, &b)
	err := readApply(br, index, out, c)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	// A COMMIT of a failed transaction answers ROLLBACK, not an error.
	if tag, err := conn.Exec(context.WithoutCancel(ctx), "COMMIT"); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	} else if tag.String() != "COMMIT" {
		return nil, fmt.Errorf("commit answered %q", tag.String())
	}
	return out, nil
}

// readApply reads the results of applyPgx's pipeline: BEGIN, the lock,
// then the batch statement, returning its stored numbers.
func readApply(br pgx.BatchResults, index map[e164.Number]int, out []removal.Outcome, c removal.Change) error {
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var n string
	var st int16
	var o removal.Outcome
	_, err = pgx.ForEachRow(rows, []any{&n, &o.OperatorConnect, &st, &o.Changed}, func() error {
		o.Found, o.Status = true, removal.NumberStatus(st)
		if !o.Changed && o.OperatorConnect && c.Allows(o.Status) {
			return errRace
		}
		i, ok := index[e164.Number(n)]
		if !ok {
			return fmt.Errorf("unrequested number %q in the result", n)
		}
		out[i] = o
		return nil
	})
	return err
}
