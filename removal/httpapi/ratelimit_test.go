package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

var t0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// TestSlidingWindow drives the limiter alone with a fake clock: at most
// limit admissions in any window, a slot frees exactly when the oldest
// admission is window old, refusals are not recorded.
func TestSlidingWindow(t *testing.T) {
	clk := &fakeClock{t: t0}
	l := httpapi.NewSlidingWindow(3, 10*time.Second, clk.Now)
	type step struct {
		at    time.Duration // since t0
		ok    bool
		retry time.Duration
	}
	steps := []step{
		{0, true, 0},
		{1 * time.Second, true, 0},
		{2 * time.Second, true, 0},
		{5 * time.Second, false, 5 * time.Second}, // oldest (0s) leaves at 10s
		{9*time.Second + 999*time.Millisecond, false, time.Millisecond},        // refusals did not count
		{10 * time.Second, true, 0},                                            // exactly window old: slot free
		{10*time.Second + 500*time.Millisecond, false, 500 * time.Millisecond}, // oldest now 1s
		{11 * time.Second, true, 0},
		{12 * time.Second, true, 0},
		{12 * time.Second, false, 8 * time.Second}, // 10s, 11s, 12s in the window
		{30 * time.Second, true, 0},
		{30 * time.Second, true, 0},
		{30 * time.Second, true, 0},
		{30 * time.Second, false, 10 * time.Second},
		{25 * time.Second, false, 10 * time.Second}, // clock went back: capped at the window
	}
	for i, s := range steps {
		clk.mu.Lock()
		clk.t = t0.Add(s.at)
		clk.mu.Unlock()
		ok, retry, err := l.Allow(context.Background())
		if err != nil || ok != s.ok || retry != s.retry {
			t.Errorf("step %d at %v: Allow = %t, %v, %v; want %t, %v, nil", i, s.at, ok, retry, err, s.ok, s.retry)
		}
	}
}

// TestSlidingWindowPanics checks the constructor refuses a useless limiter.
func TestSlidingWindowPanics(t *testing.T) {
	for _, tt := range []struct {
		name   string
		limit  int
		window time.Duration
	}{{"ZeroLimit", 0, time.Minute}, {"ZeroWindow", 1, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			httpapi.NewSlidingWindow(tt.limit, tt.window, nil)
		})
	}
}

