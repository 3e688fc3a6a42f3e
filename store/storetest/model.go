package storetest

import (
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// universe is how many distinct numbers a model sequence uses: enough for
// a full batch of 500 plus numbers that are never stored, small enough for
// SQL backends to afford a check of all of them.
const universe = 540

// hot is the size of the part of the universe small draws prefer, so that
// short sequences revisit the same numbers.
const hot = 16

// CheckModel runs the model-based test of the suite against st and reports
// to t: rapid generates sequences of Put (new records and replacements, OC
// or not, every status, several tenants in every accepted spelling), invalid
// Puts, every removal.Actions() batch action through removal.Service.Apply
// with batches of 1 to 500 numbers (stored, absent, not OC, every status),
// invalid batches, Delete, Summary, and full scans. After every step the
// store must agree with a reference model that applies the workflow's
// transition table and batch rules directly: the same BatchResult, the same records from Get (ErrNotFound for
// numbers not stored), summaries equal to a recount, and no status reached
// by a move the transition table forbids.
//
// Each sequence first deletes every number of the suite's universe from st,
// so st may be reused across sequences but must hold no other numbers. The
// number of sequences is set with WithChecks (see the package doc). Run
// calls CheckModel; it is exported so that a backend, or a test of the suite
// itself, can run it alone with any rapid.TB.
func CheckModel(t rapid.TB, st store.Store, opts ...Option) {
	t.Helper()
	cfg := newConfig(opts)
	for range modelRounds(cfg.checks) {
		rapid.Check(t, func(rt *rapid.T) { runModel(rt, st) })
		if t.Failed() {
			return
		}
	}
}

// model is the reference: what every number of the universe must hold.
type model struct {
	st    store.Store
	svc   *removal.Service
	recs  map[e164.Number]store.Number // normalized, as Get must return them
	dirty []e164.Number                // touched by the last step, checked by the invariant
	// before holds the records the last batch action found, so that the
	// invariant can check each stored move against the transition table.
	before map[e164.Number]store.Number
	action string
}

func runModel(t *rapid.T, st store.Store) {
	all := nums(0, universe)
	if err := purge(t.Context(), st, all...); err != nil {
		t.Fatalf("resetting the store: %v", err)
	}
	m := &model{st: st, svc: newService(st), recs: make(map[e164.Number]store.Number)}
	t.Repeat(map[string]func(*rapid.T){
		"":           m.invariant,
		"put":        m.put,
		"putInvalid": m.putInvalid,
		"apply":      m.apply,
		"applyBad":   m.applyInvalid,
		"delete":     m.delete,
		"summary":    m.summary,
		"verifyAll":  func(t *rapid.T) { m.verify(t, all) },
	})
	m.verify(t, all)
}

// drawIndices draws distinct positions in the universe: usually a few from
// the hot part, drawn one by one so rapid can shrink them; sometimes a
// large batch (up to 500), derived from one drawn seed to keep generation
// cheap.
func drawIndices(t *rapid.T, label string, maxN int) ([]int, *rand.Rand) {
	if rapid.IntRange(0, 3).Draw(t, label+"Bulk") == 0 {
		n := rapid.IntRange(1, maxN).Draw(t, label+"Size")
		seed := rapid.Uint64().Draw(t, label+"Seed")
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		return r.Perm(universe)[:n], r
	}
	elem := rapid.OneOf(rapid.IntRange(0, hot-1), rapid.IntRange(0, universe-1))
	return rapid.SliceOfNDistinct(elem, 1, 8, rapid.ID[int]).Draw(t, label), nil
}

func (m *model) records(t *rapid.T, label string) []store.Number {
	idx, r := drawIndices(t, label, universe)
	out := make([]store.Number, len(idx))
	for i, j := range idx {
		var tenant, form int
		var oc bool
		var s removal.NumberStatus
		var at time.Time
		if r != nil {
			tenant, form, oc, s = r.IntN(len(tenants)), r.IntN(len(tenantForms)), r.IntN(4) != 0, removal.NumberStatus(r.IntN(4))
			at = putTime.Add(time.Duration(r.IntN(1_000_000)) * 1001)
		} else {
			tenant = rapid.IntRange(0, len(tenants)-1).Draw(t, "tenant")
			form = rapid.IntRange(0, len(tenantForms)-1).Draw(t, "tenantForm")
			oc = rapid.Bool().Draw(t, "operatorConnect")
			s = rapid.SampledFrom(removal.Statuses()).Draw(t, "status")
			at = putTime.Add(time.Duration(rapid.IntRange(0, 3).Draw(t, "at")) * 1001)
		}
		out[i] = store.Number{TelephoneNumber: num(j), MSTenantID: tenantForms[form](tenants[tenant]),
			OperatorConnect: oc, Status: s, StatusChangedAt: at}
	}
	return out
}

func (m *model) touch(ns ...e164.Number) { m.dirty = append(m.dirty, ns...) }

func (m *model) put(t *rapid.T) {
	recs := m.records(t, "put")
	if err := m.st.Put(t.Context(), recs...); err != nil {
		t.Fatalf("Put of %d valid records: %v", len(recs), err)
	}
	for _, r := range recs {
		m.recs[r.TelephoneNumber] = normalized(r)
		m.touch(r.TelephoneNumber)
	}
}

func (m *model) putInvalid(t *rapid.T) {
	recs := m.records(t, "put")
	bad := rapid.SampledFrom([]string{"duplicate", "tenant", "status", "number"}).Draw(t, "badKind")
	var b store.Number
	switch bad {
	case "duplicate":
		b = recs[rapid.IntRange(0, len(recs)-1).Draw(t, "dupOf")]
		b.Status = (b.Status + 1) % 4
	case "tenant":
		b = rec(num(universe-1), "{"+tenantA, true, removal.Active)
	case "status":
		b = rec(num(universe-1), tenantA, true, removal.NumberStatus(4))
	case "number":
		b = rec("+1425", tenantA, true, removal.Active)
	}
	at := rapid.IntRange(0, len(recs)).Draw(t, "badAt")
	recs = slices.Insert(recs, at, b)
	if err := m.st.Put(t.Context(), recs...); !errors.Is(err, store.ErrInvalidNumber) {
		t.Fatalf("Put with an invalid record (%s at %d) = %v, want store.ErrInvalidNumber", bad, at, err)
	}
	for _, r := range recs {
		if _, err := e164.Parse(string(r.TelephoneNumber)); err == nil {
			m.touch(r.TelephoneNumber)
		}
	}
}

func (m *model) apply(t *rapid.T) {
	a := rapid.SampledFrom(removal.Actions()).Draw(t, "action")
	spec, ok := specFor(a.Name())
	if !ok {
		t.Fatalf("removal.Actions() has %q, which the workflow's transition table does not define", a.Name())
	}
	idx, _ := drawIndices(t, "batch", removal.MaxBatchSize)
	batch := make([]string, len(idx))
	fx := make([]fixture, len(idx))
	before := make(map[e164.Number]store.Number, len(idx))
	for i, j := range idx {
		n := num(j)
		batch[i] = string(n)
		cur, stored := m.recs[n]
		if stored {
			before[n] = cur
		}
		cur.TelephoneNumber = n // all an absent number has
		fx[i] = fixture{cur, stored}
		m.touch(n)
	}
	want, after := expectBatch(spec, fx)
	got, err := m.svc.Apply(t.Context(), a, batch)
	if err != nil {
		t.Fatalf("%s of %d numbers: %v", a.Name(), len(batch), err)
	}
	if !sameResult(want, got) {
		t.Fatalf("%s of %d numbers: result mismatch (-want +got):\n%s", a.Name(), len(batch), cmp.Diff(want, got, resultOpts))
	}
	for _, f := range got.Failures {
		if f.Detail == "" {
			t.Fatalf("failure for %s has no detail", f.TelephoneNumber)
		}
	}
	m.action, m.before = a.Name(), before // for the invariant's transition check
	for _, f := range after {
		if f.stored {
			m.recs[f.rec.TelephoneNumber] = f.rec
		}
	}
}

// allowedMove is the workflow's transition table.
func allowedMove(from, to removal.NumberStatus) bool {
	for _, a := range specActions {
		if a.to == to && slices.Contains(a.from, from) {
			return true
		}
	}
	return false
}

func (m *model) applyInvalid(t *rapid.T) {
	a := rapid.SampledFrom(removal.Actions()).Draw(t, "action")
	idx, _ := drawIndices(t, "batch", removal.MaxBatchSize-1)
	var batch []string
	for _, j := range idx {
		batch = append(batch, string(num(j)))
		m.touch(num(j))
	}
	dup := batch[rapid.IntRange(0, len(batch)-1).Draw(t, "dupOf")]
	batch = slices.Insert(batch, rapid.IntRange(0, len(batch)).Draw(t, "dupAt"), dup)
	got, err := m.svc.Apply(t.Context(), a, batch)
	if !errors.Is(err, removal.ErrInvalidRequest) || removal.ErrorCode(err) != removal.CodeDuplicateTelephoneNumber {
		t.Fatalf("%s with %s twice: err = %v, want DuplicateTelephoneNumber", a.Name(), dup, err)
	}
	if d := cmp.Diff(removal.BatchResult{}, got); d != "" {
		t.Fatalf("%s with a duplicate: result not zero (-want +got):\n%s", a.Name(), d)
	}
}

func (m *model) delete(t *rapid.T) {
	idx, _ := drawIndices(t, "delete", universe)
	var del []e164.Number
	var want []removal.Outcome
	for _, j := range idx {
		n := num(j)
		del = append(del, n)
		var o removal.Outcome
		if r, ok := m.recs[n]; ok {
			o = removal.Outcome{Found: true, OperatorConnect: r.OperatorConnect, Status: r.Status, Changed: r.Status == removal.ReadyForRemoval}
			if o.Changed {
				delete(m.recs, n)
			}
		}
		want = append(want, o)
		m.touch(n)
	}
	got, err := m.st.Delete(t.Context(), del, stampNow)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Delete of %d numbers = %v; want nil and outcomes (-want +got):\n%s", len(del), err, cmp.Diff(want, got))
	}
}

