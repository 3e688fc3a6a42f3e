package memstore

import (
	"slices"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// The history is one append-only log of compact events for every number,
// kept in blocks of logBlock events. Each event holds no pointer (numbers,
// tenants and audits are indexes into small tables), so the garbage
// collector never scans the log, and growing it never copies it. Each
// number's events are linked from its newest back (event.prev); a chain per
// number that has events holds the link's head and the count. Writing an
// event appends to the log: no allocation per number or per batch.

// event is one history event as the log keeps it.
type event struct {
	at       int64 // microseconds since the Unix epoch, UTC
	prev     int   // the number's previous event in the log, or -1
	chain    int32 // index in Store.chainList: the number
	tenant   int32 // index in Store.tenantIDs
	audit    int32 // index in Store.audits; 0 is the zero Audit
	action   uint8 // index in actionNames
	from, to int8  // status, or noStatus
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
	n      int
}

func (l *eventLog) at(i int) *event { return &l.blocks[i>>logShift][i&(logBlock-1)] }

func (l *eventLog) append(e event) int {
	if l.n&(logBlock-1) == 0 {
		l.blocks = append(l.blocks, make([]event, logBlock))
	}
	*l.at(l.n) = e
	l.n++
	return l.n - 1
}

// chain is one number's events in the log.
type chain struct {
	number e164.Number
	id     int32
	head   int // newest written, or -1
	n      int
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

// chainOf returns n's chain, creating it. Called with mu held.
func (s *Store) chainOf(n e164.Number) *chain {
	h := s.chains[n]
	if h == nil {
		h = &chain{number: n, id: int32(len(s.chainList)), head: -1}
		s.chains[n] = h
		s.chainList = append(s.chainList, h)
	}
	return h
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

// record appends one event to chain h. Called with mu held.
func (s *Store) record(h *chain, tenant int32, action uint8, from, to int8, at time.Time, audit int32) {
	if s.noHistory {
		return
	}
	h.head = s.log.append(event{at: at.UnixMicro(), prev: h.head, chain: h.id, tenant: tenant, audit: audit, action: action, from: from, to: to})
	h.n++
}

// history returns the window of h's events that History asks for. Called
// with mu held.
func (s *Store) history(h *chain, offset, limit int) []removal.Event {
	if offset >= h.n || limit <= 0 {
		return nil
	}
	// The chain runs newest written first; a stable sort by time, newest
	// first, keeps the later written first among equal times. Imports
	// may carry times older than events already written, so the sort is
	// needed, but is skipped when the chain is in order.
	idx := make([]int, 0, h.n)
	sorted := true
	for i := h.head; i >= 0; i = s.log.at(i).prev {
		if len(idx) > 0 && s.log.at(i).at > s.log.at(idx[len(idx)-1]).at {
			sorted = false
		}
		idx = append(idx, i)
	}
	if !sorted {
		slices.SortStableFunc(idx, func(a, b int) int {
			x, y := s.log.at(a).at, s.log.at(b).at
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
		a := s.audits[e.audit]
		out[j] = removal.Event{TelephoneNumber: h.number, MSTenantID: s.tenantIDs[e.tenant], Action: actionNames[e.action],
			FromStatus: statusOf(e.from), ToStatus: statusOf(e.to), At: time.UnixMicro(e.at).UTC(), TraceID: a.TraceID, Actor: a.Actor}
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
// only the audits still referred to. Called with mu held.
func (s *Store) prune(cut int64) int {
	pruned := 0
	for i := range s.log.n {
		if s.log.at(i).at < cut {
			pruned++
		}
	}
	if pruned == 0 {
		return 0
	}
	// The chains that stay, renumbered: those with an event left, and
	// those of stored numbers.
	left := make([]int, len(s.chainList))
	for i := range s.log.n {
		if e := s.log.at(i); e.at >= cut {
			left[e.chain]++
		}
	}
	newID := make([]int32, len(s.chainList))
	var chains []*chain
	for i, h := range s.chainList {
		if left[i] == 0 && s.lookup(h.number) == nil {
			delete(s.chains, h.number)
			newID[i] = -1
			continue
		}
		newID[i] = int32(len(chains))
		h.id, h.head, h.n = newID[i], -1, 0
		chains = append(chains, h)
	}
	var log eventLog
	audits := []removal.Audit{{}}
	remap := map[int32]int32{0: 0}
	for i := range s.log.n {
		e := *s.log.at(i)
		if e.at < cut {
			continue
		}
		a, ok := remap[e.audit]
		if !ok {
			a = int32(len(audits))
			audits = append(audits, s.audits[e.audit])
			remap[e.audit] = a
		}
		h := chains[newID[e.chain]]
		e.audit, e.chain, e.prev = a, h.id, h.head
		h.head = log.append(e)
		h.n++
	}
	s.log, s.audits, s.chainList = log, audits, chains
	return pruned
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
