package removal_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// numbers returns n distinct valid US numbers.
func numbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1425555%04d", i)
	}
	return out
}

func TestValidateBatch(t *testing.T) {
	type problem struct {
		Field, Value, Code string
		Index              int
	}
	cases := []struct {
		name string
		in   []string
		want []problem // nil: valid
	}{
		{"platform example", []string{"+14255551212", "+14255551213"}, nil},
		{"platform 415 example", []string{"+14151231234"}, nil},
		{"one", []string{"+14255551212"}, nil},
		{"exactly 500", numbers(500), nil},
		{"nil is null", nil, []problem{{"telephoneNumbers", "", removal.CodeNullRequestBody, -1}}},
		{"empty", []string{}, []problem{{"telephoneNumbers", "0", removal.CodeBatchSizeOutOfRange, -1}}},
		{"501", numbers(501), []problem{{"telephoneNumbers", "501", removal.CodeBatchSizeOutOfRange, -1}}},
		{"501 with bad numbers reports the size only", append(numbers(500), "bad"), []problem{{"telephoneNumbers", "501", removal.CodeBatchSizeOutOfRange, -1}}},
		{"500 with the last repeating the first", append(numbers(499), "+14255550000"), []problem{
			{"telephoneNumbers[499]", "+14255550000", removal.CodeDuplicateTelephoneNumber, 499},
		}},
		{"same digits, different lengths are distinct", []string{"+4420718387", "+44207183870", "+442071838700"}, nil},
		{"missing plus", []string{"14255551212"}, []problem{{"telephoneNumbers[0]", "14255551212", removal.CodeInvalidTelephoneNumber, 0}}},
		{"every bad one listed", []string{"+14255551212", "", "+1 425 555 1213", "+14255551214", "abc"}, []problem{
			{"telephoneNumbers[1]", "", removal.CodeInvalidTelephoneNumber, 1},
			{"telephoneNumbers[2]", "+1 425 555 1213", removal.CodeInvalidTelephoneNumber, 2},
			{"telephoneNumbers[4]", "abc", removal.CodeInvalidTelephoneNumber, 4},
		}},
		{"duplicate", []string{"+14255551212", "+14255551213", "+14255551212"}, []problem{
			{"telephoneNumbers[2]", "+14255551212", removal.CodeDuplicateTelephoneNumber, 2},
		}},
		{"duplicate and invalid", []string{"x", "+14255551212", "+14255551212", "+14255551212"}, []problem{
			{"telephoneNumbers[0]", "x", removal.CodeInvalidTelephoneNumber, 0},
			{"telephoneNumbers[2]", "+14255551212", removal.CodeDuplicateTelephoneNumber, 2},
			{"telephoneNumbers[3]", "+14255551212", removal.CodeDuplicateTelephoneNumber, 3},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := removal.ValidateBatch(c.in)
			if c.want == nil {
				if err != nil {
					t.Fatalf("ValidateBatch: %v", err)
				}
				want := make([]e164.Number, len(c.in))
				for i, s := range c.in {
					want[i] = e164.Number(s)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("numbers (-want +got):\n%s", diff)
				}
				return
			}
			if got != nil {
				t.Errorf("got numbers %v with an error", got)
			}
			if !errors.Is(err, removal.ErrInvalidRequest) {
				t.Fatalf("error %v does not match ErrInvalidRequest", err)
			}
			var ve *removal.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			var gotP []problem
			for _, p := range ve.Problems {
				gotP = append(gotP, problem{p.Field, p.Value, p.Code, p.Index})
				if p.Message == "" {
					t.Errorf("problem %+v has no message", p)
				}
			}
			if diff := cmp.Diff(c.want, gotP, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if removal.ErrorCode(err) != c.want[0].Code {
				t.Errorf("ErrorCode = %q, want %q", removal.ErrorCode(err), c.want[0].Code)
			}
		})
	}
}

func TestValidateBatchMessages(t *testing.T) {
	_, err := removal.ValidateBatch([]string{"+14255551212", "+1425 5551213", "+14255551212"})
	msg := err.Error()
	for _, want := range []string{
		"telephoneNumbers[1]", `"+1425 5551213"`, "contains ' ' at position 5",
		"telephoneNumbers[0]", "telephoneNumbers[2]", // the duplicate names both positions
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	_, err = removal.ValidateBatch(numbers(501))
	if !strings.Contains(err.Error(), "501") || !strings.Contains(err.Error(), "500") {
		t.Errorf("size error %q should name the size and the limit", err)
	}
}

func TestErrorCode(t *testing.T) {
	if got := removal.ErrorCode(nil); got != "" {
		t.Errorf("ErrorCode(nil) = %q", got)
	}
	if got := removal.ErrorCode(errors.New("disk on fire")); got != removal.CodeInternal {
		t.Errorf("ErrorCode(other) = %q", got)
	}
	_, err := removal.ParseTenantID("nope")
	if got := removal.ErrorCode(fmt.Errorf("wrapped: %w", err)); got != removal.CodeInvalidTenantID {
		t.Errorf("ErrorCode(wrapped tenant error) = %q", got)
	}
}

func TestParseTenantID(t *testing.T) {
	const canon = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	ok := map[string]string{
		canon:                                    canon,
		"72F988BF-86F1-41AF-91AB-2D7CD011DB47":   canon,
		"{72f988bf-86f1-41af-91ab-2d7cd011db47}": canon,
		"{72F988BF-86f1-41AF-91ab-2D7CD011DB47}": canon,
		"00000000-0000-0000-0000-000000000000":   "00000000-0000-0000-0000-000000000000",
	}
	for in, want := range ok {
		t.Run(in, func(t *testing.T) {
			got, err := removal.ParseTenantID(in)
			if err != nil || got != want {
				t.Fatalf("ParseTenantID(%q) = %q, %v; want %q", in, got, err, want)
			}
		})
	}
	bad := []string{
		"", "72f988bf86f141af91ab2d7cd011db47", "72f988bf-86f1-41af-91ab-2d7cd011db4",
		"72f988bf-86f1-41af-91ab-2d7cd011db477", "72f988bg-86f1-41af-91ab-2d7cd011db47",
		"{72f988bf-86f1-41af-91ab-2d7cd011db47", "72f988bf-86f1-41af-91ab-2d7cd011db47}",
		"(72f988bf-86f1-41af-91ab-2d7cd011db47)", " 72f988bf-86f1-41af-91ab-2d7cd011db47",
		"72f988bf-86f1-41af-91ab-2d7cd011db47 ", "72f988bf_86f1_41af_91ab_2d7cd011db47",
		"{{72f988bf-86f1-41af-91ab-2d7cd011db47}}", "72f988bf-86f141af-91ab-2d7cd011-db47",
		"' OR 1=1 --", "72f988bf-86f1-41af-91ab-2d7cd011db4\u00e9",
	}
	for _, in := range bad {
		t.Run("reject "+in, func(t *testing.T) {
			_, err := removal.ParseTenantID(in)
			if !errors.Is(err, removal.ErrInvalidRequest) || removal.ErrorCode(err) != removal.CodeInvalidTenantID {
				t.Fatalf("ParseTenantID(%q) error = %v, want InvalidTenantId", in, err)
			}
			if !strings.Contains(err.Error(), removal.TenantIDMessage) {
				t.Errorf("error %q lacks the platform wording", err)
			}
		})
	}
}

func TestValidateBatchLongValue(t *testing.T) {
	long := "+1" + strings.Repeat("9", 10000)
	_, err := removal.ValidateBatch([]string{long})
	var ve *removal.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("err = %v", err)
	}
	p := ve.Problems[0]
	if p.Value != long {
		t.Error("Problem.Value must keep the whole value")
	}
	if len(p.Message) > 200 || !strings.Contains(p.Message, "10002 bytes") {
		t.Errorf("message not bounded: %d bytes: %.120s", len(p.Message), p.Message)
	}
}
