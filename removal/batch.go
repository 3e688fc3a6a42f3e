package removal

import (
	"errors"
	"strconv"

	"github.com/ocnumbers/ocnumbers/e164"
)

// MaxBatchSize is the largest number of telephone numbers one batch action
// accepts.
const MaxBatchSize = 500

// ChunkSize is the most numbers a store applies between two checks of the
// context: a cancelled batch stops within one chunk.
const ChunkSize = 50

// ValidateBatch applies the request-level rules of a batch action, over the
// whole request: numbers must not be nil (a nil slice is a null request), must
// hold 1 to MaxBatchSize numbers, each in strict E.164 form, none twice. It
// returns the parsed numbers, or a *ValidationError listing every problem
// found (index and value). A batch of the wrong size is reported alone: its
// elements are not examined.
func ValidateBatch(numbers []string) ([]e164.Number, error) {
	if numbers == nil {
		return nil, &ValidationError{Problems: []Problem{{
			Field: "telephoneNumbers", Index: -1, Code: CodeNullRequestBody,
			Message: "the request must contain a telephoneNumbers array, not null",
		}}}
	}
	if n := len(numbers); n < 1 || n > MaxBatchSize {
		return nil, &ValidationError{Problems: []Problem{{
			Field: "telephoneNumbers", Index: -1, Value: strconv.Itoa(n), Code: CodeBatchSizeOutOfRange,
			Message: "telephoneNumbers holds " + strconv.Itoa(n) + " numbers; it must hold between 1 and " + strconv.Itoa(MaxBatchSize),
		}}}
	}
	out := make([]e164.Number, len(numbers))
	var problems []Problem
	var seen seenSet
	for i, s := range numbers {
		n, err := e164.Parse(s)
		if err != nil {
			msg := err.Error()
			var pe *e164.Error
			if errors.As(err, &pe) {
				msg = quote(s) + " is not a valid E.164 number: " + pe.Reason
			}
			problems = append(problems, Problem{
				Field: elementField(i), Index: i, Value: s, Code: CodeInvalidTelephoneNumber, Message: msg,
			})
			continue
		}
		if first, dup := seen.add(n, i); dup {
			problems = append(problems, Problem{
				Field: elementField(i), Index: i, Value: s, Code: CodeDuplicateTelephoneNumber,
				Message: quote(s) + " appears twice: at telephoneNumbers[" + strconv.Itoa(first) + "] and telephoneNumbers[" + strconv.Itoa(i) + "]",
			})
			continue
		}
		out[i] = n
	}
	if problems != nil {
		return nil, &ValidationError{Problems: problems}
	}
	return out, nil
}

// maxQuoted bounds how much of a bad value a message repeats, so a huge
// value cannot flood a log line or a response; Problem.Value keeps it whole.
const maxQuoted = 64

func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxQuoted]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// seenSet finds repeated numbers in one batch without a map: a valid
// number's Key is exact and never 0, and a batch fits an open-addressing
// table that lives on the stack.
type seenSet struct {
	keys [2 * seenSlots]uint64 // 0 is empty: no valid number has value 0
	at   [2 * seenSlots]int16
}

const seenSlots = 1 << 9 // 2*512 = 1024 slots for at most 500 numbers

// add records n at index i, or returns the index it was first seen at.
func (t *seenSet) add(n e164.Number, i int) (int, bool) {
	k := n.Key()
	const mask = 2*seenSlots - 1
	for h := (k * 0x9E3779B97F4A7C15) >> 54; ; h = (h + 1) & mask {
		switch t.keys[h] {
		case 0:
			t.keys[h], t.at[h] = k, int16(i)
			return 0, false
		case k:
			return int(t.at[h]), true
		}
	}
}
