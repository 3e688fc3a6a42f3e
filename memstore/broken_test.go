package memstore_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
	"github.com/ocnumbers/ocnumbers/store/storetest"
)

// leakyStore is a deliberately broken backend: clear removal status also
// moves ReadyForRemoval numbers back to Active. It reports them plausibly,
// as if they had been MarkedForRemoval, so the Service sees nothing wrong;
// or, when silent, as the InvalidStatus failure they should have been, so
// that only the stored status betrays it.
type leakyStore struct {
	*memstore.Store
	silent bool
}

func (s leakyStore) Apply(ctx context.Context, ns []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out, err := s.Store.Apply(ctx, ns, c)
	if c.To != removal.Active || !c.Allows(removal.MarkedForRemoval) {
		return out, err
	}
	for i, o := range out {
		if o.Found && o.OperatorConnect && !o.Changed && o.Status == removal.ReadyForRemoval {
			r, gerr := s.Get(ctx, ns[i])
			if gerr != nil {
				return out[:i], gerr
			}
			r.Status, r.StatusChangedAt = removal.Active, c.At
			if perr := s.Put(ctx, r); perr != nil {
				return out[:i], perr
			}
			if !s.silent {
				out[i] = removal.Outcome{Found: true, OperatorConnect: true, Status: removal.MarkedForRemoval, Changed: true}
			}
		}
	}
	return out, err
}

// forgetfulStore is a deliberately broken backend: withdrawing a release
// request changes the status and reports it, but writes no history event.
type forgetfulStore struct {
	*memstore.Store
}

func (s forgetfulStore) Apply(ctx context.Context, ns []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	if c.Event == removal.EventWithdrawReleaseRequest {
		memstore.SetHistory(s.Store, false)
		defer memstore.SetHistory(s.Store, true)
	}
	return s.Store.Apply(ctx, ns, c)
}

// driftingStore is a deliberately broken backend whose counters drift:
// when mark for removal moves a ReleaseRequested number, the count of
// ReleaseRequested numbers (of its tenant, and of all) is not decreased. The
// summary counts only the two removal statuses, so only a recount of all
// four statuses, or a listing's totals, can see it.
type driftingStore struct {
	*memstore.Store
	mu    sync.Mutex
	drift map[string]int // tenant, "" for all: ReleaseRequested numbers counted too many
}

func (s *driftingStore) Apply(ctx context.Context, ns []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out, err := s.Store.Apply(ctx, ns, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range out {
		if o.Changed && o.Status == removal.ReleaseRequested {
			r, gerr := s.Get(ctx, ns[i])
			if gerr != nil {
				return out[:i], gerr
			}
			s.drift[r.MSTenantID]++
			s.drift[""]++
		}
	}
	return out, err
}

func (s *driftingStore) CountByStatus(ctx context.Context, tenant string, statuses []removal.NumberStatus) ([]int, error) {
	counts, err := s.Store.CountByStatus(ctx, tenant, statuses)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, st := range statuses {
		if st == removal.ReleaseRequested && i < len(counts) {
			counts[i] += s.drift[tenant]
		}
	}
	return counts, err
}

// recorder is a rapid.TB that records failures instead of failing the test
// it runs in. Like testing.T, FailNow ends the calling goroutine, so the
// checks run in their own goroutine.
type recorder struct {
	mu     sync.Mutex
	failed bool
	log    strings.Builder
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.log, format+"\n", args...)
}
func (r *recorder) Log(args ...any)                  { r.Logf("%s", fmt.Sprint(args...)) }
func (r *recorder) Skipf(format string, args ...any) { r.Logf(format, args...); runtime.Goexit() }
func (r *recorder) Skip(args ...any)                 { r.Log(args...); runtime.Goexit() }
func (r *recorder) SkipNow()                         { runtime.Goexit() }
func (r *recorder) Errorf(format string, args ...any) {
	r.Logf(format, args...)
	r.Fail()
}
func (r *recorder) Error(args ...any)                 { r.Log(args...); r.Fail() }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); r.FailNow() }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); r.FailNow() }
func (r *recorder) FailNow()                          { r.Fail(); runtime.Goexit() }
func (r *recorder) Fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// checkModel runs storetest.CheckModel against st with a recorder.
func checkModel(t *testing.T, st store.Store) *recorder {
	t.Helper()
	t.Chdir(t.TempDir()) // rapid writes fail files under ./testdata
	// Shrinking the failure this test expects is not what it is about; rapid
	// only reads its limit from the flag. Tests of this package do not run in
	// parallel, so setting the flag for this test alone is safe.
	if f := flag.Lookup("rapid.shrinktime"); f != nil {
		old := f.Value.String()
		if err := flag.Set("rapid.shrinktime", "2s"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flag.Set("rapid.shrinktime", old) })
	}
	rec := new(recorder)
	done := make(chan struct{})
	go func() {
		defer close(done)
		storetest.CheckModel(rec, st, storetest.WithChecks(100))
	}()
	<-done
	return rec
}

// TestModelCatchesBrokenStore proves the model test bites: each broken
// store must fail it, with a report that names what is wrong, while
// memstore itself passes under the same recorder.
func TestModelCatchesBrokenStore(t *testing.T) {
	t.Run("Memstore", func(t *testing.T) {
		if rec := checkModel(t, memstore.New()); rec.Failed() {
			t.Errorf("CheckModel failed on memstore:\n%s", rec.log.String())
		}
	})
	for _, tc := range []struct {
		name  string
		store func() store.Store
		want  string // what the report must name
	}{
		// Clear removal status also moves ReadyForRemoval numbers back to
		// Active, reported as a success, or as the failure it should have
		// been, so that only the stored status betrays it.
		{"LeakyReportedAsSuccess", func() store.Store { return leakyStore{Store: memstore.New()} }, "result mismatch"},
		{"LeakyReportedAsFailure", func() store.Store { return leakyStore{Store: memstore.New(), silent: true} }, "which the transition table forbids"},
		{"SkipsAnEvent", func() store.Store { return forgetfulStore{memstore.New()} }, "History("},
		{"CountersDrift", func() store.Store { return &driftingStore{Store: memstore.New(), drift: map[string]int{}} }, "a recount of the records gives"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := checkModel(t, tc.store())
			if !rec.Failed() {
				t.Fatalf("CheckModel passed a broken store; log:\n%s", rec.log.String())
			}
			if log := rec.log.String(); !strings.Contains(log, tc.want) {
				t.Errorf("the report does not say %q:\n%s", tc.want, log)
			}
		})
	}
}
