package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/ocnumbers/ocnumbers/internal/pgtest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
	"github.com/ocnumbers/ocnumbers/store/storetest"
)

// The benchmarks compare the store with the statements a DBA would write
// by hand, in the same run, on the same table. Their data sets (100,000 and
// 1,000,000 numbers: 5% MarkedForRemoval, 2% ReadyForRemoval, 1,000
// tenants) are built once: SQLite files are cached in os.TempDir across
// runs; PostgreSQL schemas live for one process (dropped by TestMain).

func TestMain(m *testing.M) {
	code := m.Run()
	dropBenchSchemas()
	os.Exit(code)
}

// benchTenant is the tenant of the i-th number: 1,000 tenants, each with
// every status.
func benchTenant(i int) string {
	t := i / 100 % 1000
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", t, t)
}

func benchStatus(i int) removal.NumberStatus {
	switch r := i % 100; {
	case r < 5:
		return removal.MarkedForRemoval
	case r < 7:
		return removal.ReadyForRemoval
	case r == 99:
		return removal.ReleaseRequested
	}
	return removal.Active
}

var benchAt = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

var (
	recsMu    sync.Mutex
	recsCache = map[int][]store.Number{}
)

// benchRecords is the data set of size numbers.
func benchRecords(size int) []store.Number {
	recsMu.Lock()
	defer recsMu.Unlock()
	if r, ok := recsCache[size]; ok {
		return r
	}
	r := make([]store.Number, size)
	for i := range r {
		r[i] = store.Number{TelephoneNumber: number(i), MSTenantID: benchTenant(i), OperatorConnect: i%50 != 49,
			Status: benchStatus(i), StatusChangedAt: benchAt}
	}
	recsCache[size] = r
	return r
}

// benchBatches are the 500-number batches of MarkedForRemoval Operator
// Connect numbers of the data set, and resetSQL's arguments.
func benchBatches(size int) [][]string {
	var all []string
	for i := range size {
		if benchStatus(i) == removal.MarkedForRemoval && i%50 != 49 {
			all = append(all, string(number(i)))
		}
	}
	var out [][]string
	for len(all) >= removal.MaxBatchSize && len(out) < 20 {
		out = append(out, all[:removal.MaxBatchSize])
		all = all[removal.MaxBatchSize:]
	}
	return out
}

type benchTarget struct {
	name   string
	pg     bool
	open   func(b *testing.B, size int) *sqlstore.Store // the cached data set
	loadTo func(b *testing.B) *sqlstore.Store           // a fresh, empty store
}

var benchTargets = []benchTarget{
	{name: "SQLite", open: sqliteBenchStore, loadTo: func(b *testing.B) *sqlstore.Store { st, _ := MustOpenSQLite(b); return st }},
	{name: "PostgreSQL", pg: true, open: pgBenchStore, loadTo: func(b *testing.B) *sqlstore.Store { st, _ := MustOpenPostgres(b); return st }},
}

var (
	benchMu     sync.Mutex
	benchStores = map[string]*sqlstore.Store{}
	benchSchema []string
	benchAdmin  *sqlx.DB // set with benchSchema; TestMain drops the schemas through it
)

func sqliteBenchStore(b *testing.B, size int) *sqlstore.Store {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprintf("sqlite-%d", size)
	if st, ok := benchStores[key]; ok {
		return st
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("ocnumbers-sqlstore-bench-v2-%d.db", size))
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".building"
		os.Remove(tmp)
		st, err := sqlstore.Open(context.Background(), "sqlite3", tmp)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Put(context.Background(), benchRecords(size)...); err != nil {
			b.Fatal(err)
		}
		if _, err := st.DB().Exec("ANALYZE"); err != nil {
			b.Fatal(err)
		}
		st.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	st, err := sqlstore.Open(context.Background(), "sqlite3", path)
	if err != nil {
		b.Fatal(err)
	}
	benchStores[key] = st
	return st
}

func pgBenchStore(b *testing.B, size int) *sqlstore.Store {
	admin, dsn := pgtest.Admin(b)
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprintf("pg-%d", size)
	if st, ok := benchStores[key]; ok {
		return st
	}
	schema := fmt.Sprintf("ocn_bench_%d_%d", size, os.Getpid())
	admin.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
	benchSchema = append(benchSchema, schema)
	benchAdmin = admin
	st, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Put(context.Background(), benchRecords(size)...); err != nil {
		b.Fatal(err)
	}
	if _, err := st.DB().Exec("VACUUM ANALYZE " + st.TableName()); err != nil {
		b.Fatal(err)
	}
	benchStores[key] = st
	return st
}

