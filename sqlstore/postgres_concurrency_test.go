package sqlstore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/pgtest"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// strs is numbers from..to-1 as request strings.
func numberStrings(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, string(number(i)))
	}
	return out
}

func numberRange(from, to int) []e164.Number {
	out := make([]e164.Number, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, number(i))
	}
	return out
}

// putMarked stores numbers 0..n-1 as MarkedForRemoval.
func putMarked(t *testing.T, st *sqlstore.Store, n int) {
	t.Helper()
	recs := make([]store.Number, n)
	for i := range recs {
		recs[i] = record(i, removal.MarkedForRemoval)
	}
	mustPut(t, st, recs...)
}

// wantStatus checks the status of numbers from..to-1.
func wantStatus(t *testing.T, st *sqlstore.Store, from, to int, want removal.NumberStatus) {
	t.Helper()
	for i := from; i < to; i++ {
		got, err := st.Get(context.Background(), number(i))
		if err != nil || got.Status != want {
			t.Errorf("%s: %v, %v; want %s", number(i), got.Status, err, want)
		}
	}
}

// appName returns a unique application_name and the DSN that sets it.
func appName(t *testing.T, prefix string) (string, string) {
	t.Helper()
	_, dsn := pgtest.Admin(t)
	var b [4]byte
	rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	return name, withSetting(dsn, "application_name", name)
}

// TestPostgresWritersInParallel holds one batch's transaction open (paused
// before its COMMIT, its rows locked): batches, a Delete and an Import on
// other numbers, from the same store and from another, complete without
// waiting for it, and so do reads.
func TestPostgresWritersInParallel(t *testing.T) {
	schema := MustSchema(t)
	first := MustOpenPostgresIn(t, schema)
	second := MustOpenPostgresIn(t, schema)
	putMarked(t, first, 100)
	ready := make([]store.Number, 10)
	for i := range ready {
		ready[i] = record(200+i, removal.ReadyForRemoval)
	}
	mustPut(t, first, ready...)

	done, releaseFirst := holdBatch(t, first, numberStrings(0, 10))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for i, st := range []*sqlstore.Store{second, first} {
		res, err := removal.NewService(st).MarkReadyForRemoval(ctx, numberStrings(10+10*i, 20+10*i))
		if err != nil || res.SuccessCount != 10 {
			t.Fatalf("batch %d beside the held one: %+v, %v", i, res, err)
		}
	}
	if out, err := second.Delete(ctx, numberRange(200, 205), time.Now()); err != nil || len(out) != 5 || !out[0].Changed {
		t.Fatalf("Delete beside the held batch: %v, %v", out, err)
	}
	if _, err := second.Import(ctx, []store.Number{record(300, removal.Active), record(50, removal.Active)}, store.ImportOptions{Mode: store.Merge}); err != nil {
		t.Fatalf("Import beside the held batch: %v", err)
	}
	if _, err := removal.NewService(second).Summary(ctx, ""); err != nil {
		t.Fatalf("Summary beside the held batch: %v", err)
	}
	releaseFirst()
	if err := <-done; err != nil {
		t.Fatalf("held batch: %v", err)
	}
	wantStatus(t, second, 0, 30, removal.ReadyForRemoval)
}

// holdBatch starts MarkReadyForRemoval of numbers on st and returns once
// the batch has run its statements and waits before its commit, holding
// its rows and its connection; release (also called when t ends) lets it
// commit, and done then gives its error.
func holdBatch(t *testing.T, st *sqlstore.Store, numbers []string) (done <-chan error, release func()) {
	t.Helper()
	paused, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(unblock) }) }
	t.Cleanup(release)
	st.SetBeforeCommit(func() { close(paused); <-unblock })
	errs := make(chan error, 1)
	go func() {
		_, err := removal.NewService(st).MarkReadyForRemoval(context.Background(), numbers)
		errs <- err
	}()
	<-paused
	st.SetBeforeCommit(nil) // the data race detector sees the hook read before the pause
	return errs, release
}

