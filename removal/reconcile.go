package removal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/ocnumbers/ocnumbers/e164"
)

// Bounds and defaults of Reconcile.
const (
	// MaxAcquiredNumbers is the longest acquired list Reconcile accepts.
	MaxAcquiredNumbers = 1_000_000
	// DefaultMaxMarkPercent is the guard's default threshold.
	DefaultMaxMarkPercent = 10
	// GuardMinMarked is how many numbers a run may always mark: the guard
	// refuses a run only when it would mark more than this many.
	GuardMinMarked = 10
)

// reconcilePage is how many stored numbers Reconcile reads at a time.
const reconcilePage = 10_000

// ReconcileRequest asks Reconcile to compare one tenant's stored Operator
// Connect numbers with the complete list of numbers Operator Connect
// reports as acquired for it.
type ReconcileRequest struct {
	MSTenantID string // required; any form ParseTenantID accepts
	// TelephoneNumbers is the complete acquired list, up to
	// MaxAcquiredNumbers strict E.164 numbers; a number given twice counts
	// once. nil is a null request; an empty list is valid (every Active and
	// ReleaseRequested number would be marked, which the guard refuses).
	TelephoneNumbers []string
	DryRun           bool // compute the report, change nothing
	ClearReappeared  bool // return MarkedForRemoval numbers found in the list to Active
	Force            bool // run even when the guard would refuse
	// MaxMarkPercent is the guard's threshold, 0 to 100; nil means
	// DefaultMaxMarkPercent.
	MaxMarkPercent *int
}

// NumberList is one category of a ReconcileReport, sorted by number.
type NumberList struct {
	Count            int           `json:"count"`
	TelephoneNumbers []e164.Number `json:"telephoneNumbers"`
}

// SkippedList holds the numbers that changed between the diff and their
// batch, each with the failure its batch reported (its status at that
// moment).
type SkippedList struct {
	Count            int           `json:"count"`
	TelephoneNumbers []e164.Number `json:"telephoneNumbers"`
	Failures         []Failure     `json:"failures"`
}

// Count is a category that is counted, not listed.
type Count struct {
	Count int `json:"count"`
}

// ReconcileReport is what Reconcile found and did. Each of the tenant's
// stored Operator Connect numbers is in exactly one of Marked, Cleared,
// Reappeared, StillAcquired, Skipped and Unchanged; the acquired numbers
// that are not the tenant's stored Operator Connect numbers are in Unknown,
// OtherTenant or NotOperatorConnect.
type ReconcileReport struct {
	MSTenantID string `json:"msTenantId"`
	DryRun     bool   `json:"dryRun"`
	// Marked: Active or ReleaseRequested, absent from the list; moved to
	// MarkedForRemoval (with DryRun, would be).
	Marked NumberList `json:"marked"`
	// Cleared: MarkedForRemoval, present in the list, returned to Active
	// because ClearReappeared was set (with DryRun, would be).
	Cleared NumberList `json:"cleared"`
	// Reappeared: MarkedForRemoval, present in the list, left as it is.
	Reappeared NumberList `json:"reappeared"`
	// StillAcquired: ReadyForRemoval, present in the list; never changed,
	// reported because a person should look at it.
	StillAcquired NumberList `json:"stillAcquired"`
	// Unknown: in the list, not stored.
	Unknown NumberList `json:"unknown"`
	// OtherTenant: in the list, stored under another tenant.
	OtherTenant NumberList `json:"otherTenant"`
	// NotOperatorConnect: in the list, stored under this tenant, not
	// associated with an Operator Connect customer.
	NotOperatorConnect NumberList `json:"notOperatorConnect"`
	// Skipped: to be marked or cleared, but changed by someone else between
	// the diff and its batch; not overwritten.
	Skipped SkippedList `json:"skipped"`
	// Unchanged: every other stored Operator Connect number of the tenant.
	Unchanged Count `json:"unchanged"`
}

// ErrReconcileGuard matches (errors.Is) the error of a Reconcile the guard
// refused.
var ErrReconcileGuard = errors.New("removal: reconcile refused by the guard")

