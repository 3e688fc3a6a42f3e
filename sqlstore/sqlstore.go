package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on a SQL database. It is safe for concurrent use,
// also by several processes sharing one database.
type Store struct {
	db      *sqlx.DB
	owned   bool // Close closes db only when Open created it
	dialect dialect
	names   names
	drv     driver
}

// DefaultSQLiteMaxOpenConns is the cap of the pool Open creates on a
// SQLite file: in WAL mode readers never wait, and writers take the write
// lock one at a time anyway.
const DefaultSQLiteMaxOpenConns = 4

// DefaultPostgresMaxOpenConns caps the pool Open creates on PostgreSQL
// unless WithMaxOpenConns says otherwise: a modest share of a server's
// max_connections (100 by default), enough to keep the writers busy.
const DefaultPostgresMaxOpenConns = 10

// Open connects to a database and returns a Store that owns the connection
// pool. driverName is "sqlite3" (github.com/mattn/go-sqlite3, which needs
// cgo) or "pgx" (github.com/jackc/pgx/v5/stdlib, which does not); this
// package registers both.
//
// For SQLite, a file DSN gets WAL journaling, synchronous=FULL, a busy
// timeout of the lock timeout (WithLockTimeout), a 32 MiB page cache,
// foreign keys and immediate write transactions unless the DSN sets those
// parameters itself, and a pool of DefaultSQLiteMaxOpenConns connections
// (WithMaxOpenConns); an in-memory DSN (":memory:", "file::memory:",
// "mode=memory") gets a pool of one connection, since each connection would
// otherwise see its own empty database.
//
// Unless WithoutMigrations is given, Open applies the embedded migrations
// (see Migrate) and refuses a database whose schema is newer than this
// package knows.
func Open(ctx context.Context, driverName, dsn string, opts ...Option) (*Store, error) {
	d, c, err := setup(driverName, opts)
	if err != nil {
		return nil, err
	}
	db, drv, err := d.open(ctx, driverName, dsn, c)
	if err != nil {
		return nil, err
	}
	s, err := start(ctx, db, d, c, drv)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New returns a Store on a pool the host application owns: Close leaves
// it open. The pool's driver must be "sqlite3" or "pgx" (or "pgx/v5"). For
// SQLite the pool and its DSN are the host's, so set there what Open sets
// (see the package doc): _synchronous=FULL (go-sqlite3's default, NORMAL,
// may lose the last successes to a power loss), _busy_timeout, WAL
// journaling and a cap on the pool; New refuses the options that would set
// them. Write transactions are immediate whatever the DSN says.
// Migrations, if any, run with context.Background().
func New(db *sqlx.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New with a nil *sqlx.DB")
	}
	d, c, err := setup(db.DriverName(), opts)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	drv, err := d.newDriver(ctx, db, c)
	if err != nil {
		return nil, err
	}
	return start(ctx, db, d, c, drv)
}

func setup(driverName string, opts []Option) (dialect, config, error) {
	d, err := dialectOf(driverName)
	if err != nil {
		return dialect{}, config{}, err
	}
	c, err := newConfig(opts)
	if err != nil {
		return dialect{}, config{}, err
	}
	return d, c, d.check(c)
}

func start(ctx context.Context, db *sqlx.DB, d dialect, c config, drv driver) (*Store, error) {
	s := &Store{db: db, dialect: d, names: namesOf(c), drv: queue(drv, db.Stats().MaxOpenConnections)}
	if !c.noMigrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close closes the connection pool if Open created it; a pool given to New
// is left open for its owner.
func (s *Store) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// DB returns the underlying pool, for host applications that join the
// store's tables with their own. Writing to the tables directly bypasses
// the transition rules and the history.
func (s *Store) DB() *sqlx.DB { return s.db }

// TableName returns the quoted, possibly schema-qualified name of the
// numbers table, as it appears in the store's SQL.
func (s *Store) TableName() string { return s.names.numbers }

// HistoryTableName returns the quoted, possibly schema-qualified name of
// the history table, as it appears in the store's SQL.
func (s *Store) HistoryTableName() string { return s.names.history }

// Apply implements removal.Store. A change that is not a move of a batch
// action (removal.Change.Validate), or a batch that names a number twice,
// is refused with nothing applied; text that is not E.164 among the
// numbers is not found and never sent. See the
// package doc for how each database runs a batch.
func (s *Store) Apply(ctx context.Context, numbers []e164.Number, c removal.Change) ([]removal.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sqlstore: apply: %w", err)
	}
	if len(numbers) == 0 {
		return []removal.Outcome{}, nil
	}
	c.At = c.At.UTC().Truncate(time.Microsecond)
	out, err := onValid(numbers, func(valid []e164.Number) ([]removal.Outcome, error) {
		return s.drv.apply(ctx, valid, c, removal.AuditFrom(ctx))
	})
	if err != nil {
		return out, storeErr(ctx, "apply", err)
	}
	return out, nil
}

