package httpapi_test

import (
	"context"
	"errors"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
)

// errStorage is what failingStore returns; its text must never reach a client.
var errStorage = errors.New("pq: relation \"numbers\" does not exist (SECRET-INTERNAL)")

// failingStore fails every call, as a database that is down.
type failingStore struct{}

func (failingStore) Apply(context.Context, []e164.Number, removal.Change) ([]removal.Outcome, error) {
	return nil, errStorage
}

func (failingStore) CountByStatus(context.Context, string, []removal.NumberStatus) ([]int, error) {
	return nil, errStorage
}
