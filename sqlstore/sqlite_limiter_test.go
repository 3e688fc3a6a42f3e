//go:build cgo

package sqlstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/sqlstore"
)

var _ httpapi.Limiter = (*sqlstore.Limiter)(nil)

// fakeClock is a settable clock for the limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func mustLimiter(t *testing.T, st *sqlstore.Store, name string, limit int, window time.Duration) *sqlstore.Limiter {
	t.Helper()
	l, err := st.RateLimiter(name, limit, window)
	if err != nil {
		t.Fatalf("RateLimiter(%q, %d, %v): %v", name, limit, window, err)
	}
	return l
}

// TestSQLiteLimiterWindow steps a limiter of 3 requests in 10 s through
// the edges of its window, with a clock the test sets.
func TestSQLiteLimiterWindow(t *testing.T) {
	st, _ := MustOpenSQLite(t)
	clock := &fakeClock{}
	st.SetClock(clock.now)
	l := mustLimiter(t, st, "ready-for-removal", 3, 10*time.Second)
	other := mustLimiter(t, st, "other", 1, 10*time.Second)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	for _, step := range []struct {
		at    time.Duration // since t0
		ok    bool
		retry time.Duration
	}{
		{0, true, 0},
		{1000 * ms, true, 0},
		{2000 * ms, true, 0},
		{5000 * ms, false, 5000 * ms},  // 3 in (−5 s, 5 s]: the one at 0 leaves at 10 s
		{9999 * ms, false, 1 * ms},     // still 3
		{10000 * ms, true, 0},          // the one at 0 has left: at most 3 in any 10 s
		{10500 * ms, false, 500 * ms},  // 1 s, 2 s, 10 s: the one at 1 s leaves at 11 s
		{10600 * ms, false, 400 * ms},  // refusals are not counted...
		{10900 * ms, false, 100 * ms},  // ...
		{11000 * ms, true, 0},          // ...so this one gets in
		{11000 * ms, false, 1000 * ms}, // 2 s, 10 s, 11 s
		{40000 * ms, true, 0},          // long after
		{40000 * ms, true, 0},
		{40000 * ms, true, 0},
		{40000 * ms, false, 10000 * ms},
	} {
		clock.set(t0.Add(step.at))
		ok, retry, err := l.Allow(context.Background())
		if err != nil || ok != step.ok || retry != step.retry {
			t.Errorf("at %v: Allow = %v, %v, %v; want %v, %v", step.at, ok, retry, err, step.ok, step.retry)
		}
		if step.at == 5000*ms {
			// Another name has a window of its own.
			if ok, _, err := other.Allow(context.Background()); !ok || err != nil {
				t.Errorf("another limiter refused: %v, %v", ok, err)
			}
		}
	}
}

// TestSQLiteLimiterMatchesSlidingWindow compares the limiter with
// httpapi's in-process SlidingWindow over random request times: the same
// admissions, the same retryAfter.
func TestSQLiteLimiterMatchesSlidingWindow(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	st, _ := MustOpenSQLite(t)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st.SetClock(clock.now)
	for _, c := range []struct {
		limit  int
		window time.Duration
	}{{1, time.Second}, {5, 3 * time.Second}, {40, time.Minute}} {
		name := fmt.Sprintf("l%d", c.limit)
		l := mustLimiter(t, st, name, c.limit, c.window)
		ref := httpapi.NewSlidingWindow(c.limit, c.window, clock.now)
		admitted := 0
		for i := range 600 {
			// Bursts and pauses, to the microsecond.
			step := time.Duration(r.Int64N(int64(c.window) / int64(c.limit) * 2)).Truncate(time.Microsecond)
			if r.IntN(4) == 0 {
				step = 0
			}
			clock.set(clock.now().Add(step))
			wantOK, wantRetry, _ := ref.Allow(context.Background())
			ok, retry, err := l.Allow(context.Background())
			if err != nil || ok != wantOK || retry != wantRetry {
				t.Fatalf("%s, request %d: Allow = %v, %v, %v; SlidingWindow says %v, %v", name, i, ok, retry, err, wantOK, wantRetry)
			}
			if ok {
				admitted++
			}
		}
		if admitted == 0 || admitted == 600 {
			t.Errorf("%s: %d of 600 admitted: the sequence tested nothing", name, admitted)
		}
	}
}

