package sqlstore

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers "pgx" and "pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/removal"
)

// postgresDialect serves "pgx" and "pgx/v5": github.com/jackc/pgx/v5/stdlib.
var postgresDialect = dialect{
	name:       "PostgreSQL",
	migrations: "migrations/postgres",
	schemas:    true,
	open:       openPostgres,
	newDriver: func(ctx context.Context, db *sqlx.DB, c config) (driver, error) {
		return newPostgres(ctx, db, c, true)
	},
}

// pgApplicationName is the application_name of Open's sessions when the
// DSN names none.
const pgApplicationName = "ocnumbers"

// pgDriver runs the store on PostgreSQL. Every writer follows one rule,
// writeTx; reads go through database/sql.
type pgDriver struct {
	db        *sqlx.DB
	n         names
	q         pgQueries
	schema    string         // WithSchema's, unquoted, or ""
	numbersID pgx.Identifier // the numbers table, for COPY
	historyID pgx.Identifier // the history table, for COPY
	lockKey   int64          // advisory lock key of the table's migrations
	importKey int64          // advisory lock key of the table's imports
	foldKey   int64          // advisory lock key of the counts' fold

	// settings is the statement that gives a transaction the store's
	// session settings, for a pool the host owns (New), or "".
	settings string
	// asyncSettings is the same for the transactions that also commit
	// asynchronously (txOpts.async).
	asyncSettings string
	// autocommit: the sessions are Open's, whose settings (READ COMMITTED
	// included) are the store's, so a one-statement transaction needs no
	// BEGIN and COMMIT.
	autocommit bool

	// counterMode is how Apply keeps the counts (pgCountInserts unless a
	// benchmark says otherwise).
	counterMode int
	// noHistory is 1 when a benchmark switches Apply's history off.
	noHistory int

	// writes counts write transactions since the last fold this process
	// started; folding is set while a background fold runs.
	writes  atomic.Int64
	folding atomic.Bool
	foldWG  sync.WaitGroup
	// folded counts the delta rows this process's folds deleted since its
	// last vacuum of them; mayVacuum says whether the store's role may
	// vacuum them, once vacuumChecked.
	folded                   int
	vacuumChecked, mayVacuum bool

	// beforeCommit, when set by tests, runs after a write transaction's
	// statements and before its commit (which is then a round trip of its
	// own).
	beforeCommit func()
	// afterFirst, when set by tests, runs after a write transaction's
	// first round trip.
	afterFirst func()
}

func openPostgres(ctx context.Context, driverName, dsn string, c config) (*sqlx.DB, driver, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open %s: %w", driverName, err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	// The bounded waits are settings of the store's own sessions.
	cfg.RuntimeParams["lock_timeout"] = pgMillis(c.lockTimeout, DefaultLockTimeout)
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = pgMillis(c.idleInTx, DefaultIdleInTransactionTimeout)
	cfg.RuntimeParams["default_transaction_isolation"] = "read committed"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = pgApplicationName
	}
	maxOpen := c.maxOpen
	if maxOpen == 0 {
		maxOpen = DefaultPostgresMaxOpenConns
	}
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	db := sqlx.NewDb(sqlDB, "pgx")
	d, err := newPostgres(ctx, db, c, false)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, d, nil
}

