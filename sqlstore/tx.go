package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

// txRunner is what *sqlx.Tx and *sqlx.Conn have in common: statements run
// inside one write transaction.
type txRunner interface {
	sqlx.ExecerContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	PreparexContext(ctx context.Context, query string) (*sqlx.Stmt, error)
}

// writeTx runs fn in one write transaction and commits when fn returns nil.
//
// ctx bounds only the wait for a connection and for the write lock. The
// transaction itself, and the commit, are detached from ctx: a cancellation
// must never abort a chunk halfway or roll back chunks already reported as
// applied. Callers check ctx between chunks themselves.
//
// On PostgreSQL (Delete and migrations) the transaction first takes the
// table's writer lock (lockSQL), so that the store's writers, which may run
// several statements, never deadlock with each other (PostgreSQL would
// detect it only after deadlock_timeout, 1 s by default). Apply and Put
// take the same lock on their own pgx connection (applyPostgres,
// putPostgres).
//
// On SQLite the transaction is BEGIN IMMEDIATE whatever the DSN says: it
// takes the write lock up front (waiting up to the busy timeout), so a
// transaction that reads before it writes can never fail to upgrade its lock
// with "database is locked".
func (s *Store) writeTx(ctx context.Context, fn func(tx txRunner) error) (err error) {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	wctx := context.WithoutCancel(ctx)
	if s.d == postgres {
		// READ COMMITTED whatever the server's default: statements must see
		// what writers that held the lock before committed.
		tx, err := conn.BeginTxx(wctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, lockSQL, s.q.lockKey); err != nil {
			tx.Rollback()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if err := fn(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	}

	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := fn(conn); err != nil {
		s.sqliteRollback(wctx, conn)
		return err
	}
	if _, err := conn.ExecContext(wctx, "COMMIT"); err != nil {
		s.sqliteRollback(wctx, conn)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// sqliteRollback ends a transaction begun by hand. If that fails, the
// connection may still be inside it; it is dropped from the pool rather than
// handed, mid-transaction, to the next caller. An in-memory database lives
// in its only connection, which is kept.
func (s *Store) sqliteRollback(ctx context.Context, conn *sqlx.Conn) {
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil && !s.memory {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// withPgx runs fn on a pool connection as a *pgx.Conn, for what
// database/sql cannot express (pipelines, COPY). A connection fn leaves
// closed or inside a transaction is dropped from the pool rather than
// handed, mid-transaction, to the next caller.
func (s *Store) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var fnErr error
	err = conn.Raw(func(dc any) error {
		rc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			fnErr = fmt.Errorf("driver connection %T is not pgx", dc)
			return nil
		}
		c := rc.Conn()
		fnErr = fn(c)
		if c.IsClosed() || c.PgConn().TxStatus() != 'I' {
			return driver.ErrBadConn
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("connection left unusable: %w", err)
	}
	return nil
}

// lockSQL serialises the store's writers on PostgreSQL; its key is derived
// from the schema-qualified table name.
const lockSQL = "SELECT pg_advisory_xact_lock($1)"

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
