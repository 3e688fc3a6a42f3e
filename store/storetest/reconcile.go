package storetest

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// reconcileUniverse is how many numbers a reconciliation case stores some
// of; the acquired list also names reconcileUnknown numbers never stored.
const (
	reconcileUniverse = 80
	reconcileUnknown  = 10
)

// wantReconcile is what a reconciliation of tenant's stored numbers with
// the acquired list must report and change, by the reconciliation rules:
// the categories of the tenant's stored Operator Connect numbers, the
// categories of the other listed numbers, and the guard.
type wantReconcile struct {
	report   removal.ReconcileReport
	eligible int  // the tenant's Active and ReleaseRequested OC numbers
	guarded  bool // the guard refuses the run
	mark     []e164.Number
	clear    []e164.Number
}

func expectReconcile(recs map[e164.Number]store.Number, tenant string, list []e164.Number, req removal.ReconcileRequest) wantReconcile {
	listed := make(map[e164.Number]bool)
	for _, n := range list {
		listed[n] = true
	}
	var w wantReconcile
	var marked, cleared, reappeared, still, unknown, other, notOC []e164.Number
	unchanged := 0
	for _, r := range recs {
		if r.MSTenantID != tenant || !r.OperatorConnect {
			continue
		}
		in := listed[r.TelephoneNumber]
		switch {
		case (r.Status == removal.Active || r.Status == removal.ReleaseRequested) && !in:
			marked = append(marked, r.TelephoneNumber)
		case r.Status == removal.MarkedForRemoval && in && req.ClearReappeared:
			cleared = append(cleared, r.TelephoneNumber)
		case r.Status == removal.MarkedForRemoval && in:
			reappeared = append(reappeared, r.TelephoneNumber)
		case r.Status == removal.ReadyForRemoval && in:
			still = append(still, r.TelephoneNumber)
		default:
			unchanged++
		}
		if r.Status == removal.Active || r.Status == removal.ReleaseRequested {
			w.eligible++
		}
	}
	for n := range listed {
		r, ok := recs[n]
		switch {
		case !ok:
			unknown = append(unknown, n)
		case r.MSTenantID != tenant:
			other = append(other, n)
		case !r.OperatorConnect:
			notOC = append(notOC, n)
		}
	}
	pct := 10
	if req.MaxMarkPercent != nil {
		pct = *req.MaxMarkPercent
	}
	w.guarded = len(marked) > 10 && len(marked)*100 > pct*w.eligible && !req.Force
	w.mark, w.clear = sortedStrings(marked), sortedStrings(cleared)
	w.report = removal.ReconcileReport{MSTenantID: tenant, DryRun: req.DryRun,
		Marked: numberList(marked), Cleared: numberList(cleared), Reappeared: numberList(reappeared),
		StillAcquired: numberList(still), Unknown: numberList(unknown), OtherTenant: numberList(other),
		NotOperatorConnect: numberList(notOC),
		Skipped:            removal.SkippedList{TelephoneNumbers: []e164.Number{}, Failures: []removal.Failure{}},
		Unchanged:          removal.Count{Count: unchanged}}
	return w
}

func sortedStrings(ns []e164.Number) []e164.Number {
	out := slices.Clone(ns)
	slices.SortFunc(out, func(a, b e164.Number) int { return strings.Compare(string(a), string(b)) })
	return out
}

func numberList(ns []e164.Number) removal.NumberList {
	ns = sortedStrings(ns)
	if ns == nil {
		ns = []e164.Number{}
	}
	return removal.NumberList{Count: len(ns), TelephoneNumbers: ns}
}

var reportOpts = resultOpts

