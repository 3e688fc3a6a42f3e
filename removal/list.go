package removal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
)

// Paging bounds of List and History.
const (
	DefaultPageSize = 200
	MaxPageSize     = 1000
)

// NumberQuery is what List, Reconcile and Purge ask a store for: the stored
// numbers matching every filter, in ascending byte order of the E.164
// string, from the one after After (keyset paging), skipping Offset of
// them, at most Limit.
type NumberQuery struct {
	MSTenantID string         // canonical; "" for every tenant
	Statuses   []NumberStatus // nil or empty for every status
	// IncludeNotOperatorConnect lists numbers not associated with an
	// Operator Connect customer too; by default only Operator Connect
	// numbers are listed, as in the summary.
	IncludeNotOperatorConnect bool
	ChangedAtOrBefore         time.Time   // zero for any time; else StatusChangedAt <= it
	After                     e164.Number // "" to start at the first number
	Offset                    int         // >= 0
	Limit                     int         // > 0
}

// Matches reports whether n passes the query's filters (not its paging).
func (q NumberQuery) Matches(n Number) bool {
	return (q.IncludeNotOperatorConnect || n.OperatorConnect) &&
		(q.MSTenantID == "" || n.MSTenantID == q.MSTenantID) &&
		(len(q.Statuses) == 0 || slices.Contains(q.Statuses, n.Status)) &&
		(q.ChangedAtOrBefore.IsZero() || !n.StatusChangedAt.After(q.ChangedAtOrBefore)) &&
		(q.After == "" || n.TelephoneNumber > q.After)
}

// ListQuery selects which Operator Connect numbers List returns.
type ListQuery struct {
	MSTenantID string         // any form ParseTenantID accepts; "" for every tenant
	Statuses   []NumberStatus // nil or empty for every status
	PageNumber int            // 1-based; 0 means 1
	PageSize   int            // 1 to MaxPageSize; 0 means DefaultPageSize
	// After starts the page strictly after this number (keyset paging, at
	// a cost that does not grow with depth); PageNumber must then be 0 or 1.
	After string
}

// NumberPage is one page of List, in the envelope of the platform's list
// API. CurrentPage is 0 (and left out of JSON) with keyset paging.
// NextAfter is the page's last number when more numbers follow it, else "".
type NumberPage struct {
	CurrentPage  int         `json:"currentPage,omitempty"`
	PageSize     int         `json:"pageSize"`
	TotalPages   int         `json:"totalPages"`
	TotalRecords int         `json:"totalRecords"`
	Data         []Number    `json:"data"`
	NextAfter    e164.Number `json:"nextAfter,omitempty"`
}

