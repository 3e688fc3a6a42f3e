package removal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
)

// Store is the narrow port the Service applies its rules through. Every
// backend implements it (store.Store includes it); removal itself does no I/O.
//
// Every method that changes numbers writes, in the same transaction as each
// change, one history Event per changed number, with the trace id and actor
// of AuditFrom(ctx); a number that is not changed writes none.
type Store interface {
	// Apply attempts change c on each number, in order, each number
	// atomically, as a compare-and-set on its current status:
	//   - absent: Outcome{} (Found false), nothing changes;
	//   - not an Operator Connect number: Found, Status set, nothing changes;
	//   - status not in c.From: Found, OperatorConnect, Status set, nothing changes;
	//   - otherwise the status becomes c.To and its change time c.At, an
	//     Event (c.Event, from the old status to c.To, At c.At) is written,
	//     and the Outcome has Found, OperatorConnect, Changed and the old
	//     Status.
	// The numbers are valid and distinct. A change that c.Validate refuses
	// is refused with that error (wrapped) and nothing applied.
	//
	// Apply checks ctx before applying anything and again at least every
	// ChunkSize numbers. Whenever it returns, outcomes[i] describes numbers[i]
	// for exactly the numbers whose changes are durably applied (a prefix of
	// numbers); with a nil error that is all of them. When ctx is done it
	// returns that prefix with ctx.Err(); on a storage failure, the prefix with
	// the failure (matching ErrStoreBusy when retrying later may succeed).
	// Numbers past the prefix are untouched.
	Apply(ctx context.Context, numbers []e164.Number, c Change) ([]Outcome, error)

	// Delete deletes each number that is ReadyForRemoval (Operator Connect
	// or not), in order, each atomically as a compare-and-delete on its
	// status, and writes an EventPurge event (from ReadyForRemoval, no
	// ToStatus, at at) for each deleted number. Outcomes and the rules of
	// ctx, failures and prefixes are Apply's: Outcome{} for an absent
	// number; Found, OperatorConnect and Status for a stored one; Changed
	// when it was deleted. A number in another status is not deleted. The
	// numbers are valid and distinct.
	Delete(ctx context.Context, numbers []e164.Number, at time.Time) ([]Outcome, error)

	// Get returns one stored number, or an error matching ErrNotFound.
	Get(ctx context.Context, n e164.Number) (Number, error)

	// GetMany returns the stored numbers among numbers (valid and
	// distinct), in ascending order of telephone number; absent numbers are
	// left out.
	GetMany(ctx context.Context, numbers []e164.Number) ([]Number, error)

	// ListNumbers returns the numbers matching q (see NumberQuery), in
	// ascending byte order of the telephone number.
	ListNumbers(ctx context.Context, q NumberQuery) ([]Number, error)

	// CountByStatus counts the Operator Connect numbers of one tenant (all
	// tenants when msTenantID is "") in each of statuses: counts[i] is for
	// statuses[i], 0 for a status outside the four. msTenantID is canonical
	// (see ParseTenantID). It costs O(number of tenants) at most, whatever
	// the number of stored numbers: stores keep counters.
	CountByStatus(ctx context.Context, msTenantID string, statuses []NumberStatus) (counts []int, err error)

	// History returns the events of one number, newest first (ties in At
	// broken by the order they were written, the later first), skipping
	// offset of them and returning at most limit (> 0), and the number of
	// events the number has in all. The history of a deleted number stays.
	History(ctx context.Context, n e164.Number, offset, limit int) (events []Event, total int, err error)

	// PruneHistory deletes the events with At before before, in chunks (a
	// cancelled prune keeps the chunks done), and returns how many it
	// deleted.
	PruneHistory(ctx context.Context, before time.Time) (int, error)
}

// Change is what a batch action asks a store to do to each number.
type Change struct {
	From  []NumberStatus // the statuses the action moves numbers from
	To    NumberStatus
	At    time.Time   // the new status change time: UTC, microsecond precision
	Event EventAction // the history action recorded for each moved number
}

