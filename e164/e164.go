// Package e164 parses and validates telephone numbers in strict E.164 form.
//
// # The rule
//
// Parse accepts exactly: a '+', then 7 to 15 ASCII digits, the first not '0',
// whose leading 1–3 digits are a country calling code assigned in
// libphonenumber's metadata (non-geographic codes such as +800, +882 and +883
// included). Nothing else is accepted: no spaces, dashes, dots, brackets,
// letters, leading or trailing white space, control characters or non-ASCII
// digits (Arabic-Indic, fullwidth). The input is never rewritten, so an
// accepted number is already canonical and Parse returns it unchanged.
//
// Full number-plan validity is not the default: the platform's own documented
// example, +14151231234, is not a dialable US number. Stricter checks through
// libphonenumber are an opt-in Policy (Possible, Valid).
//
// # Decisions the rule leaves open
//
//   - Checks run in a fixed order and the first failure is reported: empty
//     input, missing '+' (when the text starts with a digit; any other first
//     character is named as a bad character at position 0), the first
//     character that is not an ASCII digit, no digits, leading 0, too few
//     digits, too many digits, unknown country code.
//   - Positions in reasons are 0-based byte offsets into the input (so the
//     '+' is position 0). A byte that is not valid UTF-8 is named by its hex
//     value ("contains invalid UTF-8 byte 0xff at position 4"), never shown as
//     U+FFFD, which would hide what is really there.
//   - Error.Input keeps the whole input; Error.Error shows at most its first
//     64 bytes, quoted with Go escapes, so a huge or binary input cannot flood
//     a log line or a response.
//   - The country-code table is copied from libphonenumber into a [1000]bool
//     at package initialisation. Importing libphonenumber already loads all of
//     its metadata at its own init (about 17 ms, 2.5 MB, paid by every program
//     that links it); copying the ~250 codes afterwards costs microseconds,
//     and it keeps sync.Once off the hot path.
//   - Parse does not allocate for a valid number and never calls
//     libphonenumber's parser (about 7 µs and 24 allocations per number);
//     only Possible and Valid do.
package e164

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Number is a telephone number in canonical E.164 form: "+" and its digits.
// Values produced by Parse are always valid.
type Number string

// String returns the number as text.
func (n Number) String() string { return string(n) }

// Key returns the digits of a valid number as an integer. At most 15 digits,
// the first not 0, fit a uint64 exactly, so distinct valid numbers have
// distinct keys: sets of numbers can be kept without strings or pointers.
// The key of an invalid Number is meaningless.
func (n Number) Key() uint64 {
	k, _ := KeyOf(string(n))
	return k
}

// KeyOf returns the Key of s and true when s has the shape of a Number: a
// '+' and 1 to MaxDigits digits, the first not 0. Such a key stands for s
// alone (the country code is not checked); for any other s it returns
// false, where Key would return a value that may be another number's.
func KeyOf(s string) (uint64, bool) {
	if len(s) < 2 || len(s) > 1+MaxDigits || s[0] != '+' || s[1] == '0' {
		return 0, false
	}
	// The leading digits one at a time, the last eight at once (one chain
	// of multiplications over a number's 11 digits is the slow part of
	// every lookup by number), each digit checked on the way.
	var k, low uint64
	end := len(s)
	if len(s) > 8 {
		v := load8(s, len(s)-8)
		if !allDigits(v) {
			return 0, false
		}
		low, end = eightDigits(v), end-8
	}
	for i := 1; i < end; i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		k = k*10 + uint64(d)
	}
	if len(s) > 8 {
		k = k*100_000_000 + low
	}
	return k, true
}

// digitsOnly reports whether every byte of s after its first is a digit:
// the last eight at once when there are that many, the others one by one.
func digitsOnly(s string) bool {
	end := len(s)
	if len(s) > 8 {
		if !allDigits(load8(s, len(s)-8)) {
			return false
		}
		end -= 8
	}
	for i := 1; i < end; i++ {
		if s[i]-'0' > 9 { // unsigned: also catches bytes below '0'
			return false
		}
	}
	return true
}

// load8 returns s[i:i+8] as a little-endian word: s[i] in the low byte.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// allDigits reports whether every byte of v is an ASCII digit: its high
// nibble is 3 and adding 6 to its low nibble does not carry into it.
func allDigits(v uint64) bool {
	const hi, six, three = 0xF0F0F0F0F0F0F0F0, 0x0606060606060606, 0x3030303030303030
	return v&hi == three && (v+six)&hi == three
}

