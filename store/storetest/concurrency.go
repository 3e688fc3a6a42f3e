package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// move is one change a store reported making.
type move struct {
	n        e164.Number
	from, to removal.NumberStatus
}

// recordingStore records every change the store under test reports, with
// the status it says the number had.
type recordingStore struct {
	store.Store
	mu    sync.Mutex
	moves []move
}

func (r *recordingStore) Apply(ctx context.Context, ns []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out, err := r.Store.Apply(ctx, ns, c)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, o := range out {
		if o.Changed && i < len(ns) {
			r.moves = append(r.moves, move{ns[i], o.Status, c.To})
		}
	}
	return out, err
}

type run struct {
	action removal.Action
	batch  []string
	res    removal.BatchResult
	err    error
}

// testConcurrency runs conflicting batches of every action from several
// goroutines on one shared set of numbers, then checks what no interleaving
// may break: every number's flow of status changes is conserved, every
// change is in the transition table, counts add up, and the summary agrees
// with the records.
func testConcurrency(t *testing.T, st store.Store, cfg config) {
	const nOC, nNotOC, nAbsent = 48, 4, 4
	var pool []fixture
	for i := range nOC + nNotOC + nAbsent {
		pool = append(pool, fixture{
			rec:    rec(num(i), tenants[i%2], i < nOC, removal.NumberStatus(i%4)),
			stored: i < nOC+nNotOC,
		})
	}
	// Imported an hour before the service clock, so that each number's
	// import event is its oldest and the batches' events, all at the
	// service clock, follow in the order they were written.
	var stored []store.Number
	for _, f := range pool {
		if f.stored {
			stored = append(stored, f.rec)
		}
	}
	mustImport(t, t.Context(), st, store.Merge, importAt, stored...)

	rs := &recordingStore{Store: st}
	svc := newService(rs)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	actions := removal.Actions()
	runs := make([][]run, cfg.goroutines)
	var wg sync.WaitGroup
	for g := range cfg.goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(g)))
			for range cfg.iterations {
				a := actions[r.IntN(len(actions))]
				var batch []string
				for _, i := range r.Perm(len(pool))[:1+r.IntN(len(pool))] {
					batch = append(batch, string(pool[i].rec.TelephoneNumber))
				}
				res, err := svc.Apply(t.Context(), a, batch)
				runs[g] = append(runs[g], run{a, batch, res, err})
			}
		})
	}
	wg.Wait()

	fixtures := make(map[e164.Number]fixture, len(pool))
	for _, f := range pool {
		f.rec = normalized(f.rec)
		fixtures[f.rec.TelephoneNumber] = f
	}

	successes := 0
	for _, rr := range runs {
		for _, r := range rr {
			if r.err != nil {
				t.Fatalf("%s: %v", r.action.Name(), r.err)
			}
			tr, ok := transitionFor(r.action.Name())
			if !ok {
				t.Fatalf("unknown action %q", r.action.Name())
			}
			if r.res.ProcessedCount != len(r.batch) || r.res.SuccessCount+len(r.res.Failures) != len(r.batch) {
				t.Errorf("%s of %d: processed %d, %d successes, %d failures", r.action.Name(), len(r.batch),
					r.res.ProcessedCount, r.res.SuccessCount, len(r.res.Failures))
			}
			successes += r.res.SuccessCount
			for _, f := range r.res.Failures {
				fx := fixtures[f.TelephoneNumber]
				switch {
				case !fx.stored:
					if f.ErrorCode != removal.CodeNumberNotFound || f.CurrentStatus != nil {
						t.Errorf("absent %s: %s %v", f.TelephoneNumber, f.ErrorCode, f.CurrentStatus)
					}
				case !fx.rec.OperatorConnect:
					if f.ErrorCode != removal.CodeNotOperatorConnect || f.CurrentStatus == nil || *f.CurrentStatus != fx.rec.Status {
						t.Errorf("non-OC %s: %s %v, want NotOperatorConnect %s", f.TelephoneNumber, f.ErrorCode, f.CurrentStatus, fx.rec.Status)
					}
				default:
					if f.ErrorCode != removal.CodeInvalidStatus || f.CurrentStatus == nil || slices.Contains(tr.from, *f.CurrentStatus) {
						t.Errorf("%s on %s: %s %v, want InvalidStatus with a status it does not move", r.action.Name(), f.TelephoneNumber, f.ErrorCode, f.CurrentStatus)
					}
				}
			}
		}
	}
	if successes != len(rs.moves) {
		t.Errorf("results report %d successes, the store reported %d changes", successes, len(rs.moves))
	}

	// Flow conservation: per number and status, moves in minus moves out
	// equals [final is s] - [initial is s].
	flow := make(map[e164.Number]*[4]int)
	for _, m := range rs.moves {
		if !allowedMove(m.from, m.to) {
			t.Errorf("%s moved %s -> %s, which the transition table forbids", m.n, m.from, m.to)
			continue
		}
		if flow[m.n] == nil {
			flow[m.n] = new([4]int)
		}
		flow[m.n][m.to]++
		flow[m.n][m.from]--
	}
	final := make(map[e164.Number]store.Number)
	var all []e164.Number
	for _, f := range pool {
		all = append(all, f.rec.TelephoneNumber)
	}
	back := byNumber(getAll(t, st, all)...)
	for _, f := range pool {
		n := f.rec.TelephoneNumber
		got, ok := back[n]
		if !f.stored {
			if ok {
				t.Errorf("absent %s is stored: %+v", n, got)
			}
			continue
		}
		if !ok {
			t.Fatalf("%s is not stored", n)
		}
		final[n] = got
		if !got.Status.Valid() {
			t.Errorf("%s ends in invalid status %d", n, int(got.Status))
			continue
		}
		for _, s := range removal.Statuses() {
			want := b2i(got.Status == s) - b2i(f.rec.Status == s)
			have := 0
			if flow[n] != nil {
				have = flow[n][s]
			}
			if have != want {
				t.Errorf("%s: %d net moves into %s, but it went from %s to %s", n, have, s, f.rec.Status, got.Status)
			}
		}
		want := normalized(f.rec)
		if flow[n] != nil {
			want.Status, want.StatusChangedAt = got.Status, stampNow
		}
		if !f.rec.OperatorConnect && flow[n] != nil {
			t.Errorf("non-OC %s was changed", n)
		}
		if got.MSTenantID != want.MSTenantID || got.OperatorConnect != want.OperatorConnect || !got.StatusChangedAt.Equal(want.StatusChangedAt) {
			t.Errorf("%s = %+v, want tenant, OC flag and change time of %+v", n, got, want)
		}
	}

	for _, tenant := range []string{"", tenantA, tenantB} {
		want := recount(final, tenant)
		got, err := svc.Summary(t.Context(), tenant)
		if err != nil || got != want {
			t.Errorf("Summary(%q) = %+v, %v; recount of Get gives %+v", tenant, got, err, want)
		}
	}
	wantCounts(t, st, final)

	// Each number's events chain, from the import of its initial status
	// to its final status, one event per change the store reported.
	changes := make(map[e164.Number]int)
	for _, m := range rs.moves {
		changes[m.n]++
	}
	for _, f := range pool {
		n := f.rec.TelephoneNumber
		if !f.stored {
			wantHistory(t, st, n, nil)
			continue
		}
		events := chronological(t, st, n)
		want := normalized(f.rec)
		if len(events) == 0 || !sameEvent(events[0], inserted(want, importAt, removal.Audit{})) {
			t.Errorf("%s: the oldest event is not the import of %s: %+v", n, want.Status, events)
			continue
		}
		if got := len(events) - 1; got != changes[n] {
			t.Errorf("%s: %d events after the import, the store reported %d changes", n, got, changes[n])
		}
		wantChain(t, n, events, want.Status, final[n].Status)
	}
	if t.Failed() {
		t.Logf("seed %d reproduces the same batches (not the same interleaving)", seed)
	}
}

