package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// Smoke tests of the methods beyond Put, Get, Apply and Summary, on every
// database: the events each kind of change writes, a list page, history
// order and paging, pruning.

const otherTenant = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f"

var (
	t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
	t2 = t0.Add(2 * time.Hour)
	t3 = t0.Add(3 * time.Hour)
	t4 = t0.Add(4 * time.Hour)
)

func st(s removal.NumberStatus) *removal.NumberStatus { return &s }

func mustHistory(t *testing.T, s store.Store, n e164.Number, offset, limit int) ([]removal.Event, int) {
	t.Helper()
	events, total, err := s.History(context.Background(), n, offset, limit)
	if err != nil {
		t.Fatalf("History(%s, %d, %d): %v", n, offset, limit, err)
	}
	return events, total
}

func mustImport(t *testing.T, s store.Store, ctx context.Context, mode store.ImportMode, at time.Time, ns ...store.Number) store.ImportResult {
	t.Helper()
	res, err := s.Import(ctx, ns, store.ImportOptions{Mode: mode, At: at})
	if err != nil {
		t.Fatalf("Import(%s): %v", mode, err)
	}
	return res
}

// TestEvents: Import (merge and replace), Apply and Delete write the
// events of the contract, with the audit of the context, and the import
// results count what memstore counts.
func TestEvents(t *testing.T) {
	audited := removal.WithAudit(context.Background(), removal.Audit{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Actor: "ops@example.com"})
	ev := func(i int, tnt string, a removal.EventAction, from, to *removal.NumberStatus, at time.Time, audit bool) removal.Event {
		e := removal.Event{TelephoneNumber: number(i), MSTenantID: tnt, Action: a, FromStatus: from, ToStatus: to, At: at}
		if audit {
			e.TraceID, e.Actor = "4bf92f3577b34da6a3ce929d0e0e4736", "ops@example.com"
		}
		return e
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			s := b.open(t)
			res := mustImport(t, s, audited, store.Replace, t0,
				record(1, removal.MarkedForRemoval), record(2, removal.ReadyForRemoval), record(3, removal.Active))
			if want := (store.ImportResult{Inserted: 3}); res != want {
				t.Errorf("first import: %+v, want %+v", res, want)
			}

			// Merge: 1 keeps its status and time but takes the new tenant;
			// 4 is inserted.
			moved := record(1, removal.Active)
			moved.MSTenantID, moved.StatusChangedAt = otherTenant, t1
			res = mustImport(t, s, audited, store.Merge, t1, moved, record(4, removal.Active))
			if want := (store.ImportResult{Inserted: 1, Updated: 1, StatusKept: 1}); res != want {
				t.Errorf("merge: %+v, want %+v", res, want)
			}
			got, err := s.Get(context.Background(), number(1))
			want := record(1, removal.MarkedForRemoval)
			want.MSTenantID = otherTenant
			if err != nil || !cmp.Equal(got, want) {
				t.Errorf("after the merge: %+v, %v; want %+v", got, err, want)
			}

			// Replace: 3 changes status (an event), 4 keeps it (none).
			res = mustImport(t, s, audited, store.Replace, t2, record(3, removal.ReleaseRequested), record(4, removal.Active))
			if want := (store.ImportResult{Updated: 2}); res != want {
				t.Errorf("replace: %+v, want %+v", res, want)
			}

			// Apply, without audit.
			a := removal.ReadyForRemovalAction
			out, err := s.Apply(context.Background(), []e164.Number{number(1), number(3)},
				removal.Change{From: a.From(), To: a.To(), At: t3, Event: a.Event()})
			if err != nil || !out[0].Changed || out[1].Changed {
				t.Fatalf("Apply: %+v, %v", out, err)
			}

			out, err = s.Delete(audited, []e164.Number{number(2), number(3), number(9)}, t4)
			wantOut := []removal.Outcome{
				{Found: true, OperatorConnect: true, Status: removal.ReadyForRemoval, Changed: true},
				{Found: true, OperatorConnect: true, Status: removal.ReleaseRequested},
				{},
			}
			if err != nil || !cmp.Equal(out, wantOut) {
				t.Fatalf("Delete: %+v, %v; want %+v", out, err, wantOut)
			}

			for i, want := range map[int][]removal.Event{
				1: {
					ev(1, otherTenant, removal.EventReadyForRemoval, st(removal.MarkedForRemoval), st(removal.ReadyForRemoval), t3, false),
					ev(1, tenant, removal.EventImport, nil, st(removal.MarkedForRemoval), t0, true),
				},
				2: {
					ev(2, tenant, removal.EventPurge, st(removal.ReadyForRemoval), nil, t4, true),
					ev(2, tenant, removal.EventImport, nil, st(removal.ReadyForRemoval), t0, true),
				},
				3: {
					ev(3, tenant, removal.EventImport, st(removal.Active), st(removal.ReleaseRequested), t2, true),
					ev(3, tenant, removal.EventImport, nil, st(removal.Active), t0, true),
				},
				4: {ev(4, tenant, removal.EventImport, nil, st(removal.Active), t1, true)},
				9: nil,
			} {
				events, total := mustHistory(t, s, number(i), 0, 10)
				if d := cmp.Diff(want, events, cmpopts.EquateEmpty()); d != "" || total != len(want) {
					t.Errorf("history of %s (total %d, want %d) (-want +got):\n%s", number(i), total, len(want), d)
				}
			}
		})
	}
}