// wantPartition checks, from the report alone, that every stored Operator
// Connect number of the tenant is in exactly one category, and the listed
// numbers in the others, each list sorted and counted.
func wantPartition(t checker, rep removal.ReconcileReport, tenantOC int) {
	t.Helper()
	seen := make(map[e164.Number]string)
	inTenant := 0
	for _, c := range []struct {
		name string
		l    removal.NumberList
		own  bool
	}{
		{"marked", rep.Marked, true}, {"cleared", rep.Cleared, true}, {"reappeared", rep.Reappeared, true},
		{"stillAcquired", rep.StillAcquired, true}, {"skipped", removal.NumberList{Count: rep.Skipped.Count, TelephoneNumbers: rep.Skipped.TelephoneNumbers}, true},
		{"unknown", rep.Unknown, false}, {"otherTenant", rep.OtherTenant, false}, {"notOperatorConnect", rep.NotOperatorConnect, false},
	} {
		if c.l.Count != len(c.l.TelephoneNumbers) || c.l.TelephoneNumbers == nil ||
			!slices.IsSortedFunc(c.l.TelephoneNumbers, func(a, b e164.Number) int { return strings.Compare(string(a), string(b)) }) {
			t.Fatalf("%s: count %d, %d numbers %v: want a sorted list and its count", c.name, c.l.Count, len(c.l.TelephoneNumbers), c.l.TelephoneNumbers)
		}
		for _, n := range c.l.TelephoneNumbers {
			if prev, dup := seen[n]; dup {
				t.Fatalf("%s is in both %s and %s", n, prev, c.name)
			}
			seen[n] = c.name
		}
		if c.own {
			inTenant += c.l.Count
		}
	}
	if inTenant+rep.Unchanged.Count != tenantOC {
		t.Fatalf("the categories hold %d numbers and %d unchanged; the tenant has %d Operator Connect numbers", inTenant, rep.Unchanged.Count, tenantOC)
	}
}

func testReconcile(t *testing.T, newStore func(t *testing.T) store.Store, cfg config) {
	t.Run("Property", func(t *testing.T) {
		st := newStore(t)
		universe := make([]e164.Number, reconcileUniverse+reconcileUnknown)
		for i := range universe {
			universe[i] = unum(i)
		}
		rapid.Check(t, func(t *rapid.T) { checkReconcile(t, st, universe) })
	})
	t.Run("Guard", func(t *testing.T) { testReconcileGuard(t, newStore) })
	t.Run("Concurrent", func(t *testing.T) { testReconcileConcurrent(t, newStore(t), cfg) })
}

