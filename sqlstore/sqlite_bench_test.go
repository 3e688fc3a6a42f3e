//go:build cgo

package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
)

// TestBenchDataSet: the SQL that builds the SQLite data sets writes the
// records benchRecords describes, with their counters, and the events the
// history benchmarks read.
func TestBenchDataSet(t *testing.T) {
	const size = 2345
	st, _ := MustOpenSQLite(t)
	if err := fillNumbers(st, size); err != nil {
		t.Fatal(err)
	}
	got, err := st.ListNumbers(context.Background(), removal.NumberQuery{Limit: size + 1, IncludeNotOperatorConnect: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(benchRecords(size), got); d != "" {
		t.Errorf("data set (-benchRecords +SQL):\n%s", d)
	}
	wantCountersExact(t, st, "after the data set")
	if err := fillHistory(st, 3*benchEventsPerNumber); err != nil {
		t.Fatal(err)
	}
	events, total, err := st.History(context.Background(), number(1), 0, 2)
	newest := benchAt.Add(time.Duration(2*benchEventsPerNumber-1) * time.Microsecond)
	if err != nil || total != benchEventsPerNumber || len(events) != 2 || !events[0].At.Equal(newest) {
		t.Errorf("history of %s: %v, %d, %v; want %d events, the newest at %v", number(1), events, total, err, benchEventsPerNumber, newest)
	}
}

// BenchmarkList reads 200-number pages of the 1,000,000-number data set,
// each case paired (see paired) with the raw SELECT on the same table: by
// After at the first page and at the last (also against the first: flat
// in depth), at page 1,000 by offset (against the raw OFFSET SELECT, with
// and without the Operator Connect filter the store applies), two
// statuses by After (against the one SELECT with an IN list), and the
// Service's List, which adds totalRecords from the counters.
func BenchmarkList(b *testing.B) {
	const size, page = 1_000_000, 200
	st := sqliteBenchStore(b, size)
	svc := removal.NewService(st)
	db := st.DB().DB
	t := st.TableName()
	ctx := context.Background()
	list := func(name string, q removal.NumberQuery) variant {
		q.Limit = page
		return variant{name, func(b *testing.B) {
			if got, err := st.ListNumbers(ctx, q); err != nil || len(got) < page*9/10 {
				b.Fatalf("%d numbers, %v", len(got), err)
			}
		}}
	}
	raw := func(name, q string, arg any) variant {
		return variant{name, func(b *testing.B) { scanNumbers(b, page, db, q, arg) }}
	}
	keyset := "SELECT " + benchCols + " FROM " + t + " WHERE telephone_number > ? ORDER BY telephone_number LIMIT 200"
	offset := "SELECT " + benchCols + " FROM " + t + " ORDER BY telephone_number LIMIT 200 OFFSET ?"
	offsetOC := "SELECT " + benchCols + " FROM " + t + " WHERE operator_connect ORDER BY telephone_number LIMIT 200 OFFSET ?"
	statusIN := "SELECT " + benchCols + " FROM " + t + " WHERE operator_connect AND status IN (2, 3) AND telephone_number > ? ORDER BY telephone_number LIMIT 200"
	first, last, mid := number(0), number(size-201), number(size/2)
	two := []removal.NumberStatus{removal.MarkedForRemoval, removal.ReadyForRemoval}
	for _, c := range []struct {
		name string
		vs   []variant
	}{
		{"AfterFirst", []variant{list("Store", removal.NumberQuery{After: first}), raw("Raw", keyset, string(first))}},
		{"AfterLast", []variant{list("Store", removal.NumberQuery{After: last}), raw("Raw", keyset, string(last)),
			list("StoreFirst", removal.NumberQuery{After: first})}},
		{"Page1000", []variant{list("Store", removal.NumberQuery{Offset: 999 * page}), raw("RawOffset", offset, 999*page),
			raw("RawOffsetOC", offsetOC, 999*page)}},
		{"TwoStatusesAfter", []variant{list("Store", removal.NumberQuery{Statuses: two, After: mid}), raw("RawIN", statusIN, string(mid))}},
		{"Service", []variant{
			{"ServiceAfter", func(b *testing.B) {
				if p, err := svc.List(ctx, removal.ListQuery{After: string(first)}); err != nil || len(p.Data) != page || p.TotalRecords == 0 {
					b.Fatalf("%d numbers of %d, %v", len(p.Data), p.TotalRecords, err)
				}
			}},
			list("StoreAfter", removal.NumberQuery{After: first}),
			{"ServicePage1000", func(b *testing.B) {
				if p, err := svc.List(ctx, removal.ListQuery{PageNumber: 1000}); err != nil || len(p.Data) != page {
					b.Fatalf("%d numbers, %v", len(p.Data), err)
				}
			}},
		}},
	} {
		b.Run(c.name, func(b *testing.B) { paired(b, nil, c.vs...) })
	}
}

const benchCols = "telephone_number, ms_tenant_id, operator_connect, status, status_changed_at"

// scanNumbers runs a query of benchCols and reads every row into the Go
// types the store reads them into, wanting want rows.
func scanNumbers(b *testing.B, want int, db *sql.DB, q string, args ...any) {
	rows, err := db.Query(q, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var tel, tnt string
		var oc bool
		var st int
		var at int64
		if err := rows.Scan(&tel, &tnt, &oc, &st, &at); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil || n != want {
		b.Fatalf("%d rows, %v; want %d", n, err, want)
	}
}

// scanEvents is scanNumbers for history rows (and a total, when the query
// has one more column).
func scanEvents(b *testing.B, want int, db *sql.DB, q string, args ...any) {
	rows, err := db.Query(q, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		var tel, tnt, action string
		var from, to sql.NullInt64
		var at int64
		var trace, actor sql.NullString
		var total int
		dest := []any{&tel, &tnt, &action, &from, &to, &at, &trace, &actor, &total}
		if err := rows.Scan(dest[:len(cols)]...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil || n != want {
		b.Fatalf("%d rows, %v; want %d", n, err, want)
	}
}

// BenchmarkHistory reads the newest 200 of the 1,000 events of one number
// among 1,000,000 events (10,000,000 with OCNUMBERS_BENCH_10M=1), with
// their total, paired (see paired) with the raw page SELECT alone (no
// total), the page then a COUNT, and the page with the window count the
// store used before.
func BenchmarkHistory(b *testing.B) {
	events := 1_000_000
	if bench10M {
		events = 10_000_000
	}
	st := historyBenchStore(b, events)
	db := st.DB().DB
	h := st.HistoryTableName()
	n := number(events / benchEventsPerNumber / 2)
	cols := "telephone_number, ms_tenant_id, action, from_status, to_status, at, trace_id, actor"
	pageSQL := "SELECT " + cols + " FROM " + h + " WHERE telephone_number = ? ORDER BY at DESC, id DESC LIMIT 200"
	countSQL := "SELECT COUNT(*) FROM " + h + " WHERE telephone_number = ?"
	windowSQL := "SELECT " + cols + ", COUNT(*) OVER () FROM " + h + " WHERE telephone_number = ? ORDER BY at DESC, id DESC LIMIT 200"
	b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
		paired(b, nil,
			variant{"Store", func(b *testing.B) {
				if got, total, err := st.History(context.Background(), n, 0, 200); err != nil || len(got) != 200 || total != benchEventsPerNumber {
					b.Fatalf("%d events of %d, %v", len(got), total, err)
				}
			}},
			variant{"RawPage", func(b *testing.B) { scanEvents(b, 200, db, pageSQL, string(n)) }},
			variant{"RawPageThenCount", func(b *testing.B) {
				scanEvents(b, 200, db, pageSQL, string(n))
				var total int
				if err := db.QueryRow(countSQL, string(n)).Scan(&total); err != nil || total != benchEventsPerNumber {
					b.Fatal(total, err)
				}
			}},
			variant{"RawWindowCount", func(b *testing.B) { scanEvents(b, 200, db, windowSQL, string(n)) }},
		)
	})
}

// BenchmarkPruneHistory deletes 1,000,000 old events of 1,100,000: with
// PruneHistory, and with the raw chunked DELETE (10,000 rows a statement,
// each its own transaction, as PruneHistory), each on a fresh copy of the
// same file, made off the clock. Run it with -benchtime 1x.
func BenchmarkPruneHistory(b *testing.B) {
	const old, events = 1_000_000, 1_100_000
	tmpl := historyBenchStore(b, events)
	var src string
	if err := tmpl.DB().Get(&src, "SELECT file FROM pragma_database_list WHERE name = 'main'"); err != nil {
		b.Fatal(err)
	}
	if _, err := tmpl.DB().Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	before := benchAt.Add(old * time.Microsecond)
	fresh := func(b *testing.B) *sqlstore.Store {
		b.StopTimer()
		defer b.StartTimer()
		dst := filepath.Join(b.TempDir(), "prune.db")
		copyFile(b, src, dst)
		return MustOpenSQLiteAt(b, dst)
	}
	b.Run("Store", func(b *testing.B) {
		for range b.N {
			st := fresh(b)
			if k, err := st.PruneHistory(context.Background(), before); err != nil || k != old {
				b.Fatalf("pruned %d, %v", k, err)
			}
		}
	})
	b.Run("RawChunkedDelete", func(b *testing.B) {
		for range b.N {
			st := fresh(b)
			q := "DELETE FROM " + st.HistoryTableName() + " WHERE rowid IN (SELECT rowid FROM " + st.HistoryTableName() + " WHERE at < ? LIMIT 10000)"
			total := int64(0)
			for {
				res, err := st.DB().Exec(q, before.UnixMicro())
				if err != nil {
					b.Fatal(err)
				}
				k, _ := res.RowsAffected()
				total += k
				if k < 10000 {
					break
				}
			}
			if total != old {
				b.Fatalf("deleted %d", total)
			}
		}
	})
}

func copyFile(b *testing.B, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRateLimiter measures Allow on a SQLite file: admitted (a limit
// never reached) and refused (a full window of 300), reporting the median
// of the calls beside the mean.
func BenchmarkRateLimiter(b *testing.B) {
	st, _ := MustOpenSQLite(b)
	for _, c := range []struct {
		name   string
		limit  int
		window time.Duration
		ok     bool
	}{{"Admitted", 1 << 30, time.Minute, true}, {"Refused", 300, time.Hour, false}} {
		b.Run(c.name, func(b *testing.B) {
			l, err := st.RateLimiter(c.name, c.limit, c.window)
			if err != nil {
				b.Fatal(err)
			}
			if !c.ok {
				for range c.limit {
					l.Allow(context.Background())
				}
			}
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				ok, _, err := l.Allow(context.Background())
				took = append(took, time.Since(start))
				if err != nil || ok != c.ok {
					b.Fatalf("Allow = %v, %v; want %v", ok, err, c.ok)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "median-ns")
		})
	}
}
