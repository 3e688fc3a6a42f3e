package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// pgQueries holds every statement of one store, built once from validated
// identifiers, written with PostgreSQL's bind variables. No statement text
// ever contains an input value.
type pgQueries struct {
	get          string
	getMany      string
	countIdx     string                  // global recount of the removal statuses, over the rows
	countIdxT    string                  // per-tenant recount of the removal statuses, over the rows
	count        string                  // the counts of a tenant or of all, from the counters
	apply        [pgCountModes][2]string // by counter mode, then history on (0) or off (1)
	deleteAny    string                  // delete and classify a batch
	merge        string                  // import a chunk, keeping stored statuses
	replace      string                  // import a chunk, writing every column
	addCounts    string                  // add counts from arrays (after a COPY)
	fold         string                  // move a bounded number of count deltas into counts
	history      string                  // one page of a number's events, and their total
	historyN     string                  // the number of a number's events
	historyPages string                  // the history's size in pages
	prune        string                  // the old events of a range of pages
	mayVacuum    string                  // whether the store's role may vacuum the deltas
	vacuum       string                  // vacuums the deltas
}

// How Apply keeps the counts; the modes other than pgCountInserts exist
// for the benchmarks that chose it (see the README).
const (
	// pgCountInserts: insert one counts_delta row per tenant whose counts
	// the batch changes (slot = -txid, unique to the transaction):
	// never updated, so writers never wait for each other on a count.
	pgCountInserts = iota
	// pgCountSlots: upsert the writer's own counts_delta rows, keyed by
	// its backend's pid, which no concurrent transaction shares (what
	// Import and Delete do).
	pgCountSlots
	// pgCountRows: upsert the counts rows themselves, in key order.
	pgCountRows
	// pgCountOff: no counts (a benchmark baseline; the counts drift).
	pgCountOff
	pgCountModes
)

const pgCols = "telephone_number, ms_tenant_id, operator_connect, status, status_changed_at"

const pgEventCols = "telephone_number, ms_tenant_id, action, from_status, to_status, at, trace_id, actor"

// foldChunk bounds the count deltas one fold statement moves.
const foldChunk = 10000

