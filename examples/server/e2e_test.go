package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

const (
	routeClear   = httpapi.RouteClearRemovalStatus
	routeReady   = httpapi.RouteReadyForRemoval
	routeSummary = httpapi.RouteSummary
)

// e2eInventory is the e2e inventory: the platform's documented example
// numbers, every status, numbers that are not Operator Connect, two tenants.
var e2eInventory = []row{
	{"+14255551212", tenantA, removal.MarkedForRemoval, true},
	{"+14255551213", tenantA, removal.MarkedForRemoval, true},
	{"+14255551214", tenantA, removal.Active, true},
	{"+14255551215", tenantA, removal.ReleaseRequested, true},
	{"+14255551216", tenantA, removal.ReadyForRemoval, true},
	{"+14255551217", tenantA, removal.MarkedForRemoval, false},
	{"+14255551218", tenantA, removal.MarkedForRemoval, true},
	{"+14151231237", tenantB, removal.MarkedForRemoval, true},
	{"+14151231234", tenantB, removal.MarkedForRemoval, true},
	{"+14151231235", tenantB, removal.MarkedForRemoval, true},
	{"+14151231236", tenantB, removal.ReadyForRemoval, true},
	{"+442071838750", tenantB, removal.MarkedForRemoval, true},
	{"+442071838751", tenantB, removal.Active, false},
	{"+442071838752", tenantB, removal.ReadyForRemoval, false},
}

// model is what the store must hold: the test's own account of the
// workflow's rules, never read back from the server.
type model map[string]row

func newModel(rows []row) model {
	m := model{}
	for _, r := range rows {
		m[r.tel] = r
	}
	return m
}

func (m model) set(tel string, s removal.NumberStatus) {
	r := m[tel]
	r.status = s
	m[tel] = r
}

func (m model) tels() []string {
	var out []string
	for tel := range m {
		out = append(out, tel)
	}
	sort.Strings(out)
	return out
}

// summary recounts the model: Operator Connect numbers only.
func (m model) summary(tenant string) removal.Summary {
	var s removal.Summary
	for _, r := range m {
		if !r.oc || (tenant != "" && r.tenant != tenant) {
			continue
		}
		switch r.status {
		case removal.MarkedForRemoval:
			s.MarkedForRemovalCount++
		case removal.ReadyForRemoval:
			s.ReadyForRemovalCount++
		}
	}
	s.TotalCount = s.MarkedForRemovalCount + s.ReadyForRemovalCount
	return s
}

type stored struct {
	Tenant string
	OC     bool
	Status removal.NumberStatus
}

