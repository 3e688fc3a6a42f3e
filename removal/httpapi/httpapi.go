package httpapi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
)

// The routes, relative to the handler's root. RouteNumber and RouteHistory
// are ServeMux patterns: {telephoneNumber} is one path segment.
const (
	RouteClearRemovalStatus = "/api/v3/oc/action/clear-removal-status"
	RouteReadyForRemoval    = "/api/v3/oc/numbers/action/ready-for-removal"
	RouteMarkForRemoval     = "/api/v3/oc/numbers/action/mark-for-removal"
	RouteSummary            = "/api/v3/oc/numbers/removal-status/summary"
	RouteNumbers            = "/api/v3/oc/numbers"
	RouteNumber             = "/api/v3/oc/numbers/{telephoneNumber}"
	RouteHistory            = "/api/v3/oc/numbers/{telephoneNumber}/history"
	RouteReconcile          = "/api/v3/oc/numbers/action/reconcile"
	RoutePurge              = "/api/v3/oc/numbers/action/purge"
	RouteOpenAPI            = "/api/v3/oc/openapi.yaml"
)

// DefaultMaxBodyBytes is the default request body limit: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxInFlight is the default cap on requests in flight in one
// Handler.
const DefaultMaxInFlight = 64

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the API (the one served at
// RouteOpenAPI).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// Option configures a Handler.
type Option func(*config)

type config struct {
	logger     *slog.Logger
	limiter    Limiter
	limiterSet bool
	maxBody    int64
	maxFlight  int64
	now        func() time.Time
	observer   func(Observation)
	actor      func(*http.Request) string
}

// WithLogger sets the logger of the access log and of internal errors
// (default: logs are discarded).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRateLimiter sets the limiter of the ready-for-removal route (the only
// limited route). The default is NewSlidingWindow(300, time.Minute, clock)
// with the WithClock clock; nil turns limiting off.
func WithRateLimiter(l Limiter) Option {
	return func(c *config) { c.limiter, c.limiterSet = l, true }
}

// WithMaxBodyBytes sets the request body limit (default
// DefaultMaxBodyBytes; n <= 0 also means the default).
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithMaxInFlight caps the requests the handler serves at once (default
// DefaultMaxInFlight; n <= 0 also means the default). A request counts from
// the moment ServeHTTP receives it, while its body is still arriving, until
// its answer is written; past the cap the answer is at once 503
// ServiceUnavailable with Retry-After: 1, on every route.
func WithMaxInFlight(n int) Option { return func(c *config) { c.maxFlight = int64(n) } }

// WithClock sets the clock of the durations in logs and observations and of
// the default rate limiter (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithObserver sets a hook, for metrics, called once per request after the
// response is written (also for 404s and panics).
func WithObserver(fn func(Observation)) Option { return func(c *config) { c.observer = fn } }

// WithActor sets how the handler names who made a request (its
// authenticated user, say); the name is recorded in the history of every
// number the request changes. By default the actor is unknown.
func WithActor(fn func(*http.Request) string) Option { return func(c *config) { c.actor = fn } }

// Observation describes one finished request.
type Observation struct {
	Method string // as sent, cut to 64 bytes like every echoed value
	// Route is the matched route constant (RouteSummary, ...) also when the
	// method was not allowed or the request was refused at the cap on
	// requests in flight, and "" when no route matched: unknown paths never
	// become metric labels.
	Route          string
	Status         int // as written
	Duration       time.Duration
	ProcessedCount int // batch routes: numbers that got an outcome
	SuccessCount   int
	TraceID        string
	ErrorTicket    string // "" unless the answer was a problem
}

// Handler serves the API. Create it with New.
type Handler struct {
	svc      *removal.Service
	mux      *http.ServeMux
	cfg      config
	inFlight atomic.Int64 // requests between ServeHTTP's start and end
}

var _ http.Handler = (*Handler)(nil)

// New returns the handler for the three routes and the OpenAPI document,
// relative to "/". Mount it under a base path with http.StripPrefix; the
// instance in problems is still the request's original path. svc must not
// be nil.
func New(svc *removal.Service, opts ...Option) *Handler {
	if svc == nil {
		panic("httpapi: New needs a *removal.Service")
	}
	h := &Handler{svc: svc, mux: http.NewServeMux(), cfg: config{maxBody: DefaultMaxBodyBytes, now: time.Now}}
	for _, o := range opts {
		o(&h.cfg)
	}
	if h.cfg.logger == nil {
		h.cfg.logger = slog.New(slog.DiscardHandler)
	}
	if h.cfg.maxBody <= 0 {
		h.cfg.maxBody = DefaultMaxBodyBytes
	}
	if h.cfg.maxFlight <= 0 {
		h.cfg.maxFlight = DefaultMaxInFlight
	}
	if h.cfg.now == nil {
		h.cfg.now = time.Now
	}
	if !h.cfg.limiterSet {
		h.cfg.limiter = NewSlidingWindow(300, time.Minute, h.cfg.now)
	}
	h.route("POST", RouteClearRemovalStatus, "POST", func(ex *exchange, r *http.Request) {
		h.serveBatch(ex, r, clearOp)
	})
	h.route("POST", RouteReadyForRemoval, "POST", func(ex *exchange, r *http.Request) {
		h.serveBatch(ex, r, readyOp)
	})
	h.route("POST", RouteMarkForRemoval, "POST", func(ex *exchange, r *http.Request) {
		h.serveBatch(ex, r, markOp)
	})
	h.route("GET", RouteSummary, "GET, HEAD", h.serveSummary)
	h.route("GET", RouteNumbers, "GET, HEAD", h.serveList)
	h.route("GET", RouteNumber, "GET, HEAD", h.serveNumber)
	h.route("GET", RouteHistory, "GET, HEAD", h.serveHistory)
	h.route("POST", RouteReconcile, "POST", h.serveReconcile)
	h.route("POST", RoutePurge, "POST", h.servePurge)
	h.route("GET", RouteOpenAPI, "GET, HEAD", serveOpenAPI)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ex := w.(*exchange)
		writeProblem(ex, newProblem(ex, CodeNotFound, "No route matches "+quote(r.URL.Path)+"."))
	})
	return h
}

