package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

// getJSON GETs path and decodes a 200 answer into v.
func getJSON(t *testing.T, s *server, path string, v any) {
	t.Helper()
	r := s.do(t, request{method: http.MethodGet, path: path})
	if r.status != http.StatusOK || mediaType(r.header) != "application/json" {
		t.Fatalf("GET %s: %d %s\n%s", path, r.status, r.header.Get("Content-Type"), r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, r.body)
	}
}

// postJSON posts v and returns the answer.
func postJSON(t *testing.T, s *server, path string, v any, hdr ...string) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	req := post(path, string(b))
	req.header = http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.header.Set(hdr[i], hdr[i+1])
	}
	return s.do(t, req)
}

// TestWorkflowRoutes drives the routes beyond the three original ones
// (clear-removal-status, ready-for-removal, summary) against the real binary:
// list, lookup, history with the request's trace id and actor,
// mark-for-removal, a 100,000-number reconcile body, purge.
func TestWorkflowRoutes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "workflow.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, e2eInventory), "-actor-header", "X-User")
	m := newModel(e2eInventory)

	t.Run("List", func(t *testing.T) {
		var page removal.NumberPage
		getJSON(t, s, httpapi.RouteNumbers+"?msTenantId="+strings.ToUpper(tenantA)+"&acquiredNumberStatus=Marked%20For%20Removal", &page)
		var want []string
		for _, tel := range m.tels() {
			if r := m[tel]; r.tenant == tenantA && r.oc && r.status == removal.MarkedForRemoval {
				want = append(want, tel)
			}
		}
		var got []string
		for _, n := range page.Data {
			got = append(got, string(n.TelephoneNumber))
			if n.MSTenantID != tenantA || !n.OperatorConnect || n.Status != removal.MarkedForRemoval {
				t.Errorf("listed %+v", n)
			}
		}
		if !slices.Equal(got, want) || page.TotalRecords != len(want) || page.CurrentPage != 1 || page.PageSize != 200 {
			t.Errorf("page %+v, want numbers %v", page, want)
		}
		// Keyset paging visits every OC number once, in order.
		var walked []string
		after := ""
		for range 20 {
			var p removal.NumberPage
			path := httpapi.RouteNumbers + "?pageSize=3"
			if after != "" {
				path += "&after=" + strings.ReplaceAll(after, "+", "%2B")
			}
			getJSON(t, s, path, &p)
			for _, n := range p.Data {
				walked = append(walked, string(n.TelephoneNumber))
			}
			if after = string(p.NextAfter); after == "" {
				break
			}
		}
		var oc []string
		for _, tel := range m.tels() {
			if m[tel].oc {
				oc = append(oc, tel)
			}
		}
		if !slices.Equal(walked, oc) {
			t.Errorf("walk by after = %v, want %v", walked, oc)
		}
	})

	t.Run("Lookup", func(t *testing.T) {
		var n removal.Number
		getJSON(t, s, "/api/v3/oc/numbers/%2B442071838751", &n)
		if n.OperatorConnect || n.MSTenantID != tenantB || n.Status != removal.Active {
			t.Errorf("lookup %+v", n)
		}
		checkProblem(t, s.do(t, request{method: http.MethodGet, path: "/api/v3/oc/numbers/+19995550000"}),
			wantProblem(404, removal.CodeNumberNotFound, "/api/v3/oc/numbers/+19995550000"))
		checkProblem(t, s.do(t, request{method: http.MethodGet, path: "/api/v3/oc/numbers/4255551212"}),
			wantProblem(400, removal.CodeInvalidTelephoneNumber, "/api/v3/oc/numbers/4255551212", "telephoneNumber"))
	})

	t.Run("HistoryWithTraceAndActor", func(t *testing.T) {
		r := postJSON(t, s, routeReady, map[string][]string{"telephoneNumbers": {"+14255551213"}}, "X-User", "ops@example.com")
		checkBatch(t, r, wantBatch(msgReady, 1))
		m.set("+14255551213", removal.ReadyForRemoval)
		var page removal.EventPage
		getJSON(t, s, "/api/v3/oc/numbers/%2B14255551213/history", &page)
		if page.TotalRecords != 2 || len(page.Data) != 2 {
			t.Fatalf("history %+v", page)
		}
		e := page.Data[0]
		if e.Action != removal.EventReadyForRemoval || e.TraceID != traceID || e.Actor != "ops@example.com" ||
			*e.FromStatus != removal.MarkedForRemoval || *e.ToStatus != removal.ReadyForRemoval {
			t.Errorf("newest event %+v", e)
		}
		if i := page.Data[1]; i.Action != removal.EventImport || i.FromStatus != nil {
			t.Errorf("import event %+v", i)
		}
	})

	t.Run("MarkForRemoval", func(t *testing.T) {
		r := s.do(t, post(httpapi.RouteMarkForRemoval, numbersBody("+14255551214", "+14255551215")))
		checkBatch(t, r, wantBatch("Numbers successfully marked for removal", 2))
		m.set("+14255551214", removal.MarkedForRemoval)
		m.set("+14255551215", removal.MarkedForRemoval)
	})

	t.Run("Reconcile100k", func(t *testing.T) {
		// Tenant B's list: its OC numbers but +14151231237, plus 100,000
		// numbers nobody holds.
		list := []string{"+14151231234", "+14151231235", "+14151231236", "+442071838750", "+442071838751"}
		for i := range 100_000 {
			list = append(list, fmt.Sprintf("+1303%07d", i))
		}
		r := postJSON(t, s, httpapi.RouteReconcile, map[string]any{"msTenantId": tenantB, "telephoneNumbers": list, "clearReappeared": true})
		if r.status != http.StatusOK {
			t.Fatalf("reconcile: %d %s", r.status, r.body[:min(len(r.body), 2000)])
		}
		var a httpapi.Answer[removal.ReconcileReport]
		if err := json.Unmarshal(r.body, &a); err != nil {
			t.Fatal(err)
		}
		rep := a.Data
		if rep.Unknown.Count != 100_000 || rep.NotOperatorConnect.Count != 1 || rep.StillAcquired.Count != 1 ||
			rep.Cleared.Count != 3 || rep.Marked.Count != 0 || rep.Unchanged.Count != 1 {
			t.Errorf("report counts: marked %d cleared %d stillAcquired %d unknown %d notOC %d unchanged %d",
				rep.Marked.Count, rep.Cleared.Count, rep.StillAcquired.Count, rep.Unknown.Count, rep.NotOperatorConnect.Count, rep.Unchanged.Count)
		}
		for _, tel := range []string{"+14151231234", "+14151231235", "+442071838750"} {
			m.set(tel, removal.Active)
		}
	})

	t.Run("Purge", func(t *testing.T) {
		// The imported numbers changed status at the import time: 0 days is old enough.
		r := postJSON(t, s, httpapi.RoutePurge, map[string]any{"olderThanDays": 0})
		var a httpapi.Answer[removal.PurgeResult]
		if err := json.Unmarshal(r.body, &a); err != nil || r.status != http.StatusOK || !a.Data.DryRun {
			t.Fatalf("dry run: %d %s", r.status, r.body)
		}
		var want []string
		for _, tel := range m.tels() {
			if r := m[tel]; r.oc && r.status == removal.ReadyForRemoval {
				want = append(want, tel)
			}
		}
		got := func() []string {
			var out []string
			for _, n := range a.Data.TelephoneNumbers {
				out = append(out, string(n))
			}
			return out
		}
		if !slices.Equal(got(), want) {
			t.Errorf("dry run would purge %v, want %v", got(), want)
		}
		r = postJSON(t, s, httpapi.RoutePurge, map[string]any{"olderThanDays": 0, "dryRun": false})
		if err := json.Unmarshal(r.body, &a); err != nil || r.status != http.StatusOK || a.Data.DryRun || !slices.Equal(got(), want) {
			t.Fatalf("purge: %d %s", r.status, r.body)
		}
		for _, tel := range want {
			delete(m, tel)
			var page removal.EventPage
			getJSON(t, s, "/api/v3/oc/numbers/"+strings.ReplaceAll(tel, "+", "%2B")+"/history", &page)
			if len(page.Data) == 0 || page.Data[0].Action != removal.EventPurge {
				t.Errorf("%s: history after purge %+v", tel, page.Data)
			}
		}
	})
	checkStore(t, openSQLite(t, db), m)
}

