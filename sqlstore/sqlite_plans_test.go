//go:build cgo

package sqlstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// TestSQLiteListPlans pins the plans of the list and history statements:
// each reads an index in the order of the page (several statuses merged
// from the per-status index, not sorted), so that a page costs its offset
// and limit whatever the table's size. The plans are checked on a table
// with ANALYZE statistics, as a host that runs ANALYZE would have.
func TestSQLiteListPlans(t *testing.T) {
	st, _ := MustOpenSQLite(t)
	var recs []store.Number
	for i := range 2000 {
		r := record(i, removal.Active)
		switch i % 50 {
		case 1, 2:
			r.Status = removal.MarkedForRemoval
		case 3:
			r.Status = removal.ReadyForRemoval
		case 4:
			r.Status = removal.ReleaseRequested
		case 5:
			r.OperatorConnect = false
		}
		if i%10 == 0 {
			r.MSTenantID = otherTenant
		}
		recs = append(recs, r)
	}
	mustPut(t, st, recs...)
	if _, err := st.DB().Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	marked, ready := removal.MarkedForRemoval, removal.ReadyForRemoval
	two := []removal.NumberStatus{marked, ready}
	cutoff := time.Now()
	for _, c := range []struct {
		name string
		q    removal.NumberQuery
		want []string // one line of the plan per index read, in order
	}{
		{"All", removal.NumberQuery{}, []string{"SCAN numbers"}},
		{"After", removal.NumberQuery{After: number(10)}, []string{"SEARCH numbers USING PRIMARY KEY (telephone_number>?)"}},
		{"Tenant", removal.NumberQuery{MSTenantID: tenant}, []string{"SEARCH numbers USING INDEX numbers_tenant_idx (ms_tenant_id=?)"}},
		{"TenantAfter", removal.NumberQuery{MSTenantID: tenant, After: number(10)},
			[]string{"SEARCH numbers USING INDEX numbers_tenant_idx (ms_tenant_id=? AND telephone_number>?)"}},
		{"Reconcile", removal.NumberQuery{MSTenantID: tenant, IncludeNotOperatorConnect: true, After: number(10)},
			[]string{"SEARCH numbers USING INDEX numbers_tenant_idx (ms_tenant_id=? AND telephone_number>?)"}},
		{"Status", removal.NumberQuery{Statuses: []removal.NumberStatus{marked}},
			[]string{"SEARCH numbers USING INDEX numbers_status_idx (status=?)"}},
		{"StatusAfter", removal.NumberQuery{Statuses: []removal.NumberStatus{removal.Active}, After: number(10)},
			[]string{"SEARCH numbers USING INDEX numbers_status_idx (status=? AND telephone_number>?)"}},
		{"Purge", removal.NumberQuery{Statuses: []removal.NumberStatus{ready}, ChangedAtOrBefore: cutoff},
			[]string{"SEARCH numbers USING INDEX numbers_status_idx (status=?)"}},
		{"TenantStatus", removal.NumberQuery{MSTenantID: tenant, Statuses: []removal.NumberStatus{ready}},
			[]string{"SEARCH numbers USING INDEX numbers_tenant_st_idx (ms_tenant_id=? AND status=?)"}},
		{"Statuses", removal.NumberQuery{Statuses: two}, []string{
			"MERGE (UNION ALL)",
			"SEARCH numbers USING INDEX numbers_status_idx (status=?)",
			"SEARCH numbers USING INDEX numbers_status_idx (status=?)",
		}},
		{"ThreeStatusesAfter", removal.NumberQuery{Statuses: removal.Statuses()[1:], After: number(10), Offset: 400}, []string{
			"MERGE (UNION ALL)",
			"MERGE (UNION ALL)",
			"SEARCH numbers USING INDEX numbers_status_idx (status=? AND telephone_number>?)",
			"SEARCH numbers USING INDEX numbers_status_idx (status=? AND telephone_number>?)",
			"SEARCH numbers USING INDEX numbers_status_idx (status=? AND telephone_number>?)",
		}},
		{"EveryStatus", removal.NumberQuery{Statuses: removal.Statuses(), After: number(10)},
			[]string{"SEARCH numbers USING PRIMARY KEY (telephone_number>?)"}},
		{"TenantStatusesAfter", removal.NumberQuery{MSTenantID: otherTenant, Statuses: two, After: number(10)}, []string{
			"MERGE (UNION ALL)",
			"SEARCH numbers USING INDEX numbers_tenant_st_idx (ms_tenant_id=? AND status=? AND telephone_number>?)",
			"SEARCH numbers USING INDEX numbers_tenant_st_idx (ms_tenant_id=? AND status=? AND telephone_number>?)",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.Limit = 201
			query, args := st.ListQuery(c.q)
			wantPlan(t, queryPlan(t, st, query, args...), c.want)
		})
	}
	t.Run("History", func(t *testing.T) {
		plan := queryPlan(t, st, st.HistoryQuery(), string(number(1)), string(number(1)))
		wantPlan(t, plan, []string{
			"SEARCH history USING INDEX history_number_idx (telephone_number=?)",
			"SCALAR SUBQUERY 1",
			"SEARCH history USING COVERING INDEX history_number_idx (telephone_number=?)",
		})
	})
}

// wantPlan compares the lines of a plan that read a table or an index, or
// merge, with want; no line may sort (USE TEMP B-TREE).
func wantPlan(t *testing.T, plan string, want []string) {
	t.Helper()
	var got []string
	for _, line := range strings.Split(plan, "\n") {
		switch {
		case strings.Contains(line, "TEMP B-TREE"):
			t.Errorf("the plan sorts:\n%s", plan)
		case strings.HasPrefix(line, "SCAN "), strings.HasPrefix(line, "SEARCH "), strings.HasPrefix(line, "MERGE "),
			strings.HasPrefix(line, "SCALAR SUBQUERY"):
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan:\n%s\nwant the reads:\n%s", plan, strings.Join(want, "\n"))
	}
}
