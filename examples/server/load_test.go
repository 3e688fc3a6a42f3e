package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// loadDuration is how long each load run lasts: OCNUMBERS_LOAD_DURATION
// (a Go duration, at most 30s), default 10s.
func loadDuration(t *testing.T) time.Duration {
	d := 10 * time.Second
	if v := os.Getenv("OCNUMBERS_LOAD_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 || d > 30*time.Second {
			t.Fatalf("OCNUMBERS_LOAD_DURATION=%q: want a duration in (0, 30s]", v)
		}
	}
	return d
}

// TestLoad runs concurrent clients against the real server on each backend
// while this process marks numbers for removal through the same database,
// then checks: no 5xx answer; every record legal and its tenant and
// Operator Connect flag intact; numbers not stored, or not Operator Connect,
// untouched; each number's move from its initial to its final status
// explained by the successes the answers reported (flow conservation); the
// summary equal to a recount of the store, per tenant and overall.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	t.Run("sqlite", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "load.db")
		runLoad(t, []string{"-db", db}, func(t testing.TB) *sqlstore.Store { return openSQLite(t, db) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		schema := pgtest.Schema(t, "ocn_server_")
		runLoad(t, []string{"-postgres", dsn, "-pg-schema", schema}, func(t testing.TB) *sqlstore.Store {
			st, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// Transitions whose successes are counted per number.
const (
	opClear = "clear" // MarkedForRemoval -> Active, over HTTP
	opReady = "ready" // MarkedForRemoval -> ReadyForRemoval, over HTTP
	opMark  = "mark"  // Active|ReleaseRequested -> MarkedForRemoval, in this process
	// ReadyForRemoval -> Active by purge and re-acquisition, in this
	// process, so numbers keep cycling instead of all ending final.
	opRecycle = "recycle"
)

type loadStats struct {
	successes map[string]map[string]int // number -> op -> successes
	latency   map[string][]time.Duration
	status    map[int]int
	problems  []string // invariant breaks seen by workers
	marks     int
}

func newLoadStats() *loadStats {
	return &loadStats{successes: map[string]map[string]int{}, latency: map[string][]time.Duration{}, status: map[int]int{}}
}

func (s *loadStats) success(tel, op string) {
	if s.successes[tel] == nil {
		s.successes[tel] = map[string]int{}
	}
	s.successes[tel][op]++
}

func (s *loadStats) merge(o *loadStats) {
	for tel, ops := range o.successes {
		for op, n := range ops {
			for range n {
				s.success(tel, op)
			}
		}
	}
	for r, l := range o.latency {
		s.latency[r] = append(s.latency[r], l...)
	}
	for st, n := range o.status {
		s.status[st] += n
	}
	s.problems = append(s.problems, o.problems...)
	s.marks += o.marks
}

func runLoad(t *testing.T, backendArgs []string, openStore func(testing.TB) *sqlstore.Store) {
	// Inventory: OC numbers of three tenants starting Active,
	// MarkedForRemoval or ReleaseRequested, plus non-OC numbers that must
	// never change.
	tenants := []string{tenantA, tenantB, "0f8fad5b-d9cb-469f-a165-70867728950e"}
	var inv []row
	for i := range 150 {
		inv = append(inv, row{fmt.Sprintf("+1303555%04d", i), tenants[i%3],
			[]removal.NumberStatus{removal.Active, removal.MarkedForRemoval, removal.ReleaseRequested}[i%3], true})
	}
	for i := range 15 {
		inv = append(inv, row{fmt.Sprintf("+1303666%04d", i), tenants[i%3], removal.MarkedForRemoval, false})
	}
	var pool []string
	for _, r := range inv {
		pool = append(pool, r.tel)
	}
	pool = append(pool, "+13037770000", "+13037770001") // never stored: NumberNotFound

	args := append(append([]string{}, backendArgs...), "-import", writeCSV(t, inv),
		"-rate-limit", "1000000", "-log-level", "WARN")
	s := startServer(t, args...)
	st := openStore(t)
	svc := removal.NewService(st)
	initial := snapshot(t, st, pool)

	d := loadDuration(t)
	const httpWorkers, markWorkers, maxIter = 8, 2, 1_000_000
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: httpWorkers}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %v, %d HTTP clients, %d in-process markers", seed, d, httpWorkers, markWorkers)

	total := newLoadStats()
	var mu sync.Mutex
	var wg sync.WaitGroup
	pick := func(rng *rand.Rand) []string {
		n := 1 + rng.IntN(8)
		perm := rng.Perm(len(pool))[:n]
		out := make([]string, n)
		for i, j := range perm {
			out[i] = pool[j]
		}
		return out
	}
	started := time.Now()
	for w := range httpWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			ls := newLoadStats()
			for i := 0; i < maxIter && ctx.Err() == nil; i++ {
				switch p := rng.IntN(100); {
				case p < 45:
					loadBatch(client, s.URL, routeClear, opClear, pick(rng), ls)
				case p < 47: // ReadyForRemoval is final: rarely, or every number ends there
					loadBatch(client, s.URL, routeReady, opReady, pick(rng), ls)
				default:
					tenant := ""
					if p < 75 {
						tenant = tenants[rng.IntN(len(tenants))]
					}
					loadSummary(client, s.URL, tenant, ls)
				}
			}
			mu.Lock()
			total.merge(ls)
			mu.Unlock()
		})
	}
	for w := range markWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(100+w)))
			ls := newLoadStats()
			for i := 0; i < maxIter && ctx.Err() == nil; i++ {
				tels := pick(rng)
				// Not ctx: a batch cut short would leave its applied prefix
				// unreported. Each call is short; the loop stops at ctx.
				res, err := svc.MarkForRemoval(context.Background(), tels)
				if err != nil {
					ls.problems = append(ls.problems, fmt.Sprintf("MarkForRemoval %v: %v", tels, err))
					continue
				}
				ls.marks++
				recordSuccesses(tels, res.Failures, opMark, ls)
				if w == 0 { // one recycler: nothing else moves a ReadyForRemoval number
					if err := recycle(st, pool[rng.IntN(len(pool))], ls); err != nil {
						ls.problems = append(ls.problems, err.Error())
					}
				}
				time.Sleep(time.Millisecond) // the OC-list sync is slower than the API clients
			}
			mu.Lock()
			total.merge(ls)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(started)

	for _, p := range total.problems {
		t.Error(p)
	}
	for code, n := range total.status {
		if code >= 500 {
			t.Errorf("%d responses with status %d", n, code)
		}
	}

	// Flow conservation per number: the successes each response reported
	// must explain the number's move from its initial to its final status.
	final := snapshot(t, st, pool)
	ind := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	changed := 0
	for _, tel := range pool {
		in, out, ops := initial[tel], final[tel], total.successes[tel]
		if in == nil || out == nil {
			if in != out || len(ops) > 0 {
				t.Errorf("%s: absent number appeared or was changed: %+v, %v", tel, out, ops)
			}
			continue
		}
		if !out.Status.Valid() || out.MSTenantID != in.MSTenantID || out.OperatorConnect != in.OperatorConnect {
			t.Errorf("%s: record broken: %+v -> %+v", tel, in, out)
		}
		if !in.OperatorConnect {
			if len(ops) > 0 || out.Status != in.Status {
				t.Errorf("%s: not Operator Connect, yet %v and %v -> %v", tel, ops, in.Status, out.Status)
			}
			continue
		}
		c, r, m, rec := ops[opClear], ops[opReady], ops[opMark], ops[opRecycle]
		is := func(n *store.Number, s removal.NumberStatus) int { return ind(n.Status == s) }
		mRR := is(in, removal.ReleaseRequested) - is(out, removal.ReleaseRequested) // nothing enters ReleaseRequested
		mA := m - mRR
		if m-c-r != is(out, removal.MarkedForRemoval)-is(in, removal.MarkedForRemoval) ||
			r-rec != is(out, removal.ReadyForRemoval)-is(in, removal.ReadyForRemoval) ||
			mRR < 0 || mRR > 1 || mA < 0 ||
			c+rec-mA != is(out, removal.Active)-is(in, removal.Active) {
			t.Errorf("%s: %v -> %v does not match the reported successes clear=%d ready=%d mark=%d recycle=%d", tel, in.Status, out.Status, c, r, m, rec)
		}
		if in.Status != out.Status {
			changed++
		}
		if c+r+m+rec > 0 && !out.StatusChangedAt.After(in.StatusChangedAt) {
			t.Errorf("%s: %d transitions but StatusChangedAt did not move: %v", tel, c+r+m+rec, out.StatusChangedAt)
		}
	}

	// The summary equals a recount of the store, per tenant and overall.
	recount := func(tenant string) removal.Summary {
		var s removal.Summary
		for _, n := range final {
			if n == nil || !n.OperatorConnect || (tenant != "" && n.MSTenantID != tenant) {
				continue
			}
			s.MarkedForRemovalCount += ind(n.Status == removal.MarkedForRemoval)
			s.ReadyForRemovalCount += ind(n.Status == removal.ReadyForRemoval)
		}
		s.TotalCount = s.MarkedForRemovalCount + s.ReadyForRemovalCount
		return s
	}
	for _, tenant := range append([]string{""}, tenants...) {
		checkSummary(t, s, "?msTenantId="+tenant, recount(tenant))
	}

	// Report, never assert, the figures.
	var all []time.Duration
	requests := 0
	for _, route := range []string{routeClear, routeReady, routeSummary} {
		l := total.latency[route]
		all = append(all, l...)
		requests += len(l)
		p50, p99 := percentiles(l)
		t.Logf("%-45s %6d requests  p50 %-9v p99 %v", route, len(l), p50, p99)
	}
	perOp := map[string]int{}
	for _, ops := range total.successes {
		for op, n := range ops {
			perOp[op] += n
		}
	}
	t.Logf("successes per transition: %v", perOp)
	finalCounts := map[removal.NumberStatus]int{}
	for _, n := range final {
		if n != nil && n.OperatorConnect {
			finalCounts[n.Status]++
		}
	}
	t.Logf("final statuses of the OC numbers: %v", finalCounts)
	p50, p99 := percentiles(all)
	t.Logf("HTTP total: %d requests in %v = %.0f req/s, p50 %v, p99 %v; statuses %v; %d in-process mark batches; %d numbers changed status",
		requests, elapsed.Round(time.Millisecond), float64(requests)/elapsed.Seconds(), p50, p99, total.status, total.marks, changed)
	if requests == 0 || total.marks == 0 {
		t.Errorf("load produced %d HTTP requests and %d mark batches", requests, total.marks)
	}
}

