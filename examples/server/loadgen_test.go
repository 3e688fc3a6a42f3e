package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// The hand-written baseline server (internal/baseline) is built once per
// test process, beside the server binary, so TestMain removes it too.
var (
	baselineOnce sync.Once
	baselinePath string
	baselineErr  error
)

func baselineBinary(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Dir(serverBinary(tb))
	baselineOnce.Do(func() {
		baselinePath = filepath.Join(dir, "baseline")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := []string{"build", "-o", baselinePath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.CommandContext(ctx, "go", append(args, "./internal/baseline")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			baselineErr = fmt.Errorf("go build ./internal/baseline: %v\n%s", err, out)
		}
	})
	if baselineErr != nil {
		tb.Fatal(baselineErr)
	}
	return baselinePath
}

var baselineURLLine = regexp.MustCompile(`^baseline server on (http://127\.0\.0\.1:\d+)$`)

// startBaselineServer runs the baseline with args plus "-addr 127.0.0.1:0" and
// waits until it answers a batch, as startServer does for the real server
// (stop it with stop; tb.Cleanup stops it too, and fails the test unless it
// exits cleanly).
func startBaselineServer(tb testing.TB, args ...string) *server {
	tb.Helper()
	s := launch(tb, "baseline", baselineBinary(tb), baselineURLLine, &http.Client{Timeout: 60 * time.Second}, args...)
	// A number that is never stored: the batch changes nothing.
	resp, err := s.client.Post(s.URL+httpapi.RouteMarkForRemoval, "application/json",
		bytes.NewReader([]byte(`{"telephoneNumbers":["+13039999999"]}`)))
	if err != nil {
		tb.Fatalf("baseline readiness request: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("baseline readiness request: status %d: %s\nstderr:\n%s", resp.StatusCode, b, s.stderr)
	}
	return s
}

// loadSpec is what the load generator sends: clients keep-alive clients
// (one TCP connection each), each sending one batch at a time of minBatch
// to maxBatch random distinct numbers of pool, to mark-for-removal or
// clear-removal-status at random.
type loadSpec struct {
	clients            int
	minBatch, maxBatch int
	pool               []string
}

// loadResult is one run of the generator.
type loadResult struct {
	window    time.Duration   // the measured window
	requests  int             // 200 answers completed inside the window
	latencies []time.Duration // of those requests
	numbers   int             // numbers they carried
	successes int             // numbers they moved
	answers   int             // every answer, warm-up included
	non200    map[int]int     // answers by status code, warm-up included
	errors    int             // transport errors and answers not of the expected shape
	problem   string          // the first of those, for the log
}

func (r loadResult) rate() float64 { return float64(r.requests) / r.window.Seconds() }

func (r loadResult) bad() int {
	n := r.errors
	for _, c := range r.non200 {
		n += c
	}
	return n
}

// driveLoad sends spec's load to the servers at urls for warmup plus d,
// and measures the answers completed in the last d. Client w sends to
// urls[w%len(urls)], so clients split evenly; with fewer clients than
// servers each client goes round the servers, one request each. The seed
// fixes every client's sequence of requests.
func driveLoad(urls []string, spec loadSpec, seed uint64, warmup, d time.Duration) loadResult {
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+d)
	results := make([]loadResult, spec.clients)
	var wg sync.WaitGroup
	for w := range spec.clients {
		wg.Go(func() {
			results[w] = loadClient(urls, w, spec, rand.New(rand.NewPCG(seed, uint64(w))), from, until)
		})
	}
	wg.Wait()
	total := loadResult{window: d, non200: map[int]int{}}
	for _, r := range results {
		total.requests += r.requests
		total.latencies = append(total.latencies, r.latencies...)
		total.numbers += r.numbers
		total.successes += r.successes
		total.answers += r.answers
		for c, n := range r.non200 {
			total.non200[c] += n
		}
		total.errors += r.errors
		if total.problem == "" {
			total.problem = r.problem
		}
	}
	return total
}

func loadClient(urls []string, w int, spec loadSpec, rng *rand.Rand, from, until time.Time) loadResult {
	res := loadResult{non200: map[int]int{}}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	// perm holds every index of pool; a partial Fisher-Yates shuffle of
	// its first k entries picks k distinct numbers in O(k).
	perm := make([]int32, len(spec.pool))
	for i := range perm {
		perm[i] = int32(i)
	}
	var body, answer bytes.Buffer
	fail := func(msg string) {
		res.errors++
		if res.problem == "" {
			res.problem = msg
		}
	}
	for i := 0; time.Now().Before(until); i++ {
		url := urls[w%len(urls)]
		if spec.clients < len(urls) {
			url = urls[(w+i)%len(urls)]
		}
		route := httpapi.RouteMarkForRemoval
		if rng.IntN(2) == 0 {
			route = httpapi.RouteClearRemovalStatus
		}
		k := spec.minBatch + rng.IntN(spec.maxBatch-spec.minBatch+1)
		body.Reset()
		body.WriteString(`{"telephoneNumbers":[`)
		for j := range k {
			x := j + rng.IntN(len(perm)-j)
			perm[j], perm[x] = perm[x], perm[j]
			if j > 0 {
				body.WriteByte(',')
			}
			body.WriteByte('"')
			body.WriteString(spec.pool[perm[j]])
			body.WriteByte('"')
		}
		body.WriteString("]}")

		req, err := http.NewRequest(http.MethodPost, url+route, bytes.NewReader(body.Bytes()))
		if err != nil {
			fail(err.Error())
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		sent := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			fail(fmt.Sprintf("POST %s: %v", route, err))
			continue
		}
		answer.Reset()
		_, err = answer.ReadFrom(resp.Body)
		resp.Body.Close()
		done := time.Now()
		res.answers++
		switch {
		case err != nil:
			fail(fmt.Sprintf("POST %s: read: %v", route, err))
			continue
		case resp.StatusCode != http.StatusOK:
			res.non200[resp.StatusCode]++
			if res.problem == "" {
				res.problem = fmt.Sprintf("POST %s: status %d: %.300s", route, resp.StatusCode, answer.Bytes())
			}
			continue
		}
		// Cheap shape check, no decoding: both servers write processedCount
		// then successCount first in data.
		b := answer.Bytes()
		ok := bytes.Contains(b, []byte(`"processedCount":`+strconv.Itoa(k)+`,"successCount":`))
		moved := 0
		if ok {
			_, rest, _ := bytes.Cut(b, []byte(`"successCount":`))
			end := bytes.IndexByte(rest, ',')
			moved, err = strconv.Atoi(string(rest[:max(end, 0)]))
			ok = err == nil && moved >= 0 && moved <= k
		}
		if !ok {
			fail(fmt.Sprintf("POST %s: 200 without the counts of %d numbers: %.300s", route, k, b))
			continue
		}
		if !sent.Before(from) && !done.After(until) {
			res.requests++
			res.latencies = append(res.latencies, done.Sub(sent))
			res.numbers += k
			res.successes += moved
		}
	}
	return res
}
