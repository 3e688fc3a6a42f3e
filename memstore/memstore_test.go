package memstore_test

import (
	"testing"

	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/store"
	"github.com/ocnumbers/ocnumbers/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}