// TestListNumbers compares pages of ListNumbers, and GetMany, with
// memstore's on the same records.
func TestListNumbers(t *testing.T) {
	var recs []store.Number
	for i := range 60 {
		r := record(i*7%60, removal.Statuses()[i%4]) // stored out of order
		r.OperatorConnect = i%5 != 0
		r.StatusChangedAt = t0.Add(time.Duration(i) * time.Minute)
		if i%3 == 0 {
			r.MSTenantID = otherTenant
		}
		recs = append(recs, r)
	}
	// Byte order is not numeric order: "+14250000005" < "+142500000050".
	long := record(0, removal.Active)
	long.TelephoneNumber = number(5) + "0"
	recs = append(recs, long)
	queries := []removal.NumberQuery{
		{Limit: 1000},
		{Limit: 7},
		{Limit: 7, Offset: 14},
		{After: number(5), Limit: 4},
		{After: number(58), Limit: 10},
		{MSTenantID: otherTenant, Limit: 100},
		{Statuses: []removal.NumberStatus{removal.ReadyForRemoval}, Limit: 100},
		{Statuses: []removal.NumberStatus{removal.ReadyForRemoval, removal.MarkedForRemoval, removal.ReadyForRemoval}, After: number(10), Limit: 5},
		{MSTenantID: tenant, Statuses: []removal.NumberStatus{removal.Active}, IncludeNotOperatorConnect: true, Limit: 100},
		{ChangedAtOrBefore: t0.Add(20 * time.Minute), Limit: 100},
		{Statuses: []removal.NumberStatus{7}, Limit: 10},
		{Offset: 500, Limit: 10},
	}
	ref := memstore.New()
	mustPut(t, ref, recs...)
	ask := []e164.Number{number(40), number(3), number(99), number(5) + "0", number(5)}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			s := b.open(t)
			mustPut(t, s, recs...)
			for _, q := range queries {
				want, _ := ref.ListNumbers(context.Background(), q)
				got, err := s.ListNumbers(context.Background(), q)
				if err != nil {
					t.Fatalf("ListNumbers(%+v): %v", q, err)
				}
				if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("ListNumbers(%+v) (-memstore +sqlstore):\n%s", q, d)
				}
			}
			want, _ := ref.GetMany(context.Background(), ask)
			got, err := s.GetMany(context.Background(), ask)
			if d := cmp.Diff(want, got); err != nil || d != "" {
				t.Errorf("GetMany: %v (-memstore +sqlstore):\n%s", err, d)
			}
			if !slices.IsSortedFunc(got, func(a, b store.Number) int {
				return strings.Compare(string(a.TelephoneNumber), string(b.TelephoneNumber))
			}) {
				t.Errorf("GetMany is not in byte order: %v", got)
			}
			for _, q := range []removal.NumberQuery{{Limit: 0}, {Limit: 5, Offset: -1}} {
				if _, err := s.ListNumbers(context.Background(), q); err == nil {
					t.Errorf("ListNumbers(%+v) succeeded, want an error", q)
				}
			}
		})
	}
}