func buildPgQueries(n names) pgQueries {
	t, h, c, cd := n.numbers, n.history, n.counts, n.qual("counts_delta")
	q := pgQueries{
		get:       "SELECT " + pgCols + " FROM " + t + " WHERE telephone_number = $1",
		getMany:   "SELECT " + pgCols + " FROM " + t + " WHERE telephone_number = ANY($1) ORDER BY telephone_number",
		countIdx:  "SELECT status, COUNT(*) FROM " + t + " WHERE status IN (2, 3) AND operator_connect GROUP BY status",
		countIdxT: "SELECT status, COUNT(*) FROM " + t + " WHERE ms_tenant_id = $1 AND status IN (2, 3) AND operator_connect GROUP BY status",
		// The counts of one tenant, or of all ("": the rows every change
		// also adds to), and how many delta rows were read (to fold when
		// there are many).
		count: "SELECT status, CAST(SUM(n) AS bigint), COUNT(*) FILTER (WHERE delta) FROM (SELECT status, n, false AS delta FROM " + c + " WHERE ms_tenant_id = $1" +
			" UNION ALL SELECT x.status, x.d, x.status = 0 FROM " + cd + " AS cd CROSS JOIN LATERAL " + pgDeltaColumns + " WHERE cd.ms_tenant_id = $1) AS u GROUP BY status",
		deleteAny: "WITH req AS (SELECT telephone_number, ms_tenant_id, operator_connect, status FROM " + t +
			" WHERE telephone_number = ANY($1) ORDER BY telephone_number FOR UPDATE)," +
			" del AS (DELETE FROM " + t + " AS t USING req WHERE t.telephone_number = req.telephone_number AND req.status = 3" +
			" RETURNING t.telephone_number, t.ms_tenant_id, t.operator_connect)," +
			" ev AS (INSERT INTO " + h + " (" + pgEventCols + ")" +
			" SELECT telephone_number, ms_tenant_id, 'purge', CAST(3 AS smallint), CAST(NULL AS smallint), CAST($2 AS timestamptz)," +
			" NULLIF(CAST($3 AS text), ''), NULLIF(CAST($4 AS text), '') FROM del)," +
			" cnt AS (" + pgSlotUpsert(cd, "SELECT k.t, CAST(3 AS smallint), -COUNT(*) FROM del CROSS JOIN LATERAL (VALUES (del.ms_tenant_id), ('')) AS k(t)"+
			" WHERE operator_connect GROUP BY k.t") + ")" +
			" SELECT req.telephone_number, req.operator_connect, req.status, del.telephone_number IS NOT NULL" +
			" FROM req LEFT JOIN del ON del.telephone_number = req.telephone_number",
		merge:     pgImportSQL(t, h, cd, false),
		replace:   pgImportSQL(t, h, cd, true),
		addCounts: pgSlotUpsert(cd, "SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS smallint[]), CAST($3 AS bigint[]))"),
		fold: "WITH l AS (SELECT ctid AS c FROM " + cd + " WHERE (SELECT pg_try_advisory_xact_lock($1) FROM (VALUES (1)) AS v(x) OFFSET 0)" +
			" LIMIT " + fmt.Sprint(foldChunk) + " FOR UPDATE SKIP LOCKED)," +
			" del AS (DELETE FROM " + cd + " AS cd WHERE ctid = ANY(ARRAY(SELECT c FROM l)) RETURNING cd.*)," +
			" ins AS (INSERT INTO " + c + " AS c (ms_tenant_id, status, n)" +
			" SELECT cd.ms_tenant_id, x.status, SUM(x.d) FROM del AS cd CROSS JOIN LATERAL " + pgDeltaColumns + " WHERE x.d <> 0" +
			" GROUP BY 1, 2 ORDER BY 1, 2 ON CONFLICT (ms_tenant_id, status) DO UPDATE SET n = c.n + excluded.n)" +
			" SELECT COUNT(*) FROM del",
		// The page's total, in the same statement (one snapshot): an
		// index-only count of the number's index entries, an InitPlan run
		// once. (Counting only past a full first page, through a
		// materialized page, cost more than the count saved.)
		history: "SELECT " + pgEventCols + ", (SELECT COUNT(*) FROM " + h + " WHERE telephone_number = $1) FROM " + h +
			" WHERE telephone_number = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
		historyN: "SELECT COUNT(*) FROM " + h + " WHERE telephone_number = $1",
		// The size of the history in pages, and the old events of a range
		// of pages (the table has no index on at or id: a TID range scan).
		historyPages: "SELECT pg_relation_size(CAST(CAST($1 AS text) AS regclass)) / current_setting('block_size')::bigint",
		prune:        "DELETE FROM " + h + " WHERE ctid >= CAST(CAST($2 AS text) AS tid) AND ctid < CAST(CAST($3 AS text) AS tid) AND at < $1",
		// VACUUM needs the table's owner (or a superuser); another role's
		// attempt is only a warning in the server's log.
		mayVacuum: "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = CAST(CAST($1 AS text) AS regclass)",
		vacuum:    "VACUUM (SKIP_LOCKED, TRUNCATE false) " + cd,
	}
	// The moved rows' count changes: -1 in the old status, +1 in the new,
	// for the tenant and for all (""). movedT: for the tenant only.
	moved := "SELECT k.t, x.s, SUM(x.v) FROM upd CROSS JOIN LATERAL (VALUES (upd.old, -1), (CAST($1 AS smallint), 1)) AS x(s, v)" +
		" CROSS JOIN LATERAL (VALUES (upd.ms_tenant_id), ('')) AS k(t) GROUP BY k.t, x.s"
	movedT := "SELECT ms_tenant_id, x.s, SUM(x.v) FROM upd CROSS JOIN LATERAL (VALUES (upd.old, -1), (CAST($1 AS smallint), 1)) AS x(s, v)" +
		" GROUP BY ms_tenant_id, x.s"
	cnt := [pgCountModes]string{
		pgCountSlots: " cnt AS (" + pgSlotUpsert(cd, moved) + "),",
		pgCountRows: " cnt AS (INSERT INTO " + c + " AS c (ms_tenant_id, status, n) " + movedT + " ORDER BY 1, 2" +
			" ON CONFLICT (ms_tenant_id, status) DO UPDATE SET n = c.n + excluded.n),",
		pgCountInserts: " cnt AS (INSERT INTO " + cd + " (" + pgDeltaCols + ") " + pgMovedDeltas("-CAST(txid_current() AS bigint)") + "),",
	}
	for mode := range q.apply {
		q.apply[mode][0] = pgApplySQL(t, h, true, cnt[mode])
		q.apply[mode][1] = pgApplySQL(t, h, false, cnt[mode])
	}
	return q
}