// TestRateLimit drives the default limiter (300 a minute) through the
// handler with a fake clock.
func TestRateLimit(t *testing.T) {
	clk := &fakeClock{t: t0}
	f := newFixture(t, httpapi.WithClock(clk.Now))
	ready := func() int {
		t.Helper()
		// A bad request: it still counts, and it cannot change the store.
		return f.post(t, httpapi.RouteReadyForRemoval, `{}`).Code
	}
	for i := range 299 {
		if c := ready(); c != http.StatusBadRequest {
			t.Fatalf("request %d: status %d, want 400", i+1, c)
		}
		if i == 149 {
			clk.Add(30 * time.Second) // half of them 30 s later
		}
	}
	// The 300th is a valid request and is served.
	if rec := f.post(t, httpapi.RouteReadyForRemoval, numbersBody("+14255551212")); rec.Code != http.StatusOK {
		t.Fatalf("300th: status %d, body %s", rec.Code, rec.Body)
	}
	// The 301st is refused; the oldest 150 leave the window in 30 s.
	rec := f.post(t, httpapi.RouteReadyForRemoval, numbersBody("+14255551213"))
	want := wantProblem("RateLimitExceeded", 429, "Rate limit exceeded",
		"This route accepts a limited number of requests per window; retry after 30 seconds.", httpapi.RouteReadyForRemoval, nil)
	if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After %q, want 30", ra)
	}
	if got := f.status(t, "+14255551213"); got.String() != "MarkedForRemoval" {
		t.Errorf("a refused request changed the store: %s", got)
	}
	// Other routes are never limited.
	for range 350 {
		if c := f.do(t, http.MethodGet, httpapi.RouteSummary, "", "").Code; c != http.StatusOK {
			t.Fatalf("summary: status %d", c)
		}
		if c := f.post(t, httpapi.RouteClearRemovalStatus, `{}`).Code; c != http.StatusBadRequest {
			t.Fatalf("clear: status %d", c)
		}
	}
	// Retry-After counts down in whole seconds, rounded up.
	clk.Add(29*time.Second + 500*time.Millisecond)
	for range 5 { // refusals do not count
		rec = f.post(t, httpapi.RouteReadyForRemoval, `{}`)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("status %d, Retry-After %q; want 429, 1", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	// At 30 s exactly, the first 150 have left: 150 more pass, not 151.
	clk.Add(500 * time.Millisecond)
	for i := range 150 {
		if c := ready(); c != http.StatusBadRequest {
			t.Fatalf("after 30 s, request %d: status %d, want 400", i+1, c)
		}
	}
	rec = f.post(t, httpapi.RouteReadyForRemoval, `{}`)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "30" {
		t.Errorf("151st after 30 s: status %d, Retry-After %q; want 429, 30", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// stubLimiter answers Allow with fixed values.
type stubLimiter struct {
	ok    bool
	retry time.Duration
	err   error
	calls int
}

func (s *stubLimiter) Allow(context.Context) (bool, time.Duration, error) {
	s.calls++
	return s.ok, s.retry, s.err
}

// TestPluggableLimiter checks a custom limiter is used for ready-for-removal
// only, its error is a 500 that does not leak, its wait is rounded up to
// whole seconds, and nil turns limiting off.
func TestPluggableLimiter(t *testing.T) {
	tests := []struct {
		name       string
		lim        *stubLimiter
		status     int
		retryAfter string
	}{
		{"Admitted", &stubLimiter{ok: true}, 200, ""},
		{"RefusedSubSecond", &stubLimiter{retry: 10 * time.Millisecond}, 429, "1"},
		{"RefusedZeroWait", &stubLimiter{}, 429, "1"},
		{"RefusedRoundsUp", &stubLimiter{retry: 2*time.Second + time.Nanosecond}, 429, "3"},
		{"LimiterFails", &stubLimiter{err: errors.New("redis: SECRET-INTERNAL down")}, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, httpapi.WithRateLimiter(tt.lim))
			rec := f.post(t, httpapi.RouteReadyForRemoval, numbersBody("+14255551212"))
			if rec.Code != tt.status || rec.Header().Get("Retry-After") != tt.retryAfter {
				t.Errorf("status %d, Retry-After %q; want %d, %q", rec.Code, rec.Header().Get("Retry-After"), tt.status, tt.retryAfter)
			}
			if tt.status == 500 {
				if p := problem(t, rec); p.ErrorCode != "InternalError" || p.Detail != "An internal error occurred. Quote the errorTicket when reporting it." {
					t.Errorf("problem %+v", p)
				}
			}
			f.post(t, httpapi.RouteClearRemovalStatus, numbersBody("+14255551213"))
			f.do(t, http.MethodGet, httpapi.RouteSummary, "", "")
			if tt.lim.calls != 1 {
				t.Errorf("limiter called %d times, want 1 (ready-for-removal only)", tt.lim.calls)
			}
		})
	}
	t.Run("NilDisables", func(t *testing.T) {
		f := newFixture(t, httpapi.WithRateLimiter(nil))
		for i := range 400 {
			if c := f.post(t, httpapi.RouteReadyForRemoval, `{}`).Code; c != http.StatusBadRequest {
				t.Fatalf("request %d: status %d", i+1, c)
			}
		}
	})
	t.Run("SharedAcrossHandlers", func(t *testing.T) {
		clk := &fakeClock{t: t0}
		l := httpapi.NewSlidingWindow(2, time.Minute, clk.Now)
		a, b := newFixture(t, httpapi.WithRateLimiter(l)), newFixture(t, httpapi.WithRateLimiter(l))
		var got []int
		for _, f := range []*fixture{a, b, a, b} {
			got = append(got, f.post(t, httpapi.RouteReadyForRemoval, `{}`).Code)
		}
		if diff := cmp.Diff([]int{400, 400, 429, 429}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
}

// TestRateLimitConcurrent checks the limit is exact under concurrency: of
// 400 simultaneous requests at one instant, exactly 300 pass. (The cap on
// requests in flight is raised so that all 400 reach the limiter.)
func TestRateLimitConcurrent(t *testing.T) {
	clk := &fakeClock{t: t0}
	f := newFixture(t, httpapi.WithClock(clk.Now), httpapi.WithMaxInFlight(400))
	codes := make(chan int, 400)
	var wg sync.WaitGroup
	for range 400 {
		wg.Go(func() { codes <- f.post(t, httpapi.RouteReadyForRemoval, `{}`).Code })
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if diff := cmp.Diff(map[int]int{400: 300, 429: 100}, count); diff != "" {
		t.Errorf("status counts (-want +got):\n%s", diff)
	}
}
