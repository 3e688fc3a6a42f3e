package ascii_test

import (
	"testing"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
)

func TestEqualFold(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"msTenantId", "MSTENANTID", true},
		{"msTenantId", "mstenantid", true},
		{"", "", true},
		{"a", "b", false},
		{"msTenantId", "msTenantI", false},
		{"m\u017fTenantId", "msTenantId", false},             // U+017F long s
		{"Mar\u212aedForRemoval", "MarkedForRemoval", false}, // U+212A Kelvin sign
		{"telephoneNumber\u017f", "telephoneNumbers", false},
		{"[", "{", false}, // '[' + 0x20 is '{': only letters fold
		{"@", "`", false},
		{"1", "1", true},
	} {
		if got := ascii.EqualFold(c.a, c.b); got != c.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
