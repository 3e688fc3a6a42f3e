package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ocnumbers/ocnumbers/removal"
)

// Error codes of the HTTP layer. The request-level codes of the domain
// (removal.CodeNullRequestBody, removal.CodeBatchSizeOutOfRange,
// removal.CodeInvalidTelephoneNumber, removal.CodeDuplicateTelephoneNumber,
// removal.CodeInvalidTenantID, removal.CodeInvalidQueryParameter,
// removal.CodeInternal) are used as they are.
const (
	CodeInvalidRequestBody   = removal.CodeInvalidRequestBody // 400: malformed JSON, wrong types, data after the value, duplicate telephoneNumbers key
	CodeUnsupportedMediaType = "UnsupportedMediaType"         // 415: Content-Type not JSON, or a Content-Encoding
	CodeRequestTooLarge      = "RequestTooLarge"              // 413: body over the limit
	CodeMethodNotAllowed     = "MethodNotAllowed"             // 405, with Allow
	CodeNotFound             = "NotFound"                     // 404
	CodeRateLimitExceeded    = "RateLimitExceeded"            // 429, with Retry-After
	CodeServiceUnavailable   = "ServiceUnavailable"           // 503, with Retry-After: requests in flight at the cap
	CodeStoreBusy            = "StoreBusy"                    // 503, with Retry-After: the store gave up waiting (removal.ErrStoreBusy)
	CodeRequestCancelled     = "RequestCancelled"             // 503, with Retry-After: a server deadline or shutdown ended the request mid-call
	CodeReconcileGuard       = "ReconcileGuard"               // 409: reconcile would mark too many numbers; nothing changed
)

// ProblemTypeBase prefixes every problem type: the type of a problem is
// ProblemTypeBase + its errorCode. The URIs identify the problem types; they
// are not promised to be dereferenceable (RFC 9457 section 3.1.1).
const ProblemTypeBase = "https://ocnumbers.dev/problems/"

// Problem is an RFC 9457 problem details object with the platform's
// extension members. Every error response of the API carries one, as
// application/problem+json.
type Problem struct {
	Type        string              `json:"type"`        // ProblemTypeBase + ErrorCode
	Title       string              `json:"title"`       // fixed per error code
	Status      int                 `json:"status"`      // the HTTP status code
	Detail      string              `json:"detail"`      // what went wrong with this request
	Instance    string              `json:"instance"`    // the request's original path, without the query
	ErrorCode   string              `json:"errorCode"`   // one of the documented codes
	TraceID     string              `json:"traceId"`     // from traceparent, else generated
	ErrorTicket string              `json:"errorTicket"` // generated, also logged
	Errors      map[string][]string `json:"errors,omitempty"`
	// Report is, for ReconcileGuard, the report the refused run would have
	// given (the data of its 200 answer).
	Report *removal.ReconcileReport `json:"report,omitempty"`
}

// kind is one row of the error-code table.
type kind struct {
	code   string
	status int
	title  string
}

// table lists every error code with its HTTP status and title, in the order
// of the package doc's table: the one place they are written.
var table = []kind{
	{removal.CodeNullRequestBody, http.StatusBadRequest, "Request body is null"},
	{CodeInvalidRequestBody, http.StatusBadRequest, "Invalid request body"},
	{removal.CodeBatchSizeOutOfRange, http.StatusBadRequest, "Batch size out of range"},
	{removal.CodeInvalidTelephoneNumber, http.StatusBadRequest, "Invalid telephone number"},
	{removal.CodeDuplicateTelephoneNumber, http.StatusBadRequest, "Duplicate telephone number"},
	{removal.CodeInvalidTenantID, http.StatusBadRequest, "Invalid msTenantId"},
	{removal.CodeInvalidQueryParameter, http.StatusBadRequest, "Invalid query parameter"},
	{removal.CodeNumberNotFound, http.StatusNotFound, "Number not found"},
	{CodeReconcileGuard, http.StatusConflict, "Reconcile refused by its guard"},
	{CodeUnsupportedMediaType, http.StatusUnsupportedMediaType, "Unsupported media type"},
	{CodeRequestTooLarge, http.StatusRequestEntityTooLarge, "Request too large"},
	{CodeMethodNotAllowed, http.StatusMethodNotAllowed, "Method not allowed"},
	{CodeNotFound, http.StatusNotFound, "Not found"},
	{CodeRateLimitExceeded, http.StatusTooManyRequests, "Rate limit exceeded"},
	{removal.CodeInternal, http.StatusInternalServerError, "Internal error"},
	{CodeServiceUnavailable, http.StatusServiceUnavailable, "Service unavailable"},
	{CodeStoreBusy, http.StatusServiceUnavailable, "Store busy"},
	{CodeRequestCancelled, http.StatusServiceUnavailable, "Request cancelled"},
}

// codes indexes table by code.
var codes = func() map[string]kind {
	m := make(map[string]kind, len(table))
	for _, k := range table {
		m[k.code] = k
	}
	return m
}()

// ErrorCodes returns every error code the API can answer with, in the order
// of the package doc's table.
func ErrorCodes() []string {
	out := make([]string, len(table))
	for i, k := range table {
		out[i] = k.code
	}
	return out
}

