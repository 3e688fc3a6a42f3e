// Package sqlstore is the SQL backend of ocnumbers: a store.Store on SQLite
// (the embedded default, github.com/mattn/go-sqlite3, driver "sqlite3") or
// PostgreSQL (github.com/jackc/pgx/v5/stdlib, driver "pgx"), through sqlx.
// It passes the same store/storetest suite as memstore, on both databases.
//
// Open connects and owns the pool; New works on a pool the host already
// has, and Close then leaves it open. Both apply the embedded, versioned
// migrations unless WithoutMigrations is given.
//
// # Schema
//
// One table, <prefix>numbers: telephone_number (primary key, canonical
// E.164 text), ms_tenant_id (canonical lower-case GUID text),
// operator_connect (boolean; 0/1 on SQLite), status (the integer value of
// removal.NumberStatus, checked 0-3) and status_changed_at (timestamptz on
// PostgreSQL; on SQLite INTEGER Unix microseconds, UTC: exact at the
// precision the store contract keeps, and compared as numbers). A partial
// index on (ms_tenant_id, status) WHERE status IN (2, 3) AND
// operator_connect holds only the rows Summary counts, so Summary reads
// that index and never the table, globally or per tenant.
//
// Migrations live in migrations/<dialect>/NNNN_name.sql; applied versions
// are recorded in <prefix>schema_migrations. They run in one transaction
// that also serialises concurrent Opens (a transaction-scoped advisory lock
// on PostgreSQL, the write lock on SQLite), so running them twice, or from
// two processes at once, is safe. A database whose recorded version is
// newer than the package knows is refused with ErrSchemaTooNew.
// WithTablePrefix and WithSchema (PostgreSQL only) place the tables beside a
// host's own; identifiers come only from these options, are checked against
// [a-z_][a-z0-9_]* and quoted. No statement is ever built from input values.
//
// # Transitions
//
// Apply moves each number with a compare-and-set on its current status, so
// two writers racing on one number can never both move it, nor make a move
// the transition table forbids. The outcomes equal one-by-one processing in
// request order.
//
// SQLite: the batch runs in one BEGIN IMMEDIATE transaction (the write lock
// is taken up front, so no lock upgrade can fail with "database is locked"),
// as prepared single-row conditional UPDATEs, measured faster than one
// IN-list UPDATE; a row is read only when its UPDATE misses, to classify it.
// ctx is checked between chunks of removal.ChunkSize numbers; on
// cancellation the chunks done are committed and returned with ctx.Err().
//
// PostgreSQL: the batch is one transaction, sent in two round trips (a
// round trip per number costs several times more): a pipeline of BEGIN,
// the table's writer lock and one statement for the whole batch, then
// COMMIT (ten statements of removal.ChunkSize numbers measured 10%
// slower, and would be sent together all the same). The statement moves
// the eligible rows with UPDATE … WHERE telephone_number = ANY($3) AND
// operator_connect AND status = ANY($4) RETURNING, and reads the rows it
// missed, to classify them. The writer lock (a transaction-scoped advisory lock
// keyed by the table's schema-qualified name, also taken by Put, Delete and
// migrations) serialises the store's writers on the table, as SQLite's
// write lock does: an UPDATE locks rows in its plan's order, so two
// batches relying on row locks alone could deadlock (PostgreSQL breaks a
// deadlock only after deadlock_timeout, 1 s by default, by failing one of
// them), and the lock also guarantees that no store writer changes a row
// between the compare-and-set and the read that classifies its misses. A
// writer outside the store (plain SQL on the table) still can: the batch
// then sees a miss in a From status, which one-by-one processing could not
// give, and it is rolled back and run again (up to 5 times, then an
// error). The transactions are READ COMMITTED whatever the server's
// default: each statement's snapshot must be taken after the lock is
// granted, so that it sees what the writer before committed.
//
// The table's writers thus run one at a time. A batch holds the lock for
// its two round trips (about 5 ms for 500 numbers on a local server, see
// the README; add the network's round trips for a remote one), and waits
// for a Put or Delete in progress: a Put of a million numbers holds the
// lock for about 2 s, so load large inventories in parts, or off-peak, if
// batch latency matters. Readers (Get, Summary) never wait for it.
//
// ctx is checked every removal.ChunkSize numbers while the batch is
// prepared; a cancellation found then sends nothing. While the pipeline
// runs (waiting for the lock included) the driver watches ctx: a
// cancellation aborts the transaction and nothing is applied. The COMMIT
// runs detached from ctx, so it is never in doubt because of a
// cancellation. Only a connection lost while the COMMIT is in flight
// leaves it in doubt, as with any database: Apply then reports the
// failure with no outcomes although the batch may have committed; Get
// tells, and running the batch again reports the numbers it moved as
// InvalidStatus.
//
// On SQLite, statements and commits run detached from ctx once the
// transaction has begun (ctx bounds only the wait for a connection and for
// the write lock): a cancellation must not abort a chunk halfway nor roll
// back chunks already reported. On any storage failure the transaction is
// rolled back and Apply returns no outcomes: exactly what was durably
// applied.
//
// # SQLite
//
// A file DSN gets _busy_timeout=10000 (ms), _cache_size=-32768 (32 MiB;
// the default 2 MiB does not hold the Summary index of a million numbers),
// _foreign_keys=1, _txlock=immediate and _stmt_cache_size=32 (statements
// are compiled once per connection) unless it sets them (or their aliases)
// itself. Unless it sets a journal mode, Open switches the file to WAL
// once, before migrating (PRAGMA journal_mode=WAL, retried for up to 10 s
// while other processes open the same new file: SQLite can refuse the
// switch at once with "database is locked" rather than wait; WAL then
// stays a property of the file). Writers wait for each other, in one process or several,
// for up to the busy timeout; readers never wait (WAL). An in-memory DSN
// (":memory:", "file::memory:", mode=memory) gets a pool of one connection,
// since every connection would otherwise open its own empty database. For
// New, the host's DSN is used as it is; write transactions are immediate
// regardless.
//
// # PostgreSQL
//
// Apply, Put, Delete and migrations take the writer lock (above), so the
// store's writers never deadlock with each other. Stores sharing a table
// share the lock whether they name its schema (WithSchema) or find it
// through search_path: the key uses current_schema() then. Every
// statement works under each pgx default_query_exec_mode a DSN may set,
// simple_protocol (PgBouncer in transaction mode) included; locks are
// transaction-scoped, so transaction pooling is safe. Put of 2,000 numbers or more uses COPY into the
// table inside a savepoint, and falls back to array upserts in the same
// transaction when a number is already stored; smaller Puts are one
// INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE.
//
// # Put
//
// Put normalizes every record (store.Normalize's rules; a rejected Put
// returns store.NormalizeAll's error) and writes everything in one
// transaction, or nothing: SQLite uses prepared multi-row inserts of 100
// rows; PostgreSQL as above. From 2,000 records, records are normalized
// while earlier ones are written (on another goroutine for SQLite, as pgx
// encodes them for COPY). ctx is checked between statements; a cancelled
// Put rolls back.
//
// # Other decisions
//
//   - CountByStatus for MarkedForRemoval and ReadyForRemoval (what Summary
//     asks) repeats the partial index's WHERE clause term for term, so both
//     planners prove the index applies; other statuses are counted from
//     the table.
//   - WithoutMigrations also skips the schema version check.
//   - Delete of an absent number is not an error and counts nothing.
package sqlstore