func checkReconcile(t *rapid.T, st store.Store, universe []e164.Number) {
	resetStore(t, st, universe)
	svc := newService(st)
	// The inventory: some of the first reconcileUniverse numbers, mostly
	// in tenant A; in bulk from one seed, or element by element.
	recs := make(map[e164.Number]store.Number)
	var in []store.Number
	var r *rand.Rand
	n := rapid.IntRange(0, reconcileUniverse).Draw(t, "stored")
	if rapid.Bool().Draw(t, "bulk") {
		// Large inventories too, for the guard: from the seed, not
		// from rapid's draws, which favour small sizes.
		r = rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0xc0))
		n = reconcileUniverse/2 + r.IntN(reconcileUniverse/2+1)
	}
	for i := range n {
		var tenant, form int
		var oc bool
		var s removal.NumberStatus
		if r != nil {
			tenant, form, oc, s = max(0, r.IntN(5)-2), r.IntN(4), r.IntN(8) != 0, removal.NumberStatus(r.IntN(4))
		} else {
			tenant = max(0, rapid.IntRange(0, 4).Draw(t, "tenant")-2)
			form = rapid.IntRange(0, 3).Draw(t, "form")
			oc = rapid.Bool().Draw(t, "operatorConnect")
			s = rapid.SampledFrom(removal.Statuses()).Draw(t, "status")
		}
		x := rec(universe[i], tenantForms[form](tenants[tenant]), oc, s)
		in = append(in, x)
		recs[x.TelephoneNumber] = normalized(x)
	}
	if len(in) > 0 {
		mustImport(t, t.Context(), st, store.Merge, importAt, in...)
	}
	// The acquired list: numbers of the universe (stored or not) and
	// numbers never stored, some twice, in any order.
	var list []e164.Number
	if r != nil {
		for _, i := range r.Perm(len(universe))[:r.IntN(len(universe)+1)] {
			list = append(list, universe[i])
			if r.IntN(10) == 0 {
				list = append(list, universe[i])
			}
		}
	} else {
		for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(universe)-1), 0, 30).Draw(t, "list") {
			list = append(list, universe[i])
		}
	}
	req := removal.ReconcileRequest{MSTenantID: tenantForms[rapid.IntRange(0, 3).Draw(t, "askedForm")](tenantA),
		TelephoneNumbers: strs(list), DryRun: rapid.Bool().Draw(t, "dryRun"), ClearReappeared: rapid.Bool().Draw(t, "clearReappeared"),
		Force: rapid.Bool().Draw(t, "force")}
	if rapid.Bool().Draw(t, "setPercent") {
		pct := rapid.IntRange(0, 100).Draw(t, "maxMarkPercent")
		req.MaxMarkPercent = &pct
	}
	if req.TelephoneNumbers == nil {
		req.TelephoneNumbers = []string{}
	}
	au := drawAudit(t)
	want := expectReconcile(recs, tenantA, list, req)

	got, err := svc.Reconcile(withAudit(t.Context(), au), req)
	var ge *removal.GuardError
	switch {
	case want.guarded:
		if !errors.As(err, &ge) || !errors.Is(err, removal.ErrReconcileGuard) {
			t.Fatalf("Reconcile would mark %d of %d eligible numbers (max %v%%): err = %v, want a *removal.GuardError", len(want.mark), want.eligible, req.MaxMarkPercent, err)
		}
		pct := 10
		if req.MaxMarkPercent != nil {
			pct = *req.MaxMarkPercent
		}
		if *ge != (removal.GuardError{Marked: len(want.mark), Eligible: want.eligible, MaxMarkPercent: pct}) {
			t.Fatalf("GuardError = %+v; want %d marked of %d, %d%%", *ge, len(want.mark), want.eligible, pct)
		}
	case err != nil:
		t.Fatalf("Reconcile: %v", err)
	}
	if d := cmp.Diff(want.report, got, reportOpts); d != "" {
		t.Fatalf("Reconcile report mismatch (-want +got):\n%s", d)
	}
	tenantOC := 0
	for _, x := range recs {
		if x.MSTenantID == tenantA && x.OperatorConnect {
			tenantOC++
		}
	}
	wantPartition(t, got, tenantOC)

	// What must be stored now, and the events of the changes.
	events := len(in)
	var changed []e164.Number
	if !want.guarded && !req.DryRun {
		for _, m := range []struct {
			ns     []e164.Number
			action removal.EventAction
			to     removal.NumberStatus
		}{{want.mark, "markForRemoval", removal.MarkedForRemoval}, {want.clear, "clearRemovalStatus", removal.Active}} {
			for _, n := range m.ns {
				old := recs[n]
				now := old
				now.Status, now.StatusChangedAt = m.to, stampNow
				recs[n] = now
				events++
				changed = append(changed, n)
				if len(changed) <= historySample {
					wantHistory(t, st, n, []removal.Event{event(now, m.action, statusPtr(old.Status), statusPtr(m.to), stampNow, au),
						inserted(old, importAt, removal.Audit{})})
				}
			}
		}
	}
	if d := cmp.Diff(listed(recs, filter{allKinds: true}), getAll(t, st, universe), pageOpts); d != "" {
		t.Fatalf("stored numbers after Reconcile (-want +got):\n%s", d)
	}
	wantCounts(t, st, recs)

	// The same run again changes nothing more.
	again, err := svc.Reconcile(t.Context(), req)
	want2 := expectReconcile(recs, tenantA, list, req)
	if want2.guarded != want.guarded || (!want.guarded && !req.DryRun && (len(want2.mark) > 0 || len(want2.clear) > 0)) {
		t.Fatalf("the rules see more to do in a second run: %d to mark, %d to clear", len(want2.mark), len(want2.clear))
	}
	if (err != nil) != want.guarded {
		t.Fatalf("the second Reconcile: %v (the first: guarded %t)", err, want.guarded)
	}
	if d := cmp.Diff(want2.report, again, reportOpts); d != "" {
		t.Fatalf("the second Reconcile report mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(listed(recs, filter{allKinds: true}), getAll(t, st, universe), pageOpts); d != "" {
		t.Fatalf("stored numbers after the second Reconcile (-want +got):\n%s", d)
	}
	if pruned, err := st.PruneHistory(t.Context(), farFuture); err != nil || pruned != events {
		t.Fatalf("PruneHistory(every event) = %d, %v; want %d: the imports and one per change", pruned, err, events)
	}
}

