package sqlstore

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// queued is a driver whose calls take turns in the order they arrive,
// at most as many at once as the pool has connections. database/sql gives
// a freed connection to a random one of the calls waiting for it, so under
// a full pool some calls lose the draw many times over (the tail
// latency); behind the queue, database/sql has no caller waiting. Every
// driver call uses one connection at a time; the background work of a
// driver (the PostgreSQL counts' fold) does not queue.
type queued struct {
	d       driver
	turns   chan struct{}
	waiting atomic.Int64 // calls waiting for a turn, for tests
}

// queue returns d behind a queue of n turns, or d itself when the pool
// has no cap (n <= 0).
func queue(d driver, n int) driver {
	if n <= 0 {
		return d
	}
	return &queued{d: d, turns: make(chan struct{}, n)}
}

// take waits for a turn (channel senders are served first come, first
// served) or for ctx.
func (q *queued) take(ctx context.Context) error {
	select {
	case q.turns <- struct{}{}:
		return nil
	default:
	}
	q.waiting.Add(1)
	defer q.waiting.Add(-1)
	select {
	case q.turns <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *queued) done() { <-q.turns }

func (q *queued) apply(ctx context.Context, numbers []e164.Number, c removal.Change, a removal.Audit) ([]removal.Outcome, error) {
	if err := q.take(ctx); err != nil {
		return nil, err
	}
	defer q.done()
	return q.d.apply(ctx, numbers, c, a)
}

func (q *queued) delete(ctx context.Context, numbers []e164.Number, at time.Time, a removal.Audit) ([]removal.Outcome, error) {
	if err := q.take(ctx); err != nil {
		return nil, err
	}
	defer q.done()
	return q.d.delete(ctx, numbers, at, a)
}

func (q *queued) importNumbers(ctx context.Context, numbers []store.Number, mode store.ImportMode, at time.Time, a removal.Audit) (store.ImportResult, error) {
	if err := q.take(ctx); err != nil {
		return store.ImportResult{}, err
	}
	defer q.done()
	return q.d.importNumbers(ctx, numbers, mode, at, a)
}

func (q *queued) get(ctx context.Context, n e164.Number) (store.Number, bool, error) {
	if err := q.take(ctx); err != nil {
		return store.Number{}, false, err
	}
	defer q.done()
	return q.d.get(ctx, n)
}

func (q *queued) getMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	if err := q.take(ctx); err != nil {
		return nil, err
	}
	defer q.done()
	return q.d.getMany(ctx, numbers)
}

func (q *queued) list(ctx context.Context, nq removal.NumberQuery) ([]store.Number, error) {
	if err := q.take(ctx); err != nil {
		return nil, err
	}
	defer q.done()
	return q.d.list(ctx, nq)
}

func (q *queued) count(ctx context.Context, msTenantID string, statuses []removal.NumberStatus) ([4]int, error) {
	if err := q.take(ctx); err != nil {
		return [4]int{}, err
	}
	defer q.done()
	return q.d.count(ctx, msTenantID, statuses)
}

func (q *queued) history(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	if err := q.take(ctx); err != nil {
		return nil, 0, err
	}
	defer q.done()
	return q.d.history(ctx, n, offset, limit)
}

func (q *queued) prune(ctx context.Context, before time.Time) (int, error) {
	if err := q.take(ctx); err != nil {
		return 0, err
	}
	defer q.done()
	return q.d.prune(ctx, before)
}

func (q *queued) migrate(ctx context.Context, ms []Migration) error {
	if err := q.take(ctx); err != nil {
		return err
	}
	defer q.done()
	return q.d.migrate(ctx, ms)
}

func (q *queued) allow(ctx context.Context, name string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := q.take(ctx); err != nil {
		return false, 0, err
	}
	defer q.done()
	return q.d.allow(ctx, name, limit, window)
}
