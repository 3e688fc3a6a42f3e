package removal

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidRequest matches, with errors.Is, every request-level validation
// failure. Such a failure changes nothing.
var ErrInvalidRequest = errors.New("removal: invalid request")

// ErrNotFound matches (errors.Is) the error a store or the Service returns
// for a telephone number that is not stored.
var ErrNotFound = errors.New("removal: number not found")

// ErrStoreBusy matches (errors.Is) a store failure that is worth retrying
// soon: the store gave up waiting for a lock another writer holds (or for
// its database to answer) and changed nothing for the numbers it had not
// reported. The HTTP API answers it with 503 StoreBusy and Retry-After.
var ErrStoreBusy = errors.New("removal: store busy, retry later")

// Request-level error codes. They are stable strings, shared with the HTTP
// API's problem details.
const (
	CodeNullRequestBody          = "NullRequestBody"
	CodeBatchSizeOutOfRange      = "BatchSizeOutOfRange"
	CodeInvalidTelephoneNumber   = "InvalidTelephoneNumber"
	CodeDuplicateTelephoneNumber = "DuplicateTelephoneNumber"
	CodeInvalidTenantID          = "InvalidTenantId"
	CodeInvalidQueryParameter    = "InvalidQueryParameter"
	CodeInvalidRequestBody       = "InvalidRequestBody"
	CodeInternal                 = "InternalError"
)

// Per-number outcome codes, reported in Failure.ErrorCode.
const (
	CodeNumberNotFound     = "NumberNotFound"     // not in the acquired-numbers store
	CodeNotOperatorConnect = "NotOperatorConnect" // stored, but not an Operator Connect number
	CodeInvalidStatus      = "InvalidStatus"      // current status is not one the action moves from
)

// Problem is one thing wrong with a request.
type Problem struct {
	Field   string // JSON path of the offending value: "telephoneNumbers[3]", "telephoneNumbers", "msTenantId"
	Index   int    // position in the batch, or -1 when the problem is not about one element
	Value   string // the offending value, as given
	Code    string // one of the request-level codes above
	Message string // human text naming the value and the rule
}

// ValidationError lists every problem found in a request, in order. It
// matches ErrInvalidRequest.
type ValidationError struct {
	Problems []Problem
	// Unlisted is how many more invalid telephone numbers were found than
	// Problems lists: Reconcile, whose list may hold a million numbers,
	// lists the first MaxListedNumberProblems of them.
	Unlisted int
}

// MaxListedNumberProblems is how many invalid telephone numbers a
// ValidationError of Reconcile lists at most; it counts the others in
// Unlisted. The batch actions, at most MaxBatchSize numbers, list them all.
const MaxListedNumberProblems = 100

// Error lists every problem: field, value and message.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("removal: invalid request: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Message)
	}
	if e.Unlisted > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(e.Unlisted))
		b.WriteString(" more invalid telephone numbers")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidRequest) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }

// Code is the first problem's code.
func (e *ValidationError) Code() string {
	if len(e.Problems) == 0 {
		return CodeInternal
	}
	return e.Problems[0].Code
}

// ErrorCode returns the request-level code of err: the first problem's code
// for a validation error, "" for nil, and CodeInternal for anything else
// (store failures, broken contracts). Context errors are returned as they are
// by the Service; callers check them with errors.Is.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Code()
	}
	return CodeInternal
}

func elementField(i int) string { return "telephoneNumbers[" + strconv.Itoa(i) + "]" }
