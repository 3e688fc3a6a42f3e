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
//   - Records: one per telephone number (a copy of the record given to Put
//     or Import, normalized), in a map.
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
//   - History: one append-only log of compact events, each linked to its
//     number's previous one, so a batch's events cost an append each. A
//     number's history is read by following its links and sorting them by
//     time (newest first, the later written first among equal times).
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
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
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
// What a status change reads and writes is in its first 64 bytes, and a
// record takes 128, so that a change touches one cache line of it.
type record struct {
	ch      [2]*chunk // its chunk in the index of all numbers and in its tenant's
	scope   *scope    // its tenant: MSTenantID is scope.id
	changed int64     // StatusChangedAt, in microseconds since the Unix epoch
	ver     [2]uint32 // each chunk's version when slot was found
	hist    chain
	slot    [2]uint16 // its slot in each chunk (see index.locate)
	status  int8
	oc      bool
	_       [6]byte
	key     uint64 // orderKey(number)
	number  e164.Number
	_       [40]byte
}

// Number returns the record as the store contract has it.
func (r *record) Number() store.Number {
	return store.Number{TelephoneNumber: r.number, MSTenantID: r.scope.id, OperatorConnect: r.oc,
		Status: removal.NumberStatus(r.status), StatusChangedAt: time.UnixMicro(r.changed).UTC()}
}

func (r *record) category() category {
	c := category(r.status)
	if r.oc {
		c |= 4
	}
	return c
}

// Times a record can hold: those whose microseconds since the Unix epoch
// fit an int64, from about 290,000 BC to 290,000 AD (PostgreSQL keeps less).
var (
	minTime = time.UnixMicro(math.MinInt64).UTC()
	maxTime = time.UnixMicro(math.MaxInt64).UTC()
)

// scope is what the store keeps per tenant, and for all numbers.
type scope struct {
	id     string
	ti     int32  // index of id in Store.tenantIDs
	counts counts // Operator Connect numbers only
	idx    index  // every number, Operator Connect or not
	n      int    // numbers in idx
}

func (sc *scope) add(r *record) {
	if r.oc {
		sc.counts[r.status]++
	}
	sc.idx.insert(r, r.category())
	sc.n++
}

func (sc *scope) drop(r *record) {
	if r.oc {
		sc.counts[r.status]--
	}
	sc.idx.remove(r)
	sc.n--
}

// Store is the in-memory backend. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	numbers map[e164.Number]*record
	all     scope
	tenants map[string]*scope // entries without numbers are removed

	gone         map[e164.Number]*chain // the chains of numbers deleted
	chainAt      []*chain               // every chain, by id
	chainNumbers []e164.Number          // the number of each chain, by id
	log          eventLog
	stamps       []stamp
	audits       []removal.Audit  // audits[0] is the zero Audit
	tenantIDs    []string         // every tenant an event names
	tenantIdx    map[string]int32 // index in tenantIDs
	noHistory    bool             // benchmarks only: write no events
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
		numbers:   make(map[e164.Number]*record),
		all:       scope{idx: index{id: 0}},
		tenants:   make(map[string]*scope),
		gone:      make(map[e164.Number]*chain),
		audits:    []removal.Audit{{}},
		tenantIdx: make(map[string]int32),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// tenant returns the scope of a tenant, creating it. Called with mu held.
func (s *Store) tenant(id string) *scope {
	sc := s.tenants[id]
	if sc == nil {
		sc = &scope{id: id, ti: s.tenantIndex(id), idx: index{id: 1}}
		s.tenants[id] = sc
	}
	return sc
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
	norm, err := store.NormalizeAll(numbers)
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("memstore: import: %w", err)
	}
	for i, n := range norm {
		if n.StatusChangedAt.Before(minTime) || n.StatusChangedAt.After(maxTime) {
			return store.ImportResult{}, fmt.Errorf("memstore: import: numbers[%d]: %w: %s: statusChangedAt %v is out of range",
				i, store.ErrInvalidNumber, n.TelephoneNumber, n.StatusChangedAt)
		}
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
		if old := s.numbers[n.TelephoneNumber]; old != nil {
			res.Updated++
			from := removal.NumberStatus(old.status)
			if opts.Mode == store.Merge {
				if n.Status != from {
					res.StatusKept++
				}
				n.Status, n.StatusChangedAt = from, time.UnixMicro(old.changed)
			}
			s.update(old, n)
			if n.Status != from {
				s.record(&old.hist, stamp{at: at, tenant: old.scope.ti, audit: audit, action: imp}, int8(from), int8(n.Status))
			}
			continue
		}
		res.Inserted++
		// One allocation per record, so that a stored record does not keep
		// the whole batch it came in alive.
		r := &record{number: n.TelephoneNumber, key: orderKey(n.TelephoneNumber),
			oc: n.OperatorConnect, status: int8(n.Status), changed: n.StatusChangedAt.UnixMicro()}
		s.attach(r)
		s.numbers[n.TelephoneNumber] = r
		r.scope = s.tenant(n.MSTenantID)
		s.all.add(r)
		r.scope.add(r)
		s.record(&r.hist, stamp{at: at, tenant: r.scope.ti, audit: audit, action: imp}, noStatus, int8(n.Status))
	}
	return res, nil
}

