package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
)

// The PostgreSQL benchmarks run the store and the hand-written SQL that
// does the same work in one run, on the same table and pool. Their data
// sets are built once per process with INSERT … SELECT generate_series and
// dropped at its end (TestMain). The 10,000,000-number set is built only
// with OCNUMBERS_BENCH_10M=1.

// pgBenchEnv10M enables the 10M-row data set.
const pgBenchEnv10M = "OCNUMBERS_BENCH_10M"

// pgHot is the number with many events in every data set.
const pgHot = 5

// pgHotEvents is how many events pgHot has.
const pgHotEvents = 2000

// pgWarm is a number with pgWarmEvents events, a busy number's lifetime
// of changes: more than a page, far fewer than pgHot's.
const (
	pgWarm       = 6
	pgWarmEvents = 250
)

type pgBenchSet struct {
	st   *sqlstore.Store
	rows int
}

// pgBenchData returns the store on a data set of rows numbers (the
// statuses of benchStatus, 1,000 tenants, every 50th number not Operator
// Connect) with one import event per number, pgHotEvents more for
// number pgHot and pgWarmEvents for pgWarm, its counts filled in, vacuumed
// and analyzed, once per process.
func pgBenchData(b *testing.B, rows int) *pgBenchSet {
	if rows > 1_000_000 && os.Getenv(pgBenchEnv10M) == "" {
		b.Skipf("the %d-row data set is built only with %s=1", rows, pgBenchEnv10M)
	}
	st := pgCachedStore(b, fmt.Sprintf("set_%d", rows), func(st *sqlstore.Store) error {
		began := time.Now()
		h := st.HistoryTableName()
		tenantOf := `format('%s-0000-4000-8000-%s', lpad(to_hex(i / 100 % 1000), 8, '0'), lpad(to_hex(i / 100 % 1000), 12, '0'))`
		for _, q := range []string{
			`INSERT INTO ` + st.TableName() + ` SELECT '+1425' || lpad(i::text, 7, '0'), ` + tenantOf + `, i % 50 <> 49,
		CASE WHEN i % 100 < 5 THEN 2 WHEN i % 100 < 7 THEN 3 WHEN i % 100 = 99 THEN 1 ELSE 0 END, '2025-06-01'
		FROM generate_series(0, ` + strconv.Itoa(rows-1) + `) AS i`,
			`INSERT INTO ` + h + ` (telephone_number, ms_tenant_id, action, from_status, to_status, at)
		SELECT telephone_number, ms_tenant_id, 'import', NULL, status, '2025-06-01' FROM ` + st.TableName(),
			`INSERT INTO ` + h + ` (telephone_number, ms_tenant_id, action, from_status, to_status, at)
		SELECT '` + string(number(pgHot)) + `', '` + benchTenant(pgHot) + `', 'clearRemovalStatus', 2, 0, '2025-06-02'::timestamptz + i * interval '1 second'
		FROM generate_series(1, ` + strconv.Itoa(pgHotEvents) + `) AS i`,
			`INSERT INTO ` + h + ` (telephone_number, ms_tenant_id, action, from_status, to_status, at)
		SELECT '` + string(number(pgWarm)) + `', '` + benchTenant(pgWarm) + `', 'clearRemovalStatus', 2, 0, '2025-06-02'::timestamptz + i * interval '1 second'
		FROM generate_series(1, ` + strconv.Itoa(pgWarmEvents) + `) AS i`,
			`INSERT INTO ` + st.CountsTableName() + ` (ms_tenant_id, status, n) SELECT COALESCE(ms_tenant_id, ''), status, COUNT(*) FROM ` + st.TableName() + `
		WHERE operator_connect GROUP BY GROUPING SETS ((ms_tenant_id, status), (status))`,
			`VACUUM ANALYZE ` + st.TableName(),
			`VACUUM ANALYZE ` + h,
			`VACUUM ANALYZE ` + st.CountsTableName(),
		} {
			if _, err := st.DB().Exec(q); err != nil {
				return fmt.Errorf("%w\n%s", err, q)
			}
		}
		b.Logf("built the %d-row data set in %v", rows, time.Since(began).Round(time.Millisecond))
		return nil
	}, sqlstore.WithMaxOpenConns(32))
	return &pgBenchSet{st: st, rows: rows}
}

