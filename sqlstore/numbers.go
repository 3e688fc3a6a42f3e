package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, n e164.Number) (store.Number, error) {
	var (
		tel, tnt string
		oc       bool
		st       int
		micros   int64     // SQLite
		at       time.Time // PostgreSQL
	)
	when := any(&at)
	if s.d == sqlite {
		when = &micros
	}
	err := s.db.QueryRowxContext(ctx, s.q.get, string(n)).Scan(&tel, &tnt, &oc, &st, when)
	if isNoRows(err) {
		return store.Number{}, fmt.Errorf("%w: %s", store.ErrNotFound, n)
	}
	if err != nil {
		return store.Number{}, fmt.Errorf("sqlstore: get %s: %w", n, err)
	}
	if s.d == sqlite {
		at = time.UnixMicro(micros)
	}
	return store.Number{
		TelephoneNumber: e164.Number(tel),
		MSTenantID:      tnt,
		OperatorConnect: oc,
		Status:          removal.NumberStatus(st),
		StatusChangedAt: at.UTC(),
	}, nil
}

// CountByStatus implements removal.Store. Counts of MarkedForRemoval and
// ReadyForRemoval, which is what Summary asks, read only the partial index
// of those rows; other statuses are counted from the table.
func (s *Store) CountByStatus(ctx context.Context, msTenantID string, statuses []removal.NumberStatus) ([]int, error) {
	indexed := true
	for _, st := range statuses {
		if st != removal.MarkedForRemoval && st != removal.ReadyForRemoval {
			indexed = false
		}
	}
	var query string
	var args []any
	switch {
	case indexed && msTenantID == "":
		query = s.q.countIdx
	case indexed:
		query, args = s.q.countIdxT, []any{msTenantID}
	case msTenantID == "":
		query = s.q.countAll
	default:
		query, args = s.q.countAllT, []any{msTenantID}
	}
	rows, err := s.db.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count: %w", err)
	}
	defer rows.Close()
	var byStatus [4]int
	for rows.Next() {
		var st, n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlstore: count: %w", err)
		}
		if st >= 0 && st < len(byStatus) {
			byStatus[st] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: count: %w", err)
	}
	counts := make([]int, len(statuses))
	for i, st := range statuses {
		if st.Valid() {
			counts[i] = byStatus[st]
		}
	}
	return counts, nil
}

// Delete implements store.Store, in one transaction.
func (s *Store) Delete(ctx context.Context, numbers ...e164.Number) (int, error) {
	if len(numbers) == 0 {
		return 0, nil
	}
	total := 0
	err := s.writeTx(ctx, func(tx txRunner) error {
		total = 0
		wctx := context.WithoutCancel(ctx)
		if s.d == postgres {
			for chunk := range slices.Chunk(numbers, pgChunk) {
				k, err := rowsAffected(tx.ExecContext(wctx, s.q.deleteAny, e164Strings(chunk)))
				if err != nil {
					return err
				}
				total += k
			}
			return nil
		}
		stmt, err := tx.PreparexContext(wctx, s.q.deleteOne)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, n := range numbers {
			k, err := rowsAffected(stmt.ExecContext(wctx, string(n)))
			if err != nil {
				return err
			}
			total += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete: %w", err)
	}
	return total, nil
}

// e164Strings converts numbers to the []string pgx encodes as text[].
func e164Strings(ns []e164.Number) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n)
	}
	return out
}

// pgChunk is how many numbers one PostgreSQL statement takes as arrays.
const pgChunk = 10000

// sqliteRows is how many rows one SQLite insert statement writes (5 bind
// variables each; SQLite allows 32766).
const sqliteRows = 100

// copyThreshold is the size from which Put streams: COPY on PostgreSQL,
// normalizing beside the writes on SQLite.
const copyThreshold = 2000

// Put implements store.Store: all numbers in one transaction, or none. On
// SQLite it runs multi-row inserts; on PostgreSQL array upserts, or for
// large loads COPY straight into the table, falling back to array upserts
// when a number is already stored.
func (s *Store) Put(ctx context.Context, numbers ...store.Number) error {
	if len(numbers) == 0 {
		return nil
	}
	if s.d == postgres {
		return s.putPostgres(ctx, numbers)
	}
	if len(numbers) >= copyThreshold {
		return s.loadSQLite(ctx, numbers)
	}
	ns, err := store.NormalizeAll(numbers)
	if err != nil {
		return err
	}
	err = s.writeTx(ctx, func(tx txRunner) error {
		return s.upsertSQLite(ctx, tx, slices.Chunk(ns, sqliteRows))
	})
	if err != nil {
		return fmt.Errorf("sqlstore: put: %w", err)
	}
	return nil
}