// update rewrites a stored record in place (records never leave the store
// by reference, and a reload of the inventory allocates nothing), moving it
// between tenants and categories. Called with mu held.
func (s *Store) update(r *record, n store.Number) {
	oldCat := r.category()
	if r.oc {
		s.all.counts[r.status]--
	}
	set := func() { r.oc, r.status, r.changed = n.OperatorConnect, int8(n.Status), n.StatusChangedAt.UnixMicro() }
	if n.MSTenantID != r.scope.id {
		old := r.scope
		old.drop(r)
		if old.n == 0 {
			delete(s.tenants, old.id)
		}
		set()
		r.scope = s.tenant(n.MSTenantID)
		r.scope.add(r)
	} else {
		if r.oc {
			r.scope.counts[r.status]--
		}
		set()
		if r.oc {
			r.scope.counts[r.status]++
		}
		r.scope.idx.move(r, oldCat, r.category())
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
	r := s.numbers[n]
	if r == nil {
		return store.Number{}, fmt.Errorf("memstore: get %s: %w", n, store.ErrNotFound)
	}
	return r.Number(), nil
}

// GetMany implements removal.Store.
func (s *Store) GetMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	found := make([]*record, 0, len(numbers))
	for _, n := range numbers {
		if r := s.numbers[n]; r != nil {
			found = append(found, r)
		}
	}
	slices.SortFunc(found, func(a, b *record) int { return cmp.Compare(a.key, b.key) })
	out := make([]store.Number, len(found))
	for i, r := range found {
		out[i] = r.Number()
	}
	s.mu.Unlock()
	return out, nil
}

// ListNumbers implements removal.Store from the ordered indexes: the
// tenant's, or that of all numbers.
func (s *Store) ListNumbers(ctx context.Context, q removal.NumberQuery) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
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
		if sc = s.tenants[q.MSTenantID]; sc == nil {
			return nil, nil
		}
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
	out := make([]store.Number, 0, min(q.Limit, matches))
	byMicros := microsAtOrBefore(q.ChangedAtOrBefore)
	x.scan(at, cats, func(r *record) bool {
		if byTime && r.changed > byMicros {
			return true
		}
		if offset > 0 {
			offset--
			return true
		}
		out = append(out, r.Number())
		return len(out) < q.Limit
	})
	return out, nil
}

// History implements removal.Store.
func (s *Store) History(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.chainOf(n)
	if h == nil {
		return nil, 0, nil
	}
	return s.history(h, max(offset, 0), limit), int(h.n), nil
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
			r := s.numbers[n]
			if r == nil {
				out = append(out, removal.Outcome{})
				continue
			}
			o := removal.Outcome{Found: true, OperatorConnect: r.oc, Status: removal.NumberStatus(r.status)}
			if o.Status == removal.ReadyForRemoval {
				s.all.drop(r)
				r.scope.drop(r)
				if r.scope.n == 0 {
					delete(s.tenants, r.scope.id)
				}
				delete(s.numbers, n)
				s.record(&r.hist, stamp{at: micros, tenant: r.scope.ti, audit: audit, action: purge}, int8(removal.ReadyForRemoval), noStatus)
				s.detach(r)
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
	if !c.To.Valid() {
		// The contract promises a legal change; refuse rather than panic
		// on an index if a caller breaks it.
		return nil, fmt.Errorf("memstore: apply: target status %d is not one of 0-3", int(c.To))
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
	for _, n := range numbers {
		r := s.numbers[n]
		if r == nil {
			out = append(out, removal.Outcome{})
			continue
		}
		from := removal.NumberStatus(r.status)
		o := removal.Outcome{Found: true, OperatorConnect: r.oc, Status: from}
		if r.oc && c.Allows(from) {
			r.scope.counts[from]--
			r.scope.counts[to]++
			s.all.counts[from]--
			s.all.counts[to]++
			r.status, r.changed = int8(to), micros
			fc, tc := category(from)|4, category(to)|4
			s.all.idx.move(r, fc, tc)
			r.scope.idx.move(r, fc, tc)
			s.record(&r.hist, stamp{at: micros, tenant: r.scope.ti, audit: audit, action: action}, int8(from), int8(to))
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
	} else if sc := s.tenants[msTenantID]; sc != nil {
		c = sc.counts
	}
	out := make([]int, len(statuses))
	for i, st := range statuses {
		if st.Valid() {
			out[i] = c[st]
		}
	}
	return out, nil
}
