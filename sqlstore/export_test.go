package sqlstore

// SetBeforeCommit installs a hook that a PostgreSQL Apply calls after its
// statement and before its commit.
func (s *Store) SetBeforeCommit(f func()) { s.beforeCommit = f }

// SummaryQueries returns the global and per-tenant Summary statements.
func (s *Store) SummaryQueries() (global, tenant string) { return s.q.countIdx, s.q.countIdxT }

// KnownVersion is the newest schema version this package knows.
func KnownVersion(d string) int {
	if d == "pgx" {
		return knownVersion(postgres)
	}
	return knownVersion(sqlite)
}

// knownVersion is the newest schema version this package can run on.
func knownVersion(d dialect) int {
	ms, err := loadMigrations(d)
	if err != nil {
		panic(err) // embedded files: a broken build, caught by every test
	}
	return len(ms)
}

// LockKey is the advisory lock key of the table's writers.
func (s *Store) LockKey() int64 { return s.q.lockKey }