// eightDigits returns the value of the eight ASCII digits of v, its low
// byte the most significant: pairs, then fours, then all eight, each step
// one multiplication for every lane at once.
func eightDigits(v uint64) uint64 {
	v -= 0x3030303030303030
	v = (v*10 + v>>8) & 0x00FF00FF00FF00FF
	v = (v*100 + v>>16) & 0x0000FFFF0000FFFF
	return (v*10000 + v>>32) & 0xFFFFFFFF
}

// Length limits of the digits after '+'.
const (
	MinDigits = 7  // Niue's numbers are the shortest real ones.
	MaxDigits = 15 // ITU-T E.164.
)

// Error describes why a string is not a valid E.164 number.
type Error struct {
	Input  string // the rejected text, exactly as given
	Reason string // what is wrong, e.g. "missing leading '+'"
}

// maxShown bounds how much of the input Error shows.
const maxShown = 64

// Error returns the reason with the input quoted (Go escapes, at most 64 bytes shown).
func (e *Error) Error() string {
	in := e.Input
	more := ""
	if len(in) > maxShown {
		cut := maxShown
		// Cut on a rune boundary so that a valid multi-byte character is not
		// shown as stray escapes.
		for cut > maxShown-utf8.UTFMax && !utf8.RuneStart(in[cut]) {
			cut--
		}
		more = "... (" + strconv.Itoa(len(in)) + " bytes)"
		in = in[:cut]
	}
	return "e164: invalid telephone number " + strconv.Quote(in) + more + ": " + e.Reason
}

// codes[cc] reports whether cc is an assigned country calling code. It is
// filled at init: libphonenumber's own init has already loaded the metadata.
var codes = loadCodes()

func loadCodes() (t [1000]bool) {
	for cc, ok := range phonenumbers.GetSupportedCallingCodes() {
		if ok && cc > 0 && cc < len(t) {
			t[cc] = true
		}
	}
	return t
}

// IsCountryCode reports whether cc is an assigned country calling code.
func IsCountryCode(cc int) bool {
	return cc > 0 && cc < len(codes) && codes[cc]
}

// Parse checks s against the strict E.164 rule of the package doc and returns
// it as a Number. The error is an *Error naming what is wrong.
func Parse(s string) (Number, error) {
	if !valid(s) {
		return "", &Error{Input: s, Reason: reason(s)}
	}
	return Number(s), nil
}

// valid is the hot path: one pass over the bytes and three table reads.
func valid(s string) bool {
	if len(s) < 1+MinDigits || len(s) > 1+MaxDigits || s[0] != '+' || s[1] == '0' {
		return false
	}
	if !digitsOnly(s) {
		return false
	}
	d1, d2, d3 := int(s[1]-'0'), int(s[2]-'0'), int(s[3]-'0')
	// Country codes are prefix-free, so at most one of these is assigned.
	return codes[d1] || codes[d1*10+d2] || codes[d1*100+d2*10+d3]
}

// reason explains why valid(s) is false. It runs only on the failure path,
// where building text is allowed to allocate.
func reason(s string) string {
	if s == "" {
		return "empty"
	}
	if s[0] != '+' {
		if s[0] >= '0' && s[0] <= '9' {
			return "missing leading '+'"
		}
		return badChar(s, 0)
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			return badChar(s, i)
		}
	}
	digits := len(s) - 1
	switch {
	case digits == 0:
		return "no digits after '+'"
	case s[1] == '0':
		return "first digit is 0; country calling codes start with 1-9"
	case digits == 1:
		return "1 digit, at least " + strconv.Itoa(MinDigits)
	case digits < MinDigits:
		return strconv.Itoa(digits) + " digits, at least " + strconv.Itoa(MinDigits)
	case digits > MaxDigits:
		return strconv.Itoa(digits) + " digits, at most " + strconv.Itoa(MaxDigits)
	}
	// The same three prefixes valid reads; none is assigned.
	return "unknown country calling code +" + s[1:4]
}

// badChar names the character at byte offset i, quoted, and the offset. A
// byte that does not start valid UTF-8 is named by its value; a non-ASCII
// character that does not print on its own (a combining mark, a format
// character, a space other than ' ') by its code point, U+0303, so that the
// message never carries it raw.
func badChar(s string, i int) string {
	r, size := utf8.DecodeRuneInString(s[i:])
	what := strconv.QuoteRune(r)
	if r >= utf8.RuneSelf && (!strconv.IsPrint(r) || unicode.Is(unicode.M, r)) {
		what = fmt.Sprintf("U+%04X", r)
	}
	if r == utf8.RuneError && size <= 1 {
		const hex = "0123456789abcdef"
		what = "invalid UTF-8 byte 0x" + string([]byte{hex[s[i]>>4], hex[s[i]&15]})
	}
	if i > 0 && r == '+' {
		return "contains a second '+' at position " + strconv.Itoa(i)
	}
	return "contains " + what + " at position " + strconv.Itoa(i)
}
