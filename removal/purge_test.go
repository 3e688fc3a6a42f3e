package removal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

func TestPurgeValidation(t *testing.T) {
	const b = removal.CodeInvalidRequestBody
	for _, tc := range []struct {
		name string
		req  removal.PurgeRequest
		want []problem
	}{
		{"OlderThanNegative", removal.PurgeRequest{OlderThan: -time.Nanosecond}, []problem{{"olderThan", "-1ns", b, -1}}},
		{"LimitTooLarge", removal.PurgeRequest{Limit: removal.MaxPurgeLimit + 1}, []problem{{"limit", "10001", b, -1}}},
		{"LimitNegative", removal.PurgeRequest{Limit: -1}, []problem{{"limit", "-1", b, -1}}},
		{"Both", removal.PurgeRequest{OlderThan: -time.Hour, Limit: 1 << 40}, []problem{{"olderThan", "-1h0m0s", b, -1}, {"limit", "1099511627776", b, -1}}},
		{"Tenant", removal.PurgeRequest{MSTenantID: "not-a-guid"}, []problem{{"msTenantId", "not-a-guid", removal.CodeInvalidTenantID, -1}}},
		{"TenantAndLimit", removal.PurgeRequest{MSTenantID: "not-a-guid", Limit: -1}, []problem{
			{"limit", "-1", removal.CodeInvalidRequestBody, -1}, {"msTenantId", "not-a-guid", removal.CodeInvalidTenantID, -1}}},
		{"TenantUpperNoBraceEnd", removal.PurgeRequest{MSTenantID: "{" + strings.ToUpper(tenantX)}, []problem{{"msTenantId", "{" + strings.ToUpper(tenantX), removal.CodeInvalidTenantID, -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, svc := newCounting(t, 3, removal.ReadyForRemoval)
			for _, confirm := range []bool{false, true} {
				req := tc.req
				req.Confirm = confirm
				res, err := svc.Purge(t.Context(), req)
				wantProblems(t, err, tc.want...)
				wantProblems(t, removal.ValidatePurge(req), tc.want...)
				if d := cmp.Diff(removal.PurgeResult{}, res); d != "" {
					t.Errorf("result not zero (-want +got):\n%s", d)
				}
			}
			if n := st.calls.Load(); n != 0 {
				t.Errorf("a refused Purge made %d store calls", n)
			}
		})
	}
}

// TestPurgeDefaults checks what the zero fields mean: a dry run, no
// retention, every tenant, at most MaxPurgeLimit numbers.
func TestPurgeDefaults(t *testing.T) {
	st, svc := newCounting(t, 3, removal.ReadyForRemoval)
	all := []e164.Number{"+14255550000", "+14255550001", "+14255550002"}
	res, err := svc.Purge(t.Context(), removal.PurgeRequest{})
	want := removal.PurgeResult{DryRun: true, PurgedCount: 3, TelephoneNumbers: all}
	if d := cmp.Diff(want, res); d != "" || err != nil {
		t.Errorf("Purge(zero request) = %v (-want +got):\n%s", err, d)
	}
	if n, _ := st.CountByStatus(t.Context(), "", []removal.NumberStatus{removal.ReadyForRemoval}); n[0] != 3 {
		t.Errorf("a dry run deleted numbers: %d left", n[0])
	}
	res, err = svc.Purge(t.Context(), removal.PurgeRequest{Confirm: true, Limit: removal.MaxPurgeLimit})
	want.DryRun = false
	if d := cmp.Diff(want, res); d != "" || err != nil {
		t.Errorf("Purge(Confirm) = %v (-want +got):\n%s", err, d)
	}
	// Imported on 2026-01-01; the clock is 2026-11-22: 325 days are kept.
	_, svc = newCounting(t, 3, removal.ReadyForRemoval)
	res, err = svc.Purge(t.Context(), removal.PurgeRequest{OlderThan: 400 * 24 * time.Hour, Limit: 1})
	if err != nil || res.PurgedCount != 0 || res.More {
		t.Errorf("Purge(older than 400 days) = %+v, %v; want nothing", res, err)
	}
	res, err = svc.Purge(t.Context(), removal.PurgeRequest{OlderThan: 300 * 24 * time.Hour, Limit: 1})
	if err != nil || res.PurgedCount != 1 || !res.More || res.TelephoneNumbers[0] != all[0] {
		t.Errorf("Purge(older than 300 days, limit 1) = %+v, %v; want the first and more", res, err)
	}
}

func TestPurgeCancelled(t *testing.T) {
	st, svc := newCounting(t, 3, removal.ReadyForRemoval)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := svc.Purge(ctx, removal.PurgeRequest{Confirm: true})
	if !errors.Is(err, context.Canceled) || res.PurgedCount != 0 || st.calls.Load() != 0 {
		t.Errorf("Purge(cancelled) = %+v, %v after %d store calls; want nothing and context.Canceled", res, err, st.calls.Load())
	}
}
