package removal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

func TestReconcileValidation(t *testing.T) {
	pct := func(p int) *int { return &p }
	manyBad := make([]string, 150)
	var manyWant []problem
	for i := range manyBad {
		manyBad[i] = "bad" + strconv.Itoa(i)
		if i < 100 {
			manyWant = append(manyWant, problem{fmt.Sprintf("telephoneNumbers[%d]", i), manyBad[i], removal.CodeInvalidTelephoneNumber, i})
		}
	}
	tooMany := slices.Repeat([]string{"+14255550000"}, removal.MaxAcquiredNumbers+1)
	for _, tc := range []struct {
		name string
		req  removal.ReconcileRequest
		want []problem
	}{
		{"NullTenant", removal.ReconcileRequest{TelephoneNumbers: []string{}}, []problem{{"msTenantId", "", removal.CodeNullRequestBody, -1}}},
		{"NullList", removal.ReconcileRequest{MSTenantID: tenantX}, []problem{{"telephoneNumbers", "", removal.CodeNullRequestBody, -1}}},
		{"NullBoth", removal.ReconcileRequest{}, []problem{{"msTenantId", "", removal.CodeNullRequestBody, -1}, {"telephoneNumbers", "", removal.CodeNullRequestBody, -1}}},
		{"NullListBadTenant", removal.ReconcileRequest{MSTenantID: "x"}, []problem{
			{"telephoneNumbers", "", removal.CodeNullRequestBody, -1}, {"msTenantId", "x", removal.CodeInvalidTenantID, -1}}},
		{"NoTenantBadNumber", removal.ReconcileRequest{TelephoneNumbers: []string{"+1"}, MaxMarkPercent: pct(101)}, []problem{
			{"msTenantId", "", removal.CodeNullRequestBody, -1}, {"telephoneNumbers[0]", "+1", removal.CodeInvalidTelephoneNumber, 0},
			{"maxMarkPercent", "101", removal.CodeInvalidRequestBody, -1}}},
		{"TooManyAndPercent", removal.ReconcileRequest{MSTenantID: tenantX, TelephoneNumbers: tooMany, MaxMarkPercent: pct(-1)}, []problem{
			{"telephoneNumbers", strconv.Itoa(removal.MaxAcquiredNumbers + 1), removal.CodeBatchSizeOutOfRange, -1},
			{"maxMarkPercent", "-1", removal.CodeInvalidRequestBody, -1}}},
		{"BadTenant", removal.ReconcileRequest{MSTenantID: "{" + tenantX, TelephoneNumbers: []string{}}, []problem{{"msTenantId", "{" + tenantX, removal.CodeInvalidTenantID, -1}}},
		{"BadTenantAndNumber", removal.ReconcileRequest{MSTenantID: "{" + tenantX, TelephoneNumbers: []string{"+1"}}, []problem{
			{"msTenantId", "{" + tenantX, removal.CodeInvalidTenantID, -1}, {"telephoneNumbers[0]", "+1", removal.CodeInvalidTelephoneNumber, 0}}},
		{"PercentNegative", removal.ReconcileRequest{MSTenantID: tenantX, TelephoneNumbers: []string{}, MaxMarkPercent: pct(-1)},
			[]problem{{"maxMarkPercent", "-1", removal.CodeInvalidRequestBody, -1}}},
		{"Percent101", removal.ReconcileRequest{MSTenantID: tenantX, TelephoneNumbers: []string{}, MaxMarkPercent: pct(101)},
			[]problem{{"maxMarkPercent", "101", removal.CodeInvalidRequestBody, -1}}},
		{"TooMany", removal.ReconcileRequest{MSTenantID: tenantX, TelephoneNumbers: tooMany},
			[]problem{{"telephoneNumbers", strconv.Itoa(removal.MaxAcquiredNumbers + 1), removal.CodeBatchSizeOutOfRange, -1}}},
		{"BadNumbers", removal.ReconcileRequest{MSTenantID: tenantX, TelephoneNumbers: []string{"+14255550000", "4255550001", "+1425555000 ", "+14255550000", "", "+0123456789"}},
			[]problem{{"telephoneNumbers[1]", "4255550001", removal.CodeInvalidTelephoneNumber, 1}, {"telephoneNumbers[2]", "+1425555000 ", removal.CodeInvalidTelephoneNumber, 2},
				{"telephoneNumbers[4]", "", removal.CodeInvalidTelephoneNumber, 4}, {"telephoneNumbers[5]", "+0123456789", removal.CodeInvalidTelephoneNumber, 5}}},
		{"ManyBadNumbers", removal.ReconcileRequest{MSTenantID: tenantX, TelephoneNumbers: manyBad}, manyWant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, svc := newCounting(t, 3, removal.Active)
			rep, err := svc.Reconcile(t.Context(), tc.req)
			wantProblems(t, err, tc.want...)
			wantProblems(t, removal.ValidateReconcile(tc.req), tc.want...)
			// The invalid numbers beyond those listed are counted.
			wantUnlisted := 0
			if tc.name == "ManyBadNumbers" {
				wantUnlisted = len(manyBad) - removal.MaxListedNumberProblems
			}
			var ve *removal.ValidationError
			if errors.As(err, &ve) && ve.Unlisted != wantUnlisted {
				t.Errorf("Unlisted %d, want %d", ve.Unlisted, wantUnlisted)
			}
			if wantUnlisted > 0 && !strings.HasSuffix(err.Error(), "; and 50 more invalid telephone numbers") {
				t.Errorf("error %q does not count the numbers not listed", err)
			}
			if d := cmp.Diff(removal.ReconcileReport{}, rep); d != "" {
				t.Errorf("report not zero (-want +got):\n%s", d)
			}
			if n := st.calls.Load(); n != 0 {
				t.Errorf("a refused Reconcile made %d store calls", n)
			}
		})
	}
}

