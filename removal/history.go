package removal

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/rfc3339"
)

// EventAction names what changed a number, in its history.
type EventAction string

// The history actions: one per batch action, plus import and purge.
const (
	EventClearRemovalStatus     EventAction = "clearRemovalStatus"
	EventReadyForRemoval        EventAction = "readyForRemoval"
	EventMarkForRemoval         EventAction = "markForRemoval"
	EventRequestRelease         EventAction = "requestRelease"
	EventWithdrawReleaseRequest EventAction = "withdrawReleaseRequest"
	// EventImport: a number inserted by an import or Put, or its status
	// rewritten by a replace import.
	EventImport EventAction = "import"
	// EventPurge: a ReadyForRemoval number deleted.
	EventPurge EventAction = "purge"
)

// EventActions lists every history action.
func EventActions() []EventAction {
	return []EventAction{EventClearRemovalStatus, EventReadyForRemoval, EventMarkForRemoval,
		EventRequestRelease, EventWithdrawReleaseRequest, EventImport, EventPurge}
}

// Valid reports whether a is one of the history actions.
func (a EventAction) Valid() bool {
	for _, v := range EventActions() {
		if a == v {
			return true
		}
	}
	return false
}

// Event is one change to one number, written by the store in the same
// transaction as the change. FromStatus is nil when the change inserted the
// number, ToStatus nil when it deleted it. At is the change time: the
// number's new StatusChangedAt for a batch action, the time the import ran
// for an import, the deletion time for a purge. TraceID and Actor are ""
// when unknown.
type Event struct {
	TelephoneNumber e164.Number
	MSTenantID      string
	Action          EventAction
	FromStatus      *NumberStatus
	ToStatus        *NumberStatus
	At              time.Time // UTC, microsecond precision
	TraceID         string
	Actor           string
}

type eventJSON struct {
	TelephoneNumber e164.Number   `json:"telephoneNumber"`
	MSTenantID      string        `json:"msTenantId"`
	Action          EventAction   `json:"action"`
	FromStatus      *NumberStatus `json:"fromStatus,omitempty"`
	ToStatus        *NumberStatus `json:"toStatus,omitempty"`
	At              string        `json:"at"`
	TraceID         string        `json:"traceId,omitempty"`
	Actor           string        `json:"actor,omitempty"`
}

// MarshalJSON writes the event with its members named as above, statuses by
// name, at in TimeLayout, and the members that are unknown left out.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventJSON{e.TelephoneNumber, e.MSTenantID, e.Action, e.FromStatus, e.ToStatus, formatTime(e.At), e.TraceID, e.Actor})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Event) UnmarshalJSON(b []byte) error {
	var v eventJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	at, err := rfc3339.Parse(v.At)
	if err != nil {
		return fmt.Errorf("removal: event at %s: %w", quote(v.At), err)
	}
	*e = Event{v.TelephoneNumber, v.MSTenantID, v.Action, v.FromStatus, v.ToStatus, at.UTC(), v.TraceID, v.Actor}
	return nil
}

// HistoryQuery pages through one number's history, newest first.
type HistoryQuery struct {
	PageNumber int // 1-based; 0 means 1
	PageSize   int // 1 to MaxPageSize; 0 means DefaultPageSize
}

// EventPage is one page of a number's history, in the envelope of the
// platform's list API.
type EventPage struct {
	CurrentPage  int     `json:"currentPage"`
	PageSize     int     `json:"pageSize"`
	TotalPages   int     `json:"totalPages"`
	TotalRecords int     `json:"totalRecords"`
	Data         []Event `json:"data"`
}

// History returns a page of the number's history, newest first (ties in At
// broken by the order the events were written, the later first). A number
// that is neither stored nor has events is an error matching ErrNotFound; a
// stored number without events has an empty page; a purged number's history
// stays readable. A telephoneNumber that is not strict E.164, or a bad page,
// is a *ValidationError.
func (s *Service) History(ctx context.Context, telephoneNumber string, q HistoryQuery) (EventPage, error) {
	n, page, size, err := checkHistory(telephoneNumber, q)
	if err != nil {
		return EventPage{}, err
	}
	events, total, err := s.st.History(ctx, n, offset(page, size), size)
	if err != nil {
		return EventPage{}, err
	}
	if len(events) > size {
		return EventPage{}, fmt.Errorf("%w: History returned %d events for a page of %d", ErrStoreContract, len(events), size)
	}
	if total == 0 {
		if _, err := s.st.Get(ctx, n); err != nil {
			return EventPage{}, err
		}
	}
	if events == nil {
		events = []Event{}
	}
	return EventPage{CurrentPage: page, PageSize: size, TotalPages: pages(total, size), TotalRecords: total, Data: events}, nil
}

// ValidateHistoryQuery reports every problem History finds in its
// telephoneNumber and q, as a *ValidationError (nil when both are valid),
// without reading the store.
func ValidateHistoryQuery(telephoneNumber string, q HistoryQuery) error {
	_, _, _, err := checkHistory(telephoneNumber, q)
	return err
}

func checkHistory(telephoneNumber string, q HistoryQuery) (e164.Number, int, int, error) {
	n, err := parseOne(telephoneNumber)
	page, size, perr := pageArgs(q.PageNumber, q.PageSize)
	if err != nil || perr != nil {
		return "", 0, 0, &ValidationError{Problems: appendProblems(appendProblems(nil, err), perr)}
	}
	return n, page, size, nil
}

// PruneHistory deletes the history events older than before (At < before),
// in chunks, and returns how many it deleted. Nothing prunes by default.
func (s *Service) PruneHistory(ctx context.Context, before time.Time) (int, error) {
	// Events are kept to the microsecond: a cut inside a microsecond is the
	// next one, so that an event at T is pruned by any before after T.
	cut := before.UTC().Truncate(time.Microsecond)
	if cut.Before(before) {
		cut = cut.Add(time.Microsecond)
	}
	return s.st.PruneHistory(ctx, cut)
}

// offset is (page-1)*size, or the largest int when that overflows: a page
// so far past the end is empty either way.
func offset(page, size int) int {
	if page-1 > math.MaxInt/size {
		return math.MaxInt
	}
	return (page - 1) * size
}
