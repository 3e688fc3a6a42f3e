package e164_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
)

func TestPolicyParse(t *testing.T) {
	tests := []struct {
		name   string
		policy e164.Policy
		in     string
		reason string // "" means accepted
	}{
		// The platform's documented example is syntax-valid but not dialable.
		{"PlatformExamplePassesSyntax", e164.Syntax, "+14151231234", ""},
		{"PlatformExamplePassesPossible", e164.Possible, "+14151231234", ""},
		{"PlatformExampleFailsValid", e164.Valid, "+14151231234", "not a valid number for country calling code +1"},
		{"ZeroValueIsSyntax", e164.Policy(0), "+14151231234", ""},
		{"ValidUS", e164.Valid, "+16502530000", ""},
		{"ValidUK", e164.Valid, "+442071838750", ""},
		{"ValidFreephone800", e164.Valid, "+80012345678", ""},
		{"PossibleTooShortUS", e164.Possible, "+1425555121", "not a possible number for region US: too short"},
		{"PossibleTooLongUS", e164.Possible, "+142555512123", "not a possible number for region US: too long"},
		{"ValidReportsPossibleFirst", e164.Valid, "+142555512123", "not a possible number for region US: too long"},
		{"PossibleNonGeographic", e164.Possible, "+8001234567", "not a possible number for country calling code +800: too short"},
		// The default rule runs first, so its reasons come through unchanged.
		{"SyntaxErrorUnderValid", e164.Valid, "14151231234", "missing leading '+'"},
		{"SyntaxErrorUnderPossible", e164.Possible, "+9991234567", "unknown country calling code +999"},
		{"UnknownPolicy", e164.Policy(7), "+14151231234", "unknown policy Policy(7)"},
		{"NegativePolicy", e164.Policy(-1), "+14151231234", "unknown policy Policy(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.Parse(tt.in)
			if tt.reason == "" {
				if err != nil || string(got) != tt.in {
					t.Fatalf("%v.Parse(%q) = %q, %v; want the input, nil", tt.policy, tt.in, got, err)
				}
				return
			}
			var pe *e164.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%v.Parse(%q) = %q, %v; want *e164.Error", tt.policy, tt.in, got, err)
			}
			if diff := cmp.Diff(e164.Error{Input: tt.in, Reason: tt.reason}, *pe); diff != "" {
				t.Errorf("%v.Parse(%q) error (-want +got):\n%s", tt.policy, tt.in, diff)
			}
			if got != "" {
				t.Errorf("%v.Parse(%q) returned %q with the error", tt.policy, tt.in, got)
			}
		})
	}
}

// TestPolicyValidAcceptsExamples: libphonenumber's own example numbers are
// valid by definition, so every policy accepts them.
func TestPolicyValidAcceptsExamples(t *testing.T) {
	for _, p := range []e164.Policy{e164.Syntax, e164.Possible, e164.Valid} {
		for _, s := range realisticNumbers(t) {
			if _, err := p.Parse(s); err != nil {
				t.Errorf("%v.Parse(%q): %v", p, s, err)
			}
		}
	}
}

func TestPolicyString(t *testing.T) {
	tests := []struct {
		p    e164.Policy
		want string
	}{
		{e164.Syntax, "Syntax"}, {e164.Possible, "Possible"}, {e164.Valid, "Valid"}, {e164.Policy(3), "Policy(3)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