// recount counts, as the summary is defined, the Operator Connect numbers
// of recs in the two removal statuses, for one tenant or all ("").
func recount(recs map[e164.Number]store.Number, tenant string) removal.Summary {
	var s removal.Summary
	for _, r := range recs {
		if !r.OperatorConnect || (tenant != "" && r.MSTenantID != tenant) {
			continue
		}
		switch r.Status {
		case removal.MarkedForRemoval:
			s.MarkedForRemovalCount++
		case removal.ReadyForRemoval:
			s.ReadyForRemovalCount++
		}
	}
	s.TotalCount = s.MarkedForRemovalCount + s.ReadyForRemovalCount
	return s
}

func (m *model) wantSummary(t *rapid.T, tenant, asked string) {
	got, err := m.svc.Summary(t.Context(), asked)
	if err != nil {
		t.Fatalf("Summary(%q): %v", asked, err)
	}
	if want := recount(m.recs, tenant); got != want {
		t.Fatalf("Summary(%q) = %+v, want %+v", asked, got, want)
	}
}

func (m *model) summary(t *rapid.T) {
	tenant := rapid.SampledFrom(append([]string{"", tenantNone}, tenants...)).Draw(t, "tenant")
	asked := tenant
	if tenant != "" {
		asked = tenantForms[rapid.IntRange(0, len(tenantForms)-1).Draw(t, "tenantForm")](tenant)
	}
	m.wantSummary(t, tenant, asked)
}

