//go:build !cgo

package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ocnumbers/ocnumbers/sqlstore"
)

// requireSQLite skips a SQLite test: this build has no cgo.
func requireSQLite(tb testing.TB) {
	tb.Helper()
	tb.Skip("SQLite test skipped: the SQLite driver needs cgo (CGO_ENABLED=1)")
}

// TestSQLiteNeedsCgo: without cgo, "sqlite3" is refused with an error that
// says what to do.
func TestSQLiteNeedsCgo(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), "sqlite3", ":memory:")
	if err == nil {
		st.Close()
		t.Fatal("Open(sqlite3) succeeded without cgo")
	}
	for _, want := range []string{"cgo", "CGO_ENABLED=1", "C compiler", `"pgx"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to mention %s", err, want)
		}
	}
}
