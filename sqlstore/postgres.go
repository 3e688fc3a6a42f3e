package sqlstore

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" and "pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/removal"
)

// postgresDialect serves "pgx" and "pgx/v5": github.com/jackc/pgx/v5/stdlib.
var postgresDialect = dialect{
	name:       "PostgreSQL",
	migrations: "migrations/postgres",
	schemas:    true,
	open:       openPostgres,
	newDriver: func(ctx context.Context, db *sqlx.DB, c config) (driver, error) {
		return newPostgres(ctx, db, c)
	},
}

// pgDriver runs the store on PostgreSQL. Every writer follows one rule,
// writeTx; reads go through database/sql.
type pgDriver struct {
	db        *sqlx.DB
	n         names
	q         pgQueries
	schema    string         // WithSchema's, unquoted, or ""
	numbersID pgx.Identifier // the numbers table, for COPY
	historyID pgx.Identifier // the history table, for COPY
	lockKey   int64          // advisory lock key of the table's writers

	// beforeCommit, when set by tests, runs after a write transaction's
	// statements and before its commit.
	beforeCommit func()
}

func openPostgres(ctx context.Context, driverName, dsn string, c config) (*sqlx.DB, driver, error) {
	db, err := sqlx.Open(driverName, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open %s: %w", driverName, err)
	}
	d, err := newPostgres(ctx, db, c)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, d, nil
}

func newPostgres(ctx context.Context, db *sqlx.DB, c config) (*pgDriver, error) {
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	n := namesOf(c)
	d := &pgDriver{db: db, n: n, q: buildPgQueries(n), schema: c.schema,
		numbersID: pgx.Identifier{c.prefix + "numbers"}, historyID: pgx.Identifier{c.prefix + "history"}}
	schema := c.schema
	if schema != "" {
		d.numbersID = pgx.Identifier{schema, c.prefix + "numbers"}
		d.historyID = pgx.Identifier{schema, c.prefix + "history"}
	} else {
		// The writers' advisory lock is keyed by the table's schema-qualified
		// name, so that a store naming the schema and one relying on
		// search_path take the same lock when they share the table.
		if err := db.GetContext(ctx, &schema, "SELECT COALESCE(current_schema(), '')"); err != nil {
			return nil, fmt.Errorf("sqlstore: connect: %w", err)
		}
	}
	d.lockKey = lockKey(schema + "." + c.prefix + "numbers")
	return d, nil
}

// lockKey derives a stable advisory lock key from a name, so that stores
// on different schemas or prefixes do not wait for each other.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// lockSQL serialises the store's writers on PostgreSQL; its key is derived
// from the schema-qualified table name.
const lockSQL = "SELECT pg_advisory_xact_lock($1)"

// beginSQL opens every write transaction: READ COMMITTED whatever the
// server's default, so that each statement's snapshot is taken after the
// writer lock is granted and sees what the writer before committed.
const beginSQL = "BEGIN ISOLATION LEVEL READ COMMITTED"

// maxRaceAttempts bounds how often a write transaction is rolled back and
// run again because a writer outside the store changed one of its rows
// while it ran (errRace).
const maxRaceAttempts = 5

// errRace is a batch's outcome that no one-by-one processing could give:
// a row its compare-and-set missed is in a status it moves.
var errRace = errors.New("a row changed while the batch ran")

// pgTx is one write transaction of writeTx on a pgx connection. Its first
// round trip also sends BEGIN and the writer lock.
type pgTx struct {
	conn    *pgx.Conn
	lockKey int64
	begun   bool
}

// batch returns a pipeline to fill and send; the transaction's first one
// starts with BEGIN and the writer lock.
func (tx *pgTx) batch() *pgx.Batch {
	b := &pgx.Batch{}
	if !tx.begun {
		b.Queue(beginSQL)
		b.Queue(lockSQL, tx.lockKey)
	}
	return b
}

// send sends a pipeline from batch and returns its results, past those of
// BEGIN and the lock. The caller closes them.
func (tx *pgTx) send(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	prefix := !tx.begun
	tx.begun = true
	br := tx.conn.SendBatch(ctx, b)
	if prefix {
		for range 2 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return nil, err
			}
		}
	}
	return br, nil
}

// begin sends BEGIN and the writer lock, if not sent yet.
func (tx *pgTx) begin(ctx context.Context) error {
	if tx.begun {
		return nil
	}
	br, err := tx.send(ctx, tx.batch())
	if err != nil {
		return err
	}
	return br.Close()
}

// exec runs one statement in the transaction; without arguments, sql may
// hold several statements.
func (tx *pgTx) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := tx.begin(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return tx.conn.Exec(ctx, sql, args...)
}

