package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
	"github.com/ocnumbers/ocnumbers/removal"
)

// MaxReconcileBodyBytes is the body limit of the reconcile route: room for
// an acquired list of removal.MaxAcquiredNumbers numbers.
const MaxReconcileBodyBytes = 32 << 20

// MaxPurgeOlderThanDays bounds the purge route's olderThanDays.
const MaxPurgeOlderThanDays = 36500

// queryParams holds the known parameters of a raw query, by canonical name:
// names match case-insensitively in ASCII letters only, unknown names are
// ignored, and a known name given twice is an error.
type queryParams map[string]string

// parseQuery reads the parameters names from raw. A known parameter given
// more than once, or not decodable, is a problem (InvalidTenantId for
// msTenantId, InvalidQueryParameter for the others) and is left out of the
// parameters returned.
func parseQuery(raw string, names ...string) (queryParams, []removal.Problem) {
	got := queryParams{}
	seen := map[string]int{}
	var problems []removal.Problem
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue // not one of ours: unknown parameters are ignored
		}
		name := ""
		for _, n := range names {
			if ascii.EqualFold(key, n) {
				name = n
				break
			}
		}
		if name == "" {
			continue
		}
		if seen[name]++; seen[name] > 1 {
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			problems = append(problems, paramProblem(name, v, name+" "+quote(v)+" is not validly %-escaped"))
			continue
		}
		got[name] = val
	}
	for _, n := range names {
		if c := seen[n]; c > 1 {
			delete(got, n)
			problems = append(problems, paramProblem(n, "", n+" is given "+strconv.Itoa(c)+" times; give it at most once"))
		}
	}
	return got, problems
}

func paramProblem(name, value, msg string) removal.Problem {
	code := removal.CodeInvalidQueryParameter
	if name == "msTenantId" {
		code = removal.CodeInvalidTenantID
	}
	return removal.Problem{Field: name, Index: -1, Value: value, Code: code, Message: msg}
}

// intParam reads an optional decimal integer parameter (ASCII digits only,
// no sign) into *dst; absent or empty leaves it.
func (q queryParams) intParam(name string, dst *int, rule string) *removal.Problem {
	v, ok := q[name]
	if !ok || v == "" {
		return nil
	}
	bad := func() *removal.Problem {
		p := paramProblem(name, v, name+" "+quote(v)+" is not valid: "+rule)
		return &p
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return bad()
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return bad()
	}
	*dst = n
	return nil
}

// pageParams reads pageNumber and pageSize.
func (q queryParams) pageParams(page, size *int) []removal.Problem {
	var problems []removal.Problem
	if p := q.intParam("pageNumber", page, "it must be an integer of at least 1"); p != nil {
		problems = append(problems, *p)
	}
	if p := q.intParam("pageSize", size, "it must be an integer from 1 to "+strconv.Itoa(removal.MaxPageSize)); p != nil {
		problems = append(problems, *p)
	}
	return problems
}

// The list route's parameters, in the order its problems are listed.
var listParams = []string{"msTenantId", "acquiredNumberStatus", "pageNumber", "pageSize", "after"}

func (h *Handler) serveList(ex *exchange, r *http.Request) {
	q, problems := parseQuery(r.URL.RawQuery, listParams...)
	lq := removal.ListQuery{MSTenantID: q["msTenantId"], After: q["after"]}
	problems = append(problems, q.pageParams(&lq.PageNumber, &lq.PageSize)...)
	if v := q["acquiredNumberStatus"]; v != "" {
		for _, item := range strings.Split(v, ",") {
			st, err := removal.ParseStatus(strings.Trim(item, " \t"))
			if err != nil {
				problems = append(problems, paramProblem("acquiredNumberStatus", item,
					"acquiredNumberStatus "+quote(item)+" is not a status: want Active, ReleaseRequested, MarkedForRemoval or ReadyForRemoval (or 0-3), or a comma-separated list of them"))
				continue
			}
			lq.Statuses = append(lq.Statuses, st)
		}
	}
	if _, ok := q["pageNumber"]; ok && lq.After != "" && lq.PageNumber == 0 {
		lq.PageNumber = 1 // "pageNumber=" is absent
	}
	if problems != nil {
		h.failAll(ex, r, problems, removal.ValidateListQuery(lq), listParams...)
		return
	}
	page, err := h.svc.List(ex.ctx, lq)
	if err != nil {
		h.fail(ex, r, err, 0)
		return
	}
	writeJSON(ex, page)
}

