//go:build cgo

package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
)

// holdConns takes n connections of the store's pool at once, so that each
// is a different one, and calls f on each.
func holdConns(t *testing.T, db *sqlx.DB, n int, f func(i int, c *sqlx.Conn)) {
	t.Helper()
	conns := make([]*sqlx.Conn, n)
	for i := range conns {
		c, err := db.Connx(context.Background())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns[i] = c
	}
	for i, c := range conns {
		f(i, c)
		c.Close()
	}
}

// TestSQLiteSynchronous: every connection of Open's pool runs
// synchronous=FULL (2) unless WithSynchronous relaxes it, and the DSN
// cannot say otherwise behind the option's back.
func TestSQLiteSynchronous(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []sqlstore.Option
		want int
	}{
		{"Default", nil, 2},
		{"Normal", []sqlstore.Option{sqlstore.WithSynchronous("normal")}, 1},
		{"Off", []sqlstore.Option{sqlstore.WithSynchronous("OFF")}, 0},
		{"Extra", []sqlstore.Option{sqlstore.WithSynchronous("Extra")}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _ := MustOpenSQLite(t, c.opts...)
			holdConns(t, st.DB(), 4, func(i int, conn *sqlx.Conn) {
				var got int
				if err := conn.GetContext(context.Background(), &got, "PRAGMA synchronous"); err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("connection %d: PRAGMA synchronous = %d, want %d", i, got, c.want)
				}
			})
		})
	}
	t.Run("DSNKept", func(t *testing.T) {
		st := MustOpenSQLiteAt(t, "file:"+filepath.Join(t.TempDir(), "n.db")+"?_synchronous=NORMAL")
		var got int
		if err := st.DB().Get(&got, "PRAGMA synchronous"); err != nil || got != 1 {
			t.Errorf("PRAGMA synchronous = %d, %v; want the DSN's 1", got, err)
		}
	})
	t.Run("DSNAndOptionRefused", func(t *testing.T) {
		st, err := sqlstore.Open(context.Background(), "sqlite3", "file:"+filepath.Join(t.TempDir(), "n.db")+"?_sync=1",
			sqlstore.WithSynchronous("FULL"))
		if err == nil {
			st.Close()
			t.Fatal("Open with both _sync and WithSynchronous succeeded")
		}
	})
}

