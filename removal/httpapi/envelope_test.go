package httpapi_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

func TestNewEnvelope(t *testing.T) {
	ok := removal.BatchResult{ProcessedCount: 2, SuccessCount: 2}
	none := removal.BatchResult{ProcessedCount: 1, Failures: []removal.Failure{{TelephoneNumber: "+14255551212", ErrorCode: removal.CodeNumberNotFound}}}
	cases := []struct {
		name string
		a    removal.Action
		res  removal.BatchResult
		want httpapi.Envelope
	}{
		{"clear, all succeeded", removal.ClearRemovalStatusAction, ok,
			httpapi.Envelope{Data: ok, Status: "success", Succeeded: true, Message: "Removal status successfully cleared for all numbers"}},
		{"ready, all succeeded", removal.ReadyForRemovalAction, ok,
			httpapi.Envelope{Data: ok, Status: "success", Succeeded: true, Message: "Numbers successfully transitioned to ReadyForRemoval status"}},
		{"mark, none succeeded", removal.MarkForRemovalAction, none,
			httpapi.Envelope{Data: none, Status: "failure", Succeeded: false, Message: "0 of 1 numbers marked for removal; 1 failed"}},
		{"withdraw, none succeeded", removal.WithdrawReleaseRequestAction, none,
			httpapi.Envelope{Data: none, Status: "failure", Succeeded: false, Message: "withdraw release request: 0 of 1 numbers succeeded; 1 failed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, httpapi.NewEnvelope(c.a, c.res)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
