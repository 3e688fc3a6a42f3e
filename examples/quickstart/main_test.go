package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The walk-through must keep demonstrating what its headings claim.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`"errorCode": "NumberNotFound"`,
		`"errorCode": "NotOperatorConnect"`,
		`"errorCode": "InvalidStatus"`,
		`"currentStatus": "ReadyForRemoval"`,
		"400 InvalidTelephoneNumber",
		"DuplicateTelephoneNumber",
		"cancelled: context canceled",
		`"acquiredNumberStatus": "MarkedForRemoval"`,
		"+14255551213 Active assignable=true",
		`"actor": "ops@example.com"`,
		`"cleared": {
    "count": 1,`,
		`"action": "readyForRemoval"`,
		`"marked": {`,
		`"purgedCount": 2`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s\n%s", want, got)
		}
	}
	if strings.Contains(got, "error:") {
		t.Errorf("unexpected error in output:\n%s", got)
	}
}