// TestSQLitePoolBounded: Open's pool has a cap (4 by default,
// WithMaxOpenConns to change it, 1 in memory) that 60 concurrent callers,
// reading and writing, never exceed.
func TestSQLitePoolBounded(t *testing.T) {
	for _, c := range []struct {
		name   string
		memory bool
		opts   []sqlstore.Option
		want   int
	}{
		{"Default", false, nil, 4},
		{"Two", false, []sqlstore.Option{sqlstore.WithMaxOpenConns(2)}, 2},
		{"Memory", true, nil, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var st *sqlstore.Store
			if c.memory {
				st = MustOpenMemory(t, c.opts...)
			} else {
				st, _ = MustOpenSQLite(t, c.opts...)
			}
			if got := st.DB().Stats().MaxOpenConnections; got != c.want {
				t.Errorf("MaxOpenConnections = %d, want %d", got, c.want)
			}
			var recs []int
			for i := range 400 {
				recs = append(recs, i)
				mustPut(t, st, record(i, removal.MarkedForRemoval))
			}
			stop := make(chan struct{})
			var peak atomic.Int64
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					s := st.DB().Stats()
					if n := int64(max(s.OpenConnections, s.InUse)); n > peak.Load() {
						peak.Store(n)
					}
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Microsecond):
					}
				}
			}()
			ctx := context.Background()
			var wg sync.WaitGroup
			for g := range 60 {
				wg.Go(func() {
					for k := range 10 {
						i := (g*10 + k) % len(recs)
						var err error
						switch (g + k) % 4 {
						case 0:
							a := removal.ReadyForRemovalAction
							if g%2 == 1 {
								a = removal.ClearRemovalStatusAction
							}
							_, err = st.Apply(ctx, []e164.Number{number(i)}, removal.Change{From: a.From(), To: a.To(), At: time.Now().UTC(), Event: a.Event()})
						case 1:
							_, err = st.ListNumbers(ctx, removal.NumberQuery{Limit: 200})
						case 2:
							_, _, err = st.History(ctx, number(i), 0, 10)
						default:
							_, err = removal.NewService(st).Summary(ctx, "")
						}
						if err != nil {
							t.Errorf("caller %d: %v", g, err)
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			<-sampled
			if p := peak.Load(); p > int64(c.want) {
				t.Errorf("%d connections open at once, want at most %d", p, c.want)
			}
		})
	}
	t.Run("MemoryRefusesMore", func(t *testing.T) {
		st, err := sqlstore.Open(context.Background(), "sqlite3", ":memory:", sqlstore.WithMaxOpenConns(2))
		if err == nil {
			st.Close()
			t.Fatal("an in-memory store with 2 connections opened")
		}
	})
}

// TestSQLiteLockTimeout: a writer waits for the write lock that another
// connection holds for the lock timeout (WithLockTimeout, 5 s by default),
// then fails with an error matching removal.ErrStoreBusy, having changed
// nothing.
func TestSQLiteLockTimeout(t *testing.T) {
	t.Run("Default", func(t *testing.T) {
		st, _ := MustOpenSQLite(t)
		holdConns(t, st.DB(), 2, func(i int, c *sqlx.Conn) {
			var ms int
			if err := c.GetContext(context.Background(), &ms, "PRAGMA busy_timeout"); err != nil || ms != 5000 {
				t.Errorf("connection %d: busy_timeout = %d, %v; want 5000", i, ms, err)
			}
		})
	})
	const timeout = 200 * time.Millisecond
	st, path := MustOpenSQLite(t, sqlstore.WithLockTimeout(timeout))
	mustPut(t, st, record(1, removal.MarkedForRemoval))
	defer holdWriteLock(t, path)()
	a := removal.ReadyForRemovalAction
	ctx := context.Background()
	for name, write := range map[string]func() error{
		"Apply": func() error {
			_, err := st.Apply(ctx, []e164.Number{number(1)}, removal.Change{From: a.From(), To: a.To(), At: time.Now().UTC(), Event: a.Event()})
			return err
		},
		"Delete": func() error { _, err := st.Delete(ctx, []e164.Number{number(1)}, time.Now()); return err },
		"Import": func() error { return st.Put(ctx, record(2, removal.Active)) },
		"Prune":  func() error { _, err := st.PruneHistory(ctx, time.Now()); return err },
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := write()
			took := time.Since(start)
			if !errors.Is(err, removal.ErrStoreBusy) {
				t.Errorf("err = %v, want ErrStoreBusy", err)
			}
			if took < timeout*9/10 || took > timeout+2*time.Second {
				t.Errorf("gave up after %v, want about %v", took, timeout)
			}
		})
	}
	got, err := st.Get(ctx, number(1))
	if err != nil || got.Status != removal.MarkedForRemoval {
		t.Errorf("after the busy writes: %+v, %v; want MarkedForRemoval", got, err)
	}
	if _, err := st.Get(ctx, number(2)); err == nil {
		t.Error("the busy Put stored its record")
	}
	t.Run("DSNAndOptionRefused", func(t *testing.T) {
		st, err := sqlstore.Open(context.Background(), "sqlite3", fmt.Sprintf("file:%s?_busy_timeout=100", filepath.Join(t.TempDir(), "n.db")),
			sqlstore.WithLockTimeout(time.Second))
		if err == nil {
			st.Close()
			t.Fatal("Open with both _busy_timeout and WithLockTimeout succeeded")
		}
	})
}

// holdWriteLock takes the SQLite file's write lock (BEGIN IMMEDIATE) on a
// connection of its own and returns the function that releases it; the
// connection is closed at the end of the test.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	other, err := sqlx.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	holder, err := other.Connx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	if _, err := holder.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := holder.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Errorf("releasing the write lock: %v", err)
		}
	}
}