// checkStore compares every model number with the store, as another process
// sees it.
func checkStore(t testing.TB, st store.Store, m model) {
	t.Helper()
	want, got := map[string]*stored{}, map[string]*stored{}
	for tel, r := range m {
		want[tel] = &stored{r.tenant, r.oc, r.status}
	}
	for tel, n := range snapshot(t, st, m.tels()) {
		if n != nil {
			got[tel] = &stored{n.MSTenantID, n.OperatorConnect, n.Status}
		} else {
			got[tel] = nil
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("store mismatch (-want +got):\n%s", d)
	}
}

func checkSummary(t testing.TB, s *server, query string, want removal.Summary) {
	t.Helper()
	r := s.do(t, request{method: http.MethodGet, path: routeSummary + query})
	if r.status != http.StatusOK {
		t.Fatalf("summary%s: status %d, body:\n%s", query, r.status, r.body)
	}
	if mt := mediaType(r.header); mt != "application/json" {
		t.Errorf("summary Content-Type = %q", r.header.Get("Content-Type"))
	}
	if d := cmp.Diff(asJSON(t, want), decodeAny(t, r.body)); d != "" {
		t.Errorf("summary%s (-want +got):\n%s", query, d)
	}
}

// TestPlatformRules drives every rule of the three original endpoints
// (clear-removal-status, ready-for-removal, summary) against the real binary
// on SQLite with an imported CSV, checking each answer and the store, read by
// this process, afterwards.
func TestPlatformRules(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e2e.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, e2eInventory))
	st := openSQLite(t, db)
	m := newModel(e2eInventory)
	checkStore(t, st, m) // the import stored every row canonically

	type step struct {
		name    string
		req     request
		want    batchBody
		changes map[string]removal.NumberStatus // what the step moves
	}
	steps := []step{
		{
			name: "clear/MarkedForRemoval numbers return to Active",
			req:  post(routeClear, numbersBody("+14255551212", "+14151231234")),
			want: wantBatch(msgCleared, 2),
			changes: map[string]removal.NumberStatus{
				"+14255551212": removal.Active, "+14151231234": removal.Active,
			},
		},
		{
			name: "clear/ReadyForRemoval cannot be cleared",
			req:  post(routeClear, numbersBody("+14255551216")),
			want: wantBatch(msgCleared, 1, fail("+14255551216", removal.CodeInvalidStatus, removal.ReadyForRemoval)),
		},
		{
			name: "clear/Active and ReleaseRequested are not MarkedForRemoval",
			req:  post(routeClear, numbersBody("+14255551214", "+14255551215", "+14255551212")),
			want: wantBatch(msgCleared, 3,
				fail("+14255551214", removal.CodeInvalidStatus, removal.Active),
				fail("+14255551215", removal.CodeInvalidStatus, removal.ReleaseRequested),
				fail("+14255551212", removal.CodeInvalidStatus, removal.Active)),
		},
		{
			name: "clear/number not in the store",
			req:  post(routeClear, numbersBody("+14255559999")),
			want: wantBatch(msgCleared, 1, fail("+14255559999", removal.CodeNumberNotFound, 0)),
		},
		{
			name: "clear/number not Operator Connect",
			req:  post(routeClear, numbersBody("+14255551217")),
			want: wantBatch(msgCleared, 1, fail("+14255551217", removal.CodeNotOperatorConnect, removal.MarkedForRemoval)),
		},
		{
			name: "clear/partial success reports failures in request order",
			req:  post(routeClear, numbersBody("+14255559998", "+14255551213", "+442071838751", "+14151231236")),
			want: wantBatch(msgCleared, 4,
				fail("+14255559998", removal.CodeNumberNotFound, 0),
				fail("+442071838751", removal.CodeNotOperatorConnect, removal.Active),
				fail("+14151231236", removal.CodeInvalidStatus, removal.ReadyForRemoval)),
			changes: map[string]removal.NumberStatus{"+14255551213": removal.Active},
		},
		{
			name: "ready/MarkedForRemoval numbers become ReadyForRemoval",
			req:  post(routeReady, numbersBody("+14151231235", "+442071838750")),
			want: wantBatch(msgReady, 2),
			changes: map[string]removal.NumberStatus{
				"+14151231235": removal.ReadyForRemoval, "+442071838750": removal.ReadyForRemoval,
			},
		},
		{
			name: "ready/Active, ReleaseRequested and ReadyForRemoval are rejected",
			req:  post(routeReady, numbersBody("+14255551214", "+14255551215", "+14151231235")),
			want: wantBatch(msgReady, 3,
				fail("+14255551214", removal.CodeInvalidStatus, removal.Active),
				fail("+14255551215", removal.CodeInvalidStatus, removal.ReleaseRequested),
				fail("+14151231235", removal.CodeInvalidStatus, removal.ReadyForRemoval)),
		},
		{
			name: "ready/not found and not Operator Connect",
			req:  post(routeReady, numbersBody("+14255559999", "+14255551217", "+442071838752")),
			want: wantBatch(msgReady, 3,
				fail("+14255559999", removal.CodeNumberNotFound, 0),
				fail("+14255551217", removal.CodeNotOperatorConnect, removal.MarkedForRemoval),
				fail("+442071838752", removal.CodeNotOperatorConnect, removal.ReadyForRemoval)),
		},
		{
			name: "ready/cleared numbers are Active now",
			req:  post(routeReady, numbersBody("+14255551212")),
			want: wantBatch(msgReady, 1, fail("+14255551212", removal.CodeInvalidStatus, removal.Active)),
		},
		{
			name: "ready/ReadyForRemoval is final: clearing it later fails",
			req:  post(routeClear, numbersBody("+442071838750")),
			want: wantBatch(msgCleared, 1, fail("+442071838750", removal.CodeInvalidStatus, removal.ReadyForRemoval)),
		},
		{
			name: "content type/any +json type with parameters is accepted",
			req: request{method: http.MethodPost, path: routeClear, contentType: "application/vnd.ocnumbers+json; charset=utf-8",
				body: []byte(numbersBody("+14255559999"))},
			want: wantBatch(msgCleared, 1, fail("+14255559999", removal.CodeNumberNotFound, 0)),
		},
		{
			name: "unknown fields are ignored",
			req:  post(routeClear, `{"telephoneNumbers":["+14255559999"],"reason":{"x":[1,2]},"msTenantId":"nope"}`),
			want: wantBatch(msgCleared, 1, fail("+14255559999", removal.CodeNumberNotFound, 0)),
		},
	}
	// MaxBatchSize is allowed: 500 numbers, each with its own outcome.
	var tels []string
	var notFound []failure
	for i := range removal.MaxBatchSize {
		tels = append(tels, fmt.Sprintf("+1206555%04d", i))
		notFound = append(notFound, fail(tels[i], removal.CodeNumberNotFound, 0))
	}
	steps = append(steps, step{name: "ready/500 numbers are processed one by one", req: post(routeReady, numbersBody(tels...)), want: wantBatch(msgReady, 500, notFound...)})

	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			before := time.Now().UTC().Truncate(time.Microsecond)
			checkBatch(t, s.do(t, c.req), c.want)
			after := time.Now().UTC()
			for tel, status := range c.changes {
				m.set(tel, status)
				n, err := st.Get(context.Background(), e164.Number(tel))
				if err != nil {
					t.Fatal(err)
				}
				// status_changed_at is the service clock's now (same host).
				if n.StatusChangedAt.Before(before) || n.StatusChangedAt.After(after) {
					t.Errorf("%s: StatusChangedAt %v not within the request [%v, %v]", tel, n.StatusChangedAt, before, after)
				}
			}
			checkStore(t, st, m)
		})
	}

	t.Run("summary", func(t *testing.T) {
		for _, c := range []struct{ name, query, tenant string }{
			{"all tenants when msTenantId is absent", "", ""},
			{"all tenants when msTenantId is empty", "?msTenantId=", ""},
			{"one tenant", "?msTenantId=" + tenantA, tenantA},
			{"tenant in upper case and braces", "?msTenantId=" + url.QueryEscape("{"+strings.ToUpper(tenantB)+"}"), tenantB},
			{"unknown tenant counts nothing", "?msTenantId=00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000001"},
			{"other query parameters are ignored", "?foo=bar&msTenantId=" + tenantB, tenantB},
		} {
			t.Run(c.name, func(t *testing.T) { checkSummary(t, s, c.query, m.summary(c.tenant)) })
		}
		// Guard the model itself: the inventory leaves something to count,
		// and non-OC numbers in removal statuses exist but are not counted.
		if got := m.summary(""); got.MarkedForRemovalCount == 0 || got.ReadyForRemovalCount == 0 {
			t.Fatalf("model summary %+v: the inventory no longer exercises both counts", got)
		}
	})
	checkStore(t, st, m)
}

