package sqlstore_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

const tenant = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

func number(i int) e164.Number { return e164.Number(fmt.Sprintf("+1425%07d", i)) }

func record(i int, s removal.NumberStatus) store.Number {
	return store.Number{TelephoneNumber: number(i), MSTenantID: tenant, OperatorConnect: true, Status: s,
		StatusChangedAt: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)}
}

func mustPut(tb testing.TB, st store.Store, ns ...store.Number) {
	tb.Helper()
	if err := st.Put(context.Background(), ns...); err != nil {
		tb.Fatalf("Put: %v", err)
	}
}

// MustOpenSQLite opens a store on a new SQLite file in a temporary
// directory and closes it at the end of the test. It returns the file path
// too, for tests that open it again.
func MustOpenSQLite(tb testing.TB, opts ...sqlstore.Option) (*sqlstore.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "numbers.db")
	return MustOpenSQLiteAt(tb, path, opts...), path
}

// MustOpenSQLiteAt opens a store on the SQLite file at path.
func MustOpenSQLiteAt(tb testing.TB, path string, opts ...sqlstore.Option) *sqlstore.Store {
	tb.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite3", path, opts...)
	if err != nil {
		tb.Fatalf("Open(sqlite3, %s): %v", path, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// MustOpenMemory opens a store on an in-memory SQLite database.
func MustOpenMemory(tb testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	tb.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite3", ":memory:", opts...)
	if err != nil {
		tb.Fatalf("Open(sqlite3, :memory:): %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// MustSchema names a new PostgreSQL schema for one test and drops it, with
// everything in it, when the test ends.
func MustSchema(tb testing.TB) string {
	tb.Helper()
	return pgtest.Schema(tb, "ocn_test_")
}

// MustOpenPostgres opens a store in a new schema of its own.
func MustOpenPostgres(tb testing.TB, opts ...sqlstore.Option) (*sqlstore.Store, string) {
	tb.Helper()
	schema := MustSchema(tb)
	return MustOpenPostgresIn(tb, schema, opts...), schema
}

// MustOpenPostgresIn opens a store on an existing or new schema. The store
// is closed before the schema is dropped.
func MustOpenPostgresIn(tb testing.TB, schema string, opts ...sqlstore.Option) *sqlstore.Store {
	tb.Helper()
	_, dsn := pgtest.Admin(tb)
	st, err := sqlstore.Open(context.Background(), "pgx", dsn, append([]sqlstore.Option{sqlstore.WithSchema(schema)}, opts...)...)
	if err != nil {
		tb.Fatalf("Open(pgx, schema %s): %v", schema, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// backend is one database the tests run on.
type backend struct {
	name string
	pg   bool // needs OCNUMBERS_POSTGRES_DSN
	open func(tb testing.TB) *sqlstore.Store
}

var backends = []backend{
	{"SQLiteFile", false, func(tb testing.TB) *sqlstore.Store { st, _ := MustOpenSQLite(tb); return st }},
	{"SQLiteMemory", false, func(tb testing.TB) *sqlstore.Store { return MustOpenMemory(tb) }},
	{"PostgreSQL", true, func(tb testing.TB) *sqlstore.Store { st, _ := MustOpenPostgres(tb); return st }},
}

// require skips (or, in CI, fails) a test on a backend that is not there:
// PostgreSQL without a server, SQLite in a build without cgo.
func (b backend) require(tb testing.TB) {
	tb.Helper()
	if b.pg {
		pgtest.Admin(tb)
	} else {
		requireSQLite(tb)
	}
}

// withSetting adds a run-time setting to a PostgreSQL DSN (URL or
// key=value form): pgx sends unknown DSN parameters as settings.
func withSetting(dsn, key, value string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " " + key + "='" + strings.ReplaceAll(value, "'", `\'`) + "'"
	}
	value = strings.ReplaceAll(url.QueryEscape(value), "+", "%20") // pgx reads + as itself
	if strings.Contains(dsn, "?") {
		return dsn + "&" + key + "=" + value
	}
	return dsn + "?" + key + "=" + value
}
