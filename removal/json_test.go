package removal_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// A time in another zone with nanoseconds: JSON writes it in UTC with six
// fractional digits.
var jsonTime = time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.FixedZone("UTC+02", 2*3600))

func TestNumberJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    removal.Number
		want string
	}{
		{"OperatorConnect", removal.Number{TelephoneNumber: "+14255551212", MSTenantID: tenantX, OperatorConnect: true,
			Status: removal.MarkedForRemoval, StatusChangedAt: jsonTime},
			`{"telephoneNumber":"+14255551212","tenantId":"` + tenantX + `","acquiredNumberStatus":"MarkedForRemoval","operatorConnect":true,"statusChangedAt":"2026-11-22T10:00:00.123456Z"}`},
		{"NotOperatorConnectWholeSecond", removal.Number{TelephoneNumber: "+442071234567", MSTenantID: tenantX,
			Status: removal.Active, StatusChangedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			`{"telephoneNumber":"+442071234567","tenantId":"` + tenantX + `","acquiredNumberStatus":"Active","operatorConnect":false,"statusChangedAt":"2026-01-02T03:04:05.000000Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.n)
			if err != nil || string(b) != tc.want {
				t.Fatalf("Marshal = %s, %v\nwant      %s", b, err, tc.want)
			}
			var back removal.Number
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			want := tc.n
			want.StatusChangedAt = want.StatusChangedAt.UTC().Truncate(time.Microsecond)
			if d := cmp.Diff(want, back); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
	if _, err := json.Marshal(removal.Number{TelephoneNumber: "+14255551212", Status: 7}); err == nil {
		t.Error("a number in status 7 was written to JSON")
	}
	var n removal.Number
	for _, bad := range []string{`{"statusChangedAt":"yesterday"}`, `{"acquiredNumberStatus":"Gone","statusChangedAt":"2026-01-02T03:04:05Z"}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), &n); err == nil {
			t.Errorf("Unmarshal(%s) accepted it", bad)
		}
	}
}

func TestEventJSON(t *testing.T) {
	from, to := removal.MarkedForRemoval, removal.ReadyForRemoval
	for _, tc := range []struct {
		name string
		e    removal.Event
		want string
	}{
		{"Full", removal.Event{TelephoneNumber: "+14255551212", MSTenantID: tenantX, Action: removal.EventReadyForRemoval,
			FromStatus: &from, ToStatus: &to, At: jsonTime, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Actor: "ops@example.com"},
			`{"telephoneNumber":"+14255551212","msTenantId":"` + tenantX + `","action":"readyForRemoval","fromStatus":"MarkedForRemoval","toStatus":"ReadyForRemoval","at":"2026-11-22T10:00:00.123456Z","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","actor":"ops@example.com"}`},
		{"Inserted", removal.Event{TelephoneNumber: "+14255551212", MSTenantID: tenantX, Action: removal.EventImport, ToStatus: &to, At: jsonTime},
			`{"telephoneNumber":"+14255551212","msTenantId":"` + tenantX + `","action":"import","toStatus":"ReadyForRemoval","at":"2026-11-22T10:00:00.123456Z"}`},
		{"Purged", removal.Event{TelephoneNumber: "+14255551212", MSTenantID: tenantX, Action: removal.EventPurge, FromStatus: &to, At: jsonTime, Actor: "job"},
			`{"telephoneNumber":"+14255551212","msTenantId":"` + tenantX + `","action":"purge","fromStatus":"ReadyForRemoval","at":"2026-11-22T10:00:00.123456Z","actor":"job"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.e)
			if err != nil || string(b) != tc.want {
				t.Fatalf("Marshal = %s, %v\nwant      %s", b, err, tc.want)
			}
			var back removal.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			want := tc.e
			want.At = want.At.UTC().Truncate(time.Microsecond)
			if d := cmp.Diff(want, back); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestPageJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"NumberPageByNumber", removal.NumberPage{CurrentPage: 2, PageSize: 1, TotalPages: 3, TotalRecords: 3, Data: []removal.Number{}, NextAfter: "+14255551212"},
			`{"currentPage":2,"pageSize":1,"totalPages":3,"totalRecords":3,"data":[],"nextAfter":"+14255551212"}`},
		{"NumberPageByAfterLast", removal.NumberPage{PageSize: 200, Data: []removal.Number{}},
			`{"pageSize":200,"totalPages":0,"totalRecords":0,"data":[]}`},
		{"EventPage", removal.EventPage{CurrentPage: 1, PageSize: 200, Data: []removal.Event{}},
			`{"currentPage":1,"pageSize":200,"totalPages":0,"totalRecords":0,"data":[]}`},
		{"PurgeResult", removal.PurgeResult{DryRun: true, PurgedCount: 1, TelephoneNumbers: []e164.Number{"+14255551212"}},
			`{"dryRun":true,"purgedCount":1,"telephoneNumbers":["+14255551212"],"more":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil || string(b) != tc.want {
				t.Errorf("Marshal = %s, %v\nwant      %s", b, err, tc.want)
			}
		})
	}
}

