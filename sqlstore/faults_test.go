package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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
		// pgx sends unknown DSN parameters as run-time settings.
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
			sep = " "
		}
		st, err := sqlstore.Open(context.Background(), "pgx", dsn+sep+"statement_timeout=500", sqlstore.WithSchema(schema))
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
