package removal_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
)

// TestNumberJSONFastPathMatchesEncoder: the hand-written encoding of a
// canonical record is byte for byte what encoding/json gives the same
// members, and a record that needs escaping goes through encoding/json.
func TestNumberJSONFastPathMatchesEncoder(t *testing.T) {
	at := time.Date(2026, 11, 22, 11, 0, 0, 123456789, time.FixedZone("X", 3600))
	type wire struct {
		TelephoneNumber      string `json:"telephoneNumber"`
		TenantID             string `json:"tenantId"`
		AcquiredNumberStatus string `json:"acquiredNumberStatus"`
		OperatorConnect      bool   `json:"operatorConnect"`
		StatusChangedAt      string `json:"statusChangedAt"`
	}
	for _, n := range []removal.Number{
		{TelephoneNumber: "+14255551212", MSTenantID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", OperatorConnect: true, Status: removal.MarkedForRemoval, StatusChangedAt: at},
		{TelephoneNumber: "+14255551212", MSTenantID: "a\"<b>&\u2028", Status: removal.Active},
		{TelephoneNumber: "+1425\n", MSTenantID: "x", Status: removal.ReadyForRemoval},
	} {
		got, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(wire{string(n.TelephoneNumber), n.MSTenantID, n.Status.String(), n.OperatorConnect,
			n.StatusChangedAt.UTC().Format(removal.TimeLayout)})
		if string(got) != string(want) {
			t.Errorf("Marshal(%+v)\n got %s\nwant %s", n, got, want)
		}
		var back removal.Number
		if err := json.Unmarshal(got, &back); err != nil || back.TelephoneNumber != n.TelephoneNumber || !back.StatusChangedAt.Equal(n.StatusChangedAt.Truncate(time.Microsecond)) {
			t.Errorf("round trip of %s: %+v, %v", got, back, err)
		}
	}
	if _, err := json.Marshal(removal.Number{Status: 7}); err == nil {
		t.Error("an invalid status marshalled")
	}
}

// TestNumberPageJSON: the page's own encoding equals encoding/json's of the
// same members (currentPage and nextAfter left out when zero).
func TestNumberPageJSON(t *testing.T) {
	type wire struct {
		CurrentPage  int              `json:"currentPage,omitempty"`
		PageSize     int              `json:"pageSize"`
		TotalPages   int              `json:"totalPages"`
		TotalRecords int              `json:"totalRecords"`
		Data         []removal.Number `json:"data"`
		NextAfter    string           `json:"nextAfter,omitempty"`
	}
	n := removal.Number{TelephoneNumber: "+14255551212", MSTenantID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", Status: removal.Active}
	for _, p := range []removal.NumberPage{
		{CurrentPage: 2, PageSize: 1, TotalPages: 3, TotalRecords: 3, Data: []removal.Number{n}, NextAfter: n.TelephoneNumber},
		{PageSize: 200, Data: []removal.Number{}},
		{PageSize: 2, TotalPages: 1, TotalRecords: 2, Data: []removal.Number{n, n}},
	} {
		got, err := json.Marshal(p)
		want, _ := json.Marshal(wire{p.CurrentPage, p.PageSize, p.TotalPages, p.TotalRecords, p.Data, string(p.NextAfter)})
		if err != nil || string(got) != string(want) {
			t.Errorf("Marshal(%+v) = %s, %v\nwant %s", p, got, err, want)
		}
	}
}