// recycle purges tel if it is ReadyForRemoval and acquires it again as
// Active, as the platform does with a number that comes back.
func recycle(st store.Store, tel string, ls *loadStats) error {
	ctx := context.Background()
	n, err := st.Get(ctx, e164.Number(tel))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || n.Status != removal.ReadyForRemoval {
		return err
	}
	out, err := st.Delete(ctx, []e164.Number{n.TelephoneNumber}, time.Now())
	if err != nil || len(out) != 1 || !out[0].Changed {
		return fmt.Errorf("recycle %s: deleted %+v, %v", tel, out, err)
	}
	n.Status, n.StatusChangedAt = removal.Active, time.Now()
	if err := st.Put(ctx, n); err != nil {
		return fmt.Errorf("recycle %s: %v", tel, err)
	}
	ls.success(tel, opRecycle)
	return nil
}

func percentiles(l []time.Duration) (p50, p99 time.Duration) {
	if len(l) == 0 {
		return 0, 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[len(s)*50/100], s[len(s)*99/100]
}

// recordSuccesses counts every requested number that is not among the
// failures as one success of op.
func recordSuccesses(tels []string, failures []removal.Failure, op string, ls *loadStats) {
	failed := map[string]bool{}
	for _, f := range failures {
		failed[string(f.TelephoneNumber)] = true
	}
	for _, tel := range tels {
		if !failed[tel] {
			ls.success(tel, op)
		}
	}
}

func loadBatch(c *http.Client, base, route, op string, tels []string, ls *loadStats) {
	body, _ := json.Marshal(map[string][]string{"telephoneNumbers": tels})
	start := time.Now()
	resp, err := c.Post(base+route, "application/json", bytes.NewReader(body))
	if err != nil {
		ls.problems = append(ls.problems, fmt.Sprintf("POST %s: %v", route, err))
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	ls.latency[route] = append(ls.latency[route], time.Since(start))
	ls.status[resp.StatusCode]++
	if err != nil {
		ls.problems = append(ls.problems, fmt.Sprintf("POST %s: read: %v", route, err))
		return
	}
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode != http.StatusTooManyRequests {
			ls.problems = append(ls.problems, fmt.Sprintf("POST %s %v: status %d: %s", route, tels, resp.StatusCode, b))
		}
		return
	}
	var r struct {
		Data struct {
			ProcessedCount, SuccessCount int
			Failures                     []removal.Failure
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		ls.problems = append(ls.problems, fmt.Sprintf("POST %s: %v: %s", route, err, b))
		return
	}
	if r.Data.ProcessedCount != len(tels) || r.Data.SuccessCount != len(tels)-len(r.Data.Failures) {
		ls.problems = append(ls.problems, fmt.Sprintf("POST %s %v: inconsistent counts: %s", route, tels, b))
	}
	for _, f := range r.Data.Failures {
		if !slices.Contains(tels, string(f.TelephoneNumber)) || (f.CurrentStatus != nil && !f.CurrentStatus.Valid()) {
			ls.problems = append(ls.problems, fmt.Sprintf("POST %s %v: bad failure %+v", route, tels, f))
		}
	}
	recordSuccesses(tels, r.Data.Failures, op, ls)
}

func loadSummary(c *http.Client, base, tenant string, ls *loadStats) {
	start := time.Now()
	resp, err := c.Get(base + routeSummary + "?msTenantId=" + tenant)
	if err != nil {
		ls.problems = append(ls.problems, fmt.Sprintf("GET summary: %v", err))
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	ls.latency[routeSummary] = append(ls.latency[routeSummary], time.Since(start))
	ls.status[resp.StatusCode]++
	if err != nil || resp.StatusCode != http.StatusOK {
		ls.problems = append(ls.problems, fmt.Sprintf("GET summary %q: status %d, %v: %s", tenant, resp.StatusCode, err, b))
		return
	}
	var s removal.Summary
	if err := json.Unmarshal(b, &s); err != nil || s.TotalCount != s.MarkedForRemovalCount+s.ReadyForRemovalCount {
		ls.problems = append(ls.problems, fmt.Sprintf("GET summary %q: %v: %s", tenant, err, b))
	}
}
