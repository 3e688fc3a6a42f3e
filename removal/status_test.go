package removal_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ocnumbers/ocnumbers/removal"
)

func TestStatusValues(t *testing.T) {
	// The integer values are part of the contract: stores persist them.
	want := map[removal.NumberStatus]int{
		removal.Active: 0, removal.ReleaseRequested: 1, removal.MarkedForRemoval: 2, removal.ReadyForRemoval: 3,
	}
	for s, v := range want {
		if int(s) != v {
			t.Errorf("%s = %d, want %d", s, int(s), v)
		}
	}
}

func TestParseStatus(t *testing.T) {
	ok := []struct {
		in   string
		want removal.NumberStatus
	}{
		{"Active", removal.Active},
		{"active", removal.Active},
		{"ACTIVE", removal.Active},
		{"ReleaseRequested", removal.ReleaseRequested},
		{"Release Requested", removal.ReleaseRequested},
		{"release requested", removal.ReleaseRequested},
		{"MarkedForRemoval", removal.MarkedForRemoval},
		{"Marked For Removal", removal.MarkedForRemoval},
		{"markedforremoval", removal.MarkedForRemoval},
		{"ReadyForRemoval", removal.ReadyForRemoval},
		{"Ready For Removal", removal.ReadyForRemoval},
		{"READY FOR REMOVAL", removal.ReadyForRemoval},
		{"0", removal.Active},
		{"1", removal.ReleaseRequested},
		{"2", removal.MarkedForRemoval},
		{"3", removal.ReadyForRemoval},
	}
	for _, c := range ok {
		t.Run(c.in, func(t *testing.T) {
			got, err := removal.ParseStatus(c.in)
			if err != nil || got != c.want {
				t.Fatalf("ParseStatus(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
	bad := []string{"", " ", "4", "-1", "02", "2.0", " Active", "Active ", "Confirmed for Removal",
		"Marked  For Removal", "MarkedFor Removal", "Ready_For_Removal", "Inactive", "\x00", "Activ\u00e9"}
	for _, in := range bad {
		t.Run("reject "+in, func(t *testing.T) {
			_, err := removal.ParseStatus(in)
			if err == nil {
				t.Fatalf("ParseStatus(%q) accepted", in)
			}
			if !strings.Contains(err.Error(), strconv.Quote(in)) {
				t.Errorf("error %q does not name the value %q", err, in)
			}
		})
	}
}

func TestStatusText(t *testing.T) {
	for _, s := range removal.Statuses() {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want := `"` + []string{"Active", "ReleaseRequested", "MarkedForRemoval", "ReadyForRemoval"}[s] + `"`
		if string(b) != want {
			t.Errorf("json.Marshal(%d) = %s, want %s", int(s), b, want)
		}
		var back removal.NumberStatus
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("round trip of %s = %v, %v", b, back, err)
		}
	}
	if _, err := json.Marshal(removal.NumberStatus(7)); err == nil {
		t.Error("marshalling an invalid status succeeded")
	}
	var s removal.NumberStatus
	if err := json.Unmarshal([]byte(`"Ready For Removal"`), &s); err != nil || s != removal.ReadyForRemoval {
		t.Errorf("unmarshal spaced form = %v, %v", s, err)
	}
	if err := json.Unmarshal([]byte(`"Gone"`), &s); err == nil {
		t.Error("unmarshal of an unknown status succeeded")
	}
	if got := removal.NumberStatus(9).String(); got != "NumberStatus(9)" {
		t.Errorf("String of invalid = %q", got)
	}
}

func TestCanTransition(t *testing.T) {
	// The workflow's transition table, written out independently.
	allowed := map[[2]removal.NumberStatus]bool{
		{removal.MarkedForRemoval, removal.Active}:           true,
		{removal.MarkedForRemoval, removal.ReadyForRemoval}:  true,
		{removal.Active, removal.MarkedForRemoval}:           true,
		{removal.ReleaseRequested, removal.MarkedForRemoval}: true,
		{removal.Active, removal.ReleaseRequested}:           true,
		{removal.ReleaseRequested, removal.Active}:           true,
	}
	all := append(removal.Statuses(), -1, 4)
	for _, from := range all {
		for _, to := range all {
			want := allowed[[2]removal.NumberStatus{from, to}]
			if got := removal.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %t, want %t", from, to, got, want)
			}
		}
	}
	for _, to := range all {
		if removal.CanTransition(removal.ReadyForRemoval, to) {
			t.Errorf("ReadyForRemoval -> %s allowed; ReadyForRemoval is final", to)
		}
	}
	if n := len(removal.Transitions()); n != len(allowed) {
		t.Errorf("Transitions() has %d moves, want %d", n, len(allowed))
	}
}

func TestActionsFollowTable(t *testing.T) {
	want := map[string]struct {
		from []removal.NumberStatus
		to   removal.NumberStatus
	}{
		"clear removal status":     {[]removal.NumberStatus{removal.MarkedForRemoval}, removal.Active},
		"ready for removal":        {[]removal.NumberStatus{removal.MarkedForRemoval}, removal.ReadyForRemoval},
		"mark for removal":         {[]removal.NumberStatus{removal.Active, removal.ReleaseRequested}, removal.MarkedForRemoval},
		"request release":          {[]removal.NumberStatus{removal.Active}, removal.ReleaseRequested},
		"withdraw release request": {[]removal.NumberStatus{removal.ReleaseRequested}, removal.Active},
	}
	acts := removal.Actions()
	if len(acts) != len(want) {
		t.Fatalf("%d actions, want %d", len(acts), len(want))
	}
	for _, a := range acts {
		w, ok := want[a.Name()]
		if !ok {
			t.Errorf("unexpected action %q", a.Name())
			continue
		}
		if a.To() != w.to || !slices.Equal(a.From(), w.from) {
			t.Errorf("%s: %v -> %v, want %v -> %v", a, a.From(), a.To(), w.from, w.to)
		}
		for _, f := range a.From() {
			if !removal.CanTransition(f, a.To()) {
				t.Errorf("%s moves %s to %s, which the transition table forbids", a, f, a.To())
			}
		}
	}
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