// StatusOf returns the HTTP status of an error code, and 500 for an unknown
// one.
func StatusOf(code string) int {
	if k, ok := codes[code]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

// maxEcho bounds how much of a value the client sent (a path, a header, a
// tenant ID) an answer or a log line repeats; the full length is stated.
const maxEcho = 64

// quote is strconv.Quote(s), or, for s over maxEcho bytes, its first maxEcho
// bytes quoted and the full length: "+1425..."... (60000 bytes).
func quote(s string) string {
	if len(s) <= maxEcho {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxEcho]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// clip is s, or, for s over maxEcho bytes, its first maxEcho bytes and the
// full length: for log attributes and unquoted words.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// cutInstance is an escaped path, or, over maxEcho bytes, its first maxEcho
// bytes (fewer, so as not to split a %XX escape) and the full length, as
// clip does.
func cutInstance(p string) string {
	if len(p) <= maxEcho {
		return p
	}
	n := maxEcho
	if i := strings.LastIndexByte(p[n-2:n], '%'); i >= 0 {
		n -= 2 - i
	}
	return p[:n] + "... (" + strconv.Itoa(len(p)) + " bytes)"
}

// cutMessage cuts, in a validation message, the quoted value it repeats
// when that value is over maxEcho bytes. (The domain cuts the numbers it
// quotes; a tenant ID it quotes whole.)
func cutMessage(q removal.Problem) string {
	if len(q.Value) <= maxEcho {
		return q.Message
	}
	return strings.Replace(q.Message, strconv.Quote(q.Value), quote(q.Value), 1)
}

// newProblem fills the fields that follow from the code and the exchange.
func newProblem(ex *exchange, code, detail string) Problem {
	k, ok := codes[code]
	if !ok {
		code, k = removal.CodeInternal, codes[removal.CodeInternal]
	}
	return Problem{
		Type: ProblemTypeBase + code, Title: k.title, Status: k.status, Detail: detail,
		Instance: ex.instance, ErrorCode: code, TraceID: ex.traceID, ErrorTicket: ex.newTicket(),
	}
}

// writeProblem sends p. A Problem always marshals, so the error is ignored.
func writeProblem(ex *exchange, p Problem) {
	writeBody(ex, p.Status, "application/problem+json", marshalProblem(p, ex.errorOrder))
}

// marshalProblem encodes p as json.Marshal does, but for the members of
// errors, which come in order (the members of Errors in the order of their
// problems: telephoneNumbers[2] before telephoneNumbers[10]) rather than
// sorted as text.
func marshalProblem(p Problem, order []string) []byte {
	errs, report := p.Errors, p.Report
	if len(errs) == 0 || len(order) != len(errs) || slices.ContainsFunc(order, func(k string) bool { return errs[k] == nil }) {
		b, _ := json.Marshal(p) // not validationProblem's: the map's order
		return b
	}
	p.Errors, p.Report = nil, nil
	b, _ := json.Marshal(p)
	b = append(b[:len(b)-1], `,"errors":{`...)
	for i, k := range order {
		if i > 0 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(errs[k])
		b = append(append(append(b, kb...), ':'), vb...)
	}
	b = append(b, '}')
	if report != nil {
		rb, _ := json.Marshal(report)
		b = append(append(b, `,"report":`...), rb...)
	}
	return append(b, '}')
}

// writeJSON sends a 200 application/json body.
func writeJSON(ex *exchange, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ex.internal = err
		writeProblem(ex, newProblem(ex, removal.CodeInternal, internalDetail))
		return
	}
	writeBody(ex, http.StatusOK, "application/json", b)
}

func writeBody(ex *exchange, status int, contentType string, b []byte) {
	h := ex.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	setCommon(h)
	ex.WriteHeader(status)
	if !ex.head { // Content-Length is still what GET would send
		ex.Write(b)
	}
}

// setCommon marks every answer as uncacheable (the counts and statuses change
// under the client) and not to be sniffed.
func setCommon(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

const internalDetail = "An internal error occurred. Quote the errorTicket when reporting it."

// validationProblem turns a removal.ValidationError into a 400 problem whose
// errorCode is the first problem's code and whose errors list them all.
func validationProblem(ex *exchange, ve *removal.ValidationError) Problem {
	first := ve.Problems[0]
	detail := cutMessage(first)
	if first.Code == removal.CodeInvalidTenantID && strings.HasPrefix(first.Message, removal.TenantIDMessage) { // not the repeated-parameter problem
		detail = removal.TenantIDMessage // the platform's own wording; errors has the value
	}
	switch n := len(ve.Problems); {
	case ve.Unlisted > 0:
		detail = "The request has " + strconv.Itoa(n+ve.Unlisted) + " problems; errors lists " + strconv.Itoa(n) +
			" of them (" + strconv.Itoa(ve.Unlisted) + " more invalid telephone numbers are not listed); the first: " + detail
	case n > 1:
		detail = "The request has " + strconv.Itoa(n) + " problems, all listed in errors; the first: " + detail
	}
	p := newProblem(ex, first.Code, detail)
	p.Errors = make(map[string][]string, len(ve.Problems))
	ex.errorOrder = ex.errorOrder[:0]
	for _, q := range ve.Problems {
		if p.Errors[q.Field] == nil {
			ex.errorOrder = append(ex.errorOrder, q.Field)
		}
		p.Errors[q.Field] = append(p.Errors[q.Field], cutMessage(q))
	}
	return p
}
