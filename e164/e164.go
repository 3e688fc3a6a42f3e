// Package e164 parses and validates telephone numbers in strict E.164 form.
//
// The default rule (Parse) is syntactic plus one lookup: a '+', then 7 to 15
// ASCII digits, the first not '0', whose leading 1–3 digits are a country
// calling code assigned in libphonenumber's metadata (non-geographic codes
// such as +800 included). Nothing else is accepted: no spaces, separators,
// brackets, leading or trailing white space, or non-ASCII digits. Full
// number-plan validity is not the default because the source documents' own
// example, +14151231234, is not a dialable US number; it is available as an
// opt-in Policy.
//
// Parse does not allocate for a valid number and does not call libphonenumber's
// parser; the country-code set is read from its metadata once, at first use.
package e164

import (
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Number is a telephone number in canonical E.164 form: "+" and its digits.
// Values produced by Parse are always valid.
type Number string

// String returns the number as text.
func (n Number) String() string { return string(n) }

// Length limits of the digits after '+'.
const (
	MinDigits = 7  // Niue's numbers are the shortest real ones.
	MaxDigits = 15 // ITU-T E.164.
)

// Error describes why a string is not a valid E.164 number.
type Error struct {
	Input  string // the rejected text
	Reason string // what is wrong, e.g. "missing leading '+'"
}

func (e *Error) Error() string {
	return "e164: invalid telephone number " + strconv.Quote(e.Input) + ": " + e.Reason
}

var (
	codesOnce sync.Once
	codes     [1000]bool // codes[cc] reports whether cc is an assigned country calling code
)

func loadCodes() {
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		if cc > 0 && cc < len(codes) {
			codes[cc] = true
		}
	}
}

// IsCountryCode reports whether cc is an assigned country calling code.
func IsCountryCode(cc int) bool {
	codesOnce.Do(loadCodes)
	return cc > 0 && cc < len(codes) && codes[cc]
}

// Parse checks s against the strict E.164 rule of the package doc and returns
// it as a Number. The error is an *Error naming what is wrong.
func Parse(s string) (Number, error) {
	if reason := check(s); reason != "" {
		return "", &Error{Input: s, Reason: reason}
	}
	return Number(s), nil
}

// check returns "" when s is valid, otherwise the reason. Reasons are built
// only on the failure path so that valid numbers cost no allocation.
func check(s string) string {
	if s == "" {
		return "empty"
	}
	if s[0] != '+' {
		if s[0] >= '0' && s[0] <= '9' {
			return "missing leading '+'"
		}
		return badChar(s, 0)
	}
	digits := len(s) - 1
	for i := 1; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			return badChar(s, i)
		}
	}
	switch {
	case digits == 0:
		return "no digits after '+'"
	case s[1] == '0':
		return "first digit is 0; country calling codes start with 1-9"
	case digits < MinDigits:
		return strconv.Itoa(digits) + " digits, at least " + strconv.Itoa(MinDigits)
	case digits > MaxDigits:
		return strconv.Itoa(digits) + " digits, at most " + strconv.Itoa(MaxDigits)
	}
	cc := 0
	for i := 1; i <= 3; i++ {
		cc = cc*10 + int(s[i]-'0')
		if IsCountryCode(cc) {
			return ""
		}
	}
	// Country codes are prefix-free, so the first three digits name the bad one.
	return "unknown country calling code +" + s[1:4]
}

// badChar names the character at byte offset i (a whole rune, quoted) and its
// 0-based position.
func badChar(s string, i int) string {
	r := []rune(s[i:])[0]
	return "contains " + strconv.QuoteRune(r) + " at position " + strconv.Itoa(i)
}
