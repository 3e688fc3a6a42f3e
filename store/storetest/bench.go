package storetest

import (
	"context"
	"runtime"
	"testing"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// benchPool is how many 500-number batches a batch benchmark rotates
// through before it resets them, off the clock, with one Put.
const benchPool = 16

// RunBenchmarks measures a backend the same way as every other:
//   - MarkReadyForRemoval500 and ClearRemovalStatus500: one batch of 500
//     MarkedForRemoval numbers through removal.Service, validation
//     included; each iteration gets numbers that are still
//     MarkedForRemoval.
//   - SummaryGlobal and SummaryTenant: Summary over 8,000 numbers in 3
//     tenants.
//
// newStore must return a fresh, empty store on every call.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("MarkReadyForRemoval500", func(b *testing.B) {
		benchBatch(b, newStore(b), (*removal.Service).MarkReadyForRemoval)
	})
	b.Run("ClearRemovalStatus500", func(b *testing.B) {
		benchBatch(b, newStore(b), (*removal.Service).ClearRemovalStatus)
	})
	b.Run("SummaryGlobal", func(b *testing.B) { benchSummary(b, newStore(b), "") })
	b.Run("SummaryTenant", func(b *testing.B) { benchSummary(b, newStore(b), "{"+tenantB+"}") })
}

// batchPool returns benchPool batches of 500 numbers and their records, all
// MarkedForRemoval.
func batchPool() (batches [][]string, recs []store.Number) {
	for i := range benchPool {
		ns := nums(i*removal.MaxBatchSize, removal.MaxBatchSize)
		batches = append(batches, strs(ns))
		for _, n := range ns {
			recs = append(recs, rec(n, tenants[i%len(tenants)], true, removal.MarkedForRemoval))
		}
	}
	return batches, recs
}

func benchBatch(b *testing.B, st store.Store, call func(*removal.Service, context.Context, []string) (removal.BatchResult, error)) {
	svc := newService(st)
	batches, recs := batchPool()
	mustPut(b, st, recs...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(batches) {
			b.StopTimer()
			mustPut(b, st, recs...)
			runtime.GC() // collect the reset's garbage off the clock
			i = 0
			b.StartTimer()
		}
		res, err := call(svc, b.Context(), batches[i])
		if err != nil || res.SuccessCount != removal.MaxBatchSize {
			b.Fatalf("batch %d: %d successes, %v", i, res.SuccessCount, err)
		}
		i++
	}
}

func benchSummary(b *testing.B, st store.Store, tenant string) {
	var recs []store.Number
	for i := range 8000 {
		recs = append(recs, rec(num(i), tenants[i%len(tenants)], i%5 != 0, removal.NumberStatus(i%4)))
	}
	mustPut(b, st, recs...)
	svc := newService(st)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Summary(b.Context(), tenant); err != nil {
			b.Fatal(err)
		}
	}
}
