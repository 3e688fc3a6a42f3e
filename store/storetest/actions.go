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

// specAction is one batch action as SPEC sections 2 and 3 define it: the
// statuses it moves numbers from and the one it moves them to.
type specAction struct {
	name   string // removal.Action.Name of the same action
	method string
	call   func(*removal.Service, context.Context, []string) (removal.BatchResult, error)
	from   []removal.NumberStatus
	to     removal.NumberStatus
}

// specActions is the transition table of SPEC section 2, one row per action.
var specActions = []specAction{
	{"clear removal status", "ClearRemovalStatus", (*removal.Service).ClearRemovalStatus,
		[]removal.NumberStatus{removal.MarkedForRemoval}, removal.Active},
	{"ready for removal", "MarkReadyForRemoval", (*removal.Service).MarkReadyForRemoval,
		[]removal.NumberStatus{removal.MarkedForRemoval}, removal.ReadyForRemoval},
	{"mark for removal", "MarkForRemoval", (*removal.Service).MarkForRemoval,
		[]removal.NumberStatus{removal.Active, removal.ReleaseRequested}, removal.MarkedForRemoval},
	{"request release", "RequestRelease", (*removal.Service).RequestRelease,
		[]removal.NumberStatus{removal.Active}, removal.ReleaseRequested},
	{"withdraw release request", "WithdrawReleaseRequest", (*removal.Service).WithdrawReleaseRequest,
		[]removal.NumberStatus{removal.ReleaseRequested}, removal.Active},
}

