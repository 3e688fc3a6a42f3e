package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, driver string
		opts         []sqlstore.Option
	}{
		{"UnknownDriver", "mysql", nil},
		{"SchemaOnSQLite", "sqlite3", []sqlstore.Option{sqlstore.WithSchema("x")}},
		{"BadPrefix", "sqlite3", []sqlstore.Option{sqlstore.WithTablePrefix("oc-")}},
		{"UpperCasePrefix", "sqlite3", []sqlstore.Option{sqlstore.WithTablePrefix("Oc_")}},
		{"QuoteInPrefix", "sqlite3", []sqlstore.Option{sqlstore.WithTablePrefix(`a"; DROP TABLE x; --`)}},
		{"BadSchema", "pgx", []sqlstore.Option{sqlstore.WithSchema("public.x")}},
		{"IdleInTxOnSQLite", "sqlite3", []sqlstore.Option{sqlstore.WithIdleInTransactionTimeout(time.Second)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := sqlstore.Open(ctx, c.driver, ":memory:", c.opts...)
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded, want an error")
			}
		})
	}
	t.Run("NilDB", func(t *testing.T) {
		if _, err := sqlstore.New(nil); err == nil {
			t.Fatal("New(nil) succeeded")
		}
	})
}

// sharedDB is one database that several stores open: a SQLite file or a
// PostgreSQL schema.
type sharedDB struct {
	name   string
	driver string // the database/sql driver name
	// fresh names a new, empty database.
	fresh      func(t *testing.T) string
	open       func(t *testing.T, where string, opts ...sqlstore.Option) (*sqlstore.Store, error)
	migrations func(where, prefix string) string // qualified schema_migrations table
}

func sharedDBs() []sharedDB {
	return []sharedDB{
		{
			name:   "SQLiteFile",
			driver: "sqlite3",
			fresh:  func(t *testing.T) string { return filepath.Join(t.TempDir(), "shared.db") },
			open: func(t *testing.T, where string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
				return sqlstore.Open(context.Background(), "sqlite3", where, opts...)
			},
			migrations: func(_, prefix string) string { return `"` + prefix + `schema_migrations"` },
		},
		{
			name:   "PostgreSQL",
			driver: "pgx",
			fresh:  func(t *testing.T) string { return MustSchema(t) },
			open: func(t *testing.T, where string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
				_, dsn := pgtest.Admin(t)
				return sqlstore.Open(context.Background(), "pgx", dsn, append([]sqlstore.Option{sqlstore.WithSchema(where)}, opts...)...)
			},
			migrations: func(where, prefix string) string { return `"` + where + `"."` + prefix + `schema_migrations"` },
		},
	}
}

// require skips (or, in CI, fails) a test on a database that is not there.
func (s sharedDB) require(tb testing.TB) {
	tb.Helper()
	if s.driver == "pgx" {
		pgtest.Admin(tb)
	} else {
		requireSQLite(tb)
	}
}

