package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

// slowStore applies one number at a time, pausing between them and
// stopping at a done context as every store does between chunks: a batch
// takes long enough for net/http to see a half-closed client's EOF.
type slowStore struct {
	*memstore.Store
	pause time.Duration
}

func (s slowStore) Apply(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	var out []removal.Outcome
	for i := range numbers {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		o, err := s.Store.Apply(ctx, numbers[i:i+1], c)
		out = append(out, o...)
		if err != nil {
			return out, err
		}
		time.Sleep(s.pause)
	}
	return out, nil
}

// halfClosed sends raw on a new connection, shuts down the sending side
// (what "nc -N" and HTTP/1.1 allow once the request is sent), and reads the
// answer.
func halfClosed(t *testing.T, addr, raw string) *http.Response {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a half-closed client: %v", err)
	}
	return resp
}

// TestHalfClosedClient: a client that sends a batch and then shuts down its
// sending side gets the whole 200, every number processed, although
// net/http cancels the request's context when it reads the EOF. So does a
// summary request.
func TestHalfClosedClient(t *testing.T) {
	const n = 20
	f := newFixtureOn(t, func(st *memstore.Store) removal.Store { return slowStore{Store: st, pause: 5 * time.Millisecond} },
		httpapi.WithRateLimiter(nil))
	tels := make([]string, n)
	for i := range tels {
		tels[i] = fmt.Sprintf("+1206555%04d", i)
		if err := f.st.Put(context.Background(), store.Number{TelephoneNumber: e164.Number(tels[i]), MSTenantID: tenantA,
			OperatorConnect: true, Status: removal.MarkedForRemoval}); err != nil {
			t.Fatal(err)
		}
	}
	srv := f.serve(t)
	addr := srv.Listener.Addr().String()
	body := numbersBody(tels...)

	resp := halfClosed(t, addr, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		httpapi.RouteReadyForRemoval, addr, len(body), body))
	rec := recorded(t, resp)
	checkResponse(t, f.doc, http.MethodPost, httpapi.RouteReadyForRemoval, rec)
	want := fmt.Sprintf(`{"data":{"processedCount":%d,"successCount":%d,"failures":[]},"status":"success"`, n, n)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), want) {
		t.Errorf("status %d, body %s; want 200 %s...", rec.Code, rec.Body, want)
	}
	for _, tel := range tels {
		if s := f.status(t, e164.Number(tel)); s != removal.ReadyForRemoval {
			t.Errorf("%s: %s, want ReadyForRemoval", tel, s)
		}
	}

	resp = halfClosed(t, addr, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", httpapi.RouteSummary, addr))
	rec = recorded(t, resp)
	checkResponse(t, f.doc, http.MethodGet, httpapi.RouteSummary, rec)
	if rec.Code != http.StatusOK {
		t.Errorf("summary: status %d, body %s", rec.Code, rec.Body)
	}
}
