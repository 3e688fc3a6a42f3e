package removal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

type rec struct {
	oc     bool
	status removal.NumberStatus
	at     time.Time
}

// fakeStore follows the removal.Store contract in the simplest way; lie
// replaces its outcomes to play a broken backend.
type fakeStore struct {
	removal.Store // the methods these tests do not use: nil, they panic
	recs          map[e164.Number]*rec
	calls         int
	lie           func(i int, o removal.Outcome) removal.Outcome
	failAt        int // fail with errDisk before this index when > 0
	counts        []int
	err           error
	tenant        string
}

var errDisk = errors.New("disk on fire")

func (f *fakeStore) Apply(ctx context.Context, ns []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	f.calls++
	var out []removal.Outcome
	for i, n := range ns {
		if f.failAt > 0 && i == f.failAt {
			return out, errDisk
		}
		o := removal.Outcome{}
		if r, ok := f.recs[n]; ok {
			o = removal.Outcome{Found: true, OperatorConnect: r.oc, Status: r.status}
			if r.oc && c.Allows(r.status) {
				r.status, r.at, o.Changed = c.To, c.At, true
			}
		}
		if f.lie != nil {
			o = f.lie(i, o)
		}
		out = append(out, o)
	}
	return out, nil
}

func (f *fakeStore) CountByStatus(ctx context.Context, tenant string, st []removal.NumberStatus) ([]int, error) {
	f.tenant = tenant
	return f.counts, f.err
}

func newFake() *fakeStore {
	return &fakeStore{recs: map[e164.Number]*rec{
		"+14255551212": {oc: true, status: removal.MarkedForRemoval},
		"+14255551213": {oc: true, status: removal.MarkedForRemoval},
		"+14255551214": {oc: true, status: removal.ReadyForRemoval},
		"+14255551215": {oc: false, status: removal.MarkedForRemoval},
		"+14255551216": {oc: true, status: removal.Active},
		"+14255551217": {oc: true, status: removal.ReleaseRequested},
	}}
}

func ptr(s removal.NumberStatus) *removal.NumberStatus { return &s }

var clock = time.Date(2026, 11, 22, 10, 30, 0, 123456789, time.FixedZone("X", 3600))

func TestServiceOutcomes(t *testing.T) {
	f := newFake()
	svc := removal.NewService(f, removal.WithClock(func() time.Time { return clock }))
	got, err := svc.MarkReadyForRemoval(context.Background(),
		[]string{"+14255551212", "+19995550000", "+14255551215", "+14255551214", "+14255551216", "+14255551213"})
	if err != nil {
		t.Fatal(err)
	}
	want := removal.BatchResult{ProcessedCount: 6, SuccessCount: 2, Failures: []removal.Failure{
		{TelephoneNumber: "+19995550000", ErrorCode: removal.CodeNumberNotFound},
		{TelephoneNumber: "+14255551215", ErrorCode: removal.CodeNotOperatorConnect, CurrentStatus: ptr(removal.MarkedForRemoval)},
		{TelephoneNumber: "+14255551214", ErrorCode: removal.CodeInvalidStatus, CurrentStatus: ptr(removal.ReadyForRemoval)},
		{TelephoneNumber: "+14255551216", ErrorCode: removal.CodeInvalidStatus, CurrentStatus: ptr(removal.Active)},
	}}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Detail" }, cmp.Ignore())); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	for _, fl := range got.Failures {
		if fl.Detail == "" {
			t.Errorf("failure %+v has no detail", fl)
		}
	}
	wantAt := clock.UTC().Truncate(time.Microsecond)
	if r := f.recs["+14255551212"]; r.status != removal.ReadyForRemoval || !r.at.Equal(wantAt) || r.at.Location() != time.UTC {
		t.Errorf("moved record = %+v, want ReadyForRemoval at %v UTC", r, wantAt)
	}
}

func TestServiceValidationTouchesNothing(t *testing.T) {
	f := newFake()
	svc := removal.NewService(f)
	for name, in := range map[string][]string{"nil": nil, "empty": {}, "bad": {"+1"}, "dup": {"+14255551212", "+14255551212"}} {
		res, err := svc.ClearRemovalStatus(context.Background(), in)
		if !errors.Is(err, removal.ErrInvalidRequest) {
			t.Errorf("%s: err = %v", name, err)
		}
		if diff := cmp.Diff(removal.BatchResult{}, res); diff != "" {
			t.Errorf("%s: result not zero:\n%s", name, diff)
		}
	}
	if f.calls != 0 {
		t.Errorf("store called %d times for invalid requests", f.calls)
	}
}

func TestServiceCancelledBeforeStart(t *testing.T) {
	f := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := removal.NewService(f).ClearRemovalStatus(ctx, []string{"+14255551212"})
	if !errors.Is(err, context.Canceled) || f.calls != 0 || res.ProcessedCount != 0 {
		t.Fatalf("got %+v, %v after %d store calls; want nothing applied and context.Canceled", res, err, f.calls)
	}
}

