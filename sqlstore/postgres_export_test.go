package sqlstore

import (
	"context"
	"time"
)

// PostgreSQL counter modes, for SetCounterMode.
const (
	CountSlots   = pgCountSlots
	CountRows    = pgCountRows
	CountInserts = pgCountInserts
	CountOff     = pgCountOff
)

// FoldEvery is how many write transactions of a process start a fold.
const FoldEvery = foldEvery

// SetCounterMode switches how Apply keeps the counts on PostgreSQL (a
// benchmark switch: any mode but CountInserts is for measuring).
func (s *Store) SetCounterMode(mode int) { s.inner().(*pgDriver).counterMode = mode }

// Fold moves the PostgreSQL count deltas into the counts now, and waits
// for a background fold to end first.
func (s *Store) Fold(ctx context.Context) (int, error) {
	d := s.inner().(*pgDriver)
	d.foldWG.Wait()
	return d.fold(ctx)
}

// WaitFolds waits for the background folds started so far.
func (s *Store) WaitFolds() { s.inner().(*pgDriver).foldWG.Wait() }

// CountDeltasTable is the qualified name of the PostgreSQL count deltas.
func (s *Store) CountDeltasTable() string { return s.names.qual("counts_delta") }

// CountsTable is the qualified name of the counts.
func (s *Store) CountsTable() string { return s.names.counts }

// Allow is the driver's limiter.
func (s *Store) Allow(ctx context.Context, name string, limit int, window time.Duration) (bool, time.Duration, error) {
	return s.drv.allow(ctx, name, limit, window)
}

// SetAfterFirst installs a hook that a PostgreSQL batch calls once its
// pipeline has been answered.
func (s *Store) SetAfterFirst(f func()) { s.inner().(*pgDriver).afterFirst = f }

// ApplyQuery is the PostgreSQL batch statement.
func (s *Store) ApplyQuery() string {
	d := s.inner().(*pgDriver)
	return d.q.apply[d.counterMode][d.noHistory]
}

// SetHistory switches Apply's history on or off on PostgreSQL (a
// benchmark switch).
func (s *Store) SetHistory(on bool) {
	d := s.inner().(*pgDriver)
	d.noHistory = 0
	if !on {
		d.noHistory = 1
	}
}

// DeleteQuery is the PostgreSQL Delete statement.
func (s *Store) DeleteQuery() string { return s.inner().(*pgDriver).q.deleteAny }

// ImportQuery is the PostgreSQL import statement of one chunk.
func (s *Store) ImportQuery(replace bool) string {
	if replace {
		return s.inner().(*pgDriver).q.replace
	}
	return s.inner().(*pgDriver).q.merge
}

// PruneQuery is the PostgreSQL statement that prunes a range of pages.
func (s *Store) PruneQuery() string { return s.inner().(*pgDriver).q.prune }
