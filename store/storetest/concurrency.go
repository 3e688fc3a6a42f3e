package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
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
	putFixture(t, st, pool...)

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

	byNumber := make(map[e164.Number]fixture, len(pool))
	for _, f := range pool {
		f.rec = normalized(f.rec)
		byNumber[f.rec.TelephoneNumber] = f
	}

	successes := 0
	for _, rr := range runs {
		for _, r := range rr {
			if r.err != nil {
				t.Fatalf("%s: %v", r.action.Name(), r.err)
			}
			spec, ok := specFor(r.action.Name())
			if !ok {
				t.Fatalf("unknown action %q", r.action.Name())
			}
			if r.res.ProcessedCount != len(r.batch) || r.res.SuccessCount+len(r.res.Failures) != len(r.batch) {
				t.Errorf("%s of %d: processed %d, %d successes, %d failures", r.action.Name(), len(r.batch),
					r.res.ProcessedCount, r.res.SuccessCount, len(r.res.Failures))
			}
			successes += r.res.SuccessCount
			for _, f := range r.res.Failures {
				fx := byNumber[f.TelephoneNumber]
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
					if f.ErrorCode != removal.CodeInvalidStatus || f.CurrentStatus == nil || slices.Contains(spec.from, *f.CurrentStatus) {
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
	for _, f := range pool {
		n := f.rec.TelephoneNumber
		got, err := st.Get(t.Context(), n)
		if !f.stored {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get(absent %s) = %+v, %v", n, got, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Get(%s): %v", n, err)
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
	if t.Failed() {
		t.Logf("seed %d reproduces the same batches (not the same interleaving)", seed)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
