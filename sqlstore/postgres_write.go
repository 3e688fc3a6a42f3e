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
	get       string
	getMany   string
	countIdx  string // global count on the partial index
	countIdxT string // per-tenant count on the partial index
	countAll  string // global count of any statuses
	countAllT string // per-tenant count of any statuses
	applyOne  string // move and classify a batch, one From status
	applyMany string // the same, several From statuses
	deleteAny string // delete and classify a batch
	merge     string // import a chunk, keeping stored statuses
	replace   string // import a chunk, writing every column
	history   string // one page of a number's events, and their total
	historyN  string // the number of a number's events
	prune     string // one chunk of old events
}

const pgCols = "telephone_number, ms_tenant_id, operator_connect, status, status_changed_at"

const pgEventCols = "telephone_number, ms_tenant_id, action, from_status, to_status, at, trace_id, actor"

// The Summary filter: term for term the partial index's WHERE clause, so
// that the planner proves the index applies.
const pgRemovalFilter = "status IN (2, 3) AND operator_connect"

func buildPgQueries(n names) pgQueries {
	t, h := n.numbers, n.history
	return pgQueries{
		get:       "SELECT " + pgCols + " FROM " + t + " WHERE telephone_number = $1",
		getMany:   "SELECT " + pgCols + " FROM " + t + " WHERE telephone_number = ANY($1) ORDER BY telephone_number",
		countIdx:  "SELECT status, COUNT(*) FROM " + t + " WHERE " + pgRemovalFilter + " GROUP BY status",
		countIdxT: "SELECT status, COUNT(*) FROM " + t + " WHERE ms_tenant_id = $1 AND " + pgRemovalFilter + " GROUP BY status",
		countAll:  "SELECT status, COUNT(*) FROM " + t + " WHERE operator_connect GROUP BY status",
		countAllT: "SELECT status, COUNT(*) FROM " + t + " WHERE ms_tenant_id = $1 AND operator_connect GROUP BY status",
		// One statement per batch (see apply): move the eligible rows with
		// a compare-and-set, write their events, then read the rows it did
		// not move from the statement's snapshot, to classify them.
		// applyOne is for a change with one From status, which then is each
		// moved row's old status; applyMany reads the old status from a
		// self-join, and requires it to equal the status the compare-and-set
		// saw, so that a row changed by a writer outside the store is
		// reported as a miss in a From status, which apply detects, rather
		// than with a wrong old status.
		applyOne:  pgApplySQL(t, h, "", "($4::smallint[])[1]"),
		applyMany: pgApplySQL(t, h, " FROM "+t+" AS o WHERE o.telephone_number = t.telephone_number AND o.status = t.status AND", "o.status"),
		deleteAny: "WITH del AS (DELETE FROM " + t + " AS t WHERE t.telephone_number = ANY($1) AND t.status = 3" +
			" RETURNING t.telephone_number, t.ms_tenant_id, t.operator_connect)," +
			" ev AS (INSERT INTO " + h + " (" + pgEventCols + ")" +
			" SELECT telephone_number, ms_tenant_id, 'purge', CAST(3 AS smallint), CAST(NULL AS smallint), CAST($2 AS timestamptz)," +
			" NULLIF(CAST($3 AS text), ''), NULLIF(CAST($4 AS text), '') FROM del)" +
			" SELECT telephone_number, operator_connect, CAST(3 AS smallint), true FROM del UNION ALL" +
			" SELECT telephone_number, operator_connect, status, false FROM " + t +
			" WHERE telephone_number = ANY(ARRAY(SELECT unnest(CAST($1 AS text[])) EXCEPT ALL SELECT telephone_number FROM del))",
		merge:    pgImportSQL(t, h, false),
		replace:  pgImportSQL(t, h, true),
		history:  "SELECT " + pgEventCols + ", COUNT(*) OVER () FROM " + h + " WHERE telephone_number = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
		historyN: "SELECT COUNT(*) FROM " + h + " WHERE telephone_number = $1",
		prune:    "DELETE FROM " + h + " WHERE id IN (SELECT id FROM " + h + " WHERE at < $1 ORDER BY at LIMIT $2)",
	}
}

