package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// The audits the suite's calls carry: complete, partial, or none.
var (
	auditFull  = removal.Audit{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Actor: "ops@example.com"}
	auditTrace = removal.Audit{TraceID: "00f067aa0ba902b7"}
	auditActor = removal.Audit{Actor: "Zoë <zoe@example.com>"}
	audits     = []removal.Audit{{}, auditFull, auditTrace, auditActor}
)

// withAudit returns ctx carrying a, or ctx itself for the zero Audit, so
// that "unknown" is also tested as a context that carries nothing.
func withAudit(ctx context.Context, a removal.Audit) context.Context {
	if a == (removal.Audit{}) {
		return ctx
	}
	return removal.WithAudit(ctx, a)
}

// importAt is the time the suite's fixtures are imported at: an hour before
// the service clock, in another zone, with nanoseconds.
var importAt = clockNow.Add(-time.Hour).In(time.FixedZone("UTC-07", -7*3600))

func mustImport(tb checker, ctx context.Context, st store.Store, mode store.ImportMode, at time.Time, ns ...store.Number) store.ImportResult {
	tb.Helper()
	res, err := st.Import(ctx, ns, store.ImportOptions{Mode: mode, At: at})
	if err != nil {
		tb.Fatalf("Import (%s) of %d numbers: %v", mode, len(ns), err)
	}
	return res
}

// inserted is the event of a record inserted by an import at at.
func inserted(r store.Number, at time.Time, au removal.Audit) removal.Event {
	r = normalized(r)
	return event(r, evImport, nil, statusPtr(r.Status), at, au)
}

