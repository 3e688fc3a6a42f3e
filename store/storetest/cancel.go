package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// countdownCtx answers "not done" to its first k calls of Err or Done
// (together) and "cancelled" from then on, whoever makes them: the Service,
// the store, or a database driver. It makes mid-batch cancellation
// deterministic without timing. With errOnly, only Err counts and answers,
// and Done never closes: a store must then find the cancellation by
// checking Err, as the removal.Store contract requires (ctx checked before
// anything is applied and at least every ChunkSize numbers), since no driver
// will abort for it.
type countdownCtx struct {
	context.Context
	mu      sync.Mutex
	k       int
	calls   int
	done    chan struct{}
	errOnly bool
}

func newCountdown(k int, errOnly bool) *countdownCtx {
	return &countdownCtx{Context: context.Background(), k: k, done: make(chan struct{}), errOnly: errOnly}
}

func (c *countdownCtx) tick() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls > c.k {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
		return true
	}
	return false
}

// Calls returns how many times Err or Done have been called.
func (c *countdownCtx) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *countdownCtx) Err() error {
	if c.tick() {
		return context.Canceled
	}
	return nil
}

func (c *countdownCtx) Done() <-chan struct{} {
	if c.errOnly {
		return nil // never done
	}
	c.tick()
	return c.done
}

func (c *countdownCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// entryProbe is the store seen through the Service, recording how many
// context calls had been made when Apply was entered.
type entryProbe struct {
	store.Store
	ctx   *countdownCtx
	entry int
}

func (p *entryProbe) Apply(ctx context.Context, ns []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	p.entry = p.ctx.Calls()
	return p.Store.Apply(ctx, ns, c)
}

// cancelFixture is a 500-number batch mixing every status and kind: index i
// is OC in status i%4 for i%6 < 4, not OC in MarkedForRemoval for i%6 == 4,
// and absent for i%6 == 5.
func cancelFixture() []fixture {
	var fx []fixture
	for i, n := range nums(0, removal.MaxBatchSize) {
		switch i % 6 {
		case 4:
			fx = append(fx, fixture{rec(n, tenants[i%3], false, removal.MarkedForRemoval), true})
		default:
			fx = append(fx, fixture{rec(n, tenants[i%3], true, removal.NumberStatus(i%4)), i%6 != 5})
		}
	}
	return fx
}

func testCancellation(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("AlreadyCancelled", func(t *testing.T) {
		for _, a := range transitions {
			t.Run(a.method, func(t *testing.T) {
				st := newStore(t)
				fx := cancelFixture()
				putFixture(t, st, fx...)
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				got, err := a.call(newService(st), ctx, strs(nums(0, len(fx))))
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
				if d := cmp.Diff(removal.BatchResult{}, got, resultOpts); d != "" {
					t.Errorf("result not zero (-want +got):\n%s", d)
				}
				wantFixture(t, st, a, fx, 0)
			})
		}
	})

	// MidBatch cancels after k context calls. Whatever pattern of checks a
	// backend uses, the result must be the model applied to exactly the
	// first ProcessedCount numbers, and nothing beyond touched. The "within
	// one chunk" rule is checked as a bound: a store that checks the
	// context at least every removal.ChunkSize numbers can have been told
	// "not done" at most k-entry times after Apply was entered (entry being
	// the calls made before, by the Service), so it cannot have processed
	// more than (k-entry)*ChunkSize numbers, whatever error it returns.
	// Calls made by others (a driver's goroutines) only tighten that. A
	// store that checks less often, or ignores the answer, overruns the
	// bound for some k.
	//
	// MidBatchErr does the same with a context whose Done never closes, so
	// only the store's own checks of Err can stop the batch.
	for _, errOnly := range []bool{false, true} {
		name := "MidBatch"
		if errOnly {
			name = "MidBatchErr"
		}
		t.Run(name, func(t *testing.T) { testMidBatch(t, newStore, errOnly) })
	}
}

func testMidBatch(t *testing.T, newStore func(t *testing.T) store.Store, errOnly bool) {
	ks := []int{1, 2, 3, 4, 6, 10, 11, 12, 40, 1000}
	for _, a := range transitions {
		for _, k := range ks {
			if a.name != removal.ReadyForRemovalAction.Name() && k != 2 && k != 4 {
				continue // every k for one action, two for the others
			}
			t.Run(fmt.Sprintf("%s/k=%d", a.method, k), func(t *testing.T) {
				st := newStore(t)
				fx := cancelFixture()
				putFixture(t, st, fx...)
				ctx := newCountdown(k, errOnly)
				probe := &entryProbe{Store: st, ctx: ctx}
				got, err := a.call(newService(probe), ctx, strs(nums(0, len(fx))))
				p := got.ProcessedCount
				switch {
				case err == nil && p != len(fx):
					t.Fatalf("nil error after %d of %d numbers", p, len(fx))
				case err != nil && !errors.Is(err, context.Canceled):
					t.Fatalf("err = %v, want nil or context.Canceled", err)
				case p < 0 || p > len(fx):
					t.Fatalf("ProcessedCount = %d, want 0..%d", p, len(fx))
				}
				// Also with a nil error: a store that asked, heard
				// "cancelled" and went on anyway breaks the bound too.
				if bound := max(0, k-probe.entry) * removal.ChunkSize; p > bound {
					t.Errorf("processed %d numbers after %d \"not done\" answers to the store; at most %d when it checks every %d",
						p, k-probe.entry, bound, removal.ChunkSize)
				}
				want, _ := expectBatch(a, fx[:p]) // the prefix, from the transition table
				if d := cmp.Diff(want, got, resultOpts); d != "" {
					t.Errorf("result mismatch for the first %d numbers (-want +got):\n%s", p, d)
				}
				wantFixture(t, st, a, fx, p)
			})
		}
	}
}
