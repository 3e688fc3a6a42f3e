package removal

import (
	"encoding/json"

	"github.com/ocnumbers/ocnumbers/e164"
)

// BatchResult is the outcome of a batch action. ProcessedCount counts the
// numbers that got an outcome (success or failure); SuccessCount those whose
// status changed; Failures lists the others in request order.
type BatchResult struct {
	ProcessedCount int       `json:"processedCount"`
	SuccessCount   int       `json:"successCount"`
	Failures       []Failure `json:"failures"`
}

// MarshalJSON always writes failures as an array, [] when there are none.
func (r BatchResult) MarshalJSON() ([]byte, error) {
	type plain BatchResult
	if r.Failures == nil {
		r.Failures = []Failure{}
	}
	return json.Marshal(plain(r))
}

// Failure is one number that the action did not move.
type Failure struct {
	TelephoneNumber e164.Number `json:"telephoneNumber"`
	ErrorCode       string      `json:"errorCode"` // CodeNumberNotFound, CodeNotOperatorConnect or CodeInvalidStatus
	// CurrentStatus is the stored status for NotOperatorConnect and
	// InvalidStatus, and nil for NumberNotFound.
	CurrentStatus *NumberStatus `json:"currentStatus,omitempty"`
	Detail        string        `json:"detail"`
}

// Summary counts the Operator Connect numbers in the two removal statuses.
// TotalCount is their sum.
type Summary struct {
	MarkedForRemovalCount int `json:"markedForRemovalCount"`
	ReadyForRemovalCount  int `json:"readyForRemovalCount"`
	TotalCount            int `json:"totalCount"`
}
