// Command baseline is the yardstick of the example server's load
// benchmark (BenchmarkLoadVsBaseline in examples/server): the simplest
// correct hand-written server for the two batch routes the load uses, on
// the numbers table the ocnumbers PostgreSQL store creates.
//
//	go run ./examples/server/internal/baseline -postgres DSN -pg-schema NAME
//
// It serves
//
//	POST /api/v3/oc/numbers/action/mark-for-removal   Active|ReleaseRequested -> MarkedForRemoval
//	POST /api/v3/oc/action/clear-removal-status       MarkedForRemoval -> Active
//
// with the ocnumbers request rules (application/json or a +json type, a body
// of at most 1 MiB, 1 to 500 numbers, each strict E.164 as e164.Parse
// decides, none twice) and the ocnumbers 200 answer:
//
//	{"data":{"processedCount":2,"successCount":1,"failures":[{"telephoneNumber":"+14255551212",
//	  "errorCode":"InvalidStatus","currentStatus":"Active","detail":"..."}]},
//	 "status":"partialSuccess","succeeded":false,"message":"..."}
//
// with the outcomes NumberNotFound, NotOperatorConnect and InvalidStatus and
// the same messages. A rejected request gets a short problem+json answer
// (400, 413, 415; 500 when the database fails).
//
// How a batch runs: net/http and a pgxpool pool (-pool connections, default
// 10, the ocnumbers server's pool; pgx prepares and caches the statement on each connection). Each batch
// is ONE autocommit statement: a CTE locks the batch's stored rows in number
// order with FOR NO KEY UPDATE (one global lock order, so concurrent batches
// cannot deadlock), an UPDATE joined to it moves the locked rows that are
// Operator Connect and in the action's From status, and the statement
// returns every locked row with its status before the change and whether it
// moved. A number it does not return is not stored. Because the rows are
// locked before they are read and moved, the outcomes are those of
// processing the numbers one by one, in some order of the concurrent
// batches; the commit is synchronous, as the server's default.
//
// What it leaves out, on purpose: by default it writes no history, and it
// keeps no counters, logs nothing per request, has no rate limiter, no cap
// on requests in flight and no retry of a dead connection. The ocnumbers
// server does all of these; that is part of what the benchmark compares.
// With -history the same statement also writes one event per moved number
// into the store's history table (one multi-row INSERT from the moved rows:
// the action, the old and new status, the change time and a trace id drawn
// per request, as the ocnumbers server writes them), so that the
// comparison can also be made on the work the history requires.
//
// Flags: -postgres DSN (required), -pg-schema NAME (the schema of the
// numbers and history tables; default: the DSN's search_path), -addr
// host:port (default 127.0.0.1:8081; port 0 picks a free one), -pool N,
// -history. Once it listens it
// prints "baseline server on http://HOST:PORT" on stdout. SIGINT or SIGTERM
// lets requests in flight finish, then it exits.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocnumbers/ocnumbers/e164"
)

const (
	maxBatch = 500
	maxBody  = 1 << 20
)

// The stored statuses (smallint) and their names on the wire.
const (
	active           = 0
	releaseRequested = 1
	markedForRemoval = 2
)

var statusNames = [...]string{"Active", "ReleaseRequested", "MarkedForRemoval", "ReadyForRemoval"}

// action is one of the two routes.
type action struct {
	event  string  // the history's action
	name   string  // in failure details
	from   []int16 // statuses it moves numbers from
	fromTx string  // the same, in failure details
	to     int16
	allOK  string // message when every number succeeded
	counts string // otherwise: succeeded, processed, failed
}

var (
	markForRemoval = action{
		event: "markForRemoval", name: "mark for removal", from: []int16{active, releaseRequested}, fromTx: "Active or ReleaseRequested", to: markedForRemoval,
		allOK:  "Numbers successfully marked for removal",
		counts: "%d of %d numbers marked for removal; %d failed",
	}
	clearRemovalStatus = action{
		event: "clearRemovalStatus", name: "clear removal status", from: []int16{markedForRemoval}, fromTx: "MarkedForRemoval", to: active,
		allOK:  "Removal status successfully cleared for all numbers",
		counts: "Removal status cleared for %d of %d numbers; %d failed",
	}
)

