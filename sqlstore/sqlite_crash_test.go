//go:build cgo

package sqlstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// crashUniverse numbers are used by the crash test; the last 20 are never
// stored.
const crashUniverse = 620

// crashEntry is one line of the child's log: a batch it is about to run,
// or the result it got.
type crashEntry struct {
	Batch   int      `json:"batch"`
	Action  string   `json:"action,omitempty"`
	Numbers []string `json:"numbers,omitempty"`
	Done    bool     `json:"done,omitempty"`
	Success int      `json:"success,omitempty"`
	Err     string   `json:"err,omitempty"`
}

// TestCrashConsistency runs batches in a child process (this test binary,
// re-executed) on a SQLite file and kills it with SIGKILL at random moments.
// After each kill the file must pass integrity_check, and the numbers must
// hold exactly the model's statuses after the batches the child finished,
// plus, for the one it may have been running, either all of its changes or
// none: nothing half-applied, no illegal move, Summary equal to a recount,
// and one history event for every committed move, no more.
func TestCrashConsistency(t *testing.T) {
	if os.Getenv("OCNUMBERS_CRASH_CHILD") != "" {
		crashChild(t)
		return
	}
	if testing.Short() {
		t.Skip("crash test re-executes the test binary; skipped with -short")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "crash.db")
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))

	st := MustOpenSQLiteAt(t, dbPath)
	var initial []store.Number
	for i := range crashUniverse - 20 {
		initial = append(initial, store.Number{TelephoneNumber: number(i), MSTenantID: tenant,
			OperatorConnect: i%10 != 9, Status: removal.NumberStatus(r.IntN(4)), StatusChangedAt: benchAt})
	}
	mustPut(t, st, initial...)
	state := readState(t, st)
	st.Close()

	deadline := time.Now().Add(60 * time.Second)
	rounds, finished, cut := 0, 0, 0
	moves := 0 // committed so far: each must have its event
	for ; rounds < 25 && time.Now().Before(deadline); rounds++ {
		logPath := filepath.Join(dir, "child-"+strconv.Itoa(rounds)+".log")
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashConsistency$")
		cmd.Env = append(os.Environ(), "OCNUMBERS_CRASH_CHILD=1", "OCNUMBERS_CRASH_DB="+dbPath,
			"OCNUMBERS_CRASH_LOG="+logPath, "OCNUMBERS_CRASH_SEED="+strconv.FormatUint(r.Uint64(), 10))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Start the clock once the child is running batches: its start-up
		// (a race-built binary on a loaded machine can take a second) must
		// not eat the whole delay, or no batch would ever finish.
		waitForLog(t, logPath, 20*time.Second)
		time.Sleep(time.Duration(r.IntN(250)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		entries := readCrashLog(t, logPath)
		st := MustOpenSQLiteAt(t, dbPath)
		var integrity string
		if err := st.DB().Get(&integrity, "PRAGMA integrity_check"); err != nil || integrity != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", rounds, integrity, err)
		}
		got := readState(t, st)
		want, inflight, moved, inflightMoved := replay(t, state, entries)
		finished += len(entries) / 2
		if inflight != nil {
			cut++
		}
		switch {
		case equalState(got, want):
			moves += moved
		case inflight != nil && equalState(got, *inflight):
			moves += moved + inflightMoved
		default:
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("round %d: %s is %+v, want %+v (or the unfinished batch applied whole)", rounds, number(i), got[i], want[i])
				}
			}
			t.FailNow()
		}
		var recount [4]int
		for _, s := range got {
			if s.found && s.oc {
				recount[s.status]++
			}
		}
		sum, err := removal.NewService(st).Summary(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if sum.MarkedForRemovalCount != recount[removal.MarkedForRemoval] || sum.ReadyForRemovalCount != recount[removal.ReadyForRemoval] {
			t.Fatalf("round %d: Summary %+v, recount %v", rounds, sum, recount)
		}
		var events int
		if err := st.DB().Get(&events, "SELECT COUNT(*) FROM "+st.HistoryTableName()+" WHERE action <> 'import'"); err != nil {
			t.Fatal(err)
		}
		if events != moves {
			t.Fatalf("round %d: %d events of batch actions for %d committed moves", rounds, events, moves)
		}
		st.Close()
		state = got
	}
	if rounds < 20 {
		t.Errorf("only %d rounds in the time allowed, want at least 20", rounds)
	}
	// Without finished and interrupted batches the test proved nothing.
	t.Logf("%d rounds, %d batches finished, %d killed while running", rounds, finished, cut)
	if finished == 0 || cut == 0 {
		t.Errorf("%d batches finished and %d killed while running: want some of both", finished, cut)
	}
}

