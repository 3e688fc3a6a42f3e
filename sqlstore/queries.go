package sqlstore

import (
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

// queries holds every statement, built once from validated identifiers and
// rebound to the dialect's bind variables. No statement text ever contains
// an input value.
type queries struct {
	table      string // quoted, qualified numbers table
	tableIdent pgx.Identifier
	migrations string // quoted, qualified schema_migrations table
	index      string // quoted index name (unqualified, as CREATE INDEX wants)
	schema     string // quoted schema, or ""
	lockKey    int64  // PostgreSQL advisory lock key of the table's writers

	get         string
	countIdx    string // global count on the partial index
	countIdxT   string // per-tenant count on the partial index
	countAll    string // global count of any statuses
	countAllT   string // per-tenant count of any statuses
	setStatus   string // SQLite: conditional single-row update
	status1     string // SQLite: one row's operator_connect and status
	deleteOne   string // SQLite
	applyOne    string // PostgreSQL: move and classify a batch, one From status
	applyMany   string // PostgreSQL: the same, several From statuses
	deleteAny   string // PostgreSQL
	upsertArray string // PostgreSQL: insert-or-replace from arrays
	upsertRows  string // SQLite: insert-or-replace of sqliteRows rows
}

const cols = "telephone_number, ms_tenant_id, operator_connect, status, status_changed_at"

const upsertTail = ` ON CONFLICT (telephone_number) DO UPDATE SET
 ms_tenant_id = excluded.ms_tenant_id, operator_connect = excluded.operator_connect,
 status = excluded.status, status_changed_at = excluded.status_changed_at`

// The Summary filter: term for term the partial index's WHERE clause, so
// that both planners prove the index applies.
const removalFilter = "status IN (2, 3) AND operator_connect"

func buildQueries(d dialect, c config) queries {
	qual := func(name string) string {
		if c.schema != "" {
			return quote(c.schema) + "." + quote(name)
		}
		return quote(name)
	}
	q := queries{
		table:      qual(c.prefix + "numbers"),
		migrations: qual(c.prefix + "schema_migrations"),
		index:      quote(c.prefix + "numbers_removal_idx"),
	}
	q.tableIdent = pgx.Identifier{c.prefix + "numbers"}
	if c.schema != "" {
		q.schema = quote(c.schema)
		q.tableIdent = pgx.Identifier{c.schema, c.prefix + "numbers"}
	}
	q.lockKey = lockKey(c.schema + "." + c.prefix + "numbers")
	t := q.table
	bind := sqlx.QUESTION
	if d == postgres {
		bind = sqlx.DOLLAR
	}
	r := func(s string) string { return sqlx.Rebind(bind, s) }

	q.get = r("SELECT " + cols + " FROM " + t + " WHERE telephone_number = ?")
	q.countIdx = "SELECT status, COUNT(*) FROM " + t + " WHERE " + removalFilter + " GROUP BY status"
	q.countIdxT = r("SELECT status, COUNT(*) FROM " + t + " WHERE ms_tenant_id = ? AND " + removalFilter + " GROUP BY status")
	q.countAll = "SELECT status, COUNT(*) FROM " + t + " WHERE operator_connect GROUP BY status"
	q.countAllT = r("SELECT status, COUNT(*) FROM " + t + " WHERE ms_tenant_id = ? AND operator_connect GROUP BY status")

	q.setStatus = r("UPDATE " + t + " SET status = ?, status_changed_at = ? WHERE telephone_number = ? AND status = ? AND operator_connect")
	q.status1 = r("SELECT operator_connect, status FROM " + t + " WHERE telephone_number = ?")
	q.deleteOne = r("DELETE FROM " + t + " WHERE telephone_number = ?")

	// One statement per batch (see applyPostgres): move the eligible rows
	// with a compare-and-set, then read the rows it did not move from the
	// statement's snapshot, to classify them. applyOne is for a change with
	// one From status, which then is each moved row's old status; applyMany
	// reads the old status from a self-join, and requires it to equal the
	// status the compare-and-set saw, so that a row changed by a writer
	// outside the store is reported as a miss in a From status, which
	// applyPostgres detects, rather than with a wrong old status.
	q.applyOne = applySQL(t, "", "($4::smallint[])[1]")
	q.applyMany = applySQL(t, " FROM "+t+" AS o WHERE o.telephone_number = t.telephone_number AND o.status = t.status AND", "o.status")
	q.deleteAny = r("DELETE FROM " + t + " WHERE telephone_number = ANY(?)")
	q.upsertRows = sqliteUpsert(t, sqliteRows)
	q.upsertArray = r("INSERT INTO " + t + " (" + cols + ") SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS boolean[]), CAST(? AS smallint[]), CAST(? AS timestamptz[]))" + upsertTail)
	return q
}

// applySQL returns the PostgreSQL batch statement (PostgreSQL only, so
// written with its bind variables). Its arguments: $1 the new status, $2
// the change time, $3 the batch's numbers, $4 the From statuses. join (the
// rest of the FROM list, ending in AND) and old (the moved row's old
// status) make it applyOne or applyMany. It returns one row per stored
// number: number, operator_connect, old status, moved.
func applySQL(t, join, old string) string {
	where := " WHERE"
	if join != "" {
		where = join
	}
	return "WITH upd AS (UPDATE " + t + " AS t SET status = $1, status_changed_at = $2" + where +
		" t.telephone_number = ANY($3) AND t.operator_connect AND t.status = ANY($4)" +
		" RETURNING t.telephone_number, " + old + " AS status)" +
		" SELECT telephone_number, true, status, true FROM upd UNION ALL" +
		" SELECT telephone_number, operator_connect, status, false FROM " + t +
		" WHERE telephone_number = ANY(ARRAY(SELECT unnest($3::text[]) EXCEPT ALL SELECT telephone_number FROM upd))"
}

// sqliteUpsert returns a multi-row insert-or-replace of rows rows.
func sqliteUpsert(table string, rows int) string {
	var b strings.Builder
	b.Grow(len(table) + 200 + rows*12)
	b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?)")
	}
	b.WriteString(upsertTail)
	return b.String()
}

// lockKey derives a stable advisory lock key from the table's name, so that
// stores on different schemas or prefixes do not wait for each other.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}