func specFor(name string) (specAction, bool) {
	for _, a := range specActions {
		if a.name == name {
			return a, true
		}
	}
	return specAction{}, false
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

// expectOne applies SPEC section 3's order of checks to one number: it
// returns the failure the number must get (nil on success) and the record
// it must then hold (ok false when absent).
func expectOne(a specAction, n e164.Number, cur store.Number, stored bool) (*removal.Failure, store.Number, bool) {
	switch {
	case !stored:
		return &removal.Failure{TelephoneNumber: n, ErrorCode: removal.CodeNumberNotFound}, store.Number{}, false
	case !cur.OperatorConnect:
		return &removal.Failure{TelephoneNumber: n, ErrorCode: removal.CodeNotOperatorConnect, CurrentStatus: statusPtr(cur.Status)}, cur, true
	case !slices.Contains(a.from, cur.Status):
		return &removal.Failure{TelephoneNumber: n, ErrorCode: removal.CodeInvalidStatus, CurrentStatus: statusPtr(cur.Status)}, cur, true
	}
	cur.Status, cur.StatusChangedAt = a.to, stampNow
	return nil, cur, true
}

func testActions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("ActionsMatchSpec", func(t *testing.T) {
		// The model test drives removal.Actions() and judges them by the
		// table above: each must be a row of it, and every row must exist.
		var names []string
		for _, a := range removal.Actions() {
			s, ok := specFor(a.Name)
			if !ok {
				t.Errorf("removal.Actions() has %q, which SPEC's table does not define", a.Name)
				continue
			}
			names = append(names, a.Name)
			// From is a set: its order is the implementation's business.
			if !slices.Equal(slices.Sorted(slices.Values(a.From)), slices.Sorted(slices.Values(s.from))) || a.To != s.to {
				t.Errorf("action %q moves %v to %v; SPEC says %v to %v", a.Name, a.From, a.To, s.from, s.to)
			}
		}
		for _, s := range specActions {
			if !slices.Contains(names, s.name) {
				t.Errorf("removal.Actions() lacks %q", s.name)
			}
		}
		for _, f := range removal.Statuses() {
			for _, to := range removal.Statuses() {
				if removal.CanTransition(f, to) != allowedMove(f, to) {
					t.Errorf("removal.CanTransition(%s, %s) = %t; SPEC's table says %t", f, to, !allowedMove(f, to), allowedMove(f, to))
				}
			}
		}
	})

	// One store per action; each (status, kind) has its own number, sent
	// alone, so every subtest sees its number as it was put.
	for _, a := range specActions {
		t.Run(a.method, func(t *testing.T) {
			st := newStore(t)
			svc := newService(st)
			type cell struct {
				status removal.NumberStatus
				kind   kind
				rec    store.Number
			}
			var cells []cell
			for _, s := range removal.Statuses() {
				for _, k := range kinds {
					r := rec(num(len(cells)), tenants[len(cells)%len(tenants)], k == kindOC, s)
					if k != kindAbsent {
						mustPut(t, st, r)
					}
					cells = append(cells, cell{s, k, r})
				}
			}
			for _, c := range cells {
				t.Run(c.status.String()+"/"+c.kind.String(), func(t *testing.T) {
					n := c.rec.TelephoneNumber
					wantFail, wantRec, wantStoredOK := expectOne(a, n, normalized(c.rec), c.kind != kindAbsent)
					want := removal.BatchResult{ProcessedCount: 1, SuccessCount: 1}
					if wantFail != nil {
						want = removal.BatchResult{ProcessedCount: 1, Failures: []removal.Failure{*wantFail}}
					}
					got, err := a.call(svc, t.Context(), []string{string(n)})
					if err != nil {
						t.Fatalf("%s(%s): %v", a.method, n, err)
					}
					if d := cmp.Diff(want, got, resultOpts); d != "" {
						t.Errorf("%s(%s) result mismatch (-want +got):\n%s", a.method, n, d)
					}
					wantDetails(t, got)
					if wantStoredOK {
						wantStored(t, st, wantRec)
					} else {
						wantAbsent(t, st, n)
					}
				})
			}
		})
	}

	t.Run("MixedBatchKeepsRequestOrder", func(t *testing.T) {
		for _, a := range specActions {
			t.Run(a.method, func(t *testing.T) {
				st := newStore(t)
				svc := newService(st)
				// Every (status, kind) twice, interleaved so failures and
				// successes alternate in a fixed, non-sorted order.
				type item struct {
					rec    store.Number
					stored bool
				}
				var items []item
				i := 0
				for range 2 {
					for _, k := range []kind{kindAbsent, kindOC, kindNotOC} {
						for _, s := range []removal.NumberStatus{removal.ReadyForRemoval, removal.Active, removal.MarkedForRemoval, removal.ReleaseRequested} {
							r := rec(num(1000-7*i), tenants[i%3], k == kindOC, s)
							i++
							if k != kindAbsent {
								mustPut(t, st, r)
							}
							items = append(items, item{r, k != kindAbsent})
						}
					}
				}
				want := removal.BatchResult{ProcessedCount: len(items)}
				var batch []string
				var after []item
				for _, it := range items {
					batch = append(batch, string(it.rec.TelephoneNumber))
					f, r, ok := expectOne(a, it.rec.TelephoneNumber, normalized(it.rec), it.stored)
					if f == nil {
						want.SuccessCount++
					} else {
						want.Failures = append(want.Failures, *f)
					}
					after = append(after, item{r, ok})
				}
				got, err := a.call(svc, t.Context(), batch)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got, resultOpts); d != "" {
					t.Errorf("result mismatch (-want +got):\n%s", d)
				}
				wantDetails(t, got)
				for j, it := range after {
					if it.stored {
						wantStored(t, st, it.rec)
					} else {
						wantAbsent(t, st, items[j].rec.TelephoneNumber)
					}
				}
			})
		}
	})

	t.Run("ReadyForRemovalIsFinal", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		r := rec(num(1), tenantA, true, removal.ReadyForRemoval)
		mustPut(t, st, r)
		for _, a := range specActions {
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

	t.Run("Batch500", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		var in []store.Number
		for _, n := range nums(0, removal.MaxBatchSize) {
			in = append(in, rec(n, tenantA, true, removal.MarkedForRemoval))
		}
		mustPut(t, st, in...)
		got, err := svc.MarkReadyForRemoval(t.Context(), strs(nums(0, removal.MaxBatchSize)))
		if err != nil {
			t.Fatal(err)
		}
		want := removal.BatchResult{ProcessedCount: 500, SuccessCount: 500}
		if d := cmp.Diff(want, got, resultOpts); d != "" {
			t.Errorf("result mismatch (-want +got):\n%s", d)
		}
		for _, r := range in {
			r = normalized(r)
			r.Status, r.StatusChangedAt = removal.ReadyForRemoval, stampNow
			wantStored(t, st, r)
		}
	})

	t.Run("Batch501", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		var in []store.Number
		for _, n := range nums(0, removal.MaxBatchSize+1) {
			in = append(in, rec(n, tenantA, true, removal.MarkedForRemoval))
		}
		mustPut(t, st, in...)
		got, err := svc.MarkReadyForRemoval(t.Context(), strs(nums(0, removal.MaxBatchSize+1)))
		if !errors.Is(err, removal.ErrInvalidRequest) || removal.ErrorCode(err) != removal.CodeBatchSizeOutOfRange {
			t.Errorf("err = %v, want BatchSizeOutOfRange", err)
		}
		if d := cmp.Diff(removal.BatchResult{}, got); d != "" {
			t.Errorf("result not zero (-want +got):\n%s", d)
		}
		for _, r := range in {
			wantStored(t, st, normalized(r))
		}
	})
}