// A counts_delta row holds a writer's changes to the counts of one tenant
// (or of all, ""), in the four statuses: d0 to d3. pgDeltaColumns turns a
// row cd into one row x(status, d) per status.
const (
	pgDeltaCols    = "ms_tenant_id, slot, d0, d1, d2, d3"
	pgDeltaColumns = "(VALUES (0, cd.d0), (1, cd.d1), (2, cd.d2), (3, cd.d3)) AS x(status, d)"
)

// pgDeltaRows turns the rows of sel (tenant, status, delta; one per tenant
// and status) into counts_delta rows in slot, one per tenant with a
// change, in tenant order.
func pgDeltaRows(sel, slot string) string {
	sum := func(st string) string { return "COALESCE(SUM(s.d) FILTER (WHERE s.status = " + st + "), 0)" }
	return "SELECT s.ms_tenant_id, " + slot + ", " + sum("0") + ", " + sum("1") + ", " + sum("2") + ", " + sum("3") +
		" FROM (" + sel + ") AS s(ms_tenant_id, status, d) GROUP BY s.ms_tenant_id HAVING bool_or(s.d <> 0) ORDER BY 1"
}

// pgMovedDeltas returns the counts_delta rows in slot of a batch's moved
// rows upd (tenant, old status; all moved to $1): per tenant and for all
// (""), in tenant order, d_s is minus the rows moved from s, plus all
// moved rows when s is $1. One aggregate over the moved rows, without
// first expanding them into (tenant, status, ±1) rows. (GROUPING SETS
// for the total made PostgreSQL price the generic plan above the custom
// ones and plan the statement again on every call.)
func pgMovedDeltas(slot string) string {
	d := func(st string) string {
		return "CASE WHEN $1 = " + st + " THEN COUNT(*) ELSE 0 END - COUNT(*) FILTER (WHERE old = " + st + ")"
	}
	cols := d("0") + ", " + d("1") + ", " + d("2") + ", " + d("3")
	return "SELECT s.t, " + slot + ", s.d0, s.d1, s.d2, s.d3 FROM (SELECT ms_tenant_id, " + cols + " FROM upd GROUP BY ms_tenant_id" +
		" UNION ALL SELECT '', " + cols + " FROM upd) AS s(t, d0, d1, d2, d3)" +
		" WHERE s.d0 <> 0 OR s.d1 <> 0 OR s.d2 <> 0 OR s.d3 <> 0 ORDER BY 1"
}

// pgSlotUpsert adds the rows of sel (tenant, status, delta) to the
// writer's own counts_delta rows: slot is its backend's pid, which no
// concurrent transaction shares, so the upsert never waits for another
// writer; rows are taken in key order.
func pgSlotUpsert(cd, sel string) string {
	return "INSERT INTO " + cd + " AS cd (" + pgDeltaCols + ") " + pgDeltaRows(sel, "pg_backend_pid()") +
		" ON CONFLICT (ms_tenant_id, slot) DO UPDATE SET d0 = cd.d0 + excluded.d0, d1 = cd.d1 + excluded.d1, d2 = cd.d2 + excluded.d2, d3 = cd.d3 + excluded.d3"
}

