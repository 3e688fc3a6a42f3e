//go:build cgo

package sqlstore_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

// crashUniverse numbers are used by the crash test; the last 20 are never
// stored.
const crashUniverse = 620

// crashTenants are the tenants of the crash test's numbers.
var crashTenants = []string{tenant, otherTenant}

// crashEntry is one line of the child's log: a call it is about to make
// (a batch action, a merge import of Records, or a Delete), or the result
// it got: the numbers changed.
type crashEntry struct {
	Batch   int           `json:"batch"`
	Kind    string        `json:"kind,omitempty"` // "apply", "merge" or "delete"
	Action  string        `json:"action,omitempty"`
	Numbers []string      `json:"numbers,omitempty"`
	Records []crashRecord `json:"records,omitempty"`
	Done    bool          `json:"done,omitempty"`
	Success int           `json:"success,omitempty"`
	Err     string        `json:"err,omitempty"`
}

// crashRecord is one record of a merge import: number(I) in
// crashTenants[Tenant].
type crashRecord struct {
	I      int  `json:"i"`
	Tenant int  `json:"tenant"`
	OC     bool `json:"oc"`
	Status int  `json:"status"`
}

// TestCrashConsistency runs batches, merge imports (moving numbers between
// tenants and in and out of Operator Connect) and Deletes in a child
// process (this test binary, re-executed) on a SQLite file and kills it
// with SIGKILL at random moments. After each kill the file must pass
// integrity_check, and the numbers must hold exactly the model's state
// after the calls the child finished, plus, for the one it may have been
// running, either all of its changes or none: nothing half-applied, no
// illegal move; the counters equal a recount of the rows; every committed
// change has its history event and every event its change.
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
		initial = append(initial, store.Number{TelephoneNumber: number(i), MSTenantID: crashTenants[i%2],
			OperatorConnect: i%10 != 9, Status: removal.NumberStatus(r.IntN(4)), StatusChangedAt: benchAt})
	}
	mustPut(t, st, initial...)
	state := readState(t, st)
	st.Close()

	deadline := time.Now().Add(60 * time.Second)
	rounds, finished, cut := 0, 0, 0
	changes := len(initial) // committed so far: each must have its event
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
		want, inflight, changed, inflightChanged := replay(t, state, entries)
		finished += len(entries) / 2
		if inflight != nil {
			cut++
		}
		switch {
		case equalState(got, want):
			changes += changed
		case inflight != nil && equalState(got, *inflight):
			changes += changed + inflightChanged
		default:
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("round %d: %s is %+v, want %+v (or the unfinished batch applied whole)", rounds, number(i), got[i], want[i])
				}
			}
			t.FailNow()
		}
		wantCountersExact(t, st, "round "+strconv.Itoa(rounds))
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
		if err := st.DB().Get(&events, "SELECT COUNT(*) FROM "+st.HistoryTableName()); err != nil {
			t.Fatal(err)
		}
		if events != changes {
			t.Fatalf("round %d: %d events for %d committed changes", rounds, events, changes)
		}
		wantEventChains(t, st, got, "round "+strconv.Itoa(rounds))
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
	tenant    int // in crashTenants
	status    removal.NumberStatus
}

func readState(t *testing.T, st *sqlstore.Store) []numState {
	t.Helper()
	out := make([]numState, crashUniverse)
	for i := range out {
		n, err := st.Get(context.Background(), number(i))
		if err == nil {
			out[i] = numState{true, n.OperatorConnect, slices.Index(crashTenants, n.MSTenantID), n.Status}
		}
	}
	return out
}

