package ascii_test

import (
	"strings"
	"testing"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
)

func TestEqualFold(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"msTenantId", "msTenantId", true},
		{"msTenantId", "MSTENANTID", true},
		{"msTenantId", "mstenantid", true},
		{"telephoneNumbers", "TelephoneNumbers", true},
		{"Content-Type", "content-type", true},
		{"utf-8", "UTF-8", true},
		{"AZaz", "azAZ", true},
		{"msTenantId", "msTenantI", false},
		{"msTenantId", "msTenantIdx", false},
		{"a", "b", false},
		// Unicode look-alikes are not the ASCII letters they resemble.
		{"m\u017fTenantId", "msTenantId", false},             // ſ, long s
		{"telephoneNumber\u017f", "telephoneNumbers", false}, // ſ
		{"\u212Aey", "key", false},                           // Kelvin sign
		{"\u212Aey", "Key", false},
		{"\u0130d", "id", false}, // İ, I with dot above
		{"\u0131d", "id", false}, // ı, dotless i
		// Bytes outside the letters only match themselves: '@' (0x40) and
		// '`' (0x60) are one case bit from 'A'-1 and 'a'-1, '[' (0x5B) and
		// '{' (0x7B) from 'Z'+1 and 'z'+1.
		{"@", "`", false},
		{"[", "{", false},
		{"_", "\x7f", false},
		{"-", "-", true},
		{"\xff", "\xff", true},
		{"\xc5\xbf", "\xc5\x9f", false},
		{"\u00e9", "\u00c9", false}, // é, É: not ASCII, so not folded
	}
	for _, tt := range tests {
		if got := ascii.EqualFold(tt.a, tt.b); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
		if got := ascii.EqualFold(tt.b, tt.a); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %t, want %t", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestEqualFoldAgreesOnASCII checks every pair of bytes against
// strings.EqualFold, which folds the same way when both are ASCII.
func TestEqualFoldAgreesOnASCII(t *testing.T) {
	for a := 0; a < 0x80; a++ {
		for b := 0; b < 0x80; b++ {
			sa, sb := string(rune(a)), string(rune(b))
			if got, want := ascii.EqualFold(sa, sb), strings.EqualFold(sa, sb); got != want {
				t.Errorf("EqualFold(%q, %q) = %t, strings.EqualFold says %t", sa, sb, got, want)
			}
		}
	}
}