func dropBenchSchemas() {
	for _, st := range benchStores {
		st.Close()
	}
	if benchAdmin == nil {
		return
	}
	for _, s := range benchSchema {
		benchAdmin.Exec(`DROP SCHEMA IF EXISTS "` + s + `" CASCADE`)
	}
}

// BenchmarkMarkReady500 moves 500 MarkedForRemoval numbers of a
// 100,000-number table to ReadyForRemoval: through the Service and the
// store, and with hand-written SQL. Every batch is used once; when all have
// been, they are reset off the clock.
func BenchmarkMarkReady500(b *testing.B) {
	const size = 100_000
	batches := benchBatches(size)
	for _, tg := range benchTargets {
		b.Run(tg.name, func(b *testing.B) {
			if tg.pg {
				pgtest.DSN(b)
			}
			st := tg.open(b, size)
			db := st.DB().DB
			t := st.TableName()
			reset := func(b *testing.B) {
				for _, batch := range batches {
					if _, err := db.Exec(st.DB().Rebind("UPDATE "+t+" SET status = 2 WHERE telephone_number IN (?"+strings.Repeat(",?", len(batch)-1)+")"), anys(batch)...); err != nil {
						b.Fatal(err)
					}
				}
			}
			run := func(b *testing.B, move func(b *testing.B, batch []string)) {
				reset(b)
				b.Cleanup(func() { reset(b) }) // the data set is shared with other benchmarks
				i := 0
				for b.Loop() {
					if i == len(batches) {
						b.StopTimer()
						reset(b)
						i = 0
						b.StartTimer()
					}
					move(b, batches[i])
					i++
				}
			}
			b.Run("Store", func(b *testing.B) {
				svc := removal.NewService(st)
				run(b, func(b *testing.B, batch []string) {
					res, err := svc.MarkReadyForRemoval(context.Background(), batch)
					if err != nil || res.SuccessCount != len(batch) {
						b.Fatalf("%d successes, %v", res.SuccessCount, err)
					}
				})
			})
			if tg.pg {
				// One statement over an array: the fastest hand-written form.
				b.Run("RawAnyArray", func(b *testing.B) {
					q := "UPDATE " + t + " SET status = 3, status_changed_at = $1 WHERE telephone_number = ANY($2) AND status = 2 RETURNING telephone_number"
					run(b, func(b *testing.B, batch []string) {
						wantRows(b, len(batch), func() (*sql.Rows, error) { return db.Query(q, time.Now(), batch) })
					})
				})
				b.Run("RawAnyArrayTx", func(b *testing.B) {
					q := "UPDATE " + t + " SET status = 3, status_changed_at = $1 WHERE telephone_number = ANY($2) AND status = 2 RETURNING telephone_number"
					run(b, func(b *testing.B, batch []string) {
						tx, _ := db.Begin()
						wantRows(b, len(batch), func() (*sql.Rows, error) { return tx.Query(q, time.Now(), batch) })
						tx.Commit()
					})
				})
				return
			}
			b.Run("RawINList", func(b *testing.B) {
				q := "UPDATE " + t + " SET status = 3, status_changed_at = ? WHERE telephone_number IN (?" + strings.Repeat(",?", removal.MaxBatchSize-1) + ") AND status = 2 RETURNING telephone_number"
				run(b, func(b *testing.B, batch []string) {
					tx, err := db.Begin()
					if err != nil {
						b.Fatal(err)
					}
					wantRows(b, len(batch), func() (*sql.Rows, error) {
						return tx.Query(q, append([]any{time.Now().UnixMicro()}, anys(batch)...)...)
					})
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("RawPreparedLoop", func(b *testing.B) {
				q := "UPDATE " + t + " SET status = 3, status_changed_at = ? WHERE telephone_number = ? AND status = 2"
				run(b, func(b *testing.B, batch []string) {
					tx, err := db.Begin()
					if err != nil {
						b.Fatal(err)
					}
					stmt, err := tx.Prepare(q)
					if err != nil {
						b.Fatal(err)
					}
					at := time.Now().UnixMicro()
					for _, n := range batch {
						if _, err := stmt.Exec(at, n); err != nil {
							b.Fatal(err)
						}
					}
					stmt.Close()
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func wantRows(b *testing.B, want int, query func() (*sql.Rows, error)) {
	rows, err := query()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	rows.Close()
	if n != want {
		b.Fatalf("%d rows, want %d", n, want)
	}
}

// BenchmarkSummary counts the removal statuses, globally and for one
// tenant, at 100,000 and 1,000,000 numbers: through the Service, and with
// the hand-written GROUP BY on the same partial index.
func BenchmarkSummary(b *testing.B) {
	for _, tg := range benchTargets {
		b.Run(tg.name, func(b *testing.B) {
			if tg.pg {
				pgtest.DSN(b)
			}
			for _, size := range []int{100_000, 1_000_000} {
				b.Run(fmt.Sprintf("n=%d", size), func(b *testing.B) {
					st := tg.open(b, size)
					svc := removal.NewService(st)
					db := st.DB().DB
					t := st.TableName()
					tnt := benchTenant(7)
					raw := "SELECT status, COUNT(*) FROM " + t + " WHERE status IN (2, 3) AND operator_connect GROUP BY status"
					rawT := st.DB().Rebind("SELECT status, COUNT(*) FROM " + t + " WHERE ms_tenant_id = ? AND status IN (2, 3) AND operator_connect GROUP BY status")
					for _, c := range []struct {
						name   string
						tenant string
						query  string
						args   []any
					}{{"Global", "", raw, nil}, {"Tenant", tnt, rawT, []any{tnt}}} {
						// Each sub-benchmark first warms the caches the previous
						// one may have filled for it.
						b.Run(c.name+"/Store", func(b *testing.B) {
							for range 20 {
								svc.Summary(context.Background(), c.tenant)
							}
							for b.Loop() {
								s, err := svc.Summary(context.Background(), c.tenant)
								if err != nil || s.TotalCount == 0 {
									b.Fatal(s, err)
								}
							}
						})
						b.Run(c.name+"/Raw", func(b *testing.B) {
							query := func() (*sql.Rows, error) { return db.Query(c.query, c.args...) }
							for range 20 {
								wantRows(b, 2, query)
							}
							for b.Loop() {
								rows, err := query()
								if err != nil {
									b.Fatal(err)
								}
								var st, n int
								for rows.Next() {
									rows.Scan(&st, &n)
								}
								rows.Close()
							}
						})
					}
				})
			}
		})
	}
}

// BenchmarkLoad1M loads 1,000,000 numbers into an empty table: with one
// Put, and with the fastest plain bulk load (COPY on PostgreSQL, one
// prepared INSERT in a loop in one transaction on SQLite).
func BenchmarkLoad1M(b *testing.B) {
	recs := benchRecords(1_000_000)
	for _, tg := range benchTargets {
		b.Run(tg.name, func(b *testing.B) {
			if tg.pg {
				pgtest.DSN(b)
			}
			b.Run("Store", func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					st := tg.loadTo(b)
					runtime.GC() // start both loads with the same heap
					b.StartTimer()
					if err := st.Put(context.Background(), recs...); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Raw", func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					st := tg.loadTo(b)
					runtime.GC()
					b.StartTimer()
					if tg.pg {
						rawCopy(b, st, recs)
					} else {
						rawInsertLoop(b, st, recs)
					}
				}
			})
		})
	}
}

func rawInsertLoop(b *testing.B, st *sqlstore.Store, recs []store.Number) {
	tx, err := st.DB().DB.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare("INSERT INTO " + st.TableName() + " (telephone_number, ms_tenant_id, operator_connect, status, status_changed_at) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if _, err := stmt.Exec(string(r.TelephoneNumber), r.MSTenantID, r.OperatorConnect, int(r.Status), r.StatusChangedAt.UnixMicro()); err != nil {
			b.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func rawCopy(b *testing.B, st *sqlstore.Store, recs []store.Number) {
	conn, err := st.DB().DB.Conn(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	name := strings.Split(strings.ReplaceAll(st.TableName(), `"`, ""), ".")
	err = conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().CopyFrom(context.Background(), pgx.Identifier(name),
			[]string{"telephone_number", "ms_tenant_id", "operator_connect", "status", "status_changed_at"},
			pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
				r := recs[i]
				return []any{string(r.TelephoneNumber), r.MSTenantID, r.OperatorConnect, int16(r.Status), r.StatusChangedAt}, nil
			}))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSuite runs the shared backend benchmarks of store/storetest.
func BenchmarkSuite(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			be.require(b)
			storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return be.open(b) })
		})
	}
}
