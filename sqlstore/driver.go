package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// driver is what the Store needs from one database: one method per store
// operation. Each driver owns its SQL, its migrations folder, its
// transaction rule and the mapping of its errors; the Store checks the
// arguments every driver can rely on (see each method) and delegates.
//
// Arguments arrive checked: ctx was not done when the call began, slices
// are not empty, numbers are valid and distinct, records are normalized
// (store.NormalizeAll), times are UTC at microsecond precision, statuses
// are among the four. A driver may return errors matching
// removal.ErrStoreBusy for failures that a retry may cure; the Store adds
// the operation's name.
type driver interface {
	// apply is removal.Store.Apply, c.From not empty.
	apply(ctx context.Context, numbers []e164.Number, c removal.Change, a removal.Audit) ([]removal.Outcome, error)
	// delete is removal.Store.Delete.
	delete(ctx context.Context, numbers []e164.Number, at time.Time, a removal.Audit) ([]removal.Outcome, error)
	// importNumbers is store.Store.Import; at is the events' time.
	importNumbers(ctx context.Context, numbers []store.Number, mode store.ImportMode, at time.Time, a removal.Audit) (store.ImportResult, error)
	// get returns the stored number, and false when it is absent.
	get(ctx context.Context, n e164.Number) (store.Number, bool, error)
	// getMany is removal.Store.GetMany.
	getMany(ctx context.Context, numbers []e164.Number) ([]store.Number, error)
	// list is removal.Store.ListNumbers; q.Statuses holds only valid
	// statuses, each once, in value order.
	list(ctx context.Context, q removal.NumberQuery) ([]store.Number, error)
	// count counts the Operator Connect numbers of one tenant ("" for all)
	// in each status; it needs to be exact only for the statuses asked.
	count(ctx context.Context, msTenantID string, statuses []removal.NumberStatus) ([4]int, error)
	// history is removal.Store.History.
	history(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error)
	// prune is removal.Store.PruneHistory.
	prune(ctx context.Context, before time.Time) (int, error)
	// migrate applies the migrations the database lacks, in order, each
	// one's SQL as given (it records its own version), and refuses a
	// database whose version is newer than len(ms) (schemaTooNewError).
	migrate(ctx context.Context, ms []Migration) error
	// allow counts one request against the limiter name, which allows
	// limit requests in any window; when it refuses, it says how long to
	// wait.
	allow(ctx context.Context, name string, limit int, window time.Duration) (bool, time.Duration, error)
}

// dialect is how the Store reaches one database, registered in dialects
// under each database/sql driver name it serves.
type dialect struct {
	name string // for messages: "SQLite", "PostgreSQL"
	// migrations is the folder of its migrations in migrationFS.
	migrations string
	// schemas tells whether WithSchema applies.
	schemas bool
	// open opens the pool of Open with the dialect's DSN defaults and pool
	// limits, and makes the driver on it. On error it closes what it opened.
	open func(ctx context.Context, driverName, dsn string, c config) (*sqlx.DB, driver, error)
	// newDriver makes the driver on a pool the host owns (New).
	newDriver func(ctx context.Context, db *sqlx.DB, c config) (driver, error)
}

// dialects maps each database/sql driver name the package serves to its
// dialect. sqliteDialect needs cgo; without it, it only explains that.
var dialects = map[string]dialect{
	"sqlite3": sqliteDialect,
	"pgx":     postgresDialect,
	"pgx/v5":  postgresDialect,
}

func dialectOf(driverName string) (dialect, error) {
	d, ok := dialects[driverName]
	if !ok {
		return dialect{}, fmt.Errorf("sqlstore: unsupported driver %q: want \"sqlite3\" or \"pgx\"", driverName)
	}
	return d, nil
}

// storeErr reports a failed call. When ctx is done the caller must see
// ctx.Err(); a failure that the cancellation did not cause is kept beside
// it rather than hidden.
func storeErr(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	switch {
	case cerr != nil && errors.Is(err, cerr):
		return cerr
	case cerr != nil:
		return errors.Join(cerr, fmt.Errorf("sqlstore: %s: %w", op, err))
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// e164Strings converts numbers to the strings the drivers bind.
func e164Strings(ns []e164.Number) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n)
	}
	return out
}

// nullString is s, or nil (SQL NULL) when s is "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// event is one history row a driver writes.
type event struct {
	number   e164.Number
	tenant   string
	from, to *removal.NumberStatus
}

func statusPtr(s removal.NumberStatus) *removal.NumberStatus { return &s }

// check refuses options the dialect cannot honour.
func (d dialect) check(c config) error {
	if c.schema != "" && !d.schemas {
		return fmt.Errorf("sqlstore: WithSchema is for PostgreSQL; %s has no schemas (use WithTablePrefix)", d.name)
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// preallocRows bounds the capacity a list reserves for its rows before
// reading them: a page of a long scan (Reconcile reads 10,000 at a time)
// then fills one array instead of growing through a chain of copies.
const preallocRows = 10_001
