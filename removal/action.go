package removal

import "strconv"

// Action is one of the workflow's batch actions. The set is fixed: the
// actions are typed constants, and what each does (the statuses it moves
// numbers from, the status it moves them to) is read through its methods
// from a table callers cannot change.
type Action int

// The batch actions. Every From->To pair of each is in the transition table.
const (
	// ClearRemovalStatusAction returns MarkedForRemoval numbers to Active.
	ClearRemovalStatusAction Action = iota + 1
	// ReadyForRemovalAction confirms MarkedForRemoval numbers for removal.
	ReadyForRemovalAction
	// MarkForRemovalAction marks Active and ReleaseRequested numbers found
	// missing from the Operator Connect acquired-numbers list.
	MarkForRemovalAction
	// RequestReleaseAction records the operator's request to release Active numbers.
	RequestReleaseAction
	// WithdrawReleaseRequestAction returns ReleaseRequested numbers to Active.
	WithdrawReleaseRequestAction
)

type actionDef struct {
	name  string // human, used in messages: "clear removal status"
	event EventAction
	from  []NumberStatus
	to    NumberStatus
}

var actionTable = [...]actionDef{
	ClearRemovalStatusAction:     {"clear removal status", EventClearRemovalStatus, []NumberStatus{MarkedForRemoval}, Active},
	ReadyForRemovalAction:        {"ready for removal", EventReadyForRemoval, []NumberStatus{MarkedForRemoval}, ReadyForRemoval},
	MarkForRemovalAction:         {"mark for removal", EventMarkForRemoval, []NumberStatus{Active, ReleaseRequested}, MarkedForRemoval},
	RequestReleaseAction:         {"request release", EventRequestRelease, []NumberStatus{Active}, ReleaseRequested},
	WithdrawReleaseRequestAction: {"withdraw release request", EventWithdrawReleaseRequest, []NumberStatus{ReleaseRequested}, Active},
}

// Actions lists every batch action.
func Actions() []Action {
	return []Action{ClearRemovalStatusAction, ReadyForRemovalAction, MarkForRemovalAction, RequestReleaseAction, WithdrawReleaseRequestAction}
}

// Valid reports whether a is one of the batch actions.
func (a Action) Valid() bool {
	return a >= ClearRemovalStatusAction && a <= WithdrawReleaseRequestAction
}

func (a Action) def() actionDef {
	if !a.Valid() {
		return actionDef{}
	}
	return actionTable[a]
}

// Name is the action's human name ("clear removal status"), "" for an
// invalid action.
func (a Action) Name() string { return a.def().name }

// String returns the action's name, or "Action(9)" for an invalid one.
func (a Action) String() string {
	if !a.Valid() {
		return "Action(" + strconv.Itoa(int(a)) + ")"
	}
	return a.def().name
}

// Event is the history action recorded for each number the action moves
// ("clearRemovalStatus").
func (a Action) Event() EventAction { return a.def().event }

// From returns the statuses the action moves numbers from (a new slice).
func (a Action) From() []NumberStatus { return append([]NumberStatus(nil), a.def().from...) }

// To returns the status the action moves numbers to.
func (a Action) To() NumberStatus { return a.def().to }

// Allows reports whether the action moves a number in status s.
func (a Action) Allows(s NumberStatus) bool {
	for _, f := range a.def().from {
		if f == s {
			return true
		}
	}
	return false
}

func (a Action) fromText() string {
	t := ""
	for i, f := range a.def().from {
		if i > 0 {
			t += " or "
		}
		t += f.String()
	}
	return t
}