// batchSQL is the one statement per batch; %[1]s is the table. $1 the
// numbers, $2 the new status, $3 the From statuses. The UPDATE reaches its
// rows from the locked ones, one primary-key lookup each: that plan is the
// same generic or custom (a second "= ANY($1)" on t makes PostgreSQL's
// generic plan join the two lists in a nested loop, twice as slow for 500
// numbers).
var batchSQL = batchStatement("", "")

// historySQL is batchSQL writing the moved numbers' events too; %[2]s is
// the history table, $4 the event's action and $5 the trace id.
var historySQL = batchStatement(", t.ms_tenant_id, l.status AS old, t.status_changed_at", `, ev AS (
    INSERT INTO %[2]s (telephone_number, ms_tenant_id, action, from_status, to_status, at, trace_id)
    SELECT telephone_number, ms_tenant_id, $4::text, old, $2, status_changed_at, $5::text FROM moved
)`)

// batchStatement returns the batch statement with more columns returned by
// the UPDATE (moved) and more CTEs after it.
func batchStatement(movedCols, more string) string {
	return `WITH locked AS (
    SELECT telephone_number, operator_connect, status FROM %[1]s
    WHERE telephone_number = ANY($1::text[])
    ORDER BY telephone_number
    FOR NO KEY UPDATE
), moved AS (
    UPDATE %[1]s AS t SET status = $2, status_changed_at = now()
    FROM locked AS l
    WHERE t.telephone_number = l.telephone_number AND l.operator_connect AND l.status = ANY($3::smallint[])
    RETURNING t.telephone_number` + movedCols + `
)` + more + `
SELECT l.telephone_number, l.operator_connect, l.status, m.telephone_number IS NOT NULL
FROM locked AS l LEFT JOIN moved AS m USING (telephone_number)`
}

type server struct {
	pool    *pgxpool.Pool
	sql     string
	history bool
}

type failure struct {
	TelephoneNumber string `json:"telephoneNumber"`
	ErrorCode       string `json:"errorCode"`
	CurrentStatus   string `json:"currentStatus,omitempty"`
	Detail          string `json:"detail"`
}

type result struct {
	ProcessedCount int       `json:"processedCount"`
	SuccessCount   int       `json:"successCount"`
	Failures       []failure `json:"failures"`
}

type envelope struct {
	Data      result `json:"data"`
	Status    string `json:"status"`
	Succeeded bool   `json:"succeeded"`
	Message   string `json:"message"`
}

type row struct {
	oc     bool
	status int16
	moved  bool
}

func (s *server) handle(a action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		numbers, code, status, detail := readBatch(w, r)
		if code != "" {
			writeProblem(w, status, code, detail)
			return
		}
		args := []any{numbers, a.to, a.from}
		if s.history {
			args = append(args, a.event, fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64()))
		}
		rows, err := s.pool.Query(r.Context(), s.sql, args...)
		if err != nil {
			s.internal(w, err)
			return
		}
		stored := make(map[string]row, len(numbers))
		var n string
		var x row
		_, err = pgx.ForEachRow(rows, []any{&n, &x.oc, &x.status, &x.moved}, func() error {
			stored[n] = x
			return nil
		})
		if err != nil {
			s.internal(w, err)
			return
		}
		res := result{ProcessedCount: len(numbers), Failures: []failure{}}
		for _, n := range numbers {
			x, ok := stored[n]
			switch {
			case !ok:
				res.Failures = append(res.Failures, failure{n, "NumberNotFound", "", n + " is not in the acquired-numbers store"})
			case x.moved:
				res.SuccessCount++
			case !x.oc:
				res.Failures = append(res.Failures, failure{n, "NotOperatorConnect", statusNames[x.status], n + " is not associated with an Operator Connect customer"})
			default:
				res.Failures = append(res.Failures, failure{n, "InvalidStatus", statusNames[x.status],
					n + " is " + statusNames[x.status] + "; " + a.name + " applies only to " + a.fromTx + " numbers"})
			}
		}
		env := envelope{Data: res, Status: "success", Succeeded: true, Message: a.allOK}
		if f := len(res.Failures); f > 0 {
			env.Status, env.Succeeded = "partialSuccess", false
			if res.SuccessCount == 0 {
				env.Status = "failure"
			}
			env.Message = fmt.Sprintf(a.counts, res.SuccessCount, res.ProcessedCount, f)
		}
		writeJSON(w, http.StatusOK, "application/json", env)
	}
}

