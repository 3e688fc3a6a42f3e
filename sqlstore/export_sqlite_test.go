//go:build cgo

package sqlstore

import (
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
)

// summaryQueries are the statements of Summary's counts.
func (d *sqliteDriver) summaryQueries() (string, string) {
	ready := []removal.NumberStatus{removal.MarkedForRemoval, removal.ReadyForRemoval}
	global, _ := d.countQuery("", ready)
	tenant, _ := d.countQuery("t", ready)
	return global, tenant
}

func (d *sqliteDriver) setBenchSwitches(noHistory, noCounts bool) {
	d.noHistory, d.noCounts = noHistory, noCounts
}

// HistoryQuery returns the statement of History's first page of 200 and
// total, whose arguments are the number twice.
func (s *Store) HistoryQuery() string { return s.inner().(*sqliteDriver).q.history + " LIMIT 200" }

func (d *sqliteDriver) setClock(now func() time.Time) { d.now = now }