func TestServicePartialResultOnStoreFailure(t *testing.T) {
	f := newFake()
	f.failAt = 2
	res, err := removal.NewService(f).ClearRemovalStatus(context.Background(), []string{"+14255551212", "+14255551216", "+14255551213"})
	if !errors.Is(err, errDisk) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if res.ProcessedCount != 2 || res.SuccessCount != 1 || len(res.Failures) != 1 {
		t.Errorf("partial result = %+v, want 2 processed, 1 success", res)
	}
}

func TestServiceRejectsBrokenStore(t *testing.T) {
	cases := map[string]func(int, removal.Outcome) removal.Outcome{
		"changed a ReadyForRemoval number": func(i int, o removal.Outcome) removal.Outcome {
			if !o.Changed && o.Found && o.Status == removal.ReadyForRemoval {
				o.Changed = true
			}
			return o
		},
		"changed a non-OC number": func(i int, o removal.Outcome) removal.Outcome {
			if o.Found && !o.OperatorConnect {
				o.Changed = true
			}
			return o
		},
		"skipped a movable number": func(i int, o removal.Outcome) removal.Outcome {
			o.Changed = false
			return o
		},
	}
	for name, lie := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			f.lie = lie
			_, err := removal.NewService(f).ClearRemovalStatus(context.Background(),
				[]string{"+14255551212", "+14255551214", "+14255551215"})
			if !errors.Is(err, removal.ErrStoreContract) {
				t.Fatalf("err = %v, want ErrStoreContract", err)
			}
		})
	}
}

func TestServiceRejectsInvalidAction(t *testing.T) {
	for _, bad := range []removal.Action{0, removal.WithdrawReleaseRequestAction + 1, -1} {
		t.Run(bad.String(), func(t *testing.T) {
			f := newFake()
			if _, err := removal.NewService(f).Apply(context.Background(), bad, []string{"+14255551214"}); err == nil {
				t.Fatal("an invalid action was applied")
			}
			if f.calls != 0 || f.recs["+14255551214"].status != removal.ReadyForRemoval {
				t.Fatal("the store was touched")
			}
		})
	}
}

func TestServiceSummary(t *testing.T) {
	f := newFake()
	f.counts = []int{5, 7}
	svc := removal.NewService(f)
	got, err := svc.Summary(context.Background(), "{72F988BF-86F1-41AF-91AB-2D7CD011DB47}")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(removal.Summary{MarkedForRemovalCount: 5, ReadyForRemovalCount: 7, TotalCount: 12}, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if f.tenant != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
		t.Errorf("store asked for tenant %q, want the canonical form", f.tenant)
	}
	if _, err := svc.Summary(context.Background(), ""); err != nil || f.tenant != "" {
		t.Errorf("global summary: %v, tenant %q", err, f.tenant)
	}
	if _, err := svc.Summary(context.Background(), "not-a-guid"); removal.ErrorCode(err) != removal.CodeInvalidTenantID {
		t.Errorf("bad tenant: %v", err)
	}
	f.err = errDisk
	if _, err := svc.Summary(context.Background(), ""); !errors.Is(err, errDisk) {
		t.Errorf("store failure: %v", err)
	}
	f.err, f.counts = nil, []int{1}
	if _, err := svc.Summary(context.Background(), ""); !errors.Is(err, removal.ErrStoreContract) {
		t.Errorf("wrong number of counts: %v", err)
	}
}

func TestBatchResultJSON(t *testing.T) {
	b, err := jsonMarshal(removal.BatchResult{ProcessedCount: 2, SuccessCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"processedCount":2,"successCount":2,"failures":[]}`; b != want {
		t.Errorf("got %s, want %s", b, want)
	}
	b, _ = jsonMarshal(removal.BatchResult{ProcessedCount: 2, Failures: []removal.Failure{
		{TelephoneNumber: "+14255551212", ErrorCode: removal.CodeNumberNotFound, Detail: "d"},
		{TelephoneNumber: "+14255551213", ErrorCode: removal.CodeInvalidStatus, CurrentStatus: ptr(removal.ReadyForRemoval), Detail: "e"},
	}})
	want := `{"processedCount":2,"successCount":0,"failures":[` +
		`{"telephoneNumber":"+14255551212","errorCode":"NumberNotFound","detail":"d"},` +
		`{"telephoneNumber":"+14255551213","errorCode":"InvalidStatus","currentStatus":"ReadyForRemoval","detail":"e"}]}`
	if b != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	s, _ := jsonMarshal(removal.Summary{MarkedForRemovalCount: 1, ReadyForRemovalCount: 2, TotalCount: 3})
	if want := `{"markedForRemovalCount":1,"readyForRemovalCount":2,"totalCount":3}`; s != want {
		t.Errorf("got %s, want %s", s, want)
	}
}
