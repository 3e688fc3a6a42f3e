package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// tickingClock advances by step at every reading, so durations are exact.
func tickingClock(step time.Duration) func() time.Time {
	clk := &fakeClock{t: t0}
	return func() time.Time { clk.Add(step); return clk.Now() }
}

// TestObservations checks the observer and the access log see the same
// facts, once per request.
func TestObservations(t *testing.T) {
	// No limiter: the default one reads the same clock.
	f := newFixture(t, httpapi.WithClock(tickingClock(time.Millisecond)), httpapi.WithRateLimiter(nil))
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	f.post(t, httpapi.RouteReadyForRemoval, numbersBody("+14255551212", "+14255551214"), "traceparent", tp)
	f.do(t, http.MethodGet, httpapi.RouteSummary+"?msTenantId=bad", "", "")
	f.do(t, http.MethodDelete, httpapi.RouteSummary, "", "")
	f.do(t, http.MethodGet, "/secret/path", "", "")

	want := []httpapi.Observation{
		{Method: "POST", Route: httpapi.RouteReadyForRemoval, Status: 200, Duration: time.Millisecond,
			ProcessedCount: 2, SuccessCount: 1, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"},
		{Method: "GET", Route: httpapi.RouteSummary, Status: 400, Duration: time.Millisecond},
		{Method: "DELETE", Route: httpapi.RouteSummary, Status: 405, Duration: time.Millisecond},
		{Method: "GET", Route: "", Status: 404, Duration: time.Millisecond},
	}
	// Generated ids are checked for shape, then compared as present/absent.
	for i := range f.obs {
		o := &f.obs[i]
		if !traceRE.MatchString(o.TraceID) {
			t.Errorf("observation %d: traceId %q", i, o.TraceID)
		}
		if i > 0 {
			if !ticketRE.MatchString(o.ErrorTicket) {
				t.Errorf("observation %d: errorTicket %q", i, o.ErrorTicket)
			}
			o.TraceID, o.ErrorTicket = "", ""
		}
	}
	if diff := cmp.Diff(want, f.obs); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}

	lines := f.logs.lines(t)
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want 4: %v", len(lines), lines)
	}
	first := lines[0]
	delete(first, "time")
	wantFirst := map[string]any{
		"level": "INFO", "msg": "request", "method": "POST", "route": httpapi.RouteReadyForRemoval,
		"path": httpapi.RouteReadyForRemoval, "status": 200.0, "duration": float64(time.Millisecond),
		"processedCount": 2.0, "successCount": 1.0, "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	if diff := cmp.Diff(wantFirst, first); diff != "" {
		t.Errorf("access log line (-want +got):\n%s", diff)
	}
	for i, l := range lines[1:] {
		if l["errorTicket"] == nil || l["status"] != float64(want[i+1].Status) {
			t.Errorf("log line %d: %v", i+1, l)
		}
	}
}

// cancellingStore applies the first part numbers through the memstore, then
// cancels the request's context, and goes on as a store does: it stops with
// ctx.Err() if its context is done (within 500ms: the handler's context
// follows the request's asynchronously), else it applies the rest.
type cancellingStore struct {
	*memstore.Store
	part   int
	cancel func()
}

func (s cancellingStore) Apply(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out, err := s.Store.Apply(ctx, numbers[:s.part], c)
	if err != nil {
		return out, err
	}
	s.cancel()
	select {
	case <-ctx.Done():
		return out, ctx.Err()
	case <-time.After(500 * time.Millisecond):
	}
	rest, err := s.Store.Apply(ctx, numbers[s.part:], c)
	return append(out, rest...), err
}

// errShutdown is the cause a server cancels its requests with at shutdown.
var errShutdown = errors.New("server shutting down")

