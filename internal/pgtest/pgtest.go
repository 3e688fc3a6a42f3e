// Package pgtest gives tests a PostgreSQL server and a schema of their own.
//
// Tests read the server's DSN from OCNUMBERS_POSTGRES_DSN. Without it they
// skip with a message, except when CI=true: there PostgreSQL tests must run,
// so a missing variable or an unreachable server fails the test.
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// EnvDSN names the environment variable holding the server's DSN.
const EnvDSN = "OCNUMBERS_POSTGRES_DSN"

// DSN returns the server's DSN, or skips the test (fails it under CI=true).
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("CI=true but " + EnvDSN + " is not set: PostgreSQL tests must run in CI")
		}
		tb.Skip("PostgreSQL test skipped: set " + EnvDSN + ", e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return dsn
}

var (
	adminOnce sync.Once
	adminDB   *sqlx.DB
	adminErr  error
)

// Admin returns a pool shared by the tests of one process, for creating and
// dropping schemas, and the DSN. An unreachable server fails the test: the
// DSN says one should be there.
func Admin(tb testing.TB) (*sqlx.DB, string) {
	tb.Helper()
	dsn := DSN(tb)
	adminOnce.Do(func() {
		adminDB, adminErr = sqlx.Open("pgx", dsn)
		if adminErr == nil {
			adminErr = adminDB.Ping()
		}
	})
	if adminErr != nil {
		tb.Fatalf("PostgreSQL at %s is unreachable: %v", EnvDSN, adminErr)
	}
	return adminDB, dsn
}

// Schema returns a new, unique schema name starting with prefix (which must
// be a plain lower-case identifier) and drops that schema, with everything
// in it, when the test ends. The caller creates it (sqlstore.WithSchema does).
func Schema(tb testing.TB, prefix string) string {
	tb.Helper()
	admin, _ := Admin(tb)
	var b [6]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
}
