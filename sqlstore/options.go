package sqlstore

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
)

// Option configures Open, New and Migrations.
type Option func(*config) error

type config struct {
	prefix    string
	schema    string
	noMigrate bool
	// maxOpen caps Open's pool (0: the dialect's default).
	maxOpen int
	// lockTimeout bounds a writer's wait for a lock another writer holds
	// (0: DefaultLockTimeout).
	lockTimeout time.Duration
	// idleInTx bounds how long a PostgreSQL session of the store may stay
	// idle inside a transaction (0: DefaultIdleInTransactionTimeout).
	idleInTx time.Duration
	// synchronous is SQLite's PRAGMA synchronous ("": FULL).
	synchronous string
}

// Defaults of the bounded waits.
const (
	DefaultLockTimeout              = 5 * time.Second
	DefaultIdleInTransactionTimeout = 30 * time.Second
)

// WithMaxOpenConns caps the connections of the pool Open creates (n >= 1).
// The defaults are documented in the package doc; New leaves a host's pool
// as it is.
func WithMaxOpenConns(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sqlstore: WithMaxOpenConns(%d): want at least 1", n)
		}
		c.maxOpen = n
		return nil
	}
}

// WithLockTimeout sets how long a writer waits for a lock that another
// writer (another batch, another process) holds before it gives up with an
// error matching removal.ErrStoreBusy, having changed nothing it has not
// reported (default DefaultLockTimeout). On PostgreSQL it is the session's
// lock_timeout, on SQLite its busy timeout.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("sqlstore: WithLockTimeout(%v): want at least 1ms", d)
		}
		c.lockTimeout = d
		return nil
	}
}

// WithIdleInTransactionTimeout sets PostgreSQL's
// idle_in_transaction_session_timeout on the store's own sessions (default
// DefaultIdleInTransactionTimeout): a process that freezes or loses its
// network inside a transaction loses its locks after this long, so the other
// instances go on. SQLite refuses this option.
func WithIdleInTransactionTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("sqlstore: WithIdleInTransactionTimeout(%v): want at least 1ms", d)
		}
		c.idleInTx = d
		return nil
	}
}

// WithSynchronous sets SQLite's PRAGMA synchronous on every connection of
// the store: "FULL" (the default) makes every reported success survive a
// power loss; "NORMAL" and "OFF" give that up for speed (a power loss, not
// a process crash, may then undo successes already reported). PostgreSQL
// refuses this option (it commits synchronously unless its server is
// configured otherwise).
func WithSynchronous(level string) Option {
	return func(c *config) error {
		for _, l := range []string{"FULL", "EXTRA", "NORMAL", "OFF"} {
			if ascii.EqualFold(level, l) {
				c.synchronous = l
				return nil
			}
		}
		return fmt.Errorf("sqlstore: WithSynchronous(%q): want FULL, EXTRA, NORMAL or OFF", level)
	}
}

func newConfig(opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return config{}, err
		}
	}
	return c, nil
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// WithTablePrefix puts prefix in front of every table and index name
// (prefix "oc_" gives the tables oc_numbers and oc_history), so the store's
// tables can sit beside a host application's own. The prefix must match
// [a-z_][a-z0-9_]* and be at most 40 bytes long.
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

// WithoutMigrations leaves the schema alone when the store opens, for
// hosts that manage it themselves (see Migrations and Store.Migrate). The
// store then does not check the schema version either.
func WithoutMigrations() Option {
	return func(c *config) error { c.noMigrate = true; return nil }
}

// names are the quoted identifiers of one store's tables and indexes.
// Tables are qualified with the schema, if any; indexes are not (CREATE
// INDEX puts them in their table's schema).
type names struct {
	schema     string // quoted, or ""
	prefix     string
	numbers    string
	history    string
	counts     string
	rateLimit  string
	migrations string
	qual       func(string) string
}

func namesOf(c config) names {
	qual := func(name string) string {
		if c.schema != "" {
			return quote(c.schema) + "." + quote(c.prefix+name)
		}
		return quote(c.prefix + name)
	}
	n := names{
		prefix:     c.prefix,
		numbers:    qual("numbers"),
		history:    qual("history"),
		counts:     qual("counts"),
		rateLimit:  qual("rate_limit"),
		migrations: qual("schema_migrations"),
		qual:       qual,
	}
	if c.schema != "" {
		n.schema = quote(c.schema)
	}
	return n
}

// placeholderRE matches a migration's placeholders: {{name}} is the table
// name, prefixed and schema-qualified; {{name_idx}} (any name ending in
// _idx) the index name, prefixed and unqualified.
var placeholderRE = regexp.MustCompile(`\{\{([a-z_][a-z0-9_]*)\}\}`)

// fill fills in a migration's placeholders.
func (n names) fill(sql string) string {
	return placeholderRE.ReplaceAllStringFunc(sql, func(m string) string {
		name := m[2 : len(m)-2]
		if strings.HasSuffix(name, "_idx") {
			return n.index(name)
		}
		return n.qual(name)
	})
}

// index returns the quoted name of an index.
func (n names) index(name string) string { return quote(n.prefix + name) }

// quote returns an identifier already checked against identRE, quoted.
func quote(ident string) string { return `"` + ident + `"` }
