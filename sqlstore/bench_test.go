package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
// by hand, in the same run, on the same table and pool. Their data sets
// (100,000 and 1,000,000 numbers, and 10,000,000 with
// OCNUMBERS_BENCH_10M=1: 5% MarkedForRemoval, 2% ReadyForRemoval, 1,000
// tenants; history tables of 1,000 events per number) are built once:
// SQLite files are cached in os.TempDir across runs, written by INSERT …
// SELECT from a recursive CTE; PostgreSQL schemas live for one process
// (dropped by TestMain).

// bench10M tells whether the 10,000,000-row cases run.
var bench10M = os.Getenv("OCNUMBERS_BENCH_10M") != ""

// benchSQLiteOptions are the options of the SQLite benchmark stores:
// OCNUMBERS_BENCH_SYNC=NORMAL opens them with WithSynchronous("NORMAL"),
// to see the cost of the work apart from the disk's.
func benchSQLiteOptions() []sqlstore.Option {
	if v := os.Getenv("OCNUMBERS_BENCH_SYNC"); v != "" {
		return []sqlstore.Option{sqlstore.WithSynchronous(v)}
	}
	return nil
}

// benchSizes are the data set sizes of the scaling benchmarks.
func benchSizes() []int {
	if bench10M {
		return []int{100_000, 1_000_000, 10_000_000}
	}
	return []int{100_000, 1_000_000}
}

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

// benchFileVersion names the cached SQLite files: change it when the
// schema or the data sets change.
const benchFileVersion = "v4"

func sqliteBenchStore(b *testing.B, size int) *sqlstore.Store {
	return cachedSQLite(b, fmt.Sprintf("sqlite-%d", size), func(st *sqlstore.Store) error { return fillNumbers(st, size) })
}

