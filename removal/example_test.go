package removal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// exampleStore is a minimal removal.Store for the examples; real programs use
// memstore or sqlstore.
type exampleStore map[e164.Number]removal.NumberStatus

func (s exampleStore) Apply(ctx context.Context, ns []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	out := make([]removal.Outcome, 0, len(ns))
	for _, n := range ns {
		st, ok := s[n]
		o := removal.Outcome{Found: ok, OperatorConnect: ok, Status: st}
		if ok && c.Allows(st) {
			s[n], o.Changed = c.To, true
		}
		out = append(out, o)
	}
	return out, nil
}

func (s exampleStore) CountByStatus(ctx context.Context, tenant string, sts []removal.NumberStatus) ([]int, error) {
	counts := make([]int, len(sts))
	for _, st := range s {
		for i, want := range sts {
			if st == want {
				counts[i]++
			}
		}
	}
	return counts, nil
}

func ExampleService_MarkReadyForRemoval() {
	st := exampleStore{"+14255551212": removal.MarkedForRemoval, "+14255551213": removal.Active}
	svc := removal.NewService(st)

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