// readBatch reads and validates the request. On failure code is the error
// code, status the HTTP status and detail the reason.
func readBatch(w http.ResponseWriter, r *http.Request) (numbers []string, code string, status int, detail string) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) ||
		(params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return nil, "UnsupportedMediaType", http.StatusUnsupportedMediaType, "send application/json"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, "RequestTooLarge", http.StatusRequestEntityTooLarge, "the body is larger than 1 MiB"
		}
		return nil, "InvalidRequestBody", http.StatusBadRequest, "the body could not be read"
	}
	var req struct {
		TelephoneNumbers []string `json:"telephoneNumbers"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, "InvalidRequestBody", http.StatusBadRequest, "malformed JSON: " + err.Error()
		}
	}
	numbers = req.TelephoneNumbers
	switch {
	case numbers == nil:
		return nil, "NullRequestBody", http.StatusBadRequest, "telephoneNumbers is missing or null"
	case len(numbers) < 1 || len(numbers) > maxBatch:
		return nil, "BatchSizeOutOfRange", http.StatusBadRequest, "telephoneNumbers must hold 1 to 500 numbers"
	}
	seen := make(map[string]int, len(numbers))
	for i, s := range numbers {
		if _, err := e164.Parse(s); err != nil {
			return nil, "InvalidTelephoneNumber", http.StatusBadRequest, "telephoneNumbers[" + strconv.Itoa(i) + "]: " + err.Error()
		}
		if j, dup := seen[s]; dup {
			return nil, "DuplicateTelephoneNumber", http.StatusBadRequest,
				"telephoneNumbers[" + strconv.Itoa(j) + "] and [" + strconv.Itoa(i) + "] are the same number"
		}
		seen[s] = i
	}
	return numbers, "", 0, ""
}

func (s *server) internal(w http.ResponseWriter, err error) {
	log.Printf("batch: %v", err)
	writeProblem(w, http.StatusInternalServerError, "InternalError", "the database failed")
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, "application/problem+json", map[string]any{
		"title": http.StatusText(status), "status": status, "errorCode": code, "detail": detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Printf("encode: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func main() {
	dsn := flag.String("postgres", "", "PostgreSQL DSN (required)")
	schema := flag.String("pg-schema", "", "schema of the numbers table (default: the DSN's search_path)")
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (port 0 picks a free port)")
	poolSize := flag.Int("pool", 10, "PostgreSQL connections at most (the ocnumbers server's default pool)")
	history := flag.Bool("history", false, "also write an event per moved number into the history table, in the same statement")
	flag.Parse()
	if *dsn == "" || *poolSize < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dsn, *schema, *addr, int32(*poolSize), *history); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(dsn, schema, addr string, poolSize int32, history bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.MaxConns = poolSize
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return err
	}
	table, events := pgx.Identifier{"numbers"}, pgx.Identifier{"history"}
	if schema != "" {
		table, events = pgx.Identifier{schema, "numbers"}, pgx.Identifier{schema, "history"}
	}
	s := &server{pool: pool, sql: fmt.Sprintf(batchSQL, table.Sanitize()), history: history}
	if history {
		s.sql = fmt.Sprintf(historySQL, table.Sanitize(), events.Sanitize())
	}

	mux := http.NewServeMux()
	mux.Handle("POST /api/v3/oc/numbers/action/mark-for-removal", s.handle(markForRemoval))
	mux.Handle("POST /api/v3/oc/action/clear-removal-status", s.handle(clearRemovalStatus))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("baseline server on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
