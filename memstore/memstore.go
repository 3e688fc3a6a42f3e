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
type record struct {
	store.Number
	key   uint64    // orderKey(TelephoneNumber)
	scope *scope    // its tenant
	ch    [2]*chunk // its chunk in the index of all numbers and in its tenant's
	slot  [2]uint16 // its slot in each chunk when last found (see index.locate)
	ver   [2]uint32 // the chunk's version then
	hist  *chain
}

// scope is what the store keeps per tenant, and for all numbers.
type scope struct {
	id     string
	ti     int32  // index of id in Store.tenantIDs
	counts counts // Operator Connect numbers only
	idx    index  // every number, Operator Connect or not
	n      int    // numbers in idx
}

func (sc *scope) add(r *record) {
	if r.OperatorConnect {
		sc.counts[r.Status]++
	}
	sc.idx.insert(r, categoryOf(&r.Number))
	sc.n++
}

func (sc *scope) drop(r *record) {
	if r.OperatorConnect {
		sc.counts[r.Status]--
	}
	sc.idx.remove(r)
	sc.n--
}

// Store is the in-memory backend. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	numbers map[uint64]*record // by orderKey
	all     scope
	tenants map[string]*scope // entries without numbers are removed

	chains    map[e164.Number]*chain // every number with events, stored or not
	chainList []*chain               // the chains by id
	log       eventLog
	audits    []removal.Audit  // audits[0] is the zero Audit
	tenantIDs []string         // every tenant an event names
	tenantIdx map[string]int32 // index in tenantIDs
	noHistory bool             // benchmarks only: write no events
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
		numbers:   make(map[uint64]*record),
		all:       scope{idx: index{id: 0}},
		tenants:   make(map[string]*scope),
		chains:    make(map[e164.Number]*chain),
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
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	var res store.ImportResult
	s.mu.Lock()
	defer s.mu.Unlock()
	audit := s.internAudit(removal.AuditFrom(ctx))
	imp := actionCode(removal.EventImport)
	for i := range norm {
		n := norm[i]
		k := orderKey(n.TelephoneNumber)
		if old := s.numbers[k]; old != nil {
			res.Updated++
			from := old.Status
			if opts.Mode == store.Merge {
				if n.Status != old.Status {
					res.StatusKept++
				}
				n.Status, n.StatusChangedAt = old.Status, old.StatusChangedAt
			}
			s.update(old, n)
			if n.Status != from {
				s.record(old.hist, old.scope.ti, imp, int8(from), int8(n.Status), at, audit)
			}
			continue
		}
		res.Inserted++
		// One allocation per record, so that a stored record does not keep
		// the whole batch it came in alive.
		r := &record{Number: n, key: k, hist: s.chainOf(n.TelephoneNumber)}
		s.numbers[k] = r
		r.scope = s.tenant(n.MSTenantID)
		s.all.add(r)
		r.scope.add(r)
		s.record(r.hist, r.scope.ti, imp, noStatus, int8(n.Status), at, audit)
	}
	return res, nil
}

// update rewrites a stored record in place (records never leave the store
// by reference, and a reload of the inventory allocates nothing), moving it
// between tenants and categories. Called with mu held.
func (s *Store) update(r *record, n store.Number) {
	oldCat, newCat := categoryOf(&r.Number), categoryOf(&n)
	if r.OperatorConnect {
		s.all.counts[r.Status]--
	}
	if n.MSTenantID != r.MSTenantID {
		old := r.scope
		old.drop(r)
		if old.n == 0 {
			delete(s.tenants, old.id)
		}
		r.Number = n
		r.scope = s.tenant(n.MSTenantID)
		r.scope.add(r)
	} else {
		if r.OperatorConnect {
			r.scope.counts[r.Status]--
		}
		r.Number = n
		if r.OperatorConnect {
			r.scope.counts[r.Status]++
		}
		r.scope.idx.move(r, oldCat, newCat)
	}
	if r.OperatorConnect {
		s.all.counts[r.Status]++
	}
	s.all.idx.move(r, oldCat, newCat)
}

// lookup returns the record of n, or nil. Called with mu held.
func (s *Store) lookup(n e164.Number) *record {
	r := s.numbers[orderKey(n)]
	if r == nil || r.TelephoneNumber != n { // a text that is not E.164 may share a key
		return nil
	}
	return r
}

// Get returns a copy of the stored number, or an error matching
// store.ErrNotFound.
func (s *Store) Get(ctx context.Context, n e164.Number) (store.Number, error) {
	if err := ctx.Err(); err != nil {
		return store.Number{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(n)
	if r == nil {
		return store.Number{}, fmt.Errorf("memstore: get %s: %w", n, store.ErrNotFound)
	}
	return r.Number, nil
}

// GetMany implements removal.Store.
func (s *Store) GetMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	found := make([]*record, 0, len(numbers))
	for _, n := range numbers {
		if r := s.lookup(n); r != nil {
			found = append(found, r)
		}
	}
	slices.SortFunc(found, func(a, b *record) int { return cmp.Compare(a.key, b.key) })
	out := make([]store.Number, len(found))
	for i, r := range found {
		out[i] = r.Number
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
	x.scan(at, cats, func(r *record) bool {
		if byTime && r.StatusChangedAt.After(q.ChangedAtOrBefore) {
			return true
		}
		if offset > 0 {
			offset--
			return true
		}
		out = append(out, r.Number)
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
	h := s.chains[n]
	if h == nil {
		return nil, 0, nil
	}
	return s.history(h, max(offset, 0), limit), h.n, nil
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
	at = at.UTC().Truncate(time.Microsecond)
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
			r := s.lookup(n)
			if r == nil {
				out = append(out, removal.Outcome{})
				continue
			}
			o := removal.Outcome{Found: true, OperatorConnect: r.OperatorConnect, Status: r.Status}
			if r.Status == removal.ReadyForRemoval {
				s.all.drop(r)
				r.scope.drop(r)
				if r.scope.n == 0 {
					delete(s.tenants, r.scope.id)
				}
				delete(s.numbers, r.key)
				s.record(r.hist, r.scope.ti, purge, int8(removal.ReadyForRemoval), noStatus, at, audit)
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
	to, at := c.To, c.At
	s.mu.Lock()
	defer s.mu.Unlock()
	audit := s.internAudit(au)
	for _, n := range numbers {
		// The numbers are valid: their keys are theirs alone.
		r := s.numbers[orderKey(n)]
		if r == nil {
			out = append(out, removal.Outcome{})
			continue
		}
		from := r.Status
		o := removal.Outcome{Found: true, OperatorConnect: r.OperatorConnect, Status: from}
		if r.OperatorConnect && c.Allows(from) {
			r.scope.counts[from]--
			r.scope.counts[to]++
			s.all.counts[from]--
			s.all.counts[to]++
			r.Status, r.StatusChangedAt = to, at
			fc, tc := category(from)|4, category(to)|4
			s.all.idx.move(r, fc, tc)
			r.scope.idx.move(r, fc, tc)
			s.record(r.hist, r.scope.ti, action, int8(from), int8(to), at, audit)
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
