package removal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// exampleService is a Service on a memstore holding a few numbers of one
// tenant; real programs use sqlstore.
func exampleService() *removal.Service {
	st := memstore.New()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	n := func(tel string, s removal.NumberStatus) store.Number {
		return store.Number{TelephoneNumber: e164.Number(tel), MSTenantID: exampleTenant, OperatorConnect: true, Status: s, StatusChangedAt: at}
	}
	if _, err := st.Import(context.Background(), []store.Number{
		n("+14255551212", removal.MarkedForRemoval), n("+14255551213", removal.Active),
		n("+14255551214", removal.MarkedForRemoval), n("+14255551215", removal.ReadyForRemoval),
	}, store.ImportOptions{At: at}); err != nil {
		panic(err)
	}
	return removal.NewService(st, removal.WithClock(func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }))
}

const exampleTenant = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

func ExampleService_MarkReadyForRemoval() {
	svc := exampleService()
	res, err := svc.MarkReadyForRemoval(context.Background(), []string{"+14255551212", "+14255551213", "+14255551299"})
	if err != nil {
		fmt.Println(err)
		return
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(res)
	// Output:
	// {
	//   "processedCount": 3,
	//   "successCount": 1,
	//   "failures": [
	//     {
	//       "telephoneNumber": "+14255551213",
	//       "errorCode": "InvalidStatus",
	//       "currentStatus": "Active",
	//       "detail": "+14255551213 is Active; ready for removal applies only to MarkedForRemoval numbers"
	//     },
	//     {
	//       "telephoneNumber": "+14255551299",
	//       "errorCode": "NumberNotFound",
	//       "detail": "+14255551299 is not in the acquired-numbers store"
	//     }
	//   ]
	// }
}

func ExampleValidateBatch() {
	_, err := removal.ValidateBatch([]string{"+14255551212", "4255551213", "+14255551212"})
	fmt.Println(errors.Is(err, removal.ErrInvalidRequest))
	var ve *removal.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Printf("%s %s: %s\n", p.Field, p.Code, p.Message)
		}
	}
	// Output:
	// true
	// telephoneNumbers[1] InvalidTelephoneNumber: "4255551213" is not a valid E.164 number: missing leading '+'
	// telephoneNumbers[2] DuplicateTelephoneNumber: "+14255551212" appears twice: at telephoneNumbers[0] and telephoneNumbers[2]
}

func ExampleCanTransition() {
	fmt.Println(removal.CanTransition(removal.MarkedForRemoval, removal.ReadyForRemoval))
	fmt.Println(removal.CanTransition(removal.ReadyForRemoval, removal.Active))
	// Output:
	// true
	// false
}

func ExampleParseStatus() {
	for _, s := range []string{"Marked For Removal", "readyforremoval", "0", "Gone"} {
		st, err := removal.ParseStatus(s)
		fmt.Println(int(st), st, err)
	}
	// Output:
	// 2 MarkedForRemoval <nil>
	// 3 ReadyForRemoval <nil>
	// 0 Active <nil>
	// 0 Active removal: invalid status "Gone": want one of Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval (or 0-3)
}

func ExampleParseTenantID() {
	id, err := removal.ParseTenantID("{72F988BF-86F1-41AF-91AB-2D7CD011DB47}")
	fmt.Println(id, err)
	_, err = removal.ParseTenantID("tenant-1")
	fmt.Println(removal.ErrorCode(err))
	// Output:
	// 72f988bf-86f1-41af-91ab-2d7cd011db47 <nil>
	// InvalidTenantId
}

// A host's assignment code asks the one rule: only Active numbers may be
// given to users; numbers released, marked or confirmed for removal are
// excluded from future assignments.
func ExampleNumberStatus_Assignable() {
	svc := exampleService()
	page, err := svc.List(context.Background(), removal.ListQuery{MSTenantID: exampleTenant})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range page.Data {
		fmt.Println(n.TelephoneNumber, n.Status, n.Status.Assignable())
	}
	// Output:
	// +14255551212 MarkedForRemoval false
	// +14255551213 Active true
	// +14255551214 MarkedForRemoval false
	// +14255551215 ReadyForRemoval false
}

func ExampleService_List() {
	svc := exampleService()
	page, err := svc.List(context.Background(), removal.ListQuery{
		MSTenantID: exampleTenant,
		Statuses:   []removal.NumberStatus{removal.MarkedForRemoval},
		PageSize:   1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(page)
	fmt.Println(string(b))
	// Output:
	// {"currentPage":1,"pageSize":1,"totalPages":2,"totalRecords":2,"data":[{"telephoneNumber":"+14255551212","tenantId":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","acquiredNumberStatus":"MarkedForRemoval","operatorConnect":true,"statusChangedAt":"2026-11-22T10:00:00.000000Z"}],"nextAfter":"+14255551212"}
}

func ExampleService_History() {
	svc := exampleService()
	ctx := removal.WithAudit(context.Background(), removal.Audit{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Actor: "ops@example.com"})
	if _, err := svc.MarkReadyForRemoval(ctx, []string{"+14255551212"}); err != nil {
		fmt.Println(err)
		return
	}
	page, err := svc.History(context.Background(), "+14255551212", removal.HistoryQuery{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range page.Data {
		b, _ := json.Marshal(e)
		fmt.Println(string(b))
	}
	// Output:
	// {"telephoneNumber":"+14255551212","msTenantId":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","action":"readyForRemoval","fromStatus":"MarkedForRemoval","toStatus":"ReadyForRemoval","at":"2026-12-01T09:00:00.000000Z","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","actor":"ops@example.com"}
	// {"telephoneNumber":"+14255551212","msTenantId":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","action":"import","toStatus":"MarkedForRemoval","at":"2026-11-22T10:00:00.000000Z"}
}

func ExampleService_Reconcile() {
	svc := exampleService()
	// Operator Connect still lists +14255551212 and +14255551215, not +14255551213.
	rep, err := svc.Reconcile(context.Background(), removal.ReconcileRequest{
		MSTenantID:       exampleTenant,
		TelephoneNumbers: []string{"+14255551212", "+14255551215", "+14255559999"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("marked", rep.Marked.TelephoneNumbers)
	fmt.Println("reappeared", rep.Reappeared.TelephoneNumbers)
	fmt.Println("stillAcquired", rep.StillAcquired.TelephoneNumbers)
	fmt.Println("unknown", rep.Unknown.TelephoneNumbers)
	fmt.Println("unchanged", rep.Unchanged.Count)
	// Output:
	// marked [+14255551213]
	// reappeared [+14255551212]
	// stillAcquired [+14255551215]
	// unknown [+14255559999]
	// unchanged 1
}

func ExampleService_Purge() {
	svc := exampleService()
	req := removal.PurgeRequest{OlderThan: 7 * 24 * time.Hour} // a dry run: Confirm is not set
	res, err := svc.Purge(context.Background(), req)
	fmt.Println(res.DryRun, res.TelephoneNumbers, err)
	req.Confirm = true
	res, err = svc.Purge(context.Background(), req)
	fmt.Println(res.DryRun, res.TelephoneNumbers, err)
	_, err = svc.Get(context.Background(), "+14255551215")
	fmt.Println(errors.Is(err, removal.ErrNotFound))
	// Output:
	// true [+14255551215] <nil>
	// false [+14255551215] <nil>
	// true
}