// Validate reports whether c is a move of one of the batch actions (see
// Actions): its Event is the action's, its To the action's target, and its
// From one or more of the action's From statuses, each once. Stores refuse
// any other change with this error and apply nothing, so that no caller of
// Store.Apply can make a transition the table forbids.
func (c Change) Validate() error {
	for a := ClearRemovalStatusAction; a.Valid(); a++ {
		if a.Event() != c.Event || a.To() != c.To || len(c.From) == 0 {
			continue
		}
		ok := true
		for i, f := range c.From {
			if !a.Allows(f) || slices.Contains(c.From[:i], f) {
				ok = false
			}
		}
		if ok {
			return nil
		}
	}
	from := make([]string, len(c.From))
	for i, f := range c.From {
		from[i] = f.String()
	}
	return fmt.Errorf("removal: change from [%s] to %s recorded as %s is not a move of any batch action",
		strings.Join(from, ", "), c.To, quote(string(c.Event)))
}

// Allows reports whether a number in status s is moved by the change.
func (c Change) Allows(s NumberStatus) bool {
	for _, f := range c.From {
		if f == s {
			return true
		}
	}
	return false
}

// Outcome is what a store found, and did, for one number of Apply.
type Outcome struct {
	Status          NumberStatus // its status before the attempt
	Found           bool         // the number is in the store
	OperatorConnect bool         // it is associated with an Operator Connect customer
	Changed         bool         // its status was changed
}

