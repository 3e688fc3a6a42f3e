package storetest_test

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/store/storetest"
)

// In a backend's own tests, Run is the whole conformance test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mystore.New() })
//	}
//
// CheckModel runs only the model-based test, with any rapid.TB; here a small
// one that records whether the store failed.
func ExampleCheckModel() {
	tb := new(verdict)
	done := make(chan struct{})
	go func() { // FailNow ends the goroutine, as with testing.T
		defer close(done)
		storetest.CheckModel(tb, memstore.New(), storetest.WithChecks(20))
	}()
	<-done
	fmt.Println("memstore failed the model test:", tb.Failed())
	// Output: memstore failed the model test: false
}

// verdict is a rapid.TB that keeps only whether a check failed.
type verdict struct {
	mu     sync.Mutex
	failed bool
}

func (v *verdict) Helper()                   {}
func (v *verdict) Name() string              { return "ExampleCheckModel" }
func (v *verdict) Logf(string, ...any)       {}
func (v *verdict) Log(...any)                {}
func (v *verdict) Skipf(string, ...any)      { runtime.Goexit() }
func (v *verdict) Skip(...any)               { runtime.Goexit() }
func (v *verdict) SkipNow()                  { runtime.Goexit() }
func (v *verdict) Errorf(string, ...any)     { v.Fail() }
func (v *verdict) Error(...any)              { v.Fail() }
func (v *verdict) Fatalf(f string, a ...any) { v.Errorf(f, a...); v.FailNow() }
func (v *verdict) Fatal(a ...any)            { v.Error(a...); v.FailNow() }
func (v *verdict) FailNow()                  { v.Fail(); runtime.Goexit() }
func (v *verdict) Fail()                     { v.mu.Lock(); v.failed = true; v.mu.Unlock() }
func (v *verdict) Failed() bool              { v.mu.Lock(); defer v.mu.Unlock(); return v.failed }