// pgMillis renders a duration, or def when it is 0, as a setting's value.
func pgMillis(d, def time.Duration) string {
	if d == 0 {
		d = def
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// newPostgres makes the driver. local says that the pool is the host's:
// the store's settings then go into each of its transactions (SET LOCAL),
// leaving the host's sessions as they are.
func newPostgres(ctx context.Context, db *sqlx.DB, c config, local bool) (*pgDriver, error) {
	if c.synchronous != "" {
		return nil, errors.New("sqlstore: WithSynchronous is for SQLite; PostgreSQL commits synchronously")
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	n := namesOf(c)
	d := &pgDriver{db: db, n: n, q: buildPgQueries(n), schema: c.schema,
		numbersID: pgx.Identifier{c.prefix + "numbers"}, historyID: pgx.Identifier{c.prefix + "history"}}
	schema := c.schema
	if schema != "" {
		d.numbersID = pgx.Identifier{schema, c.prefix + "numbers"}
		d.historyID = pgx.Identifier{schema, c.prefix + "history"}
	} else {
		// The advisory locks are keyed by the table's schema-qualified
		// name, so that a store naming the schema and one relying on
		// search_path take the same locks when they share the table.
		if err := db.GetContext(ctx, &schema, "SELECT COALESCE(current_schema(), '')"); err != nil {
			return nil, fmt.Errorf("sqlstore: connect: %w", err)
		}
	}
	table := schema + "." + c.prefix + "numbers"
	d.autocommit = !local
	d.lockKey = lockKey(table)
	d.importKey = lockKey(table + " import")
	d.foldKey = lockKey(table + " fold")
	sync := []string{"set_config('synchronous_commit', 'off', true)"}
	if local {
		set := []string{
			"set_config('lock_timeout', '" + pgMillis(c.lockTimeout, DefaultLockTimeout) + "', true)",
			"set_config('idle_in_transaction_session_timeout', '" + pgMillis(c.idleInTx, DefaultIdleInTransactionTimeout) + "', true)",
		}
		d.settings = "SELECT " + strings.Join(set, ", ")
		sync = append(set, sync...)
	}
	d.asyncSettings = "SELECT " + strings.Join(sync, ", ")
	return d, nil
}

// lockKey derives a stable advisory lock key from a name, so that stores
// on different schemas or prefixes do not wait for each other.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// beginSQL opens every write transaction: READ COMMITTED whatever the
// server's default, so that each statement sees what committed before it
// and a row lock waited for yields the row's newest version.
const beginSQL = "BEGIN ISOLATION LEVEL READ COMMITTED"

// txOpts are what a writer adds to the rule of writeTx.
type txOpts struct {
	// lock is an advisory lock key the transaction takes first, when
	// hasLock is set.
	lock    int64
	hasLock bool
	// async: commit without waiting for the WAL flush (synchronous_commit
	// off), for transactions whose loss in a crash of the database server
	// leaves everything consistent: the limiter's admissions, and the
	// counts' fold (a lost fold leaves its deltas unfolded). Their commits
	// then neither wait for nor add to the flushes the changes wait for.
	async bool
	// noLockTimeout lets the transaction wait for locks without bound
	// (migrations: Open waits for another process's migration).
	noLockTimeout bool
}

// pgTx is one write transaction of writeTx on a pgx connection. Its first
// round trip also carries BEGIN, the settings and the advisory lock.
type pgTx struct {
	d    *pgDriver
	conn *pgx.Conn
	o    txOpts

	begun bool // BEGIN (or the one statement) was sent
	done  bool // COMMIT was answered
	// implicit: the transaction is one statement sent without BEGIN, which
	// commits as it ends (single).
	implicit bool
	// retry says that the transaction failed on a connection found dead
	// before BEGIN reached the server: nothing can have been applied.
	retry bool
	// cancelled says that a cancel request was sent for the connection:
	// it is dropped afterwards, since a late cancel could hit the next
	// caller's statement.
	cancelled atomic.Bool
}

// single returns the pipeline of a transaction of one statement, sent
// with send(…, tx.final()). On Open's sessions, whose settings are the
// store's, and without an advisory lock, the statement is sent alone and
// commits as it ends (one message instead of three); otherwise it is
// batch's.
func (tx *pgTx) single() *pgx.Batch {
	if !tx.begun && tx.d.autocommit && tx.o == (txOpts{}) && tx.final() {
		tx.implicit = true
		return &pgx.Batch{}
	}
	return tx.batch()
}

// batch returns a pipeline to fill and send; the transaction's first one
// starts with BEGIN, the settings and the advisory lock.
func (tx *pgTx) batch() *pgx.Batch {
	b := &pgx.Batch{}
	if !tx.begun {
		for _, q := range tx.prefix() {
			b.Queue(q)
		}
	}
	return b
}

func (tx *pgTx) prefix() []string {
	p := []string{beginSQL}
	switch {
	case tx.o.async:
		p = append(p, tx.d.asyncSettings)
	case tx.d.settings != "":
		p = append(p, tx.d.settings)
	}
	if tx.o.noLockTimeout {
		p = append(p, "SELECT set_config('lock_timeout', '0', true)")
	}
	if tx.o.hasLock {
		p = append(p, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(tx.o.lock, 10)+")")
	}
	return p
}

// pgResults are the results of a pipeline past its prefix; Close reads
// the COMMIT of a final pipeline and checks it.
type pgResults struct {
	pgx.BatchResults
	tx    *pgTx
	final bool
	stop  func() bool
	wg    *sync.WaitGroup
}

// send sends a pipeline from batch and returns its results, past those of
// the prefix. The caller reads its own results, then calls Close.
//
// A final pipeline also commits: COMMIT is appended, and the pipeline
// runs detached from ctx, so that a cancellation can never break the
// connection while a COMMIT is in flight. A cancellation instead sends a
// cancel request: the statement running is cancelled and the transaction
// rolls back, or the COMMIT has already run; the answer tells which.
func (tx *pgTx) send(ctx context.Context, b *pgx.Batch, final bool) (*pgResults, error) {
	np := 0
	if !tx.begun && !tx.implicit {
		np = len(tx.prefix())
	}
	tx.begun = true
	r := &pgResults{tx: tx, final: final && !tx.implicit}
	sendCtx := ctx
	if final {
		if !tx.implicit {
			b.Queue("COMMIT")
		}
		sendCtx = context.WithoutCancel(ctx)
		r.wg = &sync.WaitGroup{}
		r.wg.Add(1)
		r.stop = context.AfterFunc(ctx, func() {
			defer r.wg.Done()
			tx.cancelled.Store(true)
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			tx.conn.PgConn().CancelRequest(cctx)
		})
	}
	r.BatchResults = tx.conn.SendBatch(sendCtx, b)
	for i := range np {
		if _, err := r.BatchResults.Exec(); err != nil {
			if i == 0 && deadBeforeSent(tx.conn, err, final) {
				tx.retry = true
			}
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Close reads the COMMIT of a final pipeline, then closes the results.
func (r *pgResults) Close() error {
	var err error
	if r.final {
		var tag pgconn.CommandTag
		tag, err = r.BatchResults.Exec()
		if err == nil {
			if tag.String() == "COMMIT" {
				r.tx.done = true
			} else {
				// A COMMIT of a failed transaction answers ROLLBACK.
				err = fmt.Errorf("commit answered %q", tag.String())
			}
		}
	}
	cerr := r.BatchResults.Close()
	if r.tx.implicit && err == nil && cerr == nil {
		r.tx.done = true // the statement committed as it ended
	}
	if r.stop != nil && !r.stop() {
		r.wg.Wait() // the cancel request went out: wait for it
	}
	r.stop = nil
	if err == nil {
		err = cerr
	}
	return err
}

// deadBeforeSent tells whether err, the answer to BEGIN, says that the
// connection was dead before the pipeline reached the server: nothing was
// written (pgconn.SafeToRetry), or the server had ended the session
// (admin_shutdown, crash_shutdown, cannot_connect_now, a connection
// exception) before answering anything. A connection lost without a word
// counts too when the pipeline holds no COMMIT.
func deadBeforeSent(conn *pgx.Conn, err error, final bool) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	if !conn.IsClosed() {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pgDeadConn(err)
	}
	return !final
}

// first reports the failure of a writer's first read of its first
// statement: on an implicit transaction, an answer saying the connection
// was dead before the statement reached the server (deadBeforeSent) lets
// writeTx run the writer again.
func (tx *pgTx) first(err error) error {
	if err != nil && tx.implicit && deadBeforeSent(tx.conn, err, true) {
		tx.retry = true
	}
	return err
}

// begin sends BEGIN and the prefix, if not sent yet.
func (tx *pgTx) begin(ctx context.Context) error {
	if tx.begun {
		return nil
	}
	br, err := tx.send(ctx, tx.batch(), false)
	if err != nil {
		return err
	}
	return br.Close()
}

// exec runs one statement in the transaction; without arguments, sql may
// hold several statements.
func (tx *pgTx) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := tx.begin(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return tx.conn.Exec(ctx, sql, args...)
}

// queryRow runs one query in the transaction.
func (tx *pgTx) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := tx.begin(ctx); err != nil {
		return errRow{err}
	}
	return tx.conn.QueryRow(ctx, sql, args...)
}

// final tells whether the writer may append the COMMIT to its last
// pipeline (no test hook wants a pause before it).
func (tx *pgTx) final() bool { return tx.d.beforeCommit == nil }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// maxDeadConns bounds how many dead pooled connections one writer
// replaces before it reports the failure (after a server restart every
// idle connection of the pool is dead).
const maxDeadConns = 12

// rollbackTimeout bounds a ROLLBACK, which runs detached from ctx.
const rollbackTimeout = 5 * time.Second

// writeTx runs fn in one write transaction and commits when fn returns
// nil: the rule of every PostgreSQL writer (Apply, Delete, Import,
// PruneHistory, migrations, the counts' fold, the limiter).
//
//   - The transaction is READ COMMITTED whatever the server's default, and
//     has the store's settings: lock_timeout and
//     idle_in_transaction_session_timeout are session settings of Open's
//     pool; on a pool given to New they are set with set_config(…, true)
//     in each transaction, leaving the host's sessions alone. BEGIN, the
//     settings and an advisory lock (txOpts) go in the same round trip as
//     the writer's first statement (tx.batch).
//   - Writers lock the rows they change in one global order: numbers
//     ascending, then their count rows in key order. No writer takes a
//     table-wide lock.
//   - fn's statements run under ctx: a cancellation aborts the
//     transaction. fn checks ctx itself while it prepares statements; a
//     cancellation found before anything was sent sends nothing.
//   - The commit never runs under ctx, so a cancellation cannot leave it in
//     doubt: either COMMIT is a round trip of its own, detached from ctx,
//     or it ends the writer's last pipeline (send with final), which then
//     runs detached from ctx and answers a cancellation with a cancel
//     request. A transaction of one statement on Open's sessions (single)
//     is that statement alone, sent the same way, committing as it ends.
//     A COMMIT answered with anything but COMMIT is an error.
//   - On failure the transaction is rolled back, detached from ctx and
//     bounded by rollbackTimeout.
//   - A connection found dead before the transaction reached the server (a
//     server restart, a failover, an idle backend terminated: the first
//     answer, to BEGIN or to the one statement, says so) is dropped and fn
//     runs again on another, up to maxDeadConns times: nothing can have
//     been applied. Any other failure is reported.
//   - A connection left closed, inside a transaction, or sent a cancel
//     request is dropped from the pool rather than handed to the next
//     caller (withPgx).
//   - Lock timeouts, serialization failures and deadlocks match
//     removal.ErrStoreBusy (pgErr).
func (d *pgDriver) writeTx(ctx context.Context, o txOpts, fn func(tx *pgTx) error) error {
	var err error
	for range maxDeadConns {
		var tx *pgTx
		err = d.withPgx(ctx, func(conn *pgx.Conn) (bool, error) {
			tx = &pgTx{d: d, conn: conn, o: o}
			err := fn(tx)
			if err == nil && tx.begun && !tx.done {
				if d.beforeCommit != nil {
					d.beforeCommit()
				}
				err = commit(ctx, conn)
			}
			if err != nil && !conn.IsClosed() && conn.PgConn().TxStatus() != 'I' {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
				_, rerr := conn.Exec(rctx, "ROLLBACK")
				cancel()
				if rerr != nil {
					err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
				}
			}
			if err != nil && tx.cancelled.Load() && ctx.Err() != nil {
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "57014" { // query_canceled: by our request
					err = ctx.Err()
				}
			}
			return tx.cancelled.Load(), err
		})
		if err == nil || tx == nil || !tx.retry || ctx.Err() != nil {
			break
		}
	}
	return pgErr(err)
}

// commit sends COMMIT, detached from ctx, and checks its answer.
func commit(ctx context.Context, conn *pgx.Conn) error {
	tag, err := conn.Exec(context.WithoutCancel(ctx), "COMMIT")
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("commit answered %q", tag.String())
	}
	return nil
}

// withPgx runs fn on a pool connection as a *pgx.Conn, for what
// database/sql cannot express (pipelines, COPY). A connection fn leaves
// closed or inside a transaction, or asks to drop, is dropped from the
// pool rather than handed to the next caller.
func (d *pgDriver) withPgx(ctx context.Context, fn func(*pgx.Conn) (drop bool, err error)) error {
	conn, err := d.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var fnErr error
	err = conn.Raw(func(dc any) error {
		rc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			fnErr = fmt.Errorf("driver connection %T is not pgx", dc)
			return nil
		}
		c := rc.Conn()
		var drop bool
		drop, fnErr = fn(c)
		if drop || c.IsClosed() || c.PgConn().TxStatus() != 'I' {
			return sqldriver.ErrBadConn
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil && !errors.Is(err, sqldriver.ErrBadConn) {
		return fmt.Errorf("connection left unusable: %w", err)
	}
	return nil
}

// pgErr marks the errors a retry may cure (lock_not_available,
// serialization_failure, deadlock_detected) as removal.ErrStoreBusy.
func pgErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "55P03", "40001", "40P01":
			return fmt.Errorf("%w: %w", removal.ErrStoreBusy, err)
		}
	}
	return err
}

// migrate applies the missing migrations in one write transaction, under
// the table's migration lock, which serialises concurrent migrations of
// the table; it waits for locks without lock_timeout.
func (d *pgDriver) migrate(ctx context.Context, ms []Migration) error {
	return d.writeTx(ctx, txOpts{lock: d.lockKey, hasLock: true, noLockTimeout: true}, func(tx *pgTx) error {
		if d.schema != "" {
			// Stores with other prefixes may be creating the same schema
			// now, under their own table's lock; this one serialises them.
			// CREATE SCHEMA IF NOT EXISTS would not: it needs the CREATE
			// privilege on the database even when the schema exists (a host
			// may not grant it), and it can still fail on a concurrent
			// creation.
			if _, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("schema "+d.schema)); err != nil {
				return err
			}
			var exists bool
			if err := tx.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", d.schema).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				if _, err := tx.exec(ctx, "CREATE SCHEMA "+d.n.schema); err != nil {
					return err
				}
			}
		}
		if _, err := tx.exec(ctx, migrationsTableSQL(d.n)); err != nil {
			return err
		}
		var cur int
		if err := tx.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+d.n.migrations).Scan(&cur); err != nil {
			return err
		}
		if cur > len(ms) {
			return &schemaTooNewError{db: cur, known: len(ms)}
		}
		for _, m := range ms[cur:] {
			if _, err := tx.exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
