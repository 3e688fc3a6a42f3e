package sqlstore_test

import (
	"context"
	mathrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// TestPostgresCounts runs every kind of change, concurrently from two
// stores, on numbers of two tenants, some of them not Operator Connect:
// batches, merge and replace imports that move numbers between tenants and
// in and out of Operator Connect (COPY and upsert paths), deletes. The
// counts must equal a recount of the rows, before and after a fold.
func TestPostgresCounts(t *testing.T) {
	admin, _ := pgtest.Admin(t)
	schema := MustSchema(t)
	// 32 writers, imports of up to 3,000 rows among them, serialise on the
	// import lock: under a loaded CI machine (-race, every package at once)
	// an import waited past the default 5 s and was, rightly, ErrStoreBusy.
	// This test checks the counts, not the bound: give the waits room.
	long := sqlstore.WithLockTimeout(2 * time.Minute)
	stores := []*sqlstore.Store{MustOpenPostgresIn(t, schema, long), MustOpenPostgresIn(t, schema, long)}
	const pool = 3000
	tenants := []string{tenant, otherTenant}
	seed := mathrand.Uint64()
	t.Logf("seed %d", seed)
	rec := func(r *mathrand.Rand, i int) store.Number {
		n := record(i, removal.NumberStatus(r.IntN(4)))
		n.MSTenantID = tenants[r.IntN(2)]
		n.OperatorConnect = r.IntN(5) != 0
		return n
	}
	r := mathrand.New(mathrand.NewPCG(seed, 99))
	var first []store.Number
	for i := range pool / 2 {
		first = append(first, rec(r, i))
	}
	mustPut(t, stores[0], first...) // COPY
	checkCounts(t, admin, stores[0], schema)

	actions := removal.Actions()
	var wg sync.WaitGroup
	for g := range 32 {
		st := stores[g%2]
		wg.Go(func() {
			r := mathrand.New(mathrand.NewPCG(seed, uint64(g)))
			for range 30 {
				ctx := context.Background()
				var err error
				switch k := r.IntN(10); {
				case k < 6:
					a := actions[r.IntN(len(actions))]
					var batch []e164.Number
					for _, j := range r.Perm(pool)[:1+r.IntN(removal.MaxBatchSize)] {
						batch = append(batch, number(j))
					}
					_, err = st.Apply(ctx, batch, removal.Change{From: a.From(), To: a.To(), At: time.Now().UTC().Truncate(time.Microsecond), Event: a.Event()})
				case k < 9:
					var recs []store.Number
					for _, j := range r.Perm(pool)[:1+r.IntN(3000)] {
						recs = append(recs, rec(r, j))
					}
					mode := store.Merge
					if r.IntN(2) == 0 {
						mode = store.Replace
					}
					_, err = st.Import(ctx, recs, store.ImportOptions{Mode: mode})
				default:
					var batch []e164.Number
					for _, j := range r.Perm(pool)[:1+r.IntN(300)] {
						batch = append(batch, number(j))
					}
					_, err = st.Delete(ctx, batch, time.Now())
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkCounts(t, admin, stores[1], schema)
}

// TestPostgresCountsBackfill migrates a database of the previous schema
// version holding numbers: the migration that adds the counts fills them
// from the rows.
func TestPostgresCountsBackfill(t *testing.T) {
	admin, dsn := pgtest.Admin(t)
	schema := schemaAtVersion(t, admin, 2)
	if _, err := admin.Exec(`INSERT INTO "` + schema + `".numbers
		SELECT '+1425' || lpad(i::text, 7, '0'), CASE WHEN i % 3 = 0 THEN '` + otherTenant + `' ELSE '` + tenant + `' END,
			i % 7 <> 0, i % 4, now() FROM generate_series(1, 5000) AS i`); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkCounts(t, admin, st, schema)
}

// TestPostgresWideDeltasMigration migrates a database of schema version 4
// whose counts are partly in pending delta rows of the old shape (one per
// tenant, status and writer): the migration that makes them one row per
// tenant and writer folds them into the counts first.
func TestPostgresWideDeltasMigration(t *testing.T) {
	admin, dsn := pgtest.Admin(t)
	schema := schemaAtVersion(t, admin, 4)
	q := `"` + schema + `".`
	// 300 numbers of two tenants, all MarkedForRemoval; counts that say
	// all were Active and deltas of two writers (one of them in two rows)
	// that moved them.
	if _, err := admin.Exec(`INSERT INTO ` + q + `numbers
		SELECT '+1425' || lpad(i::text, 7, '0'), CASE WHEN i <= 100 THEN '` + otherTenant + `' ELSE '` + tenant + `' END, true, 2, now()
		FROM generate_series(1, 300) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`INSERT INTO ` + q + `counts (ms_tenant_id, status, n) VALUES
		('` + otherTenant + `', 0, 100), ('` + tenant + `', 0, 200), ('', 0, 300)`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`INSERT INTO ` + q + `counts_delta (ms_tenant_id, status, slot, d) VALUES
		('` + otherTenant + `', 0, -7, -100), ('` + otherTenant + `', 2, -7, 100),
		('` + tenant + `', 0, 42, -150), ('` + tenant + `', 2, 42, 150), ('` + tenant + `', 0, -9, -50), ('` + tenant + `', 2, -9, 50),
		('', 0, -7, -100), ('', 2, -7, 100), ('', 0, 42, -150), ('', 2, 42, 150), ('', 0, -9, -50), ('', 2, -9, 50)`); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var left int
	if err := admin.Get(&left, "SELECT COUNT(*) FROM "+st.CountDeltasTable()); err != nil || left != 0 {
		t.Errorf("%d deltas left by the migration, %v", left, err)
	}
	checkCounts(t, admin, st, schema)
	// And the new shape takes the store's changes.
	if _, err := removal.NewService(st).ClearRemovalStatus(context.Background(), []string{string(number(1)), string(number(150))}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, admin, st, schema)
}

// schemaAtVersion makes a new schema (dropped when t ends) and applies the
// first n migrations to it, as a database of that version would be.
func schemaAtVersion(t *testing.T, admin *sqlx.DB, n int) string {
	t.Helper()
	schema := MustSchema(t)
	ms, err := sqlstore.Migrations("pgx", sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:n] {
		if _, err := admin.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
	}
	return schema
}

// TestPostgresLimiter checks the database limiter: at most limit
// admissions in any window, from two stores (two processes' pools) at
// once; refusals are not counted and say how long to wait; the limit holds
// across a reopened store.
func TestPostgresLimiter(t *testing.T) {
	schema := MustSchema(t)
	a, b := MustOpenPostgresIn(t, schema), MustOpenPostgresIn(t, schema)
	ctx := context.Background()
	const limit, window = 20, 2 * time.Second
	var mu sync.Mutex
	var admitted []time.Time
	refused := 0
	var wg sync.WaitGroup
	start := time.Now()
	for g := range 6 {
		st := []*sqlstore.Store{a, b}[g%2]
		wg.Go(func() {
			for range 10 {
				ok, retry, err := st.Allow(ctx, "ready", limit, window)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if ok {
					admitted = append(admitted, time.Now())
				} else {
					refused++
					if retry <= 0 || retry > window {
						t.Errorf("retry after %v, want within (0, %v]", retry, window)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if time.Since(start) < window/2 && (len(admitted) != limit || refused != 60-limit) {
		t.Errorf("%d admitted, %d refused in one window; want %d and %d", len(admitted), refused, limit, 60-limit)
	}
	// Refused requests were not counted: once the window has passed since
	// the first admissions, requests are admitted again.
	ok, retry, err := a.Allow(ctx, "ready", limit, window)
	if err != nil || ok {
		t.Fatalf("at the limit: %v, %v, %v; want refused", ok, retry, err)
	}
	time.Sleep(retry)
	c := MustOpenPostgresIn(t, schema) // a restarted process
	if ok, _, err := c.Allow(ctx, "ready", limit, window); err != nil || !ok {
		t.Fatalf("after the wait it was told: %v, %v; want admitted", ok, err)
	}
	if ok, _, err := c.Allow(ctx, "other", limit, window); err != nil || !ok {
		t.Fatalf("another name: %v, %v; want admitted", ok, err)
	}
}

// TestPostgresCountsFolded runs many small batches: the deltas they leave
// are folded in the background, so that a count never reads more than a
// bounded number of them, and the counts stay equal to a recount.
func TestPostgresCountsFolded(t *testing.T) {
	admin, _ := pgtest.Admin(t)
	st, schema := MustOpenPostgres(t)
	putMarked(t, st, 100)
	svc := removal.NewService(st)
	// Each batch writes two delta rows (its tenant's and all's).
	for i := range 3 * sqlstore.FoldEvery {
		n := []string{string(number(i % 100))}
		var err error
		if i/100%2 == 0 {
			_, err = svc.ClearRemovalStatus(context.Background(), n)
		} else {
			_, err = svc.MarkForRemoval(context.Background(), n)
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			st.WaitFolds()
			var deltas int
			if err := admin.Get(&deltas, "SELECT COUNT(*) FROM "+st.CountDeltasTable()); err != nil {
				t.Fatal(err)
			}
			if deltas > 2*sqlstore.FoldEvery+200 {
				t.Fatalf("after %d batches, %d deltas wait for a fold", i+1, deltas)
			}
		}
	}
	checkCounts(t, admin, st, schema)
}

// TestPostgresCountDeltasStaySmall: under a sustained stream of batches
// the count deltas the folds delete are vacuumed by the store itself, so
// that their table, which every fold scans, stays small (autovacuum,
// switched off here, may wait a minute before it looks).
func TestPostgresCountDeltasStaySmall(t *testing.T) {
	admin, _ := pgtest.Admin(t)
	st, schema := MustOpenPostgres(t, sqlstore.WithMaxOpenConns(32))
	const writers, tenants = 32, 16
	recs := make([]store.Number, writers*100)
	for i := range recs {
		recs[i] = record(i, removal.MarkedForRemoval)
		recs[i].MSTenantID = benchTenant(i % tenants)
	}
	mustPut(t, st, recs...)
	if _, err := admin.Exec("ALTER TABLE " + st.CountDeltasTable() + " SET (autovacuum_enabled = false)"); err != nil {
		t.Fatal(err)
	}
	svc := removal.NewService(st)
	// Each writer clears then marks again 8 of its numbers, in 8 tenants:
	// each batch writes 9 delta rows (8 tenants and all), 259,200 in all,
	// which take about 1,300 pages when nothing reclaims the rows the folds
	// delete.
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range 900 {
				batch := make([]string, 8)
				for k := range batch {
					batch[k] = string(number(g*100 + (i/2*8+k)%96))
				}
				var err error
				if i%2 == 0 {
					_, err = svc.ClearRemovalStatus(context.Background(), batch)
				} else {
					_, err = svc.MarkForRemoval(context.Background(), batch)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st.WaitFolds()
	var pages int
	if err := admin.Get(&pages, "SELECT pg_relation_size(CAST($1 AS regclass)) / 8192", st.CountDeltasTable()); err != nil {
		t.Fatal(err)
	}
	t.Logf("count deltas: %d pages", pages)
	if pages > 700 {
		t.Errorf("the count deltas take %d pages after 259,200 delta rows; want at most 700", pages)
	}
	checkCounts(t, admin, st, schema)
}
