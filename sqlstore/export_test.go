package sqlstore

// SetBetweenChunks installs a hook that Apply calls before its context
// check between chunks, with the offset of the next chunk.
func (s *Store) SetBetweenChunks(f func(start int)) { s.betweenChunks = f }

// SummaryQueries returns the global and per-tenant Summary statements.
func (s *Store) SummaryQueries() (global, tenant string) { return s.q.countIdx, s.q.countIdxT }

// KnownVersion is the newest schema version this package knows.
func KnownVersion(d string) int {
	if d == "pgx" {
		return knownVersion(postgres)
	}
	return knownVersion(sqlite)
}
