package sqlstore

import (
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
)

// SetBeforeCommit installs a hook that a PostgreSQL write transaction
// calls after its statements and before its commit.
func (s *Store) SetBeforeCommit(f func()) { s.inner().(*pgDriver).beforeCommit = f }

// LockKey is the advisory lock key of the table's writers on PostgreSQL.
func (s *Store) LockKey() int64 { return s.inner().(*pgDriver).lockKey }

// SummaryQueries returns the global and per-tenant Summary statements.
func (s *Store) SummaryQueries() (global, tenant string) {
	return s.inner().(interface{ summaryQueries() (string, string) }).summaryQueries()
}

func (d *pgDriver) summaryQueries() (string, string) { return d.q.countIdx, d.q.countIdxT }

// KnownVersion is the newest schema version this package knows for a
// database/sql driver name.
func KnownVersion(driverName string) int {
	ms, err := Migrations(driverName)
	if err != nil {
		panic(err) // embedded files: a broken build, caught by every test
	}
	return len(ms)
}

// CountsTableName is the quoted name of the counters table.
func (s *Store) CountsTableName() string { return s.names.counts }

// SetClock sets the clock of the store's rate limiters, on a database
// whose driver lets tests set it.
func (s *Store) SetClock(now func() time.Time) {
	s.inner().(interface{ setClock(func() time.Time) }).setClock(now)
}

// SetBenchSwitches makes the writers skip the history or the counters, to
// measure what they cost, on a database whose driver has the switches.
func (s *Store) SetBenchSwitches(noHistory, noCounts bool) {
	s.inner().(interface{ setBenchSwitches(bool, bool) }).setBenchSwitches(noHistory, noCounts)
}

// ListQuery returns the statement of ListNumbers for q (checked as the
// Store checks it: statuses valid, sorted, each once) and its arguments, on
// either database.
func (s *Store) ListQuery(q removal.NumberQuery) (string, []any) {
	return s.inner().(interface {
		listQuery(removal.NumberQuery) (string, []any)
	}).listQuery(q)
}

// inner is the store's driver behind its queue.
func (s *Store) inner() driver {
	if q, ok := s.drv.(*queued); ok {
		return q.d
	}
	return s.drv
}

// Queued is how many calls wait for a turn of the store's queue.
func (s *Store) Queued() int {
	if q, ok := s.drv.(*queued); ok {
		return int(q.waiting.Load())
	}
	return 0
}
