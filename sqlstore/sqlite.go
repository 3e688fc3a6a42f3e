//go:build cgo

package sqlstore

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3" // registers "sqlite3"

	"github.com/ocnumbers/ocnumbers/removal"
)

// sqliteDialect serves "sqlite3": github.com/mattn/go-sqlite3, in-process.
var sqliteDialect = dialect{
	name:       "SQLite",
	migrations: "migrations/sqlite",
	open:       openSQLite,
	newDriver:  newSQLiteOnPool,
}

// sqliteDriver runs the store on SQLite. Writers take the database's write
// lock up front (writeTx); readers never wait for it in WAL mode.
type sqliteDriver struct {
	db     *sqlx.DB
	n      names
	q      sqliteQueries
	memory bool // an in-memory database, living in its one connection
	// synchronous is the pool's PRAGMA synchronous (0 OFF to 3 EXTRA).
	synchronous int
	// now is the limiter's clock (time.Now; tests set another).
	now func() time.Time
	// noHistory and noCounts, set only by benchmarks, skip the writes of
	// the history and of the counters, to measure what they cost.
	noHistory, noCounts bool
}

func openSQLite(ctx context.Context, driverName, dsn string, c config) (*sqlx.DB, driver, error) {
	if c.idleInTx != 0 {
		return nil, nil, errors.New("sqlstore: WithIdleInTransactionTimeout is for PostgreSQL; a SQLite transaction ends with its process")
	}
	dsn, memory, wal, err := sqliteDSN(dsn, c)
	if err != nil {
		return nil, nil, err
	}
	maxOpen := c.maxOpen
	switch {
	case memory && maxOpen > 1:
		return nil, nil, fmt.Errorf("sqlstore: WithMaxOpenConns(%d): an in-memory SQLite database lives in its one connection", maxOpen)
	case memory:
		maxOpen = 1
	case maxOpen == 0:
		maxOpen = DefaultSQLiteMaxOpenConns
	}
	db, err := sqlx.Open(driverName, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open %s: %w", driverName, err)
	}
	// Idle connections are kept: a new one costs its pragmas and its
	// prepared statements again.
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	if memory {
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	d, err := newSQLite(ctx, db, c, memory)
	if err == nil && wal {
		if err = enableWAL(ctx, db); err != nil {
			err = fmt.Errorf("sqlstore: journal_mode=WAL: %w", err)
		}
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, d, nil
}

// newSQLiteOnPool makes the driver of New. The pool and its DSN are the
// host's: the options that set them are refused rather than ignored.
func newSQLiteOnPool(ctx context.Context, db *sqlx.DB, c config) (driver, error) {
	switch {
	case c.maxOpen != 0:
		return nil, errors.New("sqlstore: WithMaxOpenConns is for Open; New uses the host's pool as it is (db.SetMaxOpenConns)")
	case c.lockTimeout != 0:
		return nil, errors.New("sqlstore: WithLockTimeout is for Open; with New, set _busy_timeout in the DSN of the host's SQLite pool")
	case c.synchronous != "":
		return nil, errors.New("sqlstore: WithSynchronous is for Open; with New, set _synchronous in the DSN of the host's SQLite pool")
	case c.idleInTx != 0:
		return nil, errors.New("sqlstore: WithIdleInTransactionTimeout is for PostgreSQL; a SQLite transaction ends with its process")
	}
	return newSQLite(ctx, db, c, false)
}

func newSQLite(ctx context.Context, db *sqlx.DB, c config, memory bool) (*sqliteDriver, error) {
	n := namesOf(c)
	d := &sqliteDriver{db: db, n: n, q: buildSQLiteQueries(n), memory: memory, now: time.Now}
	// Every connection of a pool has its DSN's level: one tells.
	if err := db.GetContext(ctx, &d.synchronous, "PRAGMA synchronous"); err != nil {
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	return d, nil
}

// sqliteDSN adds the parameters a shared file needs, keeping any the caller
// set, and reports whether the DSN names an in-memory database and whether
// the file should be switched to WAL (the caller set no journal mode). A
// parameter that an option given to Open also sets is refused: one of the
// two would silently lose.
//
// WAL is not a DSN parameter: the driver would run PRAGMA journal_mode=WAL
// as it opens each connection, and while a new file is being switched, a
// connection opening beside it can fail with "database is locked" without
// waiting. WAL is a property of the file, so enableWAL sets it once.
func sqliteDSN(dsn string, c config) (string, bool, bool, error) {
	path, rawQuery, _ := strings.Cut(dsn, "?")
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return dsn, false, false, nil // let the driver report it
	}
	memory := path == ":memory:" || path == "file::memory:" || params.Get("mode") == "memory"
	has := func(keys ...string) bool {
		return slices.ContainsFunc(keys, params.Has)
	}
	add := func(val string, keys ...string) {
		if !has(keys...) {
			params.Set(keys[0], val)
		}
	}
	byOption := func(option, val string, keys ...string) error {
		if val == "" {
			return nil
		}
		if has(keys...) {
			return fmt.Errorf("sqlstore: the DSN sets %s and so does %s: set one", keys[0], option)
		}
		params.Set(keys[0], val)
		return nil
	}
	if c.lockTimeout != 0 {
		err = byOption("WithLockTimeout", strconv.FormatInt(max(c.lockTimeout.Milliseconds(), 1), 10), "_busy_timeout", "_timeout")
	}
	if err == nil {
		err = byOption("WithSynchronous", c.synchronous, "_synchronous", "_sync")
	}
	if err != nil {
		return "", false, false, err
	}
	wal := !memory && !has("_journal_mode", "_journal")
	if !memory {
		add(strconv.FormatInt(DefaultLockTimeout.Milliseconds(), 10), "_busy_timeout", "_timeout")
		// 32 MiB per connection (SQLite's default is 2 MiB): the list
		// indexes of a million numbers then stay in memory.
		add("-32768", "_cache_size")
	}
	// go-sqlite3 defaults to NORMAL, which in WAL mode may lose the last
	// commits to a power loss.
	add("FULL", "_synchronous", "_sync")
	add("1", "_foreign_keys", "_fk")
	add("immediate", "_txlock")
	// Reuse the store's few prepared statements per connection instead of
	// compiling each again on every call.
	add("32", "_stmt_cache_size")
	return path + "?" + params.Encode(), memory, wal, nil
}

// enableWAL switches a SQLite file to WAL journaling. Switching takes an
// exclusive lock, and SQLite can answer SQLITE_BUSY at once, without its
// busy handler, when connections of other processes are opening or
// switching the same new file: it is retried for up to 10 s (the busy
// timeout). On a file already in WAL it returns at once.
func enableWAL(ctx context.Context, db *sqlx.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var mode string
		err := db.GetContext(ctx, &mode, "PRAGMA journal_mode=WAL")
		var se sqlite3.Error
		if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// writeTx runs fn in one write transaction and commits when fn returns nil.
// It is the rule of every SQLite writer.
//
// The transaction is BEGIN IMMEDIATE whatever the DSN says: it takes the
// write lock up front (waiting up to the busy timeout), so a transaction
// that reads before it writes can never fail to upgrade its lock with
// "database is locked".
//
// ctx bounds only the wait for a connection and for the write lock. The
// statements fn runs (with the ctx it is given) and the commit are
// detached from ctx: a cancellation must never abort a chunk halfway or
// roll back chunks already reported as applied. Callers check ctx between
// chunks themselves.
func (d *sqliteDriver) writeTx(ctx context.Context, fn func(ctx context.Context, conn *sqlx.Conn) error) error {
	return d.tx(ctx, false, fn)
}

// tx is writeTx; relaxed commits with synchronous=NORMAL (see allow).
func (d *sqliteDriver) tx(ctx context.Context, relaxed bool, fn func(ctx context.Context, conn *sqlx.Conn) error) error {
	conn, err := d.db.Connx(ctx)
	if err != nil {
		return sqliteErr(err)
	}
	defer conn.Close()
	if relaxed {
		restore, err := d.relaxSync(ctx, conn)
		if err != nil {
			return sqliteErr(err)
		}
		defer restore()
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return sqliteErr(err)
	}
	wctx := context.WithoutCancel(ctx)
	if err := fn(wctx, conn); err != nil {
		d.rollback(wctx, conn)
		return sqliteErr(err)
	}
	if _, err := conn.ExecContext(wctx, "COMMIT"); err != nil {
		d.rollback(wctx, conn)
		return sqliteErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// rollback ends a transaction begun by hand. If that fails, the
// connection may still be inside it; it is dropped from the pool rather than
// handed, mid-transaction, to the next caller. An in-memory database lives
// in its only connection, which is kept.
func (d *sqliteDriver) rollback(ctx context.Context, conn *sqlx.Conn) {
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil && !d.memory {
		conn.Raw(func(any) error { return sqldriver.ErrBadConn })
	}
}

// sqliteErr marks the errors a retry may cure (the database stayed locked
// past the busy timeout) as removal.ErrStoreBusy.
func sqliteErr(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return fmt.Errorf("%w: %w", removal.ErrStoreBusy, err)
	}
	return err
}

// migrate applies the missing migrations in one write transaction: the
// write lock serialises concurrent Opens.
func (d *sqliteDriver) migrate(ctx context.Context, ms []Migration) error {
	return d.writeTx(ctx, func(ctx context.Context, conn *sqlx.Conn) error {
		if _, err := conn.ExecContext(ctx, migrationsTableSQL(d.n)); err != nil {
			return err
		}
		var cur int
		if err := conn.GetContext(ctx, &cur, "SELECT COALESCE(MAX(version), 0) FROM "+d.n.migrations); err != nil {
			return err
		}
		if cur > len(ms) {
			return &schemaTooNewError{db: cur, known: len(ms)}
		}
		for _, m := range ms[cur:] {
			if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// stmtCache prepares each statement of one transaction once.
type stmtCache struct {
	ctx  context.Context
	conn *sqlx.Conn
	m    map[string]*sqlx.Stmt
}

func newStmtCache(ctx context.Context, conn *sqlx.Conn) *stmtCache {
	return &stmtCache{ctx: ctx, conn: conn, m: make(map[string]*sqlx.Stmt)}
}

func (c *stmtCache) get(query string) (*sqlx.Stmt, error) {
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.conn.PreparexContext(c.ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	for _, st := range c.m {
		st.Close()
	}
}
