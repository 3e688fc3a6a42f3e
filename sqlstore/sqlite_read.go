//go:build cgo

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// scanSQLiteNumber reads the columns sqliteCols.
func scanSQLiteNumber(r scanner) (store.Number, error) {
	var (
		tel, tnt string
		oc       bool
		st       int
		micros   int64
	)
	if err := r.Scan(&tel, &tnt, &oc, &st, &micros); err != nil {
		return store.Number{}, err
	}
	return store.Number{
		TelephoneNumber: e164.Number(tel),
		MSTenantID:      tnt,
		OperatorConnect: oc,
		Status:          removal.NumberStatus(st),
		StatusChangedAt: time.UnixMicro(micros).UTC(),
	}, nil
}

func (d *sqliteDriver) get(ctx context.Context, n e164.Number) (store.Number, bool, error) {
	got, err := scanSQLiteNumber(d.db.QueryRowxContext(ctx, d.q.get, string(n)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Number{}, false, nil
	}
	if err != nil {
		return store.Number{}, false, sqliteErr(err)
	}
	return got, true, nil
}

// getMany reads the numbers removal.MaxBatchSize at a time, with one IN
// list each.
func (d *sqliteDriver) getMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	var out []store.Number
	for chunk := range slices.Chunk(numbers, removal.MaxBatchSize) {
		args := make([]any, len(chunk))
		for i, n := range chunk {
			args[i] = string(n)
		}
		q := "SELECT " + sqliteCols + " FROM " + d.n.numbers + " WHERE telephone_number IN (?" + strings.Repeat(",?", len(chunk)-1) + ")"
		var err error
		if out, err = d.queryNumbers(ctx, out, q, args...); err != nil {
			return nil, err
		}
	}
	sortNumbers(out)
	return out, nil
}

func (d *sqliteDriver) queryNumbers(ctx context.Context, out []store.Number, q string, args ...any) ([]store.Number, error) {
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, sqliteErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		n, err := scanSQLiteNumber(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, sqliteErr(err)
	}
	return out, nil
}

// list is one SELECT in telephone_number order that an index delivers in
// that order, so that a page costs its offset and limit, never a sort:
// the primary key without filters (text compares with SQLite's default
// BINARY collation, byte by byte), the (tenant, number) index for a
// tenant, and for Operator Connect numbers in given statuses the partial
// (status, number) or (tenant, status, number) index, one ordered SELECT
// per status merged by UNION ALL. Statuses (0-3) and the limit are
// integers written in the text; the other values are bound.
func (d *sqliteDriver) list(ctx context.Context, q removal.NumberQuery) ([]store.Number, error) {
	query, args := d.listQuery(q)
	out, err := d.queryNumbers(ctx, make([]store.Number, 0, min(q.Limit, preallocRows)), query, args...)
	if len(out) == 0 {
		return nil, err
	}
	return out, err
}

func (d *sqliteDriver) listQuery(q removal.NumberQuery) (string, []any) {
	var where []string
	var args []any
	if !q.IncludeNotOperatorConnect {
		where = append(where, "operator_connect")
	}
	if q.MSTenantID != "" {
		where = append(where, "ms_tenant_id = ?")
		args = append(args, q.MSTenantID)
	}
	if !q.ChangedAtOrBefore.IsZero() {
		where = append(where, "status_changed_at <= ?")
		args = append(args, q.ChangedAtOrBefore.UnixMicro())
	}
	if q.After != "" {
		where = append(where, "telephone_number > ?")
		args = append(args, string(q.After))
	}
	selectFrom := func(index string, terms ...string) string {
		from := "SELECT " + sqliteCols + " FROM " + d.n.numbers
		if index != "" {
			from += " INDEXED BY " + d.n.index(index)
		}
		if terms = append(terms, where...); len(terms) > 0 {
			from += " WHERE " + strings.Join(terms, " AND ")
		}
		return from
	}
	var statuses []string
	if len(q.Statuses) < len(removal.Statuses()) { // every status: no filter
		for _, st := range q.Statuses {
			statuses = append(statuses, strconv.Itoa(int(st)))
		}
	}
	var query string
	var all []any
	switch {
	case len(statuses) == 0:
		query, all = selectFrom(""), args
	case q.IncludeNotOperatorConnect:
		// No index holds the numbers of a status whatever their flag.
		query, all = selectFrom("", "status IN ("+strings.Join(statuses, ", ")+")"), args
	default:
		index := "numbers_status_idx"
		if q.MSTenantID != "" {
			index = "numbers_tenant_st_idx"
		}
		arms := make([]string, len(statuses))
		for i, st := range statuses {
			arms[i] = selectFrom(index, "status = "+st)
			all = append(all, args...)
		}
		query = strings.Join(arms, " UNION ALL ")
	}
	// The limit is written in the text (a page size, from a few values),
	// and OFFSET only when there is one: bound, either costs a first page
	// about 8%.
	query += " ORDER BY telephone_number LIMIT " + strconv.Itoa(q.Limit)
	if q.Offset > 0 {
		query += " OFFSET ?"
		all = append(all, q.Offset)
	}
	return query, all
}