func (m *model) invariant(t *rapid.T) {
	m.verify(t, m.dirty)
	m.dirty, m.before = m.dirty[:0], nil
	m.wantSummary(t, "", "")
	for _, tn := range tenants {
		m.wantSummary(t, tn, tn)
	}
}

// verify checks the stored record of every number in ns against the model,
// and the move each made in the last batch action against the transition
// table.
func (m *model) verify(t *rapid.T, ns []e164.Number) {
	for _, n := range ns {
		got, err := m.st.Get(t.Context(), n)
		// Whatever the model says, no stored status may have made a move
		// the transition table forbids.
		if b, ok := m.before[n]; ok && err == nil && got.Status != b.Status && !allowedMove(b.Status, got.Status) {
			t.Fatalf("%s moved %s from %s to %s, which the transition table forbids", m.action, n, b.Status, got.Status)
		}
		want, stored := m.recs[n]
		switch {
		case !stored && !errors.Is(err, store.ErrNotFound):
			t.Fatalf("Get(%s) = %+v, %v; want ErrNotFound", n, got, err)
		case stored && err != nil:
			t.Fatalf("Get(%s): %v; want %+v", n, err, want)
		case stored && !sameRecord(want, got):
			t.Fatalf("Get(%s) mismatch (-model +store):\n%s", n, cmp.Diff(want, got, equalTime))
		}
	}
}
