package main

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// TestBaselineMatchesServer proves that BenchmarkLoadVsBaseline compares
// like with like: on the same inventory, the same sequence of batches gets
// the same status codes from the real server and the baseline, and the
// same 200 bodies, byte for byte.
func TestBaselineMatchesServer(t *testing.T) {
	dsn := pgtest.DSN(t)
	inv := newBenchInventory()
	var bodies [2][]response
	for i, kind := range []string{kindOCN, kindBase} {
		schema := pgtest.Schema(t, "ocn_lbcmp_")
		inv.load(t, dsn, schema)
		var s *server
		if kind == kindOCN {
			s = startServer(t, "-postgres", dsn, "-pg-schema", schema, "-log-level", "WARN")
		} else {
			s = startBaselineServer(t, "-postgres", dsn, "-pg-schema", schema)
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
	}
	for i := range bodies[0] {
		o, b := bodies[0][i], bodies[1][i]
		if o.status != b.status {
			t.Errorf("request %d: ocnumbers answered %d, baseline %d", i, o.status, b.status)
		}
		if d := cmp.Diff(string(o.body), string(b.body)); d != "" {
			t.Errorf("request %d: bodies differ (-ocnumbers +baseline):\n%s", i, d)
		}
	}
}
