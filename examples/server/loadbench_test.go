package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// benchConfig is one configuration of BenchmarkLoadVsBaseline.
type benchConfig struct {
	name               string
	clients            int
	minBatch, maxBatch int
	servers            int // processes of each server on the one schema
}

var benchConfigs = []benchConfig{
	{"c1", 1, 1, 8, 1},
	{"c8", 8, 1, 8, 1},
	{"c32", 32, 1, 8, 1},
	{"b500", 8, 500, 500, 1},
	{"two-c1", 1, 1, 8, 2},
	{"two-c8", 8, 1, 8, 2},
	{"two-c32", 32, 1, 8, 2},
	{"two-b500", 8, 500, 500, 2},
}

// The servers compared: ocnumbers, the baseline, and the baseline writing
// the history too (-history).
const (
	kindOCN      = "ocnumbers"
	kindBase     = "baseline"
	kindBaseHist = "baseline-history"
)

var benchKinds = [...]string{kindOCN, kindBase, kindBaseHist}

// The benchmark's environment variables.
const (
	envBenchDuration = "OCNUMBERS_LOADBENCH_DURATION" // measured time per run, default 10s
	envBenchWarmup   = "OCNUMBERS_LOADBENCH_WARMUP"   // unmeasured load before it, default 1s
	envBenchRounds   = "OCNUMBERS_LOADBENCH_ROUNDS"   // rounds of every server in turn, default 3
	envBenchConfigs  = "OCNUMBERS_LOADBENCH_CONFIGS"  // comma-separated names, default all
	envBenchSeed     = "OCNUMBERS_LOADBENCH_SEED"     // the load's seed, default from the clock
	envBenchPool     = "OCNUMBERS_LOADBENCH_BASELINE_POOL"
)

// BenchmarkLoadVsBaseline measures the real server on PostgreSQL beside
// the hand-written baseline (internal/baseline), under the same load, and
// reports; it asserts no figure. Per configuration (benchConfigs: 1, 8 and
// 32 keep-alive clients with batches of 1-8 numbers, 8 clients with
// batches of 500, each on one server process and on two sharing one
// schema) it runs rounds of ocnumbers, the baseline, then the baseline
// writing the history too (-history). Every run gets a fresh
// schema loaded through sqlstore with the same inventory (20,000 Operator
// Connect numbers in 3 tenants, half Active, half MarkedForRemoval, plus
// 200 numbers that are not Operator Connect; the load also asks for 200
// numbers never stored), analysed, then fresh server processes on it. The
// clients send mark-for-removal or clear-removal-status at random, so the
// numbers cycle; the same seed drives every server in a round. A run is a
// warm-up, then the measured window.
//
// Reported per configuration: the median over the rounds of requests/s and
// of p99 latency for each server, and the ratios of ocnumbers to each
// baseline. Each
// run must see only 200 answers and legal stored statuses afterwards; that
// is checked (an error), the figures are not.
//
//	go test ./examples/server -run '^$' -bench LoadVsBaseline -benchtime 1x -timeout 60m
//
// The environment variables above tune it; without OCNUMBERS_POSTGRES_DSN
// it skips.
func BenchmarkLoadVsBaseline(b *testing.B) {
	dsn := pgtest.DSN(b)
	if raceEnabled {
		fmt.Println("BenchmarkLoadVsBaseline: built with -race: the figures measure the race detector")
	}
	d := benchEnvDuration(b, envBenchDuration, 10*time.Second)
	warmup := benchEnvDuration(b, envBenchWarmup, time.Second)
	rounds := benchEnvInt(b, envBenchRounds, 3)
	configs := benchSelectConfigs(b)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(envBenchSeed); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			b.Fatalf("%s=%q: want an unsigned integer", envBenchSeed, v)
		}
	}
	var baseArgs []string
	if v := os.Getenv(envBenchPool); v != "" {
		baseArgs = append(baseArgs, "-pool", v)
	}
	inv := newBenchInventory()
	// A benchmark with sub-benchmarks prints no log of its own: stdout.
	fmt.Printf("BenchmarkLoadVsBaseline: seed %d (%s), %d round(s) of %v after %v warm-up per run, %d Operator Connect numbers, pool of %d numbers, configurations %v\n",
		seed, envBenchSeed, rounds, d, warmup, inv.oc, len(inv.pool), benchNames(configs))
	// Build both binaries before the first run.
	serverBinary(b)
	baselineBinary(b)

	var summaries []benchSummary
	for _, cfg := range configs {
		b.Run(cfg.name, func(b *testing.B) {
			runs := map[string][]loadResult{}
			for r := range rounds {
				for _, kind := range benchKinds {
					res := benchRun(b, dsn, kind, cfg, inv, seed+uint64(r), warmup, d, baseArgs)
					runs[kind] = append(runs[kind], res)
					_, p99 := percentiles(res.latencies)
					b.Logf("%s round %d %-16s %6d requests %8.0f req/s  p99 %-8v  %d of %d numbers moved  non-200 %v, errors %d",
						cfg.name, r+1, kind, res.requests, res.rate(), p99.Round(10*time.Microsecond),
						res.successes, res.numbers, res.non200, res.errors)
				}
			}
			s := summarize(cfg, runs)
			summaries = append(summaries, s)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(s.rate[0], "ocn-req/s")
			b.ReportMetric(s.rate[1], "base-req/s")
			b.ReportMetric(s.rate[0]/s.rate[1], "ratio-req/s")
			b.ReportMetric(s.p99[0].Seconds()*1000, "ocn-p99-ms")
			b.ReportMetric(s.p99[1].Seconds()*1000, "base-p99-ms")
			b.ReportMetric(s.p99[0].Seconds()/s.p99[1].Seconds(), "ratio-p99")
			b.ReportMetric(s.rate[0]/s.rate[2], "ratio-req/s-vs-history")
			b.ReportMetric(s.p99[0].Seconds()/s.p99[2].Seconds(), "ratio-p99-vs-history")
			b.ReportMetric(float64(s.bad[0]), "ocn-non200")
			b.ReportMetric(float64(s.bad[1]+s.bad[2]), "base-non200")
		})
	}
	if len(summaries) > 0 {
		fmt.Printf("BenchmarkLoadVsBaseline: medians over %d round(s) of %v:\n%s", rounds, d, benchTable(summaries))
	}
}

