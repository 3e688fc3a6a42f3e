package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// transition is one batch action as the transition table and the batch
// rules define it: the statuses it moves numbers from and the one it moves
// them to.
type transition struct {
	name   string // removal.Action.Name of the same action
	method string
	call   func(*removal.Service, context.Context, []string) (removal.BatchResult, error)
	from   []removal.NumberStatus
	to     removal.NumberStatus
	event  removal.EventAction // the history action of each number moved
}

// transitions is the workflow's transition table, one row per action.
var transitions = []transition{
	{"clear removal status", "ClearRemovalStatus", (*removal.Service).ClearRemovalStatus,
		[]removal.NumberStatus{removal.MarkedForRemoval}, removal.Active, "clearRemovalStatus"},
	{"ready for removal", "MarkReadyForRemoval", (*removal.Service).MarkReadyForRemoval,
		[]removal.NumberStatus{removal.MarkedForRemoval}, removal.ReadyForRemoval, "readyForRemoval"},
	{"mark for removal", "MarkForRemoval", (*removal.Service).MarkForRemoval,
		[]removal.NumberStatus{removal.Active, removal.ReleaseRequested}, removal.MarkedForRemoval, "markForRemoval"},
	{"request release", "RequestRelease", (*removal.Service).RequestRelease,
		[]removal.NumberStatus{removal.Active}, removal.ReleaseRequested, "requestRelease"},
	{"withdraw release request", "WithdrawReleaseRequest", (*removal.Service).WithdrawReleaseRequest,
		[]removal.NumberStatus{removal.ReleaseRequested}, removal.Active, "withdrawReleaseRequest"},
}

func transitionFor(name string) (transition, bool) {
	for _, a := range transitions {
		if a.name == name {
			return a, true
		}
	}
	return transition{}, false
}

// kind is how a number of a test batch is stored.
type kind int

const (
	kindOC     kind = iota // stored, Operator Connect
	kindNotOC              // stored, not Operator Connect
	kindAbsent             // not stored
)

var kinds = []kind{kindOC, kindNotOC, kindAbsent}

func (k kind) String() string {
	return [...]string{"OperatorConnect", "NotOperatorConnect", "Absent"}[k]
}

func (k kind) fixture(n e164.Number, tenant string, s removal.NumberStatus) fixture {
	return fixture{rec(n, tenant, k == kindOC, s), k != kindAbsent}
}

// expectOne applies the batch rules' order of checks to one number: it
// returns the failure the number must get (nil on success) and what the
// store must then hold for it.
func expectOne(a transition, f fixture) (*removal.Failure, fixture) {
	n, cur := f.rec.TelephoneNumber, normalized(f.rec)
	switch {
	case !f.stored:
		return &removal.Failure{TelephoneNumber: n, ErrorCode: removal.CodeNumberNotFound}, f
	case !cur.OperatorConnect:
		return &removal.Failure{TelephoneNumber: n, ErrorCode: removal.CodeNotOperatorConnect, CurrentStatus: statusPtr(cur.Status)}, fixture{cur, true}
	case !slices.Contains(a.from, cur.Status):
		return &removal.Failure{TelephoneNumber: n, ErrorCode: removal.CodeInvalidStatus, CurrentStatus: statusPtr(cur.Status)}, fixture{cur, true}
	}
	cur.Status, cur.StatusChangedAt = a.to, stampNow
	return nil, fixture{cur, true}
}

// expectBatch is expectOne over a batch, in request order: the result the
// batch must return and what each number must then hold.
func expectBatch(a transition, fx []fixture) (removal.BatchResult, []fixture) {
	want := removal.BatchResult{ProcessedCount: len(fx)}
	after := make([]fixture, len(fx))
	for i, f := range fx {
		var fail *removal.Failure
		if fail, after[i] = expectOne(a, f); fail == nil {
			want.SuccessCount++
		} else {
			want.Failures = append(want.Failures, *fail)
		}
	}
	return want, after
}

