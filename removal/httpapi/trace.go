package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// traceID returns the trace-id of a valid W3C traceparent header, else a new
// random one in the same form (32 lower-case hex digits, not all zero).
func traceID(h http.Header) string {
	if v := h.Values("traceparent"); len(v) == 1 {
		if id, ok := parseTraceparent(v[0]); ok {
			return id
		}
	}
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// parseTraceparent follows W3C Trace Context level 1, section 3.2: version,
// trace-id, parent-id and flags in lower-case hex separated by '-'; version
// ff, an all-zero trace-id or parent-id are invalid; version 00 has exactly
// 55 characters, and a later version may append "-" and more.
func parseTraceparent(s string) (string, bool) {
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return "", false
	}
	ver, tid, pid, flags := s[0:2], s[3:35], s[36:52], s[53:55]
	if !lowerHex(ver) || ver == "ff" || !lowerHex(tid) || !lowerHex(pid) || !lowerHex(flags) ||
		allZero(tid) || allZero(pid) {
		return "", false
	}
	if len(s) > 55 && (ver == "00" || s[55] != '-') {
		return "", false
	}
	return tid, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// newTicket is a 26-character random id (crypto/rand.Text): different in
// shape from a trace id, so that the two are not confused on a support call.
func newTicket() string { return rand.Text() }
