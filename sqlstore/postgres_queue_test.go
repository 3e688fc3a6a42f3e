package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/sqlstore"
)

// TestPostgresCallsServedInArrivalOrder: while a batch holds the only
// connection of the pool, 20 reads arrive one after another; once it is
// released they must be served in the order they arrived (database/sql
// alone hands a freed connection to a random waiter: some calls would
// wait for many others that came later).
func TestPostgresCallsServedInArrivalOrder(t *testing.T) {
	st, _ := MustOpenPostgres(t, sqlstore.WithMaxOpenConns(1))
	putMarked(t, st, 30)
	held, releaseHeld := holdBatch(t, st, numberStrings(0, 1))

	const calls = 20
	base := st.DB().Stats().WaitCount
	waiting := func() int { return int(st.DB().Stats().WaitCount-base) + st.Queued() }
	var mu sync.Mutex
	var served []int
	errs := make(chan error, calls)
	for i := range calls {
		go func() {
			_, err := st.Get(context.Background(), number(1+i))
			mu.Lock()
			served = append(served, i)
			mu.Unlock()
			errs <- err
		}()
		for deadline := time.Now().Add(5 * time.Second); waiting() < i+1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("call %d is not waiting after 5 s (%d waiting)", i, waiting())
			}
		}
	}
	releaseHeld()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Each call appends after it has given its turn back: the next one
	// may rarely append first. Random service leaves about 95 pairs out of
	// order.
	inversions := 0
	for i := range served {
		for j := i + 1; j < len(served); j++ {
			if served[i] > served[j] {
				inversions++
			}
		}
	}
	if inversions > 2 {
		t.Errorf("calls served in the order %v (%d pairs out of arrival order); want the arrival order", served, inversions)
	}
}