// upsertSQLite writes chunks of at most sqliteRows records, the full ones
// with one prepared statement. ctx is checked between chunks; a cancelled
// Put rolls back.
func (s *Store) upsertSQLite(ctx context.Context, tx txRunner, chunks iter.Seq[[]store.Number]) error {
	wctx := context.WithoutCancel(ctx)
	var full *sqlx.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, 5*sqliteRows)
	for rows := range chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		args = sqliteArgs(args[:0], rows)
		var err error
		if len(rows) == sqliteRows {
			if full == nil {
				if full, err = tx.PreparexContext(wctx, s.q.upsertRows); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(wctx, args...)
		} else {
			_, err = tx.ExecContext(wctx, sqliteUpsert(s.q.table, len(rows)), args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// loadSQLite is Put for large loads: another goroutine normalizes the
// records, a chunk of sqliteRows at a time, while this one writes the
// chunks before. A bad record rolls everything back; the error is then
// store.Normalizer's, as NormalizeAll would give it.
func (s *Store) loadSQLite(ctx context.Context, numbers []store.Number) error {
	chunks := make(chan []store.Number, 8)
	done := make(chan struct{})
	var badErr error // written before chunks is closed, read after
	go func() {
		defer close(chunks)
		var norm store.Normalizer
		for part := range slices.Chunk(numbers, sqliteRows) {
			buf := make([]store.Number, len(part))
			for i, r := range part {
				n, err := norm.Next(r)
				if err != nil {
					badErr = err
					return
				}
				buf[i] = n
			}
			select {
			case chunks <- buf:
			case <-done:
				return
			}
		}
	}()
	err := s.writeTx(ctx, func(tx txRunner) error {
		err := s.upsertSQLite(ctx, tx, func(yield func([]store.Number) bool) {
			for rows := range chunks {
				if !yield(rows) {
					return
				}
			}
		})
		if err == nil && badErr != nil {
			err = errBadRecord // roll back what was written
		}
		return err
	})
	close(done)
	for range chunks { // let the producer finish
	}
	if badErr != nil {
		return badErr
	}
	if err != nil {
		return fmt.Errorf("sqlstore: put: %w", err)
	}
	return nil
}

func sqliteArgs(args []any, ns []store.Number) []any {
	for _, n := range ns {
		args = append(args, string(n.TelephoneNumber), n.MSTenantID, n.OperatorConnect, int(n.Status), n.StatusChangedAt.UnixMicro())
	}
	return args
}

// errBadRecord stops a load at a record that store.Normalizer rejects.
var errBadRecord = errors.New("bad record")

// putPostgres is Put on PostgreSQL: one transaction under the table's
// writer lock. From copyThreshold records it loads with COPY inside a
// savepoint, normalizing each record as pgx encodes it, so that checking
// overlaps with the server's work. COPY cannot replace rows: when a number
// is already stored it fails with a unique violation, and the load falls
// back to array upserts in the same transaction. Smaller Puts are array
// upserts. A bad record stores nothing; the error is then
// store.NormalizeAll's (store.Normalizer's, for a COPY).
func (s *Store) putPostgres(ctx context.Context, numbers []store.Number) error {
	var ns []store.Number // normalized, unless COPY normalizes them
	if len(numbers) < copyThreshold {
		var err error
		if ns, err = store.NormalizeAll(numbers); err != nil {
			return err
		}
	}
	var badErr error // pgx reports the COPY callback's error only as the server's
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		wctx := context.WithoutCancel(ctx)
		// READ COMMITTED whatever the server's default: statements must see
		// what writers that held the lock before committed.
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
		if err != nil {
			return err
		}
		defer tx.Rollback(wctx)
		if _, err := tx.Exec(ctx, lockSQL, s.q.lockKey); err != nil {
			return err
		}
		if ns == nil {
			if _, err := tx.Exec(ctx, "SAVEPOINT bulk_load"); err != nil {
				return err
			}
			var norm store.Normalizer
			_, err = tx.CopyFrom(ctx, s.q.tableIdent, []string{"telephone_number", "ms_tenant_id", "operator_connect", "status", "status_changed_at"},
				pgx.CopyFromSlice(len(numbers), func(i int) ([]any, error) {
					n, err := norm.Next(numbers[i])
					if err != nil {
						badErr = err
						return nil, errBadRecord
					}
					return []any{string(n.TelephoneNumber), n.MSTenantID, n.OperatorConnect, int16(n.Status), n.StatusChangedAt}, nil
				}))
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "23505" {
				if err != nil {
					return err
				}
				return tx.Commit(wctx) // detached: a cancellation must not leave it in doubt
			}
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT bulk_load"); err != nil {
				return err
			}
			// COPY may have stopped before the Normalizer saw every record.
			if ns, err = store.NormalizeAll(numbers); err != nil {
				return err
			}
		}
		for chunk := range slices.Chunk(ns, pgChunk) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.q.upsertArray, pgColumns(chunk)...); err != nil {
				return err
			}
		}
		return tx.Commit(wctx)
	})
	switch {
	case badErr != nil:
		return badErr
	case errors.Is(err, store.ErrInvalidNumber):
		return err
	case err != nil:
		return storeErr(ctx, "put", err)
	}
	return nil
}

// pgColumns splits records into the column arrays upsertArray takes.
func pgColumns(ns []store.Number) []any {
	tel := make([]string, len(ns))
	tnt := make([]string, len(ns))
	oc := make([]bool, len(ns))
	st := make([]int16, len(ns))
	at := make([]time.Time, len(ns))
	for i, n := range ns {
		tel[i], tnt[i], oc[i], st[i], at[i] = string(n.TelephoneNumber), n.MSTenantID, n.OperatorConnect, int16(n.Status), n.StatusChangedAt
	}
	return []any{tel, tnt, oc, st, at}
}

// rowsAffected reads the row count of a statement's result.
func rowsAffected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	k, err := res.RowsAffected()
	return int(k), err
}
