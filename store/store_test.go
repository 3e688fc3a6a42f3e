package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

func TestNormalizeAll(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("X", 7200))
	in := []store.Number{
		{TelephoneNumber: "+14255551212", MSTenantID: "{72F988BF-86F1-41AF-91AB-2D7CD011DB47}", Status: removal.MarkedForRemoval, StatusChangedAt: at},
		// The same raw tenant again takes the cached canonical form.
		{TelephoneNumber: "+14255551213", MSTenantID: "{72F988BF-86F1-41AF-91AB-2D7CD011DB47}", OperatorConnect: true},
		{TelephoneNumber: "+14255551214", MSTenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", Status: removal.ReadyForRemoval},
	}
	got, err := store.NormalizeAll(in)
	if err != nil {
		t.Fatal(err)
	}
	const canon = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	want := []store.Number{
		{TelephoneNumber: "+14255551212", MSTenantID: canon, Status: removal.MarkedForRemoval, StatusChangedAt: time.Date(2026, 1, 2, 1, 4, 5, 6000, time.UTC)},
		{TelephoneNumber: "+14255551213", MSTenantID: canon, OperatorConnect: true, StatusChangedAt: time.Time{}.UTC()},
		{TelephoneNumber: "+14255551214", MSTenantID: canon, Status: removal.ReadyForRemoval, StatusChangedAt: time.Time{}.UTC()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	bad := []struct {
		name, want string
		recs       []store.Number
	}{
		{"duplicate", "numbers[0] and numbers[2] are both +14255551212", []store.Number{
			{TelephoneNumber: "+14255551212", MSTenantID: canon}, {TelephoneNumber: "+14255551213", MSTenantID: canon}, {TelephoneNumber: "+14255551212", MSTenantID: canon}}},
		{"bad number", "numbers[1]: ", []store.Number{
			{TelephoneNumber: "+14255551212", MSTenantID: canon}, {TelephoneNumber: "14255551213", MSTenantID: canon}}},
		{"bad cached tenant form still checked", "numbers[1]: ", []store.Number{
			{TelephoneNumber: "+14255551212", MSTenantID: canon}, {TelephoneNumber: "+14255551213", MSTenantID: canon + "}"}}},
		{"bad status", "status 4", []store.Number{{TelephoneNumber: "+14255551212", MSTenantID: canon, Status: 4}}},
		{"before year 1", "outside years 1 to 9999", []store.Number{{TelephoneNumber: "+14255551212", MSTenantID: canon, StatusChangedAt: store.MinStatusChangedAt.Add(-time.Microsecond)}}},
		{"after year 9999", "outside years 1 to 9999", []store.Number{{TelephoneNumber: "+14255551212", MSTenantID: canon, StatusChangedAt: store.MaxStatusChangedAt.Add(time.Microsecond)}}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := store.NormalizeAll(c.recs)
			if !errors.Is(err, store.ErrInvalidNumber) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalidNumber mentioning %q", err, c.want)
			}
		})
	}
}