// TestCancelledMidBatch cancels the request's context after the first
// number of a batch. A plain cancellation, what net/http does when the
// client's side of the connection closes (a half-closed client is still
// waiting for the answer), does not stop a validated batch: every number is
// processed and the answer is the whole 200. A cancellation with a cause (a
// server's shutdown) stops it between chunks: the prefix is applied, the
// rest untouched, the partial result logged with the ticket, and the answer
// a 503 RequestCancelled with Retry-After.
func TestCancelledMidBatch(t *testing.T) {
	body := numbersBody("+14255551212", "+14255551213", "+14255551217")
	t.Run("PlainCancelRunsToCompletion", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := newFixtureOn(t, func(st *memstore.Store) removal.Store {
			return cancellingStore{Store: st, part: 1, cancel: cancel}
		})
		rec := f.send(t, request{method: http.MethodPost, target: httpapi.RouteReadyForRemoval, contentType: "application/json",
			body: strings.NewReader(body), ctx: ctx})
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"processedCount":3,"successCount":3`) {
			t.Fatalf("status %d, body %s; want the whole batch", rec.Code, rec.Body)
		}
		for _, n := range []e164.Number{"+14255551212", "+14255551213", "+14255551217"} {
			if s := f.status(t, n); s != removal.ReadyForRemoval {
				t.Errorf("%s: %s, want ReadyForRemoval", n, s)
			}
		}
		if o := f.obs[0]; o.Status != 200 || o.ProcessedCount != 3 || o.SuccessCount != 3 {
			t.Errorf("observation %+v", o)
		}
	})
	t.Run("CancelWithCauseStops", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		f := newFixtureOn(t, func(st *memstore.Store) removal.Store {
			return cancellingStore{Store: st, part: 1, cancel: func() { cancel(errShutdown) }}
		})
		rec := f.send(t, request{method: http.MethodPost, target: httpapi.RouteReadyForRemoval, contentType: "application/json",
			body: strings.NewReader(body), ctx: ctx})
		got := problem(t, rec)
		want := wantProblem("RequestCancelled", 503, "Request cancelled",
			"The request was cancelled after 1 of 3 numbers were processed (1 succeeded); the others are unchanged.", httpapi.RouteReadyForRemoval, nil)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("problem (-want +got):\n%s", diff)
		}
		if ra := rec.Header().Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		for n, st := range map[e164.Number]removal.NumberStatus{
			"+14255551212": removal.ReadyForRemoval, "+14255551213": removal.MarkedForRemoval, "+14255551217": removal.MarkedForRemoval,
		} {
			if s := f.status(t, n); s != st {
				t.Errorf("%s: %s, want %s", n, s, st)
			}
		}
		var warn map[string]any
		for _, l := range f.logs.lines(t) {
			if l["level"] == "WARN" {
				warn = l
			}
		}
		delete(warn, "time")
		delete(warn, "errorTicket")
		delete(warn, "traceId")
		wantWarn := map[string]any{
			"level": "WARN", "msg": "request cancelled", "route": httpapi.RouteReadyForRemoval,
			"requestedCount": 3.0, "processedCount": 1.0, "successCount": 1.0,
			"error": "context canceled", "cause": errShutdown.Error(),
		}
		if diff := cmp.Diff(wantWarn, warn); diff != "" {
			t.Errorf("warn line (-want +got):\n%s", diff)
		}
		if o := f.obs[0]; o.Status != 503 || o.ProcessedCount != 1 || o.SuccessCount != 1 {
			t.Errorf("observation %+v", o)
		}
	})
}

// TestDeadlineExpired checks a server deadline that expires before the
// store is reached: nothing changes and the waiting client gets 503.
func TestDeadlineExpired(t *testing.T) {
	for _, route := range []string{httpapi.RouteClearRemovalStatus, httpapi.RouteSummary} {
		t.Run(strings.TrimPrefix(route, "/api/v3/oc/"), func(t *testing.T) {
			ctx, cancel := context.WithDeadline(context.Background(), t0)
			defer cancel()
			f := newFixture(t)
			before := f.snapshot(t)
			method := http.MethodPost
			if route == httpapi.RouteSummary {
				method = http.MethodGet
			}
			rec := f.send(t, request{method: method, target: route, contentType: "application/json",
				body: strings.NewReader(numbersBody("+14255551212")), ctx: ctx})
			got := problem(t, rec)
			if got.Status != 503 || got.ErrorCode != "RequestCancelled" {
				t.Errorf("got %d %s, want 503 RequestCancelled", got.Status, got.ErrorCode)
			}
			if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
}

// panickingStore panics in Apply.
type panickingStore struct{ failingStore }

func (panickingStore) Apply(context.Context, []e164.Number, removal.Change) ([]removal.Outcome, error) {
	panic("store bug SECRET-INTERNAL")
}

// TestPanicIsInternalError checks a panic below the handler is answered 500,
// logged with the stack, and observed.
func TestPanicIsInternalError(t *testing.T) {
	f := newFixtureOn(t, func(*memstore.Store) removal.Store { return panickingStore{} })
	rec := f.post(t, httpapi.RouteClearRemovalStatus, numbersBody("+14255551212"))
	want := wantProblem("InternalError", 500, "Internal error", "", httpapi.RouteClearRemovalStatus, nil)
	if diff := cmp.Diff(want, problem(t, rec), cmpopts.IgnoreFields(httpapi.Problem{}, "Detail")); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
	if strings.Contains(rec.Body.String(), "SECRET") {
		t.Errorf("body leaks the panic: %s", rec.Body)
	}
	var logged bool
	for _, l := range f.logs.lines(t) {
		logged = logged || l["level"] == "ERROR" && strings.Contains(fmt.Sprint(l["error"]), "SECRET-INTERNAL") && strings.Contains(fmt.Sprint(l["error"]), "goroutine")
	}
	if !logged || len(f.obs) != 1 || f.obs[0].Status != 500 {
		t.Errorf("panic not logged with stack (%t) or not observed: %+v", logged, f.obs)
	}
}

// TestHeaders checks the headers every answer carries.
func TestHeaders(t *testing.T) {
	f := newFixture(t)
	for _, rec := range []*httptest.ResponseRecorder{
		f.post(t, httpapi.RouteClearRemovalStatus, numbersBody("+14255551212")),
		f.post(t, httpapi.RouteClearRemovalStatus, `{}`),
		f.do(t, http.MethodGet, httpapi.RouteSummary, "", ""),
		f.do(t, http.MethodGet, "/x", "", ""),
	} {
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%d answer headers %v", rec.Code, rec.Header())
		}
		if rec.Header().Get("Content-Length") != fmt.Sprint(rec.Body.Len()) {
			t.Errorf("Content-Length %q for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
		}
	}
}
