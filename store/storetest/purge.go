package storetest

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// retention is the OlderThan of the suite's purges; cutoff is the last
// StatusChangedAt a purge at the service clock deletes.
const retention = 24 * time.Hour

var cutoff = stampNow.Add(-retention)

// purgeFixture holds, in three tenants, Operator Connect ReadyForRemoval
// numbers changed before, exactly at and after the cutoff, and numbers
// purge must never delete: not Operator Connect, or in another status.
func purgeFixture() []store.Number {
	r := func(i int, tenant string, oc bool, s removal.NumberStatus, at time.Time) store.Number {
		return store.Number{TelephoneNumber: unum(i), MSTenantID: tenant, OperatorConnect: oc, Status: s, StatusChangedAt: at}
	}
	old := cutoff.Add(-time.Hour)
	return []store.Number{
		r(0, tenantA, true, removal.ReadyForRemoval, cutoff.Add(-time.Microsecond)),
		r(1, "{"+strings.ToUpper(tenantA)+"}", true, removal.ReadyForRemoval, cutoff),
		r(2, tenantA, true, removal.ReadyForRemoval, cutoff.Add(time.Microsecond)),
		r(3, tenantA, false, removal.ReadyForRemoval, old),
		r(4, tenantA, true, removal.MarkedForRemoval, old),
		r(5, tenantA, true, removal.ReadyForRemoval, old.Add(-48*time.Hour)),
		r(6, tenantB, true, removal.ReadyForRemoval, old),
		r(7, tenantB, true, removal.Active, old),
		r(8, tenantA, true, removal.ReadyForRemoval, old),
		r(9, tenantC, true, removal.ReadyForRemoval, cutoff.Add(time.Hour)),
		r(10, tenantA, true, removal.ReleaseRequested, old),
		r(11, tenantC, true, removal.ReadyForRemoval, old),
		r(13, tenantA, true, removal.ReadyForRemoval, old),
		r(14, tenantA, true, removal.ReadyForRemoval, old),
		r(15, tenantA, true, removal.ReadyForRemoval, old),
	}
}

// purgeable returns, in byte order, the numbers of recs a purge must
// delete: Operator Connect, ReadyForRemoval, changed at or before before,
// of the tenant ("" for all).
func purgeable(recs map[e164.Number]store.Number, tenant string, before time.Time) []e164.Number {
	return sortedNumbers(listed(recs, filter{tenant: tenant, statuses: []removal.NumberStatus{removal.ReadyForRemoval}, changedBy: before}))
}