// pgApplySQL returns the batch statement. Its arguments: $1 the new status,
// $2 the change time, $3 the batch's numbers, $4 the From statuses, $5 the
// event's action, $6 and $7 the trace id and actor ("" for NULL). req
// locks the stored rows among the numbers in number order (LockRows above
// the sort) and, under READ COMMITTED, yields each row's newest version
// once its lock is granted; upd moves the locked rows in a From status,
// reporting the status it moved from; ev writes their events and cnt
// (given, with its trailing comma, or "") their counts; without history
// (for benchmarks) ev is left out. It returns one row per stored number:
// number, operator_connect, old status, moved.
func pgApplySQL(t, h string, history bool, cnt string) string {
	ev := " ev AS (INSERT INTO " + h + " (" + pgEventCols + ")" +
		" SELECT telephone_number, ms_tenant_id, CAST($5 AS text), old, CAST($1 AS smallint), CAST($2 AS timestamptz)," +
		" NULLIF(CAST($6 AS text), ''), NULLIF(CAST($7 AS text), '') FROM upd),"
	if !history {
		// The arguments stay in use, so that both statements take the same.
		ev = " ev AS (SELECT CAST($5 AS text), CAST($6 AS text), CAST($7 AS text)),"
	}
	return "WITH req AS (SELECT telephone_number, ms_tenant_id, operator_connect, status FROM " + t +
		" WHERE telephone_number = ANY($3) ORDER BY telephone_number FOR NO KEY UPDATE)," +
		" upd AS (UPDATE " + t + " AS t SET status = $1, status_changed_at = $2 FROM req" +
		" WHERE t.telephone_number = req.telephone_number AND req.operator_connect AND req.status = ANY($4)" +
		" RETURNING t.telephone_number, t.ms_tenant_id, req.status AS old)," + ev + cnt +
		" done AS (SELECT telephone_number FROM upd)" +
		" SELECT req.telephone_number, req.operator_connect, req.status, done.telephone_number IS NOT NULL" +
		" FROM req LEFT JOIN done ON done.telephone_number = req.telephone_number"
}

// pgImportSQL returns the statement that imports one chunk of records,
// sorted by number, from column arrays ($1-$5), with the events' time,
// trace id and actor in $6-$8. It locks the stored rows first, in number
// order (old), and only then upserts (up waits for all of old through its
// one-time filter), so the old values it compares are the rows' newest;
// it writes an event for each inserted number and each status the upsert
// changed, and the counts' changes. It returns the counts of ImportResult:
// inserted, updated, status kept (the latter meaningful for a merge).
// Imports serialise with each other (the import lock), so a number absent
// from old is not inserted by anyone else meanwhile; batches never insert.
func pgImportSQL(t, h, cd string, replace bool) string {
	set := "ms_tenant_id = excluded.ms_tenant_id, operator_connect = excluded.operator_connect"
	if replace {
		set += ", status = excluded.status, status_changed_at = excluded.status_changed_at"
	}
	return "WITH input AS (SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS boolean[]), CAST($4 AS smallint[]), CAST($5 AS timestamptz[]))" +
		" AS i(" + pgCols + "))," +
		" old AS (SELECT telephone_number, ms_tenant_id, operator_connect, status FROM " + t +
		" WHERE telephone_number = ANY($1) ORDER BY telephone_number FOR NO KEY UPDATE)," +
		" up AS (INSERT INTO " + t + " AS t (" + pgCols + ") SELECT " + pgCols + " FROM input" +
		" WHERE (SELECT COUNT(*) FROM old) >= 0 ORDER BY telephone_number" +
		" ON CONFLICT (telephone_number) DO UPDATE SET " + set +
		" RETURNING t.telephone_number, t.ms_tenant_id, t.operator_connect, t.status)," +
		" ev AS (INSERT INTO " + h + " (" + pgEventCols + ")" +
		" SELECT up.telephone_number, up.ms_tenant_id, 'import', old.status, up.status, CAST($6 AS timestamptz)," +
		" NULLIF(CAST($7 AS text), ''), NULLIF(CAST($8 AS text), '')" +
		" FROM up LEFT JOIN old USING (telephone_number) WHERE old.status IS DISTINCT FROM up.status)," +
		" cnt AS (" + pgSlotUpsert(cd, "SELECT k.t, status, SUM(v) FROM (SELECT ms_tenant_id, status, -1 AS v FROM old WHERE operator_connect"+
		" UNION ALL SELECT ms_tenant_id, status, 1 FROM up WHERE operator_connect) AS x CROSS JOIN LATERAL (VALUES (x.ms_tenant_id), ('')) AS k(t)"+
		" GROUP BY k.t, status") + ")" +
		" SELECT COUNT(*) - COUNT(old.telephone_number), COUNT(old.telephone_number), COUNT(*) FILTER (WHERE old.status <> input.status)" +
		" FROM input LEFT JOIN old USING (telephone_number)"
}