// count reads the counters of the statuses asked: one key lookup per
// status, for one tenant or for the totals (tenant "").
func (d *sqliteDriver) count(ctx context.Context, msTenantID string, statuses []removal.NumberStatus) ([4]int, error) {
	var byStatus [4]int
	query, args := d.countQuery(msTenantID, statuses)
	if query == "" {
		return byStatus, nil
	}
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return byStatus, sqliteErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st, n int
		if err := rows.Scan(&st, &n); err != nil {
			return byStatus, err
		}
		if st >= 0 && st < len(byStatus) {
			byStatus[st] = n
		}
	}
	return byStatus, sqliteErr(rows.Err())
}

// countQuery is the statement of count: the valid statuses asked, each
// once, in the text (they are integers 0-3), the tenant bound. It is ""
// when no valid status is asked.
func (d *sqliteDriver) countQuery(msTenantID string, statuses []removal.NumberStatus) (string, []any) {
	var asked [4]bool
	var in []string
	for _, st := range statuses {
		if st.Valid() && !asked[st] {
			asked[st] = true
		}
	}
	for st, ok := range asked {
		if ok {
			in = append(in, strconv.Itoa(st))
		}
	}
	if len(in) == 0 {
		return "", nil
	}
	return "SELECT status, n FROM " + d.n.counts + " WHERE status IN (" + strings.Join(in, ", ") + ") AND ms_tenant_id = ?", []any{msTenantID}
}

// history reads one page and the total in one statement, so both come
// from one snapshot: the page from the (number, at, id) index in its
// order, the total from a count of the number's entries in that index;
// only a page past the end needs a second statement for the total.
func (d *sqliteDriver) history(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	query, args := d.q.history+" LIMIT "+strconv.Itoa(limit), []any{string(n), string(n)}
	if offset > 0 {
		query += " OFFSET ?"
		args = append(args, offset)
	}
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, sqliteErr(err)
	}
	defer rows.Close()
	var (
		out                         []removal.Event
		statuses                    []removal.NumberStatus // FromStatus and ToStatus point into it
		total                       int
		tnt, action, trace, actor   sql.RawBytes
		from, to                    sql.NullInt64
		micros                      int64
		lastTnt, lastAct, lastTrace string
		lastActor                   string
	)
	for rows.Next() {
		if err := rows.Scan(&tnt, &action, &from, &to, &micros, &trace, &actor, &total); err != nil {
			return nil, 0, err
		}
		if out == nil { // total is known from the first row
			k := max(min(limit, total-offset), 1)
			out, statuses = make([]removal.Event, 0, k), make([]removal.NumberStatus, 0, 2*k)
		}
		// A number's events mostly repeat their tenant, action and audit:
		// one string each while they do.
		e := removal.Event{TelephoneNumber: n, MSTenantID: intern(&lastTnt, tnt), Action: removal.EventAction(intern(&lastAct, action)),
			At: time.UnixMicro(micros).UTC(), TraceID: intern(&lastTrace, trace), Actor: intern(&lastActor, actor)}
		if from.Valid {
			statuses = append(statuses, removal.NumberStatus(from.Int64))
			e.FromStatus = &statuses[len(statuses)-1]
		}
		if to.Valid {
			statuses = append(statuses, removal.NumberStatus(to.Int64))
			e.ToStatus = &statuses[len(statuses)-1]
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, sqliteErr(err)
	}
	if len(out) == 0 && offset > 0 {
		if err := d.db.GetContext(ctx, &total, d.q.historyN, string(n)); err != nil {
			return nil, 0, sqliteErr(err)
		}
	}
	return out, total, nil
}

// intern returns b as a string, *last itself when it holds the same
// bytes, and remembers it.
func intern(last *string, b sql.RawBytes) string {
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}