// wantFixture checks that the first p numbers of fx hold what action a
// does to them and every later one is untouched.
func wantFixture(tb testing.TB, st store.Store, a transition, fx []fixture, p int) {
	tb.Helper()
	_, after := expectBatch(a, fx[:p])
	ns := make([]e164.Number, len(fx))
	for i, f := range fx {
		ns[i] = f.rec.TelephoneNumber
	}
	found, err := st.GetMany(tb.Context(), ns)
	if err != nil {
		tb.Fatalf("GetMany of %d numbers: %v", len(ns), err)
	}
	got := byNumber(found...)
	for i, f := range fx {
		if i < p {
			f = after[i]
		} else {
			f.rec = normalized(f.rec)
		}
		n := f.rec.TelephoneNumber
		g, present := got[n]
		switch {
		case f.stored && !present:
			tb.Errorf("%s is not stored; want %+v", n, f.rec)
		case !f.stored && present:
			tb.Errorf("%s is stored as %+v; want it absent", n, g)
		case f.stored && !sameRecord(f.rec, g):
			tb.Errorf("%s mismatch (-want +got):\n%s", n, cmp.Diff(f.rec, g, equalTime))
		}
	}
	if len(found) != len(got) {
		tb.Errorf("GetMany returned %d records for %d numbers", len(found), len(got))
	}
}

// putMarked puts n Operator Connect numbers from num(0), MarkedForRemoval.
func putMarked(tb testing.TB, st store.Store, count int) []fixture {
	tb.Helper()
	var fx []fixture
	for _, n := range nums(0, count) {
		fx = append(fx, kindOC.fixture(n, tenantA, removal.MarkedForRemoval))
	}
	putFixture(tb, st, fx...)
	return fx
}