type numState struct {
	found, oc bool
	status    removal.NumberStatus
}

func readState(t *testing.T, st *sqlstore.Store) []numState {
	t.Helper()
	out := make([]numState, crashUniverse)
	for i := range out {
		n, err := st.Get(context.Background(), number(i))
		if err == nil {
			out[i] = numState{true, n.OperatorConnect, n.Status}
		}
	}
	return out
}

func equalState(a, b []numState) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// replay applies the logged batches to state with the transition rules:
// want is the state after the finished batches, and moved the moves they
// made; inflight, if the log ends with a batch that has no result, the
// state if that batch was applied, and inflightMoved its moves.
func replay(t *testing.T, state []numState, entries []crashEntry) (want []numState, inflight *[]numState, moved, inflightMoved int) {
	t.Helper()
	cur := append([]numState(nil), state...)
	apply := func(e crashEntry) ([]numState, int) {
		var a removal.Action
		for _, x := range removal.Actions() {
			if x.Name() == e.Action {
				a = x
			}
		}
		next := append([]numState(nil), cur...)
		moved := 0
		for _, s := range e.Numbers {
			i, _ := strconv.Atoi(s[5:])
			ns := next[i]
			if ns.found && ns.oc && a.Allows(ns.status) {
				if !removal.CanTransition(ns.status, a.To()) {
					t.Fatalf("model: illegal move")
				}
				next[i].status = a.To()
				moved++
			}
		}
		return next, moved
	}
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if i+1 < len(entries) && entries[i+1].Done && entries[i+1].Batch == e.Batch {
			res := entries[i+1]
			if res.Err != "" {
				t.Fatalf("batch %d failed in the child: %s", e.Batch, res.Err)
			}
			next, k := apply(e)
			if k != res.Success {
				t.Fatalf("batch %d: child got %d successes, the model %d", e.Batch, res.Success, k)
			}
			moved += k
			cur = next
			i++
			continue
		}
		if i != len(entries)-1 {
			t.Fatalf("batch %d has no result but is not the last", e.Batch)
		}
		next, k := apply(e)
		inflight, inflightMoved = &next, k
	}
	return cur, inflight, moved, inflightMoved
}

func readCrashLog(t *testing.T, path string) []crashEntry {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil // killed before it wrote anything
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []crashEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e crashEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			break // a line cut by the kill: it was never fsync'd whole
		}
		out = append(out, e)
	}
	return out
}

// crashChild runs random batches until it is killed, logging each batch
// before it runs and its result after, fsync'ing both.
// waitForLog waits, for at most limit, until the child has logged a batch.
func waitForLog(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
	}
	t.Fatalf("the child logged no batch within %v", limit)
}

func crashChild(t *testing.T) {
	seed, _ := strconv.ParseUint(os.Getenv("OCNUMBERS_CRASH_SEED"), 10, 64)
	r := rand.New(rand.NewPCG(seed, 2))
	st, err := sqlstore.Open(context.Background(), "sqlite3", os.Getenv("OCNUMBERS_CRASH_DB"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(os.Getenv("OCNUMBERS_CRASH_LOG"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	write := func(e crashEntry) {
		b, _ := json.Marshal(e)
		f.Write(append(b, '\n'))
		f.Sync()
	}
	svc := removal.NewService(st)
	actions := removal.Actions()
	for batch := 0; ; batch++ {
		a := actions[r.IntN(len(actions))]
		var ns []string
		for _, i := range r.Perm(crashUniverse)[:1+r.IntN(removal.MaxBatchSize)] {
			ns = append(ns, string(number(i)))
		}
		write(crashEntry{Batch: batch, Action: a.Name(), Numbers: ns})
		res, err := svc.Apply(context.Background(), a, ns)
		e := crashEntry{Batch: batch, Done: true, Success: res.SuccessCount}
		if err != nil {
			e.Err = err.Error()
		}
		write(e)
	}
}