func (h *Handler) serveNumber(ex *exchange, r *http.Request) {
	n, err := h.svc.Get(ex.ctx, r.PathValue("telephoneNumber"))
	if err != nil {
		h.fail(ex, r, err, 0)
		return
	}
	writeJSON(ex, n)
}

func (h *Handler) serveHistory(ex *exchange, r *http.Request) {
	q, problems := parseQuery(r.URL.RawQuery, "pageNumber", "pageSize")
	var hq removal.HistoryQuery
	n := r.PathValue("telephoneNumber")
	if problems = append(problems, q.pageParams(&hq.PageNumber, &hq.PageSize)...); problems != nil {
		h.failAll(ex, r, problems, removal.ValidateHistoryQuery(n, hq), "telephoneNumber", "pageNumber", "pageSize")
		return
	}
	page, err := h.svc.History(ex.ctx, n, hq)
	if err != nil {
		h.fail(ex, r, err, 0)
		return
	}
	writeJSON(ex, page)
}

// Answer is the 200 answer of the reconcile and purge routes: the job's
// result as data, with the batch routes' status, succeeded and message.
type Answer[T any] struct {
	Data      T      `json:"data"`
	Status    string `json:"status"`
	Succeeded bool   `json:"succeeded"`
	Message   string `json:"message"`
}

// jsonBody checks the content type and announced size of a JSON request and
// returns its body limited to limit bytes. On failure it has answered (415
// or 413) and reports false.
func (h *Handler) jsonBody(ex *exchange, r *http.Request, limit int64) (io.Reader, bool) {
	if detail := checkContentType(r.Header); detail != "" {
		writeProblem(ex, newProblem(ex, CodeUnsupportedMediaType, detail))
		return nil, false
	}
	if r.ContentLength > limit {
		writeProblem(ex, newProblem(ex, CodeRequestTooLarge, "The request body is larger than "+strconv.FormatInt(limit, 10)+" bytes."))
		return nil, false
	}
	if r.Body == nil {
		return strings.NewReader(""), true
	}
	return http.MaxBytesReader(ex.ResponseWriter, r.Body, limit), true
}

// member is one known member of a JSON request object.
type member struct {
	name string
	into any  // a pointer dec.Decode fills
	set  bool // present and not null
}

// errNullBody is a request whose body is empty or null.
var errNullBody = errors.New("null body")

// decodeObject reads one JSON object from body into members: names match
// case-insensitively in ASCII letters only, other members are ignored, a
// member given twice or data after the object is an error, and a null
// member is left unset. An empty or null body is errNullBody. A body over
// its limit is the *http.MaxBytesError.
func decodeObject(body io.Reader, members ...*member) error {
	dec := json.NewDecoder(body)
	tok, err := dec.Token()
	if err == io.EOF {
		return errNullBody
	}
	if err != nil {
		return objectError(err)
	}
	if tok == nil {
		if _, err := dec.Token(); err != io.EOF {
			return trailing(err)
		}
		return errNullBody
	}
	if tok != json.Delim('{') {
		return errors.New("The request body must be a JSON object.")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return objectError(err)
		}
		key, _ := tok.(string)
		var m *member
		for _, c := range members {
			if ascii.EqualFold(key, c.name) {
				m = c
				break
			}
		}
		if m == nil {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return objectError(err)
			}
			continue
		}
		if seen[m.name] {
			return errors.New("The request body has the " + m.name + " member more than once.")
		}
		seen[m.name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return objectError(err)
		}
		if string(raw) == "null" {
			continue
		}
		if _, num := m.into.(*json.Number); num && raw[0] == '"' {
			return errors.New(m.name + " has the wrong type: found a JSON string; it must be a number.")
		}
		if err := json.Unmarshal(raw, m.into); err != nil {
			return errors.New(m.name + " has the wrong type: " + typeOf(err))
		}
		m.set = true
	}
	if _, err := dec.Token(); err != nil {
		return objectError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return trailing(err)
	}
	return nil
}

func trailing(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errors.New("The request body has data after the JSON value.")
}

func objectError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return jsonError(err)
}

func typeOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "found a JSON " + te.Value + "."
	}
	return "it is not valid."
}

