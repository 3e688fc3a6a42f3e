//go:build cgo

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// sqliteQueries holds the fixed statements of one store, built once from
// validated identifiers. No statement text ever contains an input value.
type sqliteQueries struct {
	get         string
	setStatus   string // conditional single-row update
	deleteReady string // conditional delete of ReadyForRemoval rows of an IN list (to add)
	readRows    string // the rows of an IN list (to add) for their counters
	history     string // a number's events, and their total (LIMIT and OFFSET to add)
	historyN    string // the number of a number's events
	pruneEnd    string // the last id of the next chunk of old events
	prune       string // one chunk of old events, by its ids
	rateLast    string // a limiter's last admission: seq and at
	rateAt      string // the time of one admission of a limiter
	rateAdd     string // records one admission
	rateTrim    string // deletes the admissions of a limiter up to a seq
}

const sqliteCols = "telephone_number, ms_tenant_id, operator_connect, status, status_changed_at"

const sqliteEventCols = "telephone_number, ms_tenant_id, action, from_status, to_status, at, trace_id, actor"

func buildSQLiteQueries(n names) sqliteQueries {
	t, h := n.numbers, n.history
	return sqliteQueries{
		get:         "SELECT " + sqliteCols + " FROM " + t + " WHERE telephone_number = ?",
		setStatus:   "UPDATE " + t + " SET status = ?, status_changed_at = ? WHERE telephone_number = ? AND status = ? AND operator_connect",
		deleteReady: "DELETE FROM " + t + " WHERE status = 3 AND telephone_number IN ",
		readRows:    "SELECT telephone_number, ms_tenant_id, operator_connect, status FROM " + t + " WHERE telephone_number IN ",
		history: "SELECT ms_tenant_id, action, from_status, to_status, at, trace_id, actor, (SELECT COUNT(*) FROM " + h + " WHERE telephone_number = ?) FROM " + h +
			" WHERE telephone_number = ? ORDER BY at DESC, id DESC",
		historyN: "SELECT COUNT(*) FROM " + h + " WHERE telephone_number = ?",
		pruneEnd: "SELECT MAX(id) FROM (SELECT id FROM " + h + " WHERE id > ? AND at < ? ORDER BY id LIMIT ?)",
		prune:    "DELETE FROM " + h + " WHERE id > ? AND id <= ? AND at < ?",
		rateLast: "SELECT seq, at FROM " + n.rateLimit + " WHERE name = ? ORDER BY seq DESC LIMIT 1",
		rateAt:   "SELECT at FROM " + n.rateLimit + " WHERE name = ? AND seq = ?",
		rateAdd:  "INSERT INTO " + n.rateLimit + " (name, seq, at) VALUES (?, ?, ?)",
		rateTrim: "DELETE FROM " + n.rateLimit + " WHERE name = ? AND seq <= ?",
	}
}

// sqliteRows is how many rows one SQLite insert statement writes (at most
// 8 bind variables each; SQLite allows 32766).
const sqliteRows = 100

// values returns rows groups of cols bind variables: (?,?),(?,?).
func values(rows, cols int) string {
	one := "(?" + strings.Repeat(",?", cols-1) + ")"
	return one + strings.Repeat(","+one, rows-1)
}

// apply runs the batch in one immediate transaction (one commit), chunk by
// chunk of removal.ChunkSize numbers, checking ctx between chunks; when
// ctx is done, the chunks already applied are committed and returned with
// ctx.Err(). Any storage failure rolls the transaction back: the result is
// then empty, which is exactly what was durably applied.
func (d *sqliteDriver) apply(ctx context.Context, numbers []e164.Number, c removal.Change, a removal.Audit) ([]removal.Outcome, error) {
	out := make([]removal.Outcome, 0, len(numbers))
	var stopped error
	err := d.writeTx(ctx, func(wctx context.Context, conn *sqlx.Conn) error {
		sc := newStmtCache(wctx, conn)
		defer sc.close()
		deltas := countDeltas{}
		rowsOf := make(map[e164.Number]storedRow, removal.ChunkSize)
		for start := 0; start < len(numbers); start += removal.ChunkSize {
			if start > 0 {
				if err := ctx.Err(); err != nil {
					stopped = err
					break // commit the chunks done
				}
			}
			o, events, err := d.applyChunk(wctx, sc, numbers[start:min(start+removal.ChunkSize, len(numbers))], c, rowsOf)
			if err != nil {
				return err
			}
			if err := d.writeEvents(sc, events, c.Event, c.At, a); err != nil {
				return err
			}
			for _, e := range events {
				deltas.add(e.tenant, *e.from, -1)
				deltas.add(e.tenant, *e.to, 1)
			}
			out = append(out, o...)
		}
		return d.writeCounts(sc, deltas)
	})
	if err != nil {
		return nil, err
	}
	return out, stopped
}