// apply runs the batch as one transaction of writeTx in one round trip: a
// pipeline of BEGIN, one statement for the whole batch (pgApplySQL) and
// COMMIT. ctx is checked every removal.ChunkSize numbers while the batch
// is prepared; a cancellation found then sends nothing, one while the
// pipeline runs cancels the statement (nothing applied) unless the
// COMMIT has already run (everything applied, and reported).
func (d *pgDriver) apply(ctx context.Context, numbers []e164.Number, c removal.Change, a removal.Audit) ([]removal.Outcome, error) {
	from := make([]int16, len(c.From))
	for i, f := range c.From {
		from[i] = int16(f)
	}
	return d.batch(ctx, numbers, d.q.apply[d.counterMode][d.noHistory], func(arg []string) []any {
		return []any{int16(c.To), c.At, arg, from, string(c.Event), a.TraceID, a.Actor}
	})
}

// delete runs the batch as apply does, with deleteAny: the rows in
// ReadyForRemoval are deleted, their events written, the others read.
func (d *pgDriver) delete(ctx context.Context, numbers []e164.Number, at time.Time, a removal.Audit) ([]removal.Outcome, error) {
	return d.batch(ctx, numbers, d.q.deleteAny, func(arg []string) []any { return []any{arg, at, a.TraceID, a.Actor} })
}

// batch runs query with the arguments args gives for the numbers' text[]
// array, as one transaction of writeTx in one round trip (runBatch), and
// counts it as a write for the counts' fold.
func (d *pgDriver) batch(ctx context.Context, numbers []e164.Number, query string, args func(arg []string) []any) ([]removal.Outcome, error) {
	arg, err := pgNumbers(ctx, numbers)
	if err != nil {
		return nil, err
	}
	var out []removal.Outcome
	err = d.writeTx(ctx, txOpts{}, func(tx *pgTx) error {
		b := tx.single()
		b.Queue(query, args(arg)...)
		var err error
		out, err = d.runBatch(ctx, tx, b, numbers)
		return err
	})
	if err != nil {
		return nil, err
	}
	d.wrote(1)
	return out, nil
}

// pgNumbers converts numbers to the text[] argument of a batch, checking
// ctx every removal.ChunkSize numbers; nothing is sent before all of it is
// ready.
func pgNumbers(ctx context.Context, numbers []e164.Number) ([]string, error) {
	arg := make([]string, 0, len(numbers))
	for chunk := range slices.Chunk(numbers, removal.ChunkSize) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		arg = append(arg, e164Strings(chunk)...)
	}
	return arg, nil
}

// runBatch sends b, whose last statement returns one row per stored
// number (number, operator_connect, old status, changed), as the final
// pipeline of tx when it may, and returns the outcomes in the order of
// numbers.
func (d *pgDriver) runBatch(ctx context.Context, tx *pgTx, b *pgx.Batch, numbers []e164.Number) ([]removal.Outcome, error) {
	index := make(map[e164.Number]int, len(numbers))
	for i, n := range numbers {
		index[n] = i
	}
	out := make([]removal.Outcome, len(numbers))
	br, err := tx.send(ctx, b, tx.final())
	if err != nil {
		return nil, err
	}
	err = readOutcomes(tx, br, index, out)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if d.afterFirst != nil {
		d.afterFirst()
	}
	return out, nil
}

func readOutcomes(tx *pgTx, br pgx.BatchResults, index map[e164.Number]int, out []removal.Outcome) error {
	rows, err := br.Query()
	if err != nil {
		return tx.first(err)
	}
	var n string
	var st int16
	var o removal.Outcome
	_, err = pgx.ForEachRow(rows, []any{&n, &o.OperatorConnect, &st, &o.Changed}, func() error {
		o.Found, o.Status = true, removal.NumberStatus(st)
		i, ok := index[e164.Number(n)]
		if !ok {
			return fmt.Errorf("unrequested number %q in the result", n)
		}
		out[i] = o
		return nil
	})
	return err
}

// pgChunk is how many records one import statement takes as arrays.
const pgChunk = 10000

// copyThreshold is the size from which Import tries COPY.
const copyThreshold = 2000

