package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// TestMaxInFlightFlag: with -max-in-flight 1, a request whose body is half
// sent holds the one slot and the next request is answered 503
// ServiceUnavailable with Retry-After: 1 at once; a value below 1 stops the
// server before it listens.
func TestMaxInFlightFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "inflight.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, e2eInventory), "-max-in-flight", "1")
	addr := strings.TrimPrefix(s.URL, "http://")
	s.client.CloseIdleConnections() // the readiness request's connection

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := numbersBody("+14255551212")
	// Expect: 100-continue: the server answers 100 once the handler reads
	// the body, so the request is known to hold the slot.
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		routeClear, addr, len(body))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // blank line after 100
		t.Fatal(err)
	}
	io.WriteString(conn, body[:len(body)/2])

	r := s.do(t, request{method: http.MethodGet, path: routeSummary})
	checkProblem(t, r, wantProblem(503, httpapi.CodeServiceUnavailable, routeSummary))
	if ra := r.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}

	io.WriteString(conn, body[len(body)/2:])
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkBatch(t, response{status: resp.StatusCode, header: resp.Header, body: b}, wantBatch(msgCleared, 1))

	_, stderr, code := runServerToExit(t, "-db", filepath.Join(t.TempDir(), "x.db"), "-max-in-flight", "0")
	if code == 0 || !strings.Contains(stderr, "-max-in-flight") {
		t.Errorf("-max-in-flight 0: exit status %d, stderr %q", code, stderr)
	}
}

// TestHalfClosedClient: a client that sends a batch and then shuts down its
// sending side (what "nc -N" does; legal in HTTP/1.1) gets the whole 200
// answer with every number processed, for three 500-number batches on
// SQLite. (net/http cancels the request's context when it reads the EOF; a
// batch stopped between the store's chunks would be half applied.)
func TestHalfClosedClient(t *testing.T) {
	const batch, tries = 500, 3
	var rows []row
	for i := range batch * tries {
		rows = append(rows, row{fmt.Sprintf("+1206555%04d", i), tenantA, removal.MarkedForRemoval, true})
	}
	db := filepath.Join(t.TempDir(), "halfclose.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, rows))
	addr := strings.TrimPrefix(s.URL, "http://")
	m := newModel(rows)
	for try := range tries {
		var tels []string
		for _, r := range rows[try*batch : (try+1)*batch] {
			tels = append(tels, r.tel)
			m.set(r.tel, removal.ReadyForRemoval)
		}
		body := numbersBody(tels...)
		r, err := rawExchange(addr, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			routeReady, addr, len(body), body), http.MethodPost)
		if err != nil {
			t.Fatalf("try %d: %v", try, err)
		}
		checkBatch(t, r, wantBatch(msgReady, batch))
	}
	checkStore(t, openSQLite(t, db), m)
}
