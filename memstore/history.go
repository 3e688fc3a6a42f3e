package memstore

import (
	"slices"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// The history is one append-only log of compact events for every number,
// kept in blocks of logBlock events. An event holds no pointer and 16
// bytes: its number's chain, the link to the number's previous event, the
// statuses, and a stamp, shared by the events one call writes, that holds
// the time, the action, the tenant and the audit. The garbage collector
// never scans the log, and growing it never copies it. A chain per number
// that has events holds its newest event and the count. Writing an event
// appends to the log: no allocation per number or per batch. The log holds
// up to 2^31 events.

// event is one history event as the log keeps it.
type event struct {
	prev     int32 // the number's previous event in the log, or -1
	chain    int32 // the number's chain: index in Store.chainAt
	stamp    int32 // index in Store.stamps
	from, to int8  // status, or noStatus
}

// stamp is what the events of one call (and one tenant) share.
type stamp struct {
	at     int64 // microseconds since the Unix epoch, UTC
	tenant int32 // index in Store.tenantIDs
	audit  int32 // index in Store.audits; 0 is the zero Audit
	action uint8 // index in actionNames
}

// noStatus marks an absent FromStatus or ToStatus.
const noStatus = -1

const (
	logShift = 12
	logBlock = 1 << logShift
)

// eventLog is the blocks of events.
type eventLog struct {
	blocks [][]event
	cur    []event // the last block
	n      int
}

func (l *eventLog) at(i int32) *event { return &l.blocks[i>>logShift][i&(logBlock-1)] }

func (l *eventLog) append(e event) int32 {
	o := l.n & (logBlock - 1)
	if o == 0 {
		l.cur = make([]event, logBlock)
		l.blocks = append(l.blocks, l.cur)
	}
	l.cur[o] = e
	l.n++
	return int32(l.n - 1)
}

// chain is one number's events in the log: the newest and how many. A
// stored number's chain is in its record; a deleted number's, in
// Store.goneChains.
type chain struct {
	id   int32 // index in Store.chainKeys and Store.chainAt
	head int32 // newest written, or -1
	n    int32
}

var actionNames = removal.EventActions()

func actionCode(a removal.EventAction) uint8 {
	i := slices.Index(actionNames, a)
	if i < 0 {
		// The change names an action outside the list: keep the event (a
		// change without one is worse) under the first name.
		return 0
	}
	return uint8(i)
}

// attach gives record id, being stored, its number's chain: the one it had
// before it was deleted, or a new one. Called with mu held.
func (s *Store) attach(id int32, r *record) {
	if g, ok := s.gone[r.dkey]; ok {
		r.hist = s.goneChains[g]
		delete(s.gone, r.dkey)
		s.goneChains[g] = chain{id: -1}
		s.goneFree = append(s.goneFree, g)
	} else {
		r.hist = chain{id: int32(len(s.chainKeys)), head: -1}
		s.chainKeys = append(s.chainKeys, r.dkey)
		s.chainAt = append(s.chainAt, 0)
	}
	s.chainAt[r.hist.id] = id
}

// detach keeps the chain of a record being deleted. Called with mu held.
func (s *Store) detach(r *record) {
	var g int32
	if n := len(s.goneFree); n > 0 {
		g, s.goneFree = s.goneFree[n-1], s.goneFree[:n-1]
		s.goneChains[g] = r.hist
	} else {
		g = int32(len(s.goneChains))
		s.goneChains = append(s.goneChains, r.hist)
	}
	s.gone[r.dkey] = g
	s.chainAt[r.hist.id] = -g - 1
}

// chainByID returns the chain of id, in its record or among the gone. The
// pointer is valid until a chain is detached. Called with mu held.
func (s *Store) chainByID(id int32) *chain {
	if at := s.chainAt[id]; at >= 0 {
		return &s.recs.at(at).hist
	} else {
		return &s.goneChains[-at-1]
	}
}

// chainOf returns the chain of the number whose e164 key is k, or nil when
// it has none. Called with mu held.
func (s *Store) chainOf(k uint64) *chain {
	if id, ok := s.numbers.get(k); ok {
		return &s.recs.at(id).hist
	}
	if g, ok := s.gone[k]; ok {
		return &s.goneChains[g]
	}
	return nil
}

// tenantIndex returns the index of a tenant ID in s.tenantIDs, adding it.
// Called with mu held.
func (s *Store) tenantIndex(id string) int32 {
	i, ok := s.tenantIdx[id]
	if !ok {
		i = int32(len(s.tenantIDs))
		s.tenantIDs = append(s.tenantIDs, id)
		s.tenantIdx[id] = i
	}
	return i
}

// internAudit returns the index of a in s.audits. The calls of one batch
// share one audit, so comparing with the last one is enough to keep the
// list short. Called with mu held.
func (s *Store) internAudit(a removal.Audit) int32 {
	if a == (removal.Audit{}) {
		return 0
	}
	if last := len(s.audits) - 1; s.audits[last] == a {
		return int32(last)
	}
	s.audits = append(s.audits, a)
	return int32(len(s.audits) - 1)
}

// stampOf returns the index of a stamp in s.stamps. The events of one call
// share theirs, so comparing with the last one is enough. Called with mu
// held.
func (s *Store) stampOf(st stamp) int32 {
	if n := len(s.stamps); n > 0 && s.stamps[n-1] == st {
		return int32(n - 1)
	}
	s.stamps = append(s.stamps, st)
	return int32(len(s.stamps) - 1)
}

// record appends one event to chain h. Called with mu held.
func (s *Store) record(h *chain, st stamp, from, to int8) {
	if s.noHistory {
		return
	}
	s.recordStamped(h, s.stampOf(st), from, to)
}

// recordStamped is record with the stamp's index. Called with mu held.
func (s *Store) recordStamped(h *chain, st int32, from, to int8) {
	h.head = s.log.append(event{prev: h.head, chain: h.id, stamp: st, from: from, to: to})
	h.n++
}

// history returns the window of h's events that History asks for. Called
// with mu held.
func (s *Store) history(h *chain, n e164.Number, offset, limit int) []removal.Event {
	if offset >= int(h.n) || limit <= 0 {
		return nil
	}
	// The chain runs newest written first; a stable sort by time, newest
	// first, keeps the later written first among equal times. Imports
	// may carry times older than events already written, so the sort is
	// needed, but is skipped when the chain is in order.
	at := func(i int32) int64 { return s.stamps[s.log.at(i).stamp].at }
	idx := make([]int32, 0, h.n)
	sorted := true
	for i := h.head; i >= 0; i = s.log.at(i).prev {
		if len(idx) > 0 && at(i) > at(idx[len(idx)-1]) {
			sorted = false
		}
		idx = append(idx, i)
	}
	if !sorted {
		slices.SortStableFunc(idx, func(a, b int32) int {
			x, y := at(a), at(b)
			switch {
			case x > y:
				return -1
			case x < y:
				return 1
			}
			return 0
		})
	}
	idx = idx[offset:]
	idx = idx[:min(len(idx), limit)]
	out := make([]removal.Event, len(idx))
	for j, i := range idx {
		e := s.log.at(i)
		st := s.stamps[e.stamp]
		a := s.audits[st.audit]
		out[j] = removal.Event{TelephoneNumber: n, MSTenantID: s.tenantIDs[st.tenant], Action: actionNames[st.action],
			FromStatus: statusOf(e.from), ToStatus: statusOf(e.to), At: time.UnixMicro(st.at).UTC(), TraceID: a.TraceID, Actor: a.Actor}
	}
	return out
}

func statusOf(s int8) *removal.NumberStatus {
	if s == noStatus {
		return nil
	}
	v := removal.NumberStatus(s)
	return &v
}

// prune drops the events before cut (microseconds), relinks the chains,
// forgets the chains of numbers neither stored nor with events, and keeps
// only the stamps and audits still referred to. Called with mu held.
func (s *Store) prune(cut int64) int {
	old := func(e *event) bool { return s.stamps[e.stamp].at < cut }
	pruned := 0
	left := make([]int, len(s.chainAt)) // events left per chain id
	for i := range int32(s.log.n) {
		if e := s.log.at(i); old(e) {
			pruned++
		} else {
			left[e.chain]++
		}
	}
	if pruned == 0 {
		return 0
	}
	// The chains that stay, renumbered: those with an event left, and
	// those of stored numbers; the gone ones compacted.
	newID := make([]int32, len(s.chainAt))
	var chainAt []int32
	var chainKeys []uint64
	var gone []chain
	for i, k := range s.chainKeys {
		at := s.chainAt[i]
		if left[i] == 0 && at < 0 {
			delete(s.gone, k)
			newID[i] = -1
			continue
		}
		newID[i] = int32(len(chainAt))
		if at < 0 {
			gone = append(gone, chain{})
			s.gone[k] = int32(len(gone) - 1)
			at = -int32(len(gone))
		}
		chainAt = append(chainAt, at)
		chainKeys = append(chainKeys, k)
	}
	s.chainAt, s.chainKeys, s.goneChains, s.goneFree = chainAt, chainKeys, gone, nil
	for id := range int32(len(chainAt)) {
		*s.chainByID(id) = chain{id: id, head: -1}
	}
	var log eventLog
	var stamps []stamp
	audits := []removal.Audit{{}}
	stampIDs := make(map[int32]int32)
	auditIDs := map[int32]int32{0: 0}
	for i := range int32(s.log.n) {
		e := *s.log.at(i)
		if old(&e) {
			continue
		}
		st, ok := stampIDs[e.stamp]
		if !ok {
			v := s.stamps[e.stamp]
			a, ok := auditIDs[v.audit]
			if !ok {
				a = int32(len(audits))
				audits = append(audits, s.audits[v.audit])
				auditIDs[v.audit] = a
			}
			v.audit = a
			st = int32(len(stamps))
			stamps = append(stamps, v)
			stampIDs[e.stamp] = st
		}
		h := s.chainByID(newID[e.chain])
		e.stamp, e.chain, e.prev = st, h.id, h.head
		h.head = log.append(e)
		h.n++
	}
	s.log, s.stamps, s.audits = log, stamps, audits
	return pruned
}

// microsAtOrBefore returns the last whole microsecond at or before t.
func microsAtOrBefore(t time.Time) int64 {
	c := t.UnixMicro()
	if time.UnixMicro(c).After(t) {
		c--
	}
	return c
}

// microsBefore returns the cut of PruneHistory(before): an event at t
// (whole microseconds) is older than before when t < cut.
func microsBefore(before time.Time) int64 {
	c := before.UnixMicro()
	if time.UnixMicro(c).Before(before) {
		c++
	}
	return c
}
