package memstore

// WithoutHistory makes a store that writes no history events, for the
// benchmarks that measure what history costs.
var WithoutHistory = withoutHistory

// SetHistory switches the writing of history events on or off, for the
// deliberately broken stores the model test must catch.
func SetHistory(s *Store, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noHistory = !on
}
