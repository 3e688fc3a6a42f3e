package sqlstore_test

import (
	"context"
	"flag"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// The jobs benchmarks (Reconcile and Purge) run on a data set of their
// own, built once like the others (a cached SQLite file in os.TempDir, a
// PostgreSQL schema per process dropped by TestMain): the 100,000 numbers
// of the 100k data set (1,000 tenants of 100, see benchRecords), one
// tenant (reconTenant) of size Operator Connect numbers (100,000, or
// 1,000,000 for BenchmarkReconcile1M), numbered +1426…, with the statuses
// of benchStatus, and 10,000 ReadyForRemoval Operator Connect numbers,
// numbered +1427…, of 100 tenants of their own, last changed at purgeAt,
// long before everything else. Its history table starts empty.

// reconTenant is the tenant Reconcile compares.
const reconTenant = "00010000-0000-4000-8000-000000010000"

// reconNumber is the i-th number of reconTenant.
func reconNumber(i int) string { return fmt.Sprintf("+1426%07d", i) }

// reconMissing tells whether the i-th number of reconTenant is missing
// from the acquired list: 1 in 100, all Active (benchStatus).
func reconMissing(i int) bool { return i%100 == 50 }

// purgeSize is how many numbers Purge deletes.
const purgeSize = 10_000

// purgeAt is when the numbers to purge became ReadyForRemoval;
// purgeCutoff is between it and every other number's change (benchAt).
var (
	purgeAt     = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	purgeCutoff = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// purgeTenant is the tenant of the i-th number to purge: 100 tenants of
// 100, none of benchTenant's.
func purgeTenant(i int) string {
	t := 2000 + i/100
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", t, t)
}

// purgeRecords are the numbers to purge, as the data set holds them.
func purgeRecords() []store.Number {
	r := make([]store.Number, purgeSize)
	for i := range r {
		r[i] = store.Number{TelephoneNumber: e164.Number(fmt.Sprintf("+1427%07d", i)), MSTenantID: purgeTenant(i),
			OperatorConnect: true, Status: removal.ReadyForRemoval, StatusChangedAt: purgeAt}
	}
	return r
}

// purgeTenants are the tenants of purgeRecords.
func purgeTenants() []string {
	var ts []string
	for i := 0; i < purgeSize; i += 100 {
		ts = append(ts, purgeTenant(i))
	}
	return ts
}

// The SQLite statements that write the jobs data set (%s the table):
// reconTenant's numbers (? its size, the tenant, the time) and the
// numbers to purge (? the time).
const (
	sqliteReconSQL = `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ? - 1)
INSERT INTO %s (telephone_number, ms_tenant_id, operator_connect, status, status_changed_at)
SELECT printf('+1426%%07d', i), ?, 1,
  CASE WHEN i %% 100 < 5 THEN 2 WHEN i %% 100 < 7 THEN 3 WHEN i %% 100 = 99 THEN 1 ELSE 0 END, ? FROM c`
	sqlitePurgeSQL = `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 10000 - 1)
INSERT INTO %s (telephone_number, ms_tenant_id, operator_connect, status, status_changed_at)
SELECT printf('+1427%%07d', i), printf('%%08x-0000-4000-8000-%%012x', 2000 + i / 100, 2000 + i / 100), 1, 3, ? FROM c`
)

// The PostgreSQL statements of the same rows (%s the table; %d the size
// of reconTenant).
const (
	pgOthersSQL = `INSERT INTO %s SELECT '+1425' || lpad(i::text, 7, '0'),
  format('%%s-0000-4000-8000-%%s', lpad(to_hex(i / 100 %% 1000), 8, '0'), lpad(to_hex(i / 100 %% 1000), 12, '0')), i %% 50 <> 49,
  CASE WHEN i %% 100 < 5 THEN 2 WHEN i %% 100 < 7 THEN 3 WHEN i %% 100 = 99 THEN 1 ELSE 0 END, '2025-06-01'
  FROM generate_series(0, 100000 - 1) AS i`
	pgReconSQL = `INSERT INTO %s SELECT '+1426' || lpad(i::text, 7, '0'), '` + reconTenant + `', true,
  CASE WHEN i %% 100 < 5 THEN 2 WHEN i %% 100 < 7 THEN 3 WHEN i %% 100 = 99 THEN 1 ELSE 0 END, '2025-06-01'
  FROM generate_series(0, %d - 1) AS i`
	pgPurgeSQL = `INSERT INTO %s SELECT '+1427' || lpad(i::text, 7, '0'),
  format('%%s-0000-4000-8000-%%s', lpad(to_hex(2000 + i / 100), 8, '0'), lpad(to_hex(2000 + i / 100), 12, '0')), true, 3, '2023-01-01'
  FROM generate_series(0, 10000 - 1) AS i`
)

// jobsStore is the jobs data set with size numbers of reconTenant.
func jobsStore(b *testing.B, pg bool, size int) *sqlstore.Store {
	if pg {
		return pgJobsStore(b, size)
	}
	requireSQLite(b)
	st := cachedSQLite(b, fmt.Sprintf("jobs1-%d", size), func(st *sqlstore.Store) error {
		t := st.TableName()
		err := withoutIndexes(st, t, func() error {
			if _, err := st.DB().Exec(fmt.Sprintf(benchNumbersSQL, t), 100_000, benchAt.UnixMicro()); err != nil {
				return err
			}
			if _, err := st.DB().Exec(fmt.Sprintf(sqliteReconSQL, t), size, reconTenant, benchAt.UnixMicro()); err != nil {
				return err
			}
			_, err := st.DB().Exec(fmt.Sprintf(sqlitePurgeSQL, t), purgeAt.UnixMicro())
			return err
		})
		if err != nil {
			return err
		}
		return recount(st)
	})
	normalizeJobs(b, st, size)
	return st
}

// normalizeJobs puts a cached SQLite jobs data set back as it was built,
// in case a run that failed midway left it changed: the missing numbers
// of reconTenant Active, the numbers to purge stored, the counters
// recounted, the history empty.
func normalizeJobs(b *testing.B, st *sqlstore.Store, size int) {
	t := st.TableName()
	db := st.DB()
	var missing []any
	for i := range size {
		if reconMissing(i) {
			missing = append(missing, reconNumber(i))
		}
	}
	for part := range slices.Chunk(missing, 500) {
		if _, err := db.Exec("UPDATE "+t+" SET status = 0 WHERE telephone_number IN "+inList(len(part)), part...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(strings.Replace(fmt.Sprintf(sqlitePurgeSQL, t), "INSERT", "INSERT OR REPLACE", 1), purgeAt.UnixMicro()); err != nil {
		b.Fatal(err)
	}
	if err := recount(st); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM " + st.HistoryTableName()); err != nil {
		b.Fatal(err)
	}
}

func inList(k int) string { return "(?" + strings.Repeat(",?", k-1) + ")" }

// pgJobsStore is the jobs data set in a schema of this process.
func pgJobsStore(b *testing.B, size int) *sqlstore.Store {
	return pgCachedStore(b, fmt.Sprintf("jobs_%d", size), func(st *sqlstore.Store) error {
		began := time.Now()
		t := st.TableName()
		for _, q := range []string{
			fmt.Sprintf(pgOthersSQL, t),
			fmt.Sprintf(pgReconSQL, t, size),
			fmt.Sprintf(pgPurgeSQL, t),
			`INSERT INTO ` + st.CountsTableName() + ` (ms_tenant_id, status, n) SELECT COALESCE(ms_tenant_id, ''), status, COUNT(*) FROM ` + t +
				` WHERE operator_connect GROUP BY GROUPING SETS ((ms_tenant_id, status), (status))`,
			`VACUUM ANALYZE ` + t,
			`VACUUM ANALYZE ` + st.CountsTableName(),
		} {
			if _, err := st.DB().Exec(q); err != nil {
				return fmt.Errorf("%w\n%s", err, q)
			}
		}
		b.Logf("built the jobs data set of %d+%d+%d numbers in %v", 100_000, size, purgeSize, time.Since(began).Round(time.Millisecond))
		return nil
	})
}

// jobsTargets are the databases the jobs benchmarks run on.
var jobsTargets = []struct {
	name string
	pg   bool
}{{"SQLite", false}, {"PostgreSQL", true}}

// wantCountsMatchRows fails the benchmark when CountByStatus, for all
// tenants and for each of tenants, differs from a GROUP BY of the rows.
func wantCountsMatchRows(b *testing.B, st *sqlstore.Store, when string, tenants ...string) {
	b.Helper()
	statuses := removal.Statuses()
	for _, tn := range append([]string{""}, tenants...) {
		got, err := st.CountByStatus(context.Background(), tn, statuses)
		if err != nil {
			b.Fatal(err)
		}
		q, args := "SELECT status, COUNT(*) FROM "+st.TableName()+" WHERE operator_connect", []any(nil)
		if tn != "" {
			q, args = q+" AND ms_tenant_id = ?", []any{tn}
		}
		rows, err := st.DB().Query(st.DB().Rebind(q+" GROUP BY status"), args...)
		if err != nil {
			b.Fatal(err)
		}
		want := make([]int, len(statuses))
		for rows.Next() {
			var s, n int
			if err := rows.Scan(&s, &n); err != nil {
				b.Fatal(err)
			}
			want[slices.Index(statuses, removal.NumberStatus(s))] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		if !slices.Equal(got, want) {
			b.Fatalf("%s: CountByStatus(%q) = %v, the rows count %v (statuses %v)", when, tn, got, want, statuses)
		}
	}
}

// deleteHistory deletes the events of the numbers starting with prefix
// (one digit after +1425: +1426 or +1427), and on PostgreSQL vacuums the
// tables, so that every run starts from the same tables.
func deleteHistory(b *testing.B, st *sqlstore.Store, pg bool, prefix string) {
	next := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	if _, err := st.DB().Exec(st.DB().Rebind("DELETE FROM "+st.HistoryTableName()+" WHERE telephone_number >= ? AND telephone_number < ?"), prefix, next); err != nil {
		b.Fatal(err)
	}
	if pg {
		if _, err := st.DB().Exec("VACUUM " + st.TableName() + ", " + st.HistoryTableName()); err != nil {
			b.Fatal(err)
		}
	}
}

// undoable is a variant that changes the data, and the undo that puts it
// back, off the clock, after each of its runs (nil when it changes
// nothing).
type undoable struct {
	variant
	undo func(b *testing.B)
}

// pairedUndo is paired (no before) for variants that change the data:
// each variant runs once first, untimed, to warm the caches and the
// prepared statements; then every iteration runs each variant in turn in
// a rotating order, timing only its run, with its undo after it off the
// clock, so that every variant starts from the same state. It reports
// what paired reports (name-ns medians, first/name ratios) and returns
// the medians in nanoseconds by name.
func pairedUndo(b *testing.B, vs ...undoable) map[string]float64 {
	plain := make([]variant, len(vs))
	for j, v := range vs {
		plain[j] = v.variant
		v.run(b)
		if v.undo != nil {
			v.undo(b)
		}
	}
	return pairedAfter(b, nil, func(j int) {
		if vs[j].undo != nil {
			vs[j].undo(b)
		}
	}, plain...)
}

// checkpointedUndos returns the variants of a SQLite store with a WAL checkpoint
// after each run, on the clock, and after each undo, off it (see
// walCheckpoint), so that no variant pays for the pages of another or of
// an undo; on PostgreSQL it returns them as they are.
func checkpointedUndos(st *sqlstore.Store, pg bool, vs ...undoable) []undoable {
	if pg {
		return vs
	}
	db := st.DB().DB
	out := make([]undoable, len(vs))
	for j, v := range vs {
		out[j] = undoable{variant{v.name, func(b *testing.B) { v.run(b); walCheckpoint(b, db) }}, nil}
		if v.undo != nil {
			out[j].undo = func(b *testing.B) { v.undo(b); walCheckpoint(b, db) }
		}
	}
	return out
}

// reconList is the acquired list of reconTenant's size numbers: all but
// the missing ones, in a shuffled order (the order of an acquired list is
// not the store's); and the missing ones, in number order.
func reconList(size int) (acquired, missing []string) {
	for i := range size {
		if reconMissing(i) {
			missing = append(missing, reconNumber(i))
		} else {
			acquired = append(acquired, reconNumber(i))
		}
	}
	r := mathrand.New(mathrand.NewPCG(1, uint64(size)))
	r.Shuffle(len(acquired), func(i, j int) { acquired[i], acquired[j] = acquired[j], acquired[i] })
	return acquired, missing
}

// BenchmarkReconcile reconciles a tenant of 100,000 Operator Connect
// numbers (in a table of 210,000, see the jobs data set) with an acquired
// list ([]string of E.164 numbers) of all of them but 1% (1,000 Active
// numbers, to be marked), in one paired run (see pairedUndo):
//
//   - DryRun: Service.Reconcile with DryRun;
//   - Baseline: the simplest correct hand-written diff: a map of the
//     acquired list (built in the timed part, as Reconcile validates the
//     list in its), then one SELECT telephone_number, status of the
//     tenant's Operator Connect rows, keeping the Active and
//     ReleaseRequested ones absent from the map: the numbers to mark;
//   - Real: Service.Reconcile marking the 1,000 numbers (the guard allows
//     1%);
//   - BatchCost: Service.MarkForRemoval of the same 1,000 numbers in 2
//     batches of 500.
//
// Real and BatchCost are undone off the clock with Service.ClearRemovalStatus
// in batches of 500 (which keeps the counters right), and the events of
// the tenant deleted. Besides the medians and DryRun/Baseline (and the
// other first/name ratios) it reports Real/(DryRun+1.2*BatchCost): what
// applying the marks costs beside the diff and the batches alone. The
// counters are checked against the rows at the end.
func BenchmarkReconcile(b *testing.B) {
	const size = 100_000
	acquired, missing := reconList(size)
	for _, tg := range jobsTargets {
		b.Run(tg.name, func(b *testing.B) {
			st := jobsStore(b, tg.pg, size)
			svc := removal.NewService(st)
			ctx := context.Background()
			wantCountsMatchRows(b, st, "before", reconTenant)
			batches := slices.Collect(slices.Chunk(missing, removal.MaxBatchSize))
			restore := func(b *testing.B) {
				for _, batch := range batches {
					if res, err := svc.ClearRemovalStatus(ctx, batch); err != nil || res.SuccessCount != len(batch) {
						b.Fatalf("restoring: %d of %d cleared, %v", res.SuccessCount, len(batch), err)
					}
				}
				deleteHistory(b, st, tg.pg, "+1426")
			}
			reconcile := func(dryRun bool) func(b *testing.B) {
				return func(b *testing.B) {
					rep, err := svc.Reconcile(ctx, removal.ReconcileRequest{MSTenantID: reconTenant, TelephoneNumbers: acquired, DryRun: dryRun})
					if err != nil || rep.Marked.Count != len(missing) || rep.Skipped.Count != 0 || rep.Unknown.Count != 0 || rep.StillAcquired.Count != size/50 {
						b.Fatalf("marked %d, skipped %d, unknown %d, still acquired %d, %v; want %d marked",
							rep.Marked.Count, rep.Skipped.Count, rep.Unknown.Count, rep.StillAcquired.Count, err, len(missing))
					}
				}
			}
			db := st.DB().DB
			q := st.DB().Rebind("SELECT telephone_number, status FROM " + st.TableName() + " WHERE ms_tenant_id = ? AND operator_connect")
			baseline := func(b *testing.B) {
				in := make(map[string]struct{}, len(acquired))
				for _, n := range acquired {
					in[n] = struct{}{}
				}
				rows, err := db.Query(q, reconTenant)
				if err != nil {
					b.Fatal(err)
				}
				var mark []string
				for rows.Next() {
					var n string
					var s int
					if err := rows.Scan(&n, &s); err != nil {
						b.Fatal(err)
					}
					if _, ok := in[n]; !ok && (s == int(removal.Active) || s == int(removal.ReleaseRequested)) {
						mark = append(mark, n)
					}
				}
				rows.Close()
				if err := rows.Err(); err != nil || len(mark) != len(missing) {
					b.Fatalf("%d to mark, %v; want %d", len(mark), err, len(missing))
				}
			}
			batchCost := func(b *testing.B) {
				for _, batch := range batches {
					if res, err := svc.MarkForRemoval(ctx, batch); err != nil || res.SuccessCount != len(batch) {
						b.Fatalf("%d of %d marked, %v", res.SuccessCount, len(batch), err)
					}
				}
			}
			med := pairedUndo(b, checkpointedUndos(st, tg.pg,
				undoable{variant{"DryRun", reconcile(true)}, nil},
				undoable{variant{"Baseline", baseline}, nil},
				undoable{variant{"Real", reconcile(false)}, restore},
				undoable{variant{"BatchCost", batchCost}, restore},
			)...)
			b.ReportMetric(med["Real"]/(med["DryRun"]+1.2*med["BatchCost"]), "Real/(DryRun+1.2*BatchCost)")
			wantCountsMatchRows(b, st, "after", reconTenant)
		})
	}
}

// reconcile1MEnv enables BenchmarkReconcile1M in runs that do not name it.
const reconcile1MEnv = "OCNUMBERS_BENCH_1M_RECONCILE"

// heapObjects is the heap memory of objects, live or not yet swept.
func heapObjects(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakHeap returns the heap's objects' bytes
// (/memory/classes/heap/objects:bytes) right after a GC, run off the
// clock, and their peak while f runs, sampled every millisecond.
func peakHeap(b *testing.B, f func()) (base, peak uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	b.StopTimer()
	runtime.GC()
	base = heapObjects(s)
	peak = base
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peak = max(peak, heapObjects(s))
			}
		}
	}()
	b.StartTimer()
	f()
	b.StopTimer()
	close(stop)
	<-done
	peak = max(peak, heapObjects(s))
	b.StartTimer()
	return base, peak
}

// BenchmarkReconcile1M reconciles, as a dry run, a tenant of 1,000,000
// Operator Connect numbers (in a table of 1,110,000) with an acquired list
// of all of them but 1% (10,000 to mark), and reports the heap it takes:
// peak-heap-MB is the peak of the heap's objects (sampled every
// millisecond during the call) above the heap right after a GC before it,
// abs-peak-heap-MB the peak itself (both the largest over the iterations,
// in MiB). The
// acquired list (990,000 strings, about 30 MiB) is input, built before the
// measurement: it is in the baseline, not in peak-heap-MB. The heap's
// objects include garbage not yet collected, so the figure depends on
// GOGC: at 100 the collector lets the heap grow to about twice what was
// live before collecting. Building the data set takes a while (cached on
// SQLite, once per process on PostgreSQL): it runs only when
// OCNUMBERS_BENCH_1M_RECONCILE=1 or when -bench names it (Reconcile1M).
func BenchmarkReconcile1M(b *testing.B) {
	if os.Getenv(reconcile1MEnv) == "" {
		if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "Reconcile1M") {
			b.Skipf("the 1,000,000-number tenant is built only with %s=1 or -bench naming Reconcile1M", reconcile1MEnv)
		}
	}
	const size = 1_000_000
	acquired, missing := reconList(size)
	for _, tg := range jobsTargets {
		b.Run(tg.name, func(b *testing.B) {
			st := jobsStore(b, tg.pg, size)
			svc := removal.NewService(st)
			req := removal.ReconcileRequest{MSTenantID: reconTenant, TelephoneNumbers: acquired, DryRun: true}
			var worst, worstAbs uint64
			b.ReportAllocs()
			for b.Loop() {
				var rep removal.ReconcileReport
				var err error
				base, peak := peakHeap(b, func() { rep, err = svc.Reconcile(context.Background(), req) })
				if err != nil || rep.Marked.Count != len(missing) || rep.StillAcquired.Count != size/50 {
					b.Fatalf("marked %d, still acquired %d, %v; want %d marked", rep.Marked.Count, rep.StillAcquired.Count, err, len(missing))
				}
				worst, worstAbs = max(worst, peak-base), max(worstAbs, peak)
			}
			b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(worstAbs)/(1<<20), "abs-peak-heap-MB")
			wantCountsMatchRows(b, st, "after", reconTenant)
		})
	}
}

