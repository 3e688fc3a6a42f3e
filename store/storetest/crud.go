package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

func testPutGetDelete(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		st := newStore(t)
		var in []store.Number
		for i, s := range removal.Statuses() {
			in = append(in,
				rec(num(2*i), tenants[i%len(tenants)], true, s),
				rec(num(2*i+1), tenants[(i+1)%len(tenants)], false, s))
		}
		mustPut(t, st, in...)
		for _, n := range in {
			wantStored(t, st, normalized(n))
		}
	})
	t.Run("TimeNormalized", func(t *testing.T) {
		st := newStore(t)
		n := rec(num(1), tenantA, true, removal.Active)
		mustPut(t, st, n)
		got, err := st.Get(t.Context(), n.TelephoneNumber)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2025, 3, 4, 10, 6, 7, 890123000, time.UTC) // putTime in UTC, to the microsecond
		if !got.StatusChangedAt.Equal(want) {
			t.Errorf("StatusChangedAt = %v, want %v", got.StatusChangedAt, want)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st, rec(num(1), tenantA, true, removal.MarkedForRemoval))
		repl := store.Number{TelephoneNumber: num(1), MSTenantID: tenantB, OperatorConnect: false,
			Status: removal.ReadyForRemoval, StatusChangedAt: putTime.Add(time.Hour)}
		mustPut(t, st, repl)
		wantStored(t, st, normalized(repl))
	})
	t.Run("NotFound", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st, rec(num(1), tenantA, true, removal.Active))
		wantAbsent(t, st, num(2))
	})
	t.Run("CanonicalTenant", func(t *testing.T) {
		st := newStore(t)
		var in []store.Number
		for i, form := range tenantForms {
			in = append(in, rec(num(i), form(tenantB), true, removal.Active))
		}
		mustPut(t, st, in...)
		for _, n := range in {
			want := n
			want.MSTenantID = tenantB
			want.StatusChangedAt = want.StatusChangedAt.UTC().Truncate(time.Microsecond)
			wantStored(t, st, want)
		}
	})
	t.Run("ZeroNumbers", func(t *testing.T) {
		st := newStore(t)
		if err := st.Put(t.Context()); err != nil {
			t.Errorf("Put() = %v, want nil", err)
		}
		if err := st.Put(t.Context(), []store.Number{}...); err != nil {
			t.Errorf("Put(empty) = %v, want nil", err)
		}
	})
	for _, tc := range []struct {
		name string
		bad  store.Number
	}{
		{"InvalidTelephoneNumber", rec("+0123456789", tenantA, true, removal.Active)},
		{"NoPlus", rec("14255550100", tenantA, true, removal.Active)},
		{"InvalidTenant", rec(num(90), "not-a-guid", true, removal.Active)},
		{"EmptyTenant", rec(num(90), "", true, removal.Active)},
		{"StatusTooHigh", rec(num(90), tenantA, true, removal.NumberStatus(4))},
		{"StatusNegative", rec(num(90), tenantA, true, removal.NumberStatus(-1))},
		{"Duplicate", rec(num(0), tenantB, true, removal.MarkedForRemoval)},
	} {
		t.Run("AllOrNothing/"+tc.name, func(t *testing.T) {
			st := newStore(t)
			// num(5) is stored before the call: a failed Put must not replace it.
			pre := rec(num(5), tenantC, true, removal.ReleaseRequested)
			mustPut(t, st, pre)
			batch := []store.Number{
				rec(num(0), tenantA, true, removal.Active),
				rec(num(1), tenantA, true, removal.MarkedForRemoval),
				rec(num(5), tenantA, true, removal.Active),
				tc.bad,
				rec(num(2), tenantA, true, removal.Active),
			}
			err := st.Put(t.Context(), batch...)
			if !errors.Is(err, store.ErrInvalidNumber) {
				t.Fatalf("Put = %v, want an error matching store.ErrInvalidNumber", err)
			}
			for _, i := range []int{0, 1, 2, 90} {
				wantAbsent(t, st, num(i))
			}
			wantStored(t, st, normalized(pre))
			sum, err := newService(st).Summary(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if sum != (removal.Summary{}) {
				t.Errorf("Summary after failed Put = %+v, want zero", sum)
			}
		})
	}
	t.Run("DeleteOnlyReadyForRemoval", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st,
			rec(num(0), tenantA, true, removal.ReadyForRemoval),
			rec(num(1), tenantA, false, removal.ReadyForRemoval),
			rec(num(2), tenantB, true, removal.MarkedForRemoval))
		for _, tc := range []struct {
			name string
			del  []int
			want []removal.Outcome
		}{
			{"None", nil, nil},
			{"Absent", []int{7}, []removal.Outcome{{}}},
			{"OneAndAbsent", []int{0, 7}, []removal.Outcome{{Found: true, OperatorConnect: true, Status: removal.ReadyForRemoval, Changed: true}, {}}},
			{"AlreadyDeleted", []int{0}, []removal.Outcome{{}}},
			{"NotOCAndMarked", []int{1, 2, 8}, []removal.Outcome{
				{Found: true, Status: removal.ReadyForRemoval, Changed: true},
				{Found: true, OperatorConnect: true, Status: removal.MarkedForRemoval},
				{}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var del = nums(0, 0)
				for _, i := range tc.del {
					del = append(del, num(i))
				}
				got, err := st.Delete(t.Context(), del, stampNow)
				if err != nil || !cmp.Equal(got, tc.want, cmpopts.EquateEmpty()) {
					t.Errorf("Delete(%v) = %+v, %v; want %+v, nil", del, got, err, tc.want)
				}
				for i, n := range del {
					if tc.want[i].Changed {
						wantAbsent(t, st, n)
					}
				}
			})
		}
		wantStored(t, st, normalized(rec(num(2), tenantB, true, removal.MarkedForRemoval)))
	})
	t.Run("DeleteThenPut", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st, rec(num(0), tenantA, true, removal.ReadyForRemoval))
		if _, err := st.Delete(t.Context(), nums(0, 1), stampNow); err != nil {
			t.Fatal(err)
		}
		again := rec(num(0), tenantB, true, removal.Active)
		mustPut(t, st, again)
		wantStored(t, st, normalized(again))
	})
}
