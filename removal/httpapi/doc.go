// Package httpapi serves the removal workflow over HTTP, on net/http alone.
//
//	POST /api/v3/oc/action/clear-removal-status          MarkedForRemoval -> Active
//	POST /api/v3/oc/numbers/action/ready-for-removal     MarkedForRemoval -> ReadyForRemoval (rate limited)
//	GET  /api/v3/oc/numbers/removal-status/summary       ?msTenantId=GUID
//	GET  /api/v3/oc/openapi.yaml                         the OpenAPI 3.1 document
//
// New returns one http.Handler for all of them, with routes relative to "/";
// mount it under any base path with http.StripPrefix. The OpenAPI document
// (OpenAPI, openapi.yaml) describes every request, answer and error code.
//
// # Answers
//
// Both POST routes take {"telephoneNumbers": ["+14255551212", ...]} and, once
// the request is valid, answer 200 even when numbers fail: data holds
// processedCount, successCount and failures (telephoneNumber, errorCode
// NumberNotFound, NotOperatorConnect or InvalidStatus, currentStatus unless
// NumberNotFound, detail); status is "success", "partialSuccess" (some
// succeeded) or "failure" (none did); succeeded is true only for "success";
// message is the platform's text when all succeeded, else it gives the
// counts. The summary answers {"markedForRemovalCount",
// "readyForRemovalCount", "totalCount"}.
//
// Every error is an RFC 9457 problem, application/problem+json, with type
// (ProblemTypeBase + errorCode), title (fixed per code), status (the HTTP
// status), detail, instance (the original request path, escaped, without
// the query, also under StripPrefix; see Bounds), errorCode, traceId,
// errorTicket and, for validation errors, errors: field path
// ("telephoneNumbers[3]") to messages, as ASP.NET's ValidationProblemDetails.
// Every 503 carries Retry-After: 1.
//
// # Error codes
//
//	errorCode                 status  when
//	NullRequestBody           400     body empty (or only white space), null, {}, or telephoneNumbers null
//	InvalidRequestBody        400     malformed or truncated JSON, not an object, telephoneNumbers not an
//	                                  array of strings, data after the value, telephoneNumbers twice,
//	                                  body unreadable
//	BatchSizeOutOfRange       400     0 or more than 500 numbers (decoding stops at the 501st)
//	InvalidTelephoneNumber    400     a number not strictly E.164 (each one listed in errors by index)
//	DuplicateTelephoneNumber  400     a number given twice (message names both indexes)
//	InvalidTenantId           400     msTenantId not a GUID, repeated, or badly %-escaped
//	InvalidQueryParameter     400     another query parameter malformed (routes that take one)
//	UnsupportedMediaType      415     Content-Type missing, unparsable, not application/json or */*+json,
//	                                  a charset other than UTF-8, or a Content-Encoding other than identity
//	RequestTooLarge           413     body over the limit (1 MiB), announced or read
//	MethodNotAllowed          405     known path, other method; Allow lists the methods
//	NotFound                  404     no route (also unclean paths such as "//x" or a trailing "/")
//	RateLimitExceeded         429     ready-for-removal over its limit; Retry-After in whole seconds
//	InternalError             500     store or limiter failure, panic; details only in the log
//	ServiceUnavailable        503     requests in flight at the cap (WithMaxInFlight), on any path
//	StoreBusy                 503     the store or the limiter gave up waiting for a lock
//	                                  (removal.ErrStoreBusy); the detail gives the partial result
//	RequestCancelled          503     a server deadline or shutdown stopped the request (see Connections)
//
// When a request has several validation problems, errorCode is the first
// one's, detail says how many there are and quotes the first, and errors
// lists them all, its members in the order of the problems: those of the query or body as read (a value that is not
// an integer, a parameter given twice) and those of the domain's rules on
// the values that could be read (a bad tenant, a bad number): a missing
// member (NullRequestBody) first, then in the order
// of the route's fields (the list route: msTenantId, acquiredNumberStatus,
// pageNumber, pageSize, after; history: the number, pageNumber, pageSize;
// reconcile: msTenantId, telephoneNumbers, maxMarkPercent; purge:
// olderThanDays, limit, msTenantId). One exception bounds the answer to a
// reconcile list of up to a million numbers: errors lists its first
// removal.MaxListedNumberProblems (100) invalid numbers, and detail counts
// every problem and says how many numbers it left out. A body that is not
// a JSON object of the route's member types is one problem
// (InvalidRequestBody), without errors; an empty or null body has the problems of an empty object
// (NullRequestBody for each required member).
//
// # Order of checks (POST)
//
// The cap on requests in flight, then route, method, then the rate limiter
// (ready-for-removal only), then Content-Encoding and Content-Type (415),
// then size (413, from Content-Length before reading, else while reading),
// then JSON (400), then the domain's validation (400), then the store. The
// limiter comes straight after routing so that every request that reaches
// it counts, bad ones included; a request refused with 429 is not counted.
// The body is decoded as it arrives, yet size and read errors still come
// before JSON ones: once the decoder has its answer, the rest of the body is
// read and dropped (up to the limit) before any 400.
//
// # Bounds
//
//   - Requests in flight: at most WithMaxInFlight (default 64). A request
//     counts from the moment ServeHTTP receives it, while its body is still
//     arriving, until its answer is written; past the cap it is answered at
//     once, 503 ServiceUnavailable.
//   - Memory: nothing is sized from Content-Length. A body announced over
//     the limit is 413 before it is read; the others are read through a 4
//     KiB window, keeping only the numbers. Decoding telephoneNumbers stops
//     at its 501st element: BatchSizeOutOfRange ("more than 500"), the rest
//     not held.
//   - Echoed values: a value from the request that an answer or a log line
//     repeats (path, method, header, tenant ID, number) is cut to its first
//     64 bytes with its full length stated: "+1425..."... (60000 bytes).
//   - instance, the escaped path, is cut the same way: whole up to 64 bytes
//     (every route's path fits, under a base path of up to 18 bytes), else its
//     first 64 bytes, never splitting a %XX escape, then its full length,
//     as "/api/v3/oc/aaaa"... (60000 bytes) without the quotes. A cut
//     instance is therefore no longer a URI reference: the bound on what
//     an answer repeats comes first. The access log's path is cut like the
//     other echoed values.
//
// # Connections
//
//   - A validated batch runs to completion whatever happens to the
//     connection. net/http cancels a request's context when it reads EOF
//     from the client, which is also what a client that shut down its
//     sending side after the request (legal HTTP/1.1, "nc -N") looks like
//     while it waits for its answer. So the limiter and the service run
//     with the request's values and deadline but without that plain
//     cancellation: a half-closed client gets its whole 200, and a client
//     that went away leaves a whole result, in the access log, not a
//     partial one. The work is bounded: 500 numbers, and stores bound their
//     lock waits.
//   - The request's deadline (http.TimeoutHandler, for one) and a
//     cancellation with a cause (context.WithCancelCause, such as a server
//     BaseContext cancelled at shutdown) still stop a batch, between the
//     store's chunks: 503 RequestCancelled with the partial result
//     (requested, processed and succeeded counts), also logged at Warn with
//     the ticket. Numbers not reached are unchanged, so retrying the batch
//     is safe: done numbers then fail with InvalidStatus.
//
// # Other decisions
//
//   - Problem type URIs are ProblemTypeBase + errorCode: identifiers, not
//     promised to resolve; title is fixed per code (InvalidTenantId's is the
//     platform's "Invalid msTenantId" and its detail "msTenantId has not a
//     Guid format"), so clients should branch on errorCode.
//   - traceId is the trace-id of the request's traceparent header when there
//     is exactly one and it is valid by W3C Trace Context (lower-case hex,
//     version not ff, ids not all zero); otherwise 32 random hex digits. It
//     is not echoed in a response header (no traceresponse standard yet); it
//     is in every problem and every access log line.
//   - errorTicket is new for every problem answer (26 random characters,
//     crypto/rand.Text), logged with the access log line, and for 500s with
//     the internal error.
//   - Names match case-insensitively in ASCII only (A-Z and a-z fold,
//     nothing else): the member telephoneNumbers, the parameter msTenantId,
//     media types. A Unicode look-alike such as "telephoneNumber\u017f"
//     (long s) or "m\u017fTenantId" is an unknown member or parameter,
//     ignored; a non-ASCII Content-Type is 415.
//   - JSON: members other than telephoneNumbers are ignored; the member
//     given twice is InvalidRequestBody, not last-wins, because a proxy that
//     read the first list would disagree about what was acted on. A null
//     array element is the string "" and fails E.164 at its index. Invalid
//     UTF-8 inside strings is replaced by U+FFFD (as encoding/json does), so
//     such a number fails E.164 at its index; elsewhere it is harmless.
//   - Content types: parameters are allowed, but a charset must be UTF-8
//     (RFC 8259 requires UTF-8 JSON between systems).
//   - "msTenantId=" and a bare "msTenantId" are empty, meaning all tenants,
//     but repeated is 400 even when empty. Malformed pairs of other names
//     are ignored.
//   - Unclean paths are 404 rather than ServeMux's redirect, whose Location
//     would drop the base path under StripPrefix. GET routes also answer
//     HEAD (GET's status and headers, no body); Allow for them is
//     "GET, HEAD".
//   - A 500 never carries internal text: the detail is fixed and the error
//     is logged at Error with the ticket. A panic in the service or store is
//     recovered, logged with its stack and answered 500; if the answer had
//     already started the connection is aborted instead.
//   - Every API answer (not the OpenAPI document) carries Cache-Control:
//     no-store (counts change under the client) and
//     X-Content-Type-Options: nosniff.
//   - WithRateLimiter(nil) turns limiting off. The default SlidingWindow is
//     per process; several instances share a limit through their own
//     Limiter.
//
// # Observability
//
// Each request writes one Info line "request" to the WithLogger logger:
// method, route (the route constant, "" when none matched), path (the
// original path, cut as above), status, duration, processedCount,
// successCount, traceId and errorTicket when there is one. 500s add an
// Error line "internal error" with the error; a stopped request a Warn line
// "request cancelled", a busy store a Warn line "store busy", each with the
// partial result. The WithObserver hook gets the same facts as an
// Observation, once per request, after the answer is written.
package httpapi
