package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Limiter is a rate limit kept in the store's database, so that every
// Store sharing the database (every process, every instance) shares it,
// across restarts too. Its Allow has the signature of removal/httpapi's
// Limiter. It is safe for concurrent use.
type Limiter struct {
	s      *Store
	name   string
	limit  int
	window time.Duration
}

// RateLimiter returns the limiter called name (1 to 200 bytes), which
// admits at most limit requests (limit >= 1) in any interval of length
// window (at least 1 µs, kept to the microsecond): an exact sliding
// window, counted across every Store on the database. Every user of one
// name should give the same limit and window. Nothing is written until
// Allow is called.
func (s *Store) RateLimiter(name string, limit int, window time.Duration) (*Limiter, error) {
	switch {
	case name == "" || len(name) > 200:
		return nil, fmt.Errorf("sqlstore: rate limiter name of %d bytes: want 1 to 200", len(name))
	case limit < 1:
		return nil, fmt.Errorf("sqlstore: rate limiter %q: limit %d: want at least 1", name, limit)
	case window < time.Microsecond:
		return nil, fmt.Errorf("sqlstore: rate limiter %q: window %v: want at least 1µs", name, window)
	}
	return &Limiter{s: s, name: name, limit: limit, window: window.Truncate(time.Microsecond)}, nil
}

// Allow admits the request when fewer than limit requests were admitted in
// the window ending now, and records it; a refused request is not
// recorded, and retryAfter is then the time until the oldest admission of
// the window leaves it. A failure of the store is returned as an error
// (matching removal.ErrStoreBusy when the database stayed locked for the
// lock timeout), with the request neither admitted nor recorded; when ctx
// is done, ctx.Err().
func (l *Limiter) Allow(ctx context.Context) (ok bool, retryAfter time.Duration, err error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	ok, retryAfter, err = l.s.drv.allow(ctx, l.name, l.limit, l.window)
	if err != nil {
		return false, 0, storeErr(ctx, "rate limiter "+l.name, err)
	}
	return ok, retryAfter, nil
}
