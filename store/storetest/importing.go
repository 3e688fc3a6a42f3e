package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// importFixture is a stored inventory and a file to import over it: the
// file holds numbers 8 to 23, of which 8 to 15 are stored, each changed in
// another way (status, tenant and its spelling, Operator Connect flag,
// change time, or nothing), and 16 to 23 are new.
func importFixture() (stored, file []store.Number) {
	for i := range 16 {
		stored = append(stored, store.Number{TelephoneNumber: num(i), MSTenantID: tenants[i%3], OperatorConnect: i%4 != 3,
			Status: removal.NumberStatus(i % 4), StatusChangedAt: putTime.Add(time.Duration(i) * time.Second)})
	}
	for i := 8; i < 24; i++ {
		r := store.Number{TelephoneNumber: num(i), MSTenantID: tenantForms[i%4](tenants[(i+i/3)%3]), OperatorConnect: i%3 != 0,
			Status: removal.NumberStatus((i / 2) % 4), StatusChangedAt: putTime.Add(time.Duration(i) * time.Hour)}
		if i == 8 || i == 13 { // the stored record exactly, in another spelling
			r = stored[i]
			r.MSTenantID = tenantForms[3](r.MSTenantID)
		}
		file = append(file, r)
	}
	return stored, file
}

func testImport(t *testing.T, newStore func(t *testing.T) store.Store) {
	at := importAt.Add(10 * time.Minute)
	for _, mode := range []store.ImportMode{store.Merge, store.Replace} {
		t.Run(mode.String(), func(t *testing.T) {
			st := newStore(t)
			stored, file := importFixture()
			mustImport(t, t.Context(), st, store.Merge, importAt, stored...)
			model := make(map[e164.Number]store.Number)
			history := make(map[e164.Number][]removal.Event)
			for _, r := range stored {
				model[r.TelephoneNumber] = normalized(r)
				history[r.TelephoneNumber] = []removal.Event{inserted(r, importAt, removal.Audit{})}
			}
			wantCounts(t, st, model)

			var want store.ImportResult
			for _, r := range file {
				r = normalized(r)
				old, ok := model[r.TelephoneNumber]
				if !ok {
					want.Inserted++
					model[r.TelephoneNumber] = r
					history[r.TelephoneNumber] = []removal.Event{inserted(r, at, auditFull)}
					continue
				}
				want.Updated++
				if mode == store.Merge {
					// The workflow's state is kept; tenant and flag follow the file.
					if r.Status != old.Status {
						want.StatusKept++
					}
					r.Status, r.StatusChangedAt = old.Status, old.StatusChangedAt
				} else if r.Status != old.Status {
					history[r.TelephoneNumber] = append([]removal.Event{event(r, evImport, statusPtr(old.Status), statusPtr(r.Status), at, auditFull)},
						history[r.TelephoneNumber]...)
				}
				model[r.TelephoneNumber] = r
			}
			got, err := st.Import(withAudit(t.Context(), auditFull), file, store.ImportOptions{Mode: mode, At: at})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("ImportResult = %+v, want %+v", got, want)
			}
			for n, r := range model {
				wantStored(t, st, r)
				wantHistory(t, st, n, history[n])
			}
			wantCounts(t, st, model)

			// The same file again: every number is stored now.
			again, err := st.Import(withAudit(t.Context(), auditFull), file, store.ImportOptions{Mode: mode, At: at.Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			want = store.ImportResult{Updated: len(file)}
			if mode == store.Merge {
				for _, r := range file {
					if r.Status != model[r.TelephoneNumber].Status {
						want.StatusKept++
					}
				}
			}
			if again != want {
				t.Errorf("the same file again: ImportResult = %+v, want %+v", again, want)
			}
			for n, r := range model {
				wantStored(t, st, r)
				wantHistory(t, st, n, history[n])
			}
			wantCounts(t, st, model)
		})
	}

	t.Run("AllOrNothing", func(t *testing.T) {
		for _, mode := range []store.ImportMode{store.Merge, store.Replace} {
			for _, tc := range []struct {
				name string
				bad  store.Number
			}{
				{"InvalidTelephoneNumber", rec("+1425", tenantA, true, removal.Active)},
				{"InvalidTenant", rec(num(90), tenantA+"}", true, removal.Active)},
				{"InvalidStatus", rec(num(90), tenantA, true, removal.NumberStatus(4))},
				{"Duplicate", rec(num(1), tenantB, true, removal.Active)},
				// Times JSON's RFC 3339 cannot write (years 1 to 9999 only).
				{"TimeBeforeYear1", recAt(num(90), tenantA, true, removal.Active, time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC))},
				{"TimeAfterYear9999", recAt(num(90), tenantA, true, removal.Active, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))},
			} {
				t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
					st := newStore(t)
					pre := rec(num(1), tenantA, true, removal.MarkedForRemoval)
					mustImport(t, t.Context(), st, store.Merge, importAt, pre)
					file := []store.Number{
						rec(num(0), tenantA, true, removal.Active),
						rec(num(1), tenantC, false, removal.ReadyForRemoval),
						tc.bad,
						rec(num(2), tenantB, true, removal.MarkedForRemoval),
					}
					res, err := st.Import(t.Context(), file, store.ImportOptions{Mode: mode, At: at})
					if !errors.Is(err, store.ErrInvalidNumber) || res != (store.ImportResult{}) {
						t.Fatalf("Import = %+v, %v; want the zero result and store.ErrInvalidNumber", res, err)
					}
					wantAbsent(t, st, num(0))
					wantAbsent(t, st, num(2))
					wantAbsent(t, st, num(90))
					wantStored(t, st, normalized(pre))
					wantHistory(t, st, num(1), []removal.Event{inserted(pre, importAt, removal.Audit{})})
					wantHistory(t, st, num(0), nil)
					wantCounts(t, st, byNumber(normalized(pre)))
				})
			}
		}
	})

	// The edges of the time range are stored and read back.
	t.Run("TimeRangeEdges", func(t *testing.T) {
		st := newStore(t)
		first := recAt(num(1), tenantA, true, removal.Active, time.Time{})
		last := recAt(num(2), tenantA, true, removal.Active, time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC))
		mustImport(t, t.Context(), st, store.Replace, importAt, first, last)
		wantStored(t, st, normalized(first))
		wantStored(t, st, normalized(last))
	})

	// A mode that is neither Merge nor Replace is refused, nothing stored.
	t.Run("UnknownMode", func(t *testing.T) {
		st := newStore(t)
		res, err := st.Import(t.Context(), []store.Number{rec(num(1), tenantA, true, removal.Active)}, store.ImportOptions{Mode: store.ImportMode(5), At: at})
		if err == nil || res != (store.ImportResult{}) {
			t.Fatalf("Import(mode 5) = %+v, %v; want an error", res, err)
		}
		wantAbsent(t, st, num(1))
		wantHistory(t, st, num(1), nil)
	})

	t.Run("Empty", func(t *testing.T) {
		st := newStore(t)
		for _, ns := range [][]store.Number{nil, {}} {
			for _, mode := range []store.ImportMode{store.Merge, store.Replace} {
				res, err := st.Import(t.Context(), ns, store.ImportOptions{Mode: mode, At: at})
				if err != nil || res != (store.ImportResult{}) {
					t.Errorf("Import(%v, %s) = %+v, %v; want nothing done", ns, mode, res, err)
				}
			}
		}
		wantCounts(t, st, map[e164.Number]store.Number{})
	})

	t.Run("DefaultTime", func(t *testing.T) {
		st := newStore(t)
		r := rec(num(1), tenantA, true, removal.Active)
		before := time.Now()
		mustImport(t, t.Context(), st, store.Merge, time.Time{}, r)
		after := time.Now()
		got, total := readHistory(t, st, r.TelephoneNumber)
		// The store's clock; the suite allows it a minute of skew.
		if total != 1 || len(got) != 1 || got[0].At.Before(before.Add(-time.Minute)) || got[0].At.After(after.Add(time.Minute)) {
			t.Errorf("Import without At: events %+v; want one at about %v", got, before.UTC())
		}
		// The record keeps its own StatusChangedAt.
		wantStored(t, st, normalized(r))
	})

	// Merge moves a number between tenants and in and out of Operator
	// Connect without touching its status: every counter follows.
	t.Run("MergeCounters", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		model := make(map[e164.Number]store.Number)
		put := func(mode store.ImportMode, rs ...store.Number) {
			t.Helper()
			mustImport(t, t.Context(), st, mode, at, rs...)
			for _, r := range rs {
				r = normalized(r)
				if old, ok := model[r.TelephoneNumber]; ok && mode == store.Merge {
					r.Status, r.StatusChangedAt = old.Status, old.StatusChangedAt
				}
				model[r.TelephoneNumber] = r
			}
			wantCounts(t, st, model)
			for _, tenant := range []string{"", tenantA, tenantB} {
				got, err := svc.Summary(t.Context(), tenant)
				if want := recount(model, tenant); err != nil || got != want {
					t.Errorf("Summary(%q) = %+v, %v; want %+v", tenant, got, err, want)
				}
			}
		}
		put(store.Merge, rec(num(0), tenantA, true, removal.MarkedForRemoval), rec(num(1), tenantA, true, removal.ReadyForRemoval),
			rec(num(2), tenantA, false, removal.ReleaseRequested), rec(num(3), tenantB, true, removal.Active))
		put(store.Merge, rec(num(0), tenantB, true, removal.Active), rec(num(1), tenantA, false, removal.Active))
		put(store.Merge, rec(num(2), "{"+tenantB+"}", true, removal.Active), rec(num(3), tenantA, false, removal.MarkedForRemoval))
		put(store.Replace, rec(num(0), tenantA, false, removal.ReadyForRemoval), rec(num(1), tenantB, true, removal.MarkedForRemoval))
		put(store.Merge, rec(num(0), tenantA, true, removal.Active), rec(num(3), tenantB, true, removal.Active))
		if d := cmp.Diff(listed(model, filter{allKinds: true}), getAll(t, st, nums(0, 4)), pageOpts); d != "" {
			t.Errorf("records (-want +got):\n%s", d)
		}
	})
}

// getAll reads the stored numbers among ns with one GetMany.
func getAll(t checker, st store.Store, ns []e164.Number) []store.Number {
	t.Helper()
	got, err := st.GetMany(t.Context(), ns)
	if err != nil {
		t.Fatalf("GetMany of %d numbers: %v", len(ns), err)
	}
	return got
}
