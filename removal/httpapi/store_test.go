package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
)

// errStorage is what failingStore returns; its text must never reach a client.
var errStorage = errors.New("pq: relation \"numbers\" does not exist (SECRET-INTERNAL)")

// failingStore fails every call, as a database that is down.
type failingStore struct{}

func (failingStore) Apply(context.Context, []e164.Number, removal.Change) ([]removal.Outcome, error) {
	return nil, errStorage
}

func (failingStore) Delete(context.Context, []e164.Number, time.Time) ([]removal.Outcome, error) {
	return nil, errStorage
}

func (failingStore) Get(context.Context, e164.Number) (removal.Number, error) {
	return removal.Number{}, errStorage
}

func (failingStore) GetMany(context.Context, []e164.Number) ([]removal.Number, error) {
	return nil, errStorage
}

func (failingStore) ListNumbers(context.Context, removal.NumberQuery) ([]removal.Number, error) {
	return nil, errStorage
}

func (failingStore) CountByStatus(context.Context, string, []removal.NumberStatus) ([]int, error) {
	return nil, errStorage
}

func (failingStore) History(context.Context, e164.Number, int, int) ([]removal.Event, int, error) {
	return nil, 0, errStorage
}

func (failingStore) PruneHistory(context.Context, time.Time) (int, error) {
	return 0, errStorage
}

// errBusy is what busyStore returns: a lock wait given up, retryable.
var errBusy = fmt.Errorf("lock wait on numbers (SECRET-INTERNAL): %w", removal.ErrStoreBusy)

// busyStore applies the first part numbers of a batch, then gives up as a
// store whose lock wait timed out; its counts are always busy.
type busyStore struct {
	*memstore.Store
	part int
}

func (s busyStore) Apply(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out, err := s.Store.Apply(ctx, numbers[:min(s.part, len(numbers))], c)
	if err != nil {
		return out, err
	}
	return out, errBusy
}

func (busyStore) CountByStatus(context.Context, string, []removal.NumberStatus) ([]int, error) {
	return nil, errBusy
}

// busyLimiter fails as a limiter on a busy database.
type busyLimiter struct{}

func (busyLimiter) Allow(context.Context) (bool, time.Duration, error) { return false, 0, errBusy }