// TestHistoryOrder: events at one time come newest write first; offset,
// limit and total page through them.
func TestHistoryOrder(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			s := b.open(t)
			mustImport(t, s, context.Background(), store.Replace, t0, record(1, removal.Active))
			for _, a := range []removal.Action{removal.RequestReleaseAction, removal.WithdrawReleaseRequestAction, removal.MarkForRemovalAction} {
				// Every change at t0, the import's time: only write order
				// tells them apart.
				if _, err := s.Apply(context.Background(), []e164.Number{number(1)}, removal.Change{From: a.From(), To: a.To(), At: t0, Event: a.Event()}); err != nil {
					t.Fatal(err)
				}
			}
			// One later change, written first in no order but time's.
			a := removal.ReadyForRemovalAction
			if _, err := s.Apply(context.Background(), []e164.Number{number(1)}, removal.Change{From: a.From(), To: a.To(), At: t1, Event: a.Event()}); err != nil {
				t.Fatal(err)
			}
			actions := func(events []removal.Event) []removal.EventAction {
				var out []removal.EventAction
				for _, e := range events {
					out = append(out, e.Action)
				}
				return out
			}
			all := []removal.EventAction{removal.EventReadyForRemoval, removal.EventMarkForRemoval, removal.EventWithdrawReleaseRequest,
				removal.EventRequestRelease, removal.EventImport}
			for _, c := range []struct{ offset, limit int }{{0, 10}, {0, 2}, {1, 3}, {4, 5}, {5, 5}, {50, 1}} {
				events, total := mustHistory(t, s, number(1), c.offset, c.limit)
				want := all[min(c.offset, len(all)):min(c.offset+c.limit, len(all))]
				if d := cmp.Diff(want, actions(events), cmpopts.EquateEmpty()); d != "" || total != len(all) {
					t.Errorf("History(offset %d, limit %d): total %d (want %d) (-want +got):\n%s", c.offset, c.limit, total, len(all), d)
				}
			}
			if events, total := mustHistory(t, s, number(2), 0, 10); len(events) != 0 || total != 0 {
				t.Errorf("history of a number never stored: %v, %d", events, total)
			}
			if _, _, err := s.History(context.Background(), number(1), 0, 0); err == nil {
				t.Error("History with limit 0 succeeded, want an error")
			}
		})
	}
}

// TestPruneHistory deletes the events before a time, more than one chunk
// of them, and keeps the others.
func TestPruneHistory(t *testing.T) {
	const many = 10_050 // above the prune chunk
	var old []store.Number
	for i := range many {
		old = append(old, record(i, removal.Active))
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			s := b.open(t)
			mustImport(t, s, context.Background(), store.Replace, t0, old...)
			a := removal.RequestReleaseAction
			if _, err := s.Apply(context.Background(), []e164.Number{number(1), number(2)}, removal.Change{From: a.From(), To: a.To(), At: t2, Event: a.Event()}); err != nil {
				t.Fatal(err)
			}
			if k, err := s.PruneHistory(context.Background(), t0); err != nil || k != 0 {
				t.Errorf("PruneHistory(t0) = %d, %v; want 0: nothing is older", k, err)
			}
			if k, err := s.PruneHistory(context.Background(), t2); err != nil || k != many {
				t.Errorf("PruneHistory(t2) = %d, %v; want %d", k, err, many)
			}
			events, total := mustHistory(t, s, number(1), 0, 10)
			if total != 1 || len(events) != 1 || events[0].Action != removal.EventRequestRelease {
				t.Errorf("history of %s after the prune: %v, total %d; want its one requestRelease", number(1), events, total)
			}
			if events, total := mustHistory(t, s, number(3), 0, 10); len(events) != 0 || total != 0 {
				t.Errorf("history of %s after the prune: %v, total %d; want none", number(3), events, total)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := s.PruneHistory(ctx, t4); err != context.Canceled {
				t.Errorf("PruneHistory with a cancelled context: %v", err)
			}
			if _, total := mustHistory(t, s, number(1), 0, 10); total != 1 {
				t.Errorf("a cancelled prune deleted events: %d left, want 1", total)
			}
		})
	}
}

