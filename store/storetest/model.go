package storetest

import (
	"errors"
	"fmt"
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

// historySample is how many of the numbers a step touched the invariant
// reads the history of; the event counts PruneHistory returns check the
// rest.
const historySample = 6

// unum is the i-th number of the model's universe. Most are +1425 numbers
// of 11 digits; every eighth is a +44 number, a +81 number, or a +1425
// number of 10 digits, some of which are prefixes of 11-digit ones, so
// that listing meets byte order where it differs from numeric order.
func unum(i int) e164.Number {
	switch i % 8 {
	case 5:
		return e164.Number(fmt.Sprintf("+44207%07d", i))
	case 6:
		return e164.Number(fmt.Sprintf("+81%09d", i))
	case 7:
		return e164.Number(fmt.Sprintf("+1425%06d", i/8))
	}
	return num(i)
}

// theUniverse lists unum(0) to unum(universe-1).
var theUniverse = func() []e164.Number {
	out := make([]e164.Number, universe)
	for i := range out {
		out[i] = unum(i)
	}
	return out
}()

// The instants model events are written at: imports and deletes draw one,
// batch actions write at stampNow. Several steps share an instant, so the
// tie rule of the history's order is exercised, and PruneHistory's cut is
// drawn among them and a microsecond around them.
var (
	modelTimes = []time.Time{stampNow.Add(-2 * time.Hour), stampNow.Add(-time.Hour), stampNow, stampNow.Add(time.Hour)}
	pruneCuts  = func() []time.Time {
		var out []time.Time
		for _, at := range modelTimes {
			out = append(out, at, at.Add(time.Microsecond), at.Add(-time.Microsecond))
		}
		return append(out, farFuture)
	}()
)

// CheckModel runs the model-based test of the suite against st and reports
// to t. rapid generates sequences of:
//   - imports with Merge and Replace (new and stored numbers, OC or not,
//     every status, several tenants in every accepted spelling, an import
//     time and an audit), and invalid imports and Puts;
//   - every removal.Actions() batch action through removal.Service.Apply
//     with batches of 1 to 500 numbers (stored, absent, not OC, every
//     status) and an audit, and invalid batches; Store.Apply called
//     directly with changes that are no batch action's move, which the
//     store must refuse;
//   - Delete, PruneHistory with a cut among the instants events have;
//   - reads: Service.List with random filters and paging (page numbers,
//     after cursors from the universe, from the stored numbers and from
//     outside), ListNumbers with every filter, Get, GetMany, Summary,
//     Service.History with paging, and full scans.
//
// The model applies the workflow's transition table, the batch rules, the
// import modes and the history and listing rules directly. After every
// step the store must agree with it: the same results, the same records
// (read with one GetMany) for the numbers the step touched, CountByStatus
// of all four statuses, per tenant and for all, equal to a recount, the
// events of the touched numbers (of a sample of 6 when more were touched),
// and no status reached by a move the transition table forbids.
// PruneHistory's count, and at the end of a sequence the count of every
// event left, check that no event is missing or extra anywhere.
//
// Each sequence first empties st of the suite's universe: it deletes its
// numbers and prunes every event. st may be reused across sequences but
// must hold nothing else. The number of sequences is set with WithChecks
// (see the package doc). Run calls CheckModel; it is exported so that a
// backend, or a test of the suite itself, can run it alone with any
// rapid.TB.
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
	st      store.Store
	svc     *removal.Service
	recs    map[e164.Number]store.Number    // normalized, as Get must return them
	hist    map[e164.Number][]removal.Event // in the order written
	nEvents int                             // the events in hist
	dirty   []e164.Number                   // records touched by the last step
	dirtyH  []e164.Number                   // histories touched by the last step
	sample  *rand.Rand                      // picks the histories the invariant reads
	// before holds the records the last batch action found, so that the
	// invariant can check each stored move against the transition table.
	before map[e164.Number]store.Number
	action string
}

// resetStore empties st of the numbers ns and of every event.
func resetStore(t checker, st store.Store, ns []e164.Number) {
	t.Helper()
	if err := purge(t.Context(), st, ns...); err != nil {
		t.Fatalf("resetting the store: %v", err)
	}
	if _, err := st.PruneHistory(t.Context(), farFuture); err != nil {
		t.Fatalf("resetting the history: %v", err)
	}
}

