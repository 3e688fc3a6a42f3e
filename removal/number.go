package removal

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/rfc3339"
)

// Number is one acquired telephone number, as every store keeps it
// (store.Number is this type).
type Number struct {
	TelephoneNumber e164.Number
	MSTenantID      string // canonical lower-case GUID (see ParseTenantID)
	OperatorConnect bool   // associated with an Operator Connect customer
	Status          NumberStatus
	StatusChangedAt time.Time // UTC, microsecond precision
}

// TimeLayout is how times are written in JSON: UTC, always six fractional
// digits ("2026-11-22T10:00:00.123456Z").
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// numberJSON is the wire form of a Number, the item of the platform's list
// API: the tenant's key is tenantId, the status is acquiredNumberStatus.
type numberJSON struct {
	TelephoneNumber      e164.Number  `json:"telephoneNumber"`
	TenantID             string       `json:"tenantId"`
	AcquiredNumberStatus NumberStatus `json:"acquiredNumberStatus"`
	OperatorConnect      bool         `json:"operatorConnect"`
	StatusChangedAt      string       `json:"statusChangedAt"`
}

// MarshalJSON writes the list API's item: telephoneNumber, tenantId,
// acquiredNumberStatus (the name), operatorConnect, statusChangedAt
// (TimeLayout).
func (n Number) MarshalJSON() ([]byte, error) {
	// A page holds up to 1,000 items: a canonical record (digits, GUID
	// characters) is written directly, anything else through encoding/json.
	return n.appendJSON(make([]byte, 0, 192))
}

// appendJSON appends MarshalJSON's encoding of n to b.
func (n Number) appendJSON(b []byte) ([]byte, error) {
	if !plain(string(n.TelephoneNumber)) || !plain(n.MSTenantID) || !n.Status.Valid() {
		j, err := json.Marshal(numberJSON{n.TelephoneNumber, n.MSTenantID, n.Status, n.OperatorConnect, formatTime(n.StatusChangedAt)})
		return append(b, j...), err
	}
	b = append(b, `{"telephoneNumber":"`...)
	b = append(b, n.TelephoneNumber...)
	b = append(b, `","tenantId":"`...)
	b = append(b, n.MSTenantID...)
	b = append(b, `","acquiredNumberStatus":"`...)
	b = append(b, statusNames[n.Status]...)
	b = append(b, `","operatorConnect":`...)
	b = strconv.AppendBool(b, n.OperatorConnect)
	b = append(b, `,"statusChangedAt":"`...)
	b = n.StatusChangedAt.UTC().AppendFormat(b, TimeLayout)
	return append(b, `"}`...), nil
}

// plain reports whether s needs no escaping in JSON: E.164 digits and '+',
// GUID letters, digits and '-'.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *Number) UnmarshalJSON(b []byte) error {
	var v numberJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	at, err := rfc3339.Parse(v.StatusChangedAt)
	if err != nil {
		return fmt.Errorf("removal: statusChangedAt %s: %w", quote(v.StatusChangedAt), err)
	}
	*n = Number{v.TelephoneNumber, v.TenantID, v.OperatorConnect, v.AcquiredNumberStatus, at.UTC()}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