func testHistory(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("BatchActions", func(t *testing.T) {
		for i, a := range transitions {
			t.Run(a.method, func(t *testing.T) {
				st := newStore(t)
				svc := newService(st)
				au := audits[i%len(audits)]
				var fx []fixture
				for _, s := range removal.Statuses() {
					for _, k := range kinds {
						fx = append(fx, k.fixture(num(len(fx)), tenantForms[len(fx)%4](tenants[len(fx)%3]), s))
					}
				}
				var stored []store.Number
				for _, f := range fx {
					if f.stored {
						stored = append(stored, f.rec)
					}
				}
				mustImport(t, t.Context(), st, store.Merge, importAt, stored...)
				batch := make([]string, len(fx))
				for i, f := range fx {
					batch[i] = string(f.rec.TelephoneNumber)
				}
				// A request the validation refuses writes nothing.
				if _, err := a.call(svc, withAudit(t.Context(), au), append(batch, batch[0])); !errors.Is(err, removal.ErrInvalidRequest) {
					t.Fatalf("a batch with a duplicate: %v", err)
				}
				if _, err := a.call(svc, withAudit(t.Context(), au), batch); err != nil {
					t.Fatal(err)
				}
				for _, f := range fx {
					n := f.rec.TelephoneNumber
					if !f.stored {
						wantHistory(t, st, n, nil)
						continue
					}
					want := []removal.Event{inserted(f.rec, importAt, removal.Audit{})}
					if fail, after := expectOne(a, f); fail == nil {
						// One event per success: the action, from the old
						// status to the new, at the new StatusChangedAt.
						ev := event(after.rec, a.event, statusPtr(f.rec.Status), statusPtr(a.to), stampNow, au)
						want = append([]removal.Event{ev}, want...)
					}
					wantHistory(t, st, n, want)
				}
			})
		}
	})

	t.Run("Order", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		r := rec(num(1), tenantB, true, removal.Active)
		var written []removal.Event
		mustImport(t, t.Context(), st, store.Merge, importAt, r)
		written = append(written, inserted(r, importAt, removal.Audit{}))
		for _, step := range []struct {
			call     func(*removal.Service, context.Context, []string) (removal.BatchResult, error)
			event    removal.EventAction
			from, to removal.NumberStatus
		}{
			{(*removal.Service).RequestRelease, "requestRelease", removal.Active, removal.ReleaseRequested},
			{(*removal.Service).WithdrawReleaseRequest, "withdrawReleaseRequest", removal.ReleaseRequested, removal.Active},
			{(*removal.Service).MarkForRemoval, "markForRemoval", removal.Active, removal.MarkedForRemoval},
		} {
			res, err := step.call(svc, withAudit(t.Context(), auditTrace), []string{string(r.TelephoneNumber)})
			if err != nil || res.SuccessCount != 1 {
				t.Fatalf("%s: %+v, %v", step.event, res, err)
			}
			written = append(written, event(normalized(r), step.event, statusPtr(step.from), statusPtr(step.to), stampNow, auditTrace))
		}
		// Replace imports: one dated before the batches (written last, it
		// sorts below them), one after.
		for _, imp := range []struct {
			at       time.Time
			from, to removal.NumberStatus
		}{
			{stampNow.Add(-30 * time.Minute), removal.MarkedForRemoval, removal.ReleaseRequested},
			{stampNow.Add(time.Hour), removal.ReleaseRequested, removal.Active},
		} {
			r.Status = imp.to
			mustImport(t, withAudit(t.Context(), auditActor), st, store.Replace, imp.at, r)
			written = append(written, event(normalized(r), evImport, statusPtr(imp.from), statusPtr(imp.to), imp.at, auditActor))
		}
		got, _ := readHistory(t, st, r.TelephoneNumber)
		var gotActions []string
		for _, e := range got {
			gotActions = append(gotActions, string(e.Action)+"@"+e.At.Sub(stampNow).String())
		}
		// Newest first; the three batches share one instant, the later first.
		wantActions := []string{"import@1h0m0s", "markForRemoval@0s", "withdrawReleaseRequest@0s", "requestRelease@0s", "import@-30m0s", "import@-1h0m0s"}
		if d := cmp.Diff(wantActions, gotActions); d != "" {
			t.Errorf("history order (-want +got):\n%s", d)
		}
		wantHistory(t, st, r.TelephoneNumber, newestFirst(written))
	})

	t.Run("Paging", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		r := rec(num(2), tenantA, true, removal.Active)
		mustImport(t, t.Context(), st, store.Merge, importAt, r)
		for range 3 {
			for _, call := range []func(*removal.Service, context.Context, []string) (removal.BatchResult, error){
				(*removal.Service).RequestRelease, (*removal.Service).WithdrawReleaseRequest} {
				if res, err := call(svc, t.Context(), []string{string(r.TelephoneNumber)}); err != nil || res.SuccessCount != 1 {
					t.Fatalf("%+v, %v", res, err)
				}
			}
		}
		all, total := readHistory(t, st, r.TelephoneNumber)
		if total != 7 || len(all) != 7 {
			t.Fatalf("History: %d events, total %d; want 7", len(all), total)
		}
		for _, tc := range []struct{ page, size, from, to int }{
			{0, 0, 0, 7}, {1, 3, 0, 3}, {2, 3, 3, 6}, {3, 3, 6, 7}, {4, 3, 7, 7}, {100, 3, 7, 7},
			{1, 7, 0, 7}, {2, 7, 7, 7}, {7, 1, 6, 7}, {1, removal.MaxPageSize, 0, 7},
		} {
			got, err := svc.History(t.Context(), string(r.TelephoneNumber), removal.HistoryQuery{PageNumber: tc.page, PageSize: tc.size})
			if err != nil {
				t.Fatalf("page %d of %d: %v", tc.page, tc.size, err)
			}
			size, page := max(tc.size, 0), max(tc.page, 1)
			if size == 0 {
				size = 200
			}
			want := removal.EventPage{CurrentPage: page, PageSize: size, TotalPages: (7 + size - 1) / size, TotalRecords: 7, Data: all[tc.from:tc.to]}
			if d := cmp.Diff(want, got, equalTime, cmpEquateEmpty); d != "" || got.Data == nil {
				t.Errorf("History page %d of %d (-want +got):\n%s", tc.page, tc.size, d)
			}
		}
		for _, tc := range []struct{ offset, limit, from, to int }{{2, 2, 2, 4}, {6, 5, 6, 7}, {7, 1, 7, 7}, {0, 1, 0, 1}} {
			got, total, err := st.History(t.Context(), r.TelephoneNumber, tc.offset, tc.limit)
			if err != nil || total != 7 {
				t.Fatalf("History(offset %d, limit %d): total %d, %v", tc.offset, tc.limit, total, err)
			}
			if d := cmp.Diff(all[tc.from:tc.to], got, equalTime, cmpEquateEmpty); d != "" {
				t.Errorf("History(offset %d, limit %d) (-want +got):\n%s", tc.offset, tc.limit, d)
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		ready := rec(num(1), tenantA, true, removal.ReadyForRemoval)
		readyNotOC := rec(num(2), "{"+tenantB+"}", false, removal.ReadyForRemoval)
		marked := rec(num(3), tenantA, true, removal.MarkedForRemoval)
		mustImport(t, t.Context(), st, store.Merge, importAt, ready, readyNotOC, marked)
		at := stampNow.Add(2 * time.Hour)
		out, err := st.Delete(withAudit(t.Context(), auditFull), []e164.Number{num(1), num(2), num(3), num(4)}, at)
		if err != nil || len(out) != 4 || !out[0].Changed || !out[1].Changed || out[2].Changed {
			t.Fatalf("Delete = %+v, %v", out, err)
		}
		ready, readyNotOC = normalized(ready), normalized(readyNotOC)
		wantHistory(t, st, num(1), []removal.Event{
			event(ready, evPurge, statusPtr(removal.ReadyForRemoval), nil, at, auditFull), inserted(ready, importAt, removal.Audit{})})
		wantHistory(t, st, num(2), []removal.Event{
			event(readyNotOC, evPurge, statusPtr(removal.ReadyForRemoval), nil, at, auditFull), inserted(readyNotOC, importAt, removal.Audit{})})
		wantHistory(t, st, num(3), []removal.Event{inserted(marked, importAt, removal.Audit{})})
		wantHistory(t, st, num(4), nil)
		// The history of a deleted number stays readable, and goes on when
		// the number is stored again.
		page, err := svc.History(t.Context(), string(num(1)), removal.HistoryQuery{})
		if err != nil || page.TotalRecords != 2 || len(page.Data) != 2 {
			t.Fatalf("Service.History of a purged number = %+v, %v; want its 2 events", page, err)
		}
		again := rec(num(1), tenantC, true, removal.Active)
		later := at.Add(time.Minute)
		mustImport(t, t.Context(), st, store.Merge, later, again)
		wantHistory(t, st, num(1), []removal.Event{inserted(again, later, removal.Audit{}),
			event(ready, evPurge, statusPtr(removal.ReadyForRemoval), nil, at, auditFull), inserted(ready, importAt, removal.Audit{})})
	})

	t.Run("NotFound", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		mustImport(t, t.Context(), st, store.Merge, importAt,
			rec(num(1), tenantA, true, removal.Active), rec(num(2), tenantA, true, removal.ReadyForRemoval))
		if _, err := st.Delete(t.Context(), []e164.Number{num(2)}, stampNow); err != nil {
			t.Fatal(err)
		}
		// Neither stored nor with events: not found.
		for _, n := range []string{string(num(3)), "+442071234567"} {
			if got, err := svc.History(t.Context(), n, removal.HistoryQuery{}); !errors.Is(err, removal.ErrNotFound) {
				t.Errorf("History(%s) = %+v, %v; want ErrNotFound", n, got, err)
			}
		}
		if n, err := st.PruneHistory(t.Context(), farFuture); err != nil || n != 3 {
			t.Fatalf("PruneHistory(every event) = %d, %v; want 3", n, err)
		}
		// Stored without events: an empty page.
		got, err := svc.History(t.Context(), string(num(1)), removal.HistoryQuery{})
		want := removal.EventPage{CurrentPage: 1, PageSize: 200, Data: []removal.Event{}}
		if err != nil || !cmp.Equal(want, got) {
			t.Errorf("History of a stored number without events = %+v, %v; want %+v", got, err, want)
		}
		// Purged, its events pruned: not found.
		if got, err := svc.History(t.Context(), string(num(2)), removal.HistoryQuery{}); !errors.Is(err, removal.ErrNotFound) {
			t.Errorf("History of a purged number without events = %+v, %v; want ErrNotFound", got, err)
		}
		for _, bad := range []string{"", "4255550100", "+1", "+1425555010a"} {
			_, err := svc.History(t.Context(), bad, removal.HistoryQuery{})
			wantProblems(t, err, []problemField{{"telephoneNumber", removal.CodeInvalidTelephoneNumber}})
		}
		_, err = svc.History(t.Context(), string(num(1)), removal.HistoryQuery{PageNumber: -1, PageSize: removal.MaxPageSize + 1})
		wantProblems(t, err, []problemField{{"pageNumber", removal.CodeInvalidQueryParameter}, {"pageSize", removal.CodeInvalidQueryParameter}})
	})

	t.Run("PruneHistory", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		t1 := importAt.UTC().Truncate(time.Microsecond)
		t2, t3 := t1.Add(time.Minute), t1.Add(2*time.Minute)
		r1 := rec(num(1), tenantA, true, removal.Active)
		mustImport(t, t.Context(), st, store.Merge, t1, r1)
		mustImport(t, t.Context(), st, store.Merge, t2, rec(num(2), tenantB, false, removal.Active))
		r1.Status = removal.MarkedForRemoval
		mustImport(t, t.Context(), st, store.Replace, t2, r1)
		r1.Status = removal.ReadyForRemoval
		mustImport(t, t.Context(), st, store.Replace, t3, r1)
		mustImport(t, t.Context(), st, store.Merge, t3, rec(num(3), tenantC, true, removal.Active))
		for _, tc := range []struct {
			before time.Time
			want   int
			left   [3]int // events left for num(1..3)
		}{
			{t1, 0, [3]int{3, 1, 1}},
			{t2, 1, [3]int{2, 1, 1}}, // strictly older: t2's events stay
			{t2, 0, [3]int{2, 1, 1}},
			{t3.Add(-time.Microsecond), 2, [3]int{1, 0, 1}},
			{t3.In(clockZone), 0, [3]int{1, 0, 1}}, // the same instant in another zone
			{t3.Add(time.Microsecond), 2, [3]int{0, 0, 0}},
			{farFuture, 0, [3]int{0, 0, 0}},
		} {
			n, err := svc.PruneHistory(t.Context(), tc.before)
			if err != nil || n != tc.want {
				t.Fatalf("PruneHistory(%v) = %d, %v; want %d", tc.before, n, err, tc.want)
			}
			for i, left := range tc.left {
				_, total := readHistory(t, st, num(i+1))
				if total != left {
					t.Errorf("after PruneHistory(%v): %s has %d events, want %d", tc.before, num(i+1), total, left)
				}
			}
		}
		// Pruning touches no number.
		wantStored(t, st, normalized(r1))
	})

	// The store itself, called with a cut inside a microsecond: events are
	// kept to the microsecond, so an event at T is older than T + 500ns.
	t.Run("PruneHistoryInsideAMicrosecond", func(t *testing.T) {
		st := newStore(t)
		t1 := importAt.UTC().Truncate(time.Microsecond)
		mustImport(t, t.Context(), st, store.Merge, t1, rec(num(1), tenantA, true, removal.Active))
		for _, tc := range []struct {
			before time.Time
			want   int
		}{{t1.Add(-500 * time.Nanosecond), 0}, {t1, 0}, {t1.Add(500 * time.Nanosecond), 1}} {
			if n, err := st.PruneHistory(t.Context(), tc.before); err != nil || n != tc.want {
				t.Fatalf("Store.PruneHistory(%v) with an event at %v = %d, %v; want %d", tc.before, t1, n, err, tc.want)
			}
		}
	})

	t.Run("AuditKeptWhole", func(t *testing.T) {
		st := newStore(t)
		svc := newService(st)
		// The longest values the Audit type lets through, in multi-byte
		// characters where the bound allows it.
		au := removal.Audit{TraceID: strings.Repeat("0123456789abcdef", removal.MaxTraceIDBytes/16),
			Actor: strings.Repeat("ü", removal.MaxActorBytes/2)}
		ctx := removal.WithAudit(t.Context(), au)
		if got := removal.AuditFrom(ctx); got != au {
			t.Fatalf("WithAudit cut values within its bounds: %+v", got)
		}
		r := rec(num(1), tenantA, true, removal.MarkedForRemoval)
		mustImport(t, ctx, st, store.Merge, importAt, r)
		if _, err := svc.MarkReadyForRemoval(ctx, []string{string(r.TelephoneNumber)}); err != nil {
			t.Fatal(err)
		}
		wantHistory(t, st, r.TelephoneNumber, []removal.Event{
			event(normalized(r), "readyForRemoval", statusPtr(removal.MarkedForRemoval), statusPtr(removal.ReadyForRemoval), stampNow, au),
			inserted(r, importAt, au)})
	})

	t.Run("PutEvents", func(t *testing.T) {
		st := newStore(t)
		r := rec(num(1), tenantA, true, removal.MarkedForRemoval)
		before := time.Now()
		if err := st.Put(withAudit(t.Context(), auditFull), r); err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		got, total := readHistory(t, st, r.TelephoneNumber)
		if total != 1 || len(got) != 1 {
			t.Fatalf("Put wrote %d events, want 1", total)
		}
		// Put is an import at the store's clock; the suite allows that
		// clock a minute of skew from its own.
		want := inserted(r, got[0].At, auditFull)
		if !sameEvent(want, got[0]) || got[0].At.Before(before.Add(-time.Minute)) || got[0].At.After(after.Add(time.Minute)) {
			t.Errorf("Put's event = %+v; want %+v at about %v", got[0], want, before.UTC())
		}
		// Put again with the same status writes nothing; with another, one
		// event from the old status.
		mustPut(t, st, r)
		r.Status = removal.Active
		mustPut(t, st, r)
		got, total = readHistory(t, st, r.TelephoneNumber)
		if total != 2 || len(got) != 2 || got[0].Action != evImport || !sameStatus(got[0].FromStatus, statusPtr(removal.MarkedForRemoval)) ||
			!sameStatus(got[0].ToStatus, statusPtr(removal.Active)) || got[0].TraceID != "" || got[0].Actor != "" {
			t.Errorf("after two more Puts: %+v, total %d; want one more import event from MarkedForRemoval to Active", got, total)
		}
	})
}