// chronological reads every event of n, oldest first.
func chronological(t checker, st store.Store, n e164.Number) []removal.Event {
	t.Helper()
	var all []removal.Event
	for {
		page, total, err := st.History(t.Context(), n, len(all), maxHistory)
		if err != nil {
			t.Fatalf("History(%s, offset %d): %v", n, len(all), err)
		}
		all = append(all, page...)
		if len(page) == 0 || len(all) >= total {
			break
		}
	}
	slices.Reverse(all)
	return all
}

// wantChain checks that events (oldest first) link up: each one's
// FromStatus is the ToStatus of the one before (the first's is start),
// each batch event is a move of the transition table under its action's
// name at the service clock, and the last leaves the number in status end.
func wantChain(t checker, n e164.Number, events []removal.Event, start, end removal.NumberStatus) {
	t.Helper()
	cur := start
	for i, e := range events {
		if i == 0 && e.Action == evImport && e.FromStatus == nil {
			continue // the insert of start
		}
		if e.FromStatus == nil || e.ToStatus == nil || *e.FromStatus != cur {
			t.Errorf("%s: event %d (%s %v -> %v) does not follow status %s", n, i, e.Action, e.FromStatus, e.ToStatus, cur)
			return
		}
		if e.Action != evImport {
			a, ok := transitionForEvent(e.Action)
			if !ok || !slices.Contains(a.from, *e.FromStatus) || a.to != *e.ToStatus || !e.At.Equal(stampNow) {
				t.Errorf("%s: event %d is %s from %s to %s at %v, not a move of that action at the service clock", n, i, e.Action, *e.FromStatus, *e.ToStatus, e.At)
			}
		}
		cur = *e.ToStatus
	}
	if cur != end {
		t.Errorf("%s: its events end in %s, it is stored %s", n, cur, end)
	}
}

