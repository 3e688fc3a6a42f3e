package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
)

// The memory tests measure the server process itself, so they run a binary
// built without the race detector even when the tests run with it: under
// -race each goroutine costs the detector about 85 KB (measured here with
// 500 idle connections), which would drown what is measured.
var (
	plainOnce sync.Once
	plainPath string
	plainErr  error
)

func plainServerBinary(t testing.TB) string {
	t.Helper()
	if !raceEnabled {
		return serverBinary(t)
	}
	serverBinary(t) // creates binDir, which TestMain removes
	plainOnce.Do(func() {
		plainPath = filepath.Join(binDir, "server-norace")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", plainPath, ".").CombinedOutput(); err != nil {
			plainErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if plainErr != nil {
		t.Fatal(plainErr)
	}
	return plainPath
}

// startPlainServer is startServer on plainServerBinary.
func startPlainServer(t testing.TB, args ...string) *server {
	t.Helper()
	return launch(t, "server", plainServerBinary(t), urlLine,
		&http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		append([]string{"-log-level", "WARN"}, args...)...)
}

// memKB reads a field of /proc/<pid>/status (VmRSS, VmHWM), in kB.
func (s *server) memKB(t testing.TB, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Skipf("no /proc status for the server: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s: %q", field, l)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc status", field)
	return 0
}

// warmUp sends a few requests of each kind, so that what the first requests
// allocate once (pools, the store's statements) is in the baseline.
func warmUp(t testing.TB, s *server) {
	t.Helper()
	for range 5 {
		s.do(t, request{method: http.MethodGet, path: routeSummary})
		s.do(t, post(routeReady, numbersBody("+14255559999")))
		s.do(t, post(routeClear, string(emptyStringsBody(600))))
	}
}

// emptyStringsBody is {"telephoneNumbers":["","",...]} with n strings.
func emptyStringsBody(n int) []byte {
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

const mb = 1024 // kB

// TestMemoryAnnouncedBodies: 500 connections that each announce a body of
// the limit (Content-Length: 1048576) and send nothing grow the server's
// RSS by less than 50 MB: nothing is allocated from the announced length.
// -max-in-flight is 500, so every one of them is inside the handler: each
// sends Expect: 100-continue, which the server answers when the handler
// starts reading the body, and a 501st request is then refused with 503.
func TestMemoryAnnouncedBodies(t *testing.T) {
	const conns = 500
	s := startPlainServer(t, "-db", filepath.Join(t.TempDir(), "mem.db"), "-max-in-flight", strconv.Itoa(conns),
		"-read-timeout", "60s")
	warmUp(t, s)
	before := s.memKB(t, "VmRSS")
	addr := strings.TrimPrefix(s.URL, "http://")

	held := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
			routeClear, addr, 1<<20)
	}
	for i, c := range held {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(c)
		if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("connection %d: want 100 Continue, got %q, %v", i, line, err)
		}
	}
	probe := func() int {
		return s.do(t, request{method: http.MethodGet, path: routeSummary}).status
	}
	if st := probe(); st != http.StatusServiceUnavailable {
		t.Fatalf("a request beside the %d held ones: status %d, want 503", conns, st)
	}
	peak := 0
	for range 5 {
		peak = max(peak, s.memKB(t, "VmRSS"))
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("VmRSS %d MB before, %d MB with %d announced bodies in the handler (+%.1f MB)",
		before/mb, peak/mb, conns, float64(peak-before)/mb)
	if grew := peak - before; grew >= 50*mb {
		t.Errorf("RSS grew by %.1f MB with %d announced 1 MiB bodies, want < 50 MB", float64(grew)/mb, conns)
	}

	for _, c := range held {
		c.Close()
	}
	held = held[:0]
	for i := 0; probe() != http.StatusOK; i++ {
		if i == 500 {
			t.Fatal("the server does not admit requests 10s after the connections closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMemoryManyEmptyStrings: 64 concurrent bodies of 349,000 empty strings
// (about 1 MiB each, the limit) keep the server's peak RSS below 100 MB:
// decoding stops at the 501st element. Each body is sent in two halves,
// the second only once every first half is out, so that all 64 are in the
// handler at once; each answer is 400 BatchSizeOutOfRange.
func TestMemoryManyEmptyStrings(t *testing.T) {
	const clients = 64
	s := startPlainServer(t, "-db", filepath.Join(t.TempDir(), "mem.db"), "-read-timeout", "60s")
	warmUp(t, s)
	addr := strings.TrimPrefix(s.URL, "http://")
	body := emptyStringsBody(349_000)
	if len(body) > 1<<20 {
		t.Fatalf("body of %d bytes is over the limit", len(body))
	}
	half := len(body) / 2

	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		conns[i] = c
	}
	var first sync.WaitGroup
	for _, c := range conns {
		first.Go(func() {
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTraceparent: %s\r\nContent-Length: %d\r\n\r\n",
				routeClear, addr, traceparent, len(body))
			c.Write(body[:half])
		})
	}
	first.Wait()
	answers := make([]response, clients)
	errs := make([]error, clients)
	var rest sync.WaitGroup
	for i, c := range conns {
		rest.Go(func() {
			go c.Write(body[half:]) // the server may answer before reading it all
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs[i] = err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers[i], errs[i] = response{status: resp.StatusCode, header: resp.Header, body: b}, err
		})
	}
	rest.Wait()
	for i := range answers {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		checkProblem(t, answers[i], wantProblem(400, removal.CodeBatchSizeOutOfRange, routeClear, "telephoneNumbers"))
	}
	hwm := s.memKB(t, "VmHWM")
	t.Logf("VmHWM %d MB after %d concurrent bodies of 349,000 empty strings", hwm/mb, clients)
	if hwm >= 100*mb {
		t.Errorf("peak RSS %.1f MB, want < 100 MB", float64(hwm)/mb)
	}
}
