package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

// decodeStrict decodes a 200 JSON answer, refusing unknown members.
func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

func TestMarkForRemovalRoute(t *testing.T) {
	// One request a minute on the limiter: mark-for-removal must not use it.
	f := newFixture(t, httpapi.WithRateLimiter(httpapi.NewSlidingWindow(1, time.Minute, nil)))
	for range 3 {
		rec := f.post(t, httpapi.RouteMarkForRemoval, numbersBody("+14255551214", "+14255551212", "+14255559999"))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	if got := f.status(t, "+14255551214"); got != removal.MarkedForRemoval {
		t.Errorf("+14255551214 is %s, want MarkedForRemoval", got)
	}
	f = newFixture(t)
	rec := f.post(t, httpapi.RouteMarkForRemoval, numbersBody("+14255551214"))
	want := `{"data":{"processedCount":1,"successCount":1,"failures":[]},"status":"success","succeeded":true,"message":"Numbers successfully marked for removal"}`
	if rec.Body.String() != want {
		t.Errorf("body %s, want %s", rec.Body, want)
	}
	rec = f.post(t, httpapi.RouteMarkForRemoval, numbersBody("+14255551214", "+14255551216"))
	var env httpapi.Envelope
	decodeStrict(t, rec.Body.Bytes(), &env)
	if env.Status != "failure" || env.Message != "0 of 2 numbers marked for removal; 2 failed" || len(env.Data.Failures) != 2 {
		t.Errorf("second mark: %s", rec.Body)
	}
	p := problem(t, f.post(t, httpapi.RouteMarkForRemoval, `{"telephoneNumbers": []}`))
	if p.ErrorCode != removal.CodeBatchSizeOutOfRange {
		t.Errorf("empty batch: %+v", p)
	}
}

func item(tel e164.Number) removal.Number {
	for _, n := range inventory {
		if n.TelephoneNumber == tel {
			n.StatusChangedAt = n.StatusChangedAt.UTC()
			return n
		}
	}
	panic("no " + tel)
}

func items(tels ...e164.Number) []removal.Number {
	out := []removal.Number{}
	for _, t := range tels {
		out = append(out, item(t))
	}
	return out
}

func TestListRoute(t *testing.T) {
	const n1, n2, n3, n5, n6 = "+14255551212", "+14255551213", "+14255551214", "+14255551216", "+14255551217"
	upperB := "{" + strings.ToUpper(tenantB) + "}"
	tests := []struct {
		query string
		want  removal.NumberPage
	}{
		{"", removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 5, Data: items(n1, n2, n3, n5, n6)}},
		{"?pageSize=2", removal.NumberPage{CurrentPage: 1, PageSize: 2, TotalPages: 3, TotalRecords: 5, Data: items(n1, n2), NextAfter: n2}},
		{"?pagesize=2&PAGENUMBER=3", removal.NumberPage{CurrentPage: 3, PageSize: 2, TotalPages: 3, TotalRecords: 5, Data: items(n6)}},
		{"?pageSize=2&pageNumber=4", removal.NumberPage{CurrentPage: 4, PageSize: 2, TotalPages: 3, TotalRecords: 5, Data: items()}},
		{"?pageSize=2&pageNumber=99999999999", removal.NumberPage{CurrentPage: 99999999999, PageSize: 2, TotalPages: 3, TotalRecords: 5, Data: items()}},
		{"?after=%2B14255551213&pageSize=2", removal.NumberPage{PageSize: 2, TotalPages: 3, TotalRecords: 5, Data: items(n3, n5), NextAfter: n5}},
		{"?after=%2B14255551213&pageNumber=1", removal.NumberPage{PageSize: 200, TotalPages: 1, TotalRecords: 5, Data: items(n3, n5, n6)}},
		{"?after=%2B19999999999", removal.NumberPage{PageSize: 200, TotalPages: 1, TotalRecords: 5, Data: items()}},
		{"?acquiredNumberStatus=Marked%20For%20Removal", removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 3, Data: items(n1, n2, n6)}},
		{"?acquiredNumberStatus=2,%203,2", removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 4, Data: items(n1, n2, n5, n6)}},
		{"?acquiredNumberStatus=", removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 5, Data: items(n1, n2, n3, n5, n6)}},
		{"?MSTENANTID=" + upperB + "&acquiredNumberStatus=readyforremoval", removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 1, Data: items(n5)}},
		{"?msTenantId=" + tenantA + "&pageSize=1&pageNumber=2", removal.NumberPage{CurrentPage: 2, PageSize: 1, TotalPages: 3, TotalRecords: 3, Data: items(n2), NextAfter: n2}},
		// A look-alike name is not msTenantId: it is ignored like any unknown parameter.
		{"?m\u017fTenantId=" + tenantA + "&x=y", removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 5, Data: items(n1, n2, n3, n5, n6)}},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := f.do(t, http.MethodGet, httpapi.RouteNumbers+tt.query, "", "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got removal.NumberPage
			decodeStrict(t, rec.Body.Bytes(), &got)
			if diff := cmp.Diff(tt.want, got, equalTimes); diff != "" {
				t.Errorf("page (-want +got):\n%s", diff)
			}
		})
	}
}

