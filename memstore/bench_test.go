package memstore_test

import (
	"fmt"
	"runtime"
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
// removal.Service path (validation, Apply, results), with the baseline.
func BenchmarkMarkReadyForRemoval500(b *testing.B) {
	pool := poolNumbers()
	b.Run("memstore", func(b *testing.B) {
		st := memstore.New()
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
		for b.Loop() {
			if i == len(pool) {
				b.StopTimer()
				reset()
				runtime.GC() // collect the reset's garbage off the clock
				i = 0
				b.StartTimer()
			}
			res, err := svc.MarkReadyForRemoval(b.Context(), pool[i])
			if err != nil || res.SuccessCount != batchSize {
				b.Fatalf("%d successes, %v", res.SuccessCount, err)
			}
			i++
		}
	})
	b.Run("baseline", func(b *testing.B) {
		st := &baselineStore{recs: make(map[string]*baselineRecord)}
		st.reset(pool)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == len(pool) {
				b.StopTimer()
				st.reset(pool)
				runtime.GC()
				i = 0
				b.StartTimer()
			}
			if n := st.markReady(pool[i], time.Now()); n != batchSize {
				b.Fatalf("%d changed", n)
			}
			i++
		}
	})
}
