package storetest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// This file holds the suite's own statement of the listing, counting and
// history rules, from which the tests compute what a store must answer.
// None of it calls package removal's implementation of the same rules.

// checker is what the suite's checks need of a *testing.T or a *rapid.T.
type checker interface {
	Helper()
	Context() context.Context
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// The history actions, as the history rules name them.
const (
	evImport removal.EventAction = "import"
	evPurge  removal.EventAction = "purge"
)

// farFuture is later than every event the suite writes: PruneHistory with
// it empties the history of the suite's store.
var farFuture = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)

// filter is a listing filter: the stored numbers of one tenant (all when
// ""), in some statuses (all when none), Operator Connect only unless
// allKinds, changed at or before changedBy (any time when zero), after a
// number (from the first when "").
type filter struct {
	tenant    string
	statuses  []removal.NumberStatus
	allKinds  bool
	changedBy time.Time
	after     e164.Number
}

func (f filter) match(n store.Number) bool {
	if !f.allKinds && !n.OperatorConnect {
		return false
	}
	if f.tenant != "" && n.MSTenantID != f.tenant {
		return false
	}
	if len(f.statuses) > 0 && !slices.Contains(f.statuses, n.Status) {
		return false
	}
	if !f.changedBy.IsZero() && n.StatusChangedAt.After(f.changedBy) {
		return false
	}
	// Go compares strings byte by byte: the order the listing rules fix.
	return f.after == "" || string(n.TelephoneNumber) > string(f.after)
}

// query is the store-level query of f.
func (f filter) query(offset, limit int) removal.NumberQuery {
	return removal.NumberQuery{MSTenantID: f.tenant, Statuses: f.statuses, IncludeNotOperatorConnect: f.allKinds,
		ChangedAtOrBefore: f.changedBy, After: f.after, Offset: offset, Limit: limit}
}

// listed returns the records matching f, in ascending byte order of the
// telephone number.
func listed[M ~map[e164.Number]store.Number](recs M, f filter) []store.Number {
	var out []store.Number
	for _, r := range recs {
		if f.match(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Number) int {
		return strings.Compare(string(a.TelephoneNumber), string(b.TelephoneNumber))
	})
	return out
}

// byNumber indexes records by telephone number.
func byNumber(recs ...store.Number) map[e164.Number]store.Number {
	m := make(map[e164.Number]store.Number, len(recs))
	for _, r := range recs {
		m[r.TelephoneNumber] = r
	}
	return m
}

// window returns at most limit elements of s from offset.
func window[T any](s []T, offset, limit int) []T {
	if offset >= len(s) {
		return nil
	}
	s = s[offset:]
	return s[:min(len(s), limit)]
}

// canonicalTenant is a tenant ID as stores keep it: lower case, no braces.
func canonicalTenant(s string) string { return strings.ToLower(strings.Trim(s, "{}")) }

// wantPage is the page Service.List must return for q over recs, by the
// listing rules: Operator Connect numbers only, byte order, totals over
// every match (after or not), ceil for the pages, nextAfter when more
// follow, currentPage left out with after.
func wantPage(recs map[e164.Number]store.Number, q removal.ListQuery) removal.NumberPage {
	size, page := q.PageSize, q.PageNumber
	if size == 0 {
		size = 200
	}
	if page == 0 {
		page = 1
	}
	f := filter{tenant: canonicalTenant(q.MSTenantID), statuses: q.Statuses}
	all := listed(recs, f)
	out := removal.NumberPage{PageSize: size, TotalRecords: len(all), TotalPages: (len(all) + size - 1) / size}
	rest, start := all, 0
	if q.After != "" {
		f.after = e164.Number(q.After)
		rest = listed(recs, f)
	} else {
		out.CurrentPage = page
		start = (page - 1) * size
	}
	out.Data = window(rest, start, size)
	if start+size < len(rest) {
		out.NextAfter = out.Data[len(out.Data)-1].TelephoneNumber
	}
	return out
}

// cmpEquateEmpty makes nil and empty slices equal in diffs.
var cmpEquateEmpty = cmpopts.EquateEmpty()

// Pages compare with their data by the fields of a record, times by
// instant.
var pageOpts = gocmp.Options{equalTime, cmpEquateEmpty}

// wantCounts checks CountByStatus for all four statuses, for every tenant
// of the suite and all tenants, against a recount of recs.
func wantCounts[M ~map[e164.Number]store.Number](t checker, st store.Store, recs M) {
	t.Helper()
	for _, tenant := range []string{"", tenantA, tenantB, tenantC} {
		var want [4]int
		for _, r := range recs {
			if r.OperatorConnect && (tenant == "" || r.MSTenantID == tenant) {
				want[r.Status]++
			}
		}
		got, err := st.CountByStatus(t.Context(), tenant, removal.Statuses())
		if err != nil {
			t.Fatalf("CountByStatus(%q): %v", tenant, err)
		}
		if !slices.Equal(got, want[:]) {
			t.Fatalf("CountByStatus(%q, all four statuses) = %v, a recount of the records gives %v", tenant, got, want)
		}
	}
}

// event is an expected history event.
func event(n store.Number, a removal.EventAction, from, to *removal.NumberStatus, at time.Time, au removal.Audit) removal.Event {
	return removal.Event{TelephoneNumber: n.TelephoneNumber, MSTenantID: n.MSTenantID, Action: a, FromStatus: from, ToStatus: to,
		At: at.UTC().Truncate(time.Microsecond), TraceID: au.TraceID, Actor: au.Actor}
}

// newestFirst orders events written oldest first as History must return
// them: by At, newest first, and of two at the same instant the one
// written later first.
func newestFirst(written []removal.Event) []removal.Event {
	out := slices.Clone(written)
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b removal.Event) int { return b.At.Compare(a.At) })
	return out
}

// sameEvent is event equality with times compared by instant, without
// reflection.
func sameEvent(a, b removal.Event) bool {
	return a.TelephoneNumber == b.TelephoneNumber && a.MSTenantID == b.MSTenantID && a.Action == b.Action &&
		sameStatus(a.FromStatus, b.FromStatus) && sameStatus(a.ToStatus, b.ToStatus) && a.At.Equal(b.At) &&
		a.TraceID == b.TraceID && a.Actor == b.Actor
}

func sameStatus(a, b *removal.NumberStatus) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// maxHistory is the page the suite reads whole histories with.
const maxHistory = 1000

// readHistory returns every event of n (newest first) and the total the
// store reports.
func readHistory(t checker, st store.Store, n e164.Number) ([]removal.Event, int) {
	t.Helper()
	got, total, err := st.History(t.Context(), n, 0, maxHistory)
	if err != nil {
		t.Fatalf("History(%s): %v", n, err)
	}
	return got, total
}

// wantHistory checks that the history of n is want (newest first).
func wantHistory(t checker, st store.Store, n e164.Number, want []removal.Event) {
	t.Helper()
	got, total := readHistory(t, st, n)
	if total != len(want) || len(got) != len(want) || !slices.EqualFunc(got, want, sameEvent) {
		t.Fatalf("History(%s): total %d, events (-want +got):\n%s", n, total, gocmp.Diff(want, got, equalTime, cmpEquateEmpty))
	}
}

// sortedNumbers returns the telephone numbers of recs, in byte order.
func sortedNumbers(recs []store.Number) []e164.Number {
	out := make([]e164.Number, len(recs))
	for i, r := range recs {
		out[i] = r.TelephoneNumber
	}
	slices.SortFunc(out, func(a, b e164.Number) int { return cmp.Compare(string(a), string(b)) })
	return out
}