func runModel(t *rapid.T, st store.Store) {
	resetStore(t, st, theUniverse)
	m := &model{st: st, svc: newService(st), recs: make(map[e164.Number]store.Number),
		hist:   make(map[e164.Number][]removal.Event),
		sample: rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "sampleSeed"), 0x5a3e))}
	t.Repeat(map[string]func(*rapid.T){
		"":              m.invariant,
		"import":        m.importStep,
		"importInvalid": m.importInvalid,
		"apply":         m.apply,
		"applyBad":      m.applyInvalid,
		"applyIllegal":  m.applyIllegal,
		"delete":        m.delete,
		"prune":         m.prune,
		"summary":       m.summary,
		"list":          m.list,
		"listNumbers":   m.listNumbers,
		"get":           m.get,
		"getMany":       m.getMany,
		"history":       m.history,
		"verifyAll":     func(t *rapid.T) { m.verify(t, theUniverse) },
	})
	m.verify(t, theUniverse)
	wantCounts(t, st, m.recs)
	n, err := st.PruneHistory(t.Context(), farFuture)
	if err != nil || n != m.nEvents {
		t.Fatalf("at the end of the sequence, PruneHistory(every event) = %d, %v; the model has %d events", n, err, m.nEvents)
	}
}

// drawIndices draws distinct positions in the universe: usually a few from
// the hot part, drawn one by one so rapid can shrink them; sometimes a
// large batch (up to maxN), derived from one drawn seed to keep generation
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

func drawNumber(t *rapid.T, label string) e164.Number {
	return unum(rapid.OneOf(rapid.IntRange(0, hot-1), rapid.IntRange(0, universe-1)).Draw(t, label))
}

func drawAudit(t *rapid.T) removal.Audit { return rapid.SampledFrom(audits).Draw(t, "audit") }

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
		out[i] = store.Number{TelephoneNumber: unum(j), MSTenantID: tenantForms[form](tenants[tenant]),
			OperatorConnect: oc, Status: s, StatusChangedAt: at}
	}
	return out
}

// touch marks the records and histories of ns for the invariant.
func (m *model) touch(ns ...e164.Number) {
	m.dirty = append(m.dirty, ns...)
	m.dirtyH = append(m.dirtyH, ns...)
}

// record appends an event to the model and marks its number's history for
// the invariant.
func (m *model) record(e removal.Event) {
	m.hist[e.TelephoneNumber] = append(m.hist[e.TelephoneNumber], e)
	m.nEvents++
	m.dirtyH = append(m.dirtyH, e.TelephoneNumber)
}

func (m *model) importStep(t *rapid.T) {
	mode := rapid.SampledFrom([]store.ImportMode{store.Merge, store.Replace}).Draw(t, "mode")
	recs := m.records(t, "import")
	at := rapid.SampledFrom(modelTimes).Draw(t, "importAt")
	au := drawAudit(t)
	var want store.ImportResult
	var events []removal.Event
	next := make(map[e164.Number]store.Number, len(recs))
	for _, r := range recs {
		r = normalized(r)
		m.touch(r.TelephoneNumber)
		old, ok := m.recs[r.TelephoneNumber]
		switch {
		case !ok:
			want.Inserted++
			events = append(events, event(r, evImport, nil, statusPtr(r.Status), at, au))
		case mode == store.Merge:
			want.Updated++
			if r.Status != old.Status {
				want.StatusKept++
			}
			r.Status, r.StatusChangedAt = old.Status, old.StatusChangedAt
		default:
			want.Updated++
			if r.Status != old.Status {
				events = append(events, event(r, evImport, statusPtr(old.Status), statusPtr(r.Status), at, au))
			}
		}
		next[r.TelephoneNumber] = r
	}
	got, err := m.st.Import(withAudit(t.Context(), au), recs, store.ImportOptions{Mode: mode, At: at})
	if err != nil {
		t.Fatalf("Import (%s) of %d valid records: %v", mode, len(recs), err)
	}
	if got != want {
		t.Fatalf("Import (%s) of %d records = %+v, want %+v", mode, len(recs), got, want)
	}
	for n, r := range next {
		m.recs[n] = r
	}
	for _, e := range events {
		m.record(e)
	}
}

