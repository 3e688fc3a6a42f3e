// Package sqlstore is the SQL backend of ocnumbers: a store.Store on SQLite
// (the embedded default, github.com/mattn/go-sqlite3, driver "sqlite3") or
// PostgreSQL (github.com/jackc/pgx/v5/stdlib, driver "pgx"), through sqlx.
// It passes the same store/storetest suite as memstore, on both databases.
// Each database is served by an internal driver of its own; the SQLite one
// needs cgo, and in a build without cgo Open("sqlite3", …) fails with an
// error saying so, while PostgreSQL works.
//
// Open connects and owns the pool; New works on a pool the host already
// has, and Close then leaves it open. Both apply the embedded, versioned
// migrations unless WithoutMigrations is given. The README beside this
// package explains how each database runs each operation, and why, with
// the measurements behind the choices.
//
// When the pool is capped (Open's always is; New's when the host capped it
// before calling New), the store's calls wait for a connection in the
// order they arrive, not in the random order database/sql serves its
// waiters, so that under a full pool no call waits for many that came
// after it. Each call uses one connection at a time.
//
// # Schema
//
// <prefix>numbers: telephone_number (primary key, canonical E.164 text),
// ms_tenant_id (canonical lower-case GUID text), operator_connect
// (boolean; 0/1 on SQLite), status (the integer value of
// removal.NumberStatus, checked 0-3) and status_changed_at (timestamptz on
// PostgreSQL; on SQLite INTEGER Unix microseconds, UTC). Indexes serve the
// list orders: (tenant, number), and for Operator Connect numbers (status,
// number) and (tenant, status, number).
//
// <prefix>history: one row per change, written in the same transaction as
// the change: id (write order), telephone_number, ms_tenant_id, action
// (a removal.EventAction), from_status (NULL when the change inserted the
// number), to_status (NULL when it deleted it), at, trace_id and actor
// (NULL when unknown). Rows outlive their number. Indexed by (number, at
// descending, id descending) for History only: PruneHistory walks the
// table once, in id order on SQLite and in physical order on PostgreSQL.
//
// <prefix>counts holds the number of Operator Connect numbers per status
// and tenant, and per status for all tenants (an empty ms_tenant_id),
// changed by every writer in the transaction of its change; CountByStatus
// (Summary, a list's total) reads them, at a cost that does not depend on
// the number of rows or of tenants. On PostgreSQL writers insert delta rows
// into <prefix>counts_delta instead of updating a row that other writers
// would wait for, and the deltas are folded into counts in the background
// (below). <prefix>rate_limit holds the state of the rate limiters.
// Writing the tables directly bypasses the transition rules, the history
// and the counts.
//
// On PostgreSQL, text columns are COLLATE "C": lists are in byte order. On
// SQLite they use the default BINARY collation, which is byte order too.
//
// # Migrations
//
// Migrations live in migrations/<database>/NNNN_name.sql; applied versions
// are recorded in <prefix>schema_migrations. Store.Migrate runs them from
// Go; Migrate works in one transaction that also serialises concurrent
// migrations of the same tables, so running it twice, or from two
// processes at once, is safe; a database whose recorded version is newer
// than the package knows is refused with ErrSchemaTooNew. A host that
// runs migrations in its own deploy step gets them from Migrations as
// plain SQL with every name filled in for the options, each ending with
// the record of its version, applies those its database lacks in order,
// each in a transaction, and opens the store with WithoutMigrations:
//
//	ms, err := sqlstore.Migrations("sqlite3", sqlstore.WithTablePrefix("oc_"))
//	// for each m in ms beyond the version in oc_schema_migrations:
//	//   BEGIN; <m.SQL>; COMMIT
//	st, err := sqlstore.Open(ctx, "sqlite3", path, sqlstore.WithTablePrefix("oc_"), sqlstore.WithoutMigrations())
//
// WithTablePrefix and WithSchema (PostgreSQL only) place the tables beside
// a host's own; identifiers come only from these options, are checked
// against [a-z_][a-z0-9_]* and quoted. No statement is ever built from
// input values.
//
// Every instance on one database must run a version of this package that
// knows the database's migrations: stop the older ones before a migration
// runs (an older one refuses to open a newer database, but one already
// running may write what the newer schema no longer has).
//
// # Changes
//
// Apply moves each number with a compare-and-set on its current status,
// and Delete deletes a number only if it is ReadyForRemoval, the same way:
// two writers racing on one number can never both change it, nor make a
// move the transition table forbids, and the outcomes equal one-by-one
// processing in request order. Every change writes its history events in
// its transaction, with the trace id and actor of removal.AuditFrom(ctx).
//
// On SQLite a batch is one transaction, applied chunk by chunk of
// removal.ChunkSize numbers: ctx is checked between chunks, and on
// cancellation the chunks done are committed and returned with ctx.Err().
// On PostgreSQL a batch is one statement and one round trip: ctx is checked
// every removal.ChunkSize numbers while it is prepared; a cancellation
// while it runs cancels the statement (nothing applied, ctx's error) unless
// it has already committed (everything applied and reported), so a commit
// is never left in doubt by a cancellation. On a storage failure either
// database rolls back and returns no outcomes: exactly what was applied.
// Only a connection lost while a commit is in flight leaves it in doubt,
// as with any database: the call then reports the failure with no
// outcomes although the batch may have committed; Get tells.
//
// Import (and Put, which is Import with store.Replace) checks every record
// with store.NormalizeAll first, then writes all of them in one
// transaction, or none; ctx is checked between statements and a cancelled
// Import rolls back. Merge keeps a stored number's status and
// StatusChangedAt and takes the record's tenant and Operator Connect flag.
// PruneHistory deletes in chunks of about 10,000 events, a transaction
// each, and, when cancelled, keeps the chunks done; events written while
// it runs may be left for the next call.
//
// Writers: SQLite has one writer at a time (its write lock). PostgreSQL
// writers run in parallel (below). Readers never wait for writers.
// Failures a retry may cure (SQLite still locked after the busy timeout;
// PostgreSQL lock_not_available, serialization_failure,
// deadlock_detected) match removal.ErrStoreBusy.
//
// # SQLite
//
// Open gives a file DSN _synchronous=FULL (every reported success survives
// a power loss; WithSynchronous("NORMAL") or "OFF" give that up for speed:
// a power loss, not a process crash, may then undo reported successes),
// _busy_timeout of the lock timeout (WithLockTimeout, DefaultLockTimeout:
// a writer that waits longer for the write lock fails with an error
// matching removal.ErrStoreBusy), _cache_size=-32768 (32 MiB),
// _foreign_keys=1, _txlock=immediate and _stmt_cache_size=32, unless the
// DSN sets them (or their aliases) itself; a parameter that an option also
// sets is refused. Unless the DSN sets a journal mode, Open switches the
// file to WAL once. The pool holds at most DefaultSQLiteMaxOpenConns (4)
// connections (WithMaxOpenConns): in WAL mode readers never wait, and
// writers take the write lock one at a time with BEGIN IMMEDIATE. An
// in-memory DSN (":memory:", "file::memory:", mode=memory) gets a pool of
// one connection, since every connection would otherwise open its own
// empty database. WithIdleInTransactionTimeout is refused.
//
// New uses the host's pool and DSN as they are, and refuses the options
// that would set them: the host sets _synchronous=FULL (go-sqlite3's
// default is NORMAL), _busy_timeout, WAL journaling and the pool's cap
// itself. Write transactions are BEGIN IMMEDIATE regardless.
//
// The rate limiters read the Go clock (the processes sharing a SQLite
// file share the machine's clock) once they hold the write lock; their
// transactions commit with synchronous=NORMAL, so a power loss can forget
// the last admissions, never a process crash.
//
// # PostgreSQL
//
// PostgreSQL 14 or later (PruneHistory reads the history by TID ranges).
//
// Every statement works under each pgx default_query_exec_mode a DSN may
// set, simple_protocol (PgBouncer) included; locks are transaction-scoped,
// so transaction pooling is safe.
//
// Writers run in parallel: there is no table-wide lock. Each write
// transaction is READ COMMITTED whatever the server's default and locks
// only the rows it changes, in one global order (numbers ascending), so no
// deadlock is possible; concurrent batches on the same numbers give the
// outcomes of some one-by-one order. Imports run one at a time per table
// (an advisory lock of the table's imports; batches do not wait for it).
//
// Bounded waits: a writer waits at most WithLockTimeout (DefaultLockTimeout,
// 5 s: lock_timeout) for a row another writer holds, then fails with an
// error matching removal.ErrStoreBusy, nothing applied; a session of the
// store that stays idle inside a transaction longer than
// WithIdleInTransactionTimeout (DefaultIdleInTransactionTimeout, 30 s:
// idle_in_transaction_session_timeout) is ended by the server, its locks
// released, so a frozen process cannot hold the others. Open sets both on
// its sessions; New sets them inside each of the store's transactions
// (set_config(…, true)), leaving the host's sessions as they are.
// Migrations wait for locks without a bound. An import that runs longer
// than the lock timeout makes batches on its numbers fail with
// ErrStoreBusy: load large inventories in parts, or off-peak.
//
// Open caps its pool at DefaultPostgresMaxOpenConns (10) connections
// unless WithMaxOpenConns says otherwise, and names its sessions
// application_name=ocnumbers unless the DSN names them.
//
// A connection found dead before a statement reached the server (a server
// restart, a failover, an idle backend terminated) is replaced and the
// statement sent again; a failure after it was sent is reported (nothing
// applied, or the exact result).
//
// Counts: each change inserts delta rows, which any process folds into the
// counts in the background, one process at a time, every 1,024 write
// transactions of a process or when a count reads more than 256 deltas.
// CountByStatus reads O(1) rows. Migration 3 fills the counts of an
// existing database; every instance on a database must run a version that
// keeps them.
//
// The rate limiters use the database's clock, so instances on several
// machines agree; their transactions commit asynchronously
// (synchronous_commit off), so a crash of the database server can forget
// the last admissions (up to about 600 ms of them by default).
//
// # Other decisions
//
//   - Store.RateLimiter gives a rate limit kept in the database: at most
//     limit admissions in any interval of length window, counted across
//     every Store on the database and across restarts; refusals are not
//     counted. Its Allow has the signature of removal/httpapi's Limiter.
//   - Every method returns ctx.Err() when the context is already done, and
//     then does nothing.
//   - Arguments outside the contract are errors, with nothing changed: a
//     change with no From status or a status outside 0-3, a list limit
//     below 1 or a negative offset, a history limit below 1. A list
//     filter naming only statuses outside the four matches nothing.
//   - WithoutMigrations also skips the schema version check.
package sqlstore
