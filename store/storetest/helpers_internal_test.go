package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// sameRecord and sameResult hand-write cmp.Equal for speed (the model test
// compares thousands of values). These tests fail when a field is added to
// store.Number or removal.Failure and the hand-written comparison misses it.

func TestSameRecordCoversEveryField(t *testing.T) {
	base := store.Number{TelephoneNumber: "+14255551212", MSTenantID: "a", OperatorConnect: true,
		Status: removal.MarkedForRemoval, StatusChangedAt: time.Unix(1, 0)}
	if !sameRecord(base, base) {
		t.Fatal("a record differs from itself")
	}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		other := base
		f := reflect.ValueOf(&other).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int:
			f.SetInt(f.Int() + 1)
		default:
			other.StatusChangedAt = base.StatusChangedAt.Add(time.Microsecond)
			if typ.Field(i).Name != "StatusChangedAt" {
				t.Fatalf("field %s of kind %s: extend this test", typ.Field(i).Name, f.Kind())
			}
		}
		if sameRecord(base, other) || cmp.Equal(base, other, equalTime) {
			t.Errorf("a change of %s is not seen", typ.Field(i).Name)
		}
	}
}

func TestSameResultCoversEveryField(t *testing.T) {
	st := removal.ReadyForRemoval
	base := removal.BatchResult{ProcessedCount: 2, SuccessCount: 1, Failures: []removal.Failure{
		{TelephoneNumber: "+14255551212", ErrorCode: removal.CodeInvalidStatus, CurrentStatus: &st, Detail: "d"}}}
	if n := reflect.TypeOf(removal.Failure{}).NumField(); n != 4 {
		t.Fatalf("removal.Failure has %d fields, sameResult knows 4: extend it", n)
	}
	if n := reflect.TypeOf(removal.BatchResult{}).NumField(); n != 3 {
		t.Fatalf("removal.BatchResult has %d fields, sameResult knows 3: extend it", n)
	}
	other := removal.ReleaseRequested
	for name, change := range map[string]func(*removal.BatchResult){
		"ProcessedCount":   func(r *removal.BatchResult) { r.ProcessedCount++ },
		"SuccessCount":     func(r *removal.BatchResult) { r.SuccessCount++ },
		"Failures":         func(r *removal.BatchResult) { r.Failures = nil },
		"TelephoneNumber":  func(r *removal.BatchResult) { r.Failures[0].TelephoneNumber += "1" },
		"ErrorCode":        func(r *removal.BatchResult) { r.Failures[0].ErrorCode = removal.CodeNumberNotFound },
		"CurrentStatus":    func(r *removal.BatchResult) { r.Failures[0].CurrentStatus = &other },
		"CurrentStatusNil": func(r *removal.BatchResult) { r.Failures[0].CurrentStatus = nil },
	} {
		got := base
		got.Failures = append([]removal.Failure(nil), base.Failures...)
		change(&got)
		if sameResult(base, got) || cmp.Equal(base, got, resultOpts) {
			t.Errorf("a change of %s is not seen", name)
		}
	}
	// Detail is ignored on purpose, by both.
	got := base
	got.Failures = []removal.Failure{base.Failures[0]}
	got.Failures[0].Detail = "other words"
	if !sameResult(base, got) || !cmp.Equal(base, got, resultOpts) {
		t.Error("a change of Detail is seen; the suite leaves wording to the domain")
	}
}