// TestBadInputs sends every bad input of the batch routes and checks the
// problem body and that the store did not change.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bad.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, e2eInventory))
	st := openSQLite(t, db)
	m := newModel(e2eInventory)

	many := func(n int) string {
		tels := make([]string, n)
		for i := range tels {
			tels[i] = fmt.Sprintf("+1425%07d", i)
		}
		return numbersBody(tels...)
	}
	// A body of exactly size bytes that would clear +14255551212 if accepted.
	padded := func(size int) []byte {
		head := `{"telephoneNumbers":["+14255551212"],"pad":"`
		return []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
	}
	cases := []struct {
		name  string
		req   request
		want  problem
		allow []string // for 405: the methods Allow must list
	}{
		{name: "empty body", req: post(routeClear, ""),
			want: wantProblem(400, removal.CodeNullRequestBody, routeClear, "telephoneNumbers")},
		{name: "no body at all", req: request{method: http.MethodPost, path: routeReady, contentType: "application/json"},
			want: wantProblem(400, removal.CodeNullRequestBody, routeReady, "telephoneNumbers")},
		{name: "null", req: post(routeClear, "null"),
			want: wantProblem(400, removal.CodeNullRequestBody, routeClear, "telephoneNumbers")},
		{name: "empty object", req: post(routeReady, "{}"),
			want: wantProblem(400, removal.CodeNullRequestBody, routeReady, "telephoneNumbers")},
		{name: "telephoneNumbers null", req: post(routeClear, `{"telephoneNumbers": null}`),
			want: wantProblem(400, removal.CodeNullRequestBody, routeClear, "telephoneNumbers")},
		{name: "string instead of array", req: post(routeClear, `{"telephoneNumbers": "+14255551212"}`),
			want: wantProblem(400, httpapi.CodeInvalidRequestBody, routeClear)},
		{name: "numbers that are not strings", req: post(routeReady, `{"telephoneNumbers": [14255551212, 14255551213]}`),
			want: wantProblem(400, httpapi.CodeInvalidRequestBody, routeReady)},
		{name: "array body instead of object", req: post(routeClear, `["+14255551212"]`),
			want: wantProblem(400, httpapi.CodeInvalidRequestBody, routeClear)},
		{name: "0 numbers", req: post(routeClear, `{"telephoneNumbers": []}`),
			want: wantProblem(400, removal.CodeBatchSizeOutOfRange, routeClear, "telephoneNumbers")},
		{name: "501 numbers", req: post(routeReady, many(501)),
			want: wantProblem(400, removal.CodeBatchSizeOutOfRange, routeReady, "telephoneNumbers")},
		{name: "invalid E.164 listed by index",
			req: post(routeClear, numbersBody("+14255551212", "14255551213", "+14255551214", "+1 425 555 1215", "+99912345678", "+1425555121x")),
			want: wantProblem(400, removal.CodeInvalidTelephoneNumber, routeClear,
				"telephoneNumbers[1]", "telephoneNumbers[3]", "telephoneNumbers[4]", "telephoneNumbers[5]")},
		{name: "duplicates", req: post(routeReady, numbersBody("+14255551212", "+14255551213", "+14255551212")),
			want: wantProblem(400, removal.CodeDuplicateTelephoneNumber, routeReady, "telephoneNumbers[2]")},
		{name: "invalid then duplicate: first code, every problem listed",
			req:  post(routeClear, numbersBody("+14255551212", "", "+14255551212")),
			want: wantProblem(400, removal.CodeInvalidTelephoneNumber, routeClear, "telephoneNumbers[1]", "telephoneNumbers[2]")},
		{name: "truncated JSON", req: post(routeClear, `{"telephoneNumbers": ["+14255551212"`),
			want: wantProblem(400, httpapi.CodeInvalidRequestBody, routeClear)},
		{name: "trailing garbage", req: post(routeClear, `{"telephoneNumbers": ["+14255551212"]} x`),
			want: wantProblem(400, httpapi.CodeInvalidRequestBody, routeClear)},
		{name: "two JSON values", req: post(routeReady, `{"telephoneNumbers": ["+14255551212"]}{}`),
			want: wantProblem(400, httpapi.CodeInvalidRequestBody, routeReady)},
		{name: "wrong content type",
			req:  request{method: http.MethodPost, path: routeClear, contentType: "text/plain", body: []byte(numbersBody("+14255551212"))},
			want: wantProblem(415, httpapi.CodeUnsupportedMediaType, routeClear)},
		{name: "missing content type",
			req:  request{method: http.MethodPost, path: routeReady, body: []byte(numbersBody("+14255551212"))},
			want: wantProblem(415, httpapi.CodeUnsupportedMediaType, routeReady)},
		{name: "form content type",
			req:  request{method: http.MethodPost, path: routeClear, contentType: "application/x-www-form-urlencoded", body: []byte("telephoneNumbers=%2B14255551212")},
			want: wantProblem(415, httpapi.CodeUnsupportedMediaType, routeClear)},
		{name: "body one byte over 1 MiB",
			req:  request{method: http.MethodPost, path: routeClear, contentType: "application/json", body: padded(1<<20 + 1)},
			want: wantProblem(413, httpapi.CodeRequestTooLarge, routeClear)},
		{name: "wrong method on a POST route", req: request{method: http.MethodGet, path: routeClear},
			want: wantProblem(405, httpapi.CodeMethodNotAllowed, routeClear), allow: []string{"POST"}},
		{name: "wrong method on the summary", req: request{method: http.MethodPost, path: routeSummary, contentType: "application/json", body: []byte("{}")},
			want: wantProblem(405, httpapi.CodeMethodNotAllowed, routeSummary), allow: []string{"GET"}},
		{name: "unknown path", req: request{method: http.MethodGet, path: "/api/v3/oc/number"},
			want: wantProblem(404, httpapi.CodeNotFound, "/api/v3/oc/number")},
		{name: "unknown path below a route", req: post(routeClear+"/x", numbersBody("+14255551212")),
			want: wantProblem(404, httpapi.CodeNotFound, routeClear+"/x")},
		{name: "msTenantId not a GUID", req: request{method: http.MethodGet, path: routeSummary + "?msTenantId=contoso"},
			want: wantProblem(400, removal.CodeInvalidTenantID, routeSummary, "msTenantId")},
		{name: "msTenantId without hyphens", req: request{method: http.MethodGet, path: routeSummary + "?msTenantId=" + strings.ReplaceAll(tenantA, "-", "")},
			want: wantProblem(400, removal.CodeInvalidTenantID, routeSummary, "msTenantId")},
		{name: "msTenantId with one brace", req: request{method: http.MethodGet, path: routeSummary + "?msTenantId=%7B" + tenantA},
			want: wantProblem(400, removal.CodeInvalidTenantID, routeSummary, "msTenantId")},
		{name: "msTenantId repeated", req: request{method: http.MethodGet, path: routeSummary + "?msTenantId=" + tenantA + "&msTenantId=" + tenantA},
			want: repeatedTenant()},
		{name: "msTenantId repeated, one empty", req: request{method: http.MethodGet, path: routeSummary + "?msTenantId=&msTenantId=" + tenantA},
			want: repeatedTenant()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, c.req)
			checkProblem(t, r, c.want)
			if c.allow != nil {
				checkAllow(t, r.header, c.allow)
			}
			checkStore(t, st, m)
		})
	}

	t.Run("body of exactly 1 MiB is accepted", func(t *testing.T) {
		r := s.do(t, request{method: http.MethodPost, path: routeReady, contentType: "application/json", body: padded(1 << 20)})
		checkBatch(t, r, wantBatch(msgReady, 1))
		m.set("+14255551212", removal.ReadyForRemoval)
		checkStore(t, st, m)
	})
}