// testReconcileGuard checks the guard at its boundaries: a run may always
// mark GuardMinMarked (10) numbers, and more only within maxMarkPercent of
// the tenant's Active and ReleaseRequested numbers; force overrides it; a
// refused run, dry or not, changes nothing and reports what it would do.
func testReconcileGuard(t *testing.T, newStore func(t *testing.T) store.Store) {
	pct := func(p int) *int { return &p }
	for _, tc := range []struct {
		name             string
		eligible, absent int
		pct              *int
		force, dry       bool
		refused          bool
	}{
		{"TenAlwaysAllowed", 20, 10, pct(0), false, false, false},
		{"ElevenOfHundredAtDefault", 100, 11, nil, false, false, true},
		{"TenOfHundredAtDefault", 100, 10, nil, false, false, false},
		{"ElevenOfHundredAt11", 100, 11, pct(11), false, false, false},
		{"ElevenOfHundredAt10", 100, 11, pct(10), false, false, true},
		{"ElevenOfHundredDryRun", 100, 11, pct(10), false, true, true},
		{"ElevenOfHundredForced", 100, 11, pct(10), true, false, false},
		{"AllAt100", 30, 30, pct(100), false, false, false},
		{"AllAt99", 30, 30, pct(99), false, false, true},
		{"EmptyList", 15, 15, nil, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			svc := newService(st)
			var in []store.Number
			var list []string
			for i := range tc.eligible {
				s := removal.Active
				if i%2 == 1 {
					s = removal.ReleaseRequested
				}
				in = append(in, rec(num(i), tenantA, true, s))
				if i >= tc.absent {
					list = append(list, string(num(i)))
				}
			}
			// Numbers that count for neither side of the percentage.
			in = append(in, rec(num(900), tenantA, true, removal.MarkedForRemoval), rec(num(901), tenantA, false, removal.Active),
				rec(num(902), tenantB, true, removal.Active))
			mustImport(t, t.Context(), st, store.Merge, importAt, in...)
			if list == nil {
				list = []string{}
			}
			req := removal.ReconcileRequest{MSTenantID: tenantA, TelephoneNumbers: list, MaxMarkPercent: tc.pct, Force: tc.force, DryRun: tc.dry}
			rep, err := svc.Reconcile(t.Context(), req)
			if tc.refused != errors.Is(err, removal.ErrReconcileGuard) || (!tc.refused && err != nil) {
				t.Fatalf("Reconcile: %v; want refused %t", err, tc.refused)
			}
			if rep.Marked.Count != tc.absent || rep.DryRun != tc.dry {
				t.Errorf("report: %d marked, dryRun %t; want the %d the run marks or would mark", rep.Marked.Count, rep.DryRun, tc.absent)
			}
			marked := 0
			for _, r := range getAll(t, st, nums(0, tc.eligible)) {
				if r.Status == removal.MarkedForRemoval {
					marked++
				}
			}
			if want := tc.absent; tc.refused || tc.dry {
				if marked != 0 {
					t.Errorf("%d numbers marked by a refused or dry run", marked)
				}
			} else if marked != want {
				t.Errorf("%d numbers marked, want %d", marked, want)
			}
		})
	}
}