func testPurge(t *testing.T, newStore func(t *testing.T) store.Store, cfg config) {
	for _, tc := range []struct {
		name      string
		olderThan time.Duration
		tenant    string // as asked
		limit     int
	}{
		{"AllTenants", retention, "", 0},
		{"Tenant", retention, tenantForms[3](tenantA), 0},
		{"OtherTenant", retention, tenantB, 0},
		{"TenantWithNone", retention, tenantNone, 0},
		{"Now", 0, "", 0},
		{"Years", 3650 * 24 * time.Hour, "", 0},
		{"Limit2", retention, "", 2},
		{"LimitExact", retention, tenantC, 1},
		{"Limit1Tenant", retention, tenantA, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			svc := newService(st)
			fx := purgeFixture()
			mustImport(t, t.Context(), st, store.Merge, importAt, fx...)
			recs := make(map[e164.Number]store.Number)
			history := make(map[e164.Number][]removal.Event)
			for _, r := range fx {
				recs[r.TelephoneNumber] = normalized(r)
				history[r.TelephoneNumber] = []removal.Event{inserted(r, importAt, removal.Audit{})}
			}
			req := removal.PurgeRequest{OlderThan: tc.olderThan, MSTenantID: tc.tenant, Limit: tc.limit}
			limit := tc.limit
			if limit == 0 {
				limit = removal.MaxPurgeLimit
			}
			tenant := canonicalTenant(tc.tenant)
			for call := 0; ; call++ {
				all := purgeable(recs, tenant, stampNow.Add(-tc.olderThan))
				want := removal.PurgeResult{DryRun: true, TelephoneNumbers: window(all, 0, limit), More: len(all) > limit}
				want.PurgedCount = len(want.TelephoneNumbers)
				// A dry run reports what would go and changes nothing.
				dry, err := svc.Purge(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, dry, cmpEquateEmpty); d != "" || dry.TelephoneNumbers == nil {
					t.Fatalf("call %d: dry run (-want +got):\n%s", call, d)
				}
				confirm := req
				confirm.Confirm = true
				got, err := svc.Purge(withAudit(t.Context(), auditFull), confirm)
				if err != nil {
					t.Fatal(err)
				}
				want.DryRun = false
				if d := cmp.Diff(want, got, cmpEquateEmpty); d != "" || got.TelephoneNumbers == nil {
					t.Fatalf("call %d: purge (-want +got):\n%s", call, d)
				}
				for _, n := range got.TelephoneNumbers {
					history[n] = append([]removal.Event{event(recs[n], evPurge, statusPtr(removal.ReadyForRemoval), nil, stampNow, auditFull)}, history[n]...)
					delete(recs, n)
				}
				wantPurged(t, st, svc, recs, history)
				if !got.More {
					break
				}
				if call > len(fx) {
					t.Fatalf("purge still reports more after %d calls", call)
				}
			}
			// Nothing left to purge: a purge deletes nothing more.
			got, err := svc.Purge(t.Context(), removal.PurgeRequest{OlderThan: tc.olderThan, MSTenantID: tc.tenant, Limit: tc.limit, Confirm: true})
			if err != nil || got.PurgedCount != 0 || got.More || len(got.TelephoneNumbers) != 0 {
				t.Errorf("a purge after the last = %+v, %v; want nothing purged", got, err)
			}
		})
	}
	t.Run("Concurrent", func(t *testing.T) { testPurgeConcurrent(t, newStore(t), cfg) })
}

// wantPurged checks the store holds recs and the histories, and that the
// deleted numbers are gone from Get, List and Summary.
func wantPurged(t *testing.T, st store.Store, svc *removal.Service, recs map[e164.Number]store.Number, history map[e164.Number][]removal.Event) {
	t.Helper()
	var every []e164.Number
	for n := range history {
		every = append(every, n)
	}
	if d := cmp.Diff(listed(recs, filter{allKinds: true}), getAll(t, st, every), pageOpts); d != "" {
		t.Fatalf("stored numbers (-want +got):\n%s", d)
	}
	for n, h := range history {
		wantHistory(t, st, n, h)
		if _, stored := recs[n]; !stored {
			wantAbsent(t, st, n)
			page, err := svc.History(t.Context(), string(n), removal.HistoryQuery{})
			if err != nil || page.TotalRecords != len(h) {
				t.Errorf("History of purged %s = %+v, %v; want its %d events", n, page, err, len(h))
			}
		}
	}
	page, err := svc.List(t.Context(), removal.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantPage(recs, removal.ListQuery{}), page, pageOpts); d != "" {
		t.Errorf("List after purge (-want +got):\n%s", d)
	}
	for _, tenant := range []string{"", tenantA, tenantB, tenantC} {
		if got, err := svc.Summary(t.Context(), tenant); err != nil || got != recount(recs, tenant) {
			t.Errorf("Summary(%q) = %+v, %v; want %+v", tenant, got, err, recount(recs, tenant))
		}
	}
	wantCounts(t, st, recs)
}