func testActions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("ActionsMatchSpec", func(t *testing.T) {
		// The model test drives removal.Actions() and judges them by the
		// table above: each must be a row of it, and every row must exist.
		var names []string
		for _, a := range removal.Actions() {
			s, ok := transitionFor(a.Name())
			if !ok {
				t.Errorf("removal.Actions() has %q, which the workflow's transition table does not define", a.Name())
				continue
			}
			names = append(names, a.Name())
			// From is a set: its order is the implementation's business.
			if !slices.Equal(slices.Sorted(slices.Values(a.From())), slices.Sorted(slices.Values(s.from))) || a.To() != s.to {
				t.Errorf("action %q moves %v to %v; the transition table says %v to %v", a.Name(), a.From(), a.To(), s.from, s.to)
			}
			if a.Event() != s.event {
				t.Errorf("action %q records %q in the history; the history rules say %q", a.Name(), a.Event(), s.event)
			}
		}
		for _, s := range transitions {
			if !slices.Contains(names, s.name) {
				t.Errorf("removal.Actions() lacks %q", s.name)
			}
		}
		for _, f := range removal.Statuses() {
			for _, to := range removal.Statuses() {
				if removal.CanTransition(f, to) != allowedMove(f, to) {
					t.Errorf("removal.CanTransition(%s, %s) = %t; the transition table says %t", f, to, !allowedMove(f, to), allowedMove(f, to))
				}
			}
		}
	})

	// One store per action; each (status, kind) has its own number, sent
	// alone, so every subtest sees its number as it was put.
	for _, a := range transitions {
		t.Run(a.method, func(t *testing.T) {
			st := newStore(t)
			svc := newService(st)
			type cell struct {
				status removal.NumberStatus
				kind   kind
				fx     []fixture // the number alone
			}
			var cells []cell
			for _, s := range removal.Statuses() {
				for _, k := range kinds {
					f := k.fixture(num(len(cells)), tenants[len(cells)%len(tenants)], s)
					putFixture(t, st, f)
					cells = append(cells, cell{s, k, []fixture{f}})
				}
			}
			for _, c := range cells {
				t.Run(c.status.String()+"/"+c.kind.String(), func(t *testing.T) {
					n := c.fx[0].rec.TelephoneNumber
					want, _ := expectBatch(a, c.fx)
					got, err := a.call(svc, t.Context(), []string{string(n)})
					if err != nil {
						t.Fatalf("%s(%s): %v", a.method, n, err)
					}
					if d := cmp.Diff(want, got, resultOpts); d != "" {
						t.Errorf("%s(%s) result mismatch (-want +got):\n%s", a.method, n, d)
					}
					wantDetails(t, got)
					wantFixture(t, st, a, c.fx, 1)
				})
			}
		})
	}

	t.Run("MixedBatchKeepsRequestOrder", func(t *testing.T) {
		for _, a := range transitions {
			t.Run(a.method, func(t *testing.T) {
				st := newStore(t)
				svc := newService(st)
				// Every (status, kind) twice, interleaved so failures and
				// successes alternate in a fixed, non-sorted order.
				var fx []fixture
				var batch []string
				for range 2 {
					for _, k := range []kind{kindAbsent, kindOC, kindNotOC} {
						for _, s := range []removal.NumberStatus{removal.ReadyForRemoval, removal.Active, removal.MarkedForRemoval, removal.ReleaseRequested} {
							i := len(fx)
							fx = append(fx, k.fixture(num(1000-7*i), tenants[i%3], s))
							batch = append(batch, string(fx[i].rec.TelephoneNumber))
						}
					}
				}
				putFixture(t, st, fx...)
				want, _ := expectBatch(a, fx)
				got, err := a.call(svc, t.Context(), batch)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got, resultOpts); d != "" {
					t.Errorf("result mismatch (-want +got):\n%s", d)
				}
				wantDetails(t, got)
				wantFixture(t, st, a, fx, len(fx))
			})
		}
	})

	t.Run("ReadyForRemovalIsFinal", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		r := rec(num(1), tenantA, true, removal.ReadyForRemoval)
		mustPut(t, st, r)
		for _, a := range transitions {
			got, err := a.call(svc, t.Context(), []string{string(r.TelephoneNumber)})
			if err != nil {
				t.Fatalf("%s: %v", a.method, err)
			}
			want := removal.BatchResult{ProcessedCount: 1, Failures: []removal.Failure{{
				TelephoneNumber: r.TelephoneNumber, ErrorCode: removal.CodeInvalidStatus, CurrentStatus: statusPtr(removal.ReadyForRemoval)}}}
			if d := cmp.Diff(want, got, resultOpts); d != "" {
				t.Errorf("%s on a ReadyForRemoval number (-want +got):\n%s", a.method, d)
			}
		}
		wantStored(t, st, normalized(r))
	})

	ready, _ := transitionFor(removal.ReadyForRemovalAction.Name())

	t.Run("Batch500", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		fx := putMarked(t, st, removal.MaxBatchSize)
		got, err := svc.MarkReadyForRemoval(t.Context(), strs(nums(0, removal.MaxBatchSize)))
		if err != nil {
			t.Fatal(err)
		}
		want := removal.BatchResult{ProcessedCount: 500, SuccessCount: 500}
		if d := cmp.Diff(want, got, resultOpts); d != "" {
			t.Errorf("result mismatch (-want +got):\n%s", d)
		}
		wantFixture(t, st, ready, fx, len(fx))
	})

	t.Run("Batch501", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		fx := putMarked(t, st, removal.MaxBatchSize+1)
		got, err := svc.MarkReadyForRemoval(t.Context(), strs(nums(0, removal.MaxBatchSize+1)))
		if !errors.Is(err, removal.ErrInvalidRequest) || removal.ErrorCode(err) != removal.CodeBatchSizeOutOfRange {
			t.Errorf("err = %v, want BatchSizeOutOfRange", err)
		}
		if d := cmp.Diff(removal.BatchResult{}, got); d != "" {
			t.Errorf("result not zero (-want +got):\n%s", d)
		}
		wantFixture(t, st, ready, fx, 0)
	})
}