// repeatedTenant is the problem for a repeated msTenantId: the platform fixes
// the code and title; the platform's "not a Guid" wording would be wrong here,
// so the detail is the implementation's.
func repeatedTenant() problem {
	p := wantProblem(400, removal.CodeInvalidTenantID, routeSummary, "msTenantId")
	p.Detail = someText
	return p
}

// TestProblemIDs: without traceparent the traceId is generated in W3C form;
// every problem gets its own errorTicket, and the server logs it.
func TestProblemIDs(t *testing.T) {
	s := startServer(t, "-db", filepath.Join(t.TempDir(), "ids.db"))
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for i := range 2 {
		r := s.do(t, request{method: http.MethodPost, path: routeClear, contentType: "application/json", body: []byte("null"), noTrace: true})
		var p problem
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != 400 {
			t.Fatalf("request %d: %d %v: %s", i, r.status, err, r.body)
		}
		if !hex32.MatchString(p.TraceID) || p.TraceID == traceID {
			t.Errorf("generated traceId %q: want 32 lower-case hex digits", p.TraceID)
		}
		if p.ErrorTicket == "" || seen[p.ErrorTicket] {
			t.Errorf("errorTicket %q is empty or repeated", p.ErrorTicket)
		}
		seen[p.ErrorTicket] = true
		// The access log line is written after the response; wait for it.
		for j := 0; j < 100 && !strings.Contains(s.stderr.String(), p.ErrorTicket); j++ {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(s.stderr.String(), p.ErrorTicket) {
			t.Errorf("errorTicket %s is not in the server log:\n%s", p.ErrorTicket, s.stderr)
		}
	}
}

// checkAllow asserts that Allow lists the route's methods and no other
// method that changes state.
func checkAllow(t testing.TB, h http.Header, want []string) {
	t.Helper()
	got := map[string]bool{}
	for _, v := range h.Values("Allow") {
		for _, m := range strings.Split(v, ",") {
			got[strings.TrimSpace(m)] = true
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("Allow %q lacks %s", h.Values("Allow"), w)
		}
		delete(got, w)
	}
	delete(got, http.MethodHead) // HEAD comes with GET
	if len(got) > 0 {
		t.Errorf("Allow %q lists methods the route does not serve", h.Values("Allow"))
	}
}

// TestRateLimit: the 301st ready-for-removal request in a window gets 429
// (here with -rate-limit 3), whatever the earlier ones' outcomes; the other
// routes are not limited.
func TestRateLimit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rate.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, e2eInventory), "-rate-limit", "3", "-rate-window", "1h")
	st := openSQLite(t, db)
	m := newModel(e2eInventory)

	checkBatch(t, s.do(t, post(routeReady, numbersBody("+14255551212"))), wantBatch(msgReady, 1))
	m.set("+14255551212", removal.ReadyForRemoval)
	checkProblem(t, s.do(t, post(routeReady, "{}")), wantProblem(400, removal.CodeNullRequestBody, routeReady, "telephoneNumbers"))
	checkBatch(t, s.do(t, post(routeReady, numbersBody("+14255559999"))),
		wantBatch(msgReady, 1, fail("+14255559999", removal.CodeNumberNotFound, 0)))

	r := s.do(t, post(routeReady, numbersBody("+14255551213")))
	checkProblem(t, r, wantProblem(429, httpapi.CodeRateLimitExceeded, routeReady))
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 3600 {
		t.Errorf("Retry-After = %q, want whole seconds in [1, 3600]", r.header.Get("Retry-After"))
	}
	checkBatch(t, s.do(t, post(routeClear, numbersBody("+14255551213"))), wantBatch(msgCleared, 1))
	m.set("+14255551213", removal.Active)
	checkSummary(t, s, "", m.summary(""))
	checkStore(t, st, m)
}

