//go:build cgo

package sqlstore

func (d *sqliteDriver) summaryQueries() (string, string) { return d.q.countIdx, d.q.countIdxT }
