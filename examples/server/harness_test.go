package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// The binary is built once per test process, into binDir.
var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func serverBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ocnumbers-server-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "server")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a running examples/server process.
type server struct {
	URL    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid after done
	client *http.Client
}

var urlLine = regexp.MustCompile(`^ocnumbers server on (http://127\.0\.0\.1:\d+) `)

// startServer runs the binary with args plus "-addr 127.0.0.1:0", waits for
// the URL line, and stops it (SIGTERM) in t.Cleanup, failing the test unless
// it exits cleanly.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	s := launch(t, "server", serverBinary(t), urlLine,
		&http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, args...)
	// The listener is bound before the URL is printed; one request proves
	// the handler answers.
	resp, err := s.client.Get(s.URL + "/api/v3/oc/numbers/removal-status/summary")
	if err != nil {
		t.Fatalf("readiness request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readiness request: status %d\nstderr:\n%s", resp.StatusCode, s.stderr)
	}
	return s
}

// launch runs bin with args plus "-addr 127.0.0.1:0", waits for the stdout
// line that url matches (its first group is the URL), and stops the process
// (SIGTERM) in tb.Cleanup, failing the test unless it exits cleanly; what
// names it in failures, client is the one its callers use.
func launch(tb testing.TB, what, bin string, url *regexp.Regexp, client *http.Client, args ...string) *server {
	tb.Helper()
	s := &server{stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := url.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	select {
	case s.URL = <-urlc:
	case <-s.done:
		tb.Fatalf("%s exited before serving: %v\nstderr:\n%s", what, s.err, s.stderr)
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		tb.Fatalf("%s printed no URL within 60s\nstderr:\n%s", what, s.stderr)
	}
	s.client = client
	tb.Cleanup(func() {
		s.client.CloseIdleConnections()
		if err := s.stop(30 * time.Second); err != nil {
			tb.Errorf("%s did not stop cleanly: %v\nstderr:\n%s", what, err, s.stderr)
		}
	})
	return s
}

// stop sends SIGTERM and waits for a zero exit status; after timeout it kills.
func (s *server) stop(timeout time.Duration) error {
	select {
	case <-s.done:
		return s.err
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.done:
		return s.err
	case <-time.After(timeout):
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("no exit within %v after SIGTERM", timeout)
	}
}

// runServerToExit runs the binary expecting it to exit by itself, and
// returns its stdout, stderr and exit code.
func runServerToExit(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBinary(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run server: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("server did not exit within 60s (it should not serve)\nstdout:\n%s\nstderr:\n%s", o.String(), e.String())
	}
	return o.String(), e.String(), code
}

// Inventory helpers.

const (
	tenantA = "11111111-2222-3333-4444-555555555555"
	tenantB = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

type row struct {
	tel    string
	tenant string
	status removal.NumberStatus
	oc     bool
}

// writeCSV writes rows in the inventory CSV format (see store.ReadCSV),
// columns deliberately out of the order of the store.Col constants, with
// tenants in upper case and braces (stored canonical).
func writeCSV(t testing.TB, rows []row) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("status,telephoneNumber,operatorConnect,msTenantId\n")
	for i, r := range rows {
		tenant := r.tenant
		if i%2 == 1 {
			tenant = "{" + strings.ToUpper(tenant) + "}"
		}
		fmt.Fprintf(&b, "%s,%s,%t,%s\n", r.status, r.tel, r.oc, tenant)
	}
	p := filepath.Join(t.TempDir(), "inventory.csv")
	writeFile(t, p, b.String())
	return p
}

func openSQLite(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// statuses reads the stored record of each number; absent numbers map to
// nil.
func snapshot(t testing.TB, st store.Store, tels []string) map[string]*store.Number {
	t.Helper()
	out := make(map[string]*store.Number, len(tels))
	for _, tel := range tels {
		n, err := st.Get(context.Background(), e164.Number(tel))
		switch {
		case errors.Is(err, store.ErrNotFound):
			out[tel] = nil
		case err != nil:
			t.Fatalf("Get %s: %v", tel, err)
		default:
			out[tel] = &n
		}
	}
	return out
}

// HTTP helpers.

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

type request struct {
	method, path, contentType string
	body                      []byte
	header                    http.Header
	noTrace                   bool // send no traceparent
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *server) do(t testing.TB, r request) response {
	t.Helper()
	return doHTTP(t, s.client, s.URL, r)
}

func doHTTP(t testing.TB, c *http.Client, base string, r request) response {
	t.Helper()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if !r.noTrace {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(path string, body string) request {
	return request{method: http.MethodPost, path: path, contentType: "application/json", body: []byte(body)}
}

func numbersBody(tels ...string) string {
	b, _ := json.Marshal(map[string][]string{"telephoneNumbers": tels})
	return string(b)
}

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return "unparsable: " + h.Get("Content-Type")
	}
	return mt
}

// decodeAny decodes a whole JSON body, refusing trailing data.
func decodeAny(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	if dec.More() {
		t.Fatalf("body has data after the JSON value:\n%s", b)
	}
	return v
}

// asJSON turns a Go value into the shape decodeAny produces, so want and
// got compare as whole documents.
func asJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAny(t, b)
}

// Placeholders for members whose text the platform leaves to the
// implementation: the member must be present and be a non-empty string.
const (
	someText   = "<non-empty text>"
	someTicket = "<error ticket>"
)

// problem is the wire form of a problem+json body, with the members the
// platform's problems carry (the OpenAPI document's Problem schema). Errors is
// omitted when nil.
type problem struct {
	Type        string              `json:"type"`
	Title       string              `json:"title"`
	Status      int                 `json:"status"`
	Detail      string              `json:"detail"`
	Instance    string              `json:"instance"`
	ErrorCode   string              `json:"errorCode"`
	TraceID     string              `json:"traceId"`
	ErrorTicket string              `json:"errorTicket"`
	Errors      map[string][]string `json:"errors,omitempty"`
}

// wantProblem is the body the platform requires: title, detail, errorTicket
// and each errors message are implementation text (placeholders), except the
// platform's own wording for InvalidTenantId; type is the one httpapi
// documents (ProblemTypeBase + errorCode).
func wantProblem(status int, code, instance string, errorFields ...string) problem {
	p := problem{Type: httpapi.ProblemTypeBase + code, Title: someText, Status: status, Detail: someText, Instance: instance,
		ErrorCode: code, TraceID: traceID, ErrorTicket: someTicket}
	if code == removal.CodeInvalidTenantID {
		p.Title, p.Detail = "Invalid msTenantId", removal.TenantIDMessage
	}
	if len(errorFields) > 0 {
		p.Errors = map[string][]string{}
		for _, f := range errorFields {
			p.Errors[f] = append(p.Errors[f], someText)
		}
	}
	return p
}

// traceID is what the server must report for traceparent.
const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// normalizeProblem replaces implementation text by the placeholder want
// holds for it (when the text is non-empty), leaving everything the platform
// fixes as it came.
func normalizeProblem(v any, want problem) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	text := func(k, wantText, placeholder string) {
		if s, ok := out[k].(string); ok && s != "" && wantText == placeholder {
			out[k] = placeholder
		}
	}
	text("errorTicket", want.ErrorTicket, someTicket)
	text("title", want.Title, someText)
	text("detail", want.Detail, someText)
	if errs, ok := out["errors"].(map[string]any); ok {
		ne := make(map[string]any, len(errs))
		for f, list := range errs {
			if l, ok := list.([]any); ok {
				nl := make([]any, len(l))
				for i, s := range l {
					if str, ok := s.(string); ok && str != "" {
						nl[i] = someText
					} else {
						nl[i] = s
					}
				}
				ne[f] = nl
			} else {
				ne[f] = list
			}
		}
		out["errors"] = ne
	}
	return out
}