// TestImportMergeOnRestart restarts the server with the same -import: the
// workflow is not rewound; -import-mode replace restores the file.
func TestImportMergeOnRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restart.db")
	csv := writeCSV(t, e2eInventory)
	s := startServer(t, "-db", db, "-import", csv)
	checkBatch(t, s.do(t, post(routeReady, numbersBody("+14255551212"))), wantBatch(msgReady, 1))
	checkBatch(t, s.do(t, post(routeClear, numbersBody("+14255551213"))), wantBatch(msgCleared, 1))
	if err := s.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	m := newModel(e2eInventory)
	m.set("+14255551212", removal.ReadyForRemoval)
	m.set("+14255551213", removal.Active)

	s = startServer(t, "-db", db, "-import", csv)
	if !strings.Contains(s.stderr.String(), "statusKept=2") {
		t.Errorf("the log does not say 2 stored statuses were kept:\n%s", s.stderr)
	}
	if err := s.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	checkStore(t, openSQLite(t, db), m)

	s = startServer(t, "-db", db, "-import", csv, "-import-mode", "replace")
	if err := s.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	checkStore(t, openSQLite(t, db), newModel(e2eInventory))
}

// TestJobs runs the one-shot jobs: they print JSON and exit, with status 3
// when the guard refuses.
func TestJobs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "jobs.db")
	var rows []row
	for i := range 30 {
		rows = append(rows, row{fmt.Sprintf("+1206555%04d", i), tenantA, removal.Active, true})
	}
	rows = append(rows, row{"+12065559999", tenantA, removal.ReadyForRemoval, true})
	csv := writeCSV(t, rows)
	list := filepath.Join(dir, "acquired.csv")
	writeFile(t, list, "telephoneNumber\n+12065550000\n+12065559999\n")

	stdout, stderr, code := runServerToExit(t, "-db", db, "-import", csv, "-reconcile", tenantA+"="+list, "-dry-run")
	var rep removal.ReconcileReport
	if code != exitGuard || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Marked.Count != 29 || !rep.DryRun {
		t.Fatalf("guarded dry run: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "-force") || strings.Contains(stdout, "http://") {
		t.Errorf("stderr does not say how to go on, or a URL was printed:\n%s", stderr)
	}
	stdout, stderr, code = runServerToExit(t, "-db", db, "-reconcile", tenantA+"="+list, "-force")
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Marked.Count != 29 || rep.DryRun || rep.StillAcquired.Count != 1 {
		t.Fatalf("forced run: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	stdout, _, code = runServerToExit(t, "-db", db, "-reconcile", tenantA+"="+list)
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Marked.Count != 0 {
		t.Errorf("second run changed something: exit %d\n%s", code, stdout)
	}

	var res removal.PurgeResult
	stdout, stderr, code = runServerToExit(t, "-db", db, "-purge-older-than-days", "0", "-dry-run")
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.PurgedCount != 1 || !res.DryRun {
		t.Fatalf("purge dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runServerToExit(t, "-db", db, "-purge-older-than-days", "0")
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.PurgedCount != 1 || res.DryRun ||
		len(res.TelephoneNumbers) != 1 || res.TelephoneNumbers[0] != "+12065559999" {
		t.Fatalf("purge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	st := openSQLite(t, db)
	if got := snapshot(t, st, []string{"+12065559999", "+12065550001"}); got["+12065559999"] != nil || got["+12065550001"].Status != removal.MarkedForRemoval {
		t.Errorf("after the jobs: %+v", got)
	}

	for _, bad := range [][]string{
		{"-reconcile", "nofile"},
		{"-reconcile", tenantA + "=" + filepath.Join(dir, "absent.csv")},
		{"-reconcile", "abc=" + list},
		{"-force"},
		{"-purge-tenant", tenantA},
		{"-dry-run"},
		{"-reconcile", tenantA + "=" + list, "-purge-older-than-days", "1"},
	} {
		_, stderr, code := runServerToExit(t, append([]string{"-db", db}, bad...)...)
		if code != 1 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want 1 with a message", bad, code, stderr)
		}
	}
}

// TestNewcomerMessages: the log says why -demo loaded nothing and how to
// start fresh; an unusable -db directory is named.
func TestNewcomerMessages(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	s := startServer(t, "-db", db, "-demo")
	if err := s.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, "-db", db, "-demo")
	if log := s.stderr.String(); !strings.Contains(log, "demo inventory not loaded") || !strings.Contains(log, "delete "+db) {
		t.Errorf("second -demo start does not explain itself:\n%s", log)
	}
	_, stderr, code := runServerToExit(t, "-db", filepath.Join(dir, "absent", "x.db"))
	if code == 0 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("-db in a missing directory: exit %d, stderr:\n%s", code, stderr)
	}
	if os.Getuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runServerToExit(t, "-db", filepath.Join(ro, "x.db"))
		if code == 0 || !strings.Contains(stderr, "not writable") {
			t.Errorf("-db in a read-only directory: exit %d, stderr:\n%s", code, stderr)
		}
	}
}

// TestListHostileParameters: every bad list parameter is a quick 400 with a
// bounded answer, and changes nothing.
func TestListHostileParameters(t *testing.T) {
	db := filepath.Join(t.TempDir(), "list.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, e2eInventory))
	long := strings.Repeat("9", 60_000)
	for _, q := range []string{
		"pageSize=1e9", "pageSize=-1", "pageSize=0", "pageSize=1001", "pageSize=" + long, "pageNumber=" + long,
		"pageNumber=-5", "pageSize=%D9%A1%D9%A0", "pageSize=%EF%BC%91", "after=%2B" + long[:50_000], "after=abc",
		"after=%2B14255551212&pageNumber=2", "acquiredNumberStatus=" + long[:50_000], "acquiredNumberStatus=Gone",
		strings.Repeat("pageSize=5&", 4_000), "msTenantId=" + long[:50_000],
	} {
		start := time.Now()
		r := s.do(t, request{method: http.MethodGet, path: httpapi.RouteNumbers + "?" + q})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%.40s…: %v", q, d)
		}
		if r.status != http.StatusBadRequest || mediaType(r.header) != "application/problem+json" || len(r.body) > 4096 {
			t.Errorf("%.40s…: %d %s, %d bytes", q, r.status, r.header.Get("Content-Type"), len(r.body))
		}
	}
	checkStore(t, openSQLite(t, db), newModel(e2eInventory))
}

// inventoryExample keeps examples/server/inventory.example.csv loadable.
func TestInventoryExample(t *testing.T) {
	f, err := os.Open("inventory.example.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ns, err := store.ReadCSV(f)
	if err != nil || len(ns) != 7 {
		t.Fatalf("ReadCSV(inventory.example.csv) = %d numbers, %v", len(ns), err)
	}
	g, err := os.Open("acquired.example.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if list, err := store.ReadAcquiredCSV(g); err != nil || len(list) != 3 {
		t.Fatalf("ReadAcquiredCSV(acquired.example.csv) = %v, %v", list, err)
	}
}

// TestGlobalRateLimit: with the default -rate-limit-store db, two servers on
// one database admit at most -rate-limit ready-for-removal requests in the
// window between them, and a restart does not reset the count; with memory,
// each process counts its own.
func TestGlobalRateLimit(t *testing.T) {
	for _, b := range limitBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			args := append(b.args(t), "-import", writeCSV(t, e2eInventory), "-rate-limit", "5", "-rate-window", "1h")
			s1, s2 := startServer(t, args...), startServer(t, args...)
			admitted := func(s *server, n int) int {
				ok := 0
				for range n {
					r := s.do(t, post(routeReady, numbersBody("+19995550000")))
					switch r.status {
					case http.StatusOK:
						ok++
					case http.StatusTooManyRequests:
					default:
						t.Fatalf("status %d: %s", r.status, r.body)
					}
				}
				return ok
			}
			if got := admitted(s1, 4) + admitted(s2, 4) + admitted(s1, 2); got != 5 {
				t.Errorf("two servers admitted %d, want 5 in the window", got)
			}
			if err := s1.stop(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			s3 := startServer(t, args...)
			if got := admitted(s3, 3); got != 0 {
				t.Errorf("a restarted server admitted %d more, want 0", got)
			}
			m1 := startServer(t, append(args, "-rate-limit-store", "memory")...)
			m2 := startServer(t, append(args, "-rate-limit-store", "memory")...)
			if got := admitted(m1, 6) + admitted(m2, 6); got != 10 {
				t.Errorf("two servers counting in memory admitted %d, want 5 each", got)
			}
		})
	}
}

// limitBackend is a database two server processes can share.
type limitBackend struct {
	name string
	args func(t *testing.T) []string
}

func limitBackends(t *testing.T) []limitBackend {
	return []limitBackend{
		{"sqlite", func(t *testing.T) []string { return []string{"-db", filepath.Join(t.TempDir(), "limit.db")} }},
		{"postgres", func(t *testing.T) []string {
			return []string{"-postgres", pgtest.DSN(t), "-pg-schema", pgtest.Schema(t, "ocn_limit_")}
		}},
	}
}
