package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// query runs a read. A read is idempotent: when the connection it got
// turns out dead (a server restart, a failover, an idle backend
// terminated), it runs again on another, up to maxDeadConns times.
func (d *pgDriver) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	for i := 0; ; i++ {
		rows, err := d.db.QueryContext(ctx, q, args...)
		if err == nil || i == maxDeadConns-1 || ctx.Err() != nil || !pgDeadConn(err) {
			return rows, err
		}
	}
}

// queryInt runs a read that returns one integer (0 when it returns no
// row), through query.
func (d *pgDriver) queryInt(ctx context.Context, q string, args ...any) (int64, error) {
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return 0, pgErr(err)
	}
	defer rows.Close()
	var v int64
	if rows.Next() {
		err = rows.Scan(&v)
	}
	if err = cmp.Or(err, rows.Err()); err != nil {
		return 0, pgErr(err)
	}
	return v, nil
}

// readPgx runs the read q through pgx itself, which scans rows into typed
// values without database/sql's conversions (a third of a list page's
// cost), and hands its rows to scan, which must read or close them. Like
// query, it runs again on a connection found dead, after reset has
// dropped what scan kept of the failed run.
func (d *pgDriver) readPgx(ctx context.Context, reset func(), scan func(pgx.Rows) error, q string, args ...any) error {
	for i := 0; ; i++ {
		err := d.withPgx(ctx, func(conn *pgx.Conn) (bool, error) {
			rows, err := conn.Query(ctx, q, args...)
			if err != nil {
				return false, err
			}
			return false, scan(rows)
		})
		if err == nil {
			return nil
		}
		if i == maxDeadConns-1 || ctx.Err() != nil || !pgDeadConn(err) {
			return pgErr(err)
		}
		reset()
	}
}

// pgDeadConn tells whether err says that the connection was dead before
// the server ran the statement: nothing was sent, or the server had ended
// the session (admin_shutdown, crash_shutdown, cannot_connect_now, a
// connection exception).
func pgDeadConn(err error) bool {
	if errors.Is(err, sqldriver.ErrBadConn) || pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || strings.HasPrefix(pe.Code, "08"))
}

func (d *pgDriver) get(ctx context.Context, n e164.Number) (store.Number, bool, error) {
	out, err := d.queryNumbers(ctx, nil, d.q.get, string(n))
	if err != nil || len(out) == 0 {
		return store.Number{}, false, err
	}
	return out[0], true, nil
}

// getMany reads the numbers pgChunk at a time, with one array each.
func (d *pgDriver) getMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	var out []store.Number
	for chunk := range slices.Chunk(numbers, pgChunk) {
		var err error
		if out, err = d.queryNumbers(ctx, out, d.q.getMany, e164Strings(chunk)); err != nil {
			return nil, err
		}
	}
	if len(numbers) > pgChunk {
		sortNumbers(out)
	}
	return out, nil
}