// queryRow runs one query in the transaction.
func (tx *pgTx) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := tx.begin(ctx); err != nil {
		return errRow{err}
	}
	return tx.conn.QueryRow(ctx, sql, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// writeTx runs fn in one write transaction and commits when fn returns
// nil: the rule of every PostgreSQL writer (Apply, Delete, Import,
// PruneHistory, migrations).
//
//   - The transaction is READ COMMITTED whatever the server's default, and
//     takes the table's writer lock (lockSQL) first, in the same round trip
//     as BEGIN and, through tx.batch, the writer's first statement. The lock
//     serialises the store's writers on the table, as SQLite's write lock
//     does: an UPDATE locks rows in its plan's order, so two batches relying
//     on row locks alone could deadlock (PostgreSQL breaks a deadlock only
//     after deadlock_timeout, 1 s by default), and under the lock no store
//     writer can change a row between a statement's compare-and-set and
//     the snapshot read that classifies its misses.
//   - fn's statements run under ctx: the driver watches it while they run
//     (waiting for the lock included), and a cancellation aborts the
//     transaction. fn checks ctx itself while it prepares statements; a
//     cancellation found before anything was sent sends nothing.
//   - The COMMIT runs detached from ctx, so a cancellation cannot leave it
//     in doubt; a COMMIT answered with anything but COMMIT is an error.
//   - On failure the transaction is rolled back, detached from ctx. When
//     fn fails with errRace (a writer outside the store changed a row under
//     it) the transaction is rolled back and fn runs again, up to
//     maxRaceAttempts times.
//   - A connection left closed or inside a transaction is dropped from the
//     pool rather than handed to the next caller (withPgx).
func (d *pgDriver) writeTx(ctx context.Context, fn func(tx *pgTx) error) error {
	err := d.withPgx(ctx, func(conn *pgx.Conn) error {
		var err error
		for range maxRaceAttempts {
			tx := &pgTx{conn: conn, lockKey: d.lockKey}
			if err = fn(tx); err == nil {
				if !tx.begun {
					return nil // nothing was sent
				}
				if d.beforeCommit != nil {
					d.beforeCommit()
				}
				// A COMMIT of a failed transaction answers ROLLBACK, not an error.
				tag, cerr := conn.Exec(context.WithoutCancel(ctx), "COMMIT")
				if cerr != nil {
					return fmt.Errorf("commit: %w", cerr)
				}
				if tag.String() != "COMMIT" {
					return fmt.Errorf("commit answered %q", tag.String())
				}
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
	return pgErr(err)
}

// withPgx runs fn on a pool connection as a *pgx.Conn, for what
// database/sql cannot express (pipelines, COPY). A connection fn leaves
// closed or inside a transaction is dropped from the pool rather than
// handed, mid-transaction, to the next caller.
func (d *pgDriver) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := d.db.Connx(ctx)
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
			return sqldriver.ErrBadConn
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

// pgErr marks the errors a retry may cure (lock_not_available,
// serialization_failure, deadlock_detected) as removal.ErrStoreBusy.
func pgErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "55P03", "40001", "40P01":
			return fmt.Errorf("%w: %w", removal.ErrStoreBusy, err)
		}
	}
	return err
}

// migrate applies the missing migrations in one write transaction, which
// also serialises concurrent migrations of the table (the writer lock).
func (d *pgDriver) migrate(ctx context.Context, ms []Migration) error {
	return d.writeTx(ctx, func(tx *pgTx) error {
		if d.schema != "" {
			// Stores with other prefixes may be creating the same schema
			// now, under their own table's lock; this one serialises them.
			// CREATE SCHEMA IF NOT EXISTS would not: it needs the CREATE
			// privilege on the database even when the schema exists (a host
			// may not grant it), and it can still fail on a concurrent
			// creation.
			if _, err := tx.exec(ctx, lockSQL, lockKey("schema "+d.schema)); err != nil {
				return err
			}
			var exists bool
			if err := tx.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", d.schema).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				if _, err := tx.exec(ctx, "CREATE SCHEMA "+d.n.schema); err != nil {
					return err
				}
			}
		}
		if _, err := tx.exec(ctx, migrationsTableSQL(d.n)); err != nil {
			return err
		}
		var cur int
		if err := tx.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+d.n.migrations).Scan(&cur); err != nil {
			return err
		}
		if cur > len(ms) {
			return &schemaTooNewError{db: cur, known: len(ms)}
		}
		for _, m := range ms[cur:] {
			if _, err := tx.exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// allow is not implemented on PostgreSQL yet.
func (d *pgDriver) allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return false, 0, errNotImplemented
}