// benchRun is one run: a fresh schema with the inventory, cfg.servers
// processes of kind on it, the load, then the checks.
func benchRun(b *testing.B, dsn, kind string, cfg benchConfig, inv *benchInventory, seed uint64, warmup, d time.Duration, baseArgs []string) loadResult {
	b.Helper()
	admin, _ := pgtest.Admin(b)
	schema := pgtest.Schema(b, "ocn_lb_")
	table := inv.load(b, dsn, schema)
	defer func() {
		if _, err := admin.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); err != nil {
			b.Errorf("drop schema %s: %v", schema, err)
		}
	}()

	var procs []*server
	for range cfg.servers {
		switch kind {
		case kindOCN:
			procs = append(procs, startServer(b, "-postgres", dsn, "-pg-schema", schema,
				"-rate-limit", "1000000", "-log-level", "WARN"))
		default:
			args := append([]string{"-postgres", dsn, "-pg-schema", schema}, baseArgs...)
			if kind == kindBaseHist {
				args = append(args, "-history")
			}
			procs = append(procs, startBaselineServer(b, args...))
		}
	}
	urls := make([]string, len(procs))
	for i, p := range procs {
		urls[i] = p.URL
	}
	res := driveLoad(urls, loadSpec{clients: cfg.clients, minBatch: cfg.minBatch, maxBatch: cfg.maxBatch, pool: inv.pool}, seed, warmup, d)
	for _, p := range procs {
		p.client.CloseIdleConnections()
		if err := p.stop(30 * time.Second); err != nil {
			b.Errorf("%s %s did not stop cleanly: %v\nstderr:\n%s", cfg.name, kind, err, p.stderr)
		}
	}
	if bad := res.bad(); bad > 0 {
		b.Errorf("%s %s: %d answers were not 200 with the batch's counts (%v, %d errors); first: %s",
			cfg.name, kind, bad, res.non200, res.errors, res.problem)
	}
	if res.requests == 0 {
		b.Errorf("%s %s: no request completed in the measured window", cfg.name, kind)
	}
	inv.check(b, admin, table, cfg.name+" "+kind)
	return res
}

// benchInventory is the inventory every run starts from.
type benchInventory struct {
	numbers []store.Number
	pool    []string // what the load asks for: every stored number and some never stored
	oc      int
	others  map[removal.NumberStatus]int // numbers not Operator Connect, by status
}

func newBenchInventory() *benchInventory {
	const oc, others, absent = 20000, 200, 200
	tenants := []string{"11111111-2222-3333-4444-555555555555", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "0f8fad5b-d9cb-469f-a165-70867728950e"}
	inv := &benchInventory{oc: oc, others: map[removal.NumberStatus]int{}}
	at := time.Now().UTC().Truncate(time.Microsecond)
	add := func(tel string, i int, isOC bool) {
		st := []removal.NumberStatus{removal.Active, removal.MarkedForRemoval}[i%2]
		inv.numbers = append(inv.numbers, store.Number{TelephoneNumber: e164.Number(tel), MSTenantID: tenants[i%3],
			OperatorConnect: isOC, Status: st, StatusChangedAt: at})
		inv.pool = append(inv.pool, tel)
		if !isOC {
			inv.others[st]++
		}
	}
	for i := range oc {
		add(fmt.Sprintf("+1425%07d", i), i, true)
	}
	for i := range others {
		add(fmt.Sprintf("+1206%07d", i), i, false)
	}
	for i := range absent {
		inv.pool = append(inv.pool, fmt.Sprintf("+1303%07d", i))
	}
	return inv
}

