package sqlstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestPostgresPruneWalk prunes a history of 35,000 events in which old and
// kept events alternate, kept ones come first and last, spread over more
// than two ranges of pages: PruneHistory walks the table in its physical
// order, a range at a time, and must delete every old event and none of
// the others. Each range is read by a TID range scan, with the generic plan
// and a custom one: never a scan of the whole table per range.
func TestPostgresPruneWalk(t *testing.T) {
	st, _ := MustOpenPostgres(t)
	h := st.HistoryTableName()
	cut := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := st.DB().Exec(`INSERT INTO `+h+` (telephone_number, ms_tenant_id, action, from_status, to_status, at)
		SELECT '+1425' || lpad((i % 500)::text, 7, '0'), '`+tenant+`', 'clearRemovalStatus', 2, 0,
			CASE WHEN i < 1000 OR i >= 34000 OR i % 3 = 0 THEN CAST($1 AS timestamptz) ELSE CAST($2 AS timestamptz) END
		FROM generate_series(0, 34999) AS i`, cut, cut.Add(-time.Hour)); err != nil { // at == cut is kept
		t.Fatal(err)
	}
	counts := func() (old, kept, pages int) {
		t.Helper()
		if err := st.DB().QueryRow(`SELECT COUNT(*) FILTER (WHERE at < $1), COUNT(*) FILTER (WHERE at >= $1),
			pg_relation_size(CAST($2 AS regclass)) / 8192 FROM `+h, cut, h).Scan(&old, &kept, &pages); err != nil {
			t.Fatal(err)
		}
		return old, kept, pages
	}
	wantOld, wantKept, pages := counts()
	if pages <= 2*128 {
		t.Fatalf("the history takes only %d pages: the test needs more than two ranges", pages)
	}
	n, err := st.PruneHistory(context.Background(), cut)
	if err != nil || n != wantOld {
		t.Fatalf("PruneHistory = %d, %v; want %d", n, err, wantOld)
	}
	if gotOld, gotKept, _ := counts(); gotOld != 0 || gotKept != wantKept {
		t.Errorf("after the prune: %d old events, %d kept; want 0 and %d", gotOld, gotKept, wantKept)
	}
	if n, err := st.PruneHistory(context.Background(), cut); err != nil || n != 0 {
		t.Errorf("a second PruneHistory = %d, %v; want 0", n, err)
	}

	for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
		tx, err := st.DB().Beginx()
		if err != nil {
			t.Fatal(err)
		}
		var out string
		_, err = tx.Exec("SET LOCAL plan_cache_mode = " + mode)
		if err == nil {
			_, err = tx.Exec("PREPARE " + mode + "(timestamptz, text, text) AS " + st.PruneQuery())
		}
		if err == nil {
			err = tx.QueryRow("EXPLAIN (FORMAT JSON) EXECUTE " + mode + "('2026-01-01', '(128,0)', '(256,0)')").Scan(&out)
		}
		tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("EXPLAIN output: %v\n%s", err, out)
		}
		tidRange := false
		plans[0].Plan.walk(func(p *planNode) {
			tidRange = tidRange || p.Type == "Tid Range Scan"
			if p.Type == "Seq Scan" {
				t.Errorf("%s: the prune statement scans the whole table:\n%s", mode, out)
			}
		})
		if !tidRange {
			t.Errorf("%s: no TID range scan in the prune statement's plan:\n%s", mode, out)
		}
	}
}
