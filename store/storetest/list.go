package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// byteOrdered are numbers of several countries and lengths, in ascending
// byte order of the string: a number sorts after its own prefix, and
// "+1425…" before "+44…" before "+8…" whatever their lengths or values.
var byteOrdered = []e164.Number{
	"+142555501", "+1425555010", "+14255550100", "+14255550101", "+2125550100", "+33123456789",
	"+442071234567", "+442071234568", "+74951234567", "+80012345678", "+81312345678",
	"+8613800138000", "+886212345678",
}

// listTime is the StatusChangedAt of the i-th record of listFixture: one
// minute apart, with microseconds.
func listTime(i int) time.Time {
	return time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC).Add(time.Duration(i) * time.Minute)
}

// listFixture holds every status, Operator Connect or not, in three
// tenants (spelled in every accepted form), with distinct change times: the
// numbers of byteOrdered, given out of order, and 36 numbers of the +1425
// block.
func listFixture() []store.Number {
	var ns []e164.Number
	for i := len(byteOrdered) - 1; i >= 0; i-- {
		ns = append(ns, byteOrdered[i])
	}
	for i := range 36 {
		ns = append(ns, num(1000+37*i))
	}
	out := make([]store.Number, len(ns))
	for i, n := range ns {
		out[i] = store.Number{TelephoneNumber: n, MSTenantID: tenantForms[i%len(tenantForms)](tenants[i%len(tenants)]),
			OperatorConnect: i%5 != 2, Status: removal.NumberStatus(i * 7 % 4), StatusChangedAt: listTime(i)}
	}
	return out
}