// cachedSQLite opens the cached SQLite file of key, first building it with
// fill on a new store when it does not exist. The store stays open for the
// process.
func cachedSQLite(b *testing.B, key string, fill func(st *sqlstore.Store) error) *sqlstore.Store {
	benchMu.Lock()
	defer benchMu.Unlock()
	if st, ok := benchStores[key]; ok {
		return st
	}
	path := filepath.Join(os.TempDir(), "ocnumbers-sqlstore-bench-"+benchFileVersion+"-"+key+".db")
	if _, err := os.Stat(path); err != nil {
		b.Logf("building %s", path)
		tmp := path + ".building"
		for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
			os.Remove(f)
		}
		st, err := sqlstore.Open(context.Background(), "sqlite3", tmp)
		if err != nil {
			b.Fatal(err)
		}
		if err := fill(st); err != nil {
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
	st, err := sqlstore.Open(context.Background(), "sqlite3", path, benchSQLiteOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	// Left by a run that was killed (see summaryIndex).
	if _, err := st.DB().Exec("DROP INDEX IF EXISTS bench_summary_idx"); err != nil {
		b.Fatal(err)
	}
	benchStores[key] = st
	return st
}

// withoutIndexes runs fill with the secondary indexes of table dropped,
// and creates them again after: building an index from sorted rows is
// much faster than keeping it up to date row by row.
func withoutIndexes(st *sqlstore.Store, table string, fill func() error) error {
	var defs []struct{ Name, SQL string }
	if err := st.DB().Select(&defs, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
		strings.Trim(table, `"`)); err != nil {
		return err
	}
	for _, d := range defs {
		if _, err := st.DB().Exec(`DROP INDEX "` + d.Name + `"`); err != nil {
			return err
		}
	}
	if err := fill(); err != nil {
		return err
	}
	for _, d := range defs {
		if _, err := st.DB().Exec(d.SQL); err != nil {
			return err
		}
	}
	return nil
}

// benchNumbersSQL writes the rows of benchRecords(?) (the same numbers,
// tenants, flags and statuses; status_changed_at is benchAt).
const benchNumbersSQL = `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ? - 1)
INSERT INTO %s (telephone_number, ms_tenant_id, operator_connect, status, status_changed_at)
SELECT printf('+1425%%07d', i), printf('%%08x-0000-4000-8000-%%012x', i / 100 %% 1000, i / 100 %% 1000), i %% 50 <> 49,
  CASE WHEN i %% 100 < 5 THEN 2 WHEN i %% 100 < 7 THEN 3 WHEN i %% 100 = 99 THEN 1 ELSE 0 END, ? FROM c`

// fillNumbers writes the data set of size numbers and its counters.
func fillNumbers(st *sqlstore.Store, size int) error {
	err := withoutIndexes(st, st.TableName(), func() error {
		_, err := st.DB().Exec(fmt.Sprintf(benchNumbersSQL, st.TableName()), size, benchAt.UnixMicro())
		return err
	})
	if err != nil {
		return err
	}
	return recount(st)
}

// recount sets the SQLite counters to a count of the rows, as the
// migration that added them does: for benchmarks that change rows behind
// the store's back.
func recount(st *sqlstore.Store) error {
	c := st.CountsTableName()
	_, err := st.DB().Exec("DELETE FROM " + c + "; INSERT INTO " + c + " (status, ms_tenant_id, n) SELECT status, ms_tenant_id, COUNT(*) FROM " +
		st.TableName() + " WHERE operator_connect GROUP BY ms_tenant_id, status; INSERT INTO " + c + " (status, ms_tenant_id, n) SELECT status, '', COUNT(*) FROM " +
		st.TableName() + " WHERE operator_connect GROUP BY status")
	return err
}

// benchEventsPerNumber is how many events each number of a history data
// set has.
const benchEventsPerNumber = 1000

// benchHistorySQL writes ? events, benchEventsPerNumber (1,000) per number, the
// i-th at benchAt + i µs, so that older events have smaller ids.
const benchHistorySQL = `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ? - 1)
INSERT INTO %s (telephone_number, ms_tenant_id, action, from_status, to_status, at)
SELECT printf('+1425%%07d', i / 1000), '00000001-0000-4000-8000-000000000001', 'readyForRemoval', 2, 3, ? + i FROM c`

// historyBenchStore is a store whose history holds events events (and
// whose numbers table is empty).
func historyBenchStore(b *testing.B, events int) *sqlstore.Store {
	return cachedSQLite(b, fmt.Sprintf("history-%d", events), func(st *sqlstore.Store) error { return fillHistory(st, events) })
}

// fillHistory writes the events of a history data set.
func fillHistory(st *sqlstore.Store, events int) error {
	return withoutIndexes(st, st.HistoryTableName(), func() error {
		_, err := st.DB().Exec(fmt.Sprintf(benchHistorySQL, st.HistoryTableName()), events, benchAt.UnixMicro())
		return err
	})
}

func pgBenchStore(b *testing.B, size int) *sqlstore.Store {
	return pgCachedStore(b, fmt.Sprintf("%d", size), func(st *sqlstore.Store) error {
		if err := st.Put(context.Background(), benchRecords(size)...); err != nil {
			return err
		}
		_, err := st.DB().Exec("VACUUM ANALYZE " + st.TableName())
		return err
	})
}

// pgCachedStore returns this process's store of the data set named key,
// in a schema of its own (dropped by TestMain), filled by fill the first
// time.
func pgCachedStore(b *testing.B, key string, fill func(st *sqlstore.Store) error, opts ...sqlstore.Option) *sqlstore.Store {
	admin, dsn := pgtest.Admin(b)
	benchMu.Lock()
	defer benchMu.Unlock()
	if st, ok := benchStores["pg-"+key]; ok {
		return st
	}
	schema := fmt.Sprintf("ocn_bench_%s_%d", key, os.Getpid())
	admin.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
	benchSchema = append(benchSchema, schema)
	benchAdmin = admin
	st, err := sqlstore.Open(context.Background(), "pgx", dsn, append([]sqlstore.Option{sqlstore.WithSchema(schema)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	benchStores["pg-"+key] = st // closed by TestMain
	if err := fill(st); err != nil {
		b.Fatalf("building the data set %s: %v", key, err)
	}
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
// store (on SQLite also with the history or the counters switched off),
// and with hand-written SQL doing the same compare-and-set. Every batch is
// used once; when all have been, they are reset off the clock, with the
// counters, and the history the run wrote is deleted at its end.
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
				if !tg.pg {
					if err := recount(st); err != nil {
						b.Fatal(err)
					}
				}
			}
			run := func(b *testing.B, move func(b *testing.B, batch []string)) {
				reset(b)
				b.Cleanup(func() { // the data set is shared with other benchmarks
					reset(b)
					if _, err := db.Exec("DELETE FROM " + st.HistoryTableName() + " WHERE action <> 'import'"); err != nil {
						b.Fatal(err)
					}
				})
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
			storeMove := func(noHistory, noCounts bool) func(b *testing.B, batch []string) {
				svc := removal.NewService(st)
				return func(b *testing.B, batch []string) {
					if !tg.pg {
						st.SetBenchSwitches(noHistory, noCounts)
						defer st.SetBenchSwitches(false, false)
					}
					res, err := svc.MarkReadyForRemoval(context.Background(), batch)
					if err != nil || res.SuccessCount != len(batch) {
						b.Fatalf("%d successes, %v", res.SuccessCount, err)
					}
				}
			}
			b.Run("Store", func(b *testing.B) { run(b, storeMove(false, false)) })
			if tg.pg {
				// One statement over an array: the fastest hand-written form.
				q := "UPDATE " + t + " SET status = 3, status_changed_at = $1 WHERE telephone_number = ANY($2) AND status = 2 RETURNING telephone_number"
				b.Run("RawAnyArray", func(b *testing.B) {
					run(b, func(b *testing.B, batch []string) {
						wantRows(b, len(batch), func() (*sql.Rows, error) { return db.Query(q, time.Now(), batch) })
					})
				})
				b.Run("RawAnyArrayTx", func(b *testing.B) {
					run(b, func(b *testing.B, batch []string) {
						tx, _ := db.Begin()
						wantRows(b, len(batch), func() (*sql.Rows, error) { return tx.Query(q, time.Now(), batch) })
						tx.Commit()
					})
				})
				return
			}
			inList := "UPDATE " + t + " SET status = 3, status_changed_at = ? WHERE telephone_number IN (?" + strings.Repeat(",?", removal.MaxBatchSize-1) + ") AND status = 2 AND operator_connect RETURNING telephone_number"
			rawINList := func(b *testing.B, batch []string) {
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				wantRows(b, len(batch), func() (*sql.Rows, error) {
					return tx.Query(inList, append([]any{time.Now().UnixMicro()}, anys(batch)...)...)
				})
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			// The compare-and-set by hand: a conditional UPDATE per number,
			// and a read of the row when it misses, to classify it. It needs
			// no tenant (it writes no history or counters), so it does not
			// read the rows it moves. With history it then writes the moved
			// numbers' events as the store does: one multi-row INSERT …
			// SELECT that reads each moved row's tenant (the UPDATEs do not
			// return it).
			update := "UPDATE " + t + " SET status = 3, status_changed_at = ? WHERE telephone_number = ? AND status = 2 AND operator_connect"
			miss := "SELECT operator_connect, status FROM " + t + " WHERE telephone_number = ?"
			events := "INSERT INTO " + st.HistoryTableName() + " (telephone_number, ms_tenant_id, action, from_status, to_status, at)" +
				" SELECT telephone_number, ms_tenant_id, 'readyForRemoval', 2, 3, ? FROM " + t + " WHERE telephone_number IN (?"
			preparedLoop := func(history bool) func(b *testing.B, batch []string) {
				return func(b *testing.B, batch []string) {
					tx, err := db.Begin()
					if err != nil {
						b.Fatal(err)
					}
					stmt, err := tx.Prepare(update)
					if err != nil {
						b.Fatal(err)
					}
					read, err := tx.Prepare(miss)
					if err != nil {
						b.Fatal(err)
					}
					at := time.Now().UnixMicro()
					moved := []any{at}
					for _, n := range batch {
						res, err := stmt.Exec(at, n)
						if err != nil {
							b.Fatal(err)
						}
						if k, _ := res.RowsAffected(); k == 1 {
							if history {
								moved = append(moved, n)
							}
						} else {
							var oc bool
							var st int
							if err := read.QueryRow(n).Scan(&oc, &st); err != nil && !errors.Is(err, sql.ErrNoRows) {
								b.Fatal(err)
							}
						}
					}
					stmt.Close()
					read.Close()
					if k := len(moved) - 1; k > 0 {
						res, err := tx.Exec(events+strings.Repeat(",?", k-1)+")", moved...)
						if err != nil {
							b.Fatal(err)
						}
						if n, _ := res.RowsAffected(); n != int64(k) {
							b.Fatalf("%d events for %d moved numbers", n, k)
						}
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			}
			rawPreparedLoop, rawPreparedLoopHistory := preparedLoop(false), preparedLoop(true)
			b.Run("StoreNoHistory", func(b *testing.B) { run(b, storeMove(true, false)) })
			b.Run("StoreNoCounts", func(b *testing.B) { run(b, storeMove(false, true)) })
			b.Run("RawINList", func(b *testing.B) { run(b, rawINList) })
			b.Run("RawPreparedLoop", func(b *testing.B) { run(b, rawPreparedLoop) })
			b.Run("RawPreparedLoopHistory", func(b *testing.B) { run(b, rawPreparedLoopHistory) })
			// All of them in turn, in one loop: the ratios of their medians;
			// each call ends with its own WAL checkpoint, on the clock (see
			// walCheckpoint).
			checkpointed := func(move func(b *testing.B, batch []string)) func(b *testing.B, batch []string) {
				return func(b *testing.B, batch []string) {
					move(b, batch)
					walCheckpoint(b, db)
				}
			}
			b.Run("Paired", func(b *testing.B) {
				b.Cleanup(func() {
					db.Exec("DELETE FROM " + st.HistoryTableName() + " WHERE action <> 'import'")
				})
				pairedBatches(b, batches, reset,
					batchMove{"Store", checkpointed(storeMove(false, false))},
					batchMove{"RawPreparedLoop", checkpointed(rawPreparedLoop)},
					batchMove{"RawINList", checkpointed(rawINList)},
					batchMove{"RawPreparedLoopHistory", checkpointed(rawPreparedLoopHistory)},
					batchMove{"StoreNoHistory", checkpointed(storeMove(true, false))},
					batchMove{"StoreNoCounts", checkpointed(storeMove(false, true))})
			})
		})
	}
}

// walCheckpoint copies every page of a SQLite store's WAL back to its
// database file (a passive checkpoint, as SQLite's automatic one), so that
// a paired variant that wrote pages pays for them itself: left to the
// automatic checkpoint, they are written back in whichever commit takes the
// WAL past its bound, often another variant's.
func walCheckpoint(b *testing.B, db *sql.DB) {
	var busy, frames, done int
	if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil || busy != 0 || done != frames {
		b.Fatalf("checkpoint: busy %d, %d of %d frames, %v", busy, done, frames, err)
	}
}

// batchMove is one way of moving a batch, for pairedBatches.
type batchMove struct {
	name string
	move func(b *testing.B, batch []string)
}

// pairedBatches runs the moves as the variants of paired, each on the next
// of batches, resetting them all (off the clock) when too few are left for
// a round, and once more at the end.
func pairedBatches(b *testing.B, batches [][]string, reset func(*testing.B), moves ...batchMove) {
	if len(batches) < len(moves) {
		b.Fatalf("%d batches for %d variants", len(batches), len(moves))
	}
	reset(b)
	b.Cleanup(func() { reset(b) })
	next := 0
	var vs []variant
	for _, m := range moves {
		vs = append(vs, variant{m.name, func(b *testing.B) { m.move(b, batches[next]); next++ }})
	}
	paired(b, func() {
		if next+len(vs) > len(batches) {
			reset(b)
			next = 0
		}
	}, vs...)
}

// variant is one way of doing the work of a paired benchmark.
type variant struct {
	name string
	run  func(b *testing.B)
}

// paired runs the variants in turn, each once per iteration in an order
// that rotates, so that the load of a shared machine falls on all of them
// alike, and reports each one's median time per call (name-ns) and the
// ratio of the first one's median to each other's (first/name). before,
// if not nil, runs at the start of each iteration, off the clock.
func paired(b *testing.B, before func(), vs ...variant) {
	pairedAfter(b, before, nil, vs...)
}

// pairedAfter is paired with after, if not nil, run off the clock after
// each call of variant j; it returns the medians in nanoseconds by name.
func pairedAfter(b *testing.B, before func(), after func(j int), vs ...variant) map[string]float64 {
	took := make([][]time.Duration, len(vs))
	i := 0
	for b.Loop() {
		if before != nil {
			b.StopTimer()
			before()
			b.StartTimer()
		}
		for k := range vs {
			j := (i + k) % len(vs)
			start := time.Now()
			vs[j].run(b)
			took[j] = append(took[j], time.Since(start))
			if after != nil {
				b.StopTimer()
				after(j)
				b.StartTimer()
			}
		}
		i++
	}
	med := map[string]float64{}
	for j, v := range vs {
		slices.Sort(took[j])
		med[v.name] = float64(took[j][len(took[j])/2])
		b.ReportMetric(med[v.name], v.name+"-ns")
	}
	for j := 1; j < len(vs); j++ {
		b.ReportMetric(med[vs[0].name]/med[vs[j].name], vs[0].name+"/"+vs[j].name)
	}
	return med
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
// tenant, at each data set size: through the Service, and with the
// hand-written GROUP BY on the same rows (on SQLite, from the covering
// partial index (status, number) of the Operator Connect numbers).
func BenchmarkSummary(b *testing.B) {
	for _, tg := range benchTargets {
		b.Run(tg.name, func(b *testing.B) {
			if tg.pg {
				pgtest.DSN(b)
			}
			for _, size := range benchSizes() {
				b.Run(fmt.Sprintf("n=%d", size), func(b *testing.B) {
					if tg.pg && size > 1_000_000 {
						b.Skip("10M rows: SQLite only")
					}
					st := tg.open(b, size)
					svc := removal.NewService(st)
					db := st.DB().DB
					t := st.TableName()
					tnt := benchTenant(7)
					from := t
					if !tg.pg {
						// The best a GROUP BY can do: a covering index of the rows it
						// counts (the store's own before it kept counters), built
						// for the raw statements only.
						from = summaryIndex(b, st)
					}
					raw := "SELECT status, COUNT(*) FROM " + from + " WHERE status IN (2, 3) AND operator_connect GROUP BY status"
					rawT := st.DB().Rebind("SELECT status, COUNT(*) FROM " + from + " WHERE ms_tenant_id = ? AND status IN (2, 3) AND operator_connect GROUP BY status")
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
						raw := func(b *testing.B) {
							rows, err := db.Query(c.query, c.args...)
							if err != nil {
								b.Fatal(err)
							}
							var st, n int
							for rows.Next() {
								rows.Scan(&st, &n)
							}
							rows.Close()
						}
						b.Run(c.name+"/Raw", func(b *testing.B) {
							for range 3 {
								raw(b)
							}
							for b.Loop() {
								raw(b)
							}
						})
						if !tg.pg {
							b.Run(c.name+"/Paired", func(b *testing.B) {
								paired(b, nil, variant{"Store", func(b *testing.B) {
									if _, err := svc.Summary(context.Background(), c.tenant); err != nil {
										b.Fatal(err)
									}
								}}, variant{"Raw", raw})
							})
						}
					}
				})
			}
		})
	}
}

// BenchmarkSummaryScaling runs Summary on each SQLite data set in turn
// (paired), the largest first, so that the ratios of the medians say how
// the cost grows with the number of rows.
func BenchmarkSummaryScaling(b *testing.B) {
	requireSQLite(b)
	sizes := benchSizes()
	for _, c := range []struct{ name, tenant string }{{"Global", ""}, {"Tenant", benchTenant(7)}} {
		b.Run(c.name, func(b *testing.B) {
			var vs []variant
			for k := len(sizes) - 1; k >= 0; k-- {
				svc := removal.NewService(sqliteBenchStore(b, sizes[k]))
				vs = append(vs, variant{fmt.Sprintf("n=%d", sizes[k]), func(b *testing.B) {
					if s, err := svc.Summary(context.Background(), c.tenant); err != nil || s.TotalCount == 0 {
						b.Fatal(s, err)
					}
				}})
			}
			paired(b, nil, vs...)
		})
	}
}

// summaryIndex creates, until the benchmark ends, a partial covering index
// of the rows Summary counts on a SQLite store, and returns the table named
// with it (INDEXED BY).
func summaryIndex(b *testing.B, st *sqlstore.Store) string {
	if _, err := st.DB().Exec("CREATE INDEX IF NOT EXISTS bench_summary_idx ON " + st.TableName() +
		" (status, ms_tenant_id, operator_connect) WHERE status IN (2, 3) AND operator_connect"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.DB().Exec("DROP INDEX IF EXISTS bench_summary_idx") })
	return st.TableName() + " INDEXED BY bench_summary_idx"
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
