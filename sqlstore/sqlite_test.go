//go:build cgo

package sqlstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
)

// requireSQLite lets a SQLite test run: this build has cgo.
func requireSQLite(testing.TB) {}

func TestOpenSQLiteDSN(t *testing.T) {
	pragma := func(t *testing.T, db *sqlx.DB, name string) string {
		t.Helper()
		var v string
		if err := db.Get(&v, "PRAGMA "+name); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	t.Run("FileDefaults", func(t *testing.T) {
		st, _ := MustOpenSQLite(t)
		for name, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1", "synchronous": "2"} {
			if got := pragma(t, st.DB(), name); got != want {
				t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
			}
		}
	})
	t.Run("CallerParametersKept", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "n.db")
		st := MustOpenSQLiteAt(t, "file:"+path+"?_busy_timeout=1234&_journal_mode=DELETE")
		if got := pragma(t, st.DB(), "busy_timeout"); got != "1234" {
			t.Errorf("busy_timeout = %s, want the caller's 1234", got)
		}
		if got := pragma(t, st.DB(), "journal_mode"); got != "delete" {
			t.Errorf("journal_mode = %s, want the caller's delete", got)
		}
	})
	t.Run("MemoryIsOneDatabase", func(t *testing.T) {
		// Each pooled connection to :memory: would see its own empty
		// database; concurrent use must still see one.
		st := MustOpenMemory(t)
		mustPut(t, st, record(1, removal.Active))
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := st.Get(context.Background(), number(1)); err != nil {
					t.Errorf("Get from another goroutine: %v", err)
				}
			})
		}
		wg.Wait()
	})
}

func TestNewOnCallersPool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.db")
	db, err := sqlx.Open("sqlite3", path+"?_journal_mode=WAL&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := sqlstore.New(db, sqlstore.WithTablePrefix("ocn_"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mustPut(t, st, record(1, removal.Active))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Ping(); err != nil {
		t.Errorf("the host's pool was closed by Store.Close: %v", err)
	}
	// The pool and its DSN are the host's: options that would set them are
	// refused rather than ignored.
	for name, o := range map[string]sqlstore.Option{
		"MaxOpenConns": sqlstore.WithMaxOpenConns(2),
		"LockTimeout":  sqlstore.WithLockTimeout(time.Second),
		"Synchronous":  sqlstore.WithSynchronous("NORMAL"),
		"IdleInTx":     sqlstore.WithIdleInTransactionTimeout(time.Second),
	} {
		if _, err := sqlstore.New(db, o); err == nil {
			t.Errorf("New with %s succeeded, want an error", name)
		}
	}
}