// TestImportFailure: a bad CSV row makes the server exit non-zero without
// serving, naming the line and column, and loads nothing of the file.
func TestImportFailure(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "import.db")
	csv := filepath.Join(dir, "bad.csv")
	writeFile(t, csv, "telephoneNumber,msTenantId,status\n"+
		"+14255551212,"+tenantA+",MarkedForRemoval\n"+
		"1425555121,"+tenantA+",Active\n")
	stdout, stderr, code := runServerToExit(t, "-db", db, "-import", csv)
	if code == 0 {
		t.Errorf("exit status 0, want non-zero")
	}
	if urlLine.MatchString(stdout) || strings.Contains(stdout, "http://") {
		t.Errorf("stdout announces a URL although the import failed:\n%s", stdout)
	}
	if !strings.Contains(stderr, "line 3, column telephoneNumber") {
		t.Errorf("stderr does not name line 3, column telephoneNumber:\n%s", stderr)
	}
	st := openSQLite(t, db)
	if got := snapshot(t, st, []string{"+14255551212"}); got["+14255551212"] != nil {
		t.Errorf("line 2 was stored although line 3 failed: %+v", got["+14255551212"])
	}

	t.Run("missing file", func(t *testing.T) {
		_, stderr, code := runServerToExit(t, "-db", db, "-import", filepath.Join(dir, "absent.csv"))
		if code == 0 || !strings.Contains(stderr, "absent.csv") {
			t.Errorf("exit %d, stderr:\n%s\nwant non-zero naming the file", code, stderr)
		}
	})
	t.Run("-db with -postgres", func(t *testing.T) {
		_, stderr, code := runServerToExit(t, "-db", db, "-postgres", "postgres://127.0.0.1:1/x")
		if code == 0 || !strings.Contains(stderr, "exclusive") {
			t.Errorf("exit %d, stderr:\n%s\nwant non-zero, flags exclusive", code, stderr)
		}
	})
}

