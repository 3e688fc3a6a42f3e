package main

import (
	"context"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// Demo tenants. Contoso holds the platform's documented example numbers.
const (
	demoContoso  = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	demoFabrikam = "9b2e1c4a-3f5d-4e6b-8a7c-1d2e3f4a5b6c"
	demoNorthwnd = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
)

// demoInventory has every status, some numbers not Operator Connect, and the
// platform's documented example numbers +14255551212 and +14255551213 in
// MarkedForRemoval for the README's curl lines.
func demoInventory(at time.Time) []store.Number {
	n := func(tel, tenant string, oc bool, s removal.NumberStatus) store.Number {
		return store.Number{TelephoneNumber: e164.Number(tel), MSTenantID: tenant, OperatorConnect: oc, Status: s, StatusChangedAt: at}
	}
	return []store.Number{
		n("+14255551212", demoContoso, true, removal.MarkedForRemoval),
		n("+14255551213", demoContoso, true, removal.MarkedForRemoval),
		n("+14255551214", demoContoso, true, removal.Active),
		n("+14255551215", demoContoso, true, removal.ReleaseRequested),
		n("+14255551216", demoContoso, true, removal.ReadyForRemoval),
		n("+14255551217", demoContoso, false, removal.MarkedForRemoval),
		n("+14151231234", demoFabrikam, true, removal.MarkedForRemoval),
		n("+14151231235", demoFabrikam, true, removal.ReadyForRemoval),
		n("+14151231236", demoFabrikam, true, removal.Active),
		n("+442071838750", demoNorthwnd, true, removal.MarkedForRemoval),
		n("+442071838751", demoNorthwnd, true, removal.Active),
		n("+442071838752", demoNorthwnd, false, removal.Active),
	}
}

// loadDemo puts the demo inventory when the store counts no Operator Connect
// number. It returns how many Operator Connect numbers the store held: 0
// when it loaded the demo.
func loadDemo(ctx context.Context, st store.Store) (int, error) {
	counts, err := st.CountByStatus(ctx, "", removal.Statuses())
	if err != nil {
		return 0, err
	}
	held := 0
	for _, c := range counts {
		held += c
	}
	if held > 0 {
		return held, nil
	}
	return 0, st.Put(ctx, demoInventory(time.Now())...)
}
