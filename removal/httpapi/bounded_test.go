package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// allocated serves req and returns the bytes the process allocated meanwhile
// (the request is built before, so its body is not counted).
func allocated(f *fixture, req *http.Request) (*httptest.ResponseRecorder, uint64) {
	var before, after runtime.MemStats
	rec := httptest.NewRecorder()
	runtime.GC()
	runtime.ReadMemStats(&before)
	f.h.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	return rec, after.TotalAlloc - before.TotalAlloc
}

// TestNoAllocationFromContentLength: a request announcing a body of the
// limit's size that then sends a few bytes allocates as much as those bytes
// need, not the announced size.
func TestNoAllocationFromContentLength(t *testing.T) {
	f := newFixture(t, httpapi.WithRateLimiter(nil))
	body := numbersBody("+14255551212")
	req := httptest.NewRequest(http.MethodPost, httpapi.RouteClearRemovalStatus, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = httpapi.DefaultMaxBodyBytes // announced; the body is 33 bytes
	rec, n := allocated(f, req)
	if rec.Code != http.StatusOK {
		t.Errorf("status %d, body %s", rec.Code, rec.Body)
	}
	if n > 128<<10 {
		t.Errorf("a %d-byte body announced as %d bytes allocated %d bytes", len(body), req.ContentLength, n)
	}
}

// emptyStrings is a body of n empty strings: {"telephoneNumbers":["","",...]}.
func emptyStrings(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"telephoneNumbers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`""`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestDecodingStopsAt501: decoding telephoneNumbers stops at its 501st
// element, whatever follows, and the answer is BatchSizeOutOfRange without
// the rest held: a 1 MiB body of 349,000 empty strings allocates little,
// and so do the forms the one-pass decoder leaves to encoding/json (nulls,
// escapes). The rest of the body is still read, so a body over the limit is
// still 413.
func TestDecodingStopsAt501(t *testing.T) {
	const many = 349_000
	msg := "telephoneNumbers holds more than 500 numbers; it must hold between 1 and 500"
	want := wantProblem("BatchSizeOutOfRange", 400, "Batch size out of range", msg, httpapi.RouteClearRemovalStatus,
		map[string][]string{"telephoneNumbers": {msg}})
	nulls := []byte(`{"telephoneNumbers":[` + strings.Repeat("null,", 200_000) + `null]}`)
	escaped := []byte(`{"telephoneNumbers":[` + strings.Repeat(`"\u002b",`, 100_000) + `""]}`)
	brokenAfter := append(emptyStrings(600)[:len(emptyStrings(600))-2], `,1,{]]]`...)
	for _, c := range []struct {
		name string
		body []byte
		max  uint64 // bytes allocated
	}{
		{"EmptyStrings", emptyStrings(many), 256 << 10},
		{"Nulls", nulls, 256 << 10},
		{"Escaped", escaped, 256 << 10},
		{"BrokenAfterThe501st", brokenAfter, 256 << 10},
		{"501Numbers", []byte(numbersBody(numbersN(501)...)), 256 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.body) > httpapi.DefaultMaxBodyBytes {
				t.Fatalf("test body of %d bytes is over the limit", len(c.body))
			}
			f := newFixture(t)
			req := httptest.NewRequest(http.MethodPost, httpapi.RouteClearRemovalStatus, bytes.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			rec, n := allocated(f, req)
			checkResponse(t, f.doc, http.MethodPost, httpapi.RouteClearRemovalStatus, rec)
			if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			if n > c.max {
				t.Errorf("a %d-byte body allocated %d bytes, more than %d", len(c.body), n, c.max)
			}
		})
	}
	t.Run("OverTheLimitIsStill413", func(t *testing.T) {
		f := newFixture(t)
		body := append(emptyStrings(many), bytes.Repeat([]byte(" "), 100_000)...)
		req := httptest.NewRequest(http.MethodPost, httpapi.RouteClearRemovalStatus, struct{ io.Reader }{bytes.NewReader(body)})
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if p := problem(t, rec); p.ErrorCode != "RequestTooLarge" {
			t.Errorf("unannounced %d-byte body: %d %s, want 413 RequestTooLarge", len(body), rec.Code, p.ErrorCode)
		}
	})
}

var cutRE = regexp.MustCompile(`\.\.\. \(600\d\d bytes\)`)

// TestEchoedValuesAreCut: a value the client sent is repeated in answers and
// logs cut to 64 bytes, with its full length stated; instance too.
func TestEchoedValuesAreCut(t *testing.T) {
	long := "/" + strings.Repeat("a", 59_999) // 60,000 bytes
	cut := `"/` + strings.Repeat("a", 63) + `"... (60000 bytes)`
	instance := "/" + strings.Repeat("a", 63) + "... (60000 bytes)"
	t.Run("Path", func(t *testing.T) {
		f := newFixture(t)
		rec := f.do(t, http.MethodGet, long, "", "")
		want := wantProblem("NotFound", 404, "Not found", "No route matches "+cut+".", instance, nil)
		if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
			t.Errorf("problem (-want +got):\n%s", diff)
		}
		if rec.Body.Len() > 1024 {
			t.Errorf("a %d-byte path gave a %d-byte answer", len(long), rec.Body.Len())
		}
		lines := f.logs.lines(t)
		if len(lines) != 1 || lines[0]["path"] != "/"+strings.Repeat("a", 63)+"... (60000 bytes)" {
			t.Errorf("log lines %v: want one with the path cut", lines)
		}
		if n := f.logs.b.Len(); n > 1024 {
			t.Errorf("a %d-byte path gave %d bytes of log", len(long), n)
		}
	})
	t.Run("InstanceKeepsEscapes", func(t *testing.T) {
		f := newFixture(t)
		p := "/" + strings.Repeat("b", 61) + "%C3%A9" + strings.Repeat("c", 100)
		rec := f.do(t, http.MethodGet, p, "", "")
		if got := problem(t, rec).Instance; got != "/"+strings.Repeat("b", 61)+"... (168 bytes)" {
			t.Errorf("instance %q: want the path cut before the %%-escape it would split", got)
		}
	})
	t.Run("Tenant", func(t *testing.T) {
		f := newFixture(t)
		tenant := strings.Repeat("x", 60_000)
		rec := f.do(t, http.MethodGet, httpapi.RouteSummary+"?msTenantId="+tenant, "", "")
		want := wantProblem("InvalidTenantId", 400, "Invalid msTenantId", "msTenantId has not a Guid format", httpapi.RouteSummary,
			map[string][]string{"msTenantId": {`msTenantId has not a Guid format: "` + strings.Repeat("x", 64) + `"... (60000 bytes)`}})
		if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
			t.Errorf("problem (-want +got):\n%s", diff)
		}
		if rec.Body.Len() > 1024 {
			t.Errorf("a %d-byte tenant gave a %d-byte answer", len(tenant), rec.Body.Len())
		}
		if n := f.logs.b.Len(); n > 1024 {
			t.Errorf("a %d-byte tenant gave %d bytes of log", len(tenant), n)
		}
	})
	t.Run("Number", func(t *testing.T) {
		f := newFixture(t)
		number := "+1" + strings.Repeat("2", 59_998)
		rec := f.post(t, httpapi.RouteClearRemovalStatus, numbersBody(number))
		if rec.Code != 400 || rec.Body.Len() > 1024 || !strings.Contains(rec.Body.String(), `... (60000 bytes)`) {
			t.Errorf("status %d, %d-byte answer: %.300s", rec.Code, rec.Body.Len(), rec.Body)
		}
	})
	t.Run("Headers", func(t *testing.T) {
		f := newFixture(t)
		long := strings.Repeat("z", 60_000)
		for _, c := range []struct {
			name string
			rec  *httptest.ResponseRecorder
		}{
			{"ContentType", f.do(t, http.MethodPost, httpapi.RouteClearRemovalStatus, "application/"+long, numbersBody("+14255551212"))},
			{"Charset", f.do(t, http.MethodPost, httpapi.RouteClearRemovalStatus, "application/json; charset="+long, numbersBody("+14255551212"))},
			{"ContentEncoding", f.do(t, http.MethodPost, httpapi.RouteClearRemovalStatus, "application/json", numbersBody("+14255551212"), "Content-Encoding", long)},
			{"Method", f.do(t, long, httpapi.RouteClearRemovalStatus, "application/json", "")},
		} {
			if c.rec.Code < 400 || c.rec.Body.Len() > 1024 || !cutRE.MatchString(c.rec.Body.String()) {
				t.Errorf("%s: status %d, %d-byte answer: %.300s", c.name, c.rec.Code, c.rec.Body.Len(), c.rec.Body)
			}
		}
	})
}
