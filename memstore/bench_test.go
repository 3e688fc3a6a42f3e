package memstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
	"github.com/ocnumbers/ocnumbers/store/storetest"
)

// BenchmarkStore is the shared benchmark set every backend runs.
func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(*testing.B) store.Store { return memstore.New() })
}

// The pool both sub-benchmarks of BenchmarkMarkReadyForRemoval500 rotate
// through, so each iteration moves 500 numbers that are MarkedForRemoval.
const (
	poolBatches = 16
	batchSize   = removal.MaxBatchSize
)

func poolNumbers() [][]string {
	out := make([][]string, poolBatches)
	for i := range out {
		for j := range batchSize {
			out[i] = append(out[i], fmt.Sprintf("+1425%07d", i*batchSize+j))
		}
	}
	return out
}

// baselineRecord and baselineStore are the simplest correct hand-written
// code for the same job: no validation, no outcomes, one lock per batch.
type baselineRecord struct {
	status    int
	changedAt time.Time
}

type baselineStore struct {
	mu   sync.Mutex
	recs map[string]*baselineRecord
}

func (s *baselineStore) markReady(numbers []string, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, tn := range numbers {
		if r := s.recs[tn]; r != nil && r.status == 2 {
			r.status, r.changedAt = 3, now
			n++
		}
	}
	return n
}

func (s *baselineStore) reset(pool [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, batch := range pool {
		for _, tn := range batch {
			// In place, as memstore's Put does: fresh allocations would
			// scatter the records and slow the baseline down.
			if r := s.recs[tn]; r != nil {
				*r = baselineRecord{status: 2}
			} else {
				s.recs[tn] = &baselineRecord{status: 2}
			}
		}
	}
}

// BenchmarkMarkReadyForRemoval500 compares memstore, through the whole
// removal.Service path (validation, Apply, results), with the baseline
// (target: at most 3x), and with itself writing no history (target: at
// most 1.5x).
func BenchmarkMarkReadyForRemoval500(b *testing.B) {
	pool := poolNumbers()
	b.Run("memstore", func(b *testing.B) { benchMarkReady(b, memstore.New(), pool) })
	b.Run("memstore-nohistory", func(b *testing.B) { benchMarkReady(b, memstore.New(memstore.WithoutHistory()), pool) })
	b.Run("baseline", func(b *testing.B) {
		st := &baselineStore{recs: make(map[string]*baselineRecord)}
		st.reset(pool)
		b.ReportAllocs()
		i := 0
		cpu, off := cpuTime(), time.Duration(0)
		for b.Loop() {
			if i == len(pool) {
				b.StopTimer()
				c := cpuTime()
				st.reset(pool)
				runtime.GC()
				off += cpuTime() - c
				i = 0
				b.StartTimer()
			}
			if n := st.markReady(pool[i], time.Now()); n != batchSize {
				b.Fatalf("%d changed", n)
			}
			i++
		}
		reportCPU(b, cpu+off)
	})
}

func benchMarkReady(b *testing.B, st *memstore.Store, pool [][]string) {
	var recs []store.Number
	for _, batch := range pool {
		for _, tn := range batch {
			recs = append(recs, store.Number{TelephoneNumber: e164.Number(tn), MSTenantID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
				OperatorConnect: true, Status: removal.MarkedForRemoval})
		}
	}
	reset := func() {
		if err := st.Put(b.Context(), recs...); err != nil {
			b.Fatal(err)
		}
	}
	reset()
	svc := removal.NewService(st)
	b.ReportAllocs()
	i := 0
	cpu, off := cpuTime(), time.Duration(0)
	for b.Loop() {
		if i == len(pool) {
			b.StopTimer()
			c := cpuTime()
			reset()
			runtime.GC() // collect the reset's garbage off the clock
			off += cpuTime() - c
			i = 0
			b.StartTimer()
		}
		res, err := svc.MarkReadyForRemoval(b.Context(), pool[i])
		if err != nil || res.SuccessCount != batchSize {
			b.Fatalf("%d successes, %v", res.SuccessCount, err)
		}
		i++
	}
	reportCPU(b, cpu+off)
}

// listBench is a store of 1,000,000 numbers in 7 tenants (the first holds
// 40% of them, the others 10% each), built once for every BenchmarkList
// run: 95% Operator Connect; 85% Active, 5% ReleaseRequested, 7%
// MarkedForRemoval, 3% ReadyForRemoval; loaded in random order, so that
// the chunks are as a long-lived store has them.
var listBench = sync.OnceValue(func() *memstore.Store {
	const n = 1_000_000
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]store.Number, n)
	for i, j := range r.Perm(n) {
		s := removal.Active
		switch p := r.IntN(100); {
		case p < 3:
			s = removal.ReadyForRemoval
		case p < 10:
			s = removal.MarkedForRemoval
		case p < 15:
			s = removal.ReleaseRequested
		}
		recs[i] = store.Number{TelephoneNumber: e164.Number(fmt.Sprintf("+1425%07d", j)), MSTenantID: benchTenant(max(j%10-3, 0)),
			OperatorConnect: r.IntN(20) != 0, Status: s}
	}
	st := memstore.New()
	if _, err := st.Import(context.Background(), recs, store.ImportOptions{}); err != nil {
		panic(err)
	}
	return st
})

