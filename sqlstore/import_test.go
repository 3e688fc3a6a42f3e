package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// TestBulkPut covers the batched paths of Put, which the shared suite's
// small Puts do not reach: multi-row statements and their remainder on
// SQLite, COPY and its upsert fallback on PostgreSQL. All or nothing.
func TestBulkPut(t *testing.T) {
	const size = 3050
	recs := func(from int, s removal.NumberStatus) []store.Number {
		out := make([]store.Number, size)
		for i := range out {
			out[i] = record(from+i, s)
			out[i].MSTenantID = strings.ToUpper(tenant) // stored canonical
		}
		return out
	}
	wantStatus := func(t *testing.T, st store.Store, i int, want removal.NumberStatus) {
		t.Helper()
		got, err := st.Get(context.Background(), number(i))
		if err != nil || got.Status != want || got.MSTenantID != tenant {
			t.Errorf("%s: %+v, %v; want %s in tenant %s", number(i), got, err, want, tenant)
		}
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.require(t)
			st := b.open(t)
			mustPut(t, st, recs(0, removal.Active)...)
			for _, i := range []int{0, 99, 100, size - 1} {
				wantStatus(t, st, i, removal.Active)
			}

			// Half already stored: replaced, the rest inserted.
			mustPut(t, st, recs(size/2, removal.MarkedForRemoval)...)
			for _, i := range []int{0, size/2 - 1} {
				wantStatus(t, st, i, removal.Active)
			}
			for _, i := range []int{size / 2, size - 1, size, size/2 + size - 1} {
				wantStatus(t, st, i, removal.MarkedForRemoval)
			}

			for _, c := range []struct {
				name  string
				spoil func([]store.Number)
			}{
				{"DuplicateAtTheEnd", func(r []store.Number) { r[len(r)-1].TelephoneNumber = r[0].TelephoneNumber }},
				{"BadTenantInTheMiddle", func(r []store.Number) { r[len(r)/2].MSTenantID = "not-a-guid" }},
			} {
				t.Run(c.name, func(t *testing.T) {
					in := recs(10*size, removal.ReadyForRemoval)
					c.spoil(in)
					err := st.Put(context.Background(), in...)
					if !errors.Is(err, store.ErrInvalidNumber) {
						t.Fatalf("Put = %v, want ErrInvalidNumber", err)
					}
					if _, err := st.Get(context.Background(), number(10*size+1)); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("a record of the failed Put was stored: %v", err)
					}
				})
			}
		})
	}
}