// testReconcileConcurrent runs reconciliations of one tenant, each with
// clearReappeared and force, while other goroutines run batches of every
// action on the same numbers. Whatever the interleaving: no change is lost
// (each number's flow and event chain match the changes both sides report),
// the report's marked and cleared numbers are exactly the changes the
// reconciliation made, and each skipped number was changed by a batch
// while the run was going, its reported status one it really had and one
// the run's action does not move.
func testReconcileConcurrent(t *testing.T, st store.Store, cfg config) {
	const n = 300
	var in []store.Number
	initial := make(map[e164.Number]store.Number)
	for i := range n {
		r := rec(unum(i), tenantA, true, removal.NumberStatus(i%4))
		in = append(in, r)
		initial[r.TelephoneNumber] = normalized(r)
	}
	mustImport(t, t.Context(), st, store.Merge, importAt, in...)
	lists := [2][]string{}
	for i := range n {
		if i%3 != 0 {
			lists[0] = append(lists[0], string(unum(i)))
		}
		if i%3 != 1 {
			lists[1] = append(lists[1], string(unum(i)))
		}
	}

	batches := &recordingStore{Store: st}
	recon := &recordingStore{Store: st}
	bsvc, rsvc := newService(batches), newService(recon)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	errs := make(chan error, cfg.goroutines)
	for g := range max(1, cfg.goroutines-1) {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 99))
			actions := removal.Actions()
			for {
				select {
				case <-done:
					return
				default:
				}
				var batch []string
				for _, i := range r.Perm(n)[:1+r.IntN(40)] {
					batch = append(batch, string(unum(i)))
				}
				if _, err := bsvc.Apply(t.Context(), actions[r.IntN(len(actions))], batch); err != nil {
					errs <- err
					return
				}
				writes.Add(1)
			}
		})
	}
	type round struct {
		rep    removal.ReconcileReport
		moves  []move // the run's own changes
		before int    // batch changes recorded before the run began
		listed map[e164.Number]bool
	}
	var rounds []round
	// Reconcile until both sides have done their share, however the
	// scheduler runs them.
	for i := 0; i < cfg.iterations/2 || writes.Load() < int64(cfg.iterations) && i < 20*cfg.iterations; i++ {
		batches.mu.Lock()
		before := len(batches.moves)
		batches.mu.Unlock()
		recon.mu.Lock()
		recon.moves = nil
		recon.mu.Unlock()
		list := lists[i%2]
		rep, err := rsvc.Reconcile(t.Context(), removal.ReconcileRequest{MSTenantID: tenantA, TelephoneNumbers: list, ClearReappeared: true, Force: true})
		if err != nil {
			t.Fatalf("round %d: Reconcile: %v", i, err)
		}
		recon.mu.Lock()
		moves := slices.Clone(recon.moves)
		recon.mu.Unlock()
		listed := make(map[e164.Number]bool)
		for _, s := range list {
			listed[e164.Number(s)] = true
		}
		rounds = append(rounds, round{rep, moves, before, listed})
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a concurrent batch: %v", err)
	}

	all := slices.Clone(batches.moves)
	for _, r := range rounds {
		all = append(all, r.moves...)
	}
	final := byNumber(getAll(t, st, theUniverse[:n])...)
	if len(final) != n {
		t.Fatalf("%d of %d numbers left after concurrent batches and reconciliations", len(final), n)
	}
	wantCounts(t, st, final)
	changes := make(map[e164.Number]int)
	for _, m := range all {
		if !allowedMove(m.from, m.to) {
			t.Errorf("%s moved %s -> %s, which the transition table forbids", m.n, m.from, m.to)
		}
		changes[m.n]++
	}
	for num, r := range final {
		events := chronological(t, st, num)
		if got := len(events) - 1; got != changes[num] {
			t.Errorf("%s: %d events after its import, the stores reported %d changes", num, got, changes[num])
		}
		wantChain(t, num, events, initial[num].Status, r.Status)
	}

	skipped := 0
	for _, r := range rounds {
		skipped += r.rep.Skipped.Count
	}
	t.Logf("%d reconciliations, %d numbers skipped, %d changes by batches", len(rounds), skipped, len(batches.moves))
	for i, r := range rounds {
		var marked, cleared []e164.Number
		for _, m := range r.moves {
			switch m.to {
			case removal.MarkedForRemoval:
				marked = append(marked, m.n)
			case removal.Active:
				cleared = append(cleared, m.n)
			default:
				t.Errorf("round %d: the reconciliation moved %s to %s", i, m.n, m.to)
			}
		}
		if d := cmp.Diff(sortedStrings(marked), r.rep.Marked.TelephoneNumbers, cmpEquateEmpty); d != "" || r.rep.Marked.Count != len(marked) {
			t.Errorf("round %d: marked is not the run's changes to MarkedForRemoval (-changes +report):\n%s", i, d)
		}
		if d := cmp.Diff(sortedStrings(cleared), r.rep.Cleared.TelephoneNumbers, cmpEquateEmpty); d != "" || r.rep.Cleared.Count != len(cleared) {
			t.Errorf("round %d: cleared is not the run's changes to Active (-changes +report):\n%s", i, d)
		}
		if r.rep.Skipped.Count != len(r.rep.Skipped.Failures) {
			t.Errorf("round %d: skipped counts %d, lists %d failures", i, r.rep.Skipped.Count, len(r.rep.Skipped.Failures))
		}
		batches.mu.Lock()
		later := slices.Clone(batches.moves[r.before:])
		batches.mu.Unlock()
		for _, f := range r.rep.Skipped.Failures {
			num := f.TelephoneNumber
			if f.ErrorCode != removal.CodeInvalidStatus || f.CurrentStatus == nil {
				t.Errorf("round %d: skipped %s with %s %v, want InvalidStatus and its status", i, num, f.ErrorCode, f.CurrentStatus)
				continue
			}
			cur := *f.CurrentStatus
			// Listed numbers are only ever cleared, unlisted ones marked:
			// the status must be one that action does not move.
			if r.listed[num] && cur == removal.MarkedForRemoval || !r.listed[num] && (cur == removal.Active || cur == removal.ReleaseRequested) {
				t.Errorf("round %d: skipped %s as %s, a status the run's action moves", i, num, cur)
			}
			changedMeanwhile, had := false, initial[num].Status == cur
			for _, m := range later {
				if m.n == num {
					changedMeanwhile = true
				}
			}
			for _, e := range chronological(t, st, num) {
				if e.ToStatus != nil && *e.ToStatus == cur {
					had = true
				}
			}
			if !changedMeanwhile || !had {
				t.Errorf("round %d: skipped %s as %s, but no batch changed it after the run began (%t) or it never had that status (%t)",
					i, num, cur, changedMeanwhile, had)
			}
		}
	}
}