// reportCPU reports the CPU time per iteration since cpu, when the
// platform measures it: on a shared machine, wall time also counts the
// waits for a CPU.
func reportCPU(b *testing.B, cpu time.Duration) {
	if now := cpuTime(); now > 0 && b.N > 0 {
		b.ReportMetric(float64((now-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func benchTenant(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", i) }

// BenchmarkList reads one 200-number page of ListNumbers from 1,000,000
// numbers (target: at most 50 µs): the first page, a page deep by After
// (from the 900,000th number), and page 1,000 by Offset, each with no
// filter, one status (MarkedForRemoval, 66,000 numbers, too few for page
// 1,000; Active, 800,000), the large tenant (380,000), and that tenant
// and two statuses (Active and ReleaseRequested, 340,000).
func BenchmarkList(b *testing.B) {
	st := listBench()
	filters := []struct {
		name string
		q    removal.NumberQuery
	}{
		{"All", removal.NumberQuery{}},
		{"Marked", removal.NumberQuery{Statuses: []removal.NumberStatus{removal.MarkedForRemoval}}},
		{"Active", removal.NumberQuery{Statuses: []removal.NumberStatus{removal.Active}}},
		{"Tenant", removal.NumberQuery{MSTenantID: benchTenant(0)}},
		{"TenantActiveReleaseRequested", removal.NumberQuery{MSTenantID: benchTenant(0), Statuses: []removal.NumberStatus{removal.Active, removal.ReleaseRequested}}},
	}
	pages := []struct {
		name string
		page func(q *removal.NumberQuery)
	}{
		{"First", func(q *removal.NumberQuery) {}},
		{"DeepAfter", func(q *removal.NumberQuery) { q.After = "+14250900000" }},
		{"Offset1000", func(q *removal.NumberQuery) { q.Offset = 999 * 200 }},
	}
	for _, p := range pages {
		for _, f := range filters {
			if p.name == "Offset1000" && f.name == "Marked" {
				continue
			}
			b.Run(p.name+"/"+f.name, func(b *testing.B) {
				q := f.q
				q.Limit = 200
				p.page(&q)
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					got, err := st.ListNumbers(b.Context(), q)
					if err != nil || len(got) != 200 {
						b.Fatalf("%d numbers, %v", len(got), err)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}

// BenchmarkMarkReadyForRemoval500Interleaved runs the three cases of
// BenchmarkMarkReadyForRemoval500 in turn, each for a round of the 16
// batches of its pool (its records reset before, off the clock), so that
// they share whatever load the machine has while each runs with its own
// data in the caches. It reports the median time of a batch of each and
// the ratios of the medians: memstore to the baseline (target: at most 3)
// and memstore to memstore without history (target: at most 1.5).
func BenchmarkMarkReadyForRemoval500Interleaved(b *testing.B) {
	pool := poolNumbers()
	type runner struct {
		name  string
		run   func(i int) time.Duration // the time of batch i
		reset func()
	}
	service := func(name string, st *memstore.Store) runner {
		var recs []store.Number
		for _, batch := range pool {
			for _, tn := range batch {
				recs = append(recs, store.Number{TelephoneNumber: e164.Number(tn), MSTenantID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
					OperatorConnect: true, Status: removal.MarkedForRemoval})
			}
		}
		svc := removal.NewService(st)
		return runner{name: name, run: func(i int) time.Duration {
			start := time.Now()
			res, err := svc.MarkReadyForRemoval(b.Context(), pool[i])
			d := time.Since(start)
			if err != nil || res.SuccessCount != batchSize {
				b.Fatalf("%d successes, %v", res.SuccessCount, err)
			}
			return d
		}, reset: func() {
			if err := st.Put(b.Context(), recs...); err != nil {
				b.Fatal(err)
			}
		}}
	}
	bs := &baselineStore{recs: make(map[string]*baselineRecord)}
	runners := []runner{
		service("memstore", memstore.New()),
		service("nohistory", memstore.New(memstore.WithoutHistory())),
		{name: "baseline", run: func(i int) time.Duration {
			start := time.Now()
			n := bs.markReady(pool[i], time.Now())
			d := time.Since(start)
			if n != batchSize {
				b.Fatalf("%d changed", n)
			}
			return d
		}, reset: func() { bs.reset(pool) }},
	}
	times := make([][]time.Duration, len(runners))
	turn := 0
	for b.Loop() {
		turn++
		for k := range runners { // each case first in turn
			r := runners[(k+turn)%len(runners)]
			r.reset()
			runtime.GC()
			for i := range pool {
				times[(k+turn)%len(runners)] = append(times[(k+turn)%len(runners)], r.run(i))
			}
		}
	}
	med := make([]float64, len(runners))
	for j, r := range runners {
		slices.Sort(times[j])
		med[j] = float64(times[j][len(times[j])/2].Nanoseconds())
		b.ReportMetric(med[j], r.name+"-ns/batch")
	}
	b.ReportMetric(med[0]/med[2], "x-baseline")
	b.ReportMetric(med[0]/med[1], "x-nohistory")
}
