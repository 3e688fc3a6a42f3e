package rfc3339

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	for _, tc := range []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"2026-11-22T10:00:00Z", utc("2026-11-22T10:00:00Z")},
		{"2026-11-22t10:00:00z", utc("2026-11-22T10:00:00Z")},
		{"2026-11-22T11:00:00.5+01:00", utc("2026-11-22T10:00:00.5Z")},
		{"2026-11-22T10:00:00.123456789Z", utc("2026-11-22T10:00:00.123456789Z")},
		{"2026-11-22T10:00:00-23:59", utc("2026-11-23T09:59:00Z")},
		{"0000-01-01T00:00:00Z", utc("0000-01-01T00:00:00Z")},
		{"2024-02-29T00:00:00Z", utc("2024-02-29T00:00:00Z")},
		{"2026-11-22T10:00:00,5Z", time.Time{}},    // comma before the fraction
		{"2026-11-22T10:00:00.Z", time.Time{}},     // no digit after the point
		{"2026-11-22T10:00:00+24:00", time.Time{}}, // offset hour over 23
		{"2026-11-22T10:00:00+01:60", time.Time{}}, // offset minute over 59
		{"2026-11-22T10:00:00+0100", time.Time{}},  // offset without its colon
		{"2026-11-22T10:00:00", time.Time{}},       // no zone
		{"2026-11-22 10:00:00Z", time.Time{}},      // space for T
		{"2026-11-22T23:59:60Z", time.Time{}},      // leap second
		{"2025-02-29T00:00:00Z", time.Time{}},      // not a leap year
		{"2026-13-01T00:00:00Z", time.Time{}},
		{"2026-11-22T24:00:00Z", time.Time{}},
		{"2026-1-22T10:00:00Z", time.Time{}},
		{"+2026-11-22T10:00:00Z", time.Time{}},
		{"２０２６-11-22T10:00:00Z", time.Time{}}, // fullwidth digits
		{"2026-11-22T10:00:00Z ", time.Time{}},
		{"", time.Time{}},
	} {
		got, err := Parse(tc.in)
		if tc.want.IsZero() {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts time.Parse reads as
// the same instant (once t and z are upper case), with a zone offset of at
// most 23:59.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-11-22T10:00:00Z", "2026-11-22t11:00:00.5+01:00", "2026-11-22T10:00:00,5Z", "2026-11-22T10:00:00+24:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		b := []byte(s)
		b[10] = 'T'
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		want, werr := time.Parse(time.RFC3339Nano, string(b))
		if werr != nil || !got.Equal(want) {
			t.Fatalf("Parse(%q) = %v; time.Parse: %v, %v", s, got, want, werr)
		}
		if _, off := got.Zone(); off <= -24*3600 || off >= 24*3600 {
			t.Fatalf("Parse(%q): zone offset %d s", s, off)
		}
	})
}