// BenchmarkPurge deletes 10,000 ReadyForRemoval Operator Connect numbers
// of 100 tenants, changed long ago, from a table of 210,000 that also
// holds about 4,000 ReadyForRemoval numbers changed too recently, paired
// (see pairedUndo):
//
//   - Purge: Service.Purge (Confirm, Limit 10,000);
//   - Baseline: the hand-written chunked purge: chunks of 500, each its
//     own transaction of a DELETE … RETURNING telephone_number,
//     ms_tenant_id of the next 500 old ReadyForRemoval Operator Connect
//     numbers (compare-and-delete on the status; keyset on the number)
//     and one multi-row INSERT of their purge events, with the columns
//     the store writes (from_status 3, to_status, trace_id and actor
//     NULL). It does not keep the counters, which the store updates in
//     the same transaction.
//
// Purge is undone off the clock with Import (Replace), which keeps the
// counters right; Baseline, which left them as they were, with a plain
// INSERT of the same rows. Both then delete the events of the numbers
// (the purge's and the import's). It reports Purge/Baseline, and checks
// the counters against the rows at the end.
func BenchmarkPurge(b *testing.B) {
	recs := purgeRecords()
	for _, tg := range jobsTargets {
		b.Run(tg.name, func(b *testing.B) {
			st := jobsStore(b, tg.pg, 100_000)
			svc := removal.NewService(st)
			ctx := context.Background()
			t, h := st.TableName(), st.HistoryTableName()
			wantCountsMatchRows(b, st, "before", purgeTenants()...)
			purge := func(b *testing.B) {
				res, err := svc.Purge(ctx, removal.PurgeRequest{OlderThan: time.Since(purgeCutoff), Confirm: true, Limit: removal.MaxPurgeLimit})
				if err != nil || res.PurgedCount != purgeSize || res.More {
					b.Fatalf("purged %d (more %v), %v; want %d", res.PurgedCount, res.More, err, purgeSize)
				}
			}
			undoPurge := func(b *testing.B) {
				if _, err := st.Import(ctx, recs, store.ImportOptions{Mode: store.Replace}); err != nil {
					b.Fatal(err)
				}
				deleteHistory(b, st, tg.pg, "+1427")
			}
			db := st.DB().DB
			const chunk = 500
			del := st.DB().Rebind("DELETE FROM " + t + " WHERE status = 3 AND telephone_number IN (SELECT telephone_number FROM " + t +
				" WHERE status = 3 AND operator_connect AND status_changed_at <= ? AND telephone_number > ? ORDER BY telephone_number LIMIT " +
				strconv.Itoa(chunk) + ") RETURNING telephone_number, ms_tenant_id")
			insert := func(k int) string {
				return st.DB().Rebind("INSERT INTO " + h + " (telephone_number, ms_tenant_id, action, from_status, to_status, at, trace_id, actor) VALUES " +
					strings.TrimSuffix(strings.Repeat("(?, ?, 'purge', 3, NULL, ?, NULL, NULL), ", k), ", "))
			}
			full := insert(chunk)
			baseline := func(b *testing.B) {
				now := time.Now().UTC().Truncate(time.Microsecond)
				var cutoff, at any = purgeCutoff, now
				if !tg.pg {
					cutoff, at = purgeCutoff.UnixMicro(), now.UnixMicro()
				}
				after, total := "", 0
				args := make([]any, 0, 3*chunk)
				for {
					tx, err := db.Begin()
					if err != nil {
						b.Fatal(err)
					}
					rows, err := tx.Query(del, cutoff, after)
					if err != nil {
						b.Fatal(err)
					}
					args = args[:0]
					for rows.Next() {
						var n, tn string
						if err := rows.Scan(&n, &tn); err != nil {
							b.Fatal(err)
						}
						args = append(args, n, tn, at)
						after = max(after, n)
					}
					rows.Close()
					if err := rows.Err(); err != nil {
						b.Fatal(err)
					}
					k := len(args) / 3
					if k > 0 {
						q := full
						if k < chunk {
							q = insert(k)
						}
						if _, err := tx.Exec(q, args...); err != nil {
							b.Fatal(err)
						}
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
					total += k
					if k < chunk {
						break
					}
				}
				if total != purgeSize {
					b.Fatalf("deleted %d, want %d", total, purgeSize)
				}
			}
			undoBaseline := func(b *testing.B) {
				var err error
				if tg.pg {
					_, err = db.Exec(fmt.Sprintf(pgPurgeSQL, t))
				} else {
					_, err = db.Exec(fmt.Sprintf(sqlitePurgeSQL, t), purgeAt.UnixMicro())
				}
				if err != nil {
					b.Fatal(err)
				}
				deleteHistory(b, st, tg.pg, "+1427")
			}
			pairedUndo(b, checkpointedUndos(st, tg.pg, undoable{variant{"Purge", purge}, undoPurge}, undoable{variant{"Baseline", baseline}, undoBaseline})...)
			wantCountsMatchRows(b, st, "after", purgeTenants()...)
		})
	}
}
