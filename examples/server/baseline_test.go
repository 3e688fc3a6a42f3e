package main

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// TestBaselineMatchesServer proves that BenchmarkLoadVsBaseline compares
// like with like: on the same inventory, the same sequence of batches gets
// the same status codes from the real server and the baseline (with and
// without -history), and the same 200 bodies, byte for byte; with -history
// the baseline leaves the same events as the server (but for their times
// and trace ids), and without it none.
func TestBaselineMatchesServer(t *testing.T) {
	dsn := pgtest.DSN(t)
	inv := newBenchInventory()
	kinds := []string{kindOCN, kindBase, kindBase + " -history"}
	bodies := make([][]response, len(kinds))
	events := make([][]string, len(kinds))
	for i, kind := range kinds {
		schema := pgtest.Schema(t, "ocn_lbcmp_")
		inv.load(t, dsn, schema)
		var s *server
		switch kind {
		case kindOCN:
			s = startServer(t, "-postgres", dsn, "-pg-schema", schema, "-log-level", "WARN")
		case kindBase:
			s = startBaselineServer(t, "-postgres", dsn, "-pg-schema", schema)
		default:
			s = startBaselineServer(t, "-postgres", dsn, "-pg-schema", schema, "-history")
		}
		oc0, oc1, other, absent := inv.pool[0], inv.pool[1], inv.pool[inv.oc], inv.pool[len(inv.pool)-1]
		for _, r := range []request{
			post(httpapi.RouteMarkForRemoval, numbersBody(oc0, oc1, other, absent)), // oc0 Active, oc1 MarkedForRemoval
			post(httpapi.RouteMarkForRemoval, numbersBody(oc0)),                     // now MarkedForRemoval: InvalidStatus
			post(httpapi.RouteClearRemovalStatus, numbersBody(oc1, oc0)),
			post(httpapi.RouteClearRemovalStatus, numbersBody(oc0, absent, other)),
			post(httpapi.RouteClearRemovalStatus, numbersBody(inv.pool[:500]...)),
			post(httpapi.RouteMarkForRemoval, numbersBody(inv.pool[:500]...)),
			post(httpapi.RouteMarkForRemoval, numbersBody(oc0, oc0)),
			post(httpapi.RouteMarkForRemoval, numbersBody("+1 425")),
			post(httpapi.RouteMarkForRemoval, numbersBody(inv.pool[:501]...)),
			post(httpapi.RouteMarkForRemoval, `{"telephoneNumbers":[]}`),
			post(httpapi.RouteMarkForRemoval, `{}`),
			{method: http.MethodPost, path: httpapi.RouteMarkForRemoval, contentType: "text/plain", body: []byte(numbersBody(oc0))},
		} {
			resp := s.do(t, r)
			if resp.status != http.StatusOK {
				resp.body = nil // problem bodies differ by design
			}
			resp.header = nil
			bodies[i] = append(bodies[i], resp)
		}
		events[i] = batchEvents(t, schema)
	}
	if len(events[0]) == 0 {
		t.Fatal("the server wrote no events")
	}
	for k := 1; k < len(kinds); k++ {
		for i := range bodies[0] {
			o, b := bodies[0][i], bodies[k][i]
			if o.status != b.status {
				t.Errorf("request %d: ocnumbers answered %d, %s %d", i, o.status, kinds[k], b.status)
			}
			if d := cmp.Diff(string(o.body), string(b.body)); d != "" {
				t.Errorf("request %d: bodies differ (-ocnumbers +%s):\n%s", i, kinds[k], d)
			}
		}
	}
	if len(events[1]) != 0 {
		t.Errorf("the baseline without -history wrote %d events", len(events[1]))
	}
	if d := cmp.Diff(events[0], events[2]); d != "" {
		t.Errorf("events differ (-ocnumbers +baseline -history):\n%s", d)
	}
}

// batchEvents returns the events of the schema's history that are not
// imports, in the order written, each as "number tenant action from to
// has-trace-id".
func batchEvents(t *testing.T, schema string) []string {
	t.Helper()
	db, _ := pgtest.Admin(t)
	rows, err := db.Query("SELECT concat_ws(' ', telephone_number, ms_tenant_id, action, from_status, to_status, trace_id IS NOT NULL, at IS NOT NULL)" +
		" FROM " + pgx.Identifier{schema, "history"}.Sanitize() + " WHERE action <> 'import' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var evs []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}
