// Package store defines the contract every ocnumbers storage backend
// implements, its record type and its errors. The conformance suite in
// store/storetest checks a backend against this contract; memstore and
// sqlstore are the project's own backends.
//
// ReadCSV and ImportCSV load inventory from CSV into any Store, all or
// nothing; ReadAcquiredCSV reads the Operator Connect acquired list that
// reconciliation compares with the store. Their doc comments state the
// format.
//
// Decisions: Put rejects a whole call that holds an invalid record or the
// same number twice (naming the indexes) rather than letting the last one
// win, so that a bulk load means one thing on every backend; tenant IDs are
// accepted in every form removal.ParseTenantID accepts and stored canonical;
// times are kept in UTC at microsecond precision, the finest PostgreSQL keeps.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/ascii"
	"github.com/ocnumbers/ocnumbers/removal"
)

// Number is one acquired telephone number: removal.Number, the one record
// type of the module.
type Number = removal.Number

// ErrNotFound is returned by Get when the number is not stored. It is
// removal.ErrNotFound.
var ErrNotFound = removal.ErrNotFound

// ErrInvalidNumber matches (errors.Is) every error Put and Import return for
// a record that breaks the rules of Normalize; such a call stores nothing.
var ErrInvalidNumber = errors.New("store: invalid number record")

// ImportMode says what Import does with numbers already stored.
type ImportMode int

const (
	// Merge inserts the numbers not yet stored with the record's status and
	// StatusChangedAt; a stored number keeps its status and StatusChangedAt
	// (re-running an import never rewinds the workflow) and takes the
	// record's tenant and OperatorConnect flag.
	Merge ImportMode = iota
	// Replace writes every column of every record as given, for restoring a
	// backup.
	Replace
)

// String returns "merge" or "replace".
func (m ImportMode) String() string {
	switch m {
	case Merge:
		return "merge"
	case Replace:
		return "replace"
	}
	return "ImportMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseImportMode reads "merge" or "replace" (ASCII letters in any case).
func ParseImportMode(s string) (ImportMode, error) {
	for _, m := range []ImportMode{Merge, Replace} {
		if ascii.EqualFold(s, m.String()) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("store: import mode %q: want merge or replace", s)
}

// ImportOptions tunes Import.
type ImportOptions struct {
	Mode ImportMode
	// At is the time the import runs, recorded in the history events it
	// writes; zero means the store's clock (time.Now).
	At time.Time
}

// ImportResult counts what an Import did.
type ImportResult struct {
	Inserted int // numbers not stored before
	Updated  int // numbers already stored (written as the mode says, changed or not)
	// StatusKept counts, for Merge, the stored numbers whose status was kept
	// although the record gave another.
	StatusKept int
}

// Store is the full backend contract. It includes removal.Store, the port
// the removal.Service applies its rules through.
//
// Every method is safe for concurrent use, also across processes sharing one
// database for the SQL backends.
type Store interface {
	removal.Store

	// Put inserts or replaces numbers, all or nothing: Import with Replace.
	Put(ctx context.Context, numbers ...Number) error

	// Import inserts numbers and, for those already stored, writes them as
	// opts.Mode says, all or nothing. Records are normalized with Normalize;
	// an invalid record, or the same telephone number twice in one call,
	// fails the whole call with an error matching ErrInvalidNumber that names
	// the index. A number inserted gets an EventImport event (no FromStatus,
	// ToStatus its status); a stored number whose status Replace rewrites
	// gets one from the old status to the new; nothing else writes an event.
	// Events carry opts.At, the audit of removal.AuditFrom(ctx) and the
	// number's tenant after the import. Import with no numbers does nothing.
	Import(ctx context.Context, numbers []Number, opts ImportOptions) (ImportResult, error)
}

// Normalize checks one record and returns it in canonical form: the telephone
// number strictly E.164, the tenant ID a GUID (any accepted form, stored
// lower-case without braces), the status one of the four, and StatusChangedAt
// from MinStatusChangedAt to MaxStatusChangedAt (years 1 to 9999, which
// RFC 3339 and so the JSON answers can write), in UTC truncated to
// microseconds (the precision every backend keeps).
func Normalize(n Number) (Number, error) { return normalize(n, nil) }

// The range of StatusChangedAt, in every backend. The zero time.Time is
// its first instant.
var (
	MinStatusChangedAt = time.Time{}.UTC()
	MaxStatusChangedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// normalize is Normalize with an optional cache of canonical tenant IDs.
func normalize(n Number, tenants map[string]string) (Number, error) {
	if _, err := e164.Parse(string(n.TelephoneNumber)); err != nil {
		return Number{}, fmt.Errorf("%w: %w", ErrInvalidNumber, err)
	}
	t, ok := tenants[n.MSTenantID]
	if !ok {
		var err error
		if t, err = removal.ParseTenantID(n.MSTenantID); err != nil {
			return Number{}, fmt.Errorf("%w: %s: msTenantId %q is not a GUID", ErrInvalidNumber, n.TelephoneNumber, n.MSTenantID)
		}
		if tenants != nil && len(tenants) < maxCachedTenants {
			tenants[n.MSTenantID] = t
		}
	}
	n.MSTenantID = t
	if !n.Status.Valid() {
		return Number{}, fmt.Errorf("%w: %s: status %d is not one of 0-3", ErrInvalidNumber, n.TelephoneNumber, int(n.Status))
	}
	n.StatusChangedAt = n.StatusChangedAt.UTC().Truncate(time.Microsecond)
	if n.StatusChangedAt.Before(MinStatusChangedAt) || n.StatusChangedAt.After(MaxStatusChangedAt) {
		return Number{}, fmt.Errorf("%w: %s: statusChangedAt %v is outside years 1 to 9999", ErrInvalidNumber, n.TelephoneNumber, n.StatusChangedAt)
	}
	return n, nil
}

// maxCachedTenants bounds the memory a load with very many tenants takes.
const maxCachedTenants = 4096

// NormalizeAll normalizes the records of one Put and rejects a telephone
// number given twice, naming both indexes. Backends call it before writing.
func NormalizeAll(numbers []Number) ([]Number, error) {
	out := make([]Number, len(numbers))
	var z Normalizer
	for i, n := range numbers {
		v, err := z.Next(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// A Normalizer checks the records of one bulk load one at a time, by the
// rules of NormalizeAll, so a backend can check while it writes. It
// remembers canonical tenant IDs, since a load has many records and few
// tenants. The zero value is ready to use.
type Normalizer struct {
	tenants map[string]string
	seen    map[uint64]int
	i       int
}

// Next normalizes the next record as Normalize does, and rejects a number
// already seen in this load; errors name the record's index.
func (z *Normalizer) Next(n Number) (Number, error) {
	i := z.i
	z.i++
	if z.tenants == nil {
		z.tenants = make(map[string]string)
	}
	v, err := normalize(n, z.tenants)
	if err != nil {
		return Number{}, fmt.Errorf("numbers[%d]: %w", i, err)
	}
	return z.dedupe(i, v)
}

func (z *Normalizer) dedupe(i int, v Number) (Number, error) {
	if z.seen == nil {
		z.seen = make(map[uint64]int)
	}
	k := v.TelephoneNumber.Key()
	if j, dup := z.seen[k]; dup {
		return Number{}, fmt.Errorf("%w: numbers[%d] and numbers[%d] are both %s", ErrInvalidNumber, j, i, v.TelephoneNumber)
	}
	z.seen[k] = i
	return v, nil
}
