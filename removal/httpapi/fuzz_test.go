package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// FuzzDecodeRequest sends arbitrary bodies to the batch routes (seed corpus
// in testdata/fuzz/FuzzDecodeRequest). Properties: no 5xx and no panic; a
// 200 only when encoding/json and removal.ValidateBatch, applied
// independently, find a valid batch; a body they find valid is a 200 or an
// InvalidRequestBody (the only stricter rule: telephoneNumbers twice); every
// other answer is a documented problem; the store changes only on a 200; and
// every answer matches the OpenAPI document. It also checks the one-pass
// decoder against the encoding/json one.
// independentDecode reads a batch body with encoding/json alone: members
// decoded whole by name, telephoneNumbers found among them by ASCII case
// folding (encoding/json's own matching would also take Unicode look-alikes
// such as "telephoneNumber\u017f"). ok is false when the body is not JSON, not
// an object or null, or telephoneNumbers is not an array of strings; a key
// spelt twice the same way keeps its last value, as in encoding/json, and
// two spellings of it are not a valid batch.
func independentDecode(body []byte) (numbers []string, ok bool) {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return nil, false
	}
	found := 0
	for k, v := range members {
		if ascii.EqualFold(k, "telephoneNumbers") {
			found++
			if found > 1 || json.Unmarshal(v, &numbers) != nil {
				return nil, false
			}
		}
	}
	return numbers, true
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"telephoneNumbers":["+14255551212"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		// The one-pass decoder must agree with encoding/json wherever it
		// accepts a body.
		if fast, ok := httpapi.FastNumbers(body); ok {
			slow, err := httpapi.SlowNumbers(body)
			if err != nil || fast == nil || slow == nil {
				t.Fatalf("fast path accepted %q as %q; slow path: %q, %v", body, fast, slow, err)
			}
			if diff := cmp.Diff(slow, fast); diff != "" {
				t.Fatalf("decoders disagree on %q (-slow +fast):\n%s", body, diff)
			}
		}
		fx := newFixture(t, httpapi.WithRateLimiter(nil))
		before := fx.snapshot(t)
		route := httpapi.RouteClearRemovalStatus
		if len(body)%2 == 1 {
			route = httpapi.RouteReadyForRemoval
		}
		rec := fx.post(t, route, string(body))

		numbers, valid := independentDecode(body)
		if valid {
			_, err := removal.ValidateBatch(numbers)
			valid = err == nil
		}
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code == http.StatusOK:
			if !valid {
				t.Fatalf("200 for a body that is not a valid batch: %q", body)
			}
			return
		}
		p := problem(t, rec)
		if !slices.Contains(httpapi.ErrorCodes(), p.ErrorCode) || httpapi.StatusOf(p.ErrorCode) != rec.Code {
			t.Errorf("status %d with errorCode %q", rec.Code, p.ErrorCode)
		}
		if valid && p.ErrorCode != httpapi.CodeInvalidRequestBody {
			t.Errorf("valid batch %q answered %d %s", body, rec.Code, p.ErrorCode)
		}
		if diff := cmp.Diff(before, fx.snapshot(t)); diff != "" {
			t.Errorf("store changed by a %d (-before +after):\n%s", rec.Code, diff)
		}
	})
}
