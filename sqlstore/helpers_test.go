package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/sqlstore"
)

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

// postgresDSN returns OCNUMBERS_POSTGRES_DSN. Without it the test skips,
// except in CI (CI=true), where PostgreSQL tests must run.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("OCNUMBERS_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("CI=true but OCNUMBERS_POSTGRES_DSN is not set: PostgreSQL tests must run in CI")
		}
		tb.Skip("PostgreSQL tests skipped: set OCNUMBERS_POSTGRES_DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return dsn
}

var (
	adminOnce sync.Once
	adminDB   *sqlx.DB
	adminErr  error
)

// postgresAdmin is a pool shared by the tests to create and drop schemas.
// An unreachable server fails the test: the DSN says one should be there.
func postgresAdmin(tb testing.TB) (*sqlx.DB, string) {
	tb.Helper()
	dsn := postgresDSN(tb)
	adminOnce.Do(func() {
		adminDB, adminErr = sqlx.Open("pgx", dsn)
		if adminErr == nil {
			adminErr = adminDB.Ping()
		}
	})
	if adminErr != nil {
		tb.Fatalf("PostgreSQL at OCNUMBERS_POSTGRES_DSN is unreachable: %v", adminErr)
	}
	return adminDB, dsn
}

// MustSchema names a new PostgreSQL schema for one test and drops it, with
// everything in it, when the test ends.
func MustSchema(tb testing.TB) string {
	tb.Helper()
	admin, _ := postgresAdmin(tb)
	var b [6]byte
	rand.Read(b[:])
	schema := "ocn_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
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
	_, dsn := postgresAdmin(tb)
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

// require skips (or, in CI, fails) a test on a backend that is not there.
func (b backend) require(tb testing.TB) {
	tb.Helper()
	if b.pg {
		postgresAdmin(tb)
	}
}
