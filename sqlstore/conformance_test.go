package sqlstore_test

import (
	"testing"

	"github.com/ocnumbers/ocnumbers/store"
	"github.com/ocnumbers/ocnumbers/store/storetest"
)

// TestConformance runs the shared store suite, model-based test included
// (200 sequences), on each database.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			// Separate databases: PostgreSQL's round trips overlap SQLite's CPU.
			t.Parallel()
			b.require(t)
			storetest.Run(t, func(t *testing.T) store.Store { return b.open(t) }, storetest.WithChecks(200))
		})
	}
}