// BenchmarkPostgresBatch moves 500 MarkedForRemoval numbers of the 100k-
// and the 1M-row sets to ReadyForRemoval: through the Service and the store (as it runs,
// with history off, with counts off, with the counts of the other
// designs), and with hand-written SQL through the same pool: RawLocked is
// what a correct hand-written batch needs (one autocommit statement that
// locks the rows in number order, moves those in the From status and
// reports the old statuses), RawLockedHistory the same writing the events
// too, RawAny the bare UPDATE … = ANY($1) RETURNING.
// Every batch is used once; they are reset off the clock with plain SQL
// (which leaves the counts off by the resets: no benchmark reads them).
func BenchmarkPostgresBatch(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(rows), func(b *testing.B) { benchBatch(b, rows) })
	}
}

func benchBatch(b *testing.B, rows int) {
	set := pgBenchData(b, rows)
	st, db, t := set.st, set.st.DB().DB, set.st.TableName()
	batches := benchBatches(set.rows)
	reset := func(b *testing.B) {
		for _, batch := range batches {
			if _, err := db.Exec("UPDATE "+t+" SET status = 2 WHERE telephone_number = ANY($1)", batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	// The history grows by every batch a benchmark runs, and a batch's
	// cost grows with it (its events' index entries): each benchmark starts
	// from the data set's history, without the events of those before it.
	forget := func(b *testing.B) {
		for _, q := range []string{"DELETE FROM " + st.HistoryTableName() + " WHERE at > '2025-12-31'", "VACUUM " + st.HistoryTableName()} {
			if _, err := db.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
	}
	run := func(b *testing.B, move func(b *testing.B, batch []string)) {
		forget(b)
		reset(b)
		b.Cleanup(func() { reset(b) })
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
	svc := removal.NewService(st)
	// move is the store's batch, with the counts' mode and history given.
	move := func(mode int, history bool) func(b *testing.B, batch []string) {
		return func(b *testing.B, batch []string) {
			st.SetCounterMode(mode)
			st.SetHistory(history)
			defer st.SetCounterMode(sqlstore.CountInserts)
			defer st.SetHistory(true)
			res, err := svc.MarkReadyForRemoval(context.Background(), batch)
			if err != nil || res.SuccessCount != len(batch) {
				b.Fatalf("%d successes, %v", res.SuccessCount, err)
			}
		}
	}
	store := func(mode int, history bool) func(b *testing.B) {
		return func(b *testing.B) { run(b, move(mode, history)) }
	}
	b.Run("Store", store(sqlstore.CountInserts, true))
	b.Run("StoreNoHistory", store(sqlstore.CountInserts, false))
	b.Run("StoreNoCounts", store(sqlstore.CountOff, true))
	b.Run("StoreCountRows", store(sqlstore.CountRows, true))
	b.Run("StoreCountSlots", store(sqlstore.CountSlots, true))
	// raw moves a batch with a hand-written statement q of rawLockedSQL's
	// arguments.
	raw := func(q string) func(b *testing.B, batch []string) {
		return func(b *testing.B, batch []string) {
			wantRows(b, len(batch), func() (*sql.Rows, error) { return db.Query(q, batch, int16(3), time.Now(), []int16{2}) })
		}
	}
	b.Run("RawLocked", func(b *testing.B) { run(b, raw(rawLockedSQL(t))) })
	b.Run("RawLockedHistory", func(b *testing.B) { run(b, raw(rawLockedHistorySQL(t, st.HistoryTableName()))) })
	b.Run("RawAny", func(b *testing.B) {
		q := "UPDATE " + t + " SET status = 3, status_changed_at = $1 WHERE telephone_number = ANY($2) AND status = 2 RETURNING telephone_number"
		run(b, func(b *testing.B, batch []string) {
			wantRows(b, len(batch), func() (*sql.Rows, error) { return db.Query(q, time.Now(), batch) })
		})
	})
	// The store, without history, without counts, RawLocked and
	// RawLockedHistory in turn, in one loop, each on a batch of its own: the
	// ratios of their medians, with the machine's load falling on all of
	// them alike.
	b.Run("Paired", func(b *testing.B) {
		forget(b)
		pairedBatches(b, batches, reset,
			batchMove{"Store", move(sqlstore.CountInserts, true)},
			batchMove{"RawLocked", raw(rawLockedSQL(t))},
			batchMove{"RawLockedHistory", raw(rawLockedHistorySQL(t, st.HistoryTableName()))},
			batchMove{"StoreNoHistory", move(sqlstore.CountInserts, false)},
			batchMove{"StoreNoCounts", move(sqlstore.CountOff, true)})
	})
}

// rawLockedSQL is the hand-written batch: $1 the numbers, $2 the new
// status, $3 the time, $4 the From statuses. It returns one row per stored
// number: number, Operator Connect, old status, moved.
func rawLockedSQL(t string) string { return rawLockedStatement(t, "", "") }

// rawLockedHistorySQL is rawLockedSQL that also writes the moved numbers'
// events (action readyForRemoval, no trace id or actor) in the same
// statement, as one multi-row insert: the hand-written batch doing the
// store's work but for the counts.
func rawLockedHistorySQL(t, h string) string {
	return rawLockedStatement(t, ", t.ms_tenant_id, req.status AS old",
		", ev AS (INSERT INTO "+h+" (telephone_number, ms_tenant_id, action, from_status, to_status, at)"+
			" SELECT telephone_number, ms_tenant_id, 'readyForRemoval', old, $2, $3 FROM upd)")
}

// rawLockedStatement is the hand-written batch with more columns returned
// by its UPDATE (upd) and more CTEs after it.
func rawLockedStatement(t, updCols, more string) string {
	return "WITH req AS (SELECT telephone_number, operator_connect, status FROM " + t +
		" WHERE telephone_number = ANY($1) ORDER BY telephone_number FOR NO KEY UPDATE)," +
		" upd AS (UPDATE " + t + " AS t SET status = $2, status_changed_at = $3 FROM req" +
		" WHERE t.telephone_number = req.telephone_number AND req.operator_connect AND req.status = ANY($4)" +
		" RETURNING t.telephone_number" + updCols + ")" + more +
		" SELECT req.telephone_number, req.operator_connect, req.status, upd.telephone_number IS NOT NULL" +
		" FROM req LEFT JOIN upd ON upd.telephone_number = req.telephone_number"
}

// BenchmarkPostgresSummary reads the Summary, globally and for one tenant,
// at 100k, 1M and (with OCNUMBERS_BENCH_10M=1) 10M numbers, beside the
// hand-written GROUP BY over the rows.
func BenchmarkPostgresSummary(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000, 10_000_000} {
		b.Run(strconv.Itoa(rows), func(b *testing.B) {
			set := pgBenchData(b, rows)
			svc := removal.NewService(set.st)
			db, t := set.st.DB(), set.st.TableName()
			tn := benchTenant(12345)
			for _, tc := range []struct{ name, tenant string }{{"Global", ""}, {"Tenant", tn}} {
				b.Run(tc.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := svc.Summary(context.Background(), tc.tenant); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("RawGlobal", func(b *testing.B) {
				q := "SELECT status, COUNT(*) FROM " + t + " WHERE status IN (2, 3) AND operator_connect GROUP BY status"
				for b.Loop() {
					wantRows(b, 2, func() (*sql.Rows, error) { return db.Query(q) })
				}
			})
			b.Run("RawTenant", func(b *testing.B) {
				q := "SELECT status, COUNT(*) FROM " + t + " WHERE ms_tenant_id = $1 AND status IN (2, 3) AND operator_connect GROUP BY status"
				for b.Loop() {
					wantRows(b, 2, func() (*sql.Rows, error) { return db.Query(q, tn) })
				}
			})
		})
	}
}

// BenchmarkPostgresHistory reads the newest 200 events of a number among
// the set's events (1M, or 10M with OCNUMBERS_BENCH_10M=1), with their
// total, beside the hand-written page without a total: Store and Raw for
// pgHot (pgHotEvents+1 events), Warm and RawWarm for pgWarm
// (pgWarmEvents+1).
func BenchmarkPostgresHistory(b *testing.B) {
	for _, rows := range []int{1_000_000, 10_000_000} {
		b.Run(strconv.Itoa(rows), func(b *testing.B) {
			set := pgBenchData(b, rows)
			for _, c := range []struct {
				name, raw string
				n, events int
			}{{"Store", "Raw", pgHot, pgHotEvents + 1}, {"Warm", "RawWarm", pgWarm, pgWarmEvents + 1}} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						ev, total, err := set.st.History(context.Background(), number(c.n), 0, 200)
						if err != nil || len(ev) != 200 || total != c.events {
							b.Fatalf("%d events of %d, %v", len(ev), total, err)
						}
					}
				})
				b.Run(c.raw, func(b *testing.B) {
					q := "SELECT telephone_number, ms_tenant_id, action, from_status, to_status, at, trace_id, actor FROM " + set.st.HistoryTableName() +
						" WHERE telephone_number = $1 ORDER BY at DESC, id DESC LIMIT 200"
					for b.Loop() {
						if n := scanRows(b, set.st.DB().DB, q, 8, string(number(c.n))); n != 200 {
							b.Fatalf("%d rows", n)
						}
					}
				})
			}
		})
	}
}

// BenchmarkPostgresPrune deletes 1,000,000 old events from the 1M set's
// history (which keeps its 1M newer ones): PruneHistory beside two
// hand-written deletes on the same table, which has no index on at: one
// DELETE of them all (one transaction, the least work), and chunks of
// 10,000 (each `DELETE … WHERE ctid = ANY(ARRAY(SELECT ctid … WHERE at < $1
// LIMIT 10000))`, a transaction each, as PruneHistory bounds its own). The
// events are inserted anew off the clock before every operation.
func BenchmarkPostgresPrune(b *testing.B) {
	set := pgBenchData(b, 1_000_000)
	h, db := set.st.HistoryTableName(), set.st.DB()
	const old = 1_000_000
	fill := func(b *testing.B) {
		b.StopTimer()
		if _, err := db.Exec(`INSERT INTO ` + h + ` (telephone_number, ms_tenant_id, action, from_status, to_status, at)
			SELECT '+1425' || lpad(i::text, 7, '0'), '` + tenant + `', 'clearRemovalStatus', 2, 0, '2000-01-01'::timestamptz + i * interval '1 microsecond'
			FROM generate_series(0, ` + strconv.Itoa(old-1) + `) AS i`); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec("VACUUM ANALYZE " + h); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	before := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Run("Store", func(b *testing.B) {
		for b.Loop() {
			fill(b)
			if k, err := set.st.PruneHistory(context.Background(), before); err != nil || k != old {
				b.Fatalf("pruned %d, %v", k, err)
			}
		}
	})
	raw := func(q string, chunk int64) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				fill(b)
				total := int64(0)
				for {
					res, err := db.Exec(q, before)
					if err != nil {
						b.Fatal(err)
					}
					k, _ := res.RowsAffected()
					total += k
					if k < chunk {
						break
					}
				}
				if total != old {
					b.Fatalf("deleted %d", total)
				}
			}
		}
	}
	b.Run("RawOneDelete", raw("DELETE FROM "+h+" WHERE at < $1", old+1))
	b.Run("RawChunked", raw("DELETE FROM "+h+" WHERE ctid = ANY(ARRAY(SELECT ctid FROM "+h+" WHERE at < $1 LIMIT 10000))", 10000))
}

