// Package memstore is an in-memory ocnumbers store, safe for concurrent use.
//
// It is meant for the tests of host applications and for small deployments
// that can rebuild their inventory at start: nothing is persisted, and the
// whole inventory lives in one process. Its inventory and its history are
// bounded by nothing but memory: every number stored and every event written
// stays until it is deleted (Delete) or pruned (PruneHistory).
//
// # Design
//
// One mutex guards everything. Apply and Delete take it once per chunk of
// removal.ChunkSize numbers, so a long batch lets readers and other writers
// in between chunks while each number is still changed atomically.
//
//   - Records: one per telephone number, 64 bytes without a pointer, in
//     blocks that never move, found by the number's digits in an
//     open-addressing table. Nothing the inventory holds is a pointer the
//     garbage collector must follow, so a large store does not make every
//     collection of its host slower; a number's text is rebuilt from its
//     digits when it is listed.
//   - Counters: the Operator Connect numbers per tenant and status, and for
//     all tenants, so that CountByStatus (and so Summary and a listing's
//     totalRecords) costs O(1) whatever the inventory's size.
//   - Ordered indexes: one of every number, and one per tenant, each a list
//     of sorted chunks of at most 512 records found by binary search on
//     their first keys, with, per chunk, a bitmap and a count for each
//     status of Operator Connect and other numbers. Keys are uint64 in the
//     byte order of the E.164 strings. A page of ListNumbers costs a binary
//     search and the chunks it reads, whatever its depth by After; Offset
//     skips whole chunks by their counts; a filter on statuses skips chunks
//     that hold none. A status change flips two bits and two counters per
//     index; inserting and deleting numbers moves at most one chunk.
//   - History: one append-only log of 16-byte events without pointers, each
//     linked to its number's previous one, so a batch's events cost an
//     append each; the time, action, tenant and audit of a call's events
//     are one shared stamp. A number's history is read by following its
//     links and sorting them by time (newest first, the later written
//     first among equal times).
//
// Decisions where the store contract is silent:
//   - Every method returns ctx.Err() when the context is already done, and
//     then changes nothing, so host tests see the same behaviour as with a
//     database backend.
//   - CountByStatus counts 0 for a status outside the four of the workflow;
//     ListNumbers ignores such a status in its filter.
//   - Records are copied in and out: callers cannot change stored state
//     through a value they passed or received.
//   - PruneHistory checks ctx once and prunes everything in one step: in
//     memory there is no transaction to keep small.
//   - An event of a replace import that moves a number to another tenant
//     names the new tenant.
//   - A tenant, once named, keeps its (empty) counters and indexes after
//     its last number goes: tenants are few.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

var _ store.Store = (*Store)(nil)

// counts holds, for each of the four statuses, how many Operator Connect
// numbers are in it.
type counts [4]int

// record is a stored number with its place in the indexes and its history.
// It holds no pointer, so that the garbage collector never scans the
// inventory, and takes one cache line.
type record struct {
	ch      [2]int32  // its chunk's id in the index of all numbers and in its tenant's
	tenant  int32     // index in Store.tenantIDs and Store.scopes
	hist    chain     // its events
	changed int64     // StatusChangedAt, in microseconds since the Unix epoch
	ver     [2]uint32 // each chunk's version when slot was found
	slot    [2]uint16 // its slot in each chunk (see index.locate)
	status  int8
	oc      bool
	key     uint64 // orderKey of the number
	dkey    uint64 // e164.Number.Key of the number: its digits
}

func (r *record) category() category {
	c := category(r.status)
	if r.oc {
		c |= 4
	}
	return c
}

// telephoneNumber returns the number of a record: E.164 has no leading
// zero, so its digits are its key.
func (r *record) telephoneNumber() e164.Number {
	return e164.Number("+" + strconv.FormatUint(r.dkey, 10))
}

// slab holds the records in blocks that never move, so a *record stays
// valid; ids of deleted records are reused.
type slab struct {
	blocks [][]record
	free   []int32
	n      int32
}