// route registers fn for method and path, and a problem+json 405 for every
// other method on path. (A pattern with a method is more specific than one
// without, so the mux picks fn for method; GET patterns also match HEAD.)
func (h *Handler) route(method, p, allow string, fn func(*exchange, *http.Request)) {
	h.mux.HandleFunc(method+" "+p, func(w http.ResponseWriter, r *http.Request) {
		ex := w.(*exchange)
		ex.route = p
		fn(ex, r)
	})
	h.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		ex := w.(*exchange)
		ex.route = p
		ex.Header().Set("Allow", allow)
		writeProblem(ex, newProblem(ex, CodeMethodNotAllowed, "Method "+clip(r.Method)+" is not allowed on this route; allowed: "+allow+"."))
	})
}

// exchange is the ResponseWriter the routes get: it records what the access
// log and the observer need.
type exchange struct {
	http.ResponseWriter
	status    int
	route     string
	instance  string // of problems
	path      string // of the access log: the original path, cut
	traceID   string
	ticket    string
	processed int
	success   int
	internal  error // logged at Error level with the ticket, never sent
	head      bool  // a HEAD request: headers only
	// errorOrder is the members of a validation problem's errors in the
	// order of its problems (see validationProblem).
	errorOrder []string
	// ctx is the context of the limiter and the service (see workContext).
	ctx context.Context
}

func (ex *exchange) WriteHeader(code int) {
	if ex.status == 0 {
		ex.status = code
	}
	ex.ResponseWriter.WriteHeader(code)
}