// TestPostgresLockTimeout has another session hold a row lock that a
// batch needs: with a short lock timeout the batch gives up with an error
// matching removal.ErrStoreBusy and nothing applied, and the pool works
// afterwards. On a pool given to New the timeout is the transaction's own:
// the host's sessions keep their settings.
func TestPostgresLockTimeout(t *testing.T) {
	admin, dsn := pgtest.Admin(t)
	opts := []sqlstore.Option{sqlstore.WithLockTimeout(200 * time.Millisecond)}
	for _, mode := range []string{"Open", "New"} {
		t.Run(mode, func(t *testing.T) {
			schema := MustSchema(t)
			var st *sqlstore.Store
			var host *sqlx.DB
			if mode == "Open" {
				st = MustOpenPostgresIn(t, schema, opts...)
			} else {
				var err error
				host, err = sqlx.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				host.SetMaxOpenConns(1) // one session: the store's and the host's
				t.Cleanup(func() { host.Close() })
				if st, err = sqlstore.New(host, append(opts, sqlstore.WithSchema(schema))...); err != nil {
					t.Fatal(err)
				}
			}
			putMarked(t, st, 120)
			tx, err := admin.Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec(`SELECT 1 FROM "`+schema+`".numbers WHERE telephone_number = $1 FOR UPDATE`, string(number(77))); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			began := time.Now()
			res, err := removal.NewService(st).MarkReadyForRemoval(ctx, numberStrings(0, 120))
			if !errors.Is(err, removal.ErrStoreBusy) {
				t.Fatalf("err = %v after %v, want one matching ErrStoreBusy", err, time.Since(began))
			}
			if waited := time.Since(began); waited > 3*time.Second {
				t.Errorf("gave up after %v, want about the lock timeout", waited)
			}
			if res.ProcessedCount != 0 {
				t.Errorf("result %+v, want nothing processed", res)
			}
			_, err = st.Import(ctx, []store.Number{record(77, removal.Active)}, store.ImportOptions{Mode: store.Replace})
			if !errors.Is(err, removal.ErrStoreBusy) {
				t.Errorf("Import: err = %v, want one matching ErrStoreBusy", err)
			}
			wantStatus(t, st, 0, 120, removal.MarkedForRemoval)
			if host != nil {
				var lt, idle string
				if err := host.Get(&lt, "SHOW lock_timeout"); err != nil || lt != "0" {
					t.Errorf("host session's lock_timeout = %q, %v; want it left at 0", lt, err)
				}
				if err := host.Get(&idle, "SHOW idle_in_transaction_session_timeout"); err != nil || idle != "0" {
					t.Errorf("host session's idle_in_transaction_session_timeout = %q, %v; want it left at 0", idle, err)
				}
			} else {
				var lt string
				if err := st.DB().Get(&lt, "SHOW lock_timeout"); err != nil || lt != "200ms" {
					t.Errorf("store session's lock_timeout = %q, %v; want 200ms", lt, err)
				}
			}
			tx.Rollback()
			res, err = removal.NewService(st).MarkReadyForRemoval(ctx, numberStrings(0, 120))
			if err != nil || res.SuccessCount != 120 {
				t.Fatalf("after the lock was released: %+v, %v", res, err)
			}
		})
	}
}

