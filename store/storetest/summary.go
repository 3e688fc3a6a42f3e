package storetest

import (
	"errors"
	"testing"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

func sumOf(marked, ready int) removal.Summary {
	return removal.Summary{MarkedForRemovalCount: marked, ReadyForRemovalCount: ready, TotalCount: marked + ready}
}

// wantSummary checks the summary of tenant (canonical, or "" for all) in
// every accepted spelling.
func wantSummary(t *testing.T, svc *removal.Service, tenant string, want removal.Summary) {
	t.Helper()
	forms := tenantForms
	if tenant == "" {
		forms = tenantForms[:1]
	}
	for _, form := range forms {
		got, err := svc.Summary(t.Context(), form(tenant))
		if err != nil {
			t.Errorf("Summary(%q): %v", form(tenant), err)
			continue
		}
		if got != want {
			t.Errorf("Summary(%q) = %+v, want %+v", form(tenant), got, want)
		}
	}
}

func testSummary(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Empty", func(t *testing.T) {
		svc := newService(newStore(t))
		wantSummary(t, svc, "", sumOf(0, 0))
		wantSummary(t, svc, tenantA, sumOf(0, 0))
	})
	t.Run("InvalidTenantId", func(t *testing.T) {
		svc := newService(newStore(t))
		for _, bad := range []string{"x", "0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d", "{" + tenantA, tenantA + "}", "(" + tenantA + ")",
			" " + tenantA, tenantA[:35] + "g", "00000000-0000-0000-0000-00000000000"} {
			got, err := svc.Summary(t.Context(), bad)
			if !errors.Is(err, removal.ErrInvalidRequest) || removal.ErrorCode(err) != removal.CodeInvalidTenantID {
				t.Errorf("Summary(%q) err = %v, want InvalidTenantId", bad, err)
			}
			if got != (removal.Summary{}) {
				t.Errorf("Summary(%q) = %+v, want zero", bad, got)
			}
		}
	})

	// Lifecycle walks one store through every kind of change and checks
	// every tenant's and the global counts after each.
	t.Run("Lifecycle", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		check := func(t *testing.T, a, b, all removal.Summary) {
			t.Helper()
			wantSummary(t, svc, tenantA, a)
			wantSummary(t, svc, tenantB, b)
			wantSummary(t, svc, tenantNone, sumOf(0, 0))
			wantSummary(t, svc, "", all)
		}
		// Tenant A: 3 marked, 2 ready, 1 active, plus non-OC numbers in the
		// removal statuses that must not count. Tenant B: 1 marked, 1 ready.
		mustPut(t, st,
			rec(num(0), tenantA, true, removal.MarkedForRemoval),
			rec(num(1), tenantA, true, removal.MarkedForRemoval),
			rec(num(2), "{"+tenantA+"}", true, removal.MarkedForRemoval),
			rec(num(3), tenantA, true, removal.ReadyForRemoval),
			rec(num(4), tenantA, true, removal.ReadyForRemoval),
			rec(num(5), tenantA, true, removal.Active),
			rec(num(6), tenantA, false, removal.MarkedForRemoval),
			rec(num(7), tenantA, false, removal.ReadyForRemoval),
			rec(num(8), tenantB, true, removal.MarkedForRemoval),
			rec(num(9), tenantB, true, removal.ReadyForRemoval),
			rec(num(10), tenantB, true, removal.ReleaseRequested),
		)
		check(t, sumOf(3, 2), sumOf(1, 1), sumOf(4, 3))

		t.Run("AfterReady", func(t *testing.T) {
			if _, err := svc.MarkReadyForRemoval(t.Context(), []string{string(num(0)), string(num(6)), string(num(8))}); err != nil {
				t.Fatal(err)
			}
			check(t, sumOf(2, 3), sumOf(0, 2), sumOf(2, 5))
		})
		t.Run("AfterClear", func(t *testing.T) {
			if _, err := svc.ClearRemovalStatus(t.Context(), []string{string(num(1)), string(num(3))}); err != nil {
				t.Fatal(err)
			}
			check(t, sumOf(1, 3), sumOf(0, 2), sumOf(1, 5))
		})
		t.Run("AfterMark", func(t *testing.T) {
			if _, err := svc.MarkForRemoval(t.Context(), []string{string(num(5)), string(num(10)), string(num(1))}); err != nil {
				t.Fatal(err)
			}
			check(t, sumOf(3, 3), sumOf(1, 2), sumOf(4, 5))
		})
		t.Run("AfterReplace", func(t *testing.T) {
			// num(2) moves to tenant B and becomes ready; num(3) stops being OC.
			mustPut(t, st,
				rec(num(2), tenantB, true, removal.ReadyForRemoval),
				rec(num(3), tenantA, false, removal.ReadyForRemoval))
			check(t, sumOf(2, 2), sumOf(1, 3), sumOf(3, 5))
		})
		t.Run("AfterReplaceSameValues", func(t *testing.T) {
			mustPut(t, st, rec(num(4), tenantA, true, removal.ReadyForRemoval))
			check(t, sumOf(2, 2), sumOf(1, 3), sumOf(3, 5))
		})
		t.Run("AfterDelete", func(t *testing.T) {
			mustPurge(t, st, num(4), num(9), num(7), num(99))
			check(t, sumOf(2, 1), sumOf(1, 2), sumOf(3, 3))
		})
		t.Run("AfterDeleteAll", func(t *testing.T) {
			mustPurge(t, st, nums(0, 11)...)
			check(t, sumOf(0, 0), sumOf(0, 0), sumOf(0, 0))
		})
	})
}