func testList(t *testing.T, newStore func(t *testing.T) store.Store) {
	st := newStore(t)
	fx := listFixture()
	mustPut(t, st, fx...)
	recs := make(map[e164.Number]store.Number, len(fx))
	for _, r := range fx {
		recs[r.TelephoneNumber] = normalized(r)
	}
	svc := newService(st)

	t.Run("ByteOrder", func(t *testing.T) {
		got, err := st.ListNumbers(t.Context(), removal.NumberQuery{IncludeNotOperatorConnect: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var order []e164.Number
		for _, r := range got {
			if slices.Contains(byteOrdered, r.TelephoneNumber) {
				order = append(order, r.TelephoneNumber)
			}
		}
		if d := cmp.Diff(byteOrdered, order); d != "" {
			t.Errorf("ListNumbers order of the numbers of several countries (-want +got):\n%s", d)
		}
		if len(got) != len(fx) {
			t.Errorf("ListNumbers of every number returned %d, want %d", len(got), len(fx))
		}
	})

	// Every filter of the listing API, each with every paging rule.
	filters := []struct {
		name     string
		tenant   string
		statuses []removal.NumberStatus
	}{
		{"All", "", nil},
		{"TenantA", tenantA, nil},
		{"TenantBUpperBraces", "{" + strings.ToUpper(tenantB) + "}", nil},
		{"TenantNone", tenantNone, nil},
		{"Marked", "", []removal.NumberStatus{removal.MarkedForRemoval}},
		{"ActiveReady", "", []removal.NumberStatus{removal.ReadyForRemoval, removal.Active}},
		{"ReleaseRequestedTwice", "", []removal.NumberStatus{removal.ReleaseRequested, removal.ReleaseRequested}},
		{"AllFourStatuses", "", removal.Statuses()},
		{"TenantCMarkedActive", tenantC, []removal.NumberStatus{removal.MarkedForRemoval, removal.Active}},
		{"TenantBReady", tenantB, []removal.NumberStatus{removal.ReadyForRemoval}},
	}
	for _, f := range filters {
		t.Run("Pages/"+f.name, func(t *testing.T) {
			all := listed(recs, filter{tenant: canonicalTenant(f.tenant), statuses: f.statuses})
			n := len(all)
			var mid, last string
			if n > 0 {
				mid, last = string(all[n/2].TelephoneNumber), string(all[n-1].TelephoneNumber)
			}
			type paging struct {
				name         string
				number, size int
				after        string
			}
			pagings := []paging{
				{"Default", 0, 0, ""},
				{"Size1", 1, 1, ""},
				{"Size1Page2", 2, 1, ""},
				{"Size3Page2", 2, 3, ""},
				{"Size5LastPage", max(1, (n+4)/5), 5, ""},
				{"Size5PastTheEnd", (n+4)/5 + 1, 5, ""},
				{"FarPastTheEnd", 1000, 5, ""},
				{"ExactlyAll", 1, max(1, n), ""},
				{"ExactlyAllPage2", 2, max(1, n), ""},
				{"Max", 1, removal.MaxPageSize, ""},
				{"AfterMiddle", 0, 2, mid},
				{"AfterMiddlePage1", 1, 3, mid},
				{"AfterLast", 0, 2, last},
				{"AfterBeforeAll", 0, 4, "+1200000000"},
				{"AfterBeyondAll", 0, 4, "+998999999999"},
				{"AfterNotStored", 0, 3, "+14255550102"},
				{"AfterPrefix", 0, 3, "+1425555"},
			}
			for _, p := range pagings {
				if p.after == "" && (p.name == "AfterMiddle" || p.name == "AfterMiddlePage1" || p.name == "AfterLast") {
					continue // no numbers match the filter
				}
				q := removal.ListQuery{MSTenantID: f.tenant, Statuses: f.statuses, PageNumber: p.number, PageSize: p.size, After: p.after}
				got, err := svc.List(t.Context(), q)
				if err != nil {
					t.Errorf("%s: List(%+v): %v", p.name, q, err)
					continue
				}
				if d := cmp.Diff(wantPage(recs, q), got, pageOpts); d != "" {
					t.Errorf("%s: List(%+v) mismatch (-want +got):\n%s", p.name, q, d)
				}
				if got.Data == nil {
					t.Errorf("%s: List(%+v).Data is nil; an empty page is []", p.name, q)
				}
			}
		})
	}

	// Walks through every page, by page number and by after, must meet
	// every match once, in order, and end as the rules say.
	for _, f := range filters[:6] {
		for _, size := range []int{1, 4, 200} {
			t.Run(fmt.Sprintf("Walk/%s/Size%d", f.name, size), func(t *testing.T) {
				want := sortedNumbers(listed(recs, filter{tenant: canonicalTenant(f.tenant), statuses: f.statuses}))
				var byNumber, byAfter []e164.Number
				pages := 0
				for page := 1; ; page++ {
					got, err := svc.List(t.Context(), removal.ListQuery{MSTenantID: f.tenant, Statuses: f.statuses, PageNumber: page, PageSize: size})
					if err != nil {
						t.Fatal(err)
					}
					if len(got.Data) == 0 {
						if page != got.TotalPages+1 {
							t.Errorf("page %d is empty, but totalPages is %d", page, got.TotalPages)
						}
						break
					}
					for _, r := range got.Data {
						byNumber = append(byNumber, r.TelephoneNumber)
					}
				}
				after := ""
				for {
					got, err := svc.List(t.Context(), removal.ListQuery{MSTenantID: f.tenant, Statuses: f.statuses, PageSize: size, After: after})
					if err != nil {
						t.Fatal(err)
					}
					pages++
					for _, r := range got.Data {
						byAfter = append(byAfter, r.TelephoneNumber)
					}
					if got.NextAfter == "" {
						if got.TotalPages != max(1, pages) && got.TotalRecords > 0 {
							t.Errorf("the walk by after took %d pages; totalPages is %d", pages, got.TotalPages)
						}
						break
					}
					after = string(got.NextAfter)
					if pages > len(want)+1 {
						t.Fatalf("the walk by after does not end: %d pages for %d numbers", pages, len(want))
					}
				}
				if d := cmp.Diff(want, byNumber, cmpEquateEmpty); d != "" {
					t.Errorf("walk by pageNumber (-want +got):\n%s", d)
				}
				if d := cmp.Diff(want, byAfter, cmpEquateEmpty); d != "" {
					t.Errorf("walk by after (-want +got):\n%s", d)
				}
			})
		}
	}

	t.Run("ListNumbers", func(t *testing.T) {
		for _, tc := range []struct {
			name          string
			f             filter
			offset, limit int
		}{
			{"EveryNumber", filter{allKinds: true}, 0, 1000},
			{"OperatorConnectOnly", filter{}, 0, 1000},
			{"Limit1", filter{allKinds: true}, 0, 1},
			{"Offset", filter{allKinds: true}, 7, 5},
			{"OffsetPastTheEnd", filter{allKinds: true}, len(fx), 5},
			{"OffsetFar", filter{}, 1 << 30, 5},
			{"TenantEveryKind", filter{tenant: tenantB, allKinds: true}, 0, 1000},
			{"TenantNone", filter{tenant: tenantNone, allKinds: true}, 0, 1000},
			{"StatusesEveryKind", filter{statuses: []removal.NumberStatus{removal.MarkedForRemoval, removal.ReadyForRemoval}, allKinds: true}, 0, 1000},
			{"StatusTwice", filter{statuses: []removal.NumberStatus{removal.Active, removal.Active}}, 0, 1000},
			{"ChangedAtOrBeforeExactly", filter{changedBy: listTime(20), allKinds: true}, 0, 1000},
			{"ChangedAtOrBeforeJustBefore", filter{changedBy: listTime(20).Add(-time.Microsecond), allKinds: true}, 0, 1000},
			{"ChangedAtOrBeforeOtherZone", filter{changedBy: listTime(30).In(clockZone)}, 0, 1000},
			{"ChangedAtOrBeforeNothing", filter{changedBy: listTime(-1), allKinds: true}, 0, 1000},
			{"ReadyChangedBeforeTenant", filter{tenant: tenantA, statuses: []removal.NumberStatus{removal.ReadyForRemoval}, changedBy: listTime(40)}, 0, 1000},
			{"After", filter{after: "+442071234567", allKinds: true}, 0, 1000},
			{"AfterPrefix", filter{after: "+1425555010", allKinds: true}, 0, 3},
			{"AfterAndOffset", filter{after: "+14250001000", allKinds: true}, 3, 4},
			{"AfterTenantStatusOffset", filter{after: "+14250001111", tenant: tenantA, statuses: []removal.NumberStatus{removal.Active, removal.ReleaseRequested}}, 1, 3},
			{"AfterLast", filter{after: "+886212345678", allKinds: true}, 0, 10},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := st.ListNumbers(t.Context(), tc.f.query(tc.offset, tc.limit))
				if err != nil {
					t.Fatal(err)
				}
				want := window(listed(recs, tc.f), tc.offset, tc.limit)
				if d := cmp.Diff(want, got, pageOpts); d != "" {
					t.Errorf("ListNumbers mismatch (-want +got):\n%s", d)
				}
			})
		}
	})

	// Store arguments outside the contract (Limit > 0, Offset >= 0) are
	// errors on every backend, not an empty or a whole list.
	t.Run("ListNumbersOutsideContract", func(t *testing.T) {
		for _, q := range []removal.NumberQuery{{Limit: 0}, {Limit: -1}, {Limit: 5, Offset: -1}} {
			if got, err := st.ListNumbers(t.Context(), q); err == nil {
				t.Errorf("ListNumbers(Limit %d, Offset %d) = %d numbers, nil error; want an error", q.Limit, q.Offset, len(got))
			}
		}
		for _, w := range [][2]int{{0, 0}, {0, -1}, {-1, 5}} {
			if got, total, err := st.History(t.Context(), fx[0].TelephoneNumber, w[0], w[1]); err == nil {
				t.Errorf("History(offset %d, limit %d) = %d events of %d, nil error; want an error", w[0], w[1], len(got), total)
			}
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			q    removal.ListQuery
			want []problemField
		}{
			{"PageNumberNegative", removal.ListQuery{PageNumber: -1}, []problemField{{"pageNumber", removal.CodeInvalidQueryParameter}}},
			{"PageSizeNegative", removal.ListQuery{PageSize: -1}, []problemField{{"pageSize", removal.CodeInvalidQueryParameter}}},
			{"PageSizeTooLarge", removal.ListQuery{PageSize: removal.MaxPageSize + 1}, []problemField{{"pageSize", removal.CodeInvalidQueryParameter}}},
			{"BothPaging", removal.ListQuery{PageNumber: -3, PageSize: 5000}, []problemField{
				{"pageNumber", removal.CodeInvalidQueryParameter}, {"pageSize", removal.CodeInvalidQueryParameter}}},
			{"AfterNoPlus", removal.ListQuery{After: "14255550100"}, []problemField{{"after", removal.CodeInvalidQueryParameter}}},
			{"AfterLeadingZero", removal.ListQuery{After: "+04255550100"}, []problemField{{"after", removal.CodeInvalidQueryParameter}}},
			{"AfterSpaces", removal.ListQuery{After: "+1 425 555 0100"}, []problemField{{"after", removal.CodeInvalidQueryParameter}}},
			{"AfterWithPage2", removal.ListQuery{After: "+14255550100", PageNumber: 2}, []problemField{{"pageNumber", removal.CodeInvalidQueryParameter}}},
			{"StatusOutOfRange", removal.ListQuery{Statuses: []removal.NumberStatus{removal.Active, 4}}, []problemField{{"acquiredNumberStatus", removal.CodeInvalidQueryParameter}}},
			{"StatusNegative", removal.ListQuery{Statuses: []removal.NumberStatus{-1}}, []problemField{{"acquiredNumberStatus", removal.CodeInvalidQueryParameter}}},
			{"Tenant", removal.ListQuery{MSTenantID: "not-a-guid"}, []problemField{{"msTenantId", removal.CodeInvalidTenantID}}},
			{"TenantOneBrace", removal.ListQuery{MSTenantID: "{" + tenantA}, []problemField{{"msTenantId", removal.CodeInvalidTenantID}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := svc.List(t.Context(), tc.q)
				wantProblems(t, err, tc.want)
				if d := cmp.Diff(removal.NumberPage{}, got, cmpEquateEmpty); d != "" {
					t.Errorf("page not zero (-want +got):\n%s", d)
				}
			})
		}
	})

	t.Run("Get", func(t *testing.T) {
		for _, r := range fx {
			got, err := svc.Get(t.Context(), string(r.TelephoneNumber))
			if err != nil {
				t.Errorf("Get(%s): %v", r.TelephoneNumber, err)
				continue
			}
			if d := cmp.Diff(normalized(r), got, equalTime); d != "" {
				t.Errorf("Get(%s) mismatch (-want +got):\n%s", r.TelephoneNumber, d)
			}
		}
		for _, absent := range []string{"+14255550102", "+1425555", "+998999999999"} {
			got, err := svc.Get(t.Context(), absent)
			if !errors.Is(err, removal.ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get(%s) = %+v, %v; want ErrNotFound", absent, got, err)
			}
		}
		for _, bad := range []string{"", "14255550100", "+1", "+0123456789", "+14255550100 "} {
			_, err := svc.Get(t.Context(), bad)
			wantProblems(t, err, []problemField{{"telephoneNumber", removal.CodeInvalidTelephoneNumber}})
		}
	})

	t.Run("GetMany", func(t *testing.T) {
		every := make([]e164.Number, 0, len(fx))
		for _, r := range fx {
			every = append(every, r.TelephoneNumber)
		}
		for _, tc := range []struct {
			name string
			ns   []e164.Number
		}{
			{"Nil", nil},
			{"Empty", []e164.Number{}},
			{"Absent", []e164.Number{"+14255550102"}},
			{"One", []e164.Number{"+81312345678"}},
			{"MixedOutOfOrder", []e164.Number{"+886212345678", "+14255550102", "+142555501", "+442071234568", "+1425555", num(1000 + 37*5), "+2125550100"}},
			{"Every", every},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := st.GetMany(t.Context(), tc.ns)
				if err != nil {
					t.Fatal(err)
				}
				var want []store.Number
				for _, n := range tc.ns {
					if r, ok := recs[n]; ok {
						want = append(want, r)
					}
				}
				want = listed(byNumber(want...), filter{allKinds: true})
				if d := cmp.Diff(want, got, pageOpts); d != "" {
					t.Errorf("GetMany mismatch (-want +got):\n%s", d)
				}
				if got == nil {
					t.Error("GetMany returned nil, want a list (empty when none is found) on every backend")
				}
			})
		}
	})
}

// problemField is the part of a removal.Problem a non-batch request's
// validation fixes: which field, which code.
type problemField struct {
	Field, Code string
}

// wantProblems checks that err is a *removal.ValidationError matching
// removal.ErrInvalidRequest with exactly these problems, in order, and
// the first one's code.
func wantProblems(t *testing.T, err error, want []problemField) {
	t.Helper()
	var ve *removal.ValidationError
	if !errors.Is(err, removal.ErrInvalidRequest) || !errors.As(err, &ve) {
		t.Errorf("err = %v, want a *removal.ValidationError", err)
		return
	}
	var got []problemField
	for _, p := range ve.Problems {
		got = append(got, problemField{p.Field, p.Code})
		if p.Message == "" {
			t.Errorf("problem %s has no message", p.Field)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", d)
	}
	if c := removal.ErrorCode(err); c != want[0].Code {
		t.Errorf("ErrorCode = %q, want the first problem's %q", c, want[0].Code)
	}
}
