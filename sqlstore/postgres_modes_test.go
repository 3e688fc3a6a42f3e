package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// TestPostgresExecModes runs every kind of statement the store sends (COPY
// and array upserts, the batch pipeline with one and two From statuses,
// deletes, merge imports, counts, reads, lists, history and its pruning) under each query exec mode a host's DSN can pick
// with default_query_exec_mode (simple_protocol, say, behind PgBouncer).
// memstore, given the same calls, is the reference.
func TestPostgresExecModes(t *testing.T) {
	_, dsn := pgtest.Admin(t)
	clock := removal.WithClock(func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) })
	const size = 3000 // above the COPY threshold
	other := "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f"
	recs := make([]store.Number, size)
	for i := range recs {
		recs[i] = record(i, removal.Statuses()[i%4])
		recs[i].OperatorConnect = i%7 != 3
		if i%3 == 0 {
			recs[i].MSTenantID = other
		}
	}
	batch := func(from, n int) []string { // every third number absent
		var out []string
		for i := from; len(out) < n; i++ {
			if i%3 == 2 {
				out = append(out, string(number(size+i)))
			} else {
				out = append(out, string(number(i)))
			}
		}
		return out
	}
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			st, err := sqlstore.Open(context.Background(), "pgx", withSetting(dsn, "default_query_exec_mode", mode), sqlstore.WithSchema(MustSchema(t)))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ref := memstore.New()
			stores := []store.Store{ref, st}
			both := func(what string, call func(store.Store) (any, error)) {
				t.Helper()
				want, werr := call(ref)
				got, gerr := call(st)
				if werr != nil || gerr != nil {
					t.Fatalf("%s: memstore %v, sqlstore %v", what, werr, gerr)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("%s differs (-memstore +sqlstore):\n%s", what, d)
				}
			}
			loaded := store.ImportOptions{Mode: store.Replace, At: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
			for _, s := range stores {
				if _, err := s.Import(context.Background(), recs, loaded); err != nil {
					t.Fatal(err)
				}
				replaced := make([]store.Number, 20)
				for i := range replaced {
					replaced[i] = record(i*11, removal.MarkedForRemoval)
				}
				if _, err := s.Import(context.Background(), replaced, loaded); err != nil {
					t.Fatal(err)
				}
			}
			for i, call := range []func(*removal.Service, context.Context, []string) (removal.BatchResult, error){
				(*removal.Service).ClearRemovalStatus,
				(*removal.Service).MarkReadyForRemoval,
				(*removal.Service).MarkForRemoval, // two From statuses
				(*removal.Service).RequestRelease,
				(*removal.Service).WithdrawReleaseRequest,
			} {
				b := batch(i*400, removal.MaxBatchSize)
				both(fmt.Sprintf("action %d", i), func(s store.Store) (any, error) {
					return call(removal.NewService(s, clock), context.Background(), b)
				})
			}
			ctx := removal.WithAudit(context.Background(), removal.Audit{TraceID: "trace-1", Actor: "ops@example.com"})
			at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
			var ready []e164.Number // some ReadyForRemoval, some not, one absent
			for i := range 40 {
				ready = append(ready, number(400+i))
			}
			ready = append(ready, number(size+5))
			both("Delete", func(s store.Store) (any, error) {
				return s.Delete(ctx, ready, at)
			})
			merged := []store.Number{record(3, removal.Active), record(size+1, removal.MarkedForRemoval)}
			both("Import merge", func(s store.Store) (any, error) {
				return s.Import(ctx, merged, store.ImportOptions{Mode: store.Merge, At: at})
			})
			both("GetMany", func(s store.Store) (any, error) {
				return s.GetMany(context.Background(), []e164.Number{number(9), number(2), number(size + 9), number(1)})
			})
			for _, q := range []removal.NumberQuery{
				{Limit: 50},
				{MSTenantID: other, Statuses: []removal.NumberStatus{removal.MarkedForRemoval, removal.ReadyForRemoval}, After: number(100), Limit: 30},
				{Statuses: []removal.NumberStatus{removal.ReadyForRemoval}, ChangedAtOrBefore: at, IncludeNotOperatorConnect: true, Offset: 5, Limit: 10},
			} {
				both(fmt.Sprintf("ListNumbers %+v", q), func(s store.Store) (any, error) {
					return s.ListNumbers(context.Background(), q)
				})
			}
			for _, i := range []int{0, 3, 400, 401, 402, size + 1} {
				both(fmt.Sprintf("History %d", i), func(s store.Store) (any, error) {
					events, total, err := s.History(context.Background(), number(i), 0, 10)
					return []any{events, total}, err
				})
			}
			both("PruneHistory", func(s store.Store) (any, error) {
				return s.PruneHistory(context.Background(), at)
			})
			for _, tn := range []string{"", tenant, other} {
				both("Summary "+tn, func(s store.Store) (any, error) {
					return removal.NewService(s).Summary(context.Background(), tn)
				})
			}
			for _, i := range []int{0, 1, 2, 5, 11, 401, 1207, size - 1} {
				both(fmt.Sprintf("Get %d", i), func(s store.Store) (any, error) {
					r, err := s.Get(context.Background(), number(i))
					if i == 5 {
						return err == nil, nil // deleted: absent from both
					}
					return r, err
				})
			}
		})
	}
}
