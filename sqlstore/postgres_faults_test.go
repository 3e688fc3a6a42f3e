package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// TestPostgresFaults breaks a batch of MarkReadyForRemoval on PostgreSQL
// after its statement ran and before it committed: the call must fail with the
// exact partial result (nothing: one transaction), none of its changes may
// be visible, and the same request retried afterwards converges.
func TestPostgresFaults(t *testing.T) {
	const total, premoved = 100, 20
	batch := make([]string, total)
	for i := range batch {
		batch[i] = string(number(i))
	}
	setup := func(t *testing.T, st *sqlstore.Store) *removal.Service {
		t.Helper()
		var recs []store.Number
		for i := range total {
			recs = append(recs, record(i, removal.MarkedForRemoval))
		}
		mustPut(t, st, recs...)
		svc := removal.NewService(st)
		// An earlier request already moved the first numbers.
		if res, err := svc.MarkReadyForRemoval(context.Background(), batch[:premoved]); err != nil || res.SuccessCount != premoved {
			t.Fatalf("first request: %+v, %v", res, err)
		}
		return svc
	}
	// check verifies the failed call and the store after it, then retries.
	check := func(t *testing.T, st *sqlstore.Store, svc *removal.Service, res removal.BatchResult, err error) {
		t.Helper()
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want the storage failure", err)
		}
		if res.ProcessedCount != 0 || res.SuccessCount != 0 || len(res.Failures) != 0 {
			t.Errorf("result %+v, want nothing processed: the transaction never committed", res)
		}
		for i := range total {
			want := removal.MarkedForRemoval
			if i < premoved {
				want = removal.ReadyForRemoval
			}
			got, err := st.Get(context.Background(), number(i))
			if err != nil || got.Status != want {
				t.Errorf("%s: %v, %v; want %s", number(i), got.Status, err, want)
			}
		}
		res, err = svc.MarkReadyForRemoval(context.Background(), batch)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if res.ProcessedCount != total || res.SuccessCount != total-premoved || len(res.Failures) != premoved {
			t.Fatalf("retry: %+v, want %d moved and %d InvalidStatus", res, total-premoved, premoved)
		}
		for i, f := range res.Failures {
			if f.TelephoneNumber != number(i) || f.ErrorCode != removal.CodeInvalidStatus || f.CurrentStatus == nil || *f.CurrentStatus != removal.ReadyForRemoval {
				t.Errorf("retry failure %d: %+v, want %s InvalidStatus ReadyForRemoval", i, f, number(i))
			}
		}
	}

	t.Run("ConnectionKilled", func(t *testing.T) {
		admin, _ := pgtest.Admin(t)
		st, schema := MustOpenPostgres(t)
		svc := setup(t, st)
		killed := 0
		st.SetBeforeCommit(func() {
			// The batch's connection is idle in its transaction; its last
			// statement names the test's own schema. Select first, then
			// terminate: a single statement may call the function on rows
			// its filter would reject.
			var pids []int
			err := admin.Select(&pids, `SELECT pid FROM pg_stat_activity
				WHERE state = 'idle in transaction' AND strpos(query, $1) > 0 AND pid <> pg_backend_pid()`, schema)
			if err != nil {
				t.Errorf("finding the backend: %v", err)
			}
			for _, pid := range pids {
				var ok bool
				if err := admin.Get(&ok, "SELECT pg_terminate_backend($1)", pid); err != nil || !ok {
					t.Errorf("terminating backend %d: %v, %v", pid, ok, err)
				}
				killed++
			}
		})
		res, err := svc.MarkReadyForRemoval(context.Background(), batch)
		st.SetBeforeCommit(nil)
		if killed != 1 {
			t.Fatalf("terminated %d backends, want 1", killed)
		}
		check(t, st, svc, res, err)
	})

	t.Run("StatementTimeout", func(t *testing.T) {
		admin, dsn := pgtest.Admin(t)
		schema := MustSchema(t)
		st, err := sqlstore.Open(context.Background(), "pgx", withSetting(dsn, "statement_timeout", "500"), sqlstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svc := setup(t, st)
		// Another transaction holds one of the batch's rows.
		tx, err := admin.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var n e164.Number
		if err := tx.Get(&n, `SELECT telephone_number FROM "`+schema+`".numbers WHERE telephone_number = $1 FOR UPDATE`, string(number(60))); err != nil {
			t.Fatal(err)
		}
		res, err := svc.MarkReadyForRemoval(context.Background(), batch)
		if err != nil && !strings.Contains(err.Error(), "57014") && !strings.Contains(err.Error(), "statement timeout") {
			t.Errorf("err = %v, want a statement timeout", err)
		}
		tx.Rollback()
		check(t, st, svc, res, err)
	})
}

