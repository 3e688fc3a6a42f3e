package removal

import (
	"fmt"
	"strconv"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
)

// NumberStatus is the removal-workflow status of an acquired number. The
// integer values are part of the contract: the SQL store persists them and the
// platform reports them.
type NumberStatus int

// The four statuses. Only Active numbers can be assigned to users.
const (
	Active           NumberStatus = 0 // in service
	ReleaseRequested NumberStatus = 1 // the operator asked for the number to be released
	MarkedForRemoval NumberStatus = 2 // found missing from the OC acquired-numbers list
	ReadyForRemoval  NumberStatus = 3 // confirmed for removal; final status before deletion
)

var statusNames = [...]string{"Active", "ReleaseRequested", "MarkedForRemoval", "ReadyForRemoval"}

// spaced are the forms the platform's list API uses.
var spacedNames = [...]string{"Active", "Release Requested", "Marked For Removal", "Ready For Removal"}

// Statuses lists every status in value order.
func Statuses() []NumberStatus {
	return []NumberStatus{Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval}
}

// Valid reports whether s is one of the four statuses.
func (s NumberStatus) Valid() bool { return s >= Active && s <= ReadyForRemoval }

// String returns the status name ("MarkedForRemoval"), or "NumberStatus(9)"
// for a value outside the enumeration.
func (s NumberStatus) String() string {
	if !s.Valid() {
		return "NumberStatus(" + strconv.Itoa(int(s)) + ")"
	}
	return statusNames[s]
}

// MarshalText encodes the status as its name; JSON therefore always carries
// the name, never the number.
func (s NumberStatus) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("removal: cannot encode invalid status %d", int(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText accepts every form ParseStatus accepts.
func (s *NumberStatus) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseStatus reads a status from its name ("MarkedForRemoval"), the spaced
// form of the platform's list API ("Marked For Removal"), in any letter case
// (ASCII letters only: a Unicode look-alike such as the Kelvin sign is not
// a K), or its decimal value ("2"). Anything else is an error naming the
// value.
func ParseStatus(text string) (NumberStatus, error) {
	for i := range statusNames {
		if ascii.EqualFold(text, statusNames[i]) || ascii.EqualFold(text, spacedNames[i]) {
			return NumberStatus(i), nil
		}
	}
	if len(text) == 1 && text[0] >= '0' && text[0] <= '3' {
		return NumberStatus(text[0] - '0'), nil
	}
	return 0, fmt.Errorf("removal: invalid status %s: want one of Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval (or 0-3)", quote(text))
}

// Assignable reports whether a number in this status may be assigned to a
// user: only Active numbers may. A number released, marked or confirmed for
// removal is excluded from future assignments.
func (s NumberStatus) Assignable() bool { return s == Active }

// Move is a change of status from one value to another.
type Move struct {
	From, To NumberStatus
}

// String is "From->To", with the statuses' names.
func (m Move) String() string { return m.From.String() + "->" + m.To.String() }

// The transition table. Every pair not listed is rejected,
// self-transitions included; ReadyForRemoval has no way out but deletion.
var transitions = [...]Move{
	{MarkedForRemoval, Active},          // clear removal status
	{MarkedForRemoval, ReadyForRemoval}, // ready for removal
	{Active, MarkedForRemoval},          // mark for removal (missing from the OC list)
	{ReleaseRequested, MarkedForRemoval},
	{Active, ReleaseRequested}, // request release
	{ReleaseRequested, Active}, // withdraw release request
}

// Transitions returns the allowed moves.
func Transitions() []Move { return append([]Move(nil), transitions[:]...) }

// CanTransition reports whether a number may move from one status to another.
func CanTransition(from, to NumberStatus) bool {
	for _, m := range transitions {
		if m.From == from && m.To == to {
			return true
		}
	}
	return false
}