var equalTimes = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func TestListRouteBadQueries(t *testing.T) {
	long := strings.Repeat("9", 60_000)
	many := strings.Repeat("pageSize=1&", 10_000)
	tests := []struct {
		name, query, code string
		fields            []string
	}{
		{"PageSizeZero", "?pageSize=0", "InvalidQueryParameter", []string{"pageSize"}},
		{"PageSizeNegative", "?pageSize=-1", "InvalidQueryParameter", []string{"pageSize"}},
		{"PageSizeOver", "?pageSize=1001", "InvalidQueryParameter", []string{"pageSize"}},
		{"PageSizeExponent", "?pageSize=1e9", "InvalidQueryParameter", []string{"pageSize"}},
		{"PageSizeHuge", "?pageSize=" + long, "InvalidQueryParameter", []string{"pageSize"}},
		{"PageSizePlus", "?pageSize=%2B5", "InvalidQueryParameter", []string{"pageSize"}},
		{"PageSizeArabicDigits", "?pageSize=%D9%A1%D9%A0", "InvalidQueryParameter", []string{"pageSize"}},
		{"PageSizeNotNumber", "?pageSize=ten", "InvalidQueryParameter", []string{"pageSize"}},
		{"PageNumberZero", "?pageNumber=0", "InvalidQueryParameter", []string{"pageNumber"}},
		{"PageNumberOverflow", "?pageNumber=99999999999999999999999", "InvalidQueryParameter", []string{"pageNumber"}},
		{"BothBad", "?pageNumber=0&pageSize=0", "InvalidQueryParameter", []string{"pageNumber", "pageSize"}},
		{"AfterNotE164", "?after=abc", "InvalidQueryParameter", []string{"after"}},
		{"AfterPlusAsSpace", "?after=+14255551212", "InvalidQueryParameter", []string{"after"}},
		{"AfterHuge", "?after=%2B" + long, "InvalidQueryParameter", []string{"after"}},
		{"AfterWithPage2", "?after=%2B14255551212&pageNumber=2", "InvalidQueryParameter", []string{"pageNumber"}},
		{"StatusUnknown", "?acquiredNumberStatus=Gone", "InvalidQueryParameter", []string{"acquiredNumberStatus"}},
		{"StatusKelvin", "?acquiredNumberStatus=Mar%E2%84%AAedForRemoval", "InvalidQueryParameter", []string{"acquiredNumberStatus"}},
		{"StatusEmptyItem", "?acquiredNumberStatus=2,,3", "InvalidQueryParameter", []string{"acquiredNumberStatus"}},
		{"PageSizeTwice", "?pageSize=1&PageSize=2", "InvalidQueryParameter", []string{"pageSize"}},
		{"ManyRepeats", "?" + many, "InvalidQueryParameter", []string{"pageSize"}},
		{"BadEscape", "?after=%ZZ", "InvalidQueryParameter", []string{"after"}},
		{"TenantTwice", "?msTenantId=&msTenantId=", "InvalidTenantId", []string{"msTenantId"}},
		{"TenantBad", "?msTenantId=abc", "InvalidTenantId", []string{"msTenantId"}},
		// Every problem is listed, whichever layer finds it.
		{"TenantAndPageSize", "?msTenantId=bad&pageSize=0", "InvalidTenantId", []string{"msTenantId", "pageSize"}},
		{"AfterAndPageSize", "?after=abc&pageSize=0", "InvalidQueryParameter", []string{"after", "pageSize"}},
		{"AfterAndStatus", "?after=abc&acquiredNumberStatus=Bogus", "InvalidQueryParameter", []string{"acquiredNumberStatus", "after"}},
		{"TenantAndRepeat", "?msTenantId=bad&pageSize=1&pageSize=2", "InvalidTenantId", []string{"msTenantId", "pageSize"}},
		{"TenantTwiceAndAfter", "?after=x&msTenantId=a&msTenantId=b", "InvalidTenantId", []string{"after", "msTenantId"}},
		{"BadEscapeAndTenant", "?after=%ZZ&msTenantId=bad", "InvalidTenantId", []string{"after", "msTenantId"}},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			rec := f.do(t, http.MethodGet, httpapi.RouteNumbers+tt.query, "", "")
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if rec.Body.Len() > 4096 {
				t.Errorf("answer is %d bytes: values are not cut", rec.Body.Len())
			}
			p := problem(t, rec)
			if p.ErrorCode != tt.code {
				t.Errorf("errorCode %s, want %s", p.ErrorCode, tt.code)
			}
			var fields []string
			for k := range p.Errors {
				fields = append(fields, k)
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("errors %v, want fields %v", p.Errors, tt.fields)
			}
		})
	}
}