// MarshalJSON writes the envelope with its items encoded as
// Number.MarshalJSON does, in one buffer.
func (p NumberPage) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 128+len(p.Data)*160)
	if p.CurrentPage != 0 {
		b = append(b, `{"currentPage":`...)
		b = strconv.AppendInt(b, int64(p.CurrentPage), 10)
		b = append(b, `,"pageSize":`...)
	} else {
		b = append(b, `{"pageSize":`...)
	}
	b = strconv.AppendInt(b, int64(p.PageSize), 10)
	b = append(b, `,"totalPages":`...)
	b = strconv.AppendInt(b, int64(p.TotalPages), 10)
	b = append(b, `,"totalRecords":`...)
	b = strconv.AppendInt(b, int64(p.TotalRecords), 10)
	b = append(b, `,"data":[`...)
	for i, n := range p.Data {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = n.appendJSON(b); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if p.NextAfter != "" {
		j, err := json.Marshal(p.NextAfter)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"nextAfter":`...), j...)
	}
	return append(b, '}'), nil
}

// List returns a page of the Operator Connect numbers matching q, ordered
// by telephone number (ascending byte order). TotalRecords counts every
// match, read from the store's counters (CountByStatus), not by counting
// rows; TotalPages is ceil(TotalRecords / PageSize); a page past the end is
// empty. A bad query is a *ValidationError (InvalidTenantId for the tenant,
// InvalidQueryParameter for the rest).
func (s *Service) List(ctx context.Context, q ListQuery) (NumberPage, error) {
	tenant, after, page, size, err := checkList(q)
	if err != nil {
		return NumberPage{}, err
	}
	statuses := uniqueStatuses(q.Statuses)
	counts, err := s.st.CountByStatus(ctx, tenant, statuses)
	if err != nil {
		return NumberPage{}, err
	}
	if len(counts) != len(statuses) {
		return NumberPage{}, fmt.Errorf("%w: %d counts for %d statuses", ErrStoreContract, len(counts), len(statuses))
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	out := NumberPage{PageSize: size, TotalPages: pages(total, size), TotalRecords: total, Data: []Number{}}
	if after == "" {
		out.CurrentPage = page
		if page-1 > total/size { // past the end, and (page-1)*size cannot overflow below
			return out, nil
		}
	}
	nq := NumberQuery{MSTenantID: tenant, Statuses: q.Statuses, After: after, Limit: size + 1}
	if after == "" {
		nq.Offset = (page - 1) * size
	}
	data, err := s.st.ListNumbers(ctx, nq)
	if err != nil {
		return NumberPage{}, err
	}
	if len(data) > nq.Limit {
		return NumberPage{}, fmt.Errorf("%w: ListNumbers returned %d numbers for a limit of %d", ErrStoreContract, len(data), nq.Limit)
	}
	if len(data) > size {
		data = data[:size]
		out.NextAfter = data[size-1].TelephoneNumber
	}
	if data != nil {
		out.Data = data
	}
	return out, nil
}

// ValidateListQuery reports every problem List finds in q, as a
// *ValidationError (nil when q is valid), without reading the store.
func ValidateListQuery(q ListQuery) error {
	_, _, _, _, err := checkList(q)
	return err
}

// checkList validates q, listing every problem, and returns its canonical
// tenant, parsed After, page and page size.
func checkList(q ListQuery) (tenant string, after e164.Number, page, size int, err error) {
	var problems []Problem
	if q.MSTenantID != "" {
		t, err := ParseTenantID(q.MSTenantID)
		problems = appendProblems(problems, err)
		tenant = t
	}
	for _, st := range q.Statuses {
		if !st.Valid() {
			problems = append(problems, queryProblem("acquiredNumberStatus", strconv.Itoa(int(st)),
				"acquiredNumberStatus "+strconv.Itoa(int(st))+" is not one of the four statuses"))
		}
	}
	page, size, err = pageArgs(q.PageNumber, q.PageSize)
	problems = appendProblems(problems, err)
	if q.After != "" {
		n, err := e164.Parse(q.After)
		if err != nil {
			problems = append(problems, queryProblem("after", q.After, quote(q.After)+" is not a valid E.164 number: "+reasonOf(err)))
		}
		after = n
		if q.PageNumber > 1 {
			problems = append(problems, queryProblem("pageNumber", strconv.Itoa(q.PageNumber), "pageNumber must be absent or 1 when after is given"))
		}
	}
	if problems != nil {
		return "", "", 0, 0, &ValidationError{Problems: problems}
	}
	return tenant, after, page, size, nil
}

// appendProblems adds the problems of a *ValidationError err to problems.
func appendProblems(problems []Problem, err error) []Problem {
	var ve *ValidationError
	if errors.As(err, &ve) {
		problems = append(problems, ve.Problems...)
	}
	return problems
}

// Get returns one stored number, Operator Connect or not. A telephoneNumber
// that is not strict E.164 is a *ValidationError (InvalidTelephoneNumber);
// a number not stored is an error matching ErrNotFound.
func (s *Service) Get(ctx context.Context, telephoneNumber string) (Number, error) {
	n, err := parseOne(telephoneNumber)
	if err != nil {
		return Number{}, err
	}
	return s.st.Get(ctx, n)
}

// parseOne parses the one number of a route such as Get or History.
func parseOne(s string) (e164.Number, error) {
	n, err := e164.Parse(s)
	if err != nil {
		return "", &ValidationError{Problems: []Problem{{
			Field: "telephoneNumber", Index: -1, Value: s, Code: CodeInvalidTelephoneNumber,
			Message: quote(s) + " is not a valid E.164 number: " + reasonOf(err),
		}}}
	}
	return n, nil
}

func reasonOf(err error) string {
	var pe *e164.Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}

// pageArgs applies the defaults and bounds of pageNumber and pageSize.
func pageArgs(page, size int) (int, int, error) {
	var problems []Problem
	if page == 0 {
		page = 1
	}
	if size == 0 {
		size = DefaultPageSize
	}
	if page < 1 {
		problems = append(problems, queryProblem("pageNumber", strconv.Itoa(page), "pageNumber must be an integer of at least 1"))
	}
	if size < 1 || size > MaxPageSize {
		problems = append(problems, queryProblem("pageSize", strconv.Itoa(size),
			"pageSize must be an integer from 1 to "+strconv.Itoa(MaxPageSize)))
	}
	if problems != nil {
		return 0, 0, &ValidationError{Problems: problems}
	}
	return page, size, nil
}

func queryProblem(field, value, msg string) Problem {
	return Problem{Field: field, Index: -1, Value: value, Code: CodeInvalidQueryParameter, Message: msg}
}

// pages is ceil(total / size).
func pages(total, size int) int { return (total + size - 1) / size }

// uniqueStatuses returns the statuses a filter names, each once, in value
// order; every status when there is no filter.
func uniqueStatuses(ss []NumberStatus) []NumberStatus {
	if len(ss) == 0 {
		return Statuses()
	}
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}
