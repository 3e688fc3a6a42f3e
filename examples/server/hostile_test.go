package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// Short server timeouts, so the slow-client cases finish in about a second.
var hostileFlags = []string{"-read-header-timeout", "500ms", "-read-timeout", "1500ms", "-write-timeout", "10s", "-idle-timeout", "5s"}

// TestHostileInput sends hostile requests; each must get a 4xx
// problem+json answer (or, for slow clients, be cut off) and leave every
// stored record, change times included, exactly as it was. Batch bodies
// carry +14255551212 (MarkedForRemoval) first, so any processing shows.
func TestHostileInput(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hostile.db")
	s := startServer(t, append([]string{"-db", db, "-import", writeCSV(t, e2eInventory)}, hostileFlags...)...)
	st := openSQLite(t, db)
	tels := newModel(e2eInventory).tels()
	before := snapshot(t, st, tels)
	addr := strings.TrimPrefix(s.URL, "http://")

	const marked = "+14255551212"
	withMarked := func(rest ...string) string { return numbersBody(append([]string{marked}, rest...)...) }
	rawBody := func(route, body string) request { return post(route, body) }
	tenant := func(rawQuery string) request {
		return request{method: http.MethodGet, path: routeSummary + "?msTenantId=" + rawQuery}
	}
	badNumber := func(route string) problem {
		return wantProblem(400, removal.CodeInvalidTelephoneNumber, route, "telephoneNumbers[1]")
	}
	badTenant := wantProblem(400, removal.CodeInvalidTenantID, routeSummary, "msTenantId")
	invalidBody := func(route string) problem { return wantProblem(400, httpapi.CodeInvalidRequestBody, route) }
	nested := func(depth int) string {
		return `{"telephoneNumbers":["` + marked + `"],"x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
	}
	manyNumbers := func(n int) string {
		tels := make([]string, n)
		for i := range tels {
			tels[i] = marked
			if i > 0 {
				tels[i] = fmt.Sprintf("+1206%07d", i)
			}
		}
		return numbersBody(tels...)
	}

	type hostile struct {
		name  string
		req   request
		raw   string // sent on a raw connection instead of req
		want  problem
		allow []string
	}
	cases := []hostile{
		// SQL metacharacters and injection strings in numbers.
		{name: "number/drop table", req: post(routeClear, withMarked("'; DROP TABLE numbers; --")), want: badNumber(routeClear)},
		{name: "number/or 1=1", req: post(routeReady, withMarked("+14255551213' OR '1'='1")), want: badNumber(routeReady)},
		{name: "number/stacked delete", req: post(routeClear, withMarked("+14255551213; DELETE FROM numbers")), want: badNumber(routeClear)},
		{name: "number/LIKE percent", req: post(routeClear, withMarked("+1425555%")), want: badNumber(routeClear)},
		{name: "number/LIKE underscore", req: post(routeReady, withMarked("+1425555121_")), want: badNumber(routeReady)},
		{name: "number/comment", req: post(routeClear, withMarked("+14255551213--")), want: badNumber(routeClear)},
		{name: "number/block comment", req: post(routeClear, withMarked("+14255551213/*")), want: badNumber(routeClear)},
		{name: "number/embedded quotes", req: post(routeReady, withMarked(`"+14255551213"`)), want: badNumber(routeReady)},
		{name: "number/backslash", req: post(routeClear, withMarked(`+14255551213\`)), want: badNumber(routeClear)},
		{name: "number/union select", req: post(routeClear, withMarked("+1 UNION SELECT * FROM numbers")), want: badNumber(routeClear)},
		// NUL bytes.
		{name: "number/escaped NUL at end", req: rawBody(routeClear, `{"telephoneNumbers":["`+marked+`","+14255551213\u0000"]}`), want: badNumber(routeClear)},
		{name: "number/escaped NUL inside", req: rawBody(routeReady, `{"telephoneNumbers":["`+marked+`","+1425555\u00001213"]}`), want: badNumber(routeReady)},
		{name: "number/raw NUL byte", req: rawBody(routeClear, "{\"telephoneNumbers\":[\""+marked+"\",\"+14255551213\x00\"]}"), want: invalidBody(routeClear)},
		{name: "body/NUL before the value", req: rawBody(routeClear, "\x00"+withMarked()), want: invalidBody(routeClear)},
		// Injection, NUL, overlong and invalid UTF-8 in msTenantId.
		{name: "tenant/or 1=1", req: tenant("%27%20OR%20%271%27%3D%271"), want: badTenant},
		{name: "tenant/GUID then or 1=1", req: tenant(tenantA + "%27%20OR%20%271%27%3D%271"), want: badTenant},
		{name: "tenant/GUID then drop table", req: tenant(tenantA + "%3BDROP%20TABLE%20numbers"), want: badTenant},
		{name: "tenant/percent wildcard", req: tenant("%25"), want: badTenant},
		{name: "tenant/bad percent escape", req: tenant("%zz" + tenantA[3:]), want: badTenant},
		{name: "tenant/NUL", req: tenant("%00"), want: badTenant},
		{name: "tenant/GUID with NUL", req: tenant(tenantA[:35] + "%00"), want: badTenant},
		{name: "tenant/overlong", req: tenant(strings.Repeat("a", 20000)), want: badTenant},
		{name: "tenant/invalid UTF-8", req: tenant(tenantA[:34] + "%FF%FE"), want: badTenant},
		{name: "tenant/fullwidth digits", req: tenant(strings.Replace(tenantA, "1", "%EF%BC%91", 1)), want: badTenant},
		{name: "tenant/double braces", req: tenant("%7B%7B" + tenantA + "%7D%7D"), want: badTenant},
		// Overlong strings and huge arrays.
		{name: "number/100,000 digits", req: post(routeClear, withMarked("+1"+strings.Repeat("2", 100000))), want: badNumber(routeClear)},
		{name: "array/10,000 numbers", req: post(routeClear, manyNumbers(10000)),
			want: wantProblem(400, removal.CodeBatchSizeOutOfRange, routeClear, "telephoneNumbers")},
		{name: "array/10,000 nulls", req: post(routeReady, `{"telephoneNumbers":[`+strings.Repeat("null,", 9999)+`null]}`),
			want: wantProblem(400, removal.CodeBatchSizeOutOfRange, routeReady, "telephoneNumbers")},
		{name: "array/null element", req: post(routeClear, `{"telephoneNumbers":["`+marked+`",null]}`), want: badNumber(routeClear)},
		// Deep nesting.
		{name: "nesting/10,000 arrays as telephoneNumbers", req: post(routeClear, `{"telephoneNumbers":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`), want: invalidBody(routeClear)},
		{name: "nesting/100,000 arrays in an unknown member", req: post(routeClear, nested(100000)), want: invalidBody(routeClear)},
		{name: "nesting/unclosed objects", req: post(routeReady, strings.Repeat(`{"a":`, 50000)), want: invalidBody(routeReady)},
		// Wrong JSON types.
		{name: "types/numbers as JSON numbers", req: post(routeClear, `{"telephoneNumbers":[14255551212]}`), want: invalidBody(routeClear)},
		{name: "types/number as float", req: post(routeReady, `{"telephoneNumbers":["`+marked+`",1.4255551213e10]}`), want: invalidBody(routeReady)},
		{name: "types/number as object", req: post(routeClear, `{"telephoneNumbers":[{"n":"`+marked+`"}]}`), want: invalidBody(routeClear)},
		{name: "types/booleans", req: post(routeClear, `{"telephoneNumbers":[true,false]}`), want: invalidBody(routeClear)},
		{name: "types/telephoneNumbers an object", req: post(routeReady, `{"telephoneNumbers":{"0":"`+marked+`"}}`), want: invalidBody(routeReady)},
		// Duplicate keys: which list would a proxy have checked?
		{name: "keys/duplicate telephoneNumbers", req: post(routeClear, `{"telephoneNumbers":["+14255559999"],"telephoneNumbers":["`+marked+`"]}`), want: invalidBody(routeClear)},
		{name: "keys/duplicate differing in case", req: post(routeReady, `{"telephoneNumbers":["+14255559999"],"TelephoneNumbers":["`+marked+`"]}`), want: invalidBody(routeReady)},
		// Invalid UTF-8 and encodings.
		{name: "utf8/invalid byte in a number", req: post(routeClear, "{\"telephoneNumbers\":[\""+marked+"\",\"+1425555\xff1213\"]}"), want: badNumber(routeClear)},
		{name: "utf8/invalid byte outside strings", req: post(routeClear, "{\"telephoneNumbers\":[\""+marked+"\"]\xff}"), want: invalidBody(routeClear)},
		{name: "utf8/byte order mark", req: post(routeReady, "\xef\xbb\xbf"+withMarked()), want: invalidBody(routeReady)},
		{name: "encoding/UTF-16 charset", req: request{method: http.MethodPost, path: routeClear, contentType: "application/json; charset=utf-16", body: []byte(withMarked())},
			want: wantProblem(415, httpapi.CodeUnsupportedMediaType, routeClear)},
		{name: "encoding/gzip content encoding", req: request{method: http.MethodPost, path: routeClear, contentType: "application/json",
			header: http.Header{"Content-Encoding": {"gzip"}}, body: []byte(withMarked())},
			want: wantProblem(415, httpapi.CodeUnsupportedMediaType, routeClear)},
		// Content-Length that lies, and bodies too large.
		{name: "length/declares more than it sends", raw: rawPost(addr, routeClear, 100, withMarked()), want: invalidBody(routeClear)},
		{name: "length/declares over 1 MiB", raw: rawPost(addr, routeClear, 2<<20, withMarked()), want: wantProblem(413, httpapi.CodeRequestTooLarge, routeClear)},
		{name: "length/declares less than it sends", raw: rawPost(addr, routeReady, 10, withMarked()), want: invalidBody(routeReady)},
		{name: "length/chunked body over 1 MiB", raw: rawChunked(addr, routeClear, `{"telephoneNumbers":["`+marked+`"],"x":"`+strings.Repeat("y", 1<<20)+`"}`),
			want: wantProblem(413, httpapi.CodeRequestTooLarge, routeClear)},
		// Paths that are not routes.
		{name: "path/dot segments", raw: "GET /api/v3/oc/numbers/x/../removal-status/summary HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n",
			want: wantProblem(404, httpapi.CodeNotFound, "/api/v3/oc/numbers/x/../removal-status/summary")},
		{name: "path/double slash", req: post("/"+routeClear, withMarked()), want: wantProblem(404, httpapi.CodeNotFound, "/"+routeClear)},
		{name: "path/trailing slash", req: post(routeClear+"/", withMarked()), want: wantProblem(404, httpapi.CodeNotFound, routeClear+"/")},
		{name: "path/upper case", req: post(strings.ToUpper(routeClear), withMarked()), want: wantProblem(404, httpapi.CodeNotFound, strings.ToUpper(routeClear))},
		{name: "path/escaped slash", req: post("/api/v3/oc/action%2Fclear-removal-status", withMarked()), want: wantProblem(404, httpapi.CodeNotFound, "/api/v3/oc/action%2Fclear-removal-status")},
	}
	// Wrong methods on every route.
	for _, r := range []struct {
		route string
		allow []string
		bad   []string
	}{
		{routeClear, []string{"POST"}, []string{"PUT", "OPTIONS", "DELETE", "PATCH", "GET"}},
		{routeReady, []string{"POST"}, []string{"PUT", "OPTIONS", "DELETE", "PATCH", "GET"}},
		{routeSummary, []string{"GET"}, []string{"PUT", "OPTIONS", "DELETE", "POST"}},
		{httpapi.RouteOpenAPI, []string{"GET"}, []string{"PUT", "OPTIONS", "POST"}},
	} {
		for _, m := range r.bad {
			cases = append(cases, hostile{
				name: "method/" + m + " " + r.route,
				req:  request{method: m, path: r.route, contentType: "application/json", body: []byte(withMarked())},
				want: wantProblem(405, httpapi.CodeMethodNotAllowed, r.route), allow: r.allow,
			})
		}
	}
	if len(cases) < 40 {
		t.Fatalf("only %d hostile cases", len(cases))
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r response
			if c.raw != "" {
				var err error
				if r, err = rawExchange(addr, c.raw, http.MethodPost); err != nil {
					t.Fatalf("raw exchange: %v", err)
				}
			} else {
				r = s.do(t, c.req)
			}
			checkProblem(t, r, c.want)
			if c.allow != nil {
				checkAllow(t, r.header, c.allow)
			}
			if d := cmp.Diff(before, snapshot(t, st, tels)); d != "" {
				t.Errorf("store changed (-before +after):\n%s", d)
			}
		})
	}

	// HEAD has no body to carry a problem: the status and headers must
	// still say 405 on the POST routes; on GET routes HEAD is GET without
	// a body (net/http's ServeMux rule).
	for _, c := range []struct {
		route  string
		status int
	}{{routeClear, 405}, {routeReady, 405}, {routeSummary, 200}, {httpapi.RouteOpenAPI, 200}} {
		t.Run("method/HEAD "+c.route, func(t *testing.T) {
			r := s.do(t, request{method: http.MethodHead, path: c.route})
			if r.status != c.status || len(r.body) != 0 {
				t.Errorf("HEAD %s: status %d, %d body bytes; want %d and none", c.route, r.status, len(r.body), c.status)
			}
			if c.status == 405 {
				checkAllow(t, r.header, []string{"POST"})
			}
			if d := cmp.Diff(before, snapshot(t, st, tels)); d != "" {
				t.Errorf("store changed (-before +after):\n%s", d)
			}
		})
	}

	t.Run("slow client/headers never finish", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nX-Slow: ", routeClear, addr)
		// The server must close the connection (ReadHeaderTimeout 500ms);
		// 20s is this test's own bound, far above it.
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("server kept a header-less connection open for 20s")
		}
		if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 4") {
			t.Errorf("answer to an unfinished header: %q", b)
		}
		if d := cmp.Diff(before, snapshot(t, st, tels)); d != "" {
			t.Errorf("store changed (-before +after):\n%s", d)
		}
	})

	t.Run("slow client/body trickles", func(t *testing.T) {
		body := withMarked()
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTraceparent: %s\r\nContent-Length: %d\r\n\r\n%s",
			routeClear, addr, traceparent, len(body), body[:5])
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(conn)
		// One byte every 200ms would take longer than ReadTimeout (1.5s);
		// stop writing as soon as the server answers or hangs up.
		answered := make(chan struct{})
		go func() {
			defer close(answered)
			br.Peek(1)
		}()
	trickle:
		for i := 5; i < len(body); i++ {
			select {
			case <-answered:
				break trickle
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				break
			}
		}
		<-answered
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("server neither answered nor hung up within 20s")
			}
			t.Logf("server hung up without an answer: %v", err) // acceptable: the client is gone to it
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			checkProblem(t, response{status: resp.StatusCode, header: resp.Header, body: b}, invalidBody(routeClear))
		}
		if d := cmp.Diff(before, snapshot(t, st, tels)); d != "" {
			t.Errorf("store changed (-before +after):\n%s", d)
		}
	})

	// The server still works, and the tables are intact.
	checkSummary(t, s, "", newModel(e2eInventory).summary(""))
}

// rawPost is a request whose Content-Length is declared, not computed.
func rawPost(addr, path string, declared int, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nTraceparent: %s\r\n\r\n%s",
		path, addr, declared, traceparent, body)
}

func rawChunked(addr, path, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nTraceparent: %s\r\n\r\n",
		path, addr, traceparent)
	for len(body) > 0 {
		n := min(len(body), 64<<10)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// rawExchange writes raw, half-closes the connection (so a body shorter
// than declared ends), and reads the first response.
func rawExchange(addr, raw, method string) (response, error) {
	if !strings.Contains(raw, "Traceparent:") {
		raw = strings.Replace(raw, "\r\n", "\r\nTraceparent: "+traceparent+"\r\n", 1)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	// The server may answer (413) before reading everything; a write error
	// then is expected, and the answer is what counts.
	go func() {
		io.WriteString(conn, raw)
		conn.(*net.TCPConn).CloseWrite()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}
