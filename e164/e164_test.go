package e164_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/nyaruka/phonenumbers"

	"github.com/ocnumbers/ocnumbers/e164"
)

// TestParseAccepts lists numbers the rule (see the package doc) must accept;
// each must be returned unchanged.
func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"PlatformExample", "+14255551212"},
		{"PlatformSecondExample", "+14255551213"},
		{"PlatformExampleNotDialableUS", "+14151231234"},
		{"Niue7Digits", "+6834002"},
		{"Exactly15Digits", "+491234567890123"},
		{"OneDigitCountryCodeRussia", "+79161234567"},
		{"TwoDigitCountryCodeUK", "+442071838750"},
		{"ThreeDigitCountryCodeIreland", "+35312345678"},
		{"NonGeographicFreephone800", "+80012345678"},
		{"NonGeographicInternationalNetworks882", "+882345678901"},
		{"NonGeographicInternationalNetworks883", "+883510012345"},
		{"ShortNANPWithSyntaxOnly", "+1234567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e164.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if string(got) != tt.in || got.String() != tt.in {
				t.Errorf("Parse(%q) = %q, want the input unchanged", tt.in, got)
			}
		})
	}
}

// TestParseRejects checks every rejection class of the rule and the reason
// text it must carry.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"Empty", "", "empty"},
		{"PlusAlone", "+", "no digits after '+'"},
		{"MissingPlus", "14255551212", "missing leading '+'"},
		{"InternationalPrefix00", "0014255551212", "missing leading '+'"},
		{"LeadingSpace", " +14255551212", "contains ' ' at position 0"},
		{"TrailingSpace", "+14255551212 ", "contains ' ' at position 12"},
		{"InnerSpaceAfterCountryCode", "+1 4255551212", "contains ' ' at position 2"},
		{"InnerSpaceAt3", "+44 2071838750", "contains ' ' at position 3"},
		{"Dashes", "+1-425-555-1212", "contains '-' at position 2"},
		{"Dots", "+1.425.555.1212", "contains '.' at position 2"},
		{"Brackets", "+1(425)5551212", "contains '(' at position 2"},
		{"Letters", "+1425555CALL", "contains 'C' at position 8"},
		{"TelURI", "tel:+14255551212", "contains 't' at position 0"},
		{"Extension", "+14255551212;ext=1", "contains ';' at position 12"},
		{"Exponent", "+1e10425555", "contains 'e' at position 2"},
		{"DoublePlus", "++14255551212", "contains a second '+' at position 1"},
		{"PlusInside", "+1425+5551212", "contains a second '+' at position 5"},
		{"LeadingZeroAfterPlus", "+01425551212", "first digit is 0; country calling codes start with 1-9"},
		{"ZeroAlone", "+0", "first digit is 0; country calling codes start with 1-9"},
		{"OneDigit", "+1", "1 digit, at least 7"},
		{"SixDigits", "+683400", "6 digits, at least 7"},
		{"SixteenDigits", "+4912345678901234", "16 digits, at most 15"},
		{"ThreeHundredDigits", "+" + strings.Repeat("1", 300), "300 digits, at most 15"},
		{"UnknownCountryCode999", "+9991234567", "unknown country calling code +999"},
		{"UnknownCountryCode280", "+2801234567", "unknown country calling code +280"},
		{"ArabicIndicDigits", "+١٤٢٥٥٥٥١٢١٢", "contains '١' at position 1"},
		{"FullwidthDigits", "+１４２５５５５１２１２", "contains '１' at position 1"},
		{"FullwidthPlus", "＋14255551212", "contains '＋' at position 0"},
		{"TrailingNewline", "+14255551212\n", `contains '\n' at position 12`},
		{"TrailingCRLF", "+14255551212\r\n", `contains '\r' at position 12`},
		{"Tab", "+1425\t5551212", `contains '\t' at position 5`},
		{"NULByte", "+1425\x005551212", `contains '\x00' at position 5`},
		{"NoBreakSpace", "+1425\u00a05551212", `contains U+00A0 at position 5`},
		{"ByteOrderMark", "\ufeff+14255551212", `contains U+FEFF at position 0`},
		{"CombiningTilde", "+1\u03035551212", `contains U+0303 at position 2`},
		{"ZeroWidthSpace", "+1425\u200b5551212", `contains U+200B at position 5`},
		{"InvalidUTF8Byte", "+1425\xff5551212", "contains invalid UTF-8 byte 0xff at position 5"},
		{"TruncatedUTF8Sequence", "+14255551212\xe2\x82", "contains invalid UTF-8 byte 0xe2 at position 12"},
		{"InvalidUTF8First", "\x80+14255551212", "contains invalid UTF-8 byte 0x80 at position 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e164.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, got)
			}
			if got != "" {
				t.Errorf("Parse(%q) returned %q with the error, want \"\"", tt.in, got)
			}
			var pe *e164.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not *e164.Error", tt.in, err)
			}
			want := e164.Error{Input: tt.in, Reason: tt.reason}
			if diff := cmp.Diff(want, *pe); diff != "" {
				t.Errorf("Parse(%q) error (-want +got):\n%s", tt.in, diff)
			}
			if msg := err.Error(); !utf8.ValidString(msg) || !strings.HasSuffix(msg, ": "+tt.reason) {
				t.Errorf("Error() = %q, want valid UTF-8 ending in the reason", msg)
			}
		})
	}
}