// BenchmarkPostgresList reads 200-number pages of the 1M-row set: by After
// at the start and at the end, by page number at page 1,000, and of two
// statuses merged, beside the hand-written keyset and OFFSET queries.
func BenchmarkPostgresList(b *testing.B) {
	set := pgBenchData(b, 1_000_000)
	st, db, t := set.st, set.st.DB(), set.st.TableName()
	// The OC numbers are 49 in 50: the last page by After starts 200 OC
	// numbers before the end.
	last := number(set.rows - 205)
	page := func(q removal.NumberQuery) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				got, err := st.ListNumbers(context.Background(), q)
				if err != nil || len(got) < 190 {
					b.Fatalf("%d numbers, %v", len(got), err)
				}
			}
		}
	}
	raw := func(q string, args ...any) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				if n := scanRows(b, db.DB, q, 5, args...); n < 190 {
					b.Fatalf("%d rows", n)
				}
			}
		}
	}
	keyset := "SELECT " + "telephone_number, ms_tenant_id, operator_connect, status, status_changed_at" + " FROM " + t +
		" WHERE operator_connect AND telephone_number > $1 ORDER BY telephone_number LIMIT 200"
	offset := "SELECT telephone_number, ms_tenant_id, operator_connect, status, status_changed_at FROM " + t +
		" WHERE operator_connect ORDER BY telephone_number LIMIT 200 OFFSET $1"
	b.Run("AfterFirst", page(removal.NumberQuery{After: number(0), Limit: 200}))
	b.Run("RawKeysetFirst", raw(keyset, string(number(0))))
	b.Run("AfterLast", page(removal.NumberQuery{After: last, Limit: 200}))
	b.Run("RawKeysetLast", raw(keyset, string(last)))
	b.Run("Page1000", page(removal.NumberQuery{Offset: 999 * 200, Limit: 200}))
	b.Run("RawOffset1000", raw(offset, 999*200))
	b.Run("TwoStatuses", page(removal.NumberQuery{Statuses: []removal.NumberStatus{2, 3}, After: number(500_000), Limit: 200}))
	b.Run("TenantTwoStatuses", func(b *testing.B) {
		q := removal.NumberQuery{MSTenantID: benchTenant(12345), Statuses: []removal.NumberStatus{2, 3}, Limit: 200}
		for b.Loop() {
			if _, err := st.ListNumbers(context.Background(), q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// scanRows runs a query and scans each row's cols columns into Go values,
// as a hand-written reader would, and returns the number of rows.
func scanRows(b *testing.B, db *sql.DB, q string, cols int, args ...any) int {
	rows, err := db.Query(q, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	vals := make([]any, cols)
	for i := range vals {
		vals[i] = new(any)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkPostgresAllow measures the limiter: the admitting path (a 1 µs
// window: every request is admitted) and the refusing one (300 in an
// hour, full). It reports the median.
func BenchmarkPostgresAllow(b *testing.B) {
	set := pgBenchData(b, 100_000)
	for _, tc := range []struct {
		name   string
		window time.Duration
		want   bool
	}{{"Admit", time.Microsecond, true}, {"Refuse", time.Hour, false}} {
		b.Run(tc.name, func(b *testing.B) {
			name := "bench-" + tc.name
			if !tc.want {
				for range 300 {
					set.st.Allow(context.Background(), name, 300, tc.window)
				}
			}
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				ok, _, err := set.st.Allow(context.Background(), name, 300, tc.window)
				lat = append(lat, time.Since(t0))
				if err != nil || ok != tc.want {
					b.Fatalf("%v, %v", ok, err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "µs-median")
		})
	}
}

// BenchmarkPostgresConcurrent runs N goroutines (1, 8, 32) of batches of
// 1 to 8 numbers of random actions on 20,000 shared numbers (of one tenant
// or three), through the Service and the store with a pool of N, beside
// the same goroutines sending the hand-written statement (rawLockedSQL)
// through a pgx pool of N. It reports requests per second and the 99th
// percentile latency; at 32 goroutines also for the counts' other designs.
func BenchmarkPostgresConcurrent(b *testing.B) {
	admin, dsn := pgtest.Admin(b)
	set := pgBenchData(b, 100_000) // for its cleanup only
	_ = set
	const shared = 20_000
	for _, tenants := range []int{1, 3} {
		schema := fmt.Sprintf("ocn_pgbench_conc%d_%d", tenants, os.Getpid())
		benchMu.Lock()
		admin.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
		benchSchema = append(benchSchema, schema)
		benchMu.Unlock()
		base, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema))
		if err != nil {
			b.Fatal(err)
		}
		recs := slices.Clone(benchRecords(shared))
		for i := range recs {
			recs[i].MSTenantID = benchTenant(i % tenants * 100)
			recs[i].OperatorConnect = true
		}
		if err := base.Put(context.Background(), recs...); err != nil {
			b.Fatal(err)
		}
		base.DB().Exec("VACUUM ANALYZE " + base.TableName())
		t := base.TableName()
		base.Close()
		for _, conc := range []int{1, 8, 32} {
			type variant struct {
				name    string
				mode    int
				history bool
			}
			variants := []variant{{"Store", sqlstore.CountInserts, true}}
			if conc == 32 {
				variants = append(variants, variant{"StoreCountRows", sqlstore.CountRows, true}, variant{"StoreCountSlots", sqlstore.CountSlots, true},
					variant{"StoreNoCounts", sqlstore.CountOff, true}, variant{"StoreNoHistory", sqlstore.CountInserts, false})
			}
			for _, v := range variants {
				b.Run(fmt.Sprintf("Tenants%d/Conc%d/%s", tenants, conc, v.name), func(b *testing.B) {
					st, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema), sqlstore.WithMaxOpenConns(conc))
					if err != nil {
						b.Fatal(err)
					}
					defer st.Close()
					st.SetCounterMode(v.mode)
					st.SetHistory(v.history)
					svc := removal.NewService(st)
					calls := []func(*removal.Service, context.Context, []string) (removal.BatchResult, error){
						(*removal.Service).MarkForRemoval, (*removal.Service).ClearRemovalStatus,
						(*removal.Service).RequestRelease, (*removal.Service).WithdrawReleaseRequest,
					}
					concurrent(b, conc, shared, func(r *mathrand.Rand, batch []string) error {
						_, err := calls[r.IntN(len(calls))](svc, context.Background(), batch)
						return err
					})
					st.WaitFolds()
				})
			}
			b.Run(fmt.Sprintf("Tenants%d/Conc%d/Baseline", tenants, conc), func(b *testing.B) {
				cfg, err := pgxpool.ParseConfig(dsn)
				if err != nil {
					b.Fatal(err)
				}
				cfg.MaxConns = int32(conc)
				pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer pool.Close()
				q := rawLockedSQL(t)
				moves := []struct {
					to   int16
					from []int16
				}{{2, []int16{0, 1}}, {0, []int16{2}}, {1, []int16{0}}, {0, []int16{1}}}
				concurrent(b, conc, shared, func(r *mathrand.Rand, batch []string) error {
					m := moves[r.IntN(len(moves))]
					rows, err := pool.Query(context.Background(), q, batch, m.to, time.Now(), m.from)
					if err != nil {
						return err
					}
					for rows.Next() {
					}
					rows.Close()
					return rows.Err()
				})
			})
		}
	}
}

// concurrent runs b.N calls of op on conc goroutines, each with a batch of
// 1 to 8 of the first shared numbers, and reports requests per second and
// the 99th percentile latency in milliseconds.
func concurrent(b *testing.B, conc, shared int, op func(r *mathrand.Rand, batch []string) error) {
	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	began := time.Now()
	for g := range conc {
		wg.Go(func() {
			r := mathrand.New(mathrand.NewPCG(uint64(g), uint64(b.N)))
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				batch := make([]string, 0, 8)
				for n := 1 + r.IntN(8); len(batch) < n; {
					if s := string(number(r.IntN(shared))); !slices.Contains(batch, s) {
						batch = append(batch, s)
					}
				}
				t0 := time.Now()
				if err := op(r, batch); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
