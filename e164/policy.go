package e164

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// Policy selects how strictly a number is checked. The zero value, Syntax, is
// the package's default rule; the others add libphonenumber's number-plan
// checks on top of it, at libphonenumber's cost (microseconds and a few dozen
// allocations per number).
type Policy int

// The policies, from least to most strict. Each accepts a subset of what the
// previous one accepts.
const (
	// Syntax is the rule of Parse: '+', 7-15 digits, assigned country code.
	Syntax Policy = iota
	// Possible also requires libphonenumber's IsPossibleNumber: a length the
	// numbering plan of the country code allows (local-only lengths included,
	// as IsPossibleNumber does).
	Possible
	// Valid also requires libphonenumber's IsValidNumber: the number matches
	// an allocated range of its numbering plan. It rejects the platform's own
	// documented example +14151231234.
	Valid
)

var policyNames = [...]string{"Syntax", "Possible", "Valid"}

// String returns the policy's name, or "Policy(n)" for an unknown value.
func (p Policy) String() string {
	if p < 0 || int(p) >= len(policyNames) {
		return "Policy(" + strconv.Itoa(int(p)) + ")"
	}
	return policyNames[p]
}

// Parse checks s with the default rule first (so its errors are exactly
// Parse's), then with the policy's libphonenumber check. Errors are *Error;
// a Policy value other than the three constants rejects every input.
func (p Policy) Parse(s string) (Number, error) {
	n, err := Parse(s)
	if err != nil || p == Syntax {
		return n, err
	}
	if p != Possible && p != Valid {
		return "", &Error{Input: s, Reason: "unknown policy " + p.String()}
	}
	pn, perr := phonenumbers.Parse(s, phonenumbers.UNKNOWN_REGION)
	if perr != nil {
		return "", &Error{Input: s, Reason: "not a possible number: " + perr.Error()}
	}
	cc := int(pn.GetCountryCode())
	switch phonenumbers.IsPossibleNumberWithReason(pn) {
	case phonenumbers.IS_POSSIBLE, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
	case phonenumbers.TOO_SHORT:
		return "", &Error{Input: s, Reason: "not a possible number for " + plan(cc) + ": too short"}
	case phonenumbers.TOO_LONG:
		return "", &Error{Input: s, Reason: "not a possible number for " + plan(cc) + ": too long"}
	default: // INVALID_LENGTH, or INVALID_COUNTRY_CODE, which Parse already excludes
		return "", &Error{Input: s, Reason: "not a possible number for " + plan(cc) + ": invalid length"}
	}
	if p == Valid && !phonenumbers.IsValidNumber(pn) {
		return "", &Error{Input: s, Reason: "not a valid number for country calling code +" + strconv.Itoa(cc)}
	}
	return n, nil
}

// plan names the metadata IsPossibleNumber checks against: the main region of
// the country code ("region US") or, for non-geographic codes, the code.
func plan(cc int) string {
	r := phonenumbers.GetRegionCodeForCountryCode(cc)
	if len(r) == 2 && r != phonenumbers.UNKNOWN_REGION {
		return "region " + r
	}
	return "country calling code +" + strconv.Itoa(cc)
}