const (
	slabShift = 12
	slabBlock = 1 << slabShift
)

func (sl *slab) at(id int32) *record { return &sl.blocks[id>>slabShift][id&(slabBlock-1)] }

func (sl *slab) alloc() int32 {
	if n := len(sl.free); n > 0 {
		id := sl.free[n-1]
		sl.free = sl.free[:n-1]
		return id
	}
	if sl.n&(slabBlock-1) == 0 {
		sl.blocks = append(sl.blocks, make([]record, slabBlock))
	}
	sl.n++
	return sl.n - 1
}

func (sl *slab) release(id int32) {
	*sl.at(id) = record{}
	sl.free = append(sl.free, id)
}

// scope is what the store keeps per tenant, and for all numbers.
type scope struct {
	id     string
	counts counts // Operator Connect numbers only
	idx    index  // every number, Operator Connect or not
}

func (sc *scope) add(id int32, r *record) {
	if r.oc {
		sc.counts[r.status]++
	}
	sc.idx.insert(id, r, r.category())
}

func (sc *scope) drop(r *record) {
	if r.oc {
		sc.counts[r.status]--
	}
	sc.idx.remove(r)
}

// Store is the in-memory backend. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	recs    slab
	numbers table // record ids by e164.Number.Key
	all     scope
	scopes  []*scope // by tenant index

	tenantIDs []string         // every tenant a record or an event names
	tenantIdx map[string]int32 // index in tenantIDs

	gone       map[uint64]int32 // the chain of a deleted number: index in goneChains
	goneChains []chain
	goneFree   []int32  // free indexes in goneChains
	chainAt    []int32  // by chain id: a record id, or -1-i for goneChains[i]
	chainKeys  []uint64 // by chain id: the number's e164.Number.Key
	log        eventLog
	stamps     []stamp
	audits     []removal.Audit // audits[0] is the zero Audit
	noHistory  bool            // benchmarks only: write no events
}

// Option configures a Store. There are none for callers yet; the type
// keeps New's signature stable when some are added.
type Option func(*Store)

// withoutHistory makes the store write no history events; benchmarks use
// it to measure what history costs.
func withoutHistory() Option { return func(s *Store) { s.noHistory = true } }

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{
		tenantIdx: make(map[string]int32),
		gone:      make(map[uint64]int32),
		audits:    []removal.Audit{{}},
	}
	s.all.idx = index{id: 0, recs: &s.recs}
	for _, o := range opts {
		o(s)
	}
	return s
}

// scopeOf returns the scope of tenant index t, creating it. Called with mu
// held.
func (s *Store) scopeOf(t int32) *scope {
	for int(t) >= len(s.scopes) {
		s.scopes = append(s.scopes, nil)
	}
	if s.scopes[t] == nil {
		s.scopes[t] = &scope{id: s.tenantIDs[t], idx: index{id: 1, recs: &s.recs}}
	}
	return s.scopes[t]
}

// lookup returns the record of n and its id. Called with mu held.
func (s *Store) lookup(n e164.Number) (int32, *record) {
	if _, err := e164.Parse(string(n)); err != nil {
		return -1, nil // never stored, and its key would be meaningless
	}
	id, ok := s.numbers.get(n.Key())
	if !ok {
		return -1, nil
	}
	return id, s.recs.at(id)
}

// number returns what the store contract has of a record.
func (s *Store) number(n e164.Number, r *record) store.Number {
	return store.Number{TelephoneNumber: n, MSTenantID: s.tenantIDs[r.tenant], OperatorConnect: r.oc,
		Status: removal.NumberStatus(r.status), StatusChangedAt: time.UnixMicro(r.changed).UTC()}
}

// Put inserts or replaces numbers, all or nothing: Import with store.Replace.
func (s *Store) Put(ctx context.Context, numbers ...store.Number) error {
	_, err := s.Import(ctx, numbers, store.ImportOptions{Mode: store.Replace})
	return err
}

