package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// TestPostgresSearchPath opens a store without WithSchema on a pool whose
// search_path names a schema, beside one opened WithSchema on that schema:
// both work on the one table and take the same writers' lock, so their
// batches serialise as those of one store do.
func TestPostgresSearchPath(t *testing.T) {
	_, dsn := pgtest.Admin(t)
	schema := MustSchema(t)
	named := MustOpenPostgresIn(t, schema)
	st, err := sqlstore.Open(context.Background(), "pgx", withSetting(dsn, "search_path", schema))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.LockKey() != named.LockKey() {
		t.Errorf("lock keys differ: %d by search_path, %d by WithSchema", st.LockKey(), named.LockKey())
	}
	mustPut(t, st, record(1, removal.MarkedForRemoval))
	if res, err := removal.NewService(named).MarkReadyForRemoval(context.Background(), []string{string(number(1))}); err != nil || res.SuccessCount != 1 {
		t.Fatalf("MarkReadyForRemoval through the named store: %+v, %v", res, err)
	}
	got, err := st.Get(context.Background(), number(1))
	if err != nil || got.Status != removal.ReadyForRemoval {
		t.Errorf("seen through the search_path store: %v, %v", got.Status, err)
	}
	other, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema), sqlstore.WithTablePrefix("x_"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.LockKey() == named.LockKey() {
		t.Error("a store on another table takes the same lock")
	}
}

// TestPostgresSummaryReadsCounts takes the numbers table's strongest lock
// in another session, so that any read of its rows would wait: Summary and
// the counts of every status, global and per tenant, still answer at once,
// from the counters, and equal a recount taken afterwards.
func TestPostgresSummaryReadsCounts(t *testing.T) {
	admin, _ := pgtest.Admin(t)
	st, schema := MustOpenPostgres(t)
	var recs []store.Number
	for i := range 400 {
		r := record(i, removal.Statuses()[i%4])
		r.OperatorConnect = i%5 != 0
		if i%3 == 0 {
			r.MSTenantID = otherTenant
		}
		recs = append(recs, r)
	}
	mustPut(t, st, recs...)
	want := pgRecount(t, admin, schema)

	tx, err := admin.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`LOCK TABLE "` + schema + `".numbers IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, tn := range []string{"", tenant, otherTenant} {
		got, err := st.CountByStatus(ctx, tn, removal.Statuses())
		if err != nil {
			t.Fatalf("CountByStatus(%q) while the rows are locked: %v", tn, err)
		}
		for s, n := range got {
			if n != want[tn][s] {
				t.Errorf("tenant %q status %d: %d, recount %d", tn, s, n, want[tn][s])
			}
		}
		sum, err := removal.NewService(st).Summary(ctx, tn)
		if err != nil {
			t.Fatalf("Summary(%q) while the rows are locked: %v", tn, err)
		}
		if sum.MarkedForRemovalCount != want[tn][2] || sum.ReadyForRemovalCount != want[tn][3] {
			t.Errorf("Summary(%q) = %+v, recount %v", tn, sum, want[tn])
		}
	}
}

// pgRecount counts the Operator Connect rows of a schema's numbers table per
// status: globally (key "") and per tenant.
func pgRecount(t *testing.T, admin *sqlx.DB, schema string) map[string][4]int {
	t.Helper()
	var rows []struct {
		Tenant string `db:"ms_tenant_id"`
		Status int    `db:"status"`
		N      int    `db:"n"`
	}
	if err := admin.Select(&rows, `SELECT ms_tenant_id, status, COUNT(*) AS n FROM "`+schema+`".numbers WHERE operator_connect GROUP BY 1, 2`); err != nil {
		t.Fatal(err)
	}
	out := map[string][4]int{"": {}, tenant: {}, otherTenant: {}}
	for _, r := range rows {
		g, tn := out[""], out[r.Tenant]
		g[r.Status] += r.N
		tn[r.Status] += r.N
		out[""], out[r.Tenant] = g, tn
	}
	return out
}

// TestPostgresListPlans pins the plans of the list statements: with
// sequential scans priced out, a list of several statuses (all tenants, or
// one) is a Merge Append of index scans, one per status, never a Sort of
// the whole match; one status and none are index scans in number order.
func TestPostgresListPlans(t *testing.T) {
	st, schema := MustOpenPostgres(t)
	recs := make([]store.Number, 20_000)
	for i := range recs {
		recs[i] = record(i, removal.Statuses()[i%4])
		if i%10 == 0 {
			recs[i].MSTenantID = otherTenant
		}
	}
	mustPut(t, st, recs...)
	if _, err := st.DB().Exec(`ANALYZE "` + schema + `".numbers`); err != nil {
		t.Fatal(err)
	}
	removalStatuses := []removal.NumberStatus{removal.MarkedForRemoval, removal.ReadyForRemoval}
	for name, q := range map[string]removal.NumberQuery{
		"Statuses":          {Statuses: removalStatuses, Limit: 200},
		"StatusesAfter":     {Statuses: removalStatuses, After: number(5), Limit: 200},
		"StatusesOffset":    {Statuses: removal.Statuses(), Offset: 1000, Limit: 200},
		"TenantStatuses":    {MSTenantID: tenant, Statuses: removalStatuses, Limit: 200},
		"TenantStatusesAft": {MSTenantID: tenant, Statuses: removalStatuses, After: number(5), Limit: 200},
		"Status":            {Statuses: removalStatuses[:1], Limit: 200},
		"TenantStatus":      {MSTenantID: tenant, Statuses: removalStatuses[:1], Limit: 200},
		"All":               {After: number(5), Limit: 200},
		"Tenant":            {MSTenantID: tenant, Limit: 200, Offset: 400},
	} {
		t.Run(name, func(t *testing.T) {
			query, args := st.ListQuery(q)
			tx, err := st.DB().Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec("SET LOCAL enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			var plan []string
			if err := tx.Select(&plan, "EXPLAIN "+query, args...); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if strings.Contains(text, "Seq Scan") || strings.Contains(text, "Sort  (") || strings.Contains(text, "Bitmap") {
				t.Errorf("plan sorts or scans the table:\n%s", text)
			}
			if len(q.Statuses) > 1 && (!strings.Contains(text, "Merge Append") || strings.Count(text, "Index Scan") != len(q.Statuses)) {
				t.Errorf("plan is not a merge of one index scan per status:\n%s", text)
			}
		})
	}
}
