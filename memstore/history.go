package memstore

import (
	"slices"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// The history is one append-only log of compact events for every number;
// each number's events are linked from its newest back (event.prev), and a
// chain per number that has events holds the link's head and the count.
// Writing an event appends to the log: no allocation per number or per
// batch beyond the log's growth.

// event is one history event as the log keeps it.
type event struct {
	number   e164.Number
	tenant   string
	at       int64 // microseconds since the Unix epoch, UTC
	prev     int   // the number's previous event in the log, or -1
	audit    int32 // index in Store.audits; 0 is the zero Audit
	action   uint8 // index in actionNames
	from, to int8  // status, or -1 when absent
}

// chain is one number's events in the log.
type chain struct {
	head int // newest written, or -1
	n    int
}

var actionNames = removal.EventActions()

func actionCode(a removal.EventAction) uint8 {
	i := slices.Index(actionNames, a)
	if i < 0 {
		// Apply's change names an action outside the list: keep the
		// event (a change without one is worse) under the first name.
		return 0
	}
	return uint8(i)
}

// noStatus marks an absent FromStatus or ToStatus.
const noStatus = -1

// chainOf returns n's chain, creating it. Called with mu held.
func (s *Store) chainOf(n e164.Number) *chain {
	h := s.chains[n]
	if h == nil {
		h = &chain{head: -1}
		s.chains[n] = h
	}
	return h
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

// record appends one event to the number's chain h. Called with mu held.
func (s *Store) record(h *chain, n e164.Number, tenant string, action uint8, from, to int8, at time.Time, audit int32) {
	if s.noHistory {
		return
	}
	s.log = append(s.log, event{number: n, tenant: tenant, at: at.UnixMicro(), prev: h.head, audit: audit, action: action, from: from, to: to})
	h.head = len(s.log) - 1
	h.n++
}

// history returns the window of h's events that History asks for. Called
// with mu held.
func (s *Store) history(h *chain, offset, limit int) []removal.Event {
	if h == nil || offset >= h.n {
		return nil
	}
	// The chain runs newest written first; a stable sort by time, newest
	// first, keeps the later written first among equal times. Imports
	// may carry times older than events already written, so the sort is
	// needed, but is skipped when the chain is in order.
	idx := make([]int, 0, h.n)
	sorted := true
	for i := h.head; i >= 0; i = s.log[i].prev {
		if len(idx) > 0 && s.log[i].at > s.log[idx[len(idx)-1]].at {
			sorted = false
		}
		idx = append(idx, i)
	}
	if !sorted {
		slices.SortStableFunc(idx, func(a, b int) int {
			x, y := s.log[a].at, s.log[b].at
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
		e := &s.log[i]
		a := s.audits[e.audit]
		out[j] = removal.Event{TelephoneNumber: e.number, MSTenantID: e.tenant, Action: actionNames[e.action],
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
	kept := 0
	for _, e := range s.log {
		if e.at >= cut {
			kept++
		}
	}
	pruned := len(s.log) - kept
	if pruned == 0 {
		return 0
	}
	for _, h := range s.chains {
		h.head, h.n = -1, 0
	}
	log := make([]event, 0, kept)
	audits := []removal.Audit{{}}
	remap := map[int32]int32{0: 0}
	for _, e := range s.log {
		if e.at < cut {
			continue
		}
		a, ok := remap[e.audit]
		if !ok {
			a = int32(len(audits))
			audits = append(audits, s.audits[e.audit])
			remap[e.audit] = a
		}
		e.audit = a
		h := s.chains[e.number]
		e.prev = h.head
		log = append(log, e)
		h.head = len(log) - 1
		h.n++
	}
	s.log, s.audits = log, audits
	for n, h := range s.chains {
		if h.n == 0 && s.numbers[n] == nil {
			delete(s.chains, n)
		}
	}
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