// Import implements store.Store: every record is checked with
// store.NormalizeAll before any is stored.
func (s *Store) Import(ctx context.Context, numbers []store.Number, opts store.ImportOptions) (store.ImportResult, error) {
	if err := ctx.Err(); err != nil {
		return store.ImportResult{}, err
	}
	if opts.Mode != store.Merge && opts.Mode != store.Replace {
		return store.ImportResult{}, fmt.Errorf("memstore: import: unknown mode %s", opts.Mode)
	}
	norm, err := store.NormalizeAll(numbers)
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("memstore: import: %w", err)
	}
	t := opts.At
	if t.IsZero() {
		t = time.Now()
	}
	at := t.UTC().Truncate(time.Microsecond).UnixMicro()
	var res store.ImportResult
	s.mu.Lock()
	defer s.mu.Unlock()
	audit := s.internAudit(removal.AuditFrom(ctx))
	imp := actionCode(removal.EventImport)
	for i := range norm {
		n := norm[i]
		dkey := n.TelephoneNumber.Key()
		tenant := s.tenantIndex(n.MSTenantID)
		if id, ok := s.numbers.get(dkey); ok {
			old := s.recs.at(id)
			res.Updated++
			from := removal.NumberStatus(old.status)
			if opts.Mode == store.Merge {
				if n.Status != from {
					res.StatusKept++
				}
				n.Status, n.StatusChangedAt = from, time.UnixMicro(old.changed)
			}
			s.update(id, old, tenant, n)
			if n.Status != from {
				s.record(&old.hist, stamp{at: at, tenant: tenant, audit: audit, action: imp}, int8(from), int8(n.Status))
			}
			continue
		}
		res.Inserted++
		id := s.recs.alloc()
		r := s.recs.at(id)
		*r = record{key: orderKey(n.TelephoneNumber), dkey: dkey, tenant: tenant,
			oc: n.OperatorConnect, status: int8(n.Status), changed: n.StatusChangedAt.UnixMicro()}
		s.numbers.put(dkey, id)
		s.attach(id, r)
		s.all.add(id, r)
		s.scopeOf(tenant).add(id, r)
		s.record(&r.hist, stamp{at: at, tenant: tenant, audit: audit, action: imp}, noStatus, int8(n.Status))
	}
	return res, nil
}

// update rewrites record id in place, moving it between tenants and
// categories. Called with mu held.
func (s *Store) update(id int32, r *record, tenant int32, n store.Number) {
	oldCat := r.category()
	if r.oc {
		s.all.counts[r.status]--
	}
	set := func() { r.oc, r.status, r.changed = n.OperatorConnect, int8(n.Status), n.StatusChangedAt.UnixMicro() }
	if tenant != r.tenant {
		s.scopes[r.tenant].drop(r)
		set()
		r.tenant = tenant
		s.scopeOf(tenant).add(id, r)
	} else {
		sc := s.scopes[r.tenant]
		if r.oc {
			sc.counts[r.status]--
		}
		set()
		if r.oc {
			sc.counts[r.status]++
		}
		sc.idx.move(r, oldCat, r.category())
	}
	if r.oc {
		s.all.counts[r.status]++
	}
	s.all.idx.move(r, oldCat, r.category())
}