// pgApplySQL returns the batch statement. Its arguments: $1 the new status,
// $2 the change time, $3 the batch's numbers, $4 the From statuses, $5 the
// event's action, $6 and $7 the trace id and actor ("" for NULL). join
// (the rest of the FROM list, ending in AND) and old (the moved row's old
// status) make it applyOne or applyMany. It returns one row per stored
// number: number, operator_connect, old status, moved.
func pgApplySQL(t, h, join, old string) string {
	where := " WHERE"
	if join != "" {
		where = join
	}
	return "WITH upd AS (UPDATE " + t + " AS t SET status = $1, status_changed_at = $2" + where +
		" t.telephone_number = ANY($3) AND t.operator_connect AND t.status = ANY($4)" +
		" RETURNING t.telephone_number, t.ms_tenant_id, " + old + " AS status)," +
		" ev AS (INSERT INTO " + h + " (" + pgEventCols + ")" +
		" SELECT telephone_number, ms_tenant_id, CAST($5 AS text), status, CAST($1 AS smallint), CAST($2 AS timestamptz)," +
		" NULLIF(CAST($6 AS text), ''), NULLIF(CAST($7 AS text), '') FROM upd)" +
		" SELECT telephone_number, true, status, true FROM upd UNION ALL" +
		" SELECT telephone_number, operator_connect, status, false FROM " + t +
		" WHERE telephone_number = ANY(ARRAY(SELECT unnest($3::text[]) EXCEPT ALL SELECT telephone_number FROM upd))"
}

// pgImportSQL returns the statement that imports one chunk of records from
// column arrays ($1-$5), with the events' time, trace id and actor in $6-$8.
// It reads the stored statuses (old) from the statement's snapshot, which
// no store writer can change under the writer lock, upserts, and writes an
// event for each inserted number and each status the upsert changed. It
// returns the counts of ImportResult: inserted, updated, status kept (the
// latter meaningful for a merge).
func pgImportSQL(t, h string, replace bool) string {
	set := "ms_tenant_id = excluded.ms_tenant_id, operator_connect = excluded.operator_connect"
	if replace {
		set += ", status = excluded.status, status_changed_at = excluded.status_changed_at"
	}
	return "WITH input AS (SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS boolean[]), CAST($4 AS smallint[]), CAST($5 AS timestamptz[]))" +
		" AS i(" + pgCols + "))," +
		" old AS (SELECT t.telephone_number, t.status FROM " + t + " AS t JOIN input USING (telephone_number))," +
		" up AS (INSERT INTO " + t + " AS t (" + pgCols + ") SELECT " + pgCols + " FROM input" +
		" ON CONFLICT (telephone_number) DO UPDATE SET " + set +
		" RETURNING t.telephone_number, t.ms_tenant_id, t.status)," +
		" ev AS (INSERT INTO " + h + " (" + pgEventCols + ")" +
		" SELECT up.telephone_number, up.ms_tenant_id, 'import', old.status, up.status, CAST($6 AS timestamptz)," +
		" NULLIF(CAST($7 AS text), ''), NULLIF(CAST($8 AS text), '')" +
		" FROM up LEFT JOIN old USING (telephone_number) WHERE old.status IS DISTINCT FROM up.status)" +
		" SELECT COUNT(*) - COUNT(old.telephone_number), COUNT(old.telephone_number), COUNT(*) FILTER (WHERE old.status <> input.status)" +
		" FROM input LEFT JOIN old USING (telephone_number)"
}

