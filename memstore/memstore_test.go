package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
	"github.com/ocnumbers/ocnumbers/store/storetest"
)

// TestConformance runs the suite every backend passes, with its default of
// 1000 model sequences.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

const tenant = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

func newFilled(t *testing.T) *memstore.Store {
	t.Helper()
	st := memstore.New()
	err := st.Put(t.Context(), store.Number{TelephoneNumber: "+14255551212", MSTenantID: tenant,
		OperatorConnect: true, Status: removal.MarkedForRemoval})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestCancelledContext checks the package's decision that every method
// refuses a context that is already done and changes nothing.
func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	change := removal.Change{From: []removal.NumberStatus{removal.MarkedForRemoval}, To: removal.ReadyForRemoval, At: time.Now(), Event: removal.EventReadyForRemoval}
	for _, tc := range []struct {
		name string
		call func(st *memstore.Store) error
	}{
		{"Put", func(st *memstore.Store) error {
			return st.Put(ctx, store.Number{TelephoneNumber: "+14255551212", MSTenantID: tenant, Status: removal.Active})
		}},
		{"Get", func(st *memstore.Store) error { _, err := st.Get(ctx, "+14255551212"); return err }},
		{"Delete", func(st *memstore.Store) error {
			_, err := st.Delete(ctx, []e164.Number{"+14255551212"}, time.Now())
			return err
		}},
		{"Apply", func(st *memstore.Store) error {
			out, err := st.Apply(ctx, []e164.Number{"+14255551212"}, change)
			if len(out) != 0 {
				return fmt.Errorf("Apply returned %d outcomes (and %v)", len(out), err)
			}
			return err
		}},
		{"CountByStatus", func(st *memstore.Store) error {
			_, err := st.CountByStatus(ctx, "", []removal.NumberStatus{removal.MarkedForRemoval})
			return err
		}},
		{"Import", func(st *memstore.Store) error {
			_, err := st.Import(ctx, []store.Number{{TelephoneNumber: "+14255551212", MSTenantID: tenant, Status: removal.Active}}, store.ImportOptions{Mode: store.Replace})
			return err
		}},
		{"GetMany", func(st *memstore.Store) error { _, err := st.GetMany(ctx, []e164.Number{"+14255551212"}); return err }},
		{"ListNumbers", func(st *memstore.Store) error {
			_, err := st.ListNumbers(ctx, removal.NumberQuery{Limit: 1})
			return err
		}},
		{"History", func(st *memstore.Store) error { _, _, err := st.History(ctx, "+14255551212", 0, 1); return err }},
		{"PruneHistory", func(st *memstore.Store) error {
			_, err := st.PruneHistory(ctx, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newFilled(t)
			if err := tc.call(st); !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			got, err := st.Get(t.Context(), "+14255551212")
			if err != nil || got.Status != removal.MarkedForRemoval || got.MSTenantID != tenant || !got.OperatorConnect {
				t.Errorf("after the cancelled call: %+v, %v; want the record unchanged", got, err)
			}
			if _, total, err := st.History(t.Context(), "+14255551212", 0, 10); err != nil || total != 1 {
				t.Errorf("after the cancelled call: %d events, %v; want the import's alone", total, err)
			}
		})
	}
}

// TestApplyRefusesIllegalTarget checks that a broken Change is an error,
// not a panic, and changes nothing.
func TestApplyRefusesIllegalTarget(t *testing.T) {
	st := newFilled(t)
	out, err := st.Apply(t.Context(), []e164.Number{"+14255551212"},
		removal.Change{From: []removal.NumberStatus{removal.MarkedForRemoval}, To: removal.NumberStatus(7), Event: removal.EventReadyForRemoval})
	if err == nil || len(out) != 0 {
		t.Errorf("Apply to status 7 = %v, %v; want no outcomes and an error", out, err)
	}
	if got, _ := st.Get(t.Context(), "+14255551212"); got.Status != removal.MarkedForRemoval {
		t.Errorf("status = %v, want MarkedForRemoval", got.Status)
	}
}

// TestCountByStatusUnknownStatus checks the decision that a status outside
// the four counts zero.
func TestCountByStatusUnknownStatus(t *testing.T) {
	st := newFilled(t)
	got, err := st.CountByStatus(t.Context(), tenant, []removal.NumberStatus{removal.MarkedForRemoval, 9, -1})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{1, 0, 0}, got); d != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", d)
	}
}

// TestPutCopies checks that the caller's slice is not kept: changing it
// after Put changes nothing stored.
func TestPutCopies(t *testing.T) {
	st := memstore.New()
	in := []store.Number{{TelephoneNumber: "+14255551212", MSTenantID: tenant, OperatorConnect: true, Status: removal.MarkedForRemoval}}
	if err := st.Put(t.Context(), in...); err != nil {
		t.Fatal(err)
	}
	in[0].Status = removal.Active
	if got, _ := st.Get(t.Context(), "+14255551212"); got.Status != removal.MarkedForRemoval {
		t.Errorf("status = %v after changing the caller's slice, want MarkedForRemoval", got.Status)
	}
}

// TestNotE164 checks that reads and deletes given text that is not E.164
// find nothing, whatever its digits.
func TestNotE164(t *testing.T) {
	st := newFilled(t)
	for _, n := range []e164.Number{"14255551212", "+1425555121 2", "+14255551212x", "+0014255551212", ""} {
		if _, err := st.Get(t.Context(), n); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", n, err)
		}
		if got, _ := st.GetMany(t.Context(), []e164.Number{n}); len(got) != 0 {
			t.Errorf("GetMany(%q) = %v", n, got)
		}
		if _, total, err := st.History(t.Context(), n, 0, 10); total != 0 || err != nil {
			t.Errorf("History(%q) = %d events, %v", n, total, err)
		}
		if out, err := st.Delete(t.Context(), []e164.Number{n}, time.Now()); err != nil || len(out) != 1 || out[0].Found {
			t.Errorf("Delete(%q) = %+v, %v", n, out, err)
		}
	}
}