// onValid refuses a batch that names a number twice (nothing is run), and
// runs it on the numbers that are E.164, giving the others
// Outcome{} (never stored, so not found), in the order of numbers: the
// contract says all are valid, but text that is not (a NUL, say) must
// neither reach a database that refuses it nor be read as another number.
// When run returns fewer outcomes than it was given numbers (a
// cancellation), the result ends before the first valid number without one.
func onValid(numbers []e164.Number, run func(valid []e164.Number) ([]removal.Outcome, error)) ([]removal.Outcome, error) {
	seen := make(map[e164.Number]int, len(numbers))
	for i, n := range numbers {
		if j, dup := seen[n]; dup {
			return nil, fmt.Errorf("numbers[%d] and numbers[%d] are both %s: a batch's numbers must be distinct", j, i, n)
		}
		seen[n] = i
	}
	isBad := func(n e164.Number) bool { _, err := e164.Parse(string(n)); return err != nil }
	if !slices.ContainsFunc(numbers, isBad) {
		return run(numbers)
	}
	var valid []e164.Number
	var at []int // at[i] is the index in numbers of valid[i]
	for i, n := range numbers {
		if !isBad(n) {
			valid, at = append(valid, n), append(at, i)
		}
	}
	var got []removal.Outcome
	var err error
	if len(valid) > 0 {
		got, err = run(valid)
	}
	out := make([]removal.Outcome, len(numbers))
	got = got[:min(len(got), len(valid))] // more is the caller's to refuse
	for i, o := range got {
		out[at[i]] = o
	}
	if len(got) < len(valid) {
		out = out[:at[len(got)]]
	}
	return out, err
}

// Delete implements removal.Store: it deletes the ReadyForRemoval numbers
// among numbers, with the outcomes and the rules of ctx of Apply.
func (s *Store) Delete(ctx context.Context, numbers []e164.Number, at time.Time) ([]removal.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(numbers) == 0 {
		return []removal.Outcome{}, nil
	}
	out, err := onValid(numbers, func(valid []e164.Number) ([]removal.Outcome, error) {
		return s.drv.delete(ctx, valid, at.UTC().Truncate(time.Microsecond), removal.AuditFrom(ctx))
	})
	if err != nil {
		return out, storeErr(ctx, "delete", err)
	}
	return out, nil
}

// Put implements store.Store: Import with store.Replace.
func (s *Store) Put(ctx context.Context, numbers ...store.Number) error {
	_, err := s.Import(ctx, numbers, store.ImportOptions{Mode: store.Replace})
	return err
}

// Import implements store.Store: every record is checked with
// store.NormalizeAll before any is written, then all are written in one
// transaction, or none. ctx is checked between statements; a cancelled
// Import rolls back.
func (s *Store) Import(ctx context.Context, numbers []store.Number, opts store.ImportOptions) (store.ImportResult, error) {
	if err := ctx.Err(); err != nil {
		return store.ImportResult{}, err
	}
	if opts.Mode != store.Merge && opts.Mode != store.Replace {
		return store.ImportResult{}, fmt.Errorf("sqlstore: import: unknown mode %s", opts.Mode)
	}
	if len(numbers) == 0 {
		return store.ImportResult{}, nil
	}
	norm, err := store.NormalizeAll(numbers)
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("sqlstore: import: %w", err)
	}
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	res, err := s.drv.importNumbers(ctx, norm, opts.Mode, at.UTC().Truncate(time.Microsecond), removal.AuditFrom(ctx))
	if err != nil {
		return store.ImportResult{}, storeErr(ctx, "import", err)
	}
	return res, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, n e164.Number) (store.Number, error) {
	if err := ctx.Err(); err != nil {
		return store.Number{}, err
	}
	got, ok, err := s.drv.get(ctx, n)
	if err != nil {
		return store.Number{}, storeErr(ctx, "get "+string(n), err)
	}
	if !ok {
		return store.Number{}, fmt.Errorf("sqlstore: get %s: %w", n, store.ErrNotFound)
	}
	return got, nil
}