// TestDeleteInChunks deletes more numbers than one chunk, the ready ones
// among others, in one call.
func TestDeleteInChunks(t *testing.T) {
	const size = 3*removal.ChunkSize + 7
	var recs []store.Number
	var all []e164.Number
	for i := range size {
		recs = append(recs, record(i, removal.Statuses()[i%4]))
		all = append(all, number(i))
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			s := b.open(t)
			mustPut(t, s, recs...)
			out, err := s.Delete(context.Background(), all, t4)
			if err != nil || len(out) != size {
				t.Fatalf("Delete: %d outcomes, %v", len(out), err)
			}
			for i, o := range out {
				want := removal.Outcome{Found: true, OperatorConnect: true, Status: recs[i].Status, Changed: recs[i].Status == removal.ReadyForRemoval}
				if o != want {
					t.Errorf("outcome %d: %+v, want %+v", i, o, want)
				}
			}
			for _, i := range []int{3, 7, size - 1} {
				_, err := s.Get(context.Background(), number(i))
				if (recs[i].Status == removal.ReadyForRemoval) != (err != nil) {
					t.Errorf("%s (%s) after Delete: %v", number(i), recs[i].Status, err)
				}
			}
			want := make([]int, 4)
			for _, r := range recs {
				if r.Status != removal.ReadyForRemoval {
					want[r.Status]++
				}
			}
			counts, err := s.CountByStatus(context.Background(), "", removal.Statuses())
			if err != nil || !slices.Equal(counts, want) {
				t.Errorf("counts after Delete: %v, %v; want %v", counts, err, want)
			}
		})
	}
}

// TestCountsMatchRecount: after every step of a mix of imports (both
// modes, moving numbers between tenants and in and out of Operator
// Connect), Put, batches and Delete, CountByStatus per tenant and for all
// tenants equals a recount of the listed numbers.
func TestCountsMatchRecount(t *testing.T) {
	ctx := context.Background()
	tenants := []string{tenant, otherTenant, "11111111-2222-4333-8444-555555555555"}
	rec := func(i, variant int) store.Number {
		r := record(i, removal.Statuses()[(i+variant)%4])
		r.MSTenantID = tenants[(i+variant)%len(tenants)]
		r.OperatorConnect = (i+variant)%5 != 0
		return r
	}
	batch := func(from, to, variant int) []store.Number {
		var out []store.Number
		for i := from; i < to; i++ {
			out = append(out, rec(i, variant))
		}
		return out
	}
	numbers := func(from, to int) []e164.Number {
		var out []e164.Number
		for i := from; i < to; i++ {
			out = append(out, number(i))
		}
		return out
	}
	apply := func(a removal.Action, ns []e164.Number) func(s store.Store) error {
		return func(s store.Store) error {
			_, err := s.Apply(ctx, ns, removal.Change{From: a.From(), To: a.To(), At: t3, Event: a.Event()})
			return err
		}
	}
	steps := []struct {
		name string
		do   func(s store.Store) error
	}{
		{"Put", func(s store.Store) error { return s.Put(ctx, batch(0, 250, 0)...) }},
		{"Merge", func(s store.Store) error {
			_, err := s.Import(ctx, batch(100, 350, 1), store.ImportOptions{Mode: store.Merge, At: t1})
			return err
		}},
		{"Replace", func(s store.Store) error {
			_, err := s.Import(ctx, batch(50, 300, 2), store.ImportOptions{Mode: store.Replace, At: t2})
			return err
		}},
		{"MarkForRemoval", apply(removal.MarkForRemovalAction, numbers(0, 400))},
		{"ReadyForRemoval", apply(removal.ReadyForRemovalAction, numbers(0, 200))},
		{"RequestRelease", apply(removal.RequestReleaseAction, numbers(150, 360))},
		{"Delete", func(s store.Store) error { _, err := s.Delete(ctx, numbers(0, 400), t4); return err }},
		{"MergeAgain", func(s store.Store) error {
			_, err := s.Import(ctx, batch(0, 360, 3), store.ImportOptions{Mode: store.Merge, At: t4})
			return err
		}},
		{"ClearRemovalStatus", apply(removal.ClearRemovalStatusAction, numbers(0, 400))},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			s := b.open(t)
			for _, step := range steps {
				if err := step.do(s); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				all, err := s.ListNumbers(ctx, removal.NumberQuery{Limit: 1000, IncludeNotOperatorConnect: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, tnt := range append([]string{""}, tenants...) {
					want := make([]int, 4)
					for _, n := range all {
						if n.OperatorConnect && (tnt == "" || n.MSTenantID == tnt) {
							want[n.Status]++
						}
					}
					got, err := s.CountByStatus(ctx, tnt, removal.Statuses())
					if err != nil || !slices.Equal(got, want) {
						t.Errorf("after %s: CountByStatus(%q) = %v, %v; recount %v", step.name, tnt, got, err, want)
					}
				}
			}
		})
	}
}