// applyChunk moves one chunk inside the immediate transaction, which holds
// the database's write lock: no other writer can change a row between the
// read that classifies it and the update that moves it. One SELECT reads
// the chunk's rows (their status, flag and tenant, which the events and
// counters need), then a prepared single-row compare-and-set UPDATE moves
// each number to move: SQLite runs in-process, so single-row statements
// cost no round trip. (UPDATE … RETURNING, which would bring the tenant
// back instead, costs a single-row UPDATE about 2.5x; see the README.)
func (d *sqliteDriver) applyChunk(ctx context.Context, sc *stmtCache, chunk []e164.Number, c removal.Change, rowsOf map[e164.Number]storedRow) ([]removal.Outcome, []event, error) {
	set, err := sc.get(d.q.setStatus)
	if err != nil {
		return nil, nil, err
	}
	read, err := sc.get(d.q.readRows + inList(len(chunk)))
	if err != nil {
		return nil, nil, err
	}
	args := make([]any, len(chunk))
	for i, n := range chunk {
		args[i] = string(n)
	}
	clear(rowsOf)
	if err := readRows(ctx, read, args, rowsOf); err != nil {
		return nil, nil, err
	}
	out := make([]removal.Outcome, len(chunk))
	var events []event
	at := c.At.UnixMicro()
	to := int(c.To)
	for i, n := range chunk {
		r, found := rowsOf[n]
		if !found {
			continue // Outcome{}: not found
		}
		out[i] = removal.Outcome{Found: true, OperatorConnect: r.oc, Status: r.status}
		if !r.oc || !c.Allows(r.status) {
			continue
		}
		res, err := set.ExecContext(ctx, to, at, string(n), int(r.status))
		if err != nil {
			return nil, nil, err
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return nil, nil, fmt.Errorf("%s changed under the write lock (%d rows, %v)", n, k, err)
		}
		out[i].Changed = true
		events = append(events, event{number: n, tenant: r.tenant, from: statusPtr(r.status), to: statusPtr(c.To)})
	}
	return out, events, nil
}

// inList is "(?,?,…)" for k values.
func inList(k int) string { return "(?" + strings.Repeat(",?", k-1) + ")" }

// delete deletes the ReadyForRemoval numbers as apply moves numbers: one
// immediate transaction, chunks of removal.ChunkSize numbers, ctx checked
// between chunks, the chunks done committed when it is done. One SELECT
// reads a chunk's rows (the events and counters need their tenants), then
// one DELETE … IN the chunk's ReadyForRemoval numbers removes them all:
// under the write lock they are still in that status, which the count of
// deleted rows confirms. (A DELETE per number was slower: see the README.)
func (d *sqliteDriver) delete(ctx context.Context, numbers []e164.Number, at time.Time, a removal.Audit) ([]removal.Outcome, error) {
	out := make([]removal.Outcome, 0, len(numbers))
	var stopped error
	err := d.writeTx(ctx, func(wctx context.Context, conn *sqlx.Conn) error {
		sc := newStmtCache(wctx, conn)
		defer sc.close()
		deltas := countDeltas{}
		ready := make([]any, 0, removal.ChunkSize)
		rowsOf := make(map[e164.Number]storedRow, removal.ChunkSize)
		args := make([]any, 0, removal.ChunkSize)
		for chunk := range slices.Chunk(numbers, removal.ChunkSize) {
			if len(out) > 0 {
				if err := ctx.Err(); err != nil {
					stopped = err
					break // commit the chunks done
				}
			}
			args = args[:0]
			for _, n := range chunk {
				args = append(args, string(n))
			}
			read, err := sc.get(d.q.readRows + inList(len(chunk)))
			if err != nil {
				return err
			}
			clear(rowsOf)
			if err := readRows(wctx, read, args, rowsOf); err != nil {
				return err
			}
			o := make([]removal.Outcome, len(chunk))
			var events []event
			ready = ready[:0]
			for i, n := range chunk {
				r, found := rowsOf[n]
				if !found {
					continue // Outcome{}: not found
				}
				o[i] = removal.Outcome{Found: true, OperatorConnect: r.oc, Status: r.status}
				if r.status != removal.ReadyForRemoval {
					continue
				}
				ready = append(ready, string(n))
				o[i].Changed = true
				events = append(events, event{number: n, tenant: r.tenant, from: statusPtr(removal.ReadyForRemoval)})
				if r.oc {
					deltas.add(r.tenant, removal.ReadyForRemoval, -1)
				}
			}
			if len(ready) > 0 {
				del, err := sc.get(d.q.deleteReady + inList(len(ready)))
				if err != nil {
					return err
				}
				res, err := del.ExecContext(wctx, ready...)
				if err != nil {
					return err
				}
				if k, err := res.RowsAffected(); err != nil || k != int64(len(ready)) {
					return fmt.Errorf("%d of %d ReadyForRemoval numbers deleted under the write lock (%v)", k, len(ready), err)
				}
			}
			if err := d.writeEvents(sc, events, removal.EventPurge, at, a); err != nil {
				return err
			}
			out = append(out, o...)
		}
		return d.writeCounts(sc, deltas)
	})
	if err != nil {
		return nil, err
	}
	return out, stopped
}

