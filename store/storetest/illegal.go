package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// testIllegalChanges: Store.Apply refuses, with an error and nothing
// applied, every change that is not a move of a batch action, whoever
// calls it: a way out of ReadyForRemoval, a self-move, an action name
// outside the table, a change whose action and statuses disagree, and
// malformed From lists.
func testIllegalChanges(t *testing.T, newStore func(t *testing.T) store.Store) {
	at := time.Now().UTC().Truncate(time.Microsecond)
	changes := map[string]removal.Change{
		"OutOfReadyForRemoval":      {From: []removal.NumberStatus{removal.ReadyForRemoval}, To: removal.Active, Event: removal.EventClearRemovalStatus},
		"ReadyToMarked":             {From: []removal.NumberStatus{removal.ReadyForRemoval}, To: removal.MarkedForRemoval, Event: removal.EventMarkForRemoval},
		"SelfMove":                  {From: []removal.NumberStatus{removal.Active}, To: removal.Active, Event: removal.EventClearRemovalStatus},
		"UnknownAction":             {From: []removal.NumberStatus{removal.MarkedForRemoval}, To: removal.Active, Event: "bogus"},
		"ImportAction":              {From: []removal.NumberStatus{removal.MarkedForRemoval}, To: removal.Active, Event: removal.EventImport},
		"ActionOfAnotherMove":       {From: []removal.NumberStatus{removal.MarkedForRemoval}, To: removal.ReadyForRemoval, Event: removal.EventClearRemovalStatus},
		"FromOutsideTheAction":      {From: []removal.NumberStatus{removal.Active, removal.ReadyForRemoval}, To: removal.MarkedForRemoval, Event: removal.EventMarkForRemoval},
		"NoFrom":                    {To: removal.MarkedForRemoval, Event: removal.EventMarkForRemoval},
		"FromTwice":                 {From: []removal.NumberStatus{removal.Active, removal.Active}, To: removal.MarkedForRemoval, Event: removal.EventMarkForRemoval},
		"FromOutOfRange":            {From: []removal.NumberStatus{7}, To: removal.MarkedForRemoval, Event: removal.EventMarkForRemoval},
		"ToOutOfRange":              {From: []removal.NumberStatus{removal.Active}, To: 9, Event: removal.EventMarkForRemoval},
		"MarkToReadyWithoutMarking": {From: []removal.NumberStatus{removal.Active}, To: removal.ReadyForRemoval, Event: removal.EventReadyForRemoval},
	}
	for name, c := range changes {
		t.Run(name, func(t *testing.T) {
			c.At = at
			if c.Validate() == nil {
				t.Fatalf("removal.Change.Validate accepts %+v", c)
			}
			st := newStore(t)
			var before []store.Number
			var ns []e164.Number
			for i, s := range removal.Statuses() {
				r := rec(num(i), tenantA, true, s)
				before = append(before, r)
				ns = append(ns, r.TelephoneNumber)
			}
			mustPut(t, st, before...)
			historyOf := func(n e164.Number) []removal.Event {
				evs, _, err := st.History(t.Context(), n, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				return evs
			}
			events := map[e164.Number][]removal.Event{}
			for _, n := range ns {
				events[n] = historyOf(n)
			}
			out, err := st.Apply(t.Context(), ns, c)
			if err == nil || len(out) != 0 {
				t.Fatalf("Apply(%+v) = %v, %v; want no outcome and an error", c, out, err)
			}
			for _, r := range before {
				wantStored(t, st, normalized(r))
				if d := cmp.Diff(events[r.TelephoneNumber], historyOf(r.TelephoneNumber)); d != "" {
					t.Errorf("%s: history changed (-before +after):\n%s", r.TelephoneNumber, d)
				}
			}
		})
	}
	// Numbers that are not E.164, given to Store.Apply directly (outside
	// its contract), are not found, and never stand for another number:
	// "+1425000001:" and "+014250000020" have the digits' value of
	// num(20) when read without checking.
	t.Run("InvalidNumbersTouchNothing", func(t *testing.T) {
		st := newStore(t)
		a := removal.ReadyForRemovalAction
		bad := []e164.Number{"+1425000001:", "+014250000020", "+1425000002\x00", "14250000020", "+1425000002O"}
		// Apply on a MarkedForRemoval number, Delete on a ReadyForRemoval one.
		for _, call := range []struct {
			name   string
			status removal.NumberStatus
			run    func() ([]removal.Outcome, error)
		}{
			{"Apply", removal.MarkedForRemoval, func() ([]removal.Outcome, error) {
				return st.Apply(t.Context(), bad, removal.Change{From: a.From(), To: a.To(), At: at, Event: a.Event()})
			}},
			{"Delete", removal.ReadyForRemoval, func() ([]removal.Outcome, error) { return st.Delete(t.Context(), bad, at) }},
		} {
			r := rec(num(20), tenantA, true, call.status)
			mustPut(t, st, r)
			out, err := call.run()
			if err != nil || len(out) != len(bad) {
				t.Fatalf("%s = %v, %v; want %d outcomes", call.name, out, err, len(bad))
			}
			for i, o := range out {
				if o != (removal.Outcome{}) {
					t.Errorf("%s %q: outcome %+v, want not found", call.name, bad[i], o)
				}
			}
			wantStored(t, st, normalized(r))
		}
	})
	// Every action's own change, and each of its From statuses alone, is legal.
	for _, a := range removal.Actions() {
		if err := (removal.Change{From: a.From(), To: a.To(), At: at, Event: a.Event()}).Validate(); err != nil {
			t.Errorf("%s: %v", a, err)
		}
		for _, f := range a.From() {
			if err := (removal.Change{From: []removal.NumberStatus{f}, To: a.To(), At: at, Event: a.Event()}).Validate(); err != nil {
				t.Errorf("%s from %s alone: %v", a, f, err)
			}
		}
	}
}