// wantEventChains checks each number's history, in write order: every
// event starts from the state the one before left (an insert from
// nothing, a move from the status before, a purge from ReadyForRemoval),
// and the last leaves the number as it is. An event without its change, or
// a change without its event, breaks the chain.
func wantEventChains(t *testing.T, st *sqlstore.Store, state []numState, when string) {
	t.Helper()
	rows, err := st.DB().Query("SELECT telephone_number, action, from_status, to_status FROM " + st.HistoryTableName() + " ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type link struct {
		seen bool
		to   sql.NullInt64
	}
	last := make([]link, crashUniverse)
	for rows.Next() {
		var tel, action string
		var from, to sql.NullInt64
		if err := rows.Scan(&tel, &action, &from, &to); err != nil {
			t.Fatal(err)
		}
		i, _ := strconv.Atoi(tel[5:])
		prev := last[i]
		if prev.seen && prev.to != from || !prev.seen && from.Valid {
			t.Fatalf("%s: %s: %s event from %v follows an event to %v", when, tel, action, from, prev.to)
		}
		last[i] = link{true, to}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i, s := range state {
		l := last[i]
		if s.found != l.to.Valid || s.found && int64(s.status) != l.to.Int64 {
			t.Fatalf("%s: %s is %+v, but its last event leaves it %v", when, number(i), s, l.to)
		}
	}
}

func equalState(a, b []numState) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// replay applies the logged calls to state with the store's rules: want
// is the state after the finished calls, and changed the changes (events)
// they made; inflight, if the log ends with a call that has no result, the
// state if that call was applied, and inflightChanged its changes.
func replay(t *testing.T, state []numState, entries []crashEntry) (want []numState, inflight *[]numState, changed, inflightChanged int) {
	t.Helper()
	cur := append([]numState(nil), state...)
	apply := func(e crashEntry) ([]numState, int) {
		next := append([]numState(nil), cur...)
		k := 0
		switch e.Kind {
		case "merge":
			for _, r := range e.Records {
				ns := &next[r.I]
				if !ns.found {
					*ns = numState{found: true, status: removal.NumberStatus(r.Status)}
					k++
				}
				ns.oc, ns.tenant = r.OC, r.Tenant
			}
		case "delete":
			for _, s := range e.Numbers {
				i, _ := strconv.Atoi(s[5:])
				if next[i].found && next[i].status == removal.ReadyForRemoval {
					next[i] = numState{}
					k++
				}
			}
		default:
			var a removal.Action
			for _, x := range removal.Actions() {
				if x.Name() == e.Action {
					a = x
				}
			}
			for _, s := range e.Numbers {
				i, _ := strconv.Atoi(s[5:])
				ns := next[i]
				if ns.found && ns.oc && a.Allows(ns.status) {
					if !removal.CanTransition(ns.status, a.To()) {
						t.Fatalf("model: illegal move")
					}
					next[i].status = a.To()
					k++
				}
			}
		}
		return next, k
	}
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if i+1 < len(entries) && entries[i+1].Done && entries[i+1].Batch == e.Batch {
			res := entries[i+1]
			if res.Err != "" {
				t.Fatalf("call %d failed in the child: %s", e.Batch, res.Err)
			}
			next, k := apply(e)
			if k != res.Success {
				t.Fatalf("call %d (%s): child got %d changes, the model %d", e.Batch, e.Kind, res.Success, k)
			}
			changed += k
			cur = next
			i++
			continue
		}
		if i != len(entries)-1 {
			t.Fatalf("call %d has no result but is not the last", e.Batch)
		}
		next, k := apply(e)
		inflight, inflightChanged = &next, k
	}
	return cur, inflight, changed, inflightChanged
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
		var ns []string
		for _, i := range r.Perm(crashUniverse)[:1+r.IntN(removal.MaxBatchSize)] {
			ns = append(ns, string(number(i)))
		}
		e := crashEntry{Batch: batch, Done: true}
		switch k := r.IntN(10); k {
		case 0:
			var recs []crashRecord
			var in []store.Number
			for _, i := range r.Perm(crashUniverse - 20)[:1+r.IntN(100)] {
				c := crashRecord{I: i, Tenant: r.IntN(len(crashTenants)), OC: r.IntN(10) != 0, Status: r.IntN(4)}
				recs = append(recs, c)
				in = append(in, store.Number{TelephoneNumber: number(i), MSTenantID: crashTenants[c.Tenant],
					OperatorConnect: c.OC, Status: removal.NumberStatus(c.Status), StatusChangedAt: benchAt})
			}
			write(crashEntry{Batch: batch, Kind: "merge", Records: recs})
			res, err := st.Import(context.Background(), in, store.ImportOptions{Mode: store.Merge})
			e.Success, e.Err = res.Inserted, errText(err)
		case 1:
			write(crashEntry{Batch: batch, Kind: "delete", Numbers: ns})
			in := make([]e164.Number, len(ns))
			for i, n := range ns {
				in[i] = e164.Number(n)
			}
			out, err := st.Delete(context.Background(), in, time.Now())
			for _, o := range out {
				if o.Changed {
					e.Success++
				}
			}
			e.Err = errText(err)
		default:
			a := actions[r.IntN(len(actions))]
			write(crashEntry{Batch: batch, Kind: "apply", Action: a.Name(), Numbers: ns})
			res, err := svc.Apply(context.Background(), a, ns)
			e.Success, e.Err = res.SuccessCount, errText(err)
		}
		write(e)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