// importNumbers writes every record in one transaction of writeTx, under
// the table's import lock: imports serialise with each other (an upsert
// cannot tell which stored row it replaced, so a number must not be
// inserted by another import meanwhile), never with batches. Records are
// written in number order, so that the rows are locked in the order every
// writer follows. From copyThreshold records it first tries COPY into the
// table inside a savepoint, then COPY of the events and one statement for
// the counts: that works when no number is stored yet (the usual first
// load). COPY cannot update rows: when a number is already stored it fails
// with a unique violation, and the import falls back, in the same
// transaction, to pgImportSQL, pgChunk records at a time, checking ctx
// between statements.
func (d *pgDriver) importNumbers(ctx context.Context, numbers []store.Number, mode store.ImportMode, at time.Time, a removal.Audit) (store.ImportResult, error) {
	query := d.q.merge
	if mode == store.Replace {
		query = d.q.replace
	}
	numbers = slices.Clone(numbers)
	sortNumbers(numbers)
	var res store.ImportResult
	err := d.writeTx(ctx, txOpts{lock: d.importKey, hasLock: true}, func(tx *pgTx) error {
		res = store.ImportResult{}
		if len(numbers) >= copyThreshold {
			copied, err := d.copyNew(ctx, tx, numbers, at, a)
			if err != nil {
				return err
			}
			if copied {
				res.Inserted = len(numbers)
				return nil
			}
		}
		for chunk := range slices.Chunk(numbers, pgChunk) {
			if err := ctx.Err(); err != nil {
				return err
			}
			args := append(pgColumns(chunk), at, a.TraceID, a.Actor)
			var ins, upd, kept int
			if err := tx.queryRow(ctx, query, args...).Scan(&ins, &upd, &kept); err != nil {
				return err
			}
			res.Inserted += ins
			res.Updated += upd
			if mode == store.Merge {
				res.StatusKept += kept
			}
		}
		return nil
	})
	if err != nil {
		return store.ImportResult{}, err
	}
	d.wrote(1)
	return res, nil
}

// copyNew loads numbers, none of them stored yet, with COPY, their import
// events with a second COPY, and their counts. It reports false, with the
// savepoint rolled back, when a number is already stored.
func (d *pgDriver) copyNew(ctx context.Context, tx *pgTx, numbers []store.Number, at time.Time, a removal.Audit) (bool, error) {
	if _, err := tx.exec(ctx, "SAVEPOINT bulk_load"); err != nil {
		return false, err
	}
	_, err := tx.conn.CopyFrom(ctx, d.numbersID, []string{"telephone_number", "ms_tenant_id", "operator_connect", "status", "status_changed_at"},
		pgx.CopyFromSlice(len(numbers), func(i int) ([]any, error) {
			n := numbers[i]
			return []any{string(n.TelephoneNumber), n.MSTenantID, n.OperatorConnect, int16(n.Status), n.StatusChangedAt}, nil
		}))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		_, err := tx.exec(ctx, "ROLLBACK TO SAVEPOINT bulk_load")
		return false, err
	}
	if err != nil {
		return false, err
	}
	trace, actor := nullString(a.TraceID), nullString(a.Actor)
	_, err = tx.conn.CopyFrom(ctx, d.historyID, []string{"telephone_number", "ms_tenant_id", "action", "from_status", "to_status", "at", "trace_id", "actor"},
		pgx.CopyFromSlice(len(numbers), func(i int) ([]any, error) {
			n := numbers[i]
			return []any{string(n.TelephoneNumber), n.MSTenantID, string(removal.EventImport), nil, int16(n.Status), at, trace, actor}, nil
		}))
	if err != nil {
		return false, err
	}
	type key struct {
		tenant string
		status removal.NumberStatus
	}
	counts := map[key]int64{}
	for _, n := range numbers {
		if n.OperatorConnect {
			counts[key{n.MSTenantID, n.Status}]++
			counts[key{"", n.Status}]++ // all tenants
		}
	}
	var tenants []string
	var statuses []int16
	var deltas []int64
	for k, v := range counts {
		tenants, statuses, deltas = append(tenants, k.tenant), append(statuses, int16(k.status)), append(deltas, v)
	}
	_, err = tx.exec(ctx, d.q.addCounts, tenants, statuses, deltas)
	return err == nil, err
}

// pgColumns splits records into the column arrays pgImportSQL takes.
func pgColumns(ns []store.Number) []any {
	tel := make([]string, len(ns))
	tnt := make([]string, len(ns))
	oc := make([]bool, len(ns))
	st := make([]int16, len(ns))
	at := make([]time.Time, len(ns))
	for i, n := range ns {
		tel[i], tnt[i], oc[i], st[i], at[i] = string(n.TelephoneNumber), n.MSTenantID, n.OperatorConnect, int16(n.Status), n.StatusChangedAt
	}
	return []any{tel, tnt, oc, st, at}
}

