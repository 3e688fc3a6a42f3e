// Package storetest is the conformance and property suite that every
// ocnumbers storage backend runs: the project's memstore and sqlstore, and
// any store.Store a host application writes itself.
//
// A backend's test file runs it in three lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mystore.New() })
//	}
//
// newStore must return a fresh, empty store on every call; register its
// cleanup with t.Cleanup. The suite drives the store only through its public
// contract: the methods of store.Store, and the removal.Service built on it
// with removal.NewService. Expected results come from the workflow's rules
// (the transition table, the batch rules, the summary, the listing, history,
// import, reconciliation and purge rules), written out again in this package
// rather than taken from package removal, so a bug in the domain code is
// caught too.
//
// Run's subtests:
//   - PutGetDelete: round trip, replace, ErrNotFound, canonical tenant IDs,
//     all-or-nothing Put, Delete only of ReadyForRemoval numbers.
//   - Actions: every action × every starting status × (Operator Connect, not
//     Operator Connect, absent), the order of checks, counts, request order,
//     batches of 500 and 501.
//   - Validation: request-level failures change nothing.
//   - IllegalChanges: Store.Apply refuses every change that is not a move
//     of a batch action (out of ReadyForRemoval, self-moves, unknown or
//     mismatched actions), with an error and nothing applied.
//   - Cancellation: cancelled before and during a batch of 500.
//   - Summary: per tenant, global, invalid tenant, after every kind of change.
//   - List: Service.List and ListNumbers with every filter (tenant, one or
//     several statuses, Operator Connect or every number, change time) and
//     paging rule (page numbers, after, offset, limit, totals, nextAfter,
//     pages past the end), byte order of numbers of several countries and
//     lengths, walks through every page, invalid queries; Get and GetMany.
//   - History: one event per success of every action with its fields and
//     audit, none for failures, newest-first order with its tie rule,
//     paging, purge events, histories of deleted numbers, the not-found
//     rule, PruneHistory's cut and count, audits kept whole, Put's events.
//   - Import: Merge and Replace over a stored inventory (results, records,
//     events, counters), all-or-nothing, empty imports, the default time,
//     counters as numbers move between tenants and in and out of Operator
//     Connect.
//   - Model: a rapid state-machine test comparing the store with a reference
//     model, records, counters and history, after every step (see
//     CheckModel).
//   - Reconcile: a rapid property over random inventories and acquired
//     lists, with and without clearReappeared, dryRun, force and the guard
//     (categories, partition, changes, events, a second run); the guard's
//     boundaries; reconciliations racing batches on the same numbers.
//   - Purge: the retention, tenant, limit and more rules, dry runs, purge
//     events, numbers gone from every read but their history; purges racing
//     replace imports and batches on the same numbers.
//   - Concurrency: conflicting batches from many goroutines, then flow
//     conservation and each number's event chain; walks through every page
//     while statuses change (see WithConcurrency).
//
// # Number of rapid sequences
//
// rapid v1.3.0 sets the number of checks of one rapid.Check only globally,
// with the -rapid.checks flag or the RAPID_CHECKS environment variable
// (default 100). The suite therefore runs the model property in rounds:
// WithChecks(n) (default 1000) runs ceil(n / checks-per-Check) rounds, each
// a full rapid.Check with its own random seed. When RAPID_CHECKS or
// -rapid.checks is given explicitly, or a seed or fail file is fixed to
// reproduce a failure, exactly one round runs, so the environment always
// wins. -short divides the count by 5, as rapid does. RAPID_STEPS sets the
// average sequence length (default 30). The reconciliation property runs
// one rapid.Check.
//
// The suite's numbers are +1425 numbers of 10 and 11 digits, +44 and +81
// numbers, and a few others for the byte order; tenants are fixed GUIDs.
// The store must hold nothing else while the suite runs: the model and the
// reconciliation property prune every event of the store between cases.
//
// # Decisions
//
// Where the workflow's rules leave the suite's design open:
//   - Times are compared with time.Equal: a backend may return any location,
//     but must keep the instant to the microsecond.
//   - Failure.Detail is the domain's human text: the suite requires it to
//     be non-empty and checks everything else of a Failure exactly.
//   - An event names the tenant the number has after the change (for a
//     purge, the one it had). Put, and Import without a time, stamp their
//     events with the store's clock; the suite allows it a minute of skew
//     from its own and checks nothing else of that time. Everywhere else
//     the suite passes the time (ImportOptions.At, the Service's clock).
//   - The model test uses one store from newStore and empties it at the
//     start of every sequence by deleting its 540-number universe and
//     pruning every event, so that SQL backends do not create a database
//     per sequence. After each step that wrote, it reads back every number
//     the step touched with one GetMany, the four counts of every tenant
//     and of all with CountByStatus, and the history of the touched numbers
//     (of 6 of them, drawn, when more were touched); PruneHistory's count,
//     checked at every prune step and, for every event left, at the end of
//     every sequence, catches an event missing or extra anywhere else. A
//     "verifyAll" step, drawn at random, and the end of every sequence read
//     back the whole universe. Large batches are derived from one drawn
//     seed (cheap to generate); small ones are drawn element by element so
//     that rapid shrinks them well. The model never calls Put, whose events
//     carry a time the suite cannot know; imports carry drawn times, some
//     shared with batch actions, so the tie rule of the history's order is
//     met.
//   - Mid-batch cancellation needs no timing: the context answers "not
//     done" to its first k calls of Err or Done, whoever makes them
//     (Service, store, database driver), and "cancelled" after. With e the
//     calls made before the store's Apply was entered, a store that checks
//     at least every removal.ChunkSize numbers cannot process more than
//     (k-e)*ChunkSize numbers; the test asserts that bound for k between 1
//     and 1000 (ten values on one action, two on each other), and that the
//     store holds the model applied to exactly the reported prefix, with
//     nothing beyond it touched.
//   - The concurrency tests learn the status each change came from by
//     wrapping the store and recording Apply's outcomes, then check flow
//     conservation per number against the records read back, and each
//     number's history against those changes. Every change they make is
//     stamped with the service clock, so each number's events come back in
//     the order they were written. They assume nothing of timing: the
//     readers (walks, reconciliations, purges) go on until the writers have
//     done a set number of changes, whatever the scheduler does.
package storetest

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// Option tunes Run for a backend.
type Option func(*config)