// TestSQLiteLimiterShared: two stores (two pools) on one file share a
// limit, which also outlives a store closed and opened again; the clock
// stepping back never lets more through.
func TestSQLiteLimiterShared(t *testing.T) {
	a, path := MustOpenSQLite(t)
	b := MustOpenSQLiteAt(t, path)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a.SetClock(clock.now)
	b.SetClock(clock.now)
	la, lb := mustLimiter(t, a, "api", 2, time.Minute), mustLimiter(t, b, "api", 2, time.Minute)
	allow := func(l *sqlstore.Limiter, want bool) {
		t.Helper()
		if ok, _, err := l.Allow(context.Background()); err != nil || ok != want {
			t.Fatalf("Allow = %v, %v; want %v", ok, err, want)
		}
	}
	allow(la, true)
	allow(lb, true)
	allow(la, false)
	allow(lb, false)

	a.Close()
	c := MustOpenSQLiteAt(t, path)
	c.SetClock(clock.now)
	lc := mustLimiter(t, c, "api", 2, time.Minute)
	allow(lc, false)

	// The clock steps back an hour: the admissions keep their order, and
	// none gets in before a minute has passed since the last two.
	clock.set(clock.now().Add(-time.Hour))
	ok, retry, err := lc.Allow(context.Background())
	if ok || err != nil || retry <= 0 || retry > time.Minute {
		t.Errorf("after the clock stepped back: %v, %v, %v; want a refusal with 0 < retryAfter <= 1m", ok, retry, err)
	}
	clock.set(clock.now().Add(time.Hour + time.Minute))
	allow(lc, true)
	allow(lb, true)
	allow(lc, false)
}