// load creates and migrates schema through sqlstore, imports the inventory
// and analyses the schema's tables; it returns the numbers table's name.
func (inv *benchInventory) load(b testing.TB, dsn, schema string) string {
	b.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "pgx", dsn, sqlstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Import(ctx, inv.numbers, store.ImportOptions{Mode: store.Replace}); err != nil {
		b.Fatal(err)
	}
	var tables []string
	if err := st.DB().SelectContext(ctx, &tables, "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema); err != nil {
		b.Fatal(err)
	}
	for _, t := range tables {
		if _, err := st.DB().ExecContext(ctx, "ANALYZE "+pgx.Identifier{schema, t}.Sanitize()); err != nil {
			b.Fatal(err)
		}
	}
	return pgx.Identifier{schema, "numbers"}.Sanitize()
}

// check is the cheap sanity check after a run: every row still there, the
// Operator Connect numbers only Active or MarkedForRemoval (the only
// statuses the load moves between), the others untouched.
func (inv *benchInventory) check(b testing.TB, db *sqlx.DB, table, what string) {
	b.Helper()
	var rows []struct {
		OC     bool `db:"operator_connect"`
		Status int  `db:"status"`
		N      int  `db:"n"`
	}
	if err := db.SelectContext(context.Background(), &rows,
		"SELECT operator_connect, status, COUNT(*) AS n FROM "+table+" GROUP BY 1, 2"); err != nil {
		b.Fatal(err)
	}
	oc, others := 0, map[removal.NumberStatus]int{}
	for _, r := range rows {
		st := removal.NumberStatus(r.Status)
		switch {
		case !r.OC:
			others[st] += r.N
		case st != removal.Active && st != removal.MarkedForRemoval:
			b.Errorf("%s: %d Operator Connect numbers in status %v after the run", what, r.N, st)
		default:
			oc += r.N
		}
	}
	if oc != inv.oc {
		b.Errorf("%s: %d Operator Connect numbers Active or MarkedForRemoval after the run, want %d", what, oc, inv.oc)
	}
	if !mapsEqual(others, inv.others) {
		b.Errorf("%s: numbers not Operator Connect by status %v after the run, want %v", what, others, inv.others)
	}
}

func mapsEqual(a, b map[removal.NumberStatus]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// benchSummary holds a configuration's medians, by the index of the
// server's kind in benchKinds.
type benchSummary struct {
	cfg  benchConfig
	rate [len(benchKinds)]float64
	p99  [len(benchKinds)]time.Duration
	bad  [len(benchKinds)]int // answers not 200, over every round
}

func summarize(cfg benchConfig, runs map[string][]loadResult) benchSummary {
	s := benchSummary{cfg: cfg}
	for i, kind := range benchKinds {
		var rates []float64
		var p99s []time.Duration
		for _, r := range runs[kind] {
			rates = append(rates, r.rate())
			_, p99 := percentiles(r.latencies)
			p99s = append(p99s, p99)
			s.bad[i] += r.bad()
		}
		s.rate[i] = median(rates)
		s.p99[i] = median(p99s)
	}
	return s
}

func median[T float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchTable(ss []benchSummary) string {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tprocesses\tclients\tbatch\tocnumbers req/s\tbaseline req/s\tratio\tocnumbers p99\tbaseline p99\tp99 ratio\t"+
		"history baseline req/s\tratio\thistory baseline p99\tp99 ratio\tnon-200 (ocn/base/hist)\t")
	for _, s := range ss {
		batch := fmt.Sprintf("%d-%d", s.cfg.minBatch, s.cfg.maxBatch)
		if s.cfg.minBatch == s.cfg.maxBatch {
			batch = strconv.Itoa(s.cfg.minBatch)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f\t%.0f\t%.2f\t%v\t%v\t%.2f\t%.0f\t%.2f\t%v\t%.2f\t%d/%d/%d\t\n",
			s.cfg.name, s.cfg.servers, s.cfg.clients, batch, s.rate[0], s.rate[1], s.rate[0]/s.rate[1],
			s.p99[0].Round(10*time.Microsecond), s.p99[1].Round(10*time.Microsecond), s.p99[0].Seconds()/s.p99[1].Seconds(),
			s.rate[2], s.rate[0]/s.rate[2], s.p99[2].Round(10*time.Microsecond), s.p99[0].Seconds()/s.p99[2].Seconds(),
			s.bad[0], s.bad[1], s.bad[2])
	}
	tw.Flush()
	return sb.String()
}

func benchEnvDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && name == envBenchDuration) {
		b.Fatalf("%s=%q: want a positive Go duration such as 10s", name, v)
	}
	return d
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want an integer of at least 1", name, v)
	}
	return n
}

func benchSelectConfigs(b *testing.B) []benchConfig {
	v := os.Getenv(envBenchConfigs)
	if v == "" {
		return benchConfigs
	}
	var out []benchConfig
	for name := range strings.SplitSeq(v, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(benchConfigs, func(c benchConfig) bool { return c.name == name })
		if i < 0 {
			b.Fatalf("%s: unknown configuration %q; known: %v", envBenchConfigs, name, benchNames(benchConfigs))
		}
		out = append(out, benchConfigs[i])
	}
	return out
}

func benchNames(cs []benchConfig) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.name)
	}
	return out
}
