package httpapi

import (
	"context"
	"sync"
	"time"
)

// Limiter admits or refuses one request. Implement it over a shared store
// (Redis, SQL) to share one limit across several instances. When it refuses,
// retryAfter says how long until a request would be admitted. An error
// makes the request fail, neither admitted nor counted as refused: 503
// StoreBusy when it matches removal.ErrStoreBusy, else 500 InternalError.
// ctx keeps the request's deadline but not the cancellation net/http makes
// when the client closes its side (see the package doc, Connections).
type Limiter interface {
	Allow(ctx context.Context) (ok bool, retryAfter time.Duration, err error)
}

// SlidingWindow is an exact sliding-window limiter for one process: it admits
// at most limit requests in any interval of length window. It keeps the times
// of the last limit admissions in a ring; a request is admitted when the
// oldest of them is at least window old. Refused requests are not recorded.
// It is safe for concurrent use.
type SlidingWindow struct {
	mu     sync.Mutex
	window time.Duration
	now    func() time.Time
	times  []time.Time // ring of the last len(times) admissions
	next   int         // index of the oldest admission once the ring is full
	n      int         // admissions recorded, at most len(times)
}

var _ Limiter = (*SlidingWindow)(nil)

// NewSlidingWindow returns a limiter admitting at most limit requests in any
// window, reading time from now (time.Now when nil). It allocates the ring
// of limit times at once. It panics if limit < 1 or window <= 0.
func NewSlidingWindow(limit int, window time.Duration, now func() time.Time) *SlidingWindow {
	if limit < 1 || window <= 0 {
		panic("httpapi: NewSlidingWindow needs limit >= 1 and window > 0")
	}
	if now == nil {
		now = time.Now
	}
	return &SlidingWindow{window: window, now: now, times: make([]time.Time, limit)}
}

// Allow admits the request if fewer than limit requests were admitted in the
// window ending now. Otherwise retryAfter is the time until the oldest of
// them leaves the window; if the clock went backwards it is capped at the
// window. The error is always nil.
func (s *SlidingWindow) Allow(context.Context) (bool, time.Duration, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n < len(s.times) {
		s.times[(s.next+s.n)%len(s.times)] = now
		s.n++
		return true, 0, nil
	}
	oldest := s.times[s.next]
	if wait := oldest.Add(s.window).Sub(now); wait > 0 {
		return false, min(wait, s.window), nil
	}
	s.times[s.next] = now
	s.next = (s.next + 1) % len(s.times)
	return true, 0, nil
}
