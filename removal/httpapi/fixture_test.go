package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

const (
	tenantA = "6f1c2b9e-3d4a-4b8c-9e7f-0a1b2c3d4e5f"
	tenantB = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"
)

// inventory is the store every fixture starts with. Summary over all
// tenants: marked 3 (n1, n2, n6; n4 is not Operator Connect), ready 1.
var inventory = []store.Number{
	{TelephoneNumber: "+14255551212", MSTenantID: tenantA, OperatorConnect: true, Status: removal.MarkedForRemoval},  // n1
	{TelephoneNumber: "+14255551213", MSTenantID: tenantA, OperatorConnect: true, Status: removal.MarkedForRemoval},  // n2
	{TelephoneNumber: "+14255551214", MSTenantID: tenantA, OperatorConnect: true, Status: removal.Active},            // n3
	{TelephoneNumber: "+14255551215", MSTenantID: tenantB, OperatorConnect: false, Status: removal.MarkedForRemoval}, // n4
	{TelephoneNumber: "+14255551216", MSTenantID: tenantB, OperatorConnect: true, Status: removal.ReadyForRemoval},   // n5
	{TelephoneNumber: "+14255551217", MSTenantID: tenantB, OperatorConnect: true, Status: removal.MarkedForRemoval},  // n6
}

var (
	ticketRE = regexp.MustCompile(`^[A-Z2-7]{26}$`)
	traceRE  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a handler over a memstore holding inventory, with its logs and
// observations captured.
type fixture struct {
	st   *memstore.Store
	h    http.Handler
	base string // prefix the handler is mounted under, "" for none
	doc  oaDoc
	logs *syncBuffer
	mu   sync.Mutex
	obs  []httpapi.Observation
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines decodes the JSON log lines.
func (s *syncBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func newFixture(t testing.TB, opts ...httpapi.Option) *fixture {
	t.Helper()
	return newFixtureOn(t, nil, opts...)
}

// newFixtureOn builds the fixture; wrap, when not nil, wraps the memstore
// the service uses.
func newFixtureOn(t testing.TB, wrap func(*memstore.Store) removal.Store, opts ...httpapi.Option) *fixture {
	t.Helper()
	st := memstore.New()
	if err := st.Put(context.Background(), inventory...); err != nil {
		t.Fatal(err)
	}
	var port removal.Store = st
	if wrap != nil {
		port = wrap(st)
	}
	f := &fixture{st: st, doc: loadOpenAPI(t), logs: &syncBuffer{}}
	all := append([]httpapi.Option{
		httpapi.WithLogger(slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		httpapi.WithObserver(func(o httpapi.Observation) { f.mu.Lock(); f.obs = append(f.obs, o); f.mu.Unlock() }),
	}, opts...)
	f.h = httpapi.New(removal.NewService(port), all...)
	return f
}

// snapshot reads every inventory number back.
func (f *fixture) snapshot(t testing.TB) map[e164.Number]store.Number {
	t.Helper()
	m := map[e164.Number]store.Number{}
	for _, n := range inventory {
		got, err := f.st.Get(context.Background(), n.TelephoneNumber)
		if err != nil {
			t.Fatal(err)
		}
		m[n.TelephoneNumber] = got
	}
	return m
}

// status reads one number's status.
func (f *fixture) status(t testing.TB, n e164.Number) removal.NumberStatus {
	t.Helper()
	got, err := f.st.Get(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return got.Status
}

// request is one call; hdr holds header name/value pairs.
type request struct {
	method, target, contentType string
	body                        io.Reader
	hdr                         []string
	ctx                         context.Context
}

// send serves r and checks the answer against the OpenAPI document.
func (f *fixture) send(t testing.TB, r request) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(r.method, f.base+r.target, r.body)
	if r.ctx != nil {
		req = req.WithContext(r.ctx)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for i := 0; i+1 < len(r.hdr); i += 2 {
		req.Header.Add(r.hdr[i], r.hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	path, _, _ := strings.Cut(r.target, "?")
	checkResponse(t, f.doc, r.method, path, rec)
	return rec
}

// do sends a request with a string body.
func (f *fixture) do(t testing.TB, method, target, contentType, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	return f.send(t, request{method: method, target: target, contentType: contentType, body: strings.NewReader(body), hdr: hdr})
}

// post sends JSON to a batch route.
func (f *fixture) post(t testing.TB, route, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(t, http.MethodPost, route, "application/json", body, hdr...)
}

// problem decodes a problem answer strictly, checks its generated fields
// have their documented shapes, and clears them for comparison.
func problem(t testing.TB, rec *httptest.ResponseRecorder) httpapi.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p httpapi.Problem
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body, err)
	}
	if p.Status != rec.Code {
		t.Errorf("problem status %d, HTTP status %d", p.Status, rec.Code)
	}
	if !ticketRE.MatchString(p.ErrorTicket) {
		t.Errorf("errorTicket %q does not match %v", p.ErrorTicket, ticketRE)
	}
	if !traceRE.MatchString(p.TraceID) {
		t.Errorf("traceId %q does not match %v", p.TraceID, traceRE)
	}
	p.ErrorTicket, p.TraceID = "", ""
	return p
}

// wantProblem is the expected problem for a code, with the generated fields
// empty (see problem).
func wantProblem(code string, status int, title, detail, instance string, errs map[string][]string) httpapi.Problem {
	return httpapi.Problem{
		Type: "https://ocnumbers.dev/problems/" + code, Title: title, Status: status, Detail: detail,
		Instance: instance, ErrorCode: code, Errors: errs,
	}
}

// numbersBody is {"telephoneNumbers": [...]}.
func numbersBody(numbers ...string) string {
	b, _ := json.Marshal(map[string][]string{"telephoneNumbers": numbers})
	return string(b)
}