func (s sharedDB) mustOpen(t *testing.T, where string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	st, err := s.open(t, where, opts...)
	if err != nil {
		t.Fatalf("Open %s: %v", where, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (s sharedDB) versions(t *testing.T, st *sqlstore.Store, where, prefix string) []int {
	t.Helper()
	var vs []int
	if err := st.DB().Select(&vs, "SELECT version FROM "+s.migrations(where, prefix)+" ORDER BY version"); err != nil {
		t.Fatalf("reading versions: %v", err)
	}
	return vs
}

func TestMigrations(t *testing.T) {
	for _, db := range sharedDBs() {
		t.Run(db.name, func(t *testing.T) {
			db.require(t)
			known := sqlstore.KnownVersion(db.driver)
			wantVersions := func(t *testing.T, st *sqlstore.Store, where, prefix string) {
				t.Helper()
				vs := db.versions(t, st, where, prefix)
				if len(vs) != known || vs[0] != 1 || vs[len(vs)-1] != known {
					t.Errorf("schema_migrations holds %v, want 1..%d once each", vs, known)
				}
			}

			t.Run("AppliedTwice", func(t *testing.T) {
				where := db.fresh(t)
				first := db.mustOpen(t, where)
				mustPut(t, first, record(1, removal.MarkedForRemoval))
				first.Close()
				second := db.mustOpen(t, where)
				if _, err := second.Get(context.Background(), number(1)); err != nil {
					t.Errorf("Get after reopening: %v", err)
				}
				wantVersions(t, second, where, "")
			})

			// Four Opens at once of one table, then of four tables (four
			// prefixes) in one new schema, which they all try to create.
			for _, prefixes := range [][]string{{"", "", "", ""}, {"a_", "b_", "c_", "d_"}} {
				t.Run("ConcurrentOpen/"+strings.Join(prefixes, ""), func(t *testing.T) {
					where := db.fresh(t)
					stores := make([]*sqlstore.Store, len(prefixes))
					errs := make([]error, len(stores))
					var wg sync.WaitGroup
					for i := range stores {
						wg.Go(func() { stores[i], errs[i] = db.open(t, where, sqlstore.WithTablePrefix(prefixes[i])) })
					}
					wg.Wait()
					for i, err := range errs {
						if err != nil {
							t.Errorf("Open %d: %v", i, err)
							continue
						}
						t.Cleanup(func() { stores[i].Close() })
					}
					if t.Failed() {
						return
					}
					for i, st := range stores {
						wantVersions(t, st, where, prefixes[i])
					}
				})
			}

			t.Run("NewerSchemaRefused", func(t *testing.T) {
				where := db.fresh(t)
				st := db.mustOpen(t, where)
				newer := known + 1
				if _, err := st.DB().Exec(st.DB().Rebind("INSERT INTO "+db.migrations(where, "")+" (version, name) VALUES (?, ?)"), newer, "from the future"); err != nil {
					t.Fatal(err)
				}
				again, err := db.open(t, where)
				if err == nil {
					again.Close()
					t.Fatal("Open on a newer schema succeeded")
				}
				if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
					t.Errorf("err = %v, want ErrSchemaTooNew", err)
				}
				want := fmt.Sprintf("database schema version %d is newer than this library knows (%d)", newer, known)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to say %q", err, want)
				}
			})

			t.Run("WithoutMigrations", func(t *testing.T) {
				where := db.fresh(t)
				if db.driver == "pgx" {
					admin, _ := pgtest.Admin(t)
					if _, err := admin.Exec(`CREATE SCHEMA "` + where + `"`); err != nil {
						t.Fatal(err)
					}
				}
				st := db.mustOpen(t, where, sqlstore.WithoutMigrations())
				_, err := st.Get(context.Background(), number(1))
				if err == nil || errors.Is(err, store.ErrNotFound) {
					t.Errorf("Get on a database without the schema: %v, want a missing-table error", err)
				}
				// Migrate, called by the host, then brings it up to date.
				if err := st.Migrate(context.Background()); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				mustPut(t, st, record(1, removal.Active))
				wantVersions(t, st, where, "")
			})

			// A host applies the rendered migrations itself, in its own
			// transactions; the store then finds the schema up to date.
			t.Run("ByHand", func(t *testing.T) {
				where := db.fresh(t)
				opts := []sqlstore.Option{sqlstore.WithTablePrefix("host_")}
				if db.driver == "pgx" {
					opts = append(opts, sqlstore.WithSchema(where))
				}
				ms, err := sqlstore.Migrations(db.driver, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) != known {
					t.Fatalf("%d migrations, want %d", len(ms), known)
				}
				st := db.mustOpen(t, where, sqlstore.WithTablePrefix("host_"), sqlstore.WithoutMigrations())
				if db.driver == "pgx" {
					if _, err := st.DB().Exec(`CREATE SCHEMA "` + where + `"`); err != nil {
						t.Fatal(err)
					}
				}
				for i, m := range ms {
					if m.Version != i+1 || strings.Contains(m.SQL, "{{") || !strings.Contains(m.SQL, `"host_`) {
						t.Errorf("migration %d: version %d, SQL:\n%s", i, m.Version, m.SQL)
					}
					tx, err := st.DB().Beginx()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := tx.Exec(m.SQL); err != nil {
						tx.Rollback()
						t.Fatalf("applying %s by hand: %v", m.Name, err)
					}
					if err := tx.Commit(); err != nil {
						t.Fatal(err)
					}
				}
				wantVersions(t, st, where, "host_")
				again := db.mustOpen(t, where, sqlstore.WithTablePrefix("host_")) // migrates: nothing to do
				mustPut(t, again, record(1, removal.MarkedForRemoval))
				wantVersions(t, again, where, "host_")
				// The schema is whole: every kind of change and read works.
				svc := removal.NewService(again)
				if res, err := svc.MarkReadyForRemoval(context.Background(), []string{string(number(1))}); err != nil || res.SuccessCount != 1 {
					t.Errorf("MarkReadyForRemoval: %+v, %v", res, err)
				}
				if sum, err := svc.Summary(context.Background(), ""); err != nil || sum.ReadyForRemovalCount != 1 {
					t.Errorf("Summary: %+v, %v", sum, err)
				}
				if _, total := mustHistory(t, again, number(1), 0, 10); total != 2 {
					t.Errorf("history of %s: %d events, want 2", number(1), total)
				}
				if db.driver == "sqlite3" { // the PostgreSQL limiter is to come
					l, err := again.RateLimiter("by-hand", 1, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if ok, _, err := l.Allow(context.Background()); !ok || err != nil {
						t.Errorf("Allow: %v, %v", ok, err)
					}
				}
			})

			t.Run("TablePrefix", func(t *testing.T) {
				where := db.fresh(t)
				a := db.mustOpen(t, where, sqlstore.WithTablePrefix("oc_"))
				b := db.mustOpen(t, where, sqlstore.WithTablePrefix("other_"))
				mustPut(t, a, record(1, removal.Active))
				if _, err := b.Get(context.Background(), number(1)); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("store with another prefix sees the number: %v", err)
				}
				if got := a.TableName(); !strings.HasSuffix(got, `"oc_numbers"`) {
					t.Errorf("TableName() = %s, want it to end in \"oc_numbers\"", got)
				}
				var n int
				if err := a.DB().Get(&n, "SELECT COUNT(*) FROM "+a.TableName()); err != nil || n != 1 {
					t.Errorf("rows in %s: %d, %v; want 1", a.TableName(), n, err)
				}
				wantVersions(t, a, where, "oc_")
			})
		})
	}
}

// TestCrossProcess runs two stores, each with its own connection pool as
// two processes would have, on one database, racing conflicting batches of
// every action on the same numbers. No interleaving may surface an error,
// make an illegal move, or lose a count.
func TestCrossProcess(t *testing.T) {
	for _, db := range sharedDBs() {
		t.Run(db.name, func(t *testing.T) {
			db.require(t)
			where := db.fresh(t)
			stores := []*sqlstore.Store{db.mustOpen(t, where), db.mustOpen(t, where)}
			const pool = 120
			initial := make([]store.Number, pool)
			for i := range initial {
				initial[i] = record(i, removal.NumberStatus(i%3)) // never ReadyForRemoval at the start
			}
			mustPut(t, stores[0], initial...)

			type move struct {
				n        e164.Number
				from, to removal.NumberStatus
			}
			var mu sync.Mutex
			var moves []move
			successes := 0
			actions := removal.Actions()
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			var wg sync.WaitGroup
			for g := range 6 {
				st := stores[g%2]
				wg.Go(func() {
					r := rand.New(rand.NewPCG(seed, uint64(g)))
					for range 25 {
						a := actions[r.IntN(len(actions))]
						perm := r.Perm(pool)[:1+r.IntN(pool)]
						batch := make([]e164.Number, len(perm))
						for i, j := range perm {
							batch[i] = number(j)
						}
						c := removal.Change{From: a.From(), To: a.To(), At: time.Now().UTC().Truncate(time.Microsecond), Event: a.Event()}
						out, err := st.Apply(context.Background(), batch, c)
						if err != nil {
							t.Errorf("%s: %v", a.Name(), err)
							return
						}
						if len(out) != len(batch) {
							t.Errorf("%s: %d outcomes for %d numbers", a.Name(), len(out), len(batch))
							return
						}
						mu.Lock()
						for i, o := range out {
							switch {
							case !o.Found || !o.OperatorConnect:
								t.Errorf("%s: %s reported absent or not OC: %+v", a.Name(), batch[i], o)
							case o.Changed:
								moves = append(moves, move{batch[i], o.Status, a.To()})
								successes++
							case c.Allows(o.Status):
								t.Errorf("%s: %s is %s, which it moves, but was not changed", a.Name(), batch[i], o.Status)
							}
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}

			// Per number, the reported moves must form a path from the
			// initial to the final status: moves in minus moves out equals
			// [final is s] - [initial is s] for every status s.
			flow := make(map[e164.Number]*[4]int)
			for _, m := range moves {
				if !removal.CanTransition(m.from, m.to) {
					t.Errorf("%s moved %s -> %s", m.n, m.from, m.to)
				}
				if flow[m.n] == nil {
					flow[m.n] = new([4]int)
				}
				flow[m.n][m.to]++
				flow[m.n][m.from]--
			}
			var recount [4]int
			for i, in := range initial {
				got, err := stores[1].Get(context.Background(), in.TelephoneNumber)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				recount[got.Status]++
				want := [4]int{}
				want[got.Status]++
				want[in.Status]--
				f := flow[in.TelephoneNumber]
				if f == nil {
					f = new([4]int)
				}
				if *f != want {
					t.Errorf("number %d: moves %v do not lead from %s to %s", i, *f, in.Status, got.Status)
				}
			}
			if successes == 0 {
				t.Error("no batch moved anything: the test raced nothing")
			}
			sum, err := removal.NewService(stores[0]).Summary(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if sum.MarkedForRemovalCount != recount[removal.MarkedForRemoval] || sum.ReadyForRemovalCount != recount[removal.ReadyForRemoval] {
				t.Errorf("Summary %+v, recount %v", sum, recount)
			}
		})
	}
}

// TestApplyRefusesBrokenChange: a Change the contract rules out (no From
// status, a status outside 0-3) is refused with nothing touched, rather
// than stored with a status wrapped around to a legal value.
func TestApplyRefusesBrokenChange(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	marked := []removal.NumberStatus{removal.MarkedForRemoval}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			st := b.open(t)
			mustPut(t, st, record(1, removal.MarkedForRemoval))
			for name, c := range map[string]removal.Change{
				"NoFrom":     {To: removal.ReadyForRemoval, At: at, Event: removal.EventReadyForRemoval},
				"BadTo":      {From: marked, To: removal.NumberStatus(65537), At: at, Event: removal.EventReadyForRemoval}, // 1 as a smallint
				"BadFrom":    {From: []removal.NumberStatus{-1}, To: removal.ReadyForRemoval, At: at, Event: removal.EventReadyForRemoval},
				"NegativeTo": {From: marked, To: -65534, At: at, Event: removal.EventReadyForRemoval},
			} {
				out, err := st.Apply(context.Background(), []e164.Number{number(1)}, c)
				if err == nil || len(out) != 0 {
					t.Errorf("%s: %v, %v; want an error and no outcome", name, out, err)
				}
			}
			if got, err := st.Get(context.Background(), number(1)); err != nil || got.Status != removal.MarkedForRemoval {
				t.Errorf("after the refused changes: %v, %v; want MarkedForRemoval", got.Status, err)
			}
		})
	}
}