func transitionForEvent(ev removal.EventAction) (transition, bool) {
	for _, a := range transitions {
		if a.event == ev {
			return a, true
		}
	}
	return transition{}, false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// testListWalk walks every page by After, by the Service and by the store,
// while other goroutines change statuses. No walk may return a number
// twice or out of order, and none may skip a number that stays as it is
// for the whole walk: the tenant's ReadyForRemoval numbers (no batch action
// moves them) and its numbers that are not Operator Connect (no batch
// action changes them), spread between the changing ones.
func testListWalk(t *testing.T, st store.Store, cfg config) {
	const n = 240
	var recs []store.Number
	var stable, stableOC []e164.Number
	var changing []string
	for i := range n {
		r := rec(unum(i), tenantA, true, removal.NumberStatus(i%3)) // Active, ReleaseRequested, MarkedForRemoval
		switch i % 4 {
		case 1:
			r.Status = removal.ReadyForRemoval
			stable, stableOC = append(stable, r.TelephoneNumber), append(stableOC, r.TelephoneNumber)
		case 3:
			r.OperatorConnect = false
			stable = append(stable, r.TelephoneNumber)
		default:
			changing = append(changing, string(r.TelephoneNumber))
		}
		if i%9 == 0 {
			r.MSTenantID = tenantB // other tenants' numbers between
		}
		recs = append(recs, r)
	}
	mustPut(t, st, recs...)
	svc := newService(st)
	inTenant := make(map[e164.Number]bool)
	for _, r := range recs {
		inTenant[r.TelephoneNumber] = r.MSTenantID == tenantA
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	writers := max(1, cfg.goroutines-2)
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 77))
			actions := []removal.Action{removal.RequestReleaseAction, removal.WithdrawReleaseRequestAction,
				removal.MarkForRemovalAction, removal.ClearRemovalStatusAction}
			for {
				select {
				case <-done:
					return
				default:
				}
				var batch []string
				for _, i := range r.Perm(len(changing))[:1+r.IntN(20)] {
					batch = append(batch, changing[i])
				}
				if _, err := svc.Apply(t.Context(), actions[r.IntN(len(actions))], batch); err != nil {
					errs <- err
					return
				}
				writes.Add(1)
			}
		})
	}

	type walk struct {
		name   string
		want   []e164.Number // must all be met
		tenant bool          // only tenant A's numbers may be met
		next   func(after e164.Number) ([]e164.Number, e164.Number, error)
	}
	walks := []walk{
		{"ServiceAll", stableOC, false, func(after e164.Number) ([]e164.Number, e164.Number, error) {
			p, err := svc.List(t.Context(), removal.ListQuery{PageSize: 7, After: string(after)})
			return numbersOf(p.Data), p.NextAfter, err
		}},
		{"ServiceTenantActive", nil, true, func(after e164.Number) ([]e164.Number, e164.Number, error) {
			p, err := svc.List(t.Context(), removal.ListQuery{MSTenantID: tenantA, Statuses: []removal.NumberStatus{removal.Active}, PageSize: 5, After: string(after)})
			return numbersOf(p.Data), p.NextAfter, err
		}},
		{"StoreTenantEveryKind", stableInTenant(stable, inTenant), true, func(after e164.Number) ([]e164.Number, e164.Number, error) {
			page, err := st.ListNumbers(t.Context(), removal.NumberQuery{MSTenantID: tenantA, IncludeNotOperatorConnect: true, After: after, Limit: 11})
			var next e164.Number
			if len(page) == 11 {
				next = page[10].TelephoneNumber
			}
			return numbersOf(page), next, err
		}},
	}
	// Walk until both sides have done their share, however the scheduler
	// runs them.
	for round := 0; round < 4 || writes.Load() < int64(cfg.iterations) && round < 400; round++ {
		for _, w := range walks {
			var met []e164.Number
			var after e164.Number
			for pages := 0; ; pages++ {
				got, next, err := w.next(after)
				if err != nil {
					t.Fatalf("%s: %v", w.name, err)
				}
				met = append(met, got...)
				if next == "" || pages > n {
					break
				}
				after = next
			}
			for i, m := range met {
				if i > 0 && string(m) <= string(met[i-1]) {
					t.Errorf("round %d, %s: %s after %s: a number twice or out of order", round, w.name, m, met[i-1])
				}
				if w.tenant && !inTenant[m] {
					t.Errorf("round %d, %s: met %s of another tenant", round, w.name, m)
				}
			}
			for _, s := range w.want {
				if _, ok := slices.BinarySearchFunc(met, s, func(a, b e164.Number) int { return strings.Compare(string(a), string(b)) }); !ok {
					t.Errorf("round %d, %s: skipped %s, which did not change during the walk", round, w.name, s)
				}
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a concurrent batch: %v", err)
	}
}

// numbersOf returns the telephone numbers of recs, in their order.
func numbersOf(recs []store.Number) []e164.Number {
	out := make([]e164.Number, len(recs))
	for i, r := range recs {
		out[i] = r.TelephoneNumber
	}
	return out
}

func stableInTenant(ns []e164.Number, inTenant map[e164.Number]bool) []e164.Number {
	var out []e164.Number
	for _, n := range ns {
		if inTenant[n] {
			out = append(out, n)
		}
	}
	return out
}
