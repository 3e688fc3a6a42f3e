// Package rfc3339 parses timestamps exactly as RFC 3339 section 5.6 writes
// them, with a zone: 2026-11-22T10:00:00Z, 2026-11-22T11:00:00.5+01:00.
//
// time.Parse with time.RFC3339 is looser and stricter than the RFC at once:
// it accepts a comma before the fraction and zone offsets such as +24:00 or
// +01:60 (the latter read as +02:00), and refuses the lower-case t and z
// the RFC allows. Parse checks the RFC's grammar first (digits, separators,
// an offset of at most 23:59), then lets time.Parse check the calendar. A
// leap second (:60) is refused: time.Time cannot hold one.
package rfc3339

import (
	"errors"
	"time"
)

var errSyntax = errors.New("not an RFC 3339 date-time with a zone")

// Parse returns the time s denotes, in the zone it names.
func Parse(s string) (time.Time, error) {
	// 2006-01-02T15:04:05, then an optional fraction, then the zone.
	const fixed = len("2006-01-02T15:04:05")
	if len(s) < fixed+1 {
		return time.Time{}, errSyntax
	}
	b := []byte(s)
	for i := 0; i < fixed; i++ {
		switch i {
		case 4, 7:
			if b[i] != '-' {
				return time.Time{}, errSyntax
			}
		case 10:
			if b[i] != 'T' && b[i] != 't' {
				return time.Time{}, errSyntax
			}
			b[i] = 'T'
		case 13, 16:
			if b[i] != ':' {
				return time.Time{}, errSyntax
			}
		default:
			if !digit(b[i]) {
				return time.Time{}, errSyntax
			}
		}
	}
	i := fixed
	if b[i] == '.' {
		i++
		start := i
		for i < len(b) && digit(b[i]) {
			i++
		}
		if i == start {
			return time.Time{}, errSyntax
		}
	}
	switch zone := b[i:]; {
	case len(zone) == 1 && (zone[0] == 'Z' || zone[0] == 'z'):
		zone[0] = 'Z'
	case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && digit(zone[1]) && digit(zone[2]) && zone[3] == ':' && digit(zone[4]) && digit(zone[5]):
		if (zone[1]-'0')*10+zone[2]-'0' > 23 || zone[4] > '5' {
			return time.Time{}, errSyntax
		}
	default:
		return time.Time{}, errSyntax
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, errSyntax
	}
	return t, nil
}

func digit(c byte) bool { return c >= '0' && c <= '9' }