// TestErrorMessage pins the message format: the input is quoted with Go
// escapes (so control and invalid bytes are visible and the message is valid
// UTF-8) and long inputs are cut (package doc decision).
func TestErrorMessage(t *testing.T) {
	long := "+" + strings.Repeat("1", 299)
	tests := []struct {
		name string
		err  *e164.Error
		want string
	}{
		{"Plain", &e164.Error{Input: "14255551212", Reason: "missing leading '+'"},
			`e164: invalid telephone number "14255551212": missing leading '+'`},
		{"InvalidUTF8", &e164.Error{Input: "+1425\xff", Reason: "r"},
			`e164: invalid telephone number "+1425\xff": r`},
		{"Control", &e164.Error{Input: "+1\x00\n", Reason: "r"},
			`e164: invalid telephone number "+1\x00\n": r`},
		{"LongIsCut", &e164.Error{Input: long, Reason: "300 digits, at most 15"},
			`e164: invalid telephone number "` + long[:64] + `"... (300 bytes): 300 digits, at most 15`},
		// 63 ASCII bytes then a 3-byte rune straddling the cut: the rune is
		// dropped whole rather than split into escapes.
		{"CutOnRuneBoundary", &e164.Error{Input: strings.Repeat("a", 63) + "€€", Reason: "r"},
			`e164: invalid telephone number "` + strings.Repeat("a", 63) + `"... (69 bytes): r`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestIsCountryCode checks the table against libphonenumber's metadata, the
// source of the assigned codes, for every possible code.
func TestIsCountryCode(t *testing.T) {
	supported := phonenumbers.GetSupportedCallingCodes()
	for cc := -1; cc <= 1000; cc++ {
		if got, want := e164.IsCountryCode(cc), supported[cc]; got != want {
			t.Errorf("IsCountryCode(%d) = %v, want %v", cc, got, want)
		}
	}
	for _, cc := range []int{1, 7, 44, 683, 800, 882, 883} {
		if !e164.IsCountryCode(cc) {
			t.Errorf("IsCountryCode(%d) = false, want true", cc)
		}
	}
	for _, cc := range []int{0, 28, 280, 999} {
		if e164.IsCountryCode(cc) {
			t.Errorf("IsCountryCode(%d) = true, want false", cc)
		}
	}
}

// TestParseCountryCodes accepts a number for every assigned code and rejects
// one for every unassigned code that is not extended by an assigned one.
func TestParseCountryCodes(t *testing.T) {
	supported := phonenumbers.GetSupportedCallingCodes()
	for cc := 1; cc <= 999; cc++ {
		s := "+" + itoa(cc)
		s += strings.Repeat("5", 1+e164.MaxDigits-len(s))
		_, err := e164.Parse(s)
		assigned := supported[cc] || supported[cc/10] && cc >= 10 || supported[cc/100] && cc >= 100
		if assigned && err != nil {
			t.Errorf("Parse(%q) error %v; +%d is assigned", s, err, cc)
		}
		if !assigned && cc >= 100 {
			want := "unknown country calling code +" + itoa(cc)
			var pe *e164.Error
			if !errors.As(err, &pe) || pe.Reason != want {
				t.Errorf("Parse(%q) error %v, want reason %q", s, err, want)
			}
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestParseAllocs: a valid number costs no allocation (Parse runs for every
// number of a request, up to 500 times).
func TestParseAllocs(t *testing.T) {
	for _, s := range realisticNumbers(t) {
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := e164.Parse(s); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Parse(%q) allocates %v times, want 0", s, allocs)
		}
	}
}

// TestRealisticNumbersAccepted: libphonenumber's example numbers for every
// region and type are real numbers; those of 7-15 digits must pass.
func TestRealisticNumbersAccepted(t *testing.T) {
	nums := realisticNumbers(t)
	if len(nums) != 500 {
		t.Fatalf("got %d realistic numbers, want 500", len(nums))
	}
	regions := map[string]bool{}
	for _, s := range nums {
		if _, err := e164.Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
		pn, err := phonenumbers.Parse(s, "")
		if err != nil {
			t.Fatalf("phonenumbers.Parse(%q): %v", s, err)
		}
		regions[phonenumbers.GetRegionCodeForNumber(pn)] = true
	}
	if len(regions) < 200 {
		t.Errorf("numbers cover %d regions, want at least 200", len(regions))
	}
}

func TestKey(t *testing.T) {
	cases := map[e164.Number]uint64{
		"+14255551212":     14255551212,
		"+6831234":         6831234,
		"+999999999999999": 999999999999999,
	}
	for n, want := range cases {
		if got := n.Key(); got != want {
			t.Errorf("%s.Key() = %d, want %d", n, got, want)
		}
	}
	if e164.Number("+4420718387").Key() == e164.Number("+44207183870").Key() {
		t.Error("numbers of different lengths share a key")
	}
}

// TestKeyEveryLength checks Key against strconv for every length and digit
// in every position, and Parse against the plain per-byte rule for a
// non-digit in every position.
func TestKeyEveryLength(t *testing.T) {
	for digits := e164.MinDigits; digits <= e164.MaxDigits; digits++ {
		for pos := 1; pos <= digits; pos++ {
			for d := byte('0'); d <= '9'; d++ {
				b := []byte("+1" + strings.Repeat("7", digits-1))
				if pos > 1 || d != '0' {
					b[pos] = d
				}
				n := e164.Number(b)
				want, err := strconv.ParseUint(string(b[1:]), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				if got := n.Key(); got != want {
					t.Errorf("%s.Key() = %d, want %d", n, got, want)
				}
			}
			for _, c := range []byte{'/', ':', ' ', 0, 0x80, 0xff, 'a', '0' - 1 + 0x80} {
				b := []byte("+1" + strings.Repeat("7", digits-1))
				b[pos] = c
				if _, err := e164.Parse(string(b)); err == nil {
					t.Errorf("Parse(%q) accepted a non-digit at %d", b, pos)
				}
			}
		}
	}
}

func TestKeyOf(t *testing.T) {
	for s, want := range map[string]uint64{"+1": 1, "+14255551212": 14255551212, "+999999999999999": 999999999999999, "+9": 9} {
		if k, ok := e164.KeyOf(s); !ok || k != want {
			t.Errorf("KeyOf(%q) = %d, %t; want %d", s, k, ok, want)
		}
	}
	for _, s := range []string{"", "+", "1", "+0", "+01", "+1425555121:", "+014255551212", "+1425555121/", "+1000000000000000", "+14255551212\x00", " +1", "+1 "} {
		if k, ok := e164.KeyOf(s); ok {
			t.Errorf("KeyOf(%q) = %d, true; want false", s, k)
		}
	}
}