// importNumbers writes every record in one immediate transaction, a chunk
// of sqliteRows records at a time: one statement reads the stored
// statuses of the chunk, one multi-row upsert writes it, one multi-row
// insert writes its events. ctx is checked between chunks; a cancelled
// Import rolls back.
func (d *sqliteDriver) importNumbers(ctx context.Context, numbers []store.Number, mode store.ImportMode, at time.Time, a removal.Audit) (store.ImportResult, error) {
	var res store.ImportResult
	tail := " ON CONFLICT (telephone_number) DO UPDATE SET ms_tenant_id = excluded.ms_tenant_id, operator_connect = excluded.operator_connect"
	if mode == store.Replace {
		tail += ", status = excluded.status, status_changed_at = excluded.status_changed_at"
	}
	err := d.writeTx(ctx, func(wctx context.Context, conn *sqlx.Conn) error {
		res = store.ImportResult{}
		sc := newStmtCache(wctx, conn)
		defer sc.close()
		args := make([]any, 0, 5*sqliteRows)
		old := make(map[e164.Number]storedRow, sqliteRows)
		deltas := countDeltas{}
		for chunk := range slices.Chunk(numbers, sqliteRows) {
			if err := ctx.Err(); err != nil {
				return err
			}
			// The stored statuses, before the upsert.
			args = args[:0]
			for _, n := range chunk {
				args = append(args, string(n.TelephoneNumber))
			}
			read, err := sc.get(d.q.readRows + inList(len(chunk)))
			if err != nil {
				return err
			}
			clear(old)
			if err := readRows(wctx, read, args, old); err != nil {
				return err
			}

			args = args[:0]
			for _, n := range chunk {
				args = append(args, string(n.TelephoneNumber), n.MSTenantID, n.OperatorConnect, int(n.Status), n.StatusChangedAt.UnixMicro())
			}
			up, err := sc.get("INSERT INTO " + d.n.numbers + " (" + sqliteCols + ") VALUES " + values(len(chunk), 5) + tail)
			if err != nil {
				return err
			}
			if _, err := up.ExecContext(wctx, args...); err != nil {
				return err
			}

			var events []event
			for _, n := range chunk {
				prev, stored := old[n.TelephoneNumber]
				status := n.Status
				switch {
				case !stored:
					res.Inserted++
					events = append(events, event{number: n.TelephoneNumber, tenant: n.MSTenantID, to: statusPtr(n.Status)})
				case mode == store.Merge:
					res.Updated++
					status = prev.status
					if prev.status != n.Status {
						res.StatusKept++
					}
				default:
					res.Updated++
					if prev.status != n.Status {
						events = append(events, event{number: n.TelephoneNumber, tenant: n.MSTenantID, from: statusPtr(prev.status), to: statusPtr(n.Status)})
					}
				}
				if stored && prev.oc {
					deltas.add(prev.tenant, prev.status, -1)
				}
				if n.OperatorConnect {
					deltas.add(n.MSTenantID, status, 1)
				}
			}
			if err := d.writeEvents(sc, events, removal.EventImport, at, a); err != nil {
				return err
			}
		}
		return d.writeCounts(sc, deltas)
	})
	if err != nil {
		return store.ImportResult{}, err
	}
	return res, nil
}

// storedRow is what Import and Delete need of a stored number: its
// counter and status.
type storedRow struct {
	tenant string
	oc     bool
	status removal.NumberStatus
}