func TestReconcileReportJSON(t *testing.T) {
	b, err := json.Marshal(removal.ReconcileReport{})
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range keys {
		got = append(got, k)
	}
	want := []string{"cleared", "dryRun", "marked", "msTenantId", "notOperatorConnect", "otherTenant", "reappeared", "skipped", "stillAcquired", "unchanged", "unknown"}
	if d := cmp.Diff(want, slices.Sorted(slices.Values(got))); d != "" {
		t.Errorf("report keys (-want +got):\n%s", d)
	}
	for _, k := range []string{"marked", "cleared", "reappeared", "stillAcquired", "unknown", "otherTenant", "notOperatorConnect", "skipped"} {
		var l map[string]json.RawMessage
		if err := json.Unmarshal(keys[k], &l); err != nil || l["count"] == nil || l["telephoneNumbers"] == nil {
			t.Errorf("%s = %s, want count and telephoneNumbers", k, keys[k])
		}
	}
	if string(keys["unchanged"]) != `{"count":0}` {
		t.Errorf("unchanged = %s, want only its count", keys["unchanged"])
	}
}

func TestAssignable(t *testing.T) {
	for s, want := range map[removal.NumberStatus]bool{
		removal.Active: true, removal.ReleaseRequested: false, removal.MarkedForRemoval: false, removal.ReadyForRemoval: false,
		-1: false, 4: false,
	} {
		if got := s.Assignable(); got != want {
			t.Errorf("%s.Assignable() = %t, want %t", s, got, want)
		}
	}
}

// TestActionsCannotBeChanged checks that what callers get from the action
// table are copies: changing them changes no action.
func TestActionsCannotBeChanged(t *testing.T) {
	acts := removal.Actions()
	from := acts[0].From()
	want := slices.Clone(from)
	from[0] = removal.ReadyForRemoval
	_ = append(from[:0], removal.Active, removal.ReleaseRequested, removal.ReadyForRemoval)
	if got := acts[0].From(); !slices.Equal(got, want) {
		t.Errorf("%s.From() = %v after a caller changed its copy, want %v", acts[0], got, want)
	}
	if acts[0].Allows(removal.ReadyForRemoval) {
		t.Errorf("%s allows ReadyForRemoval after a caller changed its copy", acts[0])
	}
	acts[0] = removal.WithdrawReleaseRequestAction
	if removal.Actions()[0] != removal.ClearRemovalStatusAction {
		t.Error("changing the slice Actions returned changed the list")
	}
	moves := removal.Transitions()
	moves[0] = removal.Move{From: removal.ReadyForRemoval, To: removal.Active}
	if removal.CanTransition(removal.ReadyForRemoval, removal.Active) {
		t.Error("changing the slice Transitions returned changed the transition table")
	}
	evs := removal.EventActions()
	evs[0] = "x"
	if removal.EventActions()[0] == "x" || !removal.EventClearRemovalStatus.Valid() {
		t.Error("changing the slice EventActions returned changed the list")
	}

	// The service still refuses to move a ReadyForRemoval number.
	_, svc := newCounting(t, 1, removal.ReadyForRemoval)
	res, err := svc.ClearRemovalStatus(t.Context(), []string{"+14255550000"})
	if err != nil || res.SuccessCount != 0 || len(res.Failures) != 1 || res.Failures[0].ErrorCode != removal.CodeInvalidStatus {
		t.Errorf("ClearRemovalStatus of a ReadyForRemoval number = %+v, %v", res, err)
	}
}
