package removal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
)

// Store is the narrow port the Service applies its rules through. Every
// backend implements it (store.Store includes it); removal itself does no I/O.
type Store interface {
	// Apply attempts change c on each number, in order, each number
	// atomically, as a compare-and-set on its current status:
	//   - absent: Outcome{} (Found false), nothing changes;
	//   - not an Operator Connect number: Found, Status set, nothing changes;
	//   - status not in c.From: Found, OperatorConnect, Status set, nothing changes;
	//   - otherwise the status becomes c.To and its change time c.At, and the
	//     Outcome has Found, OperatorConnect, Changed and the old Status.
	// The numbers are valid and distinct and c is a legal change.
	//
	// Apply checks ctx before applying anything and again at least every
	// ChunkSize numbers. Whenever it returns, outcomes[i] describes numbers[i]
	// for exactly the numbers whose changes are durably applied (a prefix of
	// numbers); with a nil error that is all of them. When ctx is done it
	// returns that prefix with ctx.Err(); on a storage failure, the prefix with
	// the failure. Numbers past the prefix are untouched.
	Apply(ctx context.Context, numbers []e164.Number, c Change) ([]Outcome, error)

	// CountByStatus counts the Operator Connect numbers of one tenant (all
	// tenants when msTenantID is "") in each of statuses: counts[i] is for
	// statuses[i]. msTenantID is canonical (see ParseTenantID).
	CountByStatus(ctx context.Context, msTenantID string, statuses []NumberStatus) (counts []int, err error)
}

// Change is what a batch action asks a store to do to each number.
type Change struct {
	From []NumberStatus // the statuses the action moves numbers from
	To   NumberStatus
	At   time.Time // the new status change time: UTC, microsecond precision
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
	Found           bool         // the number is in the store
	OperatorConnect bool         // it is associated with an Operator Connect customer
	Status          NumberStatus // its status before the attempt
	Changed         bool         // its status was changed
}

// Action is a batch action: the statuses it moves numbers from and the status
// it moves them to. Every From->To pair is in the transition table.
type Action struct {
	Name string
	From []NumberStatus
	To   NumberStatus
}

// The batch actions of the workflow.
var (
	// ClearRemovalStatusAction returns marked numbers to service (seed clear-removal-status).
	ClearRemovalStatusAction = Action{Name: "clear removal status", From: []NumberStatus{MarkedForRemoval}, To: Active}
	// ReadyForRemovalAction confirms marked numbers for removal (seed ready-for-removal).
	ReadyForRemovalAction = Action{Name: "ready for removal", From: []NumberStatus{MarkedForRemoval}, To: ReadyForRemoval}
	// MarkForRemovalAction marks numbers missing from the OC acquired-numbers list.
	MarkForRemovalAction = Action{Name: "mark for removal", From: []NumberStatus{Active, ReleaseRequested}, To: MarkedForRemoval}
	// RequestReleaseAction records the operator's request to release numbers.
	RequestReleaseAction = Action{Name: "request release", From: []NumberStatus{Active}, To: ReleaseRequested}
	// WithdrawReleaseRequestAction returns release-requested numbers to service.
	WithdrawReleaseRequestAction = Action{Name: "withdraw release request", From: []NumberStatus{ReleaseRequested}, To: Active}
)

// Actions lists every batch action.
func Actions() []Action {
	return []Action{ClearRemovalStatusAction, ReadyForRemovalAction, MarkForRemovalAction, RequestReleaseAction, WithdrawReleaseRequestAction}
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
// with the error; numbers not reached are untouched and not counted.
func (s *Service) Apply(ctx context.Context, a Action, numbers []string) (BatchResult, error) {
	if len(a.From) == 0 {
		return BatchResult{}, fmt.Errorf("removal: action %q has no From status", a.Name)
	}
	for _, f := range a.From {
		if !CanTransition(f, a.To) {
			return BatchResult{}, fmt.Errorf("removal: action %q moves %s to %s, which the transition table forbids", a.Name, f, a.To)
		}
	}
	valid, err := ValidateBatch(numbers)
	if err != nil {
		return BatchResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return BatchResult{}, err
	}
	c := Change{From: a.From, To: a.To, At: s.now().UTC().Truncate(time.Microsecond)}
	outcomes, err := s.st.Apply(ctx, valid, c)
	if len(outcomes) > len(valid) {
		return BatchResult{}, fmt.Errorf("%w: %d outcomes for %d numbers", ErrStoreContract, len(outcomes), len(valid))
	}
	if err == nil && len(outcomes) != len(valid) {
		err = fmt.Errorf("%w: %d outcomes for %d numbers and no error", ErrStoreContract, len(outcomes), len(valid))
	}
	res := BatchResult{Failures: []Failure{}}
	for i, o := range outcomes {
		f, ok, cerr := classify(valid[i], o, a)
		if cerr != nil {
			return res, cerr
		}
		res.ProcessedCount++
		if ok {
			res.SuccessCount++
		} else {
			res.Failures = append(res.Failures, f)
		}
	}
	return res, err
}

// classify turns a store outcome into success or a Failure, in the order of
// checks of SPEC section 3: not found, not Operator Connect, wrong status.
func classify(n e164.Number, o Outcome, a Action) (Failure, bool, error) {
	if o.Changed {
		if !o.Found || !o.OperatorConnect || !a.allows(o.Status) {
			return Failure{}, false, fmt.Errorf("%w: %s changed from %s by %s (found=%t, operatorConnect=%t)",
				ErrStoreContract, n, o.Status, a.Name, o.Found, o.OperatorConnect)
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
	if a.allows(o.Status) {
		return Failure{}, false, fmt.Errorf("%w: %s is %s, which %s moves, but it was not changed",
			ErrStoreContract, n, o.Status, a.Name)
	}
	return Failure{TelephoneNumber: n, ErrorCode: CodeInvalidStatus, CurrentStatus: &st,
		Detail: string(n) + " is " + o.Status.String() + "; " + a.Name + " applies only to " + a.fromText() + " numbers"}, false, nil
}

func (a Action) allows(s NumberStatus) bool { return Change{From: a.From}.Allows(s) }

func (a Action) fromText() string {
	t := ""
	for i, f := range a.From {
		if i > 0 {
			t += " or "
		}
		t += f.String()
	}
	return t
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
