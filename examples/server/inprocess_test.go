package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"

	"testing"
	"time"
)

// startInProcess runs run() in this process, returns its URL and a stop
// function that cancels its context and returns run's error.
func startInProcess(tb testing.TB, args ...string) (string, func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "WARN"}, args...), pw, io.Discard)
		pw.Close()
		errc <- err
	}()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	stop := func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(60 * time.Second):
			return errors.New("run did not return within 60s of cancellation")
		}
	}
	select {
	case u := <-urlc:
		return u, stop
	case err := <-errc:
		cancel()
		tb.Fatalf("run returned before serving: %v", err)
	case <-time.After(60 * time.Second):
		stop()
		tb.Fatal("run printed no URL within 60s")
	}
	return "", nil
}

// TestNoGoroutineLeft starts and stops the server in-process, with
// requests of every kind and a keep-alive connection left idle, and checks
// the goroutine count returns to what it was.
func TestNoGoroutineLeft(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var args []string
			if backend == "sqlite" {
				args = []string{"-db", filepath.Join(t.TempDir(), "leak.db")}
			} else {
				dsn := pgtest.DSN(t)
				args = []string{"-postgres", dsn, "-pg-schema", pgtest.Schema(t, "ocn_server_")}
			}
			baseline := runtime.NumGoroutine()
			u, stop := startInProcess(t, append(args, "-demo")...)
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
			for _, r := range []request{
				{method: http.MethodGet, path: routeSummary},
				post(routeClear, numbersBody("+14255551212")),
				post(routeReady, numbersBody("+14255551213")),
				post(routeReady, "{"),
				{method: http.MethodGet, path: "/nowhere"},
				{method: http.MethodPut, path: routeClear},
			} {
				if got := doHTTP(t, c, u, r); got.status >= 500 {
					t.Errorf("%s %s: %d", r.method, r.path, got.status)
				}
			}
			// The client's connection stays idle: Shutdown must close it.
			if err := stop(); err != nil {
				t.Fatalf("run: %v", err)
			}
			var n int
			for i := 0; i < 100; i++ { // up to 10s for closed connections' goroutines to end
				if n = runtime.NumGoroutine(); n <= baseline {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines after shutdown, %d before start:\n%s", n, baseline, buf)
		})
	}
}

// BenchmarkSummaryLoopback compares the summary endpoint of the real
// server (SQLite, demo inventory, WARN logging) with a bare net/http
// handler writing a constant JSON body, over loopback with one keep-alive
// client. The target is summary >= 50% of the baseline's req/s (logged, not
// asserted).
func BenchmarkSummaryLoopback(b *testing.B) {
	u, stop := startInProcess(b, "-db", filepath.Join(b.TempDir(), "bench.db"), "-demo")
	defer func() {
		if err := stop(); err != nil {
			b.Error(err)
		}
	}()
	const body = `{"markedForRemovalCount":4,"readyForRemovalCount":2,"totalCount":6}`
	bu, bstop := startBaseline(b, body)
	defer bstop()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	defer client.CloseIdleConnections()
	// The last run of each sub-benchmark is its final, full-length one.
	rates := map[string]float64{}
	bench := func(name, url string) {
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "req/s")
			rates[name] = rate
		})
	}
	bench("summary", u+routeSummary)
	bench("baseline-constant-json", bu)
	if rates["summary"] > 0 && rates["baseline-constant-json"] > 0 {
		b.Logf("last runs: summary %.0f req/s / baseline %.0f req/s = %.2f",
			rates["summary"], rates["baseline-constant-json"], rates["summary"]/rates["baseline-constant-json"])
	}
}

func startBaseline(tb testing.TB, body string) (string, func()) {
	tb.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	return fmt.Sprintf("http://%s/", ln.Addr()), func() { srv.Close() }
}
