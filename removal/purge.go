package removal

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
)

// MaxPurgeLimit is the most numbers one Purge deletes, and its default.
const MaxPurgeLimit = 10_000

// PurgeRequest selects the numbers Purge deletes: the Operator Connect
// numbers that have been ReadyForRemoval for at least OlderThan
// (StatusChangedAt <= now - OlderThan), of one tenant or of all.
type PurgeRequest struct {
	OlderThan  time.Duration // >= 0
	MSTenantID string        // any form ParseTenantID accepts; "" for every tenant
	Limit      int           // 1 to MaxPurgeLimit; 0 means MaxPurgeLimit
	// Confirm must be true for numbers to be deleted; without it Purge is
	// a dry run that reports what it would delete.
	Confirm bool
}

// PurgeResult is what Purge deleted (with DryRun, would delete), sorted by
// number. More is true when numbers matching the same request remain after
// this call.
type PurgeResult struct {
	DryRun           bool          `json:"dryRun"`
	PurgedCount      int           `json:"purgedCount"`
	TelephoneNumbers []e164.Number `json:"telephoneNumbers"`
	More             bool          `json:"more"`
}

// Purge permanently deletes the Operator Connect numbers confirmed for
// removal at least req.OlderThan ago, at most req.Limit of them, in
// telephone-number order. Deletion is a compare-and-delete
// on the status: a number no longer ReadyForRemoval is not deleted. Each
// deleted number gets a purge event in its history, which stays readable. A
// bad request is a *ValidationError (InvalidRequestBody, InvalidTenantId).
// When ctx is done midway, the result holds the numbers deleted so far,
// with ctx's error.
func (s *Service) Purge(ctx context.Context, req PurgeRequest) (PurgeResult, error) {
	tenant, limit, err := checkPurge(req)
	if err != nil {
		return PurgeResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return PurgeResult{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	q := NumberQuery{MSTenantID: tenant, Statuses: []NumberStatus{ReadyForRemoval},
		ChangedAtOrBefore: now.Add(-req.OlderThan), Limit: limit + 1}
	found, err := s.st.ListNumbers(ctx, q)
	if err != nil {
		return PurgeResult{}, err
	}
	if len(found) > q.Limit {
		return PurgeResult{}, fmt.Errorf("%w: ListNumbers returned %d numbers for a limit of %d", ErrStoreContract, len(found), q.Limit)
	}
	res := PurgeResult{DryRun: !req.Confirm, TelephoneNumbers: []e164.Number{}, More: len(found) > limit}
	found = found[:min(len(found), limit)]
	numbers := make([]e164.Number, len(found))
	for i, n := range found {
		numbers[i] = n.TelephoneNumber
	}
	if !req.Confirm {
		res.TelephoneNumbers, res.PurgedCount = numbers, len(numbers)
		return res, nil
	}
	outcomes, err := s.st.Delete(ctx, numbers, now)
	if len(outcomes) > len(numbers) {
		return PurgeResult{}, fmt.Errorf("%w: %d outcomes for %d numbers", ErrStoreContract, len(outcomes), len(numbers))
	}
	for i, o := range outcomes {
		if o.Changed {
			if !o.Found || o.Status != ReadyForRemoval {
				return res, fmt.Errorf("%w: %s deleted in status %s", ErrStoreContract, numbers[i], o.Status)
			}
			res.TelephoneNumbers = append(res.TelephoneNumbers, numbers[i])
		}
	}
	res.PurgedCount = len(res.TelephoneNumbers)
	if err == nil && len(outcomes) != len(numbers) {
		err = fmt.Errorf("%w: %d outcomes for %d numbers and no error", ErrStoreContract, len(outcomes), len(numbers))
	}
	return res, err
}

// ValidatePurge reports every problem Purge finds in req, as a
// *ValidationError (nil when req is valid), without reading the store.
func ValidatePurge(req PurgeRequest) error {
	_, _, err := checkPurge(req)
	return err
}

// checkPurge validates req and returns its canonical tenant and limit.
func checkPurge(req PurgeRequest) (string, int, error) {
	limit := req.Limit
	if limit == 0 {
		limit = MaxPurgeLimit
	}
	var problems []Problem
	if req.OlderThan < 0 {
		problems = append(problems, Problem{Field: "olderThan", Index: -1, Value: req.OlderThan.String(), Code: CodeInvalidRequestBody,
			Message: "olderThan is " + req.OlderThan.String() + "; it must not be negative"})
	}
	if limit < 1 || limit > MaxPurgeLimit {
		problems = append(problems, Problem{Field: "limit", Index: -1, Value: strconv.Itoa(req.Limit), Code: CodeInvalidRequestBody,
			Message: "limit is " + strconv.Itoa(req.Limit) + "; it must be from 1 to " + strconv.Itoa(MaxPurgeLimit)})
	}
	tenant := ""
	if req.MSTenantID != "" {
		t, err := ParseTenantID(req.MSTenantID)
		problems = appendProblems(problems, err)
		tenant = t
	}
	if problems != nil {
		return "", 0, &ValidationError{Problems: problems}
	}
	return tenant, limit, nil
}
