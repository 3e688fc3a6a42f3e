// Package ascii compares names the way the project's formats define them:
// case-insensitively in ASCII letters only, so that Unicode look-alikes (the
// long s 'ſ', the Kelvin sign 'K') never match an ASCII name.
package ascii

// EqualFold reports whether a and b are equal when ASCII letters A-Z and a-z
// are folded to one case; every other byte must be identical.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y || x < 'a' || x > 'z' {
			return false
		}
	}
	return true
}