// TestSQLiteLimiterErrors: arguments outside the contract are refused; a
// done context and a database locked past the lock timeout are errors, the
// latter matching removal.ErrStoreBusy.
func TestSQLiteLimiterErrors(t *testing.T) {
	st, path := MustOpenSQLite(t, sqlstore.WithLockTimeout(100*time.Millisecond))
	for _, c := range []struct {
		name   string
		limit  int
		window time.Duration
	}{{"", 1, time.Second}, {strings.Repeat("x", 201), 1, time.Second}, {"x", 0, time.Second}, {"x", 1, time.Nanosecond}} {
		if _, err := st.RateLimiter(c.name, c.limit, c.window); err == nil {
			t.Errorf("RateLimiter(%d bytes, %d, %v) succeeded", len(c.name), c.limit, c.window)
		}
	}
	l := mustLimiter(t, st, "x", 5, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := l.Allow(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Allow with a cancelled context: %v", err)
	}

	release := holdWriteLock(t, path)
	ok, _, err := l.Allow(context.Background())
	if ok || !errors.Is(err, removal.ErrStoreBusy) {
		t.Errorf("Allow while another connection holds the write lock: %v, %v; want ErrStoreBusy", ok, err)
	}
	release()
	if ok, _, err := l.Allow(context.Background()); !ok || err != nil {
		t.Errorf("Allow after the lock was released: %v, %v", ok, err)
	}
	// Allow commits with synchronous=NORMAL and gives the connection back
	// at FULL.
	holdConns(t, st.DB(), sqlstore.DefaultSQLiteMaxOpenConns, func(i int, c *sqlx.Conn) {
		var level int
		if err := c.GetContext(context.Background(), &level, "PRAGMA synchronous"); err != nil || level != 2 {
			t.Errorf("connection %d after Allow: synchronous = %d, %v; want 2", i, level, err)
		}
	})
}

// TestSQLiteLimiterAcrossProcesses runs the limiter in this process and in
// two child processes (this test binary, re-executed) on one SQLite file,
// all asking as fast as they can, and checks from the times each logged
// around each admission that no interval of the window's length held more
// than limit admissions, and that all of them were admitted in turn.
func TestSQLiteLimiterAcrossProcesses(t *testing.T) {
	const (
		limit  = 20
		window = 500 * time.Millisecond
		run    = 2 * time.Second
	)
	if os.Getenv("OCNUMBERS_LIMITER_CHILD") != "" {
		limiterChild(t, limit, window, run)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "limit.db")
	MustOpenSQLiteAt(t, path).Close() // migrated before the children start
	// Each process, once its limiter is open, writes its log file's name
	// with ".ready" and waits for the go file, which holds the end of the
	// run: a child slow to start (a loaded machine, the race detector)
	// then still asks for the whole run.
	goFile := filepath.Join(dir, "go")
	var logs []string
	var cmds []*exec.Cmd
	for i := range 2 {
		log := filepath.Join(dir, fmt.Sprintf("child-%d.log", i))
		logs = append(logs, log)
		cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteLimiterAcrossProcesses$")
		cmd.Env = append(os.Environ(), "OCNUMBERS_LIMITER_CHILD=1", "OCNUMBERS_LIMITER_DB="+path,
			"OCNUMBERS_LIMITER_LOG="+log, "OCNUMBERS_LIMITER_GO="+goFile)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	parent := filepath.Join(dir, "parent.log")
	logs = append(logs, parent)
	ready := slices.Clone(logs)
	go func() {
		deadline := time.Now().Add(time.Minute)
		for _, log := range ready {
			for {
				if _, err := os.Stat(log + ".ready"); err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		until := time.Now().Add(100*time.Millisecond + run)
		if err := os.WriteFile(goFile+".tmp", []byte(strconv.FormatInt(until.UnixNano(), 10)), 0o600); err == nil {
			os.Rename(goFile+".tmp", goFile)
		}
	}()
	t.Setenv("OCNUMBERS_LIMITER_DB", path)
	t.Setenv("OCNUMBERS_LIMITER_LOG", parent)
	t.Setenv("OCNUMBERS_LIMITER_GO", goFile)
	limiterChild(t, limit, window, run)
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}

	// Each admission's stamp lies between the times logged before and
	// after its call. The admissions whose calls began at or after x and
	// ended before x+window were stamped inside [x, x+window): at most
	// limit of them, for every x.
	type span struct{ before, after int64 } // Unix microseconds
	var all []span
	perProcess := make([]int, len(logs))
	for i, log := range logs {
		f, err := os.Open(log)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var b, a int64
			if _, err := fmt.Sscan(sc.Text(), &b, &a); err != nil {
				t.Fatalf("%s: %q: %v", log, sc.Text(), err)
			}
			all = append(all, span{b / 1000, (a + 999) / 1000})
			perProcess[i]++
		}
		f.Close()
	}
	slices.SortFunc(all, func(x, y span) int { return int(x.before - y.before) })
	w := window.Microseconds()
	worst := 0
	for i, x := range all {
		n := 0
		for _, y := range all[i:] {
			if y.after < x.before+w {
				n++
			}
		}
		worst = max(worst, n)
		if n > limit {
			t.Fatalf("%d admissions stamped within %v from %d µs, want at most %d", n, window, x.before, limit)
		}
	}
	t.Logf("admissions per process %v; at most %d in a window (limit %d)", perProcess, worst, limit)
	// Every process asked all the time: together they must have filled
	// most windows. How the admissions fall among the processes is the
	// machine's scheduling (the limiter promises no fairness), but each
	// process must have asked and been answered throughout.
	if got, want := len(all), limit*int(run/window)/2; got < want {
		t.Errorf("%d admissions in %v, want at least %d", got, run, want)
	}
	calls := make([]int, len(logs))
	for i, log := range logs {
		b, err := os.ReadFile(log + ".calls")
		if err == nil {
			calls[i], err = strconv.Atoi(string(b))
		}
		if err != nil || calls[i] < perProcess[i] || calls[i] < 10 {
			t.Errorf("process %d: %d calls answered (%v), %d admitted; want at least 10 answered", i, calls[i], err, perProcess[i])
		}
	}
	t.Logf("calls answered per process %v", calls)
}

// limiterChild asks for admissions for run, from the time all processes
// are ready until the time the parent set in the go file, logging the Unix
// nanoseconds before and after each call that was admitted.
func limiterChild(t *testing.T, limit int, window, run time.Duration) {
	st, err := sqlstore.Open(context.Background(), "sqlite3", os.Getenv("OCNUMBERS_LIMITER_DB"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := st.RateLimiter("shared", limit, window)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(os.Getenv("OCNUMBERS_LIMITER_LOG"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	if err := os.WriteFile(os.Getenv("OCNUMBERS_LIMITER_LOG")+".ready", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var until int64
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(os.Getenv("OCNUMBERS_LIMITER_GO")); err == nil {
			if until, err = strconv.ParseInt(string(b), 10, 64); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the go file never came")
		}
	}
	start := time.Unix(0, until).Add(-run)
	time.Sleep(time.Until(start)) // all processes start together
	calls := 0
	defer func() {
		if err := os.WriteFile(os.Getenv("OCNUMBERS_LIMITER_LOG")+".calls", []byte(strconv.Itoa(calls)), 0o600); err != nil {
			t.Error(err)
		}
	}()
	for time.Now().UnixNano() < until {
		calls++
		before := time.Now().UnixNano()
		ok, retry, err := l.Allow(context.Background())
		after := time.Now().UnixNano()
		if err != nil {
			t.Fatalf("Allow: %v", err)
		}
		if ok {
			fmt.Fprintln(w, before, after)
		} else if retry > 2*time.Millisecond {
			time.Sleep(time.Duration(rand.Int64N(int64(retry))))
		}
	}
}
