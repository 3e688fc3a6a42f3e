// Package memstore is an in-memory ocnumbers store, safe for concurrent use.
//
// It is meant for the tests of host applications and for small deployments
// that can rebuild their inventory at start: nothing is persisted, and the
// whole inventory lives in one process. It keeps, in memory, one record per
// telephone number (a copy of the store.Number given to Put, normalized) and,
// so that summaries cost O(1) whatever the inventory's size, running counts of
// Operator Connect numbers per tenant and status and for all tenants.
//
// One mutex guards everything. Apply takes it once per chunk of
// removal.ChunkSize numbers, so a long batch lets readers and other writers
// in between chunks while each number is still changed atomically.
//
// Decisions where the store contract is silent:
//   - Every method returns ctx.Err() when the context is already done, and
//     then changes nothing, so host tests see the same behaviour as with a
//     database backend.
//   - CountByStatus counts 0 for a status outside the four of the workflow.
//   - Records are copied in and out: callers cannot change stored state
//     through a value they passed or received.
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

func (c *counts) zero() bool { return *c == counts{} }

// record is a stored number and, for an Operator Connect number, the
// counters of its tenant, so that a status change costs no tenant lookup.
type record struct {
	store.Number
	tenant *counts // nil when not OC
}

// Store is the in-memory backend. The zero value is not usable; call New.
type Store struct {
	mu       sync.Mutex
	numbers  map[e164.Number]*record
	byTenant map[string]*counts // Operator Connect numbers only; entries that reach zero are removed
	all      counts
	history  map[e164.Number][]removal.Event // oldest first
}

// Option configures a Store. There are none yet; the type keeps New's
// signature stable when some are added.
type Option func(*Store)

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{
		numbers:  make(map[e164.Number]*record),
		byTenant: make(map[string]*counts),
		history:  make(map[e164.Number][]removal.Event),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// add counts r in its tenant's and the global counters; non-OC numbers are
// not part of the workflow's summary. Called with mu held.
func (s *Store) add(r *record) {
	r.tenant = nil
	if !r.OperatorConnect {
		return
	}
	c := s.byTenant[r.MSTenantID]
	if c == nil {
		c = new(counts)
		s.byTenant[r.MSTenantID] = c
	}
	c[r.Status]++
	s.all[r.Status]++
	r.tenant = c
}

// remove undoes add. Called with mu held.
func (s *Store) remove(r *record) {
	if r.tenant == nil {
		return
	}
	r.tenant[r.Status]--
	s.all[r.Status]--
	if r.tenant.zero() {
		delete(s.byTenant, r.MSTenantID)
	}
	r.tenant = nil
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
	audit := removal.AuditFrom(ctx)
	var res store.ImportResult
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range norm {
		n := norm[i]
		if old := s.numbers[n.TelephoneNumber]; old != nil {
			res.Updated++
			from := old.Status
			if opts.Mode == store.Merge {
				if n.Status != old.Status {
					res.StatusKept++
				}
				n.Status, n.StatusChangedAt = old.Status, old.StatusChangedAt
			}
			// Replace in place: records never leave the store by
			// reference, and a reload of the inventory allocates nothing.
			s.remove(old)
			old.Number = n
			s.add(old)
			if n.Status != from {
				s.event(n, removal.EventImport, &from, &n.Status, at, audit)
			}
			continue
		}
		res.Inserted++
		// One allocation per record, so that a stored record does not keep
		// the whole batch it came in alive.
		r := &record{Number: n}
		s.numbers[n.TelephoneNumber] = r
		s.add(r)
		s.event(n, removal.EventImport, nil, &n.Status, at, audit)
	}
	return res, nil
}

// event appends one history event. Called with mu held.
func (s *Store) event(n store.Number, a removal.EventAction, from, to *removal.NumberStatus, at time.Time, audit removal.Audit) {
	e := removal.Event{TelephoneNumber: n.TelephoneNumber, MSTenantID: n.MSTenantID, Action: a, At: at,
		TraceID: audit.TraceID, Actor: audit.Actor}
	if from != nil {
		f := *from
		e.FromStatus = &f
	}
	if to != nil {
		t := *to
		e.ToStatus = &t
	}
	s.history[n.TelephoneNumber] = append(s.history[n.TelephoneNumber], e)
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
	return r.Number, nil
}

// GetMany implements removal.Store.
func (s *Store) GetMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Number
	for _, n := range numbers {
		if r := s.numbers[n]; r != nil {
			out = append(out, r.Number)
		}
	}
	slices.SortFunc(out, func(a, b store.Number) int { return cmp.Compare(a.TelephoneNumber, b.TelephoneNumber) })
	return out, nil
}

