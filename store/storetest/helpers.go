package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// num is the suite's i-th telephone number: +1425 and seven digits.
func num(i int) e164.Number { return e164.Number(fmt.Sprintf("+1425%07d", i)) }

func nums(from, n int) []e164.Number {
	out := make([]e164.Number, n)
	for i := range out {
		out[i] = num(from + i)
	}
	return out
}

func strs(ns []e164.Number) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n)
	}
	return out
}

// Tenants in canonical form; tenantNone never holds a number.
const (
	tenantA    = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	tenantB    = "5d6e7f80-91a2-4b3c-9d4e-5f60718293a4"
	tenantC    = "b0c1d2e3-f4a5-4b6c-8d7e-f8091a2b3c4d"
	tenantNone = "ffffffff-0000-4000-8000-000000000000"
)

var tenants = []string{tenantA, tenantB, tenantC}

// tenantForms are the accepted spellings of a canonical tenant ID.
var tenantForms = []func(string) string{
	func(g string) string { return g },
	strings.ToUpper,
	func(g string) string { return "{" + g + "}" },
	func(g string) string { return "{" + strings.ToUpper(g) + "}" },
}

// putTime is a StatusChangedAt for fixtures: another zone and nanoseconds.
var putTime = time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("UTC-05", -5*3600))

// rec is a fixture record.
func rec(n e164.Number, tenant string, oc bool, s removal.NumberStatus) store.Number {
	return recAt(n, tenant, oc, s, putTime)
}

// recAt is rec with its StatusChangedAt.
func recAt(n e164.Number, tenant string, oc bool, s removal.NumberStatus, at time.Time) store.Number {
	return store.Number{TelephoneNumber: n, MSTenantID: tenant, OperatorConnect: oc, Status: s, StatusChangedAt: at}
}

// normalized is what Get must return for a record given to Put, per the
// store contract (canonical tenant, UTC microseconds). It is written here
// from the contract, not with store.Normalize.
func normalized(n store.Number) store.Number {
	n.MSTenantID = strings.ToLower(strings.Trim(n.MSTenantID, "{}"))
	n.StatusChangedAt = n.StatusChangedAt.UTC().Truncate(time.Microsecond)
	return n
}

// Times are equal when they name the same instant; backends may return any
// location.
var equalTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// Failure details are human text owned by the domain; the suite checks they
// are present, not their wording.
var resultOpts = cmp.Options{cmpopts.IgnoreFields(removal.Failure{}, "Detail"), cmpopts.EquateEmpty()}

// sameResult is cmp.Equal(a, b, resultOpts) without reflection: the model
// test compares thousands of results (cmp.Equal made it 3x slower under
// -race), and cmp.Diff is kept for reporting. helpers_internal_test.go fails
// if a field is added that these comparisons miss.
func sameResult(a, b removal.BatchResult) bool {
	if a.ProcessedCount != b.ProcessedCount || a.SuccessCount != b.SuccessCount || len(a.Failures) != len(b.Failures) {
		return false
	}
	for i, f := range a.Failures {
		g := b.Failures[i]
		if f.TelephoneNumber != g.TelephoneNumber || f.ErrorCode != g.ErrorCode ||
			(f.CurrentStatus == nil) != (g.CurrentStatus == nil) ||
			(f.CurrentStatus != nil && *f.CurrentStatus != *g.CurrentStatus) {
			return false
		}
	}
	return true
}

// sameRecord is cmp.Equal(a, b, equalTime) without reflection.
func sameRecord(a, b store.Number) bool {
	return a.TelephoneNumber == b.TelephoneNumber && a.MSTenantID == b.MSTenantID &&
		a.OperatorConnect == b.OperatorConnect && a.Status == b.Status && a.StatusChangedAt.Equal(b.StatusChangedAt)
}

func mustPut(tb testing.TB, st store.Store, ns ...store.Number) {
	tb.Helper()
	if err := st.Put(tb.Context(), ns...); err != nil {
		tb.Fatalf("Put: %v", err)
	}
}

// fixture is a record of a test batch and whether it is put first: the
// ones not stored are in the batch to meet NumberNotFound.
type fixture struct {
	rec    store.Number
	stored bool
}

// putFixture puts the stored records of fx, in one Put.
func putFixture(tb testing.TB, st store.Store, fx ...fixture) {
	tb.Helper()
	var in []store.Number
	for _, f := range fx {
		if f.stored {
			in = append(in, f.rec)
		}
	}
	if len(in) > 0 {
		mustPut(tb, st, in...)
	}
}

// wantStored checks that Get returns want for its number.
func wantStored(tb testing.TB, st store.Store, want store.Number) {
	tb.Helper()
	got, err := st.Get(tb.Context(), want.TelephoneNumber)
	if err != nil {
		tb.Errorf("Get(%s): %v, want the record", want.TelephoneNumber, err)
		return
	}
	if d := cmp.Diff(want, got, equalTime); d != "" {
		tb.Errorf("Get(%s) mismatch (-want +got):\n%s", want.TelephoneNumber, d)
	}
}

func wantAbsent(tb testing.TB, st store.Store, n e164.Number) {
	tb.Helper()
	got, err := st.Get(tb.Context(), n)
	if !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("Get(%s) = %+v, %v; want ErrNotFound", n, got, err)
	}
}

func wantDetails(tb testing.TB, res removal.BatchResult) {
	tb.Helper()
	for _, f := range res.Failures {
		if f.Detail == "" {
			tb.Errorf("failure for %s (%s) has no detail", f.TelephoneNumber, f.ErrorCode)
		}
	}
}

func statusPtr(s removal.NumberStatus) *removal.NumberStatus { return &s }

// purge removes the stored numbers among ns whatever their status: the
// store deletes only ReadyForRemoval numbers, so they are first put in that
// status.
func purge(ctx context.Context, st store.Store, ns ...e164.Number) error {
	if len(ns) == 0 {
		return nil
	}
	found, err := st.GetMany(ctx, ns)
	if err != nil || len(found) == 0 {
		return err
	}
	del := make([]e164.Number, len(found))
	for i := range found {
		found[i].Status = removal.ReadyForRemoval
		del[i] = found[i].TelephoneNumber
	}
	if err := st.Put(ctx, found...); err != nil {
		return err
	}
	_, err = st.Delete(ctx, del, stampNow)
	return err
}

func mustPurge(tb testing.TB, st store.Store, ns ...e164.Number) {
	tb.Helper()
	if err := purge(tb.Context(), st, ns...); err != nil {
		tb.Fatalf("purging %d numbers: %v", len(ns), err)
	}
}