func readRows(ctx context.Context, read *sqlx.Stmt, args []any, into map[e164.Number]storedRow) error {
	rows, err := read.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var r storedRow
		var st int
		if err := rows.Scan(&n, &r.tenant, &r.oc, &st); err != nil {
			return err
		}
		r.status = removal.NumberStatus(st)
		into[e164.Number(n)] = r
	}
	return rows.Err()
}

// writeEvents writes events with multi-row inserts of up to sqliteRows
// rows: one statement for a chunk of a batch.
func (d *sqliteDriver) writeEvents(sc *stmtCache, events []event, action removal.EventAction, at time.Time, a removal.Audit) error {
	if d.noHistory {
		return nil
	}
	micros := at.UnixMicro()
	trace, actor := nullString(a.TraceID), nullString(a.Actor)
	args := make([]any, 0, 8*min(len(events), sqliteRows))
	for part := range slices.Chunk(events, sqliteRows) {
		args = args[:0]
		for _, e := range part {
			args = append(args, string(e.number), e.tenant, string(action), nullStatus(e.from), nullStatus(e.to), micros, trace, actor)
		}
		ins, err := sc.get("INSERT INTO " + d.n.history + " (" + sqliteEventCols + ") VALUES " + values(len(part), 8))
		if err != nil {
			return err
		}
		if _, err := ins.ExecContext(sc.ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// countKey is one counter: a tenant's Operator Connect numbers in one
// status.
type countKey struct {
	status removal.NumberStatus
	tenant string
}

// countDeltas are the changes one transaction makes to the counters.
type countDeltas map[countKey]int

// add counts k numbers of tenant in status st, in the tenant's counter
// and in the total of every tenant (tenant "").
func (c countDeltas) add(tenant string, st removal.NumberStatus, k int) {
	c[countKey{st, tenant}] += k
	c[countKey{st, ""}] += k
}

// writeCounts adds the deltas to the counters, in key order, with
// multi-row upserts of up to sqliteRows counters.
func (d *sqliteDriver) writeCounts(sc *stmtCache, deltas countDeltas) error {
	if d.noCounts {
		return nil
	}
	keys := make([]countKey, 0, len(deltas))
	for k, n := range deltas {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b countKey) int {
		if a.status != b.status {
			return int(a.status) - int(b.status)
		}
		return strings.Compare(a.tenant, b.tenant)
	})
	args := make([]any, 0, 3*min(len(keys), sqliteRows))
	for part := range slices.Chunk(keys, sqliteRows) {
		args = args[:0]
		for _, k := range part {
			args = append(args, int(k.status), k.tenant, deltas[k])
		}
		up, err := sc.get("INSERT INTO " + d.n.counts + " (status, ms_tenant_id, n) VALUES " + values(len(part), 3) +
			" ON CONFLICT (status, ms_tenant_id) DO UPDATE SET n = n + excluded.n")
		if err != nil {
			return err
		}
		if _, err := up.ExecContext(sc.ctx, args...); err != nil {
			return fmt.Errorf("counters: %w", err)
		}
	}
	return nil
}

// nullStatus is the status's value, or nil (SQL NULL).
func nullStatus(s *removal.NumberStatus) any {
	if s == nil {
		return nil
	}
	return int(*s)
}

// pruneChunk is how many events one transaction of PruneHistory deletes.
const pruneChunk = 10_000

// prune deletes the events older than before, pruneChunk at a time, each
// chunk in a write transaction of its own; ctx is checked between chunks.
// It walks the history once in write order (id, the rowid), each chunk
// resuming after the last event the one before deleted: the table has no
// index on at, and a walk from the start would read the kept events again
// for every chunk. Events written while it runs, after its position, are
// left for the next call.
func (d *sqliteDriver) prune(ctx context.Context, before time.Time) (int, error) {
	total := 0
	var after int64
	for {
		if total > 0 {
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
		var k, next int64
		err := d.writeTx(ctx, func(ctx context.Context, conn *sqlx.Conn) error {
			k, next = 0, after // a transaction run again starts over
			var end sql.NullInt64
			if err := conn.QueryRowContext(ctx, d.q.pruneEnd, after, before.UnixMicro(), pruneChunk).Scan(&end); err != nil || !end.Valid {
				return err
			}
			res, err := conn.ExecContext(ctx, d.q.prune, after, end.Int64, before.UnixMicro())
			if err != nil {
				return err
			}
			next = end.Int64
			k, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total, after = total+int(k), next
		if k < pruneChunk {
			return total, nil
		}
	}
}