// ListNumbers implements removal.Store.
func (s *Store) ListNumbers(ctx context.Context, q removal.NumberQuery) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var all []store.Number
	for _, r := range s.numbers {
		if q.Matches(r.Number) {
			all = append(all, r.Number)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b store.Number) int { return cmp.Compare(a.TelephoneNumber, b.TelephoneNumber) })
	if q.Offset >= len(all) {
		return nil, nil
	}
	all = all[q.Offset:]
	return all[:min(len(all), q.Limit)], nil
}

// History implements removal.Store.
func (s *Store) History(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.history[n]
	var out []removal.Event
	for i := len(h) - 1 - offset; i >= 0 && len(out) < limit; i-- {
		out = append(out, h[i])
	}
	return out, len(h), nil
}

// PruneHistory implements removal.Store.
func (s *Store) PruneHistory(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pruned := 0
	for n, h := range s.history {
		kept := h[:0]
		for _, e := range h {
			if e.At.Before(before) {
				pruned++
				continue
			}
			kept = append(kept, e)
		}
		if len(kept) == 0 {
			delete(s.history, n)
		} else {
			s.history[n] = kept
		}
	}
	return pruned, nil
}

// Delete implements removal.Store: it deletes the ReadyForRemoval numbers
// among numbers, one chunk of removal.ChunkSize numbers per lock.
func (s *Store) Delete(ctx context.Context, numbers []e164.Number, at time.Time) ([]removal.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	audit := removal.AuditFrom(ctx)
	out := make([]removal.Outcome, 0, len(numbers))
	for start := 0; start < len(numbers); start += removal.ChunkSize {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		s.mu.Lock()
		for _, n := range numbers[start:min(start+removal.ChunkSize, len(numbers))] {
			r := s.numbers[n]
			if r == nil {
				out = append(out, removal.Outcome{})
				continue
			}
			o := removal.Outcome{Found: true, OperatorConnect: r.OperatorConnect, Status: r.Status}
			if r.Status == removal.ReadyForRemoval {
				s.remove(r)
				delete(s.numbers, n)
				from := r.Status
				s.event(r.Number, removal.EventPurge, &from, nil, at, audit)
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
	audit := removal.AuditFrom(ctx)
	out := make([]removal.Outcome, 0, len(numbers))
	for start := 0; start < len(numbers); start += removal.ChunkSize {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		end := min(start+removal.ChunkSize, len(numbers))
		out = s.applyChunk(out, numbers[start:end], c, audit)
	}
	return out, nil
}

func (s *Store) applyChunk(out []removal.Outcome, numbers []e164.Number, c removal.Change, audit removal.Audit) []removal.Outcome {
	to, at := c.To, c.At
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		r := s.numbers[n]
		if r == nil {
			out = append(out, removal.Outcome{})
			continue
		}
		from := r.Status
		o := removal.Outcome{Found: true, OperatorConnect: r.OperatorConnect, Status: from}
		if r.OperatorConnect && c.Allows(from) {
			r.tenant[from]--
			r.tenant[to]++
			s.all[from]--
			s.all[to]++
			r.Status, r.StatusChangedAt = to, at
			s.event(r.Number, c.Event, &from, &to, at, audit)
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
	c := &s.all
	if msTenantID != "" {
		c = s.byTenant[msTenantID]
		if c == nil {
			c = new(counts)
		}
	}
	out := make([]int, len(statuses))
	for i, st := range statuses {
		if st.Valid() {
			out[i] = c[st]
		}
	}
	return out, nil
}
