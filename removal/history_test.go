package removal_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

func TestHistoryValidation(t *testing.T) {
	const q = removal.CodeInvalidQueryParameter
	for _, tc := range []struct {
		name, number string
		q            removal.HistoryQuery
		want         []problem
	}{
		{"NotE164", "4255550000", removal.HistoryQuery{}, []problem{{"telephoneNumber", "4255550000", removal.CodeInvalidTelephoneNumber, -1}}},
		{"Empty", "", removal.HistoryQuery{}, []problem{{"telephoneNumber", "", removal.CodeInvalidTelephoneNumber, -1}}},
		{"Spaces", " +14255550000", removal.HistoryQuery{}, []problem{{"telephoneNumber", " +14255550000", removal.CodeInvalidTelephoneNumber, -1}}},
		{"PageNumber", "+14255550000", removal.HistoryQuery{PageNumber: -1}, []problem{{"pageNumber", "-1", q, -1}}},
		{"PageSize", "+14255550000", removal.HistoryQuery{PageSize: removal.MaxPageSize + 1}, []problem{{"pageSize", "1001", q, -1}}},
		{"Both", "+14255550000", removal.HistoryQuery{PageNumber: -1, PageSize: -1}, []problem{{"pageNumber", "-1", q, -1}, {"pageSize", "-1", q, -1}}},
		{"NumberAndPageSize", "abc", removal.HistoryQuery{PageSize: -1}, []problem{
			{"telephoneNumber", "abc", removal.CodeInvalidTelephoneNumber, -1}, {"pageSize", "-1", q, -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, svc := newCounting(t, 1, removal.Active)
			page, err := svc.History(t.Context(), tc.number, tc.q)
			wantProblems(t, err, tc.want...)
			wantProblems(t, removal.ValidateHistoryQuery(tc.number, tc.q), tc.want...)
			if d := cmp.Diff(removal.EventPage{}, page); d != "" {
				t.Errorf("page not zero (-want +got):\n%s", d)
			}
			if n := st.calls.Load(); n != 0 {
				t.Errorf("a refused History made %d store calls", n)
			}
		})
	}
}

// TestHistoryNotFound checks the rule of the not-found answer: a number
// neither stored nor with events is not found; a stored number without
// events has an empty page; a deleted number's history stays.
func TestHistoryNotFound(t *testing.T) {
	st, svc := newCounting(t, 2, removal.ReadyForRemoval)
	ctx := t.Context()
	if _, err := svc.History(ctx, "+14255559999", removal.HistoryQuery{}); !errors.Is(err, removal.ErrNotFound) {
		t.Errorf("History(never stored) err = %v, want ErrNotFound", err)
	}
	page, err := svc.History(ctx, "+14255550000", removal.HistoryQuery{PageSize: 1})
	if err != nil || page.TotalRecords != 1 || page.TotalPages != 1 || page.CurrentPage != 1 || page.PageSize != 1 || len(page.Data) != 1 {
		t.Errorf("History of an imported number = %+v, %v; want its import event", page, err)
	}
	if _, err := st.Delete(ctx, []e164.Number{"+14255550001"}, clock); err != nil {
		t.Fatal(err)
	}
	page, err = svc.History(ctx, "+14255550001", removal.HistoryQuery{})
	if err != nil || page.TotalRecords != 2 || page.Data[0].Action != removal.EventPurge {
		t.Errorf("History of a purged number = %+v, %v; want its purge and import events", page, err)
	}
	if n, err := svc.PruneHistory(ctx, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 3 {
		t.Fatalf("PruneHistory = %d, %v; want 3", n, err)
	}
	page, err = svc.History(ctx, "+14255550000", removal.HistoryQuery{})
	want := removal.EventPage{CurrentPage: 1, PageSize: removal.DefaultPageSize, Data: []removal.Event{}}
	if err != nil || !cmp.Equal(want, page) {
		t.Errorf("History of a stored number without events = %+v, %v; want %+v", page, err, want)
	}
	if _, err := svc.History(ctx, "+14255550001", removal.HistoryQuery{}); !errors.Is(err, removal.ErrNotFound) {
		t.Errorf("History of a purged number without events: %v, want ErrNotFound", err)
	}
}

func TestPruneHistoryCut(t *testing.T) {
	_, svc := newCounting(t, 1, removal.MarkedForRemoval)
	// The import event is at 2026-01-01T00:00:00Z: only a later cut, in
	// any zone, prunes it.
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if n, err := svc.PruneHistory(t.Context(), at.In(time.FixedZone("X", 3600))); err != nil || n != 0 {
		t.Errorf("PruneHistory(the event's instant) = %d, %v; want 0", n, err)
	}
	if n, err := svc.PruneHistory(t.Context(), at.Add(time.Microsecond)); err != nil || n != 1 {
		t.Errorf("PruneHistory(+1µs) = %d, %v; want 1", n, err)
	}
}

func TestAuditCut(t *testing.T) {
	long := strings.Repeat("é", removal.MaxActorBytes) // 2 bytes each
	a := removal.AuditFrom(removal.WithAudit(t.Context(), removal.Audit{TraceID: strings.Repeat("a", 100), Actor: "x" + long}))
	if len(a.TraceID) != removal.MaxTraceIDBytes || len(a.Actor) != removal.MaxActorBytes-1 || !strings.HasPrefix(a.Actor, "xé") {
		t.Errorf("WithAudit kept %d trace bytes and %d actor bytes (%q...); want %d and %d, cut at a character", len(a.TraceID), len(a.Actor), a.Actor[:5], removal.MaxTraceIDBytes, removal.MaxActorBytes-1)
	}
	if got := removal.AuditFrom(t.Context()); got != (removal.Audit{}) {
		t.Errorf("AuditFrom(a context without one) = %+v", got)
	}
}

// TestHistoryFarPage: a page number whose offset does not fit an int is a
// page past the end, not an error nor another page.
func TestHistoryFarPage(t *testing.T) {
	_, svc := newCounting(t, 1, removal.Active)
	page, err := svc.History(t.Context(), "+14255550000", removal.HistoryQuery{PageNumber: math.MaxInt, PageSize: removal.MaxPageSize})
	if err != nil || len(page.Data) != 0 || page.TotalRecords != 1 || page.CurrentPage != math.MaxInt {
		t.Errorf("History at page MaxInt = %+v, %v; want an empty page", page, err)
	}
}

// TestPruneHistoryCutInsideMicrosecond: an event at T is pruned by a cut
// anywhere after T, also within T's microsecond.
func TestPruneHistoryCutInsideMicrosecond(t *testing.T) {
	_, svc := newCounting(t, 1, removal.Active)
	page, err := svc.History(t.Context(), "+14255550000", removal.HistoryQuery{})
	if err != nil || len(page.Data) != 1 {
		t.Fatal(page, err)
	}
	at := page.Data[0].At
	if n, err := svc.PruneHistory(t.Context(), at); n != 0 || err != nil {
		t.Errorf("PruneHistory(at) = %d, %v; want 0 (strictly older only)", n, err)
	}
	if n, err := svc.PruneHistory(t.Context(), at.Add(time.Nanosecond)); n != 1 || err != nil {
		t.Errorf("PruneHistory(at + 1ns) = %d, %v; want 1", n, err)
	}
}
