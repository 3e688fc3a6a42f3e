package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// problemWant is the part of a removal.Problem the batch rules fix: its
// index and code. Of the message, only the positions it names are checked.
type problemWant struct {
	Index int
	Code  string
}

func testValidation(t *testing.T, newStore func(t *testing.T) store.Store) {
	ok := func(i int) string { return string(num(i)) }
	many := func(n int) []string { return strs(nums(0, n)) }
	for _, tc := range []struct {
		name    string
		numbers []string
		want    []problemWant
		// names lists, per problem, positions its message must name
		// besides its own index (the first occurrence of a duplicate).
		names map[int]string
	}{
		{"NullRequestBody", nil, []problemWant{{-1, removal.CodeNullRequestBody}}, nil},
		{"Empty", []string{}, []problemWant{{-1, removal.CodeBatchSizeOutOfRange}}, nil},
		{"TooMany", many(removal.MaxBatchSize + 1), []problemWant{{-1, removal.CodeBatchSizeOutOfRange}}, nil},
		{"InvalidTelephoneNumbers", []string{ok(0), "14255550100", ok(1), "+1 425 555 0100", "", "+0123456789", "+999123456789", "+142555", "+1234567890123456", ok(2), " +14255550100"},
			[]problemWant{{1, removal.CodeInvalidTelephoneNumber}, {3, removal.CodeInvalidTelephoneNumber}, {4, removal.CodeInvalidTelephoneNumber},
				{5, removal.CodeInvalidTelephoneNumber}, {6, removal.CodeInvalidTelephoneNumber}, {7, removal.CodeInvalidTelephoneNumber},
				{8, removal.CodeInvalidTelephoneNumber}, {10, removal.CodeInvalidTelephoneNumber}}, nil},
		{"DuplicateTelephoneNumber", []string{ok(0), ok(1), ok(2), ok(1), ok(3)},
			[]problemWant{{3, removal.CodeDuplicateTelephoneNumber}}, map[int]string{3: "telephoneNumbers[1]"}},
		{"InvalidAndDuplicate", []string{ok(4), "+44", ok(4)},
			[]problemWant{{1, removal.CodeInvalidTelephoneNumber}, {2, removal.CodeDuplicateTelephoneNumber}}, map[int]string{2: "telephoneNumbers[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			var before []store.Number
			for i := range 5 {
				r := rec(num(i), tenantA, true, removal.MarkedForRemoval)
				before = append(before, r)
			}
			mustPut(t, st, before...)
			svc := newService(st)
			for _, a := range transitions {
				got, err := a.call(svc, t.Context(), tc.numbers)
				if !errors.Is(err, removal.ErrInvalidRequest) {
					t.Fatalf("%s: err = %v, want one matching removal.ErrInvalidRequest", a.method, err)
				}
				if d := cmp.Diff(removal.BatchResult{}, got); d != "" {
					t.Errorf("%s: result not zero (-want +got):\n%s", a.method, d)
				}
				var ve *removal.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("%s: err %T is not a *removal.ValidationError", a.method, err)
				}
				var gotP []problemWant
				for _, p := range ve.Problems {
					gotP = append(gotP, problemWant{p.Index, p.Code})
					if p.Index >= 0 && p.Value != tc.numbers[p.Index] {
						t.Errorf("%s: problem at %d has value %q, want %q", a.method, p.Index, p.Value, tc.numbers[p.Index])
					}
					if other, ok := tc.names[p.Index]; ok && !strings.Contains(p.Message, other) {
						t.Errorf("%s: problem %q does not name %s", a.method, p.Message, other)
					}
				}
				if d := cmp.Diff(tc.want, gotP); d != "" {
					t.Errorf("%s: problems mismatch (-want +got):\n%s", a.method, d)
				}
				if c := removal.ErrorCode(err); c != tc.want[0].Code {
					t.Errorf("%s: ErrorCode = %q, want the first problem's %q", a.method, c, tc.want[0].Code)
				}
			}
			for _, r := range before {
				wantStored(t, st, normalized(r))
			}
		})
	}
}