// TestPostgresOutsideWriter has a writer outside the store (plain SQL on the
// table) hold a row of a running batch and commit another status for it.
// The batch's statement snapshot predates that change; the batch must
// still report what one-by-one processing after the change gives: the
// old status of a row is the one of the newest version it locked, never
// the snapshot's.
func TestPostgresOutsideWriter(t *testing.T) {
	cases := []struct {
		name             string
		initial, outside removal.NumberStatus
		change           removal.Change
		want             removal.Outcome // of the number the outside writer changes
		wantStatus       removal.NumberStatus
	}{
		{
			name:    "MovedOutOfFrom",
			initial: removal.MarkedForRemoval, outside: removal.Active,
			change:     removal.Change{From: []removal.NumberStatus{removal.MarkedForRemoval}, To: removal.ReadyForRemoval, Event: removal.EventReadyForRemoval},
			want:       removal.Outcome{Found: true, OperatorConnect: true, Status: removal.Active},
			wantStatus: removal.Active,
		},
		{
			// Both statuses are From statuses: the move happens, and the old
			// status reported is the one it moved from.
			name:    "MovedWithinFrom",
			initial: removal.Active, outside: removal.ReleaseRequested,
			change:     removal.Change{From: []removal.NumberStatus{removal.Active, removal.ReleaseRequested}, To: removal.MarkedForRemoval, Event: removal.EventMarkForRemoval},
			want:       removal.Outcome{Found: true, OperatorConnect: true, Status: removal.ReleaseRequested, Changed: true},
			wantStatus: removal.MarkedForRemoval,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			admin, _ := pgtest.Admin(t)
			st, schema := MustOpenPostgres(t)
			const total, held = 120, 77
			var recs []store.Number
			batch := make([]e164.Number, total)
			for i := range total {
				recs = append(recs, record(i, tc.initial))
				batch[i] = number(i)
			}
			mustPut(t, st, recs...)
			tx, err := admin.Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec(`UPDATE "`+schema+`".numbers SET status = $1 WHERE telephone_number = $2`, int16(tc.outside), string(number(held))); err != nil {
				t.Fatal(err)
			}
			tc.change.At = time.Now().UTC().Truncate(time.Microsecond)
			type result struct {
				out []removal.Outcome
				err error
			}
			done := make(chan result, 1)
			go func() {
				out, err := st.Apply(context.Background(), batch, tc.change)
				done <- result{out, err}
			}()
			// Commit the outside change once the batch waits for the row.
			waitFor(t, admin, "the batch to wait for the held row", `SELECT count(*) FROM pg_stat_activity
				WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0`, schema)
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			res := <-done
			if res.err != nil {
				t.Fatalf("Apply: %v", res.err)
			}
			if len(res.out) != total {
				t.Fatalf("%d outcomes, want %d", len(res.out), total)
			}
			for i, o := range res.out {
				want := removal.Outcome{Found: true, OperatorConnect: true, Status: tc.initial, Changed: true}
				if i == held {
					want = tc.want
				}
				if o != want {
					t.Errorf("outcome %d (%s) = %+v, want %+v", i, number(i), o, want)
				}
			}
			got, err := st.Get(context.Background(), number(held))
			if err != nil || got.Status != tc.wantStatus {
				t.Errorf("held number: %v, %v; want %s", got.Status, err, tc.wantStatus)
			}
		})
	}
}