// TestPostgresFrozenProcess runs a second process (this test binary again)
// that opens the store on the same schema and starts a batch; inside its
// transaction, its rows locked, the test stops it (SIGSTOP). Batches of
// this process on the same numbers give up with ErrStoreBusy within the
// lock timeout, batches on other numbers succeed at once; once the frozen
// process's idle_in_transaction_session_timeout has passed, its
// transaction is gone and the same batch succeeds.
func TestPostgresFrozenProcess(t *testing.T) {
	if os.Getenv("OCNUMBERS_PG_FROZEN_SCHEMA") != "" {
		frozenChild()
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	_, dsn := pgtest.Admin(t)
	schema := MustSchema(t)
	st := MustOpenPostgresIn(t, schema, sqlstore.WithLockTimeout(200*time.Millisecond))
	putMarked(t, st, 40)
	const idle = 4 * time.Second
	cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresFrozenProcess$")
	cmd.Env = append(os.Environ(), "OCNUMBERS_PG_FROZEN_SCHEMA="+schema, "OCNUMBERS_PG_FROZEN_DSN="+dsn,
		"OCNUMBERS_PG_FROZEN_IDLE="+idle.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	}()
	frozen := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "frozen" {
				frozen <- true
				return
			}
		}
		frozen <- false
	}()
	select {
	case ok := <-frozen:
		if !ok {
			t.Fatal("the child ended before freezing")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not reach its transaction within 30 s")
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command name in parentheses.
		if fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(fields) > 0 && fields[0] == "T" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child did not stop")
		}
	}
	frozenAt := time.Now()
	svc := removal.NewService(st)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	began := time.Now()
	res, err := svc.MarkReadyForRemoval(ctx, numberStrings(0, 10))
	if !errors.Is(err, removal.ErrStoreBusy) || res.ProcessedCount != 0 {
		t.Fatalf("batch on the frozen process's numbers: %+v, %v; want ErrStoreBusy, nothing processed", res, err)
	}
	if waited := time.Since(began); waited > 2*time.Second {
		t.Errorf("gave up after %v, want about the 200ms lock timeout", waited)
	}
	began = time.Now()
	res, err = svc.MarkReadyForRemoval(ctx, numberStrings(20, 40))
	if err != nil || res.SuccessCount != 20 {
		t.Fatalf("batch on other numbers: %+v, %v", res, err)
	}
	if waited := time.Since(began); waited > time.Second {
		t.Errorf("batch on other numbers took %v", waited)
	}
	if time.Since(frozenAt) > idle {
		t.Fatalf("the checks took longer than the child's idle timeout (%v): the machine is too slow for this test", idle)
	}
	// The frozen child's session is ended after its idle timeout.
	for {
		res, err = svc.MarkReadyForRemoval(ctx, numberStrings(0, 10))
		if err == nil {
			break
		}
		if !errors.Is(err, removal.ErrStoreBusy) {
			t.Fatalf("batch after the idle timeout: %v", err)
		}
		if time.Since(frozenAt) > idle+10*time.Second {
			t.Fatalf("the frozen child's locks were still held %v after it froze", time.Since(frozenAt))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.SuccessCount != 10 {
		t.Errorf("after the idle timeout: %+v, want 10 moved (the frozen batch never committed)", res)
	}
	if since := time.Since(frozenAt); since < idle-500*time.Millisecond {
		t.Errorf("the locks were released after %v, before the idle timeout %v", since, idle)
	}
	wantStatus(t, st, 0, 10, removal.ReadyForRemoval)
	wantStatus(t, st, 10, 20, removal.MarkedForRemoval)
	wantStatus(t, st, 20, 40, removal.ReadyForRemoval)
}

// frozenChild is the frozen process: it starts a batch on numbers 0..9
// and, after its statement, says "frozen" and waits for the parent to stop
// it.
func frozenChild() {
	idle, _ := time.ParseDuration(os.Getenv("OCNUMBERS_PG_FROZEN_IDLE"))
	st, err := sqlstore.Open(context.Background(), "pgx", os.Getenv("OCNUMBERS_PG_FROZEN_DSN"),
		sqlstore.WithSchema(os.Getenv("OCNUMBERS_PG_FROZEN_SCHEMA")), sqlstore.WithoutMigrations(),
		sqlstore.WithIdleInTransactionTimeout(idle))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	st.SetBeforeCommit(func() {
		fmt.Println("frozen")
		time.Sleep(time.Minute) // stopped by the parent meanwhile
	})
	removal.NewService(st).MarkReadyForRemoval(context.Background(), numberStrings(0, 10))
	os.Exit(0)
}

// TestPostgresDeadConnections terminates every backend of a store's pool
// while they are idle (as a server restart or a failover does), then sends
// batches, an import and reads at once: none fails, and each batch took
// effect exactly once.
func TestPostgresDeadConnections(t *testing.T) {
	admin, _ := pgtest.Admin(t)
	app, dsn := appName(t, "ocn_dead_")
	schema := MustSchema(t)
	st, err := sqlstore.Open(context.Background(), "pgx", dsn, sqlstore.WithSchema(schema), sqlstore.WithMaxOpenConns(4))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	putMarked(t, st, 400)
	svc := removal.NewService(st)
	for round := range 3 {
		// Fill the pool: four batches at once use four connections.
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				if _, err := svc.Summary(context.Background(), ""); err != nil {
					t.Error(err)
				}
				_ = g
			})
		}
		wg.Wait()
		var killed int
		if err := admin.Get(&killed, `SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) AS k`, app); err != nil {
			t.Fatal(err)
		}
		if killed == 0 {
			t.Fatal("no backend of the store to terminate")
		}
		waitFor(t, admin, "the backends to end", `SELECT CAST(COUNT(*) = 0 AS int) FROM pg_stat_activity WHERE application_name = $1`, app)
		// At once: a connection idle for less than a second is not pinged
		// before it is handed out.
		base := round * 100
		for g := range 4 {
			wg.Go(func() {
				from := base + g*25
				res, err := svc.MarkReadyForRemoval(context.Background(), numberStrings(from, from+25))
				if err != nil || res.SuccessCount != 25 {
					t.Errorf("round %d: batch %d after the backends were terminated: %+v, %v", round, g, res, err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
		t.Fatal(err)
	}
	waitFor(t, admin, "the backends to end", `SELECT CAST(COUNT(*) = 0 AS int) FROM pg_stat_activity WHERE application_name = $1`, app)
	if _, err := st.Import(context.Background(), []store.Number{record(399, removal.Active)}, store.ImportOptions{Mode: store.Replace}); err != nil {
		t.Errorf("Import after the backends were terminated: %v", err)
	}
	// Reads too, each on a connection found dead.
	fillAndKill := func() {
		t.Helper()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { st.ListNumbers(context.Background(), removal.NumberQuery{Limit: 1}) })
		}
		wg.Wait()
		if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
			t.Fatal(err)
		}
		waitFor(t, admin, "the backends to end", `SELECT CAST(COUNT(*) = 0 AS int) FROM pg_stat_activity WHERE application_name = $1`, app)
	}
	fillAndKill()
	if _, err := svc.Summary(context.Background(), ""); err != nil {
		t.Errorf("Summary after the backends were terminated: %v", err)
	}
	fillAndKill()
	if _, err := st.Get(context.Background(), number(1)); err != nil {
		t.Errorf("Get after the backends were terminated: %v", err)
	}
	fillAndKill()
	if _, err := st.ListNumbers(context.Background(), removal.NumberQuery{Limit: 10}); err != nil {
		t.Errorf("ListNumbers after the backends were terminated: %v", err)
	}
	fillAndKill()
	if _, _, err := st.History(context.Background(), number(1), 0, 10); err != nil {
		t.Errorf("History after the backends were terminated: %v", err)
	}
	wantStatus(t, st, 0, 300, removal.ReadyForRemoval)
	wantStatus(t, st, 300, 399, removal.MarkedForRemoval)
	var events int
	if err := admin.Get(&events, `SELECT COUNT(*) FROM "`+schema+`".history WHERE action = 'readyForRemoval'`); err != nil || events != 300 {
		t.Errorf("%d readyForRemoval events, %v; want 300: each batch once", events, err)
	}
}