func (m *model) importInvalid(t *rapid.T) {
	recs := m.records(t, "import")
	bad := rapid.SampledFrom([]string{"duplicate", "tenant", "status", "number"}).Draw(t, "badKind")
	var b store.Number
	switch bad {
	case "duplicate":
		b = recs[rapid.IntRange(0, len(recs)-1).Draw(t, "dupOf")]
		b.Status = (b.Status + 1) % 4
	case "tenant":
		b = rec(unum(universe-1), "{"+tenantA, true, removal.Active)
	case "status":
		b = rec(unum(universe-1), tenantA, true, removal.NumberStatus(4))
	case "number":
		b = rec("+1425", tenantA, true, removal.Active)
	}
	at := rapid.IntRange(0, len(recs)).Draw(t, "badAt")
	recs = slices.Insert(recs, at, b)
	var err error
	how := rapid.SampledFrom([]string{"Put", "Merge", "Replace"}).Draw(t, "how")
	switch how {
	case "Put":
		err = m.st.Put(t.Context(), recs...)
	default:
		var res store.ImportResult
		mode := store.Merge
		if how == "Replace" {
			mode = store.Replace
		}
		res, err = m.st.Import(t.Context(), recs, store.ImportOptions{Mode: mode, At: stampNow})
		if res != (store.ImportResult{}) {
			t.Fatalf("a refused Import reports %+v, want the zero result", res)
		}
	}
	if !errors.Is(err, store.ErrInvalidNumber) {
		t.Fatalf("%s with an invalid record (%s at %d) = %v, want store.ErrInvalidNumber", how, bad, at, err)
	}
	for _, r := range recs {
		if _, err := e164.Parse(string(r.TelephoneNumber)); err == nil {
			m.touch(r.TelephoneNumber)
		}
	}
}

func (m *model) apply(t *rapid.T) {
	a := rapid.SampledFrom(removal.Actions()).Draw(t, "action")
	tr, ok := transitionFor(a.Name())
	if !ok {
		t.Fatalf("removal.Actions() has %q, which the workflow's transition table does not define", a.Name())
	}
	au := drawAudit(t)
	idx, _ := drawIndices(t, "batch", removal.MaxBatchSize)
	batch := make([]string, len(idx))
	fx := make([]fixture, len(idx))
	before := make(map[e164.Number]store.Number, len(idx))
	for i, j := range idx {
		n := unum(j)
		batch[i] = string(n)
		cur, stored := m.recs[n]
		if stored {
			before[n] = cur
		}
		cur.TelephoneNumber = n // all an absent number has
		fx[i] = fixture{cur, stored}
		m.touch(n)
	}
	want, after := expectBatch(tr, fx)
	got, err := m.svc.Apply(withAudit(t.Context(), au), a, batch)
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
	for i, f := range after {
		if !f.stored {
			continue
		}
		if old := fx[i].rec; old.Status != f.rec.Status {
			m.record(event(f.rec, tr.event, statusPtr(old.Status), statusPtr(f.rec.Status), stampNow, au))
		}
		m.recs[f.rec.TelephoneNumber] = f.rec
	}
}

// allowedMove is the workflow's transition table.
func allowedMove(from, to removal.NumberStatus) bool {
	for _, a := range transitions {
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
		batch = append(batch, string(unum(j)))
		m.touch(unum(j))
	}
	dup := batch[rapid.IntRange(0, len(batch)-1).Draw(t, "dupOf")]
	batch = slices.Insert(batch, rapid.IntRange(0, len(batch)).Draw(t, "dupAt"), dup)
	got, err := m.svc.Apply(withAudit(t.Context(), drawAudit(t)), a, batch)
	if !errors.Is(err, removal.ErrInvalidRequest) || removal.ErrorCode(err) != removal.CodeDuplicateTelephoneNumber {
		t.Fatalf("%s with %s twice: err = %v, want DuplicateTelephoneNumber", a.Name(), dup, err)
	}
	if d := cmp.Diff(removal.BatchResult{}, got); d != "" {
		t.Fatalf("%s with a duplicate: result not zero (-want +got):\n%s", a.Name(), d)
	}
}