// TestDemo runs the README's commands: -demo on a fresh database, the three
// curl requests, and a restart that keeps the changes.
func TestDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	s := startServer(t, "-db", db, "-demo")
	checkSummary(t, s, "", removal.Summary{MarkedForRemovalCount: 4, ReadyForRemovalCount: 2, TotalCount: 6})
	checkBatch(t, s.do(t, post(routeClear, numbersBody("+14255551212"))), wantBatch(msgCleared, 1))
	checkBatch(t, s.do(t, post(routeReady, numbersBody("+14255551213"))), wantBatch(msgReady, 1))
	checkSummary(t, s, "?msTenantId="+demoContoso, removal.Summary{ReadyForRemovalCount: 2, TotalCount: 2})
	if err := s.stop(30 * time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.stderr)
	}

	s2 := startServer(t, "-db", db, "-demo")
	checkSummary(t, s2, "", removal.Summary{MarkedForRemovalCount: 2, ReadyForRemovalCount: 3, TotalCount: 5})
	st := openSQLite(t, db)
	if n, err := st.Get(context.Background(), "+14255551212"); err != nil || n.Status != removal.Active {
		t.Errorf("after restart with -demo: +14255551212 = %+v, %v; want Active (demo not reloaded)", n, err)
	}
}

// TestGracefulShutdown: SIGTERM while a batch is in flight lets it finish.
// The request is held mid-body (Expect: 100-continue proves the handler is
// reading it), the signal is sent, and once the listener is closed the rest
// of the body goes out: the answer must be the full 200 and the exit clean.
func TestGracefulShutdown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shutdown.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, e2eInventory))
	addr := strings.TrimPrefix(s.URL, "http://")

	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	body := numbersBody("+14255551212", "+14151231234")
	split := len(body) / 2
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		routeClear, addr, len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // blank line after 100
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, body[:split]); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Shutdown has begun once new connections are refused.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if i == 200 {
			t.Fatal("listener still open 10s after SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body[split:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight request cut off by shutdown: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkBatch(t, response{status: resp.StatusCode, header: resp.Header, body: b}, wantBatch(msgCleared, 2))
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("exit: %v\n%s", s.err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("server still running 30s after its last request")
	}
	m := newModel(e2eInventory)
	m.set("+14255551212", removal.Active)
	m.set("+14151231234", removal.Active)
	checkStore(t, openSQLite(t, db), m)
}