// TestPostgresPoolBounded has 60 callers at once (batches waiting for a
// row lock, and reads) on a store opened with the default pool and with
// WithMaxOpenConns: the server never sees more sessions of the store than
// the cap, nor does database/sql open more.
func TestPostgresPoolBounded(t *testing.T) {
	admin, _ := pgtest.Admin(t)
	for _, tc := range []struct {
		name string
		opts []sqlstore.Option
		cap  int
	}{
		{"Default", nil, 10},
		{"WithMaxOpenConns", []sqlstore.Option{sqlstore.WithMaxOpenConns(3)}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, dsn := appName(t, "ocn_pool_")
			schema := MustSchema(t)
			st, err := sqlstore.Open(context.Background(), "pgx", dsn, append([]sqlstore.Option{sqlstore.WithSchema(schema)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			putMarked(t, st, 100)
			tx, err := admin.Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec(`SELECT 1 FROM "`+schema+`".numbers WHERE telephone_number = $1 FOR UPDATE`, string(number(0))); err != nil {
				t.Fatal(err)
			}
			svc := removal.NewService(st)
			var wg sync.WaitGroup
			var failures atomic.Int64
			for g := range 60 {
				wg.Go(func() {
					var err error
					if g%3 == 2 {
						_, err = svc.Summary(context.Background(), "")
					} else {
						_, err = svc.MarkReadyForRemoval(context.Background(), []string{string(number(0)), string(number(1 + g))})
					}
					if err != nil {
						failures.Add(1)
					}
				})
			}
			peak, peakStats := 0, 0
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				var n int
				if err := admin.Get(&n, "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1", app); err != nil {
					t.Fatal(err)
				}
				peak = max(peak, n)
				peakStats = max(peakStats, st.DB().Stats().OpenConnections)
			}
			tx.Rollback()
			wg.Wait()
			if peak > tc.cap || peakStats > tc.cap {
				t.Errorf("peak sessions %d on the server, %d in database/sql; want at most %d", peak, peakStats, tc.cap)
			}
			if peak < tc.cap {
				t.Errorf("peak sessions %d: the callers never filled the pool of %d", peak, tc.cap)
			}
			if got := st.DB().Stats().MaxOpenConnections; got != tc.cap {
				t.Errorf("MaxOpenConnections = %d, want %d", got, tc.cap)
			}
			if failures.Load() != 0 {
				t.Errorf("%d callers failed", failures.Load())
			}
		})
	}
}

// TestPostgresTwoProcesses runs two processes (this test binary again) on
// one schema, each with goroutines racing batches of every action, in
// random orders and sizes up to 500, on the same numbers. Each process
// logs every batch's outcomes. Then: no call failed (no deadlock, no lock
// timeout); per number the reported successes lead from its initial status
// to its final one (no lost update); its history is a chain, each event's
// from status the previous one's to status, with one event per reported
// success; the counts equal a recount of the rows.
func TestPostgresTwoProcesses(t *testing.T) {
	if os.Getenv("OCNUMBERS_PG_RACE_SCHEMA") != "" {
		raceChild()
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	admin, dsn := pgtest.Admin(t)
	schema := MustSchema(t)
	st := MustOpenPostgresIn(t, schema)
	initial := make([]store.Number, racePool)
	for i := range initial {
		initial[i] = record(i, removal.NumberStatus(i%3)) // never ReadyForRemoval at the start
		if i%4 == 0 {
			initial[i].MSTenantID = otherTenant
		}
	}
	mustPut(t, st, initial...)
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for p := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresTwoProcesses$")
		cmd.Env = append(os.Environ(), "OCNUMBERS_PG_RACE_SCHEMA="+schema, "OCNUMBERS_PG_RACE_DSN="+dsn,
			"OCNUMBERS_PG_RACE_LOG="+dir+"/"+strconv.Itoa(p)+".log", "OCNUMBERS_PG_RACE_SEED="+strconv.Itoa(p)+strconv.FormatInt(time.Now().UnixNano()%1e6, 10))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	// successes[n] lists the reported moves of number n.
	flow := make(map[e164.Number]*[4]int)
	successes := make(map[e164.Number]int)
	for p := range cmds {
		b, err := os.ReadFile(dir + "/" + strconv.Itoa(p) + ".log")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			// "n from to" per reported success
			var n string
			var from, to int
			if _, err := fmt.Sscan(line, &n, &from, &to); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if !removal.CanTransition(removal.NumberStatus(from), removal.NumberStatus(to)) {
				t.Errorf("%s moved %d -> %d", n, from, to)
			}
			f := flow[e164.Number(n)]
			if f == nil {
				f = new([4]int)
				flow[e164.Number(n)] = f
			}
			f[to]++
			f[from]--
			successes[e164.Number(n)]++
		}
	}
	if len(successes) == 0 {
		t.Fatal("no batch moved anything: the test raced nothing")
	}
	for i, in := range initial {
		got, err := st.Get(context.Background(), in.TelephoneNumber)
		if err != nil {
			t.Fatal(err)
		}
		want := [4]int{}
		want[got.Status]++
		want[in.Status]--
		f := flow[in.TelephoneNumber]
		if f == nil {
			f = new([4]int)
		}
		if *f != want {
			t.Errorf("number %d: moves %v do not lead from %s to %s", i, *f, in.Status, got.Status)
		}
	}
	// History chains, in write order.
	var events []struct {
		N    string `db:"telephone_number"`
		From *int   `db:"from_status"`
		To   *int   `db:"to_status"`
	}
	if err := admin.Select(&events, `SELECT telephone_number, from_status, to_status FROM "`+schema+`".history ORDER BY telephone_number, id`); err != nil {
		t.Fatal(err)
	}
	last := map[string]*int{}
	seen := map[string]bool{}
	moved := map[string]int{}
	for _, e := range events {
		if seen[e.N] {
			if e.From == nil || last[e.N] == nil || *e.From != *last[e.N] {
				t.Errorf("%s: an event from %v follows one to %v", e.N, e.From, last[e.N])
			}
			moved[e.N]++
		}
		seen[e.N] = true
		last[e.N] = e.To
	}
	for n, k := range successes {
		if moved[string(n)] != k {
			t.Errorf("%s: %d events after its import, %d successes reported", n, moved[string(n)], k)
		}
	}
	checkCounts(t, admin, st, schema)
}

// racePool is how many numbers the processes of TestPostgresTwoProcesses
// share.
const racePool = 600

// raceChild runs four goroutines of random batches and logs each success
// as "number from to".
func raceChild() {
	seed, _ := strconv.ParseUint(os.Getenv("OCNUMBERS_PG_RACE_SEED"), 10, 64)
	st, err := sqlstore.Open(context.Background(), "pgx", os.Getenv("OCNUMBERS_PG_RACE_DSN"),
		sqlstore.WithSchema(os.Getenv("OCNUMBERS_PG_RACE_SCHEMA")), sqlstore.WithoutMigrations())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	f, err := os.Create(os.Getenv("OCNUMBERS_PG_RACE_LOG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	failed := atomic.Bool{}
	actions := removal.Actions()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := mathrand.New(mathrand.NewPCG(seed, uint64(g)))
			for range 40 {
				a := actions[r.IntN(len(actions))]
				size := 1 + r.IntN(8)
				if r.IntN(4) == 0 {
					size = removal.MaxBatchSize
				}
				perm := r.Perm(racePool)[:size]
				batch := make([]e164.Number, size)
				for i, j := range perm {
					batch[i] = number(j)
				}
				c := removal.Change{From: a.From(), To: a.To(), At: time.Now().UTC().Truncate(time.Microsecond), Event: a.Event()}
				out, err := st.Apply(context.Background(), batch, c)
				if err != nil || len(out) != len(batch) {
					fmt.Fprintf(os.Stderr, "child: %s of %d: %d outcomes, %v\n", a.Name(), len(batch), len(out), err)
					failed.Store(true)
					return
				}
				mu.Lock()
				for i, o := range out {
					if o.Changed {
						fmt.Fprintln(f, batch[i], int(o.Status), int(a.To()))
					} else if o.OperatorConnect && c.Allows(o.Status) {
						fmt.Fprintf(os.Stderr, "child: %s is %s, which %s moves, but was not changed\n", batch[i], o.Status, a.Name())
						failed.Store(true)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f.Close()
	if failed.Load() {
		os.Exit(1)
	}
	os.Exit(0)
}

// checkCounts compares the store's counts of every status, globally and
// per tenant, with a recount of the rows; then folds the deltas and
// compares again.
func checkCounts(t *testing.T, admin *sqlx.DB, st *sqlstore.Store, schema string) {
	t.Helper()
	for _, fold := range []bool{false, true} {
		if fold {
			st.WaitFolds()
			if _, err := st.Fold(context.Background()); err != nil {
				t.Fatalf("Fold: %v", err)
			}
			var left int
			if err := admin.Get(&left, "SELECT COUNT(*) FROM "+st.CountDeltasTable()); err != nil || left != 0 {
				t.Errorf("%d deltas left after a fold, %v", left, err)
			}
		}
		want := pgRecount(t, admin, schema)
		for tn, w := range want {
			got, err := st.CountByStatus(context.Background(), tn, removal.Statuses())
			if err != nil {
				t.Fatal(err)
			}
			if !slicesEqual(got, w[:]) {
				t.Errorf("fold %v, tenant %q: counts %v, recount %v", fold, tn, got, w)
			}
		}
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