func TestNumberRoute(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/api/v3/oc/numbers/+14255551215", "/api/v3/oc/numbers/%2B14255551215"} {
		rec := f.do(t, http.MethodGet, path, "", "")
		var got removal.Number
		decodeStrict(t, rec.Body.Bytes(), &got)
		if rec.Code != http.StatusOK || !cmp.Equal(got, item("+14255551215"), equalTimes) {
			t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
	}
	want := `{"telephoneNumber":"+14255551215","tenantId":"` + tenantB + `","acquiredNumberStatus":"MarkedForRemoval","operatorConnect":false,"statusChangedAt":"0001-01-01T00:00:00.000000Z"}`
	if rec := f.do(t, http.MethodGet, "/api/v3/oc/numbers/+14255551215", "", ""); rec.Body.String() != want {
		t.Errorf("body %s, want %s", rec.Body, want)
	}
	if rec := f.do(t, http.MethodHead, "/api/v3/oc/numbers/+14255551215", "", ""); rec.Code != http.StatusOK {
		t.Errorf("HEAD: %d", rec.Code)
	}
	for path, code := range map[string]string{
		"/api/v3/oc/numbers/14255551215":  removal.CodeInvalidTelephoneNumber,
		"/api/v3/oc/numbers/action":       removal.CodeInvalidTelephoneNumber,
		"/api/v3/oc/numbers/+14255559999": removal.CodeNumberNotFound,
	} {
		p := problem(t, f.do(t, http.MethodGet, path, "", ""))
		if p.ErrorCode != code || p.Instance != path {
			t.Errorf("GET %s: %+v, want %s", path, p, code)
		}
	}
	if rec := f.do(t, http.MethodDelete, "/api/v3/oc/numbers/+14255551215", "", ""); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestHistoryRoute(t *testing.T) {
	f := newFixture(t, httpapi.WithActor(func(r *http.Request) string { return r.Header.Get("X-Actor") }))
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	rec := f.post(t, httpapi.RouteClearRemovalStatus, numbersBody("+14255551212"),
		"traceparent", "00-"+trace+"-00f067aa0ba902b7-01", "X-Actor", "ops@example.com")
	if rec.Code != http.StatusOK {
		t.Fatal(rec.Body)
	}
	rec = f.do(t, http.MethodGet, "/api/v3/oc/numbers/%2B14255551212/history", "", "")
	var page removal.EventPage
	decodeStrict(t, rec.Body.Bytes(), &page)
	if rec.Code != http.StatusOK || page.TotalRecords != 2 || len(page.Data) != 2 || page.CurrentPage != 1 || page.PageSize != 200 || page.TotalPages != 1 {
		t.Fatalf("history: %d %s", rec.Code, rec.Body)
	}
	e := page.Data[0]
	if e.Action != removal.EventClearRemovalStatus || *e.FromStatus != removal.MarkedForRemoval || *e.ToStatus != removal.Active ||
		e.TraceID != trace || e.Actor != "ops@example.com" {
		t.Errorf("newest event %+v", e)
	}
	if got, _ := f.st.Get(t.Context(), "+14255551212"); !got.StatusChangedAt.Equal(e.At) {
		t.Errorf("event at %v, number changed at %v", e.At, got.StatusChangedAt)
	}
	if old := page.Data[1]; old.Action != removal.EventImport || old.FromStatus != nil || *old.ToStatus != removal.MarkedForRemoval {
		t.Errorf("oldest event %+v", old)
	}
	if !strings.Contains(rec.Body.String(), `"action":"import","toStatus":"MarkedForRemoval","at":`) {
		t.Errorf("absent members not left out: %s", rec.Body)
	}
	rec = f.do(t, http.MethodGet, "/api/v3/oc/numbers/+14255551212/history?pageSize=1&pageNumber=2", "", "")
	decodeStrict(t, rec.Body.Bytes(), &page)
	if page.TotalPages != 2 || len(page.Data) != 1 || page.Data[0].Action != removal.EventImport {
		t.Errorf("second page: %s", rec.Body)
	}
	for path, code := range map[string]string{
		"/api/v3/oc/numbers/+14255559999/history":            removal.CodeNumberNotFound,
		"/api/v3/oc/numbers/x/history":                       removal.CodeInvalidTelephoneNumber,
		"/api/v3/oc/numbers/+14255551212/history?pageSize=0": removal.CodeInvalidQueryParameter,
	} {
		if p := problem(t, f.do(t, http.MethodGet, path, "", "")); p.ErrorCode != code {
			t.Errorf("GET %s: %+v, want %s", path, p, code)
		}
	}
	// Every problem is listed: the number's and the page's.
	p := problem(t, f.do(t, http.MethodGet, "/api/v3/oc/numbers/abc/history?pageSize=0&pageNumber=1&pageNumber=2", "", ""))
	if p.ErrorCode != removal.CodeInvalidTelephoneNumber || len(p.Errors) != 3 ||
		p.Errors["telephoneNumber"] == nil || p.Errors["pageSize"] == nil || p.Errors["pageNumber"] == nil {
		t.Errorf("bad number and page: %+v", p)
	}
	// A stored number without events has an empty history, not a 404.
	if _, err := f.st.PruneHistory(t.Context(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	rec = f.do(t, http.MethodGet, "/api/v3/oc/numbers/+14255551212/history", "", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"totalRecords":0,"data":[]`) {
		t.Errorf("pruned history: %d %s", rec.Code, rec.Body)
	}
}

// reconcileFixture adds 20 Active Operator Connect numbers of tenant C.
const tenantC = "0f8fad5b-d9cb-469f-a165-70867728950e"

func reconcileFixture(t *testing.T) *fixture {
	f := newFixture(t)
	var ns []store.Number
	for i := range 20 {
		ns = append(ns, store.Number{TelephoneNumber: e164.Number("+1303555" + strconv.Itoa(1000+i)), MSTenantID: tenantC, OperatorConnect: true})
	}
	if err := f.st.Put(t.Context(), ns...); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReconcileRoute(t *testing.T) {
	body := func(v map[string]any) string { b, _ := json.Marshal(v); return string(b) }
	t.Run("Run", func(t *testing.T) {
		f := reconcileFixture(t)
		rec := f.post(t, httpapi.RouteReconcile, body(map[string]any{"msTenantId": strings.ToUpper(tenantA),
			"telephoneNumbers": []string{"+14255551212", "+14255551216", "+14255551215", "+14255559999", "+14255551212"}}))
		var a httpapi.Answer[removal.ReconcileReport]
		decodeStrict(t, rec.Body.Bytes(), &a)
		list := func(ns ...e164.Number) removal.NumberList {
			if ns == nil {
				ns = []e164.Number{}
			}
			return removal.NumberList{Count: len(ns), TelephoneNumbers: ns}
		}
		want := removal.ReconcileReport{MSTenantID: tenantA,
			Marked: list("+14255551214"), Cleared: list(), Reappeared: list("+14255551212"), StillAcquired: list(),
			Unknown: list("+14255559999"), OtherTenant: list("+14255551215", "+14255551216"), NotOperatorConnect: list(),
			Skipped:   removal.SkippedList{TelephoneNumbers: []e164.Number{}, Failures: []removal.Failure{}},
			Unchanged: removal.Count{Count: 1}}
		if rec.Code != http.StatusOK || a.Status != "success" || !a.Succeeded {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if diff := cmp.Diff(want, a.Data); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
		if got := f.status(t, "+14255551214"); got != removal.MarkedForRemoval {
			t.Errorf("+14255551214 is %s, want MarkedForRemoval", got)
		}
	})
	t.Run("DryRunAndGuard", func(t *testing.T) {
		f := reconcileFixture(t)
		before := f.snapshot(t)
		req := map[string]any{"msTenantId": tenantC, "telephoneNumbers": []string{}, "dryRun": true}
		rec := f.post(t, httpapi.RouteReconcile, body(req))
		p := problem(t, rec)
		if rec.Code != http.StatusConflict || p.ErrorCode != httpapi.CodeReconcileGuard || p.Report == nil || p.Report.Marked.Count != 20 || !p.Report.DryRun {
			t.Fatalf("guard: %d %s", rec.Code, rec.Body)
		}
		req["force"] = true
		rec = f.post(t, httpapi.RouteReconcile, body(req))
		var a httpapi.Answer[removal.ReconcileReport]
		decodeStrict(t, rec.Body.Bytes(), &a)
		if rec.Code != http.StatusOK || a.Data.Marked.Count != 20 || !a.Data.DryRun || !strings.HasPrefix(a.Message, "Dry run") {
			t.Fatalf("forced dry run: %d %s", rec.Code, rec.Body)
		}
		if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
			t.Errorf("a dry run changed the store:\n%s", diff)
		}
		req["dryRun"], req["maxMarkPercent"] = false, 100
		delete(req, "force")
		rec = f.post(t, httpapi.RouteReconcile, body(req))
		decodeStrict(t, rec.Body.Bytes(), &a)
		if rec.Code != http.StatusOK || a.Data.Marked.Count != 20 || a.Data.DryRun {
			t.Fatalf("run with maxMarkPercent 100: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		f := reconcileFixture(t)
		before := f.snapshot(t)
		const both = "msTenantId telephoneNumbers"
		tests := []struct {
			name, body, code string
			fields           string // the members of errors, sorted; "" for none (a body that is not a valid object)
		}{
			{"Empty", "", removal.CodeNullRequestBody, both},
			{"Null", "null", removal.CodeNullRequestBody, both},
			{"EmptyObject", "{}", removal.CodeNullRequestBody, both},
			{"NoNumbers", `{"msTenantId":"` + tenantC + `"}`, removal.CodeNullRequestBody, "telephoneNumbers"},
			{"NullNumbers", `{"msTenantId":"` + tenantC + `","telephoneNumbers":null}`, removal.CodeNullRequestBody, "telephoneNumbers"},
			{"NoTenant", `{"telephoneNumbers":[]}`, removal.CodeNullRequestBody, "msTenantId"},
			{"EmptyTenant", `{"msTenantId":"","telephoneNumbers":[]}`, removal.CodeInvalidTenantID, "msTenantId"},
			{"BadTenant", `{"msTenantId":"abc","telephoneNumbers":[]}`, removal.CodeInvalidTenantID, "msTenantId"},
			{"BadNumber", `{"msTenantId":"` + tenantC + `","telephoneNumbers":["+14255551212","1"]}`, removal.CodeInvalidTelephoneNumber, "telephoneNumbers[1]"},
			{"PercentOver", `{"msTenantId":"` + tenantC + `","telephoneNumbers":[],"maxMarkPercent":101}`, removal.CodeInvalidRequestBody, "maxMarkPercent"},
			{"PercentNegative", `{"msTenantId":"` + tenantC + `","telephoneNumbers":[],"maxMarkPercent":-1}`, removal.CodeInvalidRequestBody, "maxMarkPercent"},
			{"PercentFraction", `{"msTenantId":"` + tenantC + `","telephoneNumbers":[],"maxMarkPercent":1.5}`, removal.CodeInvalidRequestBody, "maxMarkPercent"},
			{"PercentString", `{"msTenantId":"` + tenantC + `","telephoneNumbers":[],"maxMarkPercent":"10"}`, removal.CodeInvalidRequestBody, ""},
			{"DryRunString", `{"msTenantId":"` + tenantC + `","telephoneNumbers":[],"dryRun":"yes"}`, removal.CodeInvalidRequestBody, ""},
			{"NumbersTwice", `{"msTenantId":"` + tenantC + `","telephoneNumbers":[],"TelephoneNumbers":[]}`, removal.CodeInvalidRequestBody, ""},
			{"LookAlikeKey", `{"msTenantId":"` + tenantC + `","telephoneNumber\u017f":[]}`, removal.CodeNullRequestBody, "telephoneNumbers"},
			{"Trailing", `{"msTenantId":"` + tenantC + `","telephoneNumbers":[]} x`, removal.CodeInvalidRequestBody, ""},
			{"NotObject", `[]`, removal.CodeInvalidRequestBody, ""},
			// Every problem is listed, whichever layer finds it.
			{"TenantNumberPercent", `{"msTenantId":"bad","telephoneNumbers":["x"],"maxMarkPercent":101}`, removal.CodeInvalidTenantID,
				"maxMarkPercent msTenantId telephoneNumbers[0]"},
			{"EmptyTenantNullNumbersPercent", `{"msTenantId":"","maxMarkPercent":-1}`, removal.CodeNullRequestBody, "maxMarkPercent msTenantId telephoneNumbers"},
			{"BadTenantNoNumbers", `{"msTenantId":"bad"}`, removal.CodeNullRequestBody, "msTenantId telephoneNumbers"},
			{"BadTenantNoNumbersPercent", `{"msTenantId":"bad","maxMarkPercent":101}`, removal.CodeNullRequestBody, "maxMarkPercent msTenantId telephoneNumbers"},
			{"NoTenantBadNumber", `{"telephoneNumbers":["x"],"maxMarkPercent":1.5}`, removal.CodeNullRequestBody, "maxMarkPercent msTenantId telephoneNumbers[0]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := f.post(t, httpapi.RouteReconcile, tt.body)
				p := problem(t, rec)
				if p.ErrorCode != tt.code || rec.Code != http.StatusBadRequest {
					t.Errorf("%d %+v, want 400 %s", rec.Code, p, tt.code)
				}
				if got := errorFields(p); got != tt.fields {
					t.Errorf("errors %v, want the members %q", p.Errors, tt.fields)
				}
			})
		}
		p := problem(t, f.post(t, httpapi.RouteReconcile, `{"msTenantId":"`+tenantC+`","telephoneNumbers":["+14255551212","1","x"]}`))
		if len(p.Errors) != 2 || p.Errors["telephoneNumbers[1]"] == nil || p.Errors["telephoneNumbers[2]"] == nil {
			t.Errorf("errors %v, want telephoneNumbers[1] and [2]", p.Errors)
		}
		// An empty tenant is worded as every other bad tenant.
		if p := problem(t, f.post(t, httpapi.RouteReconcile, `{"msTenantId":"","telephoneNumbers":[]}`)); p.Detail != removal.TenantIDMessage {
			t.Errorf("empty tenant: detail %q, want %q", p.Detail, removal.TenantIDMessage)
		}
		// A list with more invalid numbers than are listed says how many
		// there are and how many errors holds.
		var bad []string
		for i := range 150 {
			bad = append(bad, `"x`+strconv.Itoa(i)+`"`)
		}
		p = problem(t, f.post(t, httpapi.RouteReconcile, `{"msTenantId":"`+tenantC+`","telephoneNumbers":[`+strings.Join(bad, ",")+`],"maxMarkPercent":101}`))
		wantDetail := `The request has 151 problems; errors lists 101 of them (50 more invalid telephone numbers are not listed); the first: "x0" is not a valid E.164 number: contains 'x' at position 0`
		if p.Detail != wantDetail || len(p.Errors) != 101 || p.Errors["telephoneNumbers[99]"] == nil || p.Errors["maxMarkPercent"] == nil {
			t.Errorf("150 bad numbers: detail %q, %d members of errors\nwant %q, 101 members", p.Detail, len(p.Errors), wantDetail)
		}
		rec := f.do(t, http.MethodPost, httpapi.RouteReconcile, "text/plain", "{}")
		if rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain: %d", rec.Code)
		}
		big := `{"msTenantId":"` + tenantC + `","telephoneNumbers":[],"x":"` + strings.Repeat("x", httpapi.MaxReconcileBodyBytes) + `"}`
		if rec := f.post(t, httpapi.RouteReconcile, big); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("body over 32 MiB: %d", rec.Code)
		}
		if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
			t.Errorf("a refused request changed the store:\n%s", diff)
		}
	})
}

func TestPurgeRoute(t *testing.T) {
	f := newFixture(t)
	before := f.snapshot(t)
	rec := f.post(t, httpapi.RoutePurge, `{"olderThanDays": 90}`)
	want := `{"data":{"dryRun":true,"purgedCount":1,"telephoneNumbers":["+14255551216"],"more":false},"status":"success","succeeded":true,"message":"Dry run, nothing deleted: 1 numbers would be purged"}`
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Fatalf("dry run: %d %s\nwant %s", rec.Code, rec.Body, want)
	}
	if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
		t.Errorf("a dry run changed the store:\n%s", diff)
	}
	rec = f.post(t, httpapi.RoutePurge, `{"OlderThanDays": 90, "dryRun": false, "msTenantId": "`+tenantB+`", "limit": 10000}`)
	want = `{"data":{"dryRun":false,"purgedCount":1,"telephoneNumbers":["+14255551216"],"more":false},"status":"success","succeeded":true,"message":"1 numbers purged"}`
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Fatalf("purge: %d %s\nwant %s", rec.Code, rec.Body, want)
	}
	if p := problem(t, f.do(t, http.MethodGet, "/api/v3/oc/numbers/+14255551216", "", "")); p.ErrorCode != removal.CodeNumberNotFound {
		t.Errorf("purged number: %+v", p)
	}
	rec = f.do(t, http.MethodGet, "/api/v3/oc/numbers/+14255551216/history", "", "")
	var page removal.EventPage
	decodeStrict(t, rec.Body.Bytes(), &page)
	if rec.Code != http.StatusOK || len(page.Data) == 0 || page.Data[0].Action != removal.EventPurge || page.Data[0].ToStatus != nil {
		t.Errorf("history of the purged number: %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct{ body, code, fields string }{
		{"", removal.CodeNullRequestBody, "olderThanDays"},
		{"{}", removal.CodeNullRequestBody, "olderThanDays"},
		{`{"olderThanDays": null}`, removal.CodeNullRequestBody, "olderThanDays"},
		{`{"olderThanDays": -1}`, removal.CodeInvalidRequestBody, "olderThanDays"},
		{`{"olderThanDays": 36501}`, removal.CodeInvalidRequestBody, "olderThanDays"},
		{`{"olderThanDays": 1.5}`, removal.CodeInvalidRequestBody, "olderThanDays"},
		{`{"olderThanDays": "90"}`, removal.CodeInvalidRequestBody, ""},
		{`{"olderThanDays": 90, "limit": 10001}`, removal.CodeInvalidRequestBody, "limit"},
		{`{"olderThanDays": 90, "limit": 0}`, removal.CodeInvalidRequestBody, "limit"},
		{`{"olderThanDays": 90, "msTenantId": "abc"}`, removal.CodeInvalidTenantID, "msTenantId"},
		{`{"olderThanDays": 90, "dryRun": 0}`, removal.CodeInvalidRequestBody, ""},
		// Every problem is listed, whichever layer finds it.
		{`{"olderThanDays": -1, "limit": 0, "msTenantId": "bad"}`, removal.CodeInvalidRequestBody, "limit msTenantId olderThanDays"},
		{`{"limit": 0}`, removal.CodeNullRequestBody, "limit olderThanDays"},
		{`{"msTenantId": "bad"}`, removal.CodeNullRequestBody, "msTenantId olderThanDays"},
	} {
		rec := f.post(t, httpapi.RoutePurge, tt.body)
		p := problem(t, rec)
		if p.ErrorCode != tt.code || rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %+v, want 400 %s", tt.body, rec.Code, p, tt.code)
		}
		if got := errorFields(p); got != tt.fields {
			t.Errorf("%s: errors %v, want the members %q", tt.body, p.Errors, tt.fields)
		}
	}
}

// errorFields is the members of a problem's errors, sorted, space-separated.
func errorFields(p httpapi.Problem) string {
	var fields []string
	for k := range p.Errors {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	return strings.Join(fields, " ")
}