// appendProblems adds the problems of a *removal.ValidationError err.
func appendProblems(problems []removal.Problem, err error) []removal.Problem {
	var ve *removal.ValidationError
	if errors.As(err, &ve) {
		problems = append(problems, ve.Problems...)
	}
	return problems
}

// intMember reads a JSON number member that must be an integer in [lo, hi].
func intMember(name string, v json.Number, lo, hi int) (int, error) {
	n, err := strconv.Atoi(string(v))
	if err != nil || n < lo || n > hi {
		return 0, &removal.ValidationError{Problems: []removal.Problem{{Field: name, Index: -1, Value: string(v),
			Code:    removal.CodeInvalidRequestBody,
			Message: name + " is " + quote(string(v)) + "; it must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)}}}
	}
	return n, nil
}

// failBody answers a request body decodeObject refused; an empty or null
// body gets the problems of a request with no members, as validate (the
// route's own rules, on that request) reports them.
func (h *Handler) failBody(ex *exchange, r *http.Request, err error, limit int64, validate func() error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeProblem(ex, newProblem(ex, CodeRequestTooLarge, "The request body is larger than "+strconv.FormatInt(limit, 10)+" bytes."))
	case errors.Is(err, errNullBody):
		h.fail(ex, r, validate(), 0)
	default:
		writeProblem(ex, newProblem(ex, CodeInvalidRequestBody, err.Error()))
	}
}

// failAll answers 400 with every problem of a request: the handler's own
// (values it could not read or that break a rule of the wire) and those
// validate reports on the values it could read, except on fields the
// handler already reported. Missing members (NullRequestBody) come first,
// then by fields (a field's elements, such as telephoneNumbers[3], with
// the field), then as found.
func (h *Handler) failAll(ex *exchange, r *http.Request, own []removal.Problem, validate error, fields ...string) {
	problems := slices.Clone(own)
	for _, p := range appendProblems(nil, validate) {
		if !slices.ContainsFunc(own, func(o removal.Problem) bool { return o.Field == p.Field }) {
			problems = append(problems, p)
		}
	}
	rank := func(p removal.Problem) int {
		base, _, _ := strings.Cut(p.Field, "[")
		i := slices.Index(fields, base)
		if i < 0 {
			i = len(fields)
		}
		if p.Code != removal.CodeNullRequestBody {
			i += len(fields) + 1
		}
		return i
	}
	slices.SortStableFunc(problems, func(a, b removal.Problem) int { return rank(a) - rank(b) })
	all := &removal.ValidationError{Problems: problems}
	if ve := (*removal.ValidationError)(nil); errors.As(validate, &ve) {
		all.Unlisted = ve.Unlisted
	}
	h.fail(ex, r, all, 0)
}

func (h *Handler) serveReconcile(ex *exchange, r *http.Request) {
	body, ok := h.jsonBody(ex, r, MaxReconcileBodyBytes)
	if !ok {
		return
	}
	var (
		req     removal.ReconcileRequest
		percent json.Number
	)
	tenant := &member{name: "msTenantId", into: &req.MSTenantID}
	numbers := &member{name: "telephoneNumbers", into: &req.TelephoneNumbers}
	pct := &member{name: "maxMarkPercent", into: &percent}
	err := decodeObject(body,
		tenant, numbers, pct,
		&member{name: "dryRun", into: &req.DryRun},
		&member{name: "clearReappeared", into: &req.ClearReappeared},
		&member{name: "force", into: &req.Force})
	if err != nil {
		h.failBody(ex, r, err, MaxReconcileBodyBytes, func() error { return removal.ValidateReconcile(removal.ReconcileRequest{}) })
		return
	}
	var problems []removal.Problem
	if tenant.set && req.MSTenantID == "" {
		_, err := removal.ParseTenantID("") // present but empty: a bad tenant, not a missing one
		problems = appendProblems(problems, err)
	}
	if !numbers.set {
		req.TelephoneNumbers = nil // null: validation names it
	}
	if pct.set {
		n, err := intMember("maxMarkPercent", percent, 0, 100)
		if err != nil {
			problems = appendProblems(problems, err)
		} else {
			req.MaxMarkPercent = &n
		}
	}
	if problems != nil {
		h.failAll(ex, r, problems, removal.ValidateReconcile(req), "msTenantId", "telephoneNumbers", "maxMarkPercent")
		return
	}
	rep, err := h.svc.Reconcile(h.audit(ex, r), req)
	var ge *removal.GuardError
	if errors.As(err, &ge) {
		p := newProblem(ex, CodeReconcileGuard, ge.Error()[len("removal: "):])
		p.Report = &rep
		writeProblem(ex, p)
		return
	}
	if err != nil {
		h.fail(ex, r, err, 0)
		return
	}
	ex.processed, ex.success = rep.Marked.Count+rep.Cleared.Count+rep.Skipped.Count, rep.Marked.Count+rep.Cleared.Count
	a := Answer[removal.ReconcileReport]{Data: rep, Status: StatusSuccess, Succeeded: true}
	verb := ""
	if rep.DryRun {
		verb = "would be "
		a.Message = "Dry run, nothing changed: "
	}
	a.Message += fmt.Sprintf("%d numbers %smarked for removal, %d %scleared; %d reappeared, %d still acquired although ready for removal, %d unknown, %d of another tenant, %d not Operator Connect, %d unchanged",
		rep.Marked.Count, verb, rep.Cleared.Count, verb, rep.Reappeared.Count, rep.StillAcquired.Count,
		rep.Unknown.Count, rep.OtherTenant.Count, rep.NotOperatorConnect.Count, rep.Unchanged.Count)
	if rep.Skipped.Count > 0 {
		a.Status, a.Succeeded = StatusPartialSuccess, false
		a.Message += fmt.Sprintf("; %d skipped because they changed meanwhile", rep.Skipped.Count)
	}
	writeJSON(ex, a)
}

func (h *Handler) servePurge(ex *exchange, r *http.Request) {
	body, ok := h.jsonBody(ex, r, h.cfg.maxBody)
	if !ok {
		return
	}
	var (
		days, limit json.Number
		tenantID    string
		dryRun      = true
	)
	d := &member{name: "olderThanDays", into: &days}
	l := &member{name: "limit", into: &limit}
	err := decodeObject(body, d, l, &member{name: "msTenantId", into: &tenantID}, &member{name: "dryRun", into: &dryRun})
	missing := removal.Problem{Field: "olderThanDays", Index: -1, Code: removal.CodeNullRequestBody,
		Message: "the request must give olderThanDays, the days a number must have been ReadyForRemoval to be purged"}
	if err != nil {
		h.failBody(ex, r, err, h.cfg.maxBody, func() error { return &removal.ValidationError{Problems: []removal.Problem{missing}} })
		return
	}
	var problems []removal.Problem
	req := removal.PurgeRequest{MSTenantID: tenantID, Confirm: !dryRun}
	if !d.set {
		problems = append(problems, missing)
	} else if n, err := intMember("olderThanDays", days, 0, MaxPurgeOlderThanDays); err != nil {
		problems = appendProblems(problems, err)
	} else {
		req.OlderThan = time.Duration(n) * 24 * time.Hour
	}
	if l.set {
		if req.Limit, err = intMember("limit", limit, 1, removal.MaxPurgeLimit); err != nil {
			problems = appendProblems(problems, err)
		}
	}
	if problems != nil {
		h.failAll(ex, r, problems, removal.ValidatePurge(req), "olderThanDays", "limit", "msTenantId")
		return
	}
	res, err := h.svc.Purge(h.audit(ex, r), req)
	ex.processed, ex.success = res.PurgedCount, res.PurgedCount
	if err != nil {
		h.fail(ex, r, err, 0)
		return
	}
	a := Answer[removal.PurgeResult]{Data: res, Status: StatusSuccess, Succeeded: true}
	if res.DryRun {
		a.Message = fmt.Sprintf("Dry run, nothing deleted: %d numbers would be purged", res.PurgedCount)
	} else {
		a.Message = fmt.Sprintf("%d numbers purged", res.PurgedCount)
	}
	if res.More {
		a.Message += "; more numbers match: run again"
	}
	writeJSON(ex, a)
}

// notFoundDetail words the 404 of a one-number route.
func notFoundDetail(ex *exchange, r *http.Request) string {
	n := quote(r.PathValue("telephoneNumber"))
	if ex.route == RouteHistory {
		return "The number " + n + " is not stored and has no history."
	}
	return "The number " + n + " is not stored."
}