// queryNumbers appends the rows of pgCols that q returns to out, through
// readPgx.
func (d *pgDriver) queryNumbers(ctx context.Context, out []store.Number, q string, args ...any) ([]store.Number, error) {
	n := len(out)
	err := d.readPgx(ctx, func() { out = out[:n] }, func(rows pgx.Rows) error {
		var (
			tel, tnt pgtype.DriverBytes // valid until the next row
			tenant   string
			oc       bool
			st       int16
			at       time.Time
		)
		_, err := pgx.ForEachRow(rows, []any{&tel, &tnt, &oc, &st, &at}, func() error {
			if string(tnt) != tenant {
				tenant = string(tnt) // rows of one tenant share its string
			}
			out = append(out, store.Number{TelephoneNumber: e164.Number(tel), MSTenantID: tenant, OperatorConnect: oc,
				Status: removal.NumberStatus(st), StatusChangedAt: at.UTC()})
			return nil
		})
		return err
	}, q, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// list is one SELECT in telephone_number order: the column is COLLATE
// "C", so the order is byte order. Several statuses of Operator Connect
// numbers are one ordered, limited subquery per status, each on the
// status's entries of an index in number order, merged (Merge Append)
// rather than sorted.
func (d *pgDriver) list(ctx context.Context, q removal.NumberQuery) ([]store.Number, error) {
	query, args := d.listQuery(q)
	return d.queryNumbers(ctx, make([]store.Number, 0, min(q.Limit, preallocRows)), query, args...)
}

// listSQL returns the statement of list and its arguments.
func (d *pgDriver) listQuery(q removal.NumberQuery) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !q.IncludeNotOperatorConnect {
		where = append(where, "operator_connect")
	}
	if q.MSTenantID != "" {
		where = append(where, "ms_tenant_id = "+arg(q.MSTenantID))
	}
	if !q.ChangedAtOrBefore.IsZero() {
		where = append(where, "status_changed_at <= "+arg(q.ChangedAtOrBefore))
	}
	if q.After != "" {
		where = append(where, "telephone_number > "+arg(string(q.After)))
	}
	from := d.n.numbers
	switch {
	case len(q.Statuses) == 1:
		where = append(where, "status = "+arg(int16(q.Statuses[0])))
	case len(q.Statuses) > 1 && q.IncludeNotOperatorConnect:
		sts := make([]int16, len(q.Statuses))
		for i, st := range q.Statuses {
			sts[i] = int16(st)
		}
		where = append(where, "status = ANY(CAST("+arg(sts)+" AS smallint[]))")
	case len(q.Statuses) > 1:
		common := strings.Join(where, " AND ")
		inner := arg(q.Limit + q.Offset)
		parts := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			parts[i] = "(SELECT " + pgCols + " FROM " + d.n.numbers + " WHERE " + common + " AND status = " + arg(int16(st)) +
				" ORDER BY telephone_number LIMIT " + inner + ")"
		}
		from = "(" + strings.Join(parts, " UNION ALL ") + ") AS u"
		where = nil
	}
	query := "SELECT " + pgCols + " FROM " + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// The page size is an integer literal (page sizes are few): a plan
	// cached for LIMIT $n assumes a tenth of the match and may sort it
	// all rather than read the first rows of an index in number order.
	query += " ORDER BY telephone_number LIMIT " + strconv.Itoa(q.Limit)
	if q.Offset > 0 {
		// Only here: a cached plan for OFFSET $n assumes a tenth of the
		// match is skipped.
		query += " OFFSET " + arg(q.Offset)
	}
	return query, args
}

// count reads the counters: the counts rows of the tenant (or of all,
// kept under the tenant "") plus their deltas not yet folded: O(1) rows,
// whatever the number of tenants. Reading more than foldAbove deltas
// starts a fold in the background.
func (d *pgDriver) count(ctx context.Context, msTenantID string, _ []removal.NumberStatus) ([4]int, error) {
	var byStatus [4]int
	rows, err := d.query(ctx, d.q.count, msTenantID)
	if err != nil {
		return byStatus, pgErr(err)
	}
	defer rows.Close()
	deltas := 0
	for rows.Next() {
		var st, n, k int
		if err := rows.Scan(&st, &n, &k); err != nil {
			return byStatus, err
		}
		if st >= 0 && st < len(byStatus) {
			byStatus[st] = n
		}
		deltas += k
	}
	if err := rows.Err(); err != nil {
		return byStatus, pgErr(err)
	}
	if deltas > foldAbove {
		d.startFold()
	}
	return byStatus, nil
}

// history reads one page, newest first on the (number, at, id) index, and
// the total (an index-only count of the number's entries) in one
// statement, so both come from one snapshot; only a page past the end
// needs a second statement for the total.
func (d *pgDriver) history(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	var out []removal.Event
	total := 0
	err := d.readPgx(ctx, func() { out, total = out[:0], 0 }, func(rows pgx.Rows) error {
		var (
			tel, tnt, action pgtype.DriverBytes // valid until the next row
			from, to         pgtype.Int2
			at               time.Time
			trace, actor     pgtype.Text
			k                int64
			tenant           string
		)
		_, err := pgx.ForEachRow(rows, []any{&tel, &tnt, &action, &from, &to, &at, &trace, &actor, &k}, func() error {
			if string(tnt) != tenant {
				tenant = string(tnt)
			}
			e := removal.Event{TelephoneNumber: e164.Number(tel), MSTenantID: tenant, Action: removal.EventAction(action),
				At: at.UTC(), TraceID: trace.String, Actor: actor.String}
			if from.Valid {
				e.FromStatus = statusPtr(removal.NumberStatus(from.Int16))
			}
			if to.Valid {
				e.ToStatus = statusPtr(removal.NumberStatus(to.Int16))
			}
			out = append(out, e)
			total = int(k)
			return nil
		})
		return err
	}, d.q.history, string(n), limit, offset)
	if err != nil {
		return nil, 0, err
	}
	if len(out) == 0 && offset > 0 {
		k, err := d.queryInt(ctx, d.q.historyN, string(n))
		if err != nil {
			return nil, 0, err
		}
		total = int(k)
	}
	return out, total, nil
}
