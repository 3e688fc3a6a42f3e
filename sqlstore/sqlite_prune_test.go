//go:build cgo

package sqlstore_test

import (
	"context"
	"testing"
	"time"
)

// TestSQLitePruneWalk prunes a history of 35,000 events in which old and
// kept events alternate, kept ones come first and last, and old ones fill
// more than two chunks: PruneHistory walks the table in id order, a
// chunk at a time, and must delete every old event and none of the others,
// whatever the order of their times.
func TestSQLitePruneWalk(t *testing.T) {
	st, _ := MustOpenSQLite(t)
	cut := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old, kept := cut.Add(-time.Hour).UnixMicro(), cut.UnixMicro() // at == cut is kept
	// i < 1000 and i >= 34000: kept; between, every third kept.
	if _, err := st.DB().Exec(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 34999)
		INSERT INTO `+st.HistoryTableName()+` (telephone_number, ms_tenant_id, action, from_status, to_status, at)
		SELECT printf('+1425%07d', i % 500), '`+tenant+`', 'clearRemovalStatus', 2, 0,
			CASE WHEN i < 1000 OR i >= 34000 OR i % 3 = 0 THEN ? ELSE ? END FROM c`, kept, old); err != nil {
		t.Fatal(err)
	}
	var wantOld, wantKept int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FILTER (WHERE at < ?), COUNT(*) FILTER (WHERE at >= ?) FROM `+st.HistoryTableName(), cut.UnixMicro(), cut.UnixMicro()).Scan(&wantOld, &wantKept); err != nil {
		t.Fatal(err)
	}
	if wantOld <= 2*10_000 {
		t.Fatalf("only %d old events: the test needs more than two chunks", wantOld)
	}
	n, err := st.PruneHistory(context.Background(), cut)
	if err != nil || n != wantOld {
		t.Fatalf("PruneHistory = %d, %v; want %d", n, err, wantOld)
	}
	var gotOld, gotKept int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FILTER (WHERE at < ?), COUNT(*) FILTER (WHERE at >= ?) FROM `+st.HistoryTableName(), cut.UnixMicro(), cut.UnixMicro()).Scan(&gotOld, &gotKept); err != nil {
		t.Fatal(err)
	}
	if gotOld != 0 || gotKept != wantKept {
		t.Errorf("after the prune: %d old events, %d kept; want 0 and %d", gotOld, gotKept, wantKept)
	}
	if n, err := st.PruneHistory(context.Background(), cut); err != nil || n != 0 {
		t.Errorf("a second PruneHistory = %d, %v; want 0", n, err)
	}
}