// apply runs the batch as one transaction of writeTx, in two round trips:
// a pipeline of BEGIN, the writer lock and one statement for the whole
// batch (applyOne or applyMany), then COMMIT. Ten statements of
// removal.ChunkSize numbers measured 10% slower than one, and the chunks
// would all be sent together anyway (see the README). ctx is checked
// every removal.ChunkSize numbers while the batch is prepared; a
// cancellation found then sends nothing, one while the pipeline runs
// aborts the transaction: nothing is applied. A writer outside the store
// that changes a row under the batch makes the outcome show a miss in a
// From status; the batch is then rolled back and run again.
func (d *pgDriver) apply(ctx context.Context, numbers []e164.Number, c removal.Change, a removal.Audit) ([]removal.Outcome, error) {
	query := d.q.applyOne
	if len(c.From) > 1 {
		query = d.q.applyMany
	}
	from := make([]int16, len(c.From))
	for i, f := range c.From {
		from[i] = int16(f)
	}
	arg, err := pgNumbers(ctx, numbers)
	if err != nil {
		return nil, err
	}
	var out []removal.Outcome
	err = d.writeTx(ctx, func(tx *pgTx) error {
		b := tx.batch()
		b.Queue(query, int16(c.To), c.At, arg, from, string(c.Event), a.TraceID, a.Actor)
		var err error
		out, err = d.runBatch(ctx, tx, b, numbers, func(o removal.Outcome) bool {
			return o.OperatorConnect && c.Allows(o.Status)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// delete runs the batch as apply does, with deleteAny: the rows in
// ReadyForRemoval are deleted, their events written, the others read.
func (d *pgDriver) delete(ctx context.Context, numbers []e164.Number, at time.Time, a removal.Audit) ([]removal.Outcome, error) {
	arg, err := pgNumbers(ctx, numbers)
	if err != nil {
		return nil, err
	}
	var out []removal.Outcome
	err = d.writeTx(ctx, func(tx *pgTx) error {
		b := tx.batch()
		b.Queue(d.q.deleteAny, arg, at, a.TraceID, a.Actor)
		var err error
		out, err = d.runBatch(ctx, tx, b, numbers, func(o removal.Outcome) bool {
			return o.Status == removal.ReadyForRemoval
		})
		return err
	})
	if err != nil {
		return nil, err
	}
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
// number (number, operator_connect, old status, changed), and returns the
// outcomes in the order of numbers. A row that was not changed although
// moves(row) says the statement should have changed it is errRace.
func (d *pgDriver) runBatch(ctx context.Context, tx *pgTx, b *pgx.Batch, numbers []e164.Number, moves func(removal.Outcome) bool) ([]removal.Outcome, error) {
	index := make(map[e164.Number]int, len(numbers))
	for i, n := range numbers {
		index[n] = i
	}
	out := make([]removal.Outcome, len(numbers))
	br, err := tx.send(ctx, b)
	if err != nil {
		return nil, err
	}
	err = readOutcomes(br, index, out, moves)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func readOutcomes(br pgx.BatchResults, index map[e164.Number]int, out []removal.Outcome, moves func(removal.Outcome) bool) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var n string
	var st int16
	var o removal.Outcome
	_, err = pgx.ForEachRow(rows, []any{&n, &o.OperatorConnect, &st, &o.Changed}, func() error {
		o.Found, o.Status = true, removal.NumberStatus(st)
		if !o.Changed && moves(o) {
			return errRace
		}
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

// importNumbers writes every record in one transaction of writeTx. From
// copyThreshold records it first tries COPY into the table inside a
// savepoint, then COPY of the events: that works when no number is stored
// yet (the usual first load). COPY cannot update rows: when a number is
// already stored it fails with a unique violation, and the import falls
// back, in the same transaction, to pgImportSQL, pgChunk records at a time,
// checking ctx between statements.
func (d *pgDriver) importNumbers(ctx context.Context, numbers []store.Number, mode store.ImportMode, at time.Time, a removal.Audit) (store.ImportResult, error) {
	query := d.q.merge
	if mode == store.Replace {
		query = d.q.replace
	}
	var res store.ImportResult
	err := d.writeTx(ctx, func(tx *pgTx) error {
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
	return res, nil
}

// copyNew loads numbers, none of them stored yet, with COPY, and their
// import events with a second COPY. It reports false, with the savepoint
// rolled back, when a number is already stored.
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

// prune deletes the events older than before, pruneChunk at a time, each
// chunk in a transaction of writeTx; ctx is checked between chunks.
func (d *pgDriver) prune(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		if total > 0 {
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
		var k int64
		err := d.writeTx(ctx, func(tx *pgTx) error {
			tag, err := tx.exec(ctx, d.q.prune, before, pruneChunk)
			k = tag.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(k)
		if k < pruneChunk {
			return total, nil
		}
	}
}
