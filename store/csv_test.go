package store_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

const (
	tenantA = "0c8f54c2-6a4f-4b0e-9d3c-2f1e5b7a9d10"
	tenantB = "7e2d1f3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
)

// num is a record as ReadCSV must return it (zero StatusChangedAt).
func num(tel string, tenant string, st removal.NumberStatus, oc bool) store.Number {
	return store.Number{TelephoneNumber: e164.Number(tel), MSTenantID: tenant, Status: st, OperatorConnect: oc}
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []store.Number
	}{
		{"RequiredColumnsOnlyTakeDefaults",
			"telephoneNumber,msTenantId\n+14255551212," + tenantA + "\n",
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"AllColumns",
			"telephoneNumber,msTenantId,status,operatorConnect\n" +
				"+14255551212," + tenantA + ",MarkedForRemoval,true\n" +
				"+14255551213," + tenantB + ",ReadyForRemoval,false\n",
			[]store.Number{
				num("+14255551212", tenantA, removal.MarkedForRemoval, true),
				num("+14255551213", tenantB, removal.ReadyForRemoval, false),
			}},
		{"ColumnsInAnyOrder",
			"operatorConnect,status,msTenantId,telephoneNumber\nfalse,ReleaseRequested," + tenantA + ",+14151231234\n",
			[]store.Number{num("+14151231234", tenantA, removal.ReleaseRequested, false)}},
		{"HeaderNamesAnyCaseAndTrimmed",
			" TelephoneNumber ,MSTENANTID,\tStatus,operatorconnect\n+14255551212," + tenantA + ",2,TRUE\n",
			[]store.Number{num("+14255551212", tenantA, removal.MarkedForRemoval, true)}},
		{"ByteOrderMarkBeforeHeader",
			"\ufefftelephoneNumber,msTenantId\n+14255551212," + tenantA + "\n",
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"EmptyCellsTakeDefaults",
			"telephoneNumber,msTenantId,status,operatorConnect\n+14255551212," + tenantA + ",,\n",
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"BlankCellsTakeDefaults",
			"telephoneNumber,msTenantId,status,operatorConnect\n+14255551212," + tenantA + ", , \t\n",
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"EveryStatusForm",
			"telephoneNumber,msTenantId,status\n" +
				"+14255550001," + tenantA + ",Active\n" +
				"+14255550002," + tenantA + ",Release Requested\n" +
				"+14255550003," + tenantA + ",marked for removal\n" +
				"+14255550004," + tenantA + ",READYFORREMOVAL\n" +
				"+14255550005," + tenantA + ",3\n",
			[]store.Number{
				num("+14255550001", tenantA, removal.Active, true),
				num("+14255550002", tenantA, removal.ReleaseRequested, true),
				num("+14255550003", tenantA, removal.MarkedForRemoval, true),
				num("+14255550004", tenantA, removal.ReadyForRemoval, true),
				num("+14255550005", tenantA, removal.ReadyForRemoval, true),
			}},
		{"OperatorConnectAnyCase",
			"telephoneNumber,msTenantId,operatorConnect\n+14255550001," + tenantA + ",False\n+14255550002," + tenantA + ",True\n",
			[]store.Number{num("+14255550001", tenantA, removal.Active, false), num("+14255550002", tenantA, removal.Active, true)}},
		{"TenantStoredCanonical",
			"telephoneNumber,msTenantId\n+14255550001,{" + strings.ToUpper(tenantA) + "}\n+14255550002," + strings.ToUpper(tenantB) + "\n",
			[]store.Number{num("+14255550001", tenantA, removal.Active, true), num("+14255550002", tenantB, removal.Active, true)}},
		{"CellsTrimmed",
			"telephoneNumber,msTenantId\n  +14255551212\t, " + tenantA + " \n",
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"QuotedCells",
			"\"telephoneNumber\",\"msTenantId\",\"status\"\n\"+14255551212\",\"" + tenantA + "\",\"Marked For Removal\"\n",
			[]store.Number{num("+14255551212", tenantA, removal.MarkedForRemoval, true)}},
		{"CRLFLineEndings",
			"telephoneNumber,msTenantId\r\n+14255551212," + tenantA + "\r\n",
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"NoFinalNewline",
			"telephoneNumber,msTenantId\n+14255551212," + tenantA,
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"BlankLinesSkipped",
			"\ntelephoneNumber,msTenantId\n\n+14255551212," + tenantA + "\n\n",
			[]store.Number{num("+14255551212", tenantA, removal.Active, true)}},
		{"HeaderOnlyGivesNoNumbers", "telephoneNumber,msTenantId,status,operatorConnect\n", nil},
		{"HeaderOnlyNoNewline", "telephoneNumber,msTenantId", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ReadCSV(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadCSV: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadCSV (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	const hdr = "telephoneNumber,msTenantId,status,operatorConnect\n"
	row := func(tel string) string { return tel + "," + tenantA + ",,\n" }
	tests := []struct {
		name   string
		in     string
		line   int
		column string
		record bool   // must match store.ErrInvalidNumber
		msg    string // the whole Error() text, or its start when it ends in a space
	}{
		{"EmptyFile", "", 0, "", false,
			"empty file: want a header row naming the columns telephoneNumber, msTenantId, status, operatorConnect, statusChangedAt"},
		{"OnlyBlankLines", "\n\n\r\n", 0, "", false,
			"empty file: want a header row naming the columns telephoneNumber, msTenantId, status, operatorConnect, statusChangedAt"},
		{"UnknownColumnTypo", "telephoneNumber,msTenantId,operatorConect\n", 1, "", false,
			`line 1: unknown column "operatorConect"; the columns are telephoneNumber, msTenantId, status, operatorConnect, statusChangedAt`},
		{"EmptyHeaderName", "telephoneNumber,msTenantId,\n", 1, "", false,
			`line 1: unknown column ""; the columns are telephoneNumber, msTenantId, status, operatorConnect, statusChangedAt`},
		{"ByteOrderMarkNotAtStart", "telephoneNumber,\ufeffmsTenantId\n", 1, "", false,
			"line 1: unknown column \"\\ufeffmsTenantId\"; the columns are telephoneNumber, msTenantId, status, operatorConnect, statusChangedAt"},
		{"LookAlikeHeaderName", "telephoneNumber,msTenantId,\u017ftatus\n", 1, "", false,
			"line 1: unknown column \"\u017ftatus\"; the columns are telephoneNumber, msTenantId, status, operatorConnect, statusChangedAt"},
		{"KelvinSignInStatus", hdr + "+14255551213," + tenantA + ",Mar\u212aedForRemoval,\n", 2, "status", true,
			"line 2, column status: removal: invalid status \"Mar\u212aedForRemoval\": want one of Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval (or 0-3)"},
		{"StatusChangedAtWithoutZone", "telephoneNumber,msTenantId,statusChangedAt\n+14255551213," + tenantA + ",2026-11-22T10:00:00\n", 2, "statusChangedAt", true,
			`line 2, column statusChangedAt: statusChangedAt "2026-11-22T10:00:00" is not an RFC 3339 time with a zone, such as 2026-11-22T10:00:00Z`},
		{"StatusChangedAtOffset24", "telephoneNumber,msTenantId,statusChangedAt\n+14255551213," + tenantA + ",2026-11-22T10:00:00+24:00\n", 2, "statusChangedAt", true,
			`line 2, column statusChangedAt: statusChangedAt "2026-11-22T10:00:00+24:00" is not an RFC 3339 time with a zone, such as 2026-11-22T10:00:00Z`},
		{"StatusChangedAtOffsetMinute60", "telephoneNumber,msTenantId,statusChangedAt\n+14255551213," + tenantA + ",2026-11-22T10:00:00+01:60\n", 2, "statusChangedAt", true,
			`line 2, column statusChangedAt: statusChangedAt "2026-11-22T10:00:00+01:60" is not an RFC 3339 time with a zone, such as 2026-11-22T10:00:00Z`},
		{"StatusChangedAtQuotedComma", "telephoneNumber,msTenantId,statusChangedAt\n+14255551213," + tenantA + ",\"2026-11-22T10:00:00,5Z\"\n", 2, "statusChangedAt", true,
			`line 2, column statusChangedAt: statusChangedAt "2026-11-22T10:00:00,5Z" is not an RFC 3339 time with a zone, such as 2026-11-22T10:00:00Z`},
		{"StatusChangedAtYear0", "telephoneNumber,msTenantId,statusChangedAt\n+14255551213," + tenantA + ",0000-01-01T00:00:00Z\n", 2, "statusChangedAt", true,
			`line 2, column statusChangedAt: statusChangedAt "0000-01-01T00:00:00Z" is outside years 1 to 9999 (UTC)`},
		{"StatusChangedAtYear0InUTC", "telephoneNumber,msTenantId,statusChangedAt\n+14255551213," + tenantA + ",0001-01-01T00:30:00+01:00\n", 2, "statusChangedAt", true,
			`line 2, column statusChangedAt: statusChangedAt "0001-01-01T00:30:00+01:00" is outside years 1 to 9999 (UTC)`},
		{"HugeStatus", hdr + "+14255551213," + tenantA + "," + strings.Repeat("x", 100_000) + ",\n", 2, "status", true,
			`line 2, column status: removal: invalid status "` + strings.Repeat("x", 64) + `"... (100000 bytes): want one of Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval (or 0-3)`},
		{"MissingTelephoneNumberColumn", "msTenantId,status\n", 1, "telephoneNumber", false,
			"line 1, column telephoneNumber: required column is missing from the header"},
		{"MissingTenantColumn", "status,telephoneNumber\n", 1, "msTenantId", false,
			"line 1, column msTenantId: required column is missing from the header"},
		{"DuplicateHeader", "telephoneNumber,msTenantId,status,Status\n", 1, "status", false,
			"line 1, column status: column given twice, as fields 3 and 4"},
		{"HeaderAfterBlankLines", "\n\ntelephoneNumber,status\n", 3, "msTenantId", false,
			"line 3, column msTenantId: required column is missing from the header"},
		{"MalformedHeader", "telephoneNumber,ms\"TenantId\n", 1, "", false,
			`line 1: malformed CSV at byte `},
		{"MissingPlus", hdr + row("+14255551212") + row("14255551213"), 3, "telephoneNumber", true,
			`line 3, column telephoneNumber: e164: invalid telephone number "14255551213": missing leading '+'`},
		{"NumberWithInnerSpace", hdr + row("+1 4255551213"), 2, "telephoneNumber", true,
			`line 2, column telephoneNumber: e164: invalid telephone number "+1 4255551213": contains ' ' at position 2`},
		{"EmptyNumber", hdr + row(""), 2, "telephoneNumber", true,
			"line 2, column telephoneNumber: telephoneNumber is required"},
		{"BadTenant", hdr + row("+14255551212") + "+14255551213,abc,,\n", 3, "msTenantId", true,
			`line 3, column msTenantId: msTenantId has not a Guid format: "abc"`},
		{"EmptyTenant", hdr + "+14255551213, ,Active,true\n", 2, "msTenantId", true,
			"line 2, column msTenantId: msTenantId is required"},
		{"BadStatus", hdr + "+14255551213," + tenantA + ",Deleted,\n", 2, "status", true,
			`line 2, column status: removal: invalid status "Deleted": want one of Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval (or 0-3)`},
		{"StatusOutOfRange", hdr + "+14255551213," + tenantA + ",4,\n", 2, "status", true,
			`line 2, column status: removal: invalid status "4": want one of Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval (or 0-3)`},
		{"BadOperatorConnect", hdr + "+14255551213," + tenantA + ",,yes\n", 2, "operatorConnect", true,
			`line 2, column operatorConnect: operatorConnect "yes" is not true or false`},
		{"LongCellCutInMessage", hdr + "+14255551213," + tenantA + ",," + strings.Repeat("y", 100) + "\n", 2, "operatorConnect", true,
			`line 2, column operatorConnect: operatorConnect "` + strings.Repeat("y", 64) + `"... (100 bytes) is not true or false`},
		{"TooFewFields", hdr + "+14255551213," + tenantA + "\n", 2, "", true,
			"line 2: 2 fields, the header has 4"},
		{"TooManyFields", hdr + "+14255551213," + tenantA + ",,,\n", 2, "", true,
			"line 2: 5 fields, the header has 4"},
		{"DuplicateNumberNamesBothLines", hdr + row("+14255551212") + row("+14255551213") + row("+14255551212"), 4, "telephoneNumber", true,
			"line 4, column telephoneNumber: +14255551212 is also on line 2"},
		{"MalformedRow", hdr + row("+14255551212") + "+14255551213,\"" + tenantA + ",,\n", 3, "", true,
			`line 3: malformed CSV at byte `},
		{"LinesCountedThroughQuotedNewline", hdr + "+14255551212," + tenantA + ",\"Active\nX\",\n" + row("+1"), 2, "status", true,
			"line 2, column status: removal: invalid status \"Active\\nX\": want one of Active, ReleaseRequested, MarkedForRemoval, ReadyForRemoval (or 0-3)"},
		{"LineAfterQuotedNewline", hdr + "+14255551212," + tenantA + ",\"Active\n\",\n" + row("+1"), 4, "telephoneNumber", true,
			`line 4, column telephoneNumber: e164: invalid telephone number "+1": 1 digit, at least 7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ReadCSV(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ReadCSV = %v, want an error", got)
			}
			if got != nil {
				t.Errorf("ReadCSV returned %d numbers with the error, want none", len(got))
			}
			var ce *store.CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T (%v) is not *store.CSVError", err, err)
			}
			if ce.Line != tt.line || ce.Column != tt.column {
				t.Errorf("Line, Column = %d, %q; want %d, %q", ce.Line, ce.Column, tt.line, tt.column)
			}
			if msg := err.Error(); msg != tt.msg && !(strings.HasSuffix(tt.msg, " ") && strings.HasPrefix(msg, tt.msg)) {
				t.Errorf("Error() =\n%s\nwant\n%s", err.Error(), tt.msg)
			}
			if is := errors.Is(err, store.ErrInvalidNumber); is != tt.record {
				t.Errorf("errors.Is(err, ErrInvalidNumber) = %v, want %v", is, tt.record)
			}
		})
	}
}

// TestReadCSVErrorWrapsCause: the underlying errors stay reachable.
func TestReadCSVErrorWrapsCause(t *testing.T) {
	_, err := store.ReadCSV(strings.NewReader("telephoneNumber,msTenantId\n+1 425," + tenantA + "\n"))
	var pe *e164.Error
	if !errors.As(err, &pe) || pe.Input != "+1 425" {
		t.Errorf("errors.As(%v, *e164.Error) = false or wrong input", err)
	}
	_, err = store.ReadCSV(strings.NewReader("telephoneNumber,msTenantId\n\"+1\"x," + tenantA + "\n"))
	if !errors.Is(err, csv.ErrQuote) {
		t.Errorf("errors.Is(%v, csv.ErrQuote) = false", err)
	}
	_, err = store.ReadCSV(iotestErrReader{})
	var ce *store.CSVError
	if !errors.As(err, &ce) || !errors.Is(err, errBroken) || ce.Line != 0 {
		t.Errorf("read failure: got %#v, want *CSVError at line 0 wrapping the reader's error", err)
	}
}

var errBroken = errors.New("broken pipe")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errBroken }

// recordingStore is memstore with its Imports counted and their raw
// arguments kept, so the tests see exactly what ImportCSV hands a store.
type recordingStore struct {
	*memstore.Store
	imports    int
	last       []store.Number
	lastOpts   store.ImportOptions
	failImport error
}

func newRecordingStore() *recordingStore { return &recordingStore{Store: memstore.New()} }

func (r *recordingStore) Import(ctx context.Context, numbers []store.Number, opts store.ImportOptions) (store.ImportResult, error) {
	r.imports++
	r.last, r.lastOpts = slices.Clone(numbers), opts
	if r.failImport != nil {
		return store.ImportResult{}, r.failImport
	}
	return r.Store.Import(ctx, numbers, opts)
}

func TestImportCSV(t *testing.T) {
	ctx := context.Background()
	file := "telephoneNumber,msTenantId,status,operatorConnect\n" +
		"+14255551212,{" + strings.ToUpper(tenantA) + "},Marked For Removal,\n" +
		"+14255551213," + tenantB + ",,false\n"

	t.Run("StoresEveryRowStampedWithImportTime", func(t *testing.T) {
		st := newRecordingStore()
		before := time.Now().UTC()
		res, err := store.ImportCSV(ctx, st, strings.NewReader(file), store.ImportOptions{})
		after := time.Now().UTC()
		if err != nil || res != (store.ImportResult{Inserted: 2}) {
			t.Fatalf("ImportCSV = %+v, %v; want 2 inserted, nil", res, err)
		}
		got := st.last // as ImportCSV gave them, before the store normalizes
		for i := range got {
			at := got[i].StatusChangedAt
			if at.Location() != time.UTC || at.Before(before.Truncate(time.Microsecond)) || at.After(after) || !at.Equal(st.lastOpts.At) {
				t.Errorf("%s StatusChangedAt = %v, want the import time %v, UTC between %v and %v", got[i].TelephoneNumber, at, st.lastOpts.At, before, after)
			}
			got[i].StatusChangedAt = time.Time{}
		}
		want := []store.Number{
			num("+14255551212", tenantA, removal.MarkedForRemoval, true),
			num("+14255551213", tenantB, removal.Active, false),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
		if st.imports != 1 || st.lastOpts.Mode != store.Merge {
			t.Errorf("Import called %d times with mode %s, want once (all or nothing), merge by default", st.imports, st.lastOpts.Mode)
		}
	})

	t.Run("StatusChangedAtColumn", func(t *testing.T) {
		st := newRecordingStore()
		f := "telephoneNumber,msTenantId,statusChangedAt\n" +
			"+14255551212," + tenantA + ",2026-11-22T11:00:00.1234567+01:00\n" +
			"+14255551213," + tenantA + ",\n" +
			"+14255551214," + tenantA + ",2026-11-22t10:00:00z\n"
		at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		if _, err := store.ImportCSV(ctx, st, strings.NewReader(f), store.ImportOptions{At: at}); err != nil {
			t.Fatal(err)
		}
		want := []time.Time{time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC), at, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
		for i, n := range []e164.Number{"+14255551212", "+14255551213", "+14255551214"} {
			got, err := st.Get(ctx, n)
			if err != nil || !got.StatusChangedAt.Equal(want[i]) {
				t.Errorf("Get(%s) = %v, %v; want StatusChangedAt %v", n, got.StatusChangedAt, err, want[i])
			}
		}
	})

	t.Run("BadLastRowLoadsNothing", func(t *testing.T) {
		st := newRecordingStore()
		res, err := store.ImportCSV(ctx, st, strings.NewReader(file+"+14255551214,"+tenantA+",Gone,\n"), store.ImportOptions{})
		var ce *store.CSVError
		if !errors.As(err, &ce) || ce.Line != 4 || ce.Column != "status" {
			t.Fatalf("ImportCSV error = %v, want a *CSVError at line 4, column status", err)
		}
		if res != (store.ImportResult{}) || st.imports != 0 {
			t.Errorf("ImportCSV = %+v with %d Imports; want nothing loaded", res, st.imports)
		}
		if _, err := st.Get(ctx, "+14255551212"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("first row stored after a failed import: %v", err)
		}
	})

	// A service restarted with the same file must not rewind the workflow.
	t.Run("MergeKeepsStatuses", func(t *testing.T) {
		st := newRecordingStore()
		old := num("+14255551213", tenantA, removal.ReadyForRemoval, true)
		old.StatusChangedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := st.Put(ctx, old); err != nil {
			t.Fatal(err)
		}
		res, err := store.ImportCSV(ctx, st, strings.NewReader(file), store.ImportOptions{})
		if err != nil || res != (store.ImportResult{Inserted: 1, Updated: 1, StatusKept: 1}) {
			t.Fatalf("ImportCSV = %+v, %v; want 1 inserted, 1 updated, 1 status kept", res, err)
		}
		got, _ := st.Get(ctx, "+14255551213")
		want := num("+14255551213", tenantB, removal.ReadyForRemoval, false)
		want.StatusChangedAt = old.StatusChangedAt
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after a merge import (-want +got):\n%s", diff)
		}
	})

	t.Run("ReplaceWritesEverything", func(t *testing.T) {
		st := newRecordingStore()
		if err := st.Put(ctx, num("+14255551213", tenantA, removal.ReadyForRemoval, true)); err != nil {
			t.Fatal(err)
		}
		res, err := store.ImportCSV(ctx, st, strings.NewReader(file), store.ImportOptions{Mode: store.Replace})
		if err != nil || res != (store.ImportResult{Inserted: 1, Updated: 1}) {
			t.Fatalf("ImportCSV = %+v, %v; want 1 inserted, 1 updated", res, err)
		}
		got, _ := st.Get(ctx, "+14255551213")
		if got.Status != removal.Active || got.MSTenantID != tenantB || got.OperatorConnect {
			t.Errorf("after import %+v, want the file's record", got)
		}
	})

	t.Run("ImportFailureIsReturned", func(t *testing.T) {
		st := newRecordingStore()
		st.failImport = errors.New("disk full")
		res, err := store.ImportCSV(ctx, st, strings.NewReader(file), store.ImportOptions{})
		if res != (store.ImportResult{}) || !errors.Is(err, st.failImport) {
			t.Errorf("ImportCSV = %+v, %v; want nothing and the Import error", res, err)
		}
	})

	t.Run("HeaderOnlyImportsZero", func(t *testing.T) {
		st := newRecordingStore()
		res, err := store.ImportCSV(ctx, st, strings.NewReader("telephoneNumber,msTenantId\n"), store.ImportOptions{})
		if res != (store.ImportResult{}) || err != nil || st.imports != 0 {
			t.Errorf("ImportCSV = %+v, %v with %d Imports; want 0, nil, none", res, err, st.imports)
		}
	})
}

func TestReadAcquiredCSV(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
		line       int // of the error; 0 when none is wanted
	}{
		{"OneColumn", "telephoneNumber\n+14255551212\n+14255551213\n", []string{"+14255551212", "+14255551213"}, 0},
		{"OtherColumnsIgnored", "displayName, TELEPHONENUMBER ,city\nx,+14255551212,y\n\n,+14255551212,\n", []string{"+14255551212", "+14255551212"}, 0},
		{"HeaderOnly", "telephoneNumber\n", []string{}, 0},
		{"NoColumn", "number\n+14255551212\n", nil, 1},
		{"LookAlikeHeader", "telephoneNumber\u017f\n+14255551212\n", nil, 1},
		{"BadNumber", "telephoneNumber\n+14255551212\n+1 425 555 1213\n", nil, 3},
		{"ShortRow", "a,telephoneNumber\nx\n", nil, 2},
		{"Empty", "", nil, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.ReadAcquiredCSV(strings.NewReader(tc.file))
			if tc.line == 0 {
				if err != nil || !slices.Equal(got, tc.want) {
					t.Errorf("ReadAcquiredCSV = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var ce *store.CSVError
			if !errors.As(err, &ce) || (tc.line > 0 && ce.Line != tc.line) {
				t.Errorf("ReadAcquiredCSV = %q, %v; want a *CSVError on line %d", got, err, tc.line)
			}
		})
	}
}

// writeCSV serialises records in the inventory file format, for the
// round-trip property of FuzzReadCSV.
func writeCSV(t *testing.T, numbers []store.Number) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"status", "telephoneNumber", "operatorConnect", "msTenantId", "statusChangedAt"})
	for _, n := range numbers {
		at := ""
		if !n.StatusChangedAt.IsZero() {
			at = n.StatusChangedAt.Format(time.RFC3339Nano)
		}
		_ = w.Write([]string{n.Status.String(), string(n.TelephoneNumber), strconv.FormatBool(n.OperatorConnect), n.MSTenantID, at})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"telephoneNumber,msTenantId\n+14255551212," + tenantA + "\n",
		"\ufeffTelephoneNumber, msTenantId ,status,operatorConnect\r\n+14255551212,{" + tenantA + "},Marked For Removal,FALSE\r\n+6834002," + tenantB + ",,\r\n",
		"operatorConnect,status,msTenantId,telephoneNumber\n,3," + tenantA + ",+80012345678\n",
		"telephoneNumber,msTenantId\n",
		"",
		"telephoneNumber,msTenantId,operatorConect\n",
		"telephoneNumber,msTenantId\n+14255551212," + tenantA + "\n+14255551212," + tenantB + "\n",
		"telephoneNumber,msTenantId\n\"+14255551212\n\"," + tenantA + "\n",
		"telephoneNumber,msTenantId,status\n+14255551212," + tenantA + ",\"Active\nX\"\n",
		"telephoneNumber,msTenantId\n+1425\xff5551212," + tenantA + "\n",
		"telephoneNumber,msTenantId,statusChangedAt\n+14255551212," + tenantA + ",2026-11-22T10:00:00.123456789-05:00\n+14255551213," + tenantA + ",\n",
		"telephoneNumber,msTenantId,statusChangedAt\n+14255551212," + tenantA + ",2026-11-22 10:00\n",
		"telephoneNumber,\u017ftatus\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := store.ReadCSV(strings.NewReader(in))
		if err != nil {
			var ce *store.CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T (%v) is not *store.CSVError", err, err)
			}
			if ce.Line < 0 || ce.Err == nil || ce.Error() == "" {
				t.Fatalf("bad CSVError %#v", ce)
			}
			if errors.Is(err, store.ErrInvalidNumber) && ce.Line < 2 {
				t.Fatalf("record error on line %d, before any data row: %v", ce.Line, err)
			}
			if msg := err.Error(); !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("message is not one line of valid UTF-8: %q", msg)
			}
			if got != nil {
				t.Fatalf("ReadCSV returned %d numbers with the error", len(got))
			}
			return
		}
		seen := map[e164.Number]bool{}
		for i, n := range got {
			norm, err := store.Normalize(n)
			if err != nil {
				t.Fatalf("record %d %+v fails Normalize: %v", i, n, err)
			}
			if diff := cmp.Diff(n, norm); diff != "" {
				t.Fatalf("record %d not canonical (-read +normalized):\n%s", i, diff)
			}
			if seen[n.TelephoneNumber] {
				t.Fatalf("%s read twice", n.TelephoneNumber)
			}
			seen[n.TelephoneNumber] = true
		}
		again, err := store.ReadCSV(strings.NewReader(writeCSV(t, got)))
		if err != nil {
			t.Fatalf("re-reading the written records: %v", err)
		}
		if diff := cmp.Diff(got, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func ExampleReadCSV() {
	file := "\ufefftelephoneNumber,msTenantId,status,operatorConnect\n" +
		"+14255551212,{0C8F54C2-6A4F-4B0E-9D3C-2F1E5B7A9D10},Marked For Removal,\n" +
		"+14255551213,0c8f54c2-6a4f-4b0e-9d3c-2f1e5b7a9d10,,false\n"
	numbers, err := store.ReadCSV(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range numbers {
		fmt.Println(n.TelephoneNumber, n.MSTenantID, n.Status, n.OperatorConnect)
	}
	// Output:
	// +14255551212 0c8f54c2-6a4f-4b0e-9d3c-2f1e5b7a9d10 MarkedForRemoval true
	// +14255551213 0c8f54c2-6a4f-4b0e-9d3c-2f1e5b7a9d10 Active false
}

func ExampleReadCSV_error() {
	file := "telephoneNumber,msTenantId\n" +
		"+14255551212,0c8f54c2-6a4f-4b0e-9d3c-2f1e5b7a9d10\n" +
		"+14255551213,abc\n"
	_, err := store.ReadCSV(strings.NewReader(file))
	var ce *store.CSVError
	if errors.As(err, &ce) {
		fmt.Println(ce.Line, ce.Column, errors.Is(err, store.ErrInvalidNumber))
	}
	fmt.Println(err)
	// Output:
	// 3 msTenantId true
	// line 3, column msTenantId: msTenantId has not a Guid format: "abc"
}