// GuardError is the error of a Reconcile that would mark more than
// MaxMarkPercent percent of the tenant's Active and ReleaseRequested
// Operator Connect numbers, and more than GuardMinMarked numbers, without
// Force: the list may be truncated. Nothing was changed.
type GuardError struct {
	Marked         int // numbers the run would mark
	Eligible       int // the tenant's Active and ReleaseRequested Operator Connect numbers
	MaxMarkPercent int
}

// Error says how many numbers the run would mark, out of how many, against
// which threshold, and that nothing changed.
func (e *GuardError) Error() string {
	return fmt.Sprintf("removal: reconcile would mark %d of %d Active and ReleaseRequested numbers, more than %d%%; nothing was changed (check the acquired list, or force the run)",
		e.Marked, e.Eligible, e.MaxMarkPercent)
}

// Is makes errors.Is(err, ErrReconcileGuard) true.
func (e *GuardError) Is(target error) bool { return target == ErrReconcileGuard }

// Reconcile compares one tenant's stored Operator Connect numbers with the
// complete list Operator Connect reports as acquired for it, and marks the
// Active and ReleaseRequested numbers missing from it (and, with
// ClearReappeared, clears the MarkedForRemoval numbers present in it).
//
// The request is validated whole first (a *ValidationError, nothing read
// or changed; it lists the first MaxListedNumberProblems invalid numbers
// and counts the others in Unlisted). Changes go through the batch actions MarkForRemoval and
// ClearRemovalStatus in batches of at most MaxBatchSize, compare-and-set
// like every batch, with their history events; a number that changed
// between the diff and its batch is not overwritten but reported in
// Skipped. Running it again with the same list changes nothing more.
//
// When the run would mark too many numbers (see GuardError) and Force is
// not set, nothing changes, even with DryRun, and Reconcile returns the
// report the run would give together with a *GuardError. When ctx is done
// midway, the report holds what was applied (Marked, Cleared and Skipped
// only the numbers their batches reached) with ctx's error; running again
// converges.
func (s *Service) Reconcile(ctx context.Context, req ReconcileRequest) (ReconcileReport, error) {
	tenant, keys, pct, err := validateReconcile(req)
	if err != nil {
		return ReconcileReport{}, err
	}
	if err := ctx.Err(); err != nil {
		return ReconcileReport{}, err
	}
	d := diff{keys: keys, seen: make([]bool, len(keys)), tenant: tenant, clearReappeared: req.ClearReappeared}
	if err := d.scan(ctx, s.st); err != nil {
		return ReconcileReport{}, err
	}
	if err := d.lookupRest(ctx, s.st); err != nil {
		return ReconcileReport{}, err
	}
	rep := d.report(req.DryRun)
	if n := len(d.mark); n > GuardMinMarked && n*100 > pct*d.eligible && !req.Force {
		return rep, &GuardError{Marked: n, Eligible: d.eligible, MaxMarkPercent: pct}
	}
	if req.DryRun {
		return rep, nil
	}
	rep.Marked, rep.Cleared = NumberList{TelephoneNumbers: []e164.Number{}}, NumberList{TelephoneNumbers: []e164.Number{}}
	defer sortSkipped(&rep.Skipped)
	if err := s.reconcileApply(ctx, MarkForRemovalAction, d.mark, &rep.Marked, &rep.Skipped); err != nil {
		return rep, err
	}
	if err := s.reconcileApply(ctx, ClearRemovalStatusAction, d.clear, &rep.Cleared, &rep.Skipped); err != nil {
		return rep, err
	}
	return rep, nil
}

