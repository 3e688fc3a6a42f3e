package httpapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// serve runs the fixture's handler on a loopback server.
func (f *fixture) serve(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	return srv
}

// heldRequest is a batch request on a raw connection, inside the handler
// with half its body sent.
type heldRequest struct {
	conn net.Conn
	br   *bufio.Reader
	rest string
}

// holdRequest sends the request with Expect: 100-continue: net/http answers
// 100 when the handler first reads the body, so once it has, the request
// is known to be in the handler; then half the body goes out.
func holdRequest(t testing.TB, addr, route, body string) *heldRequest {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		route, addr, len(body)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // blank line after 100
		t.Fatal(err)
	}
	half := len(body) / 2
	if _, err := io.WriteString(c, body[:half]); err != nil {
		t.Fatal(err)
	}
	return &heldRequest{conn: c, br: br, rest: body[half:]}
}

// finish sends the rest of the body and reads the answer.
func (h *heldRequest) finish(t testing.TB) *httptest.ResponseRecorder {
	t.Helper()
	h.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(h.conn, h.rest); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return recorded(t, resp)
}

// recorded reads a client-side answer into a recorder, for checkResponse
// and problem.
func recorded(t testing.TB, resp *http.Response) *httptest.ResponseRecorder {
	t.Helper()
	defer resp.Body.Close()
	rec := httptest.NewRecorder()
	for k, v := range resp.Header {
		rec.Header()[k] = v
	}
	rec.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(rec.Body, resp.Body); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestMaxInFlight holds 64 requests, the default cap, with half of their
// bodies sent: a request counts while its body is still arriving. The 65th
// request, on any route, is answered at once with 503 ServiceUnavailable
// and Retry-After: 1 (if it waited for a slot it would never be answered:
// no held request ends until the test sends the rest of its body). Each
// finished request frees its slot for the next.
func TestMaxInFlight(t *testing.T) {
	f := newFixture(t, httpapi.WithRateLimiter(nil))
	srv := f.serve(t)
	addr := srv.Listener.Addr().String()
	const held = 64
	body := numbersBody("+14255559999", "+14255559998")
	reqs := make([]*heldRequest, held)
	for i := range reqs {
		reqs[i] = holdRequest(t, addr, httpapi.RouteClearRemovalStatus, body)
	}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(t *testing.T, method, path, body string) *httptest.ResponseRecorder {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s over the cap: %v", method, path, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s %s over the cap answered after %v, not at once", method, path, d)
		}
		rec := recorded(t, resp)
		checkResponse(t, f.doc, method, path, rec)
		return rec
	}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, httpapi.RouteSummary, ""},
		{http.MethodPost, httpapi.RouteReadyForRemoval, numbersBody("+14255551212")},
		{http.MethodGet, "/no/such/route", ""},
	} {
		t.Run("OverTheCap"+c.method+strings.ReplaceAll(c.path, "/", "_"), func(t *testing.T) {
			rec := get(t, c.method, c.path, c.body)
			want := wantProblem("ServiceUnavailable", 503, "Service unavailable",
				"The server is answering its maximum of 64 requests at once; retry after 1 second.", c.path, nil)
			if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			if ra := rec.Header().Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After %q, want 1", ra)
			}
		})
	}
	if got := f.status(t, "+14255551212"); got != removal.MarkedForRemoval {
		t.Errorf("+14255551212 is %s: a refused batch was processed", got)
	}

	// One held request ends: its slot admits the next request.
	if rec := reqs[0].finish(t); rec.Code != http.StatusOK {
		t.Fatalf("held request: status %d, body %s", rec.Code, rec.Body)
	}
	if rec := get(t, http.MethodGet, httpapi.RouteSummary, ""); rec.Code != http.StatusOK {
		t.Errorf("after a slot was freed: status %d, body %s", rec.Code, rec.Body)
	}
	for _, r := range reqs[1:] {
		if rec := r.finish(t); rec.Code != http.StatusOK {
			t.Fatalf("held request: status %d, body %s", rec.Code, rec.Body)
		}
	}
	// Every slot is free again: 64 requests held at once are all admitted.
	for i := range reqs {
		reqs[i] = holdRequest(t, addr, httpapi.RouteClearRemovalStatus, body)
	}
	for _, r := range reqs {
		if rec := r.finish(t); rec.Code != http.StatusOK {
			t.Fatalf("request after the slots were freed: status %d, body %s", rec.Code, rec.Body)
		}
	}

	// The refusals are observed and logged under their route (the 404
	// path has none), like any answer.
	var refused []string
	f.mu.Lock()
	for _, o := range f.obs {
		if o.Status == http.StatusServiceUnavailable {
			refused = append(refused, o.Method+" "+o.Route)
		}
	}
	f.mu.Unlock()
	want := []string{"GET " + httpapi.RouteSummary, "POST " + httpapi.RouteReadyForRemoval, "GET "}
	if diff := cmp.Diff(want, refused); diff != "" {
		t.Errorf("observed 503s (-want +got):\n%s", diff)
	}
}

// TestWithMaxInFlight sets a cap of 2: two requests reading their bodies
// hold both slots, a third is refused, and a slot frees when a request
// ends.
func TestWithMaxInFlight(t *testing.T) {
	f := newFixture(t, httpapi.WithMaxInFlight(2))
	type held struct {
		w    *io.PipeWriter
		done chan *httptest.ResponseRecorder
	}
	hold := func() held {
		pr, pw := io.Pipe()
		h := held{w: pw, done: make(chan *httptest.ResponseRecorder, 1)}
		go func() {
			req := httptest.NewRequest(http.MethodPost, httpapi.RouteClearRemovalStatus, pr)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			h.done <- rec
		}()
		// The write returns once the handler has read the byte: the
		// request is in the handler, its body still arriving.
		if _, err := pw.Write([]byte("{")); err != nil {
			t.Fatal(err)
		}
		return h
	}
	end := func(h held) *httptest.ResponseRecorder {
		io.WriteString(h.w, `"telephoneNumbers":["+14255551212"]}`)
		h.w.Close()
		return <-h.done
	}
	a, b := hold(), hold()
	if rec := f.do(t, http.MethodGet, httpapi.RouteSummary, "", ""); rec.Code != 503 || !bytes.Contains(rec.Body.Bytes(), []byte("maximum of 2 requests")) {
		t.Errorf("third request: status %d, body %s", rec.Code, rec.Body)
	}
	if rec := end(a); rec.Code != 200 {
		t.Errorf("first held request: status %d, body %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, http.MethodGet, httpapi.RouteSummary, "", ""); rec.Code != 200 {
		t.Errorf("request after a slot was freed: status %d, body %s", rec.Code, rec.Body)
	}
	if rec := end(b); rec.Code != 200 {
		t.Errorf("second held request: status %d, body %s", rec.Code, rec.Body)
	}
}