// prunePages is how many pages of the history one transaction of
// PruneHistory walks: about 10,000 events of the usual size.
const prunePages = 128

// prune deletes the events older than before, walking the history once in
// its physical order, prunePages pages per transaction of one round trip;
// ctx is checked between chunks. The walk ends at the size the table had
// when it began: an event written since is not older than before (events
// are written with the time of their change). The whole table is read
// once, kept events included, because nothing orders it by time.
func (d *pgDriver) prune(ctx context.Context, before time.Time) (int, error) {
	pages, err := d.queryInt(ctx, d.q.historyPages, d.n.history)
	if err != nil {
		return 0, err
	}
	total := 0
	for from := int64(0); from < pages; from += prunePages {
		if from > 0 {
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
		var k int64
		err := d.writeTx(ctx, txOpts{}, func(tx *pgTx) error {
			b := tx.single()
			b.Queue(d.q.prune, before, fmt.Sprintf("(%d,0)", from), fmt.Sprintf("(%d,0)", from+prunePages))
			br, err := tx.send(ctx, b, tx.final())
			if err != nil {
				return err
			}
			tag, err := br.Exec()
			err = tx.first(err)
			k = tag.RowsAffected()
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(k)
	}
	return total, nil
}

// Folding: counts_delta rows are moved into counts by a fold, in the
// background, once this process has run foldEvery write transactions (each
// adds one delta row for all tenants) or a count has read more than
// foldAbove delta rows. One fold runs at a time in a process, and the fold
// lock (pg_try_advisory_xact_lock) lets one process fold at a time; a fold
// skips the rows a writer holds. Once a process's folds have deleted
// vacuumAfter rows, it vacuums the table: until a vacuum records the space
// they left as free, writers append to the table, which grows by the rows
// of every batch; autovacuum may not look for a minute, and every fold
// scans the table. A fold competes for the CPU with the batches it runs
// beside, so folds are rare (every 128 writes they showed in the p99 of
// one client: see the README); a count reads at most foldAbove deltas
// whatever foldEvery is.
const (
	foldEvery   = 1024
	foldAbove   = 256
	vacuumAfter = 10000
	// foldTimeout bounds a background fold.
	foldTimeout = time.Minute
)

// wrote counts k write transactions, and starts a fold every foldEvery.
func (d *pgDriver) wrote(k int64) {
	if d.writes.Add(k) >= foldEvery {
		d.startFold()
	}
}

// startFold starts a background fold unless one is running.
func (d *pgDriver) startFold() {
	if !d.folding.CompareAndSwap(false, true) {
		return
	}
	d.writes.Store(0)
	d.foldWG.Add(1)
	go func() {
		defer d.foldWG.Done()
		defer d.folding.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), foldTimeout)
		defer cancel()
		k, _ := d.fold(ctx) // a failed fold leaves the deltas for the next one
		if d.folded += k; d.folded >= vacuumAfter {
			d.folded = 0
			d.vacuumDeltas(ctx)
		}
	}()
}

// vacuumDeltas vacuums counts_delta when the store's role may, skipping it
// while another vacuum runs, and without truncating the table (which would
// wait up to 5 s for a lock that stops every writer). It runs in the fold's
// goroutine, one at a time. A failure is left for the next one.
func (d *pgDriver) vacuumDeltas(ctx context.Context) {
	if !d.vacuumChecked {
		if err := d.db.QueryRowContext(ctx, d.q.mayVacuum, d.n.qual("counts_delta")).Scan(&d.mayVacuum); err != nil {
			return
		}
		d.vacuumChecked = true
	}
	if d.mayVacuum {
		d.db.ExecContext(ctx, d.q.vacuum)
	}
}

// fold moves count deltas into counts, foldChunk at a time, each chunk in
// a transaction of writeTx committed asynchronously, until fewer remain or
// another process holds the fold lock.
func (d *pgDriver) fold(ctx context.Context) (int, error) {
	total := 0
	for {
		var k int
		err := d.writeTx(ctx, txOpts{async: true}, func(tx *pgTx) error {
			b := tx.batch()
			b.Queue(d.q.fold, d.foldKey)
			br, err := tx.send(ctx, b, tx.final())
			if err != nil {
				return err
			}
			err = br.QueryRow().Scan(&k)
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total += k
		if k < foldChunk {
			return total, nil
		}
	}
}
