package sqlstore

import (
	"fmt"
	"regexp"
	"strings"
)

// Option configures Open, New and Migrations.
type Option func(*config) error

type config struct {
	prefix    string
	schema    string
	noMigrate bool
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
	numbers    string
	history    string
	migrations string
	indexes    map[string]string // quoted, by the names in indexes
	// placeholders fills in a migration: every {{name}} it may use.
	placeholders *strings.Replacer
}

// indexes are the indexes the migrations create, by placeholder name.
var indexes = []string{
	"numbers_removal_idx",
	"numbers_tenant_idx",
	"numbers_status_idx",
	"numbers_tenant_st_idx",
	"history_number_idx",
	"history_at_idx",
}

func namesOf(c config) names {
	qual := func(name string) string {
		if c.schema != "" {
			return quote(c.schema) + "." + quote(c.prefix+name)
		}
		return quote(c.prefix + name)
	}
	n := names{
		numbers:    qual("numbers"),
		history:    qual("history"),
		migrations: qual("schema_migrations"),
		indexes:    make(map[string]string, len(indexes)),
	}
	if c.schema != "" {
		n.schema = quote(c.schema)
	}
	pairs := []string{"{{numbers}}", n.numbers, "{{history}}", n.history, "{{schema_migrations}}", n.migrations}
	for _, ix := range indexes {
		n.indexes[ix] = quote(c.prefix + ix)
		pairs = append(pairs, "{{"+ix+"}}", n.indexes[ix])
	}
	n.placeholders = strings.NewReplacer(pairs...)
	return n
}

// index returns the quoted name of one of indexes.
func (n names) index(name string) string { return n.indexes[name] }

// quote returns an identifier already checked against identRE, quoted.
func quote(ident string) string { return `"` + ident + `"` }