// reconcileApply runs a on numbers in batches, adding the moved ones to done
// and the others to skipped.
func (s *Service) reconcileApply(ctx context.Context, a Action, numbers []e164.Number, done *NumberList, skipped *SkippedList) error {
	for batch := range slices.Chunk(numbers, MaxBatchSize) {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, outcomes, err := s.apply(ctx, a, batch)
		for i, o := range outcomes {
			if o.Changed {
				done.TelephoneNumbers = append(done.TelephoneNumbers, batch[i])
			}
		}
		for _, f := range res.Failures {
			skipped.TelephoneNumbers = append(skipped.TelephoneNumbers, f.TelephoneNumber)
			skipped.Failures = append(skipped.Failures, f)
		}
		done.Count = len(done.TelephoneNumbers)
		skipped.Count = len(skipped.TelephoneNumbers)
		if err != nil {
			return err
		}
	}
	return nil
}

func sortSkipped(l *SkippedList) {
	slices.SortFunc(l.Failures, func(a, b Failure) int { return cmp.Compare(a.TelephoneNumber, b.TelephoneNumber) })
	slices.Sort(l.TelephoneNumbers)
}

// ValidateReconcile reports every problem Reconcile finds in req, as a
// *ValidationError (nil when req is valid), without reading the store.
func ValidateReconcile(req ReconcileRequest) error {
	_, _, _, err := validateReconcile(req)
	return err
}

// validateReconcile checks the whole request and returns the canonical
// tenant, the acquired list as sorted distinct keys, and the guard's
// threshold.
func validateReconcile(req ReconcileRequest) (string, []uint64, int, error) {
	// A missing member is listed first, then the members' other problems in
	// field order: msTenantId, telephoneNumbers, maxMarkPercent.
	var problems []Problem
	if req.MSTenantID == "" {
		problems = append(problems, Problem{Field: "msTenantId", Index: -1, Code: CodeNullRequestBody,
			Message: "the request must name the tenant in msTenantId"})
	}
	if req.TelephoneNumbers == nil {
		problems = append(problems, Problem{Field: "telephoneNumbers", Index: -1, Code: CodeNullRequestBody,
			Message: "the request must contain the acquired list in a telephoneNumbers array, not null"})
	}
	tenant := ""
	if req.MSTenantID != "" {
		t, err := ParseTenantID(req.MSTenantID)
		problems = appendProblems(problems, err)
		tenant = t
	}
	var keys []uint64
	bad := 0 // invalid numbers
	if n := len(req.TelephoneNumbers); n > MaxAcquiredNumbers {
		// Too long a list is reported without examining its elements.
		problems = append(problems, Problem{Field: "telephoneNumbers", Index: -1,
			Value: strconv.Itoa(n), Code: CodeBatchSizeOutOfRange,
			Message: "telephoneNumbers holds " + strconv.Itoa(n) + " numbers; the acquired list may hold at most " + strconv.Itoa(MaxAcquiredNumbers)})
	} else {
		keys = make([]uint64, 0, n)
		for i, s := range req.TelephoneNumbers {
			n, err := e164.Parse(s)
			if err != nil {
				if bad++; bad <= MaxListedNumberProblems {
					problems = append(problems, Problem{Field: elementField(i), Index: i, Value: s, Code: CodeInvalidTelephoneNumber,
						Message: quote(s) + " is not a valid E.164 number: " + reasonOf(err)})
				}
				continue
			}
			keys = append(keys, n.Key())
		}
	}
	pct := DefaultMaxMarkPercent
	if req.MaxMarkPercent != nil {
		pct = *req.MaxMarkPercent
		if pct < 0 || pct > 100 {
			problems = append(problems, Problem{Field: "maxMarkPercent", Index: -1,
				Value: strconv.Itoa(pct), Code: CodeInvalidRequestBody,
				Message: "maxMarkPercent is " + strconv.Itoa(pct) + "; it must be from 0 to 100"})
		}
	}
	if problems != nil {
		return "", nil, 0, &ValidationError{Problems: problems, Unlisted: max(bad-MaxListedNumberProblems, 0)}
	}
	slices.Sort(keys)
	return tenant, slices.Compact(keys), pct, nil
}