// Service runs the removal workflow through a Store.
type Service struct {
	st  Store
	now func() time.Time
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock that stamps status changes (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// NewService returns a Service that applies the workflow's rules through st.
func NewService(st Store, opts ...Option) *Service {
	s := &Service{st: st, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ClearRemovalStatus returns MarkedForRemoval numbers to Active.
func (s *Service) ClearRemovalStatus(ctx context.Context, numbers []string) (BatchResult, error) {
	return s.Apply(ctx, ClearRemovalStatusAction, numbers)
}

// MarkReadyForRemoval moves MarkedForRemoval numbers to ReadyForRemoval.
func (s *Service) MarkReadyForRemoval(ctx context.Context, numbers []string) (BatchResult, error) {
	return s.Apply(ctx, ReadyForRemovalAction, numbers)
}

// MarkForRemoval moves Active and ReleaseRequested numbers to MarkedForRemoval.
func (s *Service) MarkForRemoval(ctx context.Context, numbers []string) (BatchResult, error) {
	return s.Apply(ctx, MarkForRemovalAction, numbers)
}

// RequestRelease moves Active numbers to ReleaseRequested.
func (s *Service) RequestRelease(ctx context.Context, numbers []string) (BatchResult, error) {
	return s.Apply(ctx, RequestReleaseAction, numbers)
}

// WithdrawReleaseRequest moves ReleaseRequested numbers back to Active.
func (s *Service) WithdrawReleaseRequest(ctx context.Context, numbers []string) (BatchResult, error) {
	return s.Apply(ctx, WithdrawReleaseRequestAction, numbers)
}

// ErrStoreContract is returned (wrapped) when a store reports outcomes that
// break the Store contract, such as a change the action does not allow.
var ErrStoreContract = errors.New("removal: store broke its contract")

// Apply runs a batch action. Request-level validation (ValidateBatch) runs
// first; when it fails the result is the zero BatchResult and the error a
// *ValidationError matching ErrInvalidRequest. A context that is already done
// changes nothing. Then the numbers are processed in request order, each
// atomically; each gets exactly one outcome: NumberNotFound,
// NotOperatorConnect, InvalidStatus, or success. If the context is cancelled
// or the store fails midway, the result is exactly what was applied, returned
// with the error; numbers not reached are untouched and not counted. The
// trace id and actor of AuditFrom(ctx) are recorded in the history of every
// number moved.
func (s *Service) Apply(ctx context.Context, a Action, numbers []string) (BatchResult, error) {
	if !a.Valid() {
		return BatchResult{}, fmt.Errorf("removal: %s is not a batch action", a)
	}
	valid, err := ValidateBatch(numbers)
	if err != nil {
		return BatchResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return BatchResult{}, err
	}
	res, _, err := s.apply(ctx, a, valid)
	return res, err
}

// apply runs a on valid, distinct numbers. Besides the result it returns
// the store's outcomes, one per number processed.
func (s *Service) apply(ctx context.Context, a Action, valid []e164.Number) (BatchResult, []Outcome, error) {
	c := Change{From: a.From(), To: a.To(), At: s.now().UTC().Truncate(time.Microsecond), Event: a.Event()}
	outcomes, err := s.st.Apply(ctx, valid, c)
	if len(outcomes) > len(valid) {
		return BatchResult{}, nil, fmt.Errorf("%w: %d outcomes for %d numbers", ErrStoreContract, len(outcomes), len(valid))
	}
	if err == nil && len(outcomes) != len(valid) {
		err = fmt.Errorf("%w: %d outcomes for %d numbers and no error", ErrStoreContract, len(outcomes), len(valid))
	}
	res := BatchResult{Failures: []Failure{}}
	for i, o := range outcomes {
		f, ok, cerr := classify(valid[i], o, a)
		if cerr != nil {
			return res, outcomes[:i], cerr
		}
		res.ProcessedCount++
		if ok {
			res.SuccessCount++
		} else {
			res.Failures = append(res.Failures, f)
		}
	}
	return res, outcomes, err
}

// classify turns a store outcome into success or a Failure, in the order of
// checks of the batch rules: not found, not Operator Connect, wrong status.
func classify(n e164.Number, o Outcome, a Action) (Failure, bool, error) {
	if o.Changed {
		if !o.Found || !o.OperatorConnect || !a.Allows(o.Status) {
			return Failure{}, false, fmt.Errorf("%w: %s changed from %s by %s (found=%t, operatorConnect=%t)",
				ErrStoreContract, n, o.Status, a, o.Found, o.OperatorConnect)
		}
		return Failure{}, true, nil
	}
	if !o.Found {
		return Failure{TelephoneNumber: n, ErrorCode: CodeNumberNotFound,
			Detail: string(n) + " is not in the acquired-numbers store"}, false, nil
	}
	st := o.Status
	if !o.OperatorConnect {
		return Failure{TelephoneNumber: n, ErrorCode: CodeNotOperatorConnect, CurrentStatus: &st,
			Detail: string(n) + " is not associated with an Operator Connect customer"}, false, nil
	}
	if a.Allows(o.Status) {
		return Failure{}, false, fmt.Errorf("%w: %s is %s, which %s moves, but it was not changed",
			ErrStoreContract, n, o.Status, a)
	}
	return Failure{TelephoneNumber: n, ErrorCode: CodeInvalidStatus, CurrentStatus: &st,
		Detail: string(n) + " is " + o.Status.String() + "; " + a.Name() + " applies only to " + a.fromText() + " numbers"}, false, nil
}

// Summary counts the Operator Connect numbers marked for removal and ready
// for removal, for one tenant or, when msTenantID is "", for all tenants. A
// tenant ID that is not a GUID is a *ValidationError (code InvalidTenantId).
func (s *Service) Summary(ctx context.Context, msTenantID string) (Summary, error) {
	tenant := ""
	if msTenantID != "" {
		t, err := ParseTenantID(msTenantID)
		if err != nil {
			return Summary{}, err
		}
		tenant = t
	}
	counts, err := s.st.CountByStatus(ctx, tenant, []NumberStatus{MarkedForRemoval, ReadyForRemoval})
	if err != nil {
		return Summary{}, err
	}
	if len(counts) != 2 {
		return Summary{}, fmt.Errorf("%w: %d counts for 2 statuses", ErrStoreContract, len(counts))
	}
	return Summary{
		MarkedForRemovalCount: counts[0],
		ReadyForRemovalCount:  counts[1],
		TotalCount:            counts[0] + counts[1],
	}, nil
}
