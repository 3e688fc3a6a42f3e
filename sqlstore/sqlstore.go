package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3" // registers "sqlite3"

	"github.com/ocnumbers/ocnumbers/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on a SQL database. It is safe for concurrent use,
// also by several processes sharing one database.
type Store struct {
	db     *sqlx.DB
	owned  bool // Close closes db only when Open created it
	d      dialect
	q      queries
	memory bool // an in-memory SQLite database, living in its one connection

	// beforeCommit, when set by tests, runs on PostgreSQL after a batch's
	// statement and before its commit.
	beforeCommit func()
}

// Option configures Open and New.
type Option func(*config) error

type config struct {
	prefix    string
	schema    string
	noMigrate bool
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// WithTablePrefix puts prefix in front of every table and index name
// (prefix "oc_" gives the table oc_numbers), so the store's tables can sit
// beside a host application's own. The prefix must match [a-z_][a-z0-9_]*
// and be at most 40 bytes long.
func WithTablePrefix(prefix string) Option {
	return func(c *config) error {
		if prefix != "" && (!identRE.MatchString(prefix) || len(prefix) > 40) {
			return fmt.Errorf("sqlstore: table prefix %q must match [a-z_][a-z0-9_]* and be at most 40 bytes", prefix)
		}
		c.prefix = prefix
		return nil
	}
}

// WithSchema places the tables in a PostgreSQL schema, created if missing
// when migrations run. The name must match [a-z_][a-z0-9_]* (at most 63
// bytes). SQLite has no schemas: Open and New refuse this option there.
func WithSchema(schema string) Option {
	return func(c *config) error {
		if !identRE.MatchString(schema) || len(schema) > 63 {
			return fmt.Errorf("sqlstore: schema %q must match [a-z_][a-z0-9_]* and be at most 63 bytes", schema)
		}
		c.schema = schema
		return nil
	}
}

// WithoutMigrations leaves the schema alone, for hosts that manage it
// themselves (the statements are in the package's migrations folder). The
// store then does not check the schema version either.
func WithoutMigrations() Option {
	return func(c *config) error { c.noMigrate = true; return nil }
}

// Open connects to a database and returns a Store that owns the connection
// pool. driverName is "sqlite3" (github.com/mattn/go-sqlite3) or "pgx"
// (github.com/jackc/pgx/v5/stdlib); this package registers both.
//
// For SQLite, a file DSN gets WAL journaling, a 10 s busy timeout, a 32 MiB
// page cache, foreign keys and immediate write transactions unless the DSN
// sets those parameters itself; an in-memory DSN (":memory:", "file::memory:",
// "mode=memory") gets a pool of one connection, since each connection would
// otherwise see its own empty database.
//
// Unless WithoutMigrations is given, Open applies the embedded migrations
// and refuses a database whose schema is newer than this package knows.
func Open(ctx context.Context, driverName, dsn string, opts ...Option) (*Store, error) {
	d, err := dialectOf(driverName)
	if err != nil {
		return nil, err
	}
	memory, wal := false, false
	if d == sqlite {
		dsn, memory, wal = sqliteDSN(dsn)
	}
	db, err := sqlx.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", driverName, err)
	}
	if memory {
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	s, err := newStore(ctx, db, opts, memory, wal)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New returns a Store on a pool the host application owns: Close leaves
// it open. The pool's driver must be "sqlite3" or "pgx" (or "pgx/v5"). For
// SQLite, configure the DSN and the file as Open does (_busy_timeout, WAL
// journaling); write transactions are immediate whatever the DSN says.
// Migrations, if any, run with context.Background().
func New(db *sqlx.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New with a nil *sqlx.DB")
	}
	return newStore(context.Background(), db, opts, false, false)
}

// newStore makes the Store; wal asks it to switch a SQLite file to WAL
// journaling first.
func newStore(ctx context.Context, db *sqlx.DB, opts []Option, memory, wal bool) (*Store, error) {
	d, err := dialectOf(db.DriverName())
	if err != nil {
		return nil, err
	}
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.schema != "" && d == sqlite {
		return nil, errors.New("sqlstore: WithSchema is for PostgreSQL; SQLite has no schemas (use WithTablePrefix)")
	}
	s := &Store{db: db, d: d, q: buildQueries(d, c), memory: memory}
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	if wal {
		if err := enableWAL(ctx, db); err != nil {
			return nil, fmt.Errorf("sqlstore: journal_mode=WAL: %w", err)
		}
	}
	if d == postgres && c.schema == "" {
		// The writers' advisory lock is keyed by the table's schema-qualified
		// name, so that a store naming the schema and one relying on
		// search_path take the same lock when they share the table.
		var schema string
		if err := db.GetContext(ctx, &schema, "SELECT COALESCE(current_schema(), '')"); err != nil {
			return nil, fmt.Errorf("sqlstore: connect: %w", err)
		}
		s.q.lockKey = lockKey(schema + "." + c.prefix + "numbers")
	}
	if !c.noMigrate {
		if err := s.migrate(ctx, c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close closes the connection pool if Open created it; a pool given to New
// is left open for its owner.
func (s *Store) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// DB returns the underlying pool, for host applications that join the
// store's tables with their own. Writing to the tables directly bypasses
// the transition rules.
func (s *Store) DB() *sqlx.DB { return s.db }

// TableName returns the quoted, possibly schema-qualified name of the
// numbers table, as it appears in the store's SQL.
func (s *Store) TableName() string { return s.q.table }

type dialect int

const (
	sqlite dialect = iota
	postgres
)

func dialectOf(driverName string) (dialect, error) {
	switch driverName {
	case "sqlite3":
		return sqlite, nil
	case "pgx", "pgx/v5":
		return postgres, nil
	}
	return 0, fmt.Errorf("sqlstore: unsupported driver %q: want \"sqlite3\" or \"pgx\"", driverName)
}

// sqliteDSN adds the parameters a shared file needs, keeping any the caller
// set, and reports whether the DSN names an in-memory database and whether
// the file should be switched to WAL (the caller set no journal mode).
//
// WAL is not a DSN parameter: the driver would run PRAGMA journal_mode=WAL
// as it opens each connection, and while a new file is being switched, a
// connection opening beside it can fail with "database is locked" without
// waiting. WAL is a property of the file, so enableWAL sets it once.
func sqliteDSN(dsn string) (string, bool, bool) {
	path, rawQuery, _ := strings.Cut(dsn, "?")
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return dsn, false, false // let the driver report it
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
	wal := !memory && !has("_journal_mode", "_journal")
	if !memory {
		add("10000", "_busy_timeout", "_timeout")
		// 32 MiB per connection (SQLite's default is 2 MiB): the Summary
		// index of a million numbers then stays in memory.
		add("-32768", "_cache_size")
	}
	add("1", "_foreign_keys", "_fk")
	add("immediate", "_txlock")
	// Reuse the store's few prepared statements per connection instead of
	// compiling each again on every call.
	add("32", "_stmt_cache_size")
	return path + "?" + params.Encode(), memory, wal
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

// quote returns an identifier already checked against identRE, quoted.
func quote(ident string) string { return `"` + ident + `"` }