// diff is one reconciliation's comparison of the acquired list with the
// store: the list as sorted keys (8 bytes a number), which of them belong
// to the tenant's stored numbers, and the categories found.
type diff struct {
	keys            []uint64
	seen            []bool // keys[i] is one of the tenant's stored numbers
	tenant          string
	clearReappeared bool

	eligible                               int // Active and ReleaseRequested OC numbers
	mark, clear, reappeared, stillAcquired []e164.Number
	unknown, otherTenant, notOC            []e164.Number
	unchanged                              int
}

func (d *diff) find(n e164.Number) (int, bool) { return slices.BinarySearch(d.keys, n.Key()) }

// scan reads the tenant's stored numbers, Operator Connect or not, a page
// at a time, and sorts each into its category.
func (d *diff) scan(ctx context.Context, st Store) error {
	q := NumberQuery{MSTenantID: d.tenant, IncludeNotOperatorConnect: true, Limit: reconcilePage}
	for {
		page, err := st.ListNumbers(ctx, q)
		if err != nil {
			return err
		}
		for _, n := range page {
			i, listed := d.find(n.TelephoneNumber)
			if listed {
				d.seen[i] = true
			}
			d.classify(n, listed, d.clearReappeared)
		}
		if len(page) < q.Limit {
			return nil
		}
		q.After = page[len(page)-1].TelephoneNumber
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// classify sorts one of the tenant's stored numbers into its category;
// mayClear says whether a reappeared number is to be cleared.
func (d *diff) classify(n Number, listed, mayClear bool) {
	if !n.OperatorConnect {
		if listed {
			d.notOC = append(d.notOC, n.TelephoneNumber)
		}
		return
	}
	switch {
	case n.Status == Active || n.Status == ReleaseRequested:
		d.eligible++
		if !listed {
			d.mark = append(d.mark, n.TelephoneNumber)
			return
		}
	case n.Status == MarkedForRemoval && listed && mayClear:
		d.clear = append(d.clear, n.TelephoneNumber)
		return
	case n.Status == MarkedForRemoval && listed:
		d.reappeared = append(d.reappeared, n.TelephoneNumber)
		return
	case n.Status == ReadyForRemoval && listed:
		d.stillAcquired = append(d.stillAcquired, n.TelephoneNumber)
		return
	}
	d.unchanged++
}

// lookupRest finds the listed numbers that are not the tenant's stored
// numbers: unknown, or stored under another tenant.
func (d *diff) lookupRest(ctx context.Context, st Store) error {
	const chunk = 1000
	var batch []e164.Number
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		found, err := st.GetMany(ctx, batch)
		if err != nil {
			return err
		}
		stored := make(map[e164.Number]Number, len(found))
		for _, n := range found {
			stored[n.TelephoneNumber] = n
		}
		for _, n := range batch {
			r, ok := stored[n]
			switch {
			case !ok:
				d.unknown = append(d.unknown, n)
			case r.MSTenantID != d.tenant:
				d.otherTenant = append(d.otherTenant, n)
			default:
				// Stored under this tenant after the scan passed it:
				// reported as found, never changed by this run.
				d.classify(r, true, false)
			}
		}
		batch = batch[:0]
		return ctx.Err()
	}
	for i, k := range d.keys {
		if d.seen[i] {
			continue
		}
		batch = append(batch, e164.Number("+"+strconv.FormatUint(k, 10)))
		if len(batch) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (d *diff) report(dryRun bool) ReconcileReport {
	list := func(ns []e164.Number) NumberList {
		ns = slices.Clone(ns)
		if ns == nil {
			ns = []e164.Number{}
		}
		slices.Sort(ns)
		return NumberList{Count: len(ns), TelephoneNumbers: ns}
	}
	return ReconcileReport{
		MSTenantID: d.tenant, DryRun: dryRun,
		Marked: list(d.mark), Cleared: list(d.clear), Reappeared: list(d.reappeared),
		StillAcquired: list(d.stillAcquired), Unknown: list(d.unknown), OtherTenant: list(d.otherTenant),
		NotOperatorConnect: list(d.notOC),
		Skipped:            SkippedList{TelephoneNumbers: []e164.Number{}, Failures: []Failure{}},
		Unchanged:          Count{d.unchanged},
	}
}