// TestPostgresCancelWhileWaiting cancels a batch while it waits for a row
// lock that another session holds: the call returns the context's error
// with nothing applied, and the pool's connections stay usable (the one
// the cancellation touched is dropped, not reused).
func TestPostgresCancelWhileWaiting(t *testing.T) {
	admin, _ := pgtest.Admin(t)
	st, schema := MustOpenPostgres(t)
	const total = 120
	var recs []store.Number
	batch := make([]string, total)
	for i := range total {
		recs = append(recs, record(i, removal.MarkedForRemoval))
		batch[i] = string(number(i))
	}
	mustPut(t, st, recs...)
	svc := removal.NewService(st)

	tx, err := admin.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT 1 FROM "`+schema+`".numbers WHERE telephone_number = $1 FOR UPDATE`, string(number(total-1))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := svc.MarkReadyForRemoval(ctx, batch)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if res.ProcessedCount != 0 {
		t.Errorf("ProcessedCount = %d, want 0: the batch never got its last row", res.ProcessedCount)
	}
	tx.Rollback()

	for i := range total {
		got, err := st.Get(context.Background(), number(i))
		if err != nil || got.Status != removal.MarkedForRemoval {
			t.Fatalf("%s: %v, %v; want MarkedForRemoval", number(i), got.Status, err)
		}
	}
	// Every pooled connection still works (a broken one would fail here).
	for range 3 {
		if res, err := svc.MarkReadyForRemoval(context.Background(), batch[:1]); err != nil {
			t.Fatalf("after the cancellation: %v", err)
		} else if res.ProcessedCount != 1 {
			t.Fatalf("after the cancellation: %+v", res)
		}
		batch = batch[1:]
	}
}

// TestPostgresIsolationDefault runs a batch that waits for the row locks
// of another store's batch, which changes the same numbers: with the
// server's default isolation set to each level, the waiting batch must see
// the change it waited for (its transactions are READ COMMITTED whatever
// the default; under REPEATABLE READ a row changed since its snapshot
// would be a serialization failure).
func TestPostgresIsolationDefault(t *testing.T) {
	admin, dsn := pgtest.Admin(t)
	for _, level := range []string{"read committed", "repeatable read", "serializable"} {
		t.Run(strings.ReplaceAll(level, " ", "_"), func(t *testing.T) {
			schema := MustSchema(t)
			open := func() *sqlstore.Store {
				st, err := sqlstore.Open(context.Background(), "pgx", withSetting(dsn, "default_transaction_isolation", level), sqlstore.WithSchema(schema))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			first, second := open(), open()
			x, y := number(1), number(2)
			mustPut(t, first, record(1, removal.Active), record(2, removal.MarkedForRemoval))
			batch := []string{string(x), string(y)}

			paused, release := make(chan struct{}), make(chan struct{})
			var releaseOnce sync.Once
			releaseFirst := func() { releaseOnce.Do(func() { close(release) }) }
			defer releaseFirst() // never leave the first batch holding its locks
			first.SetBeforeCommit(func() { close(paused); <-release })
			firstDone := make(chan error, 1)
			go func() {
				_, err := removal.NewService(first).MarkForRemoval(context.Background(), batch) // x: Active -> Marked
				firstDone <- err
			}()
			<-paused // first holds its rows, its change not yet committed
			type result struct {
				res removal.BatchResult
				err error
			}
			secondDone := make(chan result, 1)
			go func() {
				res, err := removal.NewService(second).MarkReadyForRemoval(context.Background(), batch)
				secondDone <- result{res, err}
			}()
			waitFor(t, admin, "the second batch to wait for the rows", `SELECT count(*) FROM pg_stat_activity
				WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0`, schema)
			releaseFirst()
			if err := <-firstDone; err != nil {
				t.Fatalf("first batch: %v", err)
			}
			got := <-secondDone
			if got.err != nil {
				t.Fatalf("second batch: %v", got.err)
			}
			// After the first batch, both are MarkedForRemoval: both move.
			if got.res.SuccessCount != 2 || len(got.res.Failures) != 0 {
				t.Errorf("second batch: %+v, want both numbers moved", got.res)
			}
			for _, n := range []e164.Number{x, y} {
				if r, err := first.Get(context.Background(), n); err != nil || r.Status != removal.ReadyForRemoval {
					t.Errorf("%s: %v, %v; want ReadyForRemoval", n, r.Status, err)
				}
			}
		})
	}
}

// waitFor polls a count query until it counts something, for up to 10 s.
func waitFor(t *testing.T, admin *sqlx.DB, what, query string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := admin.Get(&n, query, args...); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