// GetMany implements removal.Store.
func (s *Store) GetMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(numbers) == 0 {
		return []store.Number{}, nil
	}
	out, err := s.drv.getMany(ctx, numbers)
	if err != nil {
		return nil, storeErr(ctx, "get", err)
	}
	if out == nil {
		out = []store.Number{} // as memstore: none found is an empty list
	}
	return out, nil
}

// ListNumbers implements removal.Store. A query outside the contract (a
// limit below 1, a negative offset) is an error; a status filter that
// names only statuses outside the four matches nothing.
func (s *Store) ListNumbers(ctx context.Context, q removal.NumberQuery) ([]store.Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Offset < 0 {
		return nil, fmt.Errorf("sqlstore: list: limit %d and offset %d: want a limit of at least 1 and an offset of at least 0", q.Limit, q.Offset)
	}
	if len(q.Statuses) > 0 {
		var valid []removal.NumberStatus
		for _, st := range q.Statuses {
			if st.Valid() {
				valid = append(valid, st)
			}
		}
		if len(valid) == 0 {
			return nil, nil
		}
		slices.Sort(valid)
		q.Statuses = slices.Compact(valid)
	}
	if !q.ChangedAtOrBefore.IsZero() {
		q.ChangedAtOrBefore = q.ChangedAtOrBefore.UTC().Truncate(time.Microsecond)
	}
	out, err := s.drv.list(ctx, q)
	if err != nil {
		return nil, storeErr(ctx, "list", err)
	}
	return out, nil
}

// CountByStatus implements removal.Store from the counts (see the package
// doc), never by counting rows: O(1) rows per status asked, for a tenant
// or for all of them.
func (s *Store) CountByStatus(ctx context.Context, msTenantID string, statuses []removal.NumberStatus) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	byStatus, err := s.drv.count(ctx, msTenantID, statuses)
	if err != nil {
		return nil, storeErr(ctx, "count", err)
	}
	counts := make([]int, len(statuses))
	for i, st := range statuses {
		if st.Valid() {
			counts[i] = byStatus[st]
		}
	}
	return counts, nil
}

// History implements removal.Store. A negative offset or a limit below 1
// is an error.
func (s *Store) History(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if limit < 1 || offset < 0 {
		return nil, 0, fmt.Errorf("sqlstore: history: limit %d and offset %d: want a limit of at least 1 and an offset of at least 0", limit, offset)
	}
	events, total, err := s.drv.history(ctx, n, offset, limit)
	if err != nil {
		return nil, 0, storeErr(ctx, "history "+string(n), err)
	}
	return events, total, nil
}

// PruneHistory implements removal.Store: each chunk of events is deleted
// in a transaction of its own, and a cancelled prune returns the count of
// the chunks done with ctx's error.
func (s *Store) PruneHistory(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Events are kept to the microsecond: a cut inside one is the next, so
	// that an event at T is pruned by any before after T.
	cut := before.UTC().Truncate(time.Microsecond)
	if cut.Before(before) {
		cut = cut.Add(time.Microsecond)
	}
	k, err := s.drv.prune(ctx, cut)
	if err != nil {
		return k, storeErr(ctx, "prune history", err)
	}
	return k, nil
}

// sortNumbers sorts records by telephone number, in byte order.
func sortNumbers(ns []store.Number) {
	slices.SortFunc(ns, func(a, b store.Number) int { return cmp.Compare(a.TelephoneNumber, b.TelephoneNumber) })
}