func (ex *exchange) Write(b []byte) (int, error) {
	if ex.status == 0 {
		ex.status = http.StatusOK
	}
	return ex.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (ex *exchange) Unwrap() http.ResponseWriter { return ex.ResponseWriter }

func (ex *exchange) newTicket() string {
	if ex.ticket == "" {
		ex.ticket = newTicket()
	}
	return ex.ticket
}

// ServeHTTP admits the request under the cap of requests in flight, routes
// it, and logs and observes it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.now()
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1) // after finish: the answer is written
	ctx, stop := workContext(r.Context())
	defer stop()
	p := originalPath(r)
	ex := &exchange{ResponseWriter: w, instance: cutInstance(p), path: clip(p), traceID: traceID(r.Header), ctx: ctx,
		head: r.Method == http.MethodHead}
	defer h.finish(ex, r, start)
	if n > h.cfg.maxFlight {
		// At once, not after a wait: a client that retries after a second
		// does better than one whose request queues behind slow bodies.
		ex.route = h.routeOf(r)
		ex.Header().Set("Retry-After", "1")
		writeProblem(ex, newProblem(ex, CodeServiceUnavailable,
			"The server is answering its maximum of "+strconv.FormatInt(h.cfg.maxFlight, 10)+" requests at once; retry after 1 second."))
		return
	}
	// Unclean paths are 404 here rather than the mux's redirect, whose
	// Location would lose the base path under http.StripPrefix.
	if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
		writeProblem(ex, newProblem(ex, CodeNotFound, "No route matches "+quote(p)+"."))
		return
	}
	h.mux.ServeHTTP(ex, r)
}

// workContext returns the context the limiter and the service run under: the
// request's values and deadline, and its cancellations that carry a cause
// (context.WithCancelCause: a server's shutdown), but not a plain
// cancellation. net/http cancels a request plainly when it reads EOF from
// the client, and a client that shut down its sending side after the
// request (legal HTTP/1.1) is still waiting for the answer; a validated
// batch is bounded work, so it runs to completion rather than stopping
// half-applied.
func workContext(req context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(req))
	stopAfter := context.AfterFunc(req, func() {
		if cause := context.Cause(req); cause != context.Canceled {
			cancel(cause) // a deadline, or a cancellation with a cause
		}
	})
	stopDeadline := context.CancelFunc(func() {})
	if d, ok := req.Deadline(); ok {
		ctx, stopDeadline = context.WithDeadline(ctx, d)
	}
	return ctx, func() { stopAfter(); stopDeadline(); cancel(nil) }
}

// routeOf is the route the mux would pick for r, for the logs and the
// observer of a request refused before routing; "" when none would.
func (h *Handler) routeOf(r *http.Request) string {
	if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
		return ""
	}
	_, pattern := h.mux.Handler(r)
	if i := strings.IndexByte(pattern, ' '); i >= 0 { // "POST /api/..."
		pattern = pattern[i+1:]
	}
	if pattern == "/" {
		return ""
	}
	return pattern
}

// originalPath is the request's path as sent, escaped, without the query:
// RequestURI survives http.StripPrefix; URL.Path is the fallback for
// requests built without one.
func originalPath(r *http.Request) string {
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
			return u.EscapedPath()
		}
	}
	return r.URL.EscapedPath()
}

// finish recovers a panic (500, logged with the stack), then writes the
// logs and calls the observer.
func (h *Handler) finish(ex *exchange, r *http.Request, start time.Time) {
	v := recover()
	if v == http.ErrAbortHandler {
		panic(v)
	}
	started := ex.status != 0
	if v != nil {
		ex.internal = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		if ex.status == 0 {
			writeProblem(ex, newProblem(ex, removal.CodeInternal, internalDetail))
		}
	}
	d := h.cfg.now().Sub(start)
	status := ex.status
	if status == 0 {
		status = http.StatusOK
	}
	ctx := r.Context()
	log := h.cfg.logger
	if ex.internal != nil {
		log.LogAttrs(ctx, slog.LevelError, "internal error",
			slog.String("errorTicket", ex.ticket), slog.String("traceId", ex.traceID),
			slog.String("route", ex.route), slog.Int("status", status),
			slog.Int("processedCount", ex.processed), slog.Int("successCount", ex.success),
			slog.String("error", ex.internal.Error()))
	}
	if log.Enabled(ctx, slog.LevelInfo) { // the default logger discards: build nothing
		attrs := []slog.Attr{
			slog.String("method", clip(r.Method)), slog.String("route", ex.route), slog.String("path", ex.path),
			slog.Int("status", status), slog.Duration("duration", d),
			slog.Int("processedCount", ex.processed), slog.Int("successCount", ex.success),
			slog.String("traceId", ex.traceID),
		}
		if ex.ticket != "" {
			attrs = append(attrs, slog.String("errorTicket", ex.ticket))
		}
		log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	}
	if h.cfg.observer != nil {
		h.cfg.observer(Observation{
			Method: clip(r.Method), Route: ex.route, Status: status, Duration: d,
			ProcessedCount: ex.processed, SuccessCount: ex.success,
			TraceID: ex.traceID, ErrorTicket: ex.ticket,
		})
	}
	if v != nil && started {
		// The panic came after the answer started: abort the connection so
		// the client cannot take a cut-off body for a whole one.
		panic(http.ErrAbortHandler)
	}
}

