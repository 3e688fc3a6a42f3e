package e164_test

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/ocnumbers/ocnumbers/e164"
)

// shape is the package's rule without the country-code check, written
// independently of the package's hand-rolled scanner.
var shape = regexp.MustCompile(`\A\+[1-9][0-9]{6,14}\z`)

// keyShape is what KeyOf accepts: the shape without the length floor.
var keyShape = regexp.MustCompile(`\A\+[1-9][0-9]{0,14}\z`)

// reference decides the package's rule the plain way: a regexp, then the
// 1-3 digit prefixes looked up in libphonenumber's map.
func reference(s string) bool {
	if !shape.MatchString(s) {
		return false
	}
	codes := phonenumbers.GetSupportedCallingCodes()
	cc := 0
	for _, c := range s[1:4] {
		cc = cc*10 + int(c-'0')
		if codes[cc] {
			return true
		}
	}
	return false
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"+14255551212", "+14255551213", "+14151231234", "+6834002", "+80012345678",
		"+491234567890123", "+4912345678901234", "+683400", "+9991234567", "14255551212",
		"", "+", "++1", "+0", "+1 425", " +14255551212", "+14255551212\n", "+1425\x00",
		"+1425\xff", "+١٤٢٥٥٥٥١٢١٢", "+１４２５５５５１２１２", "\ufeff+14255551212",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := e164.Parse(s)
		want := reference(s)
		if err == nil {
			if !want {
				t.Fatalf("Parse(%q) accepted; the reference rule rejects it", s)
			}
			if string(got) != s {
				t.Fatalf("Parse(%q) = %q, want the input unchanged", s, got)
			}
			if k, _ := strconv.ParseUint(s[1:], 10, 64); got.Key() != k {
				t.Fatalf("%s.Key() = %d, want %d", got, got.Key(), k)
			}
		} else {
			if want {
				t.Fatalf("Parse(%q) rejected (%v); the reference rule accepts it", s, err)
			}
			var pe *e164.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not *e164.Error", s, err)
			}
			if pe.Input != s || pe.Reason == "" || got != "" {
				t.Fatalf("Parse(%q) = %q, %#v; want \"\", Input the input and a reason", s, got, pe)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("Parse(%q) message is not valid UTF-8: %q", s, err.Error())
			}
		}
		// KeyOf accepts exactly the shape, and its key is the digits' value.
		k, ok := e164.KeyOf(s)
		if ok != keyShape.MatchString(s) {
			t.Fatalf("KeyOf(%q) ok = %t, want %t", s, ok, !ok)
		}
		if want, _ := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64); ok && k != want {
			t.Fatalf("KeyOf(%q) = %d, want %d", s, k, want)
		}
		// Each policy accepts a subset of what Parse accepts, and passes
		// Parse's errors through unchanged.
		for _, p := range []e164.Policy{e164.Possible, e164.Valid} {
			pgot, perr := p.Parse(s)
			switch {
			case err != nil && (perr == nil || perr.Error() != err.Error()):
				t.Fatalf("%v.Parse(%q) = %q, %v; want Parse's error %v", p, s, pgot, perr, err)
			case perr == nil && pgot != got:
				t.Fatalf("%v.Parse(%q) = %q, want %q", p, s, pgot, got)
			}
		}
	})
}
