package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

// benchPool is a memstore holding blocks of 500 MarkedForRemoval numbers;
// each iteration consumes one block, and the pool is reset, off the clock,
// when all are used.
type benchPool struct {
	st     *memstore.Store
	blocks [][]string
	bodies [][]byte
	recs   []store.Number
	next   int
}

const benchBlocks = 40

func newBenchPool(b *testing.B) *benchPool {
	p := &benchPool{st: memstore.New()}
	for k := range benchBlocks {
		block := make([]string, removal.MaxBatchSize)
		for i := range block {
			block[i] = fmt.Sprintf("+1206%03d%04d", 200+k, i)
			p.recs = append(p.recs, store.Number{TelephoneNumber: e164.Number(block[i]), MSTenantID: tenantA,
				OperatorConnect: true, Status: removal.MarkedForRemoval})
		}
		p.blocks = append(p.blocks, block)
		body, _ := json.Marshal(map[string][]string{"telephoneNumbers": block})
		p.bodies = append(p.bodies, body)
	}
	p.reset(b)
	return p
}

func (p *benchPool) reset(b *testing.B) {
	if err := p.st.Put(context.Background(), p.recs...); err != nil {
		b.Fatal(err)
	}
	p.next = 0
}

// take returns the index of a fresh block.
func (p *benchPool) take(b *testing.B) int {
	if p.next == len(p.blocks) {
		b.StopTimer()
		p.reset(b)
		b.StartTimer()
	}
	p.next++
	return p.next - 1
}

// BenchmarkReadyForRemoval500 measures one 500-number ready-for-removal
// request three ways in one run: through the handler, the service alone, and
// bare encoding/json on the same body and answer. The target is handler <=
// service + 1.5 * json: the HTTP layer, body decoding included, costs less
// than one and a half bare encoding/json round trips.
func BenchmarkReadyForRemoval500(b *testing.B) {
	b.Run("handler", func(b *testing.B) {
		p := newBenchPool(b)
		h := httpapi.New(removal.NewService(p.st), httpapi.WithRateLimiter(nil))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			k := p.take(b)
			req := httptest.NewRequest(http.MethodPost, httpapi.RouteReadyForRemoval, bytes.NewReader(p.bodies[k]))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"successCount":500`)) {
				b.Fatalf("status %d: %.200s", rec.Code, rec.Body)
			}
		}
	})
	b.Run("service", func(b *testing.B) {
		p := newBenchPool(b)
		svc := removal.NewService(p.st)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			k := p.take(b)
			res, err := svc.MarkReadyForRemoval(context.Background(), p.blocks[k])
			if err != nil || res.SuccessCount != removal.MaxBatchSize {
				b.Fatalf("%+v, %v", res, err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		p := newBenchPool(b)
		env := httpapi.Envelope{
			Data:   removal.BatchResult{ProcessedCount: 500, SuccessCount: 500, Failures: []removal.Failure{}},
			Status: "success", Succeeded: true, Message: "Numbers successfully transitioned to ReadyForRemoval status",
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			k := p.take(b) // same bodies, same rhythm as the others
			var req struct {
				TelephoneNumbers []string `json:"telephoneNumbers"`
			}
			if err := json.Unmarshal(p.bodies[k], &req); err != nil || len(req.TelephoneNumbers) != 500 {
				b.Fatal(err)
			}
			if _, err := json.Marshal(env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListPage measures a 200-number page of the list route three ways
// in one run, on a memstore of 100,000 numbers: through the handler, the
// service's List alone, and a bare json.Marshal of the same page. The target
// is handler <= service + 1.5 * json: serving a page costs at most the
// direct call plus one and a half bare encodings of it.
func BenchmarkListPage(b *testing.B) {
	st := memstore.New()
	var recs []store.Number
	for i := range 100_000 {
		s := removal.Active
		if i%4 == 0 {
			s = removal.MarkedForRemoval
		}
		recs = append(recs, store.Number{TelephoneNumber: e164.Number(fmt.Sprintf("+1206%07d", i)), MSTenantID: tenantA,
			OperatorConnect: true, Status: s})
	}
	if err := st.Put(context.Background(), recs...); err != nil {
		b.Fatal(err)
	}
	svc := removal.NewService(st)
	const target = httpapi.RouteNumbers + "?acquiredNumberStatus=MarkedForRemoval&after=%2B12060050000"
	q := removal.ListQuery{Statuses: []removal.NumberStatus{removal.MarkedForRemoval}, After: "+12060050000"}
	b.Run("handler", func(b *testing.B) {
		h := httpapi.New(svc)
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() < 200*100 {
				b.Fatalf("status %d: %.200s", rec.Code, rec.Body)
			}
		}
	})
	b.Run("service", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			page, err := svc.List(context.Background(), q)
			if err != nil || len(page.Data) != 200 {
				b.Fatalf("%d numbers, %v", len(page.Data), err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		page, err := svc.List(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(page); err != nil {
				b.Fatal(err)
			}
		}
	})
}
