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

	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// TestMaxInFlightFlag: with -max-in-flight 1, a request whose body is half
// sent holds the one slot and the next request is answered 503
// ServiceUnavailable with Retry-After: 1 at once; a value below 1 stops the
// server before it listens.
func TestMaxInFlightFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "inflight.db")
	s := startServer(t, "-db", db, "-import", writeCSV(t, seedInventory), "-max-in-flight", "1")
	addr := strings.TrimPrefix(s.URL, "http://")
	s.client.CloseIdleConnections() // the readiness request's connection

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := numbersBody("+14255551212")
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		routeClear, addr, len(body), body[:len(body)/2])

	// The held request reaches the handler soon after its headers; until it
	// does, the probe is admitted.
	var r response
	for i := 0; ; i++ {
		r = s.do(t, request{method: http.MethodGet, path: routeSummary})
		if r.status == http.StatusServiceUnavailable || i == 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkProblem(t, r, wantProblem(503, httpapi.CodeServiceUnavailable, routeSummary))
	if ra := r.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}

	io.WriteString(conn, body[len(body)/2:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
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