// TestReconcileAccepted covers requests at the edges of validity: an
// empty list, duplicates, the longest list, both bounds of the percentage.
func TestReconcileAccepted(t *testing.T) {
	pct := func(p int) *int { return &p }
	longest := slices.Repeat([]string{"+14255550000"}, removal.MaxAcquiredNumbers)
	for _, tc := range []struct {
		name   string
		req    removal.ReconcileRequest
		marked int
	}{
		{"EmptyList", removal.ReconcileRequest{TelephoneNumbers: []string{}}, 3},
		{"Duplicates", removal.ReconcileRequest{TelephoneNumbers: []string{"+14255550001", "+14255550001", "+14255559999", "+14255559999"}}, 2},
		{"Percent0", removal.ReconcileRequest{TelephoneNumbers: []string{}, MaxMarkPercent: pct(0)}, 3},
		{"Percent100", removal.ReconcileRequest{TelephoneNumbers: []string{"+14255550000"}, MaxMarkPercent: pct(100)}, 2},
		{"Longest", removal.ReconcileRequest{TelephoneNumbers: longest}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "Longest" && testing.Short() {
				t.Skip("a list of a million numbers")
			}
			_, svc := newCounting(t, 3, removal.Active)
			req := tc.req
			req.MSTenantID, req.DryRun = "{"+tenantX+"}", true
			rep, err := svc.Reconcile(t.Context(), req)
			if err != nil || rep.Marked.Count != tc.marked || rep.MSTenantID != tenantX || !rep.DryRun {
				t.Errorf("Reconcile = %d marked, tenant %q, dry %t, %v; want %d marked", rep.Marked.Count, rep.MSTenantID, rep.DryRun, err, tc.marked)
			}
		})
	}
}

// cancelAfter is a store that cancels the reconciliation's context once
// its first Apply has returned, so that the run stops between batches.
type cancelAfter struct {
	*countingStore
	cancel context.CancelFunc
}

func (c cancelAfter) Apply(ctx context.Context, ns []e164.Number, ch removal.Change) ([]removal.Outcome, error) {
	defer c.cancel()
	return c.countingStore.Apply(ctx, ns, ch)
}

// TestReconcileCancelled checks that a cancelled run returns exactly what
// it applied, with the context's error, and that running again converges.
func TestReconcileCancelled(t *testing.T) {
	const n = 1200
	st, _ := newCounting(t, n, removal.Active)
	ctx, cancel := context.WithCancel(t.Context())
	svc := removal.NewService(cancelAfter{st, cancel}, removal.WithClock(func() time.Time { return clock }))
	req := removal.ReconcileRequest{MSTenantID: tenantX, TelephoneNumbers: []string{}, Force: true}
	marked := func() []e164.Number {
		got, err := st.ListNumbers(t.Context(), removal.NumberQuery{Statuses: []removal.NumberStatus{removal.MarkedForRemoval}, Limit: n + 1})
		if err != nil {
			t.Fatal(err)
		}
		var out []e164.Number
		for _, r := range got {
			out = append(out, r.TelephoneNumber)
		}
		return out
	}

	rep, err := svc.Reconcile(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep.Marked.Count != removal.MaxBatchSize || rep.Skipped.Count != 0 || rep.Cleared.Count != 0 {
		t.Errorf("a run cancelled after one batch reports %d marked, %d cleared, %d skipped; want %d marked", rep.Marked.Count, rep.Cleared.Count, rep.Skipped.Count, removal.MaxBatchSize)
	}
	if d := cmp.Diff(marked(), rep.Marked.TelephoneNumbers); d != "" {
		t.Errorf("the report's marked numbers are not those stored as marked (-stored +report):\n%s", d)
	}

	// Again, not cancelled: the rest. Then nothing.
	svc = removal.NewService(st, removal.WithClock(func() time.Time { return clock }))
	rep, err = svc.Reconcile(t.Context(), req)
	if err != nil || rep.Marked.Count != n-removal.MaxBatchSize {
		t.Errorf("the second run: %d marked, %v; want %d", rep.Marked.Count, err, n-removal.MaxBatchSize)
	}
	rep, err = svc.Reconcile(t.Context(), req)
	if err != nil || rep.Marked.Count != 0 || rep.Unchanged.Count != n {
		t.Errorf("the third run: %d marked, %d unchanged, %v; want 0 and %d", rep.Marked.Count, rep.Unchanged.Count, err, n)
	}
	if got := len(marked()); got != n {
		t.Errorf("%d numbers marked in the end, want %d", got, n)
	}

	// Already cancelled: nothing read, nothing changed.
	st.calls.Store(0)
	done, stop := context.WithCancel(t.Context())
	stop()
	rep, err = svc.Reconcile(done, req)
	if !errors.Is(err, context.Canceled) || rep.Marked.Count != 0 || st.calls.Load() != 0 {
		t.Errorf("a cancelled context: %+v, %v, %d store calls; want nothing and context.Canceled", rep.Marked, err, st.calls.Load())
	}
}
