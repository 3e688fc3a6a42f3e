package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// TestPostgresWritePlansLinear runs each write statement on n numbers
// under EXPLAIN ANALYZE, with the generic plan PostgreSQL caches for a
// prepared statement after its fifth run and with a custom plan, and
// checks that no plan node handles more than a few rows per number: a
// plan that probes the whole batch once per number (n² rows, a purge of
// 10,000 numbers taking minutes) fails. The statements run in a
// transaction that is rolled back.
func TestPostgresWritePlansLinear(t *testing.T) {
	st, schema := MustOpenPostgres(t)
	const n = 2000
	recs := make([]store.Number, 0, 3*n)
	for i := range 3 * n {
		recs = append(recs, record(i, removal.Statuses()[i%4]))
	}
	mustPut(t, st, recs...)
	if _, err := st.DB().Exec(`ANALYZE "` + schema + `".numbers`); err != nil {
		t.Fatal(err)
	}
	numbers := make([]string, n)
	tenants := make([]string, n)
	oc := make([]bool, n)
	statuses := make([]int16, n)
	times := make([]time.Time, n)
	for i := range n {
		numbers[i] = string(number(3 * i / 2)) // half stored, half new
		tenants[i], oc[i], statuses[i], times[i] = tenant, true, int16(i%4), time.Now()
	}
	at := time.Now()
	for _, c := range []struct {
		name, query, types string
		args               []any
	}{
		{"Apply", st.ApplyQuery(), "smallint, timestamptz, text[], smallint[], text, text, text",
			[]any{int16(removal.ReadyForRemoval), at, numbers, []int16{int16(removal.MarkedForRemoval)}, "markReadyForRemoval", "", ""}},
		{"Delete", st.DeleteQuery(), "text[], timestamptz, text, text", []any{numbers, at, "", ""}},
		{"ImportMerge", st.ImportQuery(false), "text[], text[], boolean[], smallint[], timestamptz[], timestamptz, text, text",
			[]any{numbers, tenants, oc, statuses, times, at, "", ""}},
		{"ImportReplace", st.ImportQuery(true), "text[], text[], boolean[], smallint[], timestamptz[], timestamptz, text, text",
			[]any{numbers, tenants, oc, statuses, times, at, "", ""}},
	} {
		for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				tx, err := st.DB().Beginx()
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				if _, err := tx.Exec("PREPARE p(" + c.types + ") AS " + c.query); err != nil {
					t.Fatal(err)
				}
				defer tx.Exec("DEALLOCATE p")
				if _, err := tx.Exec("SET LOCAL plan_cache_mode = " + mode); err != nil {
					t.Fatal(err)
				}
				params := make([]string, len(c.args))
				for i, a := range c.args {
					params[i] = literal(a)
				}
				var out string
				if err := tx.QueryRow("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE p(" + strings.Join(params, ", ") + ")").Scan(&out); err != nil {
					t.Fatal(err)
				}
				var plans []struct{ Plan planNode }
				if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
					t.Fatalf("EXPLAIN output: %v\n%s", err, out)
				}
				const bound = 4*n + 16
				plans[0].Plan.walk(func(p *planNode) {
					if rows := p.Loops * p.Rows; rows > bound {
						t.Errorf("%s on %q: %.0f loops of %.0f rows, more than %d for %d numbers", p.Type, p.Relation+p.CTE, p.Loops, p.Rows, bound, n)
					}
				})
			})
		}
	}
}

// planNode is a node of EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	CTE      string     `json:"CTE Name"`
	Loops    float64    `json:"Actual Loops"`
	Rows     float64    `json:"Actual Rows"`
	Plans    []planNode `json:"Plans"`
}

func (p *planNode) walk(f func(*planNode)) {
	f(p)
	for i := range p.Plans {
		p.Plans[i].walk(f)
	}
}

// literal is v as an SQL literal (EXECUTE takes no bound parameters). The
// test's values hold no quotes.
func literal(v any) string {
	list := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "'{" + strings.Join(parts, ",") + "}'"
	}
	switch v := v.(type) {
	case []string:
		return list(len(v), func(i int) string { return `"` + v[i] + `"` })
	case []bool:
		return list(len(v), func(i int) string { return fmt.Sprint(v[i]) })
	case []int16:
		return list(len(v), func(i int) string { return fmt.Sprint(v[i]) })
	case []time.Time:
		return list(len(v), func(i int) string { return `"` + v[i].Format(time.RFC3339Nano) + `"` })
	case time.Time:
		return "'" + v.Format(time.RFC3339Nano) + "'"
	case string:
		return "'" + v + "'"
	default:
		return fmt.Sprint(v)
	}
}

// TestPostgresBatchesPlannedOnce runs small batches of every action and
// small Deletes on a store of one connection, then reads that session's
// prepared statements: PostgreSQL plans a prepared statement for its
// arguments five times, then keeps its generic plan unless that is priced
// above the custom ones. A batch statement that is planned again on every
// call spends more on planning than on running (0.2 ms of a 0.3 ms
// batch of four numbers), so each must have run on its generic plan.
func TestPostgresBatchesPlannedOnce(t *testing.T) {
	st, schema := MustOpenPostgres(t, sqlstore.WithMaxOpenConns(1))
	const n = 20000
	recs := make([]store.Number, 0, n)
	for i := range n {
		recs = append(recs, record(i, removal.Statuses()[i%4]))
	}
	mustPut(t, st, recs...)
	if _, err := st.DB().Exec(`ANALYZE "` + schema + `".numbers`); err != nil {
		t.Fatal(err)
	}
	svc := removal.NewService(st)
	ctx := context.Background()
	calls := []func(context.Context, []string) (removal.BatchResult, error){
		svc.MarkForRemoval, svc.ClearRemovalStatus, svc.RequestRelease, svc.WithdrawReleaseRequest, svc.MarkReadyForRemoval,
	}
	for i := range 40 {
		batch := make([]string, 4)
		for k := range batch {
			batch[k] = string(number((i*4 + k) * 7919 % n))
		}
		if _, err := calls[i%len(calls)](ctx, batch); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Delete(ctx, []e164.Number{e164.Number(batch[0]), e164.Number(batch[1])}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := st.DB().Query("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE NOT from_sql")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var q string
		var generic, custom int
		if err := rows.Scan(&q, &generic, &custom); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{"Apply": st.ApplyQuery(), "Delete": st.DeleteQuery()} {
			if q != want {
				continue
			}
			seen[name] = true
			if generic == 0 || custom > 5 {
				t.Errorf("%s: %d generic plans, %d custom: PostgreSQL plans it again on every call", name, generic, custom)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !seen["Apply"] || !seen["Delete"] {
		t.Fatalf("the session's prepared statements hold Apply %v, Delete %v: the test reads another session", seen["Apply"], seen["Delete"])
	}
}