// batchOp is one of the two batch routes.
type batchOp struct {
	limited bool
	call    func(*removal.Service, context.Context, []string) (removal.BatchResult, error)
	allOK   string // the platform's message when every number succeeded
	counts  string // format of the message otherwise: succeeded, processed, failed
}

var (
	clearOp = batchOp{
		call:   (*removal.Service).ClearRemovalStatus,
		allOK:  "Removal status successfully cleared for all numbers",
		counts: "Removal status cleared for %d of %d numbers; %d failed",
	}
	readyOp = batchOp{
		limited: true,
		call:    (*removal.Service).MarkReadyForRemoval,
		allOK:   "Numbers successfully transitioned to ReadyForRemoval status",
		counts:  "%d of %d numbers transitioned to ReadyForRemoval status; %d failed",
	}
	markOp = batchOp{
		call:   (*removal.Service).MarkForRemoval,
		allOK:  "Numbers successfully marked for removal",
		counts: "%d of %d numbers marked for removal; %d failed",
	}
)

// Envelope is the 200 answer of both batch routes.
type Envelope struct {
	Data      removal.BatchResult `json:"data"`
	Status    string              `json:"status"` // "success", "partialSuccess" or "failure"
	Succeeded bool                `json:"succeeded"`
	Message   string              `json:"message"`
}

// The values of Envelope.Status.
const (
	StatusSuccess        = "success"
	StatusPartialSuccess = "partialSuccess"
	StatusFailure        = "failure"
)

func (h *Handler) serveBatch(ex *exchange, r *http.Request, op batchOp) {
	if op.limited && !h.admit(ex, r) {
		return
	}
	numbers, ok := h.readNumbers(ex, r)
	if !ok {
		return
	}
	res, err := op.call(h.svc, h.audit(ex, r), numbers)
	ex.processed, ex.success = res.ProcessedCount, res.SuccessCount
	if err != nil {
		h.fail(ex, r, err, len(numbers))
		return
	}
	writeJSON(ex, op.envelope(res))
}

// audit returns the request's context carrying its trace id and actor, for
// the history of the numbers it changes.
func (h *Handler) audit(ex *exchange, r *http.Request) context.Context {
	a := removal.Audit{TraceID: ex.traceID}
	if h.cfg.actor != nil {
		a.Actor = h.cfg.actor(r)
	}
	return removal.WithAudit(ex.ctx, a)
}

// NewEnvelope returns the 200 answer for a batch action's result, with the
// platform's messages for the two routed actions and a generic one for the
// others (which have no route, but hosts and the quickstart print them the
// same way).
func NewEnvelope(a removal.Action, res removal.BatchResult) Envelope {
	switch a {
	case removal.ClearRemovalStatusAction:
		return clearOp.envelope(res)
	case removal.ReadyForRemovalAction:
		return readyOp.envelope(res)
	case removal.MarkForRemovalAction:
		return markOp.envelope(res)
	}
	return batchOp{
		allOK:  "All numbers processed: " + a.Name(),
		counts: a.Name() + ": %d of %d numbers succeeded; %d failed",
	}.envelope(res)
}

func (op batchOp) envelope(res removal.BatchResult) Envelope {
	env := Envelope{Data: res, Status: StatusSuccess, Succeeded: true, Message: op.allOK}
	if res.SuccessCount != res.ProcessedCount {
		failed := res.ProcessedCount - res.SuccessCount
		env.Succeeded = false
		env.Status = StatusPartialSuccess
		if res.SuccessCount == 0 {
			env.Status = StatusFailure
		}
		env.Message = fmt.Sprintf(op.counts, res.SuccessCount, res.ProcessedCount, failed)
	}
	return env
}

