package sqlstore

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// TestOnValid checks that a batch runs on its E.164 numbers only, that the
// others come back not found in their places, and that a run stopped
// early ends the result before the first valid number it did not reach.
func TestOnValid(t *testing.T) {
	found := removal.Outcome{Found: true, OperatorConnect: true}
	stop := errors.New("stopped")
	tests := []struct {
		name    string
		numbers []e164.Number
		reached int // outcomes the run returns
		want    []removal.Outcome
	}{
		{"AllValid", []e164.Number{"+14255551212", "+14255551213"}, 2, []removal.Outcome{found, found}},
		{"Mixed", []e164.Number{"x", "+14255551212", "+0", "+14255551213", "+1:"}, 2, []removal.Outcome{{}, found, {}, found, {}}},
		{"NoneValid", []e164.Number{"x", "+0"}, 0, []removal.Outcome{{}, {}}},
		{"StoppedAfterOne", []e164.Number{"x", "+14255551212", "+0", "+14255551213", "+1:"}, 1, []removal.Outcome{{}, found, {}}},
		{"StoppedAtOnce", []e164.Number{"x", "+14255551212"}, 0, []removal.Outcome{{}}},
	}
	t.Run("Duplicate", func(t *testing.T) {
		ran := false
		_, err := onValid([]e164.Number{"+14255551212", "x", "+14255551212"}, func([]e164.Number) ([]removal.Outcome, error) { ran = true; return nil, nil })
		if err == nil || ran {
			t.Errorf("a number twice: err %v, ran %t; want an error and no run", err, ran)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var given []e164.Number
			got, err := onValid(tt.numbers, func(valid []e164.Number) ([]removal.Outcome, error) {
				given = valid
				out := make([]removal.Outcome, tt.reached)
				for i := range out {
					out[i] = found
				}
				if tt.reached < len(valid) {
					return out, stop
				}
				return out, nil
			})
			for _, n := range given {
				if _, perr := e164.Parse(string(n)); perr != nil {
					t.Errorf("the run was given %q", n)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("outcomes (-want +got):\n%s", d)
			}
			if stopped := tt.reached < len(given); stopped != (err != nil) {
				t.Errorf("err %v, stopped %t", err, stopped)
			}
		})
	}
}
