// Package ascii matches names the way the wire formats define them: in ASCII.
//
// Case-insensitive comparison folds the letters A-Z and a-z and nothing else.
// Unicode case folding would let look-alikes through: strings.EqualFold
// takes "ſ" (U+017F, long s) for "s" and the Kelvin sign "K" (U+212A) for
// "k", so "mſTenantId" would match "msTenantId". Here every byte outside the
// ASCII letters must be equal as it is.
package ascii

// EqualFold reports whether a and b are equal when the ASCII letters are
// folded to one case. Every other byte, including each byte of a non-ASCII
// character, is compared exactly.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