// checkProblem asserts a problem+json response equal to want.
func checkProblem(t testing.TB, r response, want problem) {
	t.Helper()
	if r.status != want.Status {
		t.Errorf("status = %d, want %d; body:\n%s", r.status, want.Status, r.body)
	}
	if mt := mediaType(r.header); mt != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", r.header.Get("Content-Type"))
	}
	got := normalizeProblem(decodeAny(t, r.body), want)
	if d := cmp.Diff(asJSON(t, want), got); d != "" {
		t.Errorf("problem body mismatch (-want +got):\n%s\nraw: %s", d, r.body)
	}
}

// Batch responses.

type failure struct {
	TelephoneNumber string `json:"telephoneNumber"`
	ErrorCode       string `json:"errorCode"`
	CurrentStatus   string `json:"currentStatus,omitempty"`
	Detail          string `json:"detail"`
}

type batchData struct {
	ProcessedCount int       `json:"processedCount"`
	SuccessCount   int       `json:"successCount"`
	Failures       []failure `json:"failures"`
}

type batchBody struct {
	Data      batchData `json:"data"`
	Status    string    `json:"status"`
	Succeeded bool      `json:"succeeded"`
	Message   string    `json:"message"`
}

// The platform's success messages, when every number succeeded.
const (
	msgCleared = "Removal status successfully cleared for all numbers"
	msgReady   = "Numbers successfully transitioned to ReadyForRemoval status"
)

func fail(tel, code string, current removal.NumberStatus) failure {
	f := failure{TelephoneNumber: tel, ErrorCode: code, Detail: someText}
	if code != removal.CodeNumberNotFound {
		f.CurrentStatus = current.String()
	}
	return f
}

// wantBatch builds the 200 body the platform requires for the given failures:
// all succeeded is "success" with the platform's success message; otherwise
// the message is implementation text that must carry both counts.
func wantBatch(successMsg string, processed int, failures ...failure) batchBody {
	b := batchBody{Data: batchData{ProcessedCount: processed, SuccessCount: processed - len(failures), Failures: failures}}
	if b.Data.Failures == nil {
		b.Data.Failures = []failure{}
	}
	switch {
	case len(failures) == 0:
		b.Status, b.Succeeded, b.Message = "success", true, successMsg
	case len(failures) < processed:
		b.Status, b.Message = "partialSuccess", someText
	default:
		b.Status, b.Message = "failure", someText
	}
	return b
}

func checkBatch(t testing.TB, r response, want batchBody) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body:\n%s", r.status, r.body)
	}
	if mt := mediaType(r.header); mt != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", r.header.Get("Content-Type"))
	}
	got := decodeAny(t, r.body)
	if m, ok := got.(map[string]any); ok {
		if data, ok := m["data"].(map[string]any); ok {
			if fs, ok := data["failures"].([]any); ok {
				for _, f := range fs {
					if fm, ok := f.(map[string]any); ok {
						if s, ok := fm["detail"].(string); ok && s != "" {
							fm["detail"] = someText
						}
					}
				}
			}
		}
		if !want.Succeeded {
			msg, _ := m["message"].(string)
			if !strings.Contains(msg, fmt.Sprint(want.Data.ProcessedCount)) || !strings.Contains(msg, fmt.Sprint(want.Data.SuccessCount)) {
				t.Errorf("message %q does not carry the counts %d and %d", msg, want.Data.ProcessedCount, want.Data.SuccessCount)
			}
			if msg != "" {
				m["message"] = someText
			}
		}
	}
	if d := cmp.Diff(asJSON(t, want), got); d != "" {
		t.Errorf("body mismatch (-want +got):\n%s\nraw: %s", d, r.body)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