// applyIllegal calls Store.Apply directly with a change that is not a move
// of any batch action (a draw that happens to be one does nothing): the store
// must refuse it with an error and no outcome, and change nothing (the
// invariant checks the numbers and their histories).
func (m *model) applyIllegal(t *rapid.T) {
	statuses := []removal.NumberStatus{removal.Active, removal.ReleaseRequested, removal.MarkedForRemoval, removal.ReadyForRemoval, 4, -1}
	from := rapid.SliceOfN(rapid.SampledFrom(statuses), 0, 4).Draw(t, "from")
	to := rapid.SampledFrom(statuses).Draw(t, "to")
	ev := rapid.SampledFrom(append(removal.EventActions(), "bogus", "")).Draw(t, "event")
	legal := false
	for _, a := range removal.Actions() {
		ok := a.Event() == ev && a.To() == to && len(from) > 0
		for i, f := range from {
			ok = ok && a.Allows(f) && !slices.Contains(from[:i], f)
		}
		legal = legal || ok
	}
	if legal {
		return // the apply step covers legal changes
	}
	idx, _ := drawIndices(t, "illegal", removal.MaxBatchSize)
	ns := make([]e164.Number, len(idx))
	for i, j := range idx {
		ns[i] = unum(j)
		m.touch(ns[i])
	}
	c := removal.Change{From: from, To: to, At: rapid.SampledFrom(modelTimes).Draw(t, "at"), Event: ev}
	got, err := m.st.Apply(withAudit(t.Context(), drawAudit(t)), ns, c)
	if err == nil || len(got) != 0 {
		t.Fatalf("Apply(%+v) = %d outcomes, %v; want none and an error", c, len(got), err)
	}
}

func (m *model) delete(t *rapid.T) {
	idx, _ := drawIndices(t, "delete", universe)
	at := rapid.SampledFrom(modelTimes).Draw(t, "deleteAt")
	au := drawAudit(t)
	var del []e164.Number
	var want []removal.Outcome
	var gone []store.Number
	for _, j := range idx {
		n := unum(j)
		del = append(del, n)
		var o removal.Outcome
		if r, ok := m.recs[n]; ok {
			o = removal.Outcome{Found: true, OperatorConnect: r.OperatorConnect, Status: r.Status, Changed: r.Status == removal.ReadyForRemoval}
			if o.Changed {
				gone = append(gone, r)
			}
		}
		want = append(want, o)
		m.touch(n)
	}
	got, err := m.st.Delete(withAudit(t.Context(), au), del, at)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Delete of %d numbers = %v; want nil and outcomes (-want +got):\n%s", len(del), err, cmp.Diff(want, got))
	}
	for _, r := range gone {
		delete(m.recs, r.TelephoneNumber)
		m.record(event(r, evPurge, statusPtr(removal.ReadyForRemoval), nil, at, au))
	}
}

