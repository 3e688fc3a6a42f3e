package removal

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
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
	return json.Marshal(numberJSON{n.TelephoneNumber, n.MSTenantID, n.Status, n.OperatorConnect, formatTime(n.StatusChangedAt)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *Number) UnmarshalJSON(b []byte) error {
	var v numberJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	at, err := time.Parse(time.RFC3339Nano, v.StatusChangedAt)
	if err != nil {
		return fmt.Errorf("removal: statusChangedAt: %w", err)
	}
	*n = Number{v.TelephoneNumber, v.TenantID, v.OperatorConnect, v.AcquiredNumberStatus, at.UTC()}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
