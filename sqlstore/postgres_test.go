package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
)

// TestPostgresSearchPath opens a store without WithSchema on a pool whose
// search_path names a schema, beside one opened WithSchema on that schema:
// both work on the one table and take the same writers' lock, so their
// batches serialise as those of one store do.
func TestPostgresSearchPath(t *testing.T) {
	_, dsn := pgtest.Admin(t)
	schema := MustSchema(t)
	named := MustOpenPostgresIn(t, schema)
	st, err := sqlstore.Open(context.Background(), "pgx", withSetting(dsn, "search_path", schema))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.LockKey() != named.LockKey() {
		t.Errorf("lock keys differ: %d by search_path, %d by WithSchema", st.LockKey(), named.LockKey())
	}
	mustPut(t, st, record(1, removal.MarkedForRemoval))
	if res, err := removal.NewService(named).MarkReadyForRemoval(context.Background(), []string{string(number(1))}); err != nil || res.SuccessCount != 1 {
		t.Fatalf("MarkReadyForRemoval through the named store: %+v, %v", res, err)
	}
	got, err := st.Get(context.Background(), number(1))
	if err != nil || got.Status != removal.ReadyForRemoval {
		t.Errorf("seen through the search_path store: %v, %v", got.Status, err)
	}
	other, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema), sqlstore.WithTablePrefix("x_"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.LockKey() == named.LockKey() {
		t.Error("a store on another table takes the same lock")
	}
}

// TestPostgresSummaryUsesPartialIndex checks that both Summary statements can be
// answered from the partial index: their WHERE clause must imply the
// index's, which the planner proves term by term.
func TestPostgresSummaryUsesPartialIndex(t *testing.T) {
	st, _ := MustOpenPostgres(t)
	global, perTenant := st.SummaryQueries()
	for name, q := range map[string]string{"Global": global, "Tenant": perTenant} {
		t.Run(name, func(t *testing.T) {
			tx, err := st.DB().Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			// With sequential scans priced out, the planner picks the
			// partial index if, and only if, it can prove it applies.
			if _, err := tx.Exec("SET LOCAL enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			var args []any
			if strings.Contains(q, "$1") {
				args = append(args, tenant)
			}
			var plan []string
			if err := tx.Select(&plan, "EXPLAIN "+q, args...); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, "numbers_removal_idx") || strings.Contains(text, "Seq Scan") {
				t.Errorf("plan does not read only the partial index:\n%s", text)
			}
		})
	}
}
