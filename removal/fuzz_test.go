package removal_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ocnumbers/ocnumbers/removal"
)

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"Active", "release requested", "MARKEDFORREMOVAL", "Ready For Removal", "3", "4", "", " 2", "Marked  For Removal", "\xff"} {
		f.Add(s)
	}
	names := []string{"Active", "ReleaseRequested", "MarkedForRemoval", "ReadyForRemoval"}
	spaced := []string{"Active", "Release Requested", "Marked For Removal", "Ready For Removal"}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := removal.ParseStatus(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid status") {
				t.Fatalf("error %q does not say what is wrong", err)
			}
			return
		}
		// Accepted: the input is the decimal value, or a name in some letter case.
		i := int(st)
		if !st.Valid() {
			t.Fatalf("ParseStatus(%q) = %d, not a status", s, i)
		}
		if s != string(rune('0'+i)) && !strings.EqualFold(s, names[i]) && !strings.EqualFold(s, spaced[i]) {
			t.Fatalf("ParseStatus(%q) = %s, but the text is not one of its forms", s, st)
		}
		text, err := st.MarshalText()
		if err != nil || string(text) != names[i] {
			t.Fatalf("canonical text of %s = %q, %v", st, text, err)
		}
		if back, err := removal.ParseStatus(string(text)); err != nil || back != st {
			t.Fatalf("round trip %q -> %v, %v", text, back, err)
		}
	})
}

func FuzzParseTenantID(f *testing.F) {
	for _, s := range []string{"72f988bf-86f1-41af-91ab-2d7cd011db47", "{72F988BF-86F1-41AF-91AB-2D7CD011DB47}", "", "{}", "72f988bf86f141af91ab2d7cd011db47", "' or 1=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := removal.ParseTenantID(s)
		if err != nil {
			if removal.ErrorCode(err) != removal.CodeInvalidTenantID || !errors.Is(err, removal.ErrInvalidRequest) {
				t.Fatalf("rejection of %q has code %q", s, removal.ErrorCode(err))
			}
			return
		}
		// Accepted: canonical form is 36 lower-case hex and hyphen characters,
		// equal to the input without braces, ignoring case.
		if len(got) != 36 {
			t.Fatalf("canonical %q has length %d", got, len(got))
		}
		for i, c := range got {
			isHyphen := i == 8 || i == 13 || i == 18 || i == 23
			if isHyphen != (c == '-') || (!isHyphen && !strings.ContainsRune("0123456789abcdef", c)) {
				t.Fatalf("canonical %q has %q at %d", got, c, i)
			}
		}
		in := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		if (len(s) == 38) != (in != s) || !strings.EqualFold(in, got) {
			t.Fatalf("ParseTenantID(%q) = %q, which is not the input's GUID", s, got)
		}
		if again, err := removal.ParseTenantID(got); err != nil || again != got {
			t.Fatalf("canonical form %q does not round-trip: %q, %v", got, again, err)
		}
	})
}
