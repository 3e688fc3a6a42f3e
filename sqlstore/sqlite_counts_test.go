//go:build cgo

package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// countKey is one counter: a tenant's Operator Connect numbers in one
// status.
type countKey struct {
	tenant string
	status int
}

// storedCounters reads the counters table, leaving out counters at 0.
func storedCounters(t *testing.T, st *sqlstore.Store) map[countKey]int {
	t.Helper()
	return countRows(t, st, "SELECT ms_tenant_id, status, n FROM "+st.CountsTableName()+" WHERE n <> 0")
}

// recountRows counts the Operator Connect rows of the numbers table, per
// tenant and status, and per status for all tenants (tenant "").
func recountRows(t *testing.T, st *sqlstore.Store) map[countKey]int {
	t.Helper()
	return countRows(t, st, "SELECT ms_tenant_id, status, COUNT(*) FROM "+st.TableName()+" WHERE operator_connect GROUP BY ms_tenant_id, status"+
		" UNION ALL SELECT '', status, COUNT(*) FROM "+st.TableName()+" WHERE operator_connect GROUP BY status")
}

func countRows(t *testing.T, st *sqlstore.Store, q string) map[countKey]int {
	t.Helper()
	rows, err := st.DB().Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[countKey]int{}
	for rows.Next() {
		var k countKey
		var n int
		if err := rows.Scan(&k.tenant, &k.status, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantCountersExact fails the test when the counters table differs from a
// recount of the rows.
func wantCountersExact(t *testing.T, st *sqlstore.Store, when string) {
	t.Helper()
	if d := cmp.Diff(recountRows(t, st), storedCounters(t, st), cmp.AllowUnexported(countKey{})); d != "" {
		t.Fatalf("%s: counters differ from a recount (-recount +counters):\n%s", when, d)
	}
}

// TestSQLiteCounters: the per-tenant, per-status counters table equals a
// recount of the rows after every kind of change: Import in both modes
// (new numbers, tenant and Operator Connect flag changes, replaced
// statuses), Apply, Delete, and a cancelled batch that keeps its first
// chunks.
func TestSQLiteCounters(t *testing.T) {
	ctx := context.Background()
	st, _ := MustOpenSQLite(t)
	var recs []store.Number
	for i := range 300 {
		r := record(i, removal.Statuses()[i%4])
		r.OperatorConnect = i%7 != 0
		if i%3 == 0 {
			r.MSTenantID = otherTenant
		}
		recs = append(recs, r)
	}
	mustPut(t, st, recs...)
	wantCountersExact(t, st, "after the first Put")

	// Merge: tenants swapped and Operator Connect flags flipped on stored
	// numbers (statuses kept), new numbers inserted.
	var merge []store.Number
	for i := 100; i < 400; i++ {
		r := record(i, removal.MarkedForRemoval)
		r.OperatorConnect = i%5 != 0
		if i%2 == 0 {
			r.MSTenantID = otherTenant
		}
		merge = append(merge, r)
	}
	mustImport(t, st, ctx, store.Merge, t1, merge...)
	wantCountersExact(t, st, "after the merge import")

	// Replace: statuses, tenants and flags rewritten.
	var replace []store.Number
	for i := 0; i < 400; i += 3 {
		r := record(i, removal.Statuses()[(i/3)%4])
		r.OperatorConnect = i%2 == 0
		replace = append(replace, r)
	}
	mustImport(t, st, ctx, store.Replace, t2, replace...)
	wantCountersExact(t, st, "after the replace import")

	all := make([]e164.Number, 0, 420)
	for i := range 420 {
		all = append(all, number(i))
	}
	for _, a := range removal.Actions() {
		if _, err := st.Apply(ctx, all[:removal.MaxBatchSize-80], removal.Change{From: a.From(), To: a.To(), At: t3, Event: a.Event()}); err != nil {
			t.Fatal(err)
		}
		wantCountersExact(t, st, "after "+a.Name())
	}
	if _, err := st.Delete(ctx, all, t4); err != nil {
		t.Fatal(err)
	}
	wantCountersExact(t, st, "after Delete")

	// A batch cancelled after its first chunk commits that chunk and its
	// counters.
	a := removal.MarkForRemovalAction
	cctx, cancel := context.WithCancel(ctx)
	calls := 0
	out, err := st.Apply(cancelAfter{cctx, &calls, 1, cancel}, all[:removal.MaxBatchSize-80], removal.Change{From: a.From(), To: a.To(), At: t4, Event: a.Event()})
	if !errors.Is(err, context.Canceled) || len(out) == 0 || len(out) == removal.MaxBatchSize-80 {
		t.Fatalf("cancelled batch: %d outcomes, %v; want its first chunks and context.Canceled", len(out), err)
	}
	wantCountersExact(t, st, "after a cancelled batch")

	// CountByStatus reads the counters.
	for _, tnt := range []string{"", tenant, otherTenant} {
		want := make([]int, 4)
		for k, n := range recountRows(t, st) {
			if k.tenant == tnt {
				want[k.status] += n
			}
		}
		got, err := st.CountByStatus(ctx, tnt, removal.Statuses())
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("CountByStatus(%q) = %v, %v; want %v", tnt, got, err, want)
		}
	}
}

// cancelAfter is a context whose Err turns to Canceled after it has been
// asked calls times: a batch sees it between chunks.
type cancelAfter struct {
	context.Context
	calls  *int
	after  int
	cancel func()
}

func (c cancelAfter) Err() error {
	*c.calls++
	if *c.calls > c.after {
		c.cancel()
	}
	return c.Context.Err()
}

// TestSQLiteCountersBackfill: the migration that adds the counters fills
// them from the rows of a database that had none.
func TestSQLiteCountersBackfill(t *testing.T) {
	ms, err := sqlstore.Migrations("sqlite3")
	if err != nil {
		t.Fatal(err)
	}
	st, path := MustOpenSQLite(t, sqlstore.WithoutMigrations())
	for _, m := range ms[:2] {
		if _, err := st.DB().Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
	}
	for i := range 500 {
		oc := i%9 != 0
		tnt := tenant
		if i%3 == 0 {
			tnt = otherTenant
		}
		if _, err := st.DB().Exec("INSERT INTO "+st.TableName()+" VALUES (?, ?, ?, ?, ?)", string(number(i)), tnt, oc, i%4, time.Now().UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	again := MustOpenSQLiteAt(t, path)
	if got := recountRows(t, again); len(got) != 12 {
		t.Fatalf("recount %v: want 12 counters", got)
	}
	wantCountersExact(t, again, "after the migration")
}

// TestSQLiteCountsPlan: CountByStatus reads only the counters table, one
// key per status, for a tenant and for the totals alike: no statement of
// it touches the numbers table.
func TestSQLiteCountsPlan(t *testing.T) {
	st, _ := MustOpenSQLite(t)
	global, perTenant := st.SummaryQueries()
	for name, q := range map[string]string{"Global": global, "Tenant": perTenant} {
		t.Run(name, func(t *testing.T) {
			var args []any
			if strings.Contains(q, "?") {
				args = append(args, tenant)
			}
			plan := queryPlan(t, st, q, args...)
			if !strings.Contains(plan, "SEARCH counts USING PRIMARY KEY (status=? AND ms_tenant_id=?)") || strings.Contains(plan, "numbers") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan does not read the counters by their key:\n%s", plan)
			}
		})
	}
}

// queryPlan returns the lines of EXPLAIN QUERY PLAN for q.
func queryPlan(t *testing.T, st *sqlstore.Store, q string, args ...any) string {
	t.Helper()
	rows, err := st.DB().Queryx("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n")
}