// admit asks the limiter; it answers 429 or 500 itself and reports false.
func (h *Handler) admit(ex *exchange, r *http.Request) bool {
	if h.cfg.limiter == nil {
		return true
	}
	ok, wait, err := h.cfg.limiter.Allow(ex.ctx)
	if err != nil {
		h.fail(ex, r, fmt.Errorf("rate limiter: %w", err), 0)
		return false
	}
	if ok {
		return true
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	ex.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeProblem(ex, newProblem(ex, CodeRateLimitExceeded,
		"This route accepts a limited number of requests per window; retry after "+strconv.FormatInt(secs, 10)+" seconds."))
	return false
}

// retryAfterBusy is the Retry-After of a StoreBusy answer: a store gives up
// after a bounded lock wait, so the lock is likely free soon. A cancelled
// request gets the same.
const retryAfterBusy = "1"

// fail answers a service error: validation problems are 400; a request
// whose context ended (a deadline or a shutdown, see workContext) is 503
// RequestCancelled, logged at Warn with its partial result; a busy store is
// 503 StoreBusy, logged the same way; the rest is 500 with the error
// logged, never sent.
func (h *Handler) fail(ex *exchange, r *http.Request, err error, requested int) {
	var ve *removal.ValidationError
	switch {
	case errors.As(err, &ve) && len(ve.Problems) > 0:
		writeProblem(ex, validationProblem(ex, ve))
	case errors.Is(err, removal.ErrNotFound):
		writeProblem(ex, newProblem(ex, removal.CodeNumberNotFound, notFoundDetail(ex, r)))
	case ex.ctx.Err() == nil && errors.Is(err, removal.ErrStoreBusy):
		detail := "The store is busy. Retry after " + retryAfterBusy + " second."
		if requested > 0 {
			detail = fmt.Sprintf("The store is busy; it gave up after %d of %d numbers were processed (%d succeeded), and the others are unchanged. Retry after %s second.",
				ex.processed, requested, ex.success, retryAfterBusy)
		}
		p := newProblem(ex, CodeStoreBusy, detail)
		h.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "store busy",
			slog.String("errorTicket", p.ErrorTicket), slog.String("traceId", ex.traceID),
			slog.String("route", ex.route), slog.Int("requestedCount", requested),
			slog.Int("processedCount", ex.processed), slog.Int("successCount", ex.success),
			slog.String("error", err.Error()))
		ex.Header().Set("Retry-After", retryAfterBusy)
		writeProblem(ex, p)
	case ex.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		detail := "The request was cancelled before it completed."
		if requested > 0 {
			detail = fmt.Sprintf("The request was cancelled after %d of %d numbers were processed (%d succeeded); the others are unchanged.",
				ex.processed, requested, ex.success)
		}
		p := newProblem(ex, CodeRequestCancelled, detail)
		h.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "request cancelled",
			slog.String("errorTicket", p.ErrorTicket), slog.String("traceId", ex.traceID),
			slog.String("route", ex.route), slog.Int("requestedCount", requested),
			slog.Int("processedCount", ex.processed), slog.Int("successCount", ex.success),
			slog.String("error", err.Error()), slog.String("cause", context.Cause(ex.ctx).Error()))
		ex.Header().Set("Retry-After", retryAfterBusy)
		writeProblem(ex, p)
	default:
		ex.internal = err
		writeProblem(ex, newProblem(ex, removal.CodeInternal, internalDetail))
	}
}

func (h *Handler) serveSummary(ex *exchange, r *http.Request) {
	tenant, err := tenantParam(r.URL.RawQuery)
	var s removal.Summary
	if err == nil {
		s, err = h.svc.Summary(ex.ctx, tenant)
	}
	if err != nil {
		h.fail(ex, r, err, 0)
		return
	}
	writeJSON(ex, s)
}

func serveOpenAPI(ex *exchange, _ *http.Request) {
	h := ex.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("Content-Length", strconv.Itoa(len(openAPI)))
	h.Set("X-Content-Type-Options", "nosniff") // cacheable: it changes only with the binary
	ex.WriteHeader(http.StatusOK)
	if !ex.head {
		ex.Write(openAPI)
	}
}