func (m *model) prune(t *rapid.T) {
	cut := rapid.SampledFrom(pruneCuts).Draw(t, "cut")
	want := 0
	for n, h := range m.hist {
		kept := h[:0]
		for _, e := range h {
			if e.At.Before(cut) {
				want++
				continue
			}
			kept = append(kept, e)
		}
		if len(kept) < len(h) {
			m.dirtyH = append(m.dirtyH, n)
		}
		if len(kept) == 0 {
			delete(m.hist, n)
		} else {
			m.hist[n] = kept
		}
	}
	m.nEvents -= want
	var got int
	var err error
	if rapid.Bool().Draw(t, "throughService") {
		got, err = m.svc.PruneHistory(t.Context(), cut.In(clockZone))
	} else {
		got, err = m.st.PruneHistory(t.Context(), cut)
	}
	if err != nil || got != want {
		t.Fatalf("PruneHistory(%v) = %d, %v; want %d: the events strictly older", cut, got, err, want)
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

func drawTenant(t *rapid.T) (canonical, asked string) {
	tenant := rapid.SampledFrom(append([]string{"", tenantNone}, tenants...)).Draw(t, "tenant")
	if tenant == "" {
		return "", ""
	}
	return tenant, tenantForms[rapid.IntRange(0, len(tenantForms)-1).Draw(t, "tenantForm")](tenant)
}

func (m *model) summary(t *rapid.T) {
	tenant, asked := drawTenant(t)
	got, err := m.svc.Summary(t.Context(), asked)
	if err != nil {
		t.Fatalf("Summary(%q): %v", asked, err)
	}
	if want := recount(m.recs, tenant); got != want {
		t.Fatalf("Summary(%q) = %+v, want %+v", asked, got, want)
	}
}

// drawAfter draws a keyset cursor: a number of the universe, a stored one,
// or one outside the universe before or after all of it.
func (m *model) drawAfter(t *rapid.T) e164.Number {
	switch rapid.IntRange(0, 3).Draw(t, "afterFrom") {
	case 0:
		return drawNumber(t, "after")
	case 1:
		if len(m.recs) > 0 {
			stored := sortedNumbers(listed(m.recs, filter{allKinds: true}))
			return stored[rapid.IntRange(0, len(stored)-1).Draw(t, "afterStored")]
		}
	case 2:
		return rapid.SampledFrom([]e164.Number{"+1200000000", "+14250000", "+998999999999", "+4420700000000"}).Draw(t, "afterOutside")
	}
	return ""
}

func drawStatuses(t *rapid.T) []removal.NumberStatus {
	return rapid.SliceOfN(rapid.SampledFrom(removal.Statuses()), 0, 4).Draw(t, "statuses")
}

func (m *model) list(t *rapid.T) {
	_, asked := drawTenant(t)
	q := removal.ListQuery{MSTenantID: asked, Statuses: drawStatuses(t),
		PageSize: rapid.OneOf(rapid.IntRange(1, 12), rapid.SampledFrom([]int{0, 200, removal.MaxPageSize})).Draw(t, "pageSize")}
	if rapid.Bool().Draw(t, "keyset") {
		q.After = string(m.drawAfter(t))
		q.PageNumber = rapid.IntRange(0, 1).Draw(t, "pageNumber")
	} else {
		size := q.PageSize
		if size == 0 {
			size = 200
		}
		total := len(listed(m.recs, filter{tenant: canonicalTenant(asked), statuses: q.Statuses}))
		q.PageNumber = rapid.IntRange(0, total/size+2).Draw(t, "pageNumber")
	}
	got, err := m.svc.List(t.Context(), q)
	if err != nil {
		t.Fatalf("List(%+v): %v", q, err)
	}
	if want := wantPage(m.recs, q); !samePage(want, got) {
		t.Fatalf("List(%+v) mismatch (-model +store):\n%s", q, cmp.Diff(want, got, pageOpts))
	}
}

func (m *model) listNumbers(t *rapid.T) {
	tenant, _ := drawTenant(t)
	f := filter{tenant: tenant, statuses: drawStatuses(t), allKinds: rapid.Bool().Draw(t, "allKinds"), after: m.drawAfter(t)}
	if rapid.Bool().Draw(t, "byTime") {
		f.changedBy = putTime.Add(time.Duration(rapid.IntRange(-1, 4).Draw(t, "changedBy")) * 1001).UTC().Truncate(time.Microsecond)
		if rapid.IntRange(0, 3).Draw(t, "changedByStamp") == 0 {
			f.changedBy = rapid.SampledFrom(modelTimes).Draw(t, "changedByModel")
		}
	}
	offset := rapid.OneOf(rapid.Just(0), rapid.IntRange(0, 40)).Draw(t, "offset")
	limit := rapid.OneOf(rapid.IntRange(1, 20), rapid.IntRange(1, universe+1)).Draw(t, "limit")
	got, err := m.st.ListNumbers(t.Context(), f.query(offset, limit))
	if err != nil {
		t.Fatalf("ListNumbers(%+v): %v", f.query(offset, limit), err)
	}
	if want := window(listed(m.recs, f), offset, limit); !slices.EqualFunc(want, got, sameRecord) {
		t.Fatalf("ListNumbers(%+v) mismatch (-model +store):\n%s", f.query(offset, limit), cmp.Diff(want, got, pageOpts))
	}
}

func (m *model) get(t *rapid.T) {
	n := drawNumber(t, "number")
	got, err := m.svc.Get(t.Context(), string(n))
	want, stored := m.recs[n]
	switch {
	case !stored && !errors.Is(err, removal.ErrNotFound):
		t.Fatalf("Get(%s) = %+v, %v; want ErrNotFound", n, got, err)
	case stored && (err != nil || !sameRecord(want, got)):
		t.Fatalf("Get(%s) = %+v, %v; want %+v", n, got, err, want)
	}
}

func (m *model) getMany(t *rapid.T) {
	idx, _ := drawIndices(t, "getMany", universe)
	ns := make([]e164.Number, len(idx))
	var want []store.Number
	for i, j := range idx {
		ns[i] = unum(j)
		if r, ok := m.recs[ns[i]]; ok {
			want = append(want, r)
		}
	}
	want = listed(byNumber(want...), filter{allKinds: true})
	got, err := m.st.GetMany(t.Context(), ns)
	if err != nil || !slices.EqualFunc(want, got, sameRecord) {
		t.Fatalf("GetMany of %d numbers: %v (-model +store):\n%s", len(ns), err, cmp.Diff(want, got, pageOpts))
	}
}

func (m *model) history(t *rapid.T) {
	n := drawNumber(t, "number")
	q := removal.HistoryQuery{PageNumber: rapid.IntRange(0, 3).Draw(t, "pageNumber"), PageSize: rapid.IntRange(0, 4).Draw(t, "pageSize")}
	got, err := m.svc.History(t.Context(), string(n), q)
	events := newestFirst(m.hist[n])
	if _, stored := m.recs[n]; !stored && len(events) == 0 {
		if !errors.Is(err, removal.ErrNotFound) {
			t.Fatalf("History(%s) of a number neither stored nor with events = %+v, %v; want ErrNotFound", n, got, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("History(%s, %+v): %v", n, q, err)
	}
	size, page := q.PageSize, max(q.PageNumber, 1)
	if size == 0 {
		size = 200
	}
	want := removal.EventPage{CurrentPage: page, PageSize: size, TotalPages: (len(events) + size - 1) / size,
		TotalRecords: len(events), Data: window(events, (page-1)*size, size)}
	if got.CurrentPage != want.CurrentPage || got.PageSize != want.PageSize || got.TotalPages != want.TotalPages ||
		got.TotalRecords != want.TotalRecords || got.Data == nil || !slices.EqualFunc(want.Data, got.Data, sameEvent) {
		t.Fatalf("History(%s, %+v) mismatch (-model +store):\n%s", n, q, cmp.Diff(want, got, equalTime, cmpEquateEmpty))
	}
}

func (m *model) invariant(t *rapid.T) {
	if len(m.dirty) == 0 && len(m.dirtyH) == 0 {
		return // a read: nothing to check again
	}
	m.verify(t, m.dirty)
	m.verifyHistory(t, m.dirtyH)
	m.dirty, m.dirtyH, m.before = m.dirty[:0], m.dirtyH[:0], nil
	wantCounts(t, m.st, m.recs)
}

// distinct returns ns without repeats, in first-seen order.
func distinct(ns []e164.Number) []e164.Number {
	seen := make(map[e164.Number]bool, len(ns))
	out := make([]e164.Number, 0, len(ns))
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// verify checks the stored records of ns against the model, with one
// GetMany, and the move each made in the last batch action against the
// transition table.
func (m *model) verify(t *rapid.T, ns []e164.Number) {
	ns = distinct(ns)
	if len(ns) == 0 {
		return
	}
	found, err := m.st.GetMany(t.Context(), ns)
	if err != nil {
		t.Fatalf("GetMany of %d numbers: %v", len(ns), err)
	}
	got := make(map[e164.Number]store.Number, len(found))
	for i, r := range found {
		if i > 0 && string(found[i-1].TelephoneNumber) >= string(r.TelephoneNumber) {
			t.Fatalf("GetMany returned %s after %s: not in ascending order", r.TelephoneNumber, found[i-1].TelephoneNumber)
		}
		got[r.TelephoneNumber] = r
	}
	for _, n := range ns {
		g, present := got[n]
		// Whatever the model says, no stored status may have made a move
		// the transition table forbids.
		if b, ok := m.before[n]; ok && present && g.Status != b.Status && !allowedMove(b.Status, g.Status) {
			t.Fatalf("%s moved %s from %s to %s, which the transition table forbids", m.action, n, b.Status, g.Status)
		}
		want, stored := m.recs[n]
		switch {
		case !stored && present:
			t.Fatalf("GetMany returned %+v; the model has %s not stored", g, n)
		case stored && !present:
			t.Fatalf("GetMany left out %s; the model has %+v", n, want)
		case stored && !sameRecord(want, g):
			t.Fatalf("%s mismatch (-model +store):\n%s", n, cmp.Diff(want, g, equalTime))
		}
	}
	if len(found) != len(got) {
		t.Fatalf("GetMany returned a number twice: %d records, %d numbers", len(found), len(got))
	}
}

// verifyHistory checks the histories of ns, or of a sample of them.
func (m *model) verifyHistory(t *rapid.T, ns []e164.Number) {
	ns = distinct(ns)
	if len(ns) > historySample {
		m.sample.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
		ns = ns[:historySample]
	}
	for _, n := range ns {
		wantHistory(t, m.st, n, newestFirst(m.hist[n]))
	}
}

// samePage is cmp.Equal(a, b, pageOpts) without reflection, but an empty
// page's Data must be non-nil.
func samePage(a, b removal.NumberPage) bool {
	return a.CurrentPage == b.CurrentPage && a.PageSize == b.PageSize && a.TotalPages == b.TotalPages &&
		a.TotalRecords == b.TotalRecords && a.NextAfter == b.NextAfter && b.Data != nil &&
		slices.EqualFunc(a.Data, b.Data, sameRecord)
}