type config struct {
	checks     int
	goroutines int
	iterations int
}

func defaults() config {
	return config{checks: 1000, goroutines: 8, iterations: 40}
}

func newConfig(opts []Option) config {
	c := defaults()
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithChecks sets how many random sequences the model test runs at least
// (default 1000; slow backends may choose 200). It is rounded up to a
// multiple of 100, rapid's sequences per check. RAPID_CHECKS overrides it;
// see the package doc.
func WithChecks(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.checks = n
		}
	}
}

// WithConcurrency sets the size of the concurrency test: how many goroutines
// run conflicting batches at once, and how many batches each runs (default 8
// and 40). Backends that serialize writers may reduce it.
func WithConcurrency(goroutines, iterations int) Option {
	return func(c *config) {
		if goroutines > 0 {
			c.goroutines = goroutines
		}
		if iterations > 0 {
			c.iterations = iterations
		}
	}
}

// Run runs the whole suite against the stores newStore makes. Each subtest
// calls newStore for a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	cfg := newConfig(opts)
	t.Run("PutGetDelete", func(t *testing.T) { testPutGetDelete(t, newStore) })
	t.Run("Actions", func(t *testing.T) { testActions(t, newStore) })
	t.Run("Validation", func(t *testing.T) { testValidation(t, newStore) })
	t.Run("IllegalChanges", func(t *testing.T) { testIllegalChanges(t, newStore) })
	t.Run("Cancellation", func(t *testing.T) { testCancellation(t, newStore) })
	t.Run("Summary", func(t *testing.T) { testSummary(t, newStore) })
	t.Run("List", func(t *testing.T) { testList(t, newStore) })
	t.Run("History", func(t *testing.T) { testHistory(t, newStore) })
	t.Run("Import", func(t *testing.T) { testImport(t, newStore) })
	t.Run("Model", func(t *testing.T) { CheckModel(t, newStore(t), opts...) })
	t.Run("Reconcile", func(t *testing.T) { testReconcile(t, newStore, cfg) })
	t.Run("Purge", func(t *testing.T) { testPurge(t, newStore, cfg) })
	t.Run("Concurrency", func(t *testing.T) {
		t.Run("Batches", func(t *testing.T) { testConcurrency(t, newStore(t), cfg) })
		t.Run("ListWalk", func(t *testing.T) { testListWalk(t, newStore(t), cfg) })
	})
}

// modelRounds is how many rapid.Check calls give at least want sequences,
// or 1 when the run is pinned by the environment or the command line.
func modelRounds(want int) int {
	for _, env := range []string{"RAPID_CHECKS", "RAPID_SEED", "RAPID_FAILFILE"} {
		if _, ok := os.LookupEnv(env); ok {
			return 1
		}
	}
	pinned := false
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rapid.checks", "rapid.seed", "rapid.failfile":
			pinned = true
		}
	})
	if pinned {
		return 1
	}
	const per = 100 // rapid's default: an explicit count returned above
	return max(1, (want+per-1)/per)
}

// The fixed clock of the suite's services: not UTC and with nanoseconds, so
// that the stored time shows the normalization to UTC microseconds.
var (
	clockZone = time.FixedZone("UTC+02", 2*3600)
	clockNow  = time.Date(2026, 11, 22, 13, 4, 5, 123456789, clockZone)
	// stampNow is what a successful change must store.
	stampNow = clockNow.UTC().Truncate(time.Microsecond)
)

func newService(st removal.Store) *removal.Service {
	return removal.NewService(st, removal.WithClock(func() time.Time { return clockNow }))
}