// Get returns a copy of the stored number, or an error matching
// store.ErrNotFound.
func (s *Store) Get(ctx context.Context, n e164.Number) (store.Number, error) {
	if err := ctx.Err(); err != nil {
		return store.Number{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r := s.lookup(n)
	if r == nil {
		return store.Number{}, fmt.Errorf("memstore: get %s: %w", n, store.ErrNotFound)
	}
	return s.number(n, r), nil
}

// GetMany implements removal.Store.
func (s *Store) GetMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type found struct {
		key uint64
		n   store.Number
	}
	var fs []found
	s.mu.Lock()
	for _, n := range numbers {
		if _, r := s.lookup(n); r != nil {
			fs = append(fs, found{r.key, s.number(n, r)})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(fs, func(a, b found) int { return cmp.Compare(a.key, b.key) })
	out := make([]store.Number, len(fs))
	for i, f := range fs {
		out[i] = f.n
	}
	return out, nil
}

// ListNumbers implements removal.Store from the ordered indexes: the
// tenant's, or that of all numbers. A limit below 1 or a negative offset is
// an error.
func (s *Store) ListNumbers(ctx context.Context, q removal.NumberQuery) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Offset < 0 {
		return nil, fmt.Errorf("memstore: list: limit %d and offset %d: want a limit of at least 1 and an offset of at least 0", q.Limit, q.Offset)
	}
	var buf [categories]category
	cats := buf[:0]
	for st := range removal.NumberStatus(4) {
		if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, st) {
			continue
		}
		cats = append(cats, category(st)|4)
		if q.IncludeNotOperatorConnect {
			cats = append(cats, category(st))
		}
	}
	if len(cats) == 0 || q.Limit <= 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := &s.all
	if q.MSTenantID != "" {
		t, ok := s.tenantIdx[q.MSTenantID]
		if !ok || int(t) >= len(s.scopes) || s.scopes[t] == nil {
			return nil, nil
		}
		sc = s.scopes[t]
	}
	x := &sc.idx
	at := cursor{}
	if q.After != "" {
		at = x.after(orderKey(q.After))
	}
	byTime := !q.ChangedAtOrBefore.IsZero()
	offset := max(q.Offset, 0)
	if !byTime {
		at, offset = x.skip(at, offset, cats)
	}
	matches := 0
	for _, c := range cats {
		matches += x.total[c]
	}
	ids := make([]int32, 0, min(q.Limit, matches))
	byMicros := microsAtOrBefore(q.ChangedAtOrBefore)
	x.scan(at, cats, func(id int32) bool {
		if byTime && s.recs.at(id).changed > byMicros {
			return true
		}
		if offset > 0 {
			offset--
			return true
		}
		ids = append(ids, id)
		return len(ids) < q.Limit
	})
	// The page's telephone numbers share one string: one allocation.
	text := make([]byte, 0, len(ids)*(1+e164.MaxDigits))
	ends := make([]int, len(ids))
	for i, id := range ids {
		text = strconv.AppendUint(append(text, '+'), s.recs.at(id).dkey, 10)
		ends[i] = len(text)
	}
	all, start := string(text), 0
	out := make([]store.Number, len(ids))
	for i, id := range ids {
		out[i] = s.number(e164.Number(all[start:ends[i]]), s.recs.at(id))
		start = ends[i]
	}
	return out, nil
}

// History implements removal.Store. A limit below 1 or a negative offset
// is an error.
func (s *Store) History(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if limit < 1 || offset < 0 {
		return nil, 0, fmt.Errorf("memstore: history: limit %d and offset %d: want a limit of at least 1 and an offset of at least 0", limit, offset)
	}
	if _, err := e164.Parse(string(n)); err != nil {
		return nil, 0, nil // never stored
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.chainOf(n.Key())
	if h == nil {
		return nil, 0, nil
	}
	return s.history(h, n, max(offset, 0), limit), int(h.n), nil
}

// PruneHistory implements removal.Store.
func (s *Store) PruneHistory(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prune(microsBefore(before)), nil
}

// Delete implements removal.Store: it deletes the ReadyForRemoval numbers
// among numbers, one chunk of removal.ChunkSize numbers per lock.
func (s *Store) Delete(ctx context.Context, numbers []e164.Number, at time.Time) ([]removal.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	micros := at.UTC().Truncate(time.Microsecond).UnixMicro()
	au := removal.AuditFrom(ctx)
	purge := actionCode(removal.EventPurge)
	out := make([]removal.Outcome, 0, len(numbers))
	for start := 0; start < len(numbers); start += removal.ChunkSize {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		s.mu.Lock()
		audit := s.internAudit(au)
		for _, n := range numbers[start:min(start+removal.ChunkSize, len(numbers))] {
			id, r := s.lookup(n)
			if r == nil {
				out = append(out, removal.Outcome{})
				continue
			}
			o := removal.Outcome{Found: true, OperatorConnect: r.oc, Status: removal.NumberStatus(r.status)}
			if o.Status == removal.ReadyForRemoval {
				s.all.drop(r)
				s.scopes[r.tenant].drop(r)
				s.numbers.del(r.dkey)
				s.record(&r.hist, stamp{at: micros, tenant: r.tenant, audit: audit, action: purge}, int8(removal.ReadyForRemoval), noStatus)
				s.detach(r)
				s.recs.release(id)
				o.Changed = true
			}
			out = append(out, o)
		}
		s.mu.Unlock()
	}
	return out, nil
}

// Apply implements removal.Store: a compare-and-set of each number's status,
// in order, one chunk of removal.ChunkSize numbers per lock, with the context
// checked before the first chunk and between chunks.
func (s *Store) Apply(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("memstore: apply: %w", err)
	}
	au := removal.AuditFrom(ctx)
	action := actionCode(c.Event)
	out := make([]removal.Outcome, 0, len(numbers))
	for start := 0; start < len(numbers); start += removal.ChunkSize {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		end := min(start+removal.ChunkSize, len(numbers))
		out = s.applyChunk(out, numbers[start:end], c, action, au)
	}
	return out, nil
}

func (s *Store) applyChunk(out []removal.Outcome, numbers []e164.Number, c removal.Change, action uint8, au removal.Audit) []removal.Outcome {
	to, micros := c.To, c.At.UnixMicro()
	s.mu.Lock()
	defer s.mu.Unlock()
	audit := s.internAudit(au)
	all := &s.all
	tenant, st := int32(-1), int32(0) // the stamp of the last tenant's events
	// All lookups first, then the changes: the lookups of a chunk do not
	// depend on each other, so their cache misses overlap instead of
	// queuing behind each change.
	var ids [removal.ChunkSize]int32
	for i, n := range numbers {
		// Only the shape is checked: the contract says the numbers are
		// valid, but a key read from text of another shape could be
		// another number's.
		k, ok := e164.KeyOf(string(n))
		id := int32(-1)
		if ok {
			if v, found := s.numbers.get(k); found {
				id = v
			}
		}
		ids[i] = id
	}
	for i := range numbers {
		id := ids[i]
		if id < 0 {
			out = append(out, removal.Outcome{})
			continue
		}
		r := s.recs.at(id)
		from := removal.NumberStatus(r.status)
		o := removal.Outcome{Found: true, OperatorConnect: r.oc, Status: from}
		if r.oc && c.Allows(from) {
			sc := s.scopes[r.tenant]
			sc.counts[from]--
			sc.counts[to]++
			all.counts[from]--
			all.counts[to]++
			r.status, r.changed = int8(to), micros
			fc, tc := category(from)|4, category(to)|4
			all.idx.move(r, fc, tc)
			sc.idx.move(r, fc, tc)
			if !s.noHistory {
				if r.tenant != tenant {
					tenant, st = r.tenant, s.stampOf(stamp{at: micros, tenant: r.tenant, audit: audit, action: action})
				}
				s.recordStamped(&r.hist, st, int8(from), int8(to))
			}
			o.Changed = true
		}
		out = append(out, o)
	}
	return out
}

// CountByStatus implements removal.Store from the running counters, without
// scanning the inventory.
func (s *Store) CountByStatus(ctx context.Context, msTenantID string, statuses []removal.NumberStatus) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var c counts
	if msTenantID == "" {
		c = s.all.counts
	} else if t, ok := s.tenantIdx[msTenantID]; ok && int(t) < len(s.scopes) && s.scopes[t] != nil {
		c = s.scopes[t].counts
	}
	out := make([]int, len(statuses))
	for i, st := range statuses {
		if st.Valid() {
			out[i] = c[st]
		}
	}
	return out, nil
}
