package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// TestMaxConns checks -max-conns: clients holding every connection idle
// cannot keep a new client out (idle connections are closed to make room),
// and the server never keeps more connections open than the cap.
func TestMaxConns(t *testing.T) {
	const max = 8
	base, stop := startInProcess(t, "-db", filepath.Join(t.TempDir(), "c.db"), "-max-conns", fmt.Sprint(max), "-max-in-flight", "4")
	defer stop()
	u, _ := url.Parse(base)
	get := func(c net.Conn) error {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", httpapi.RouteSummary)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	var idle []net.Conn
	for range 3 * max {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := get(c); err != nil {
			t.Fatalf("a new client after %d idle ones: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	// Count the connections the server still holds open: a read on a
	// closed one ends at once.
	open := 0
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				open++
			}
		}
	}
	if open > max || open == 0 {
		t.Errorf("%d of %d idle connections still open, want 1 to %d", open, len(idle), max)
	}
}