// testPurgeConcurrent purges, a few numbers a call, while other goroutines
// rewrite the same numbers with replace imports (to MarkedForRemoval, or
// back in as ReadyForRemoval after they were purged) and move them with
// batches (clear, mark, ready). Whatever the interleaving, each number's
// history must tell one consistent life: every purge event deletes a
// number that was ReadyForRemoval, every insert follows a deletion, every
// other event starts from the status the one before left, and the stored
// record, or its absence, is where the history ends; every number a purge
// reports has its purge event, and the counters equal a recount.
func testPurgeConcurrent(t *testing.T, st store.Store, cfg config) {
	const n = 120
	var in []store.Number
	for i := range n {
		s := removal.ReadyForRemoval
		if i%5 == 4 {
			s = removal.MarkedForRemoval
		}
		in = append(in, rec(unum(i), tenants[i%2], true, s)) // putTime: long before the cutoff
	}
	mustImport(t, t.Context(), st, store.Merge, importAt, in...)

	svc := newService(st)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	errs := make(chan error, cfg.goroutines)
	for g := range max(2, cfg.goroutines-1) {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 5))
			for {
				select {
				case <-done:
					return
				default:
				}
				var err error
				pick := r.Perm(n)[:1+r.IntN(10)]
				switch g % 2 {
				case 0: // replace imports, at the service clock like every other change
					var recs []store.Number
					for _, i := range pick {
						s := removal.MarkedForRemoval
						if r.IntN(2) == 0 {
							s = removal.ReadyForRemoval
						}
						recs = append(recs, rec(unum(i), tenants[i%2], true, s))
					}
					_, err = st.Import(t.Context(), recs, store.ImportOptions{Mode: store.Replace, At: stampNow})
				default:
					batch := strs(slices.Collect(func(yield func(e164.Number) bool) {
						for _, i := range pick {
							if !yield(unum(i)) {
								return
							}
						}
					}))
					a := []removal.Action{removal.ClearRemovalStatusAction, removal.MarkForRemovalAction, removal.ReadyForRemovalAction}[r.IntN(3)]
					_, err = svc.Apply(t.Context(), a, batch)
				}
				if err != nil {
					errs <- err
					return
				}
				writes.Add(1)
			}
		})
	}
	purged := make(map[e164.Number]int)
	// Purge until both sides have done their share, however the
	// scheduler runs them.
	for i := 0; i < cfg.iterations || writes.Load() < int64(cfg.iterations) && i < 20*cfg.iterations; i++ {
		res, err := svc.Purge(t.Context(), removal.PurgeRequest{OlderThan: retention, Limit: 7, Confirm: true})
		if err != nil {
			t.Fatalf("Purge: %v", err)
		}
		for _, n := range res.TelephoneNumbers {
			purged[n]++
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a concurrent change: %v", err)
	}

	total := 0
	for _, c := range purged {
		total += c
	}
	t.Logf("%d numbers purged, %d changes by the others", total, writes.Load())
	universe := theUniverse[:n]
	final := byNumber(getAll(t, st, universe)...)
	wantCounts(t, st, final)
	for _, num := range universe {
		events := chronological(t, st, num)
		purges := 0
		var cur *removal.NumberStatus // nil: not stored
		for i, e := range events {
			switch {
			case e.Action == evPurge:
				purges++
				if cur == nil || *cur != removal.ReadyForRemoval || e.FromStatus == nil || *e.FromStatus != removal.ReadyForRemoval || e.ToStatus != nil {
					t.Errorf("%s: event %d purges it from %v; it was %v", num, i, e.FromStatus, cur)
				}
				cur = nil
			case e.Action == evImport && e.FromStatus == nil:
				if cur != nil {
					t.Errorf("%s: event %d inserts it, but it was stored (%s)", num, i, *cur)
				}
				cur = e.ToStatus
			default:
				if cur == nil || e.FromStatus == nil || *e.FromStatus != *cur || e.ToStatus == nil {
					t.Errorf("%s: event %d (%s %v -> %v) does not follow %v", num, i, e.Action, e.FromStatus, e.ToStatus, cur)
					cur = e.ToStatus
					continue
				}
				if e.Action != evImport && !allowedMove(*e.FromStatus, *e.ToStatus) {
					t.Errorf("%s: event %d moves %s -> %s", num, i, *e.FromStatus, *e.ToStatus)
				}
				cur = e.ToStatus
			}
		}
		r, stored := final[num]
		switch {
		case stored != (cur != nil):
			t.Errorf("%s: stored %t, but its history ends in %v", num, stored, cur)
		case stored && r.Status != *cur:
			t.Errorf("%s: stored %s, its history ends in %s", num, r.Status, *cur)
		}
		if purges != purged[num] {
			t.Errorf("%s: %d purge events, purges reported it %d times", num, purges, purged[num])
		}
	}
}
