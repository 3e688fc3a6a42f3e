// Command server serves the ocnumbers HTTP API from a SQLite file or a
// PostgreSQL database, and runs the workflow's two jobs (reconciliation with
// the Operator Connect acquired list, purge) as one-shot commands for cron.
//
//	go run ./examples/server -demo
//
// With no flags it listens on 127.0.0.1:8080 and keeps its data in
// ./ocnumbers.db, created and migrated on first start. It prints its URL and
// a ready-to-paste curl line on stdout once it accepts connections; logs go
// to stderr.
//
// Flags:
//
//	-addr host:port        listen address (default 127.0.0.1:8080; port 0 picks a free one)
//	-db FILE               SQLite database file (default ./ocnumbers.db)
//	-postgres DSN          use PostgreSQL instead of SQLite
//	-pg-schema NAME        PostgreSQL schema for the tables (created if missing)
//	-import FILE.csv       load inventory before serving (see inventory.example.csv)
//	-import-mode M         merge (default: numbers already stored keep their status) or replace
//	-demo                  load a small demo inventory when the store holds no Operator Connect number
//	-actor-header NAME     request header naming who made a request, kept in the numbers' history
//	-rate-limit N          ready-for-removal requests allowed per -rate-window (default 300)
//	-rate-window D         the rate limiter's sliding window (default 1m)
//	-rate-limit-store S    db (default: counted in the database, one limit for all instances on it,
//	                       kept across restarts) or memory (this process only)
//	-max-in-flight N       requests served at once; past it 503 ServiceUnavailable with Retry-After: 1 (default 64)
//	-max-conns N           connections kept open; past it an idle one is closed, or the new one if none is idle (default 1024)
//	-read-header-timeout D, -read-timeout D, -write-timeout D, -idle-timeout D
//	                       http.Server timeouts (defaults 5s, 30s, 60s, 120s)
//	-log-level L           DEBUG, INFO (default: one line per request), WARN or ERROR
//	-shutdown-timeout D    how long in-flight requests may run after SIGINT/SIGTERM (default 30s)
//
// One-shot jobs (they print their report as JSON on stdout and exit, serving
// nothing; -import runs first when given):
//
//	-reconcile TENANT=FILE.csv   reconcile a tenant with its acquired list (a CSV with a telephoneNumber column)
//	    -dry-run, -force, -clear-reappeared, -max-mark-percent N (default 10)
//	-purge-older-than-days N     purge the numbers ReadyForRemoval for at least N days, 10,000 per call until none is left
//	    -dry-run, -purge-tenant GUID, -purge-limit N
//
// Exit status: 0 on success, 1 on any failure, 3 when the reconciliation's
// guard refused the run (the report it would give is printed all the same).
//
// Decisions:
//
//   - -db and -postgres together are an error, not a silent choice.
//   - -import runs before -demo and before the listener opens: when it fails
//     the process exits with status 1 and never listens. By default an
//     import merges: a number already stored keeps its status and its
//     statusChangedAt, so restarting with the same -import never undoes the
//     workflow; -import-mode replace writes every column, to restore a
//     backup. The log says how many numbers were inserted, updated, and how
//     many stored statuses were kept although the file said otherwise.
//   - "Empty" for -demo means the store counts no Operator Connect number in
//     any status; the demo is then loaded, otherwise it is skipped (the log
//     says why, and how to start fresh) so a restart keeps earlier changes.
//   - The demo holds the numbers +14255551212 and +14255551213 in
//     MarkedForRemoval, so the README's curl lines work on a fresh database.
//   - The purge job deletes unless -dry-run is given: a cron line is an
//     explicit request. (The HTTP route, called by hand, defaults to a dry run.)
//   - Shutdown stops accepting, lets in-flight requests (whole batches) finish
//     for up to -shutdown-timeout, then closes the store. Request contexts are
//     not derived from the signal, so the signal alone never cuts a batch
//     short; only when -shutdown-timeout expires are the remaining requests
//     cancelled (a running batch then stops between chunks, each number
//     atomic, and is answered 503 RequestCancelled when its client is
//     still there) and their connections closed, and the process exits with
//     status 1.
//   - Timeout defaults: a 1 MiB body gets 30s to arrive and a 500-number
//     batch 60s to be answered; headers get 5s, so slow-header clients are
//     cut off early. Tests shorten them with the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var es *exitStatus
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &es):
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(es.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, db, postgres, pgSchema   string
	importFile                     string
	importMode                     store.ImportMode
	demo                           bool
	actorHeader                    string
	jobs                           jobConfig
	logLevel                       slog.Level
	rateLimit                      int
	rateWindow                     time.Duration
	rateLimitStore                 string
	maxInFlight                    int
	maxConns                       int
	readHeaderTimeout, readTimeout time.Duration
	writeTimeout, idleTimeout      time.Duration
	shutdownTimeout                time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	fs.StringVar(&c.db, "db", "./ocnumbers.db", "SQLite database file, created and migrated if needed")
	fs.StringVar(&c.postgres, "postgres", "", "PostgreSQL DSN, instead of SQLite")
	fs.StringVar(&c.pgSchema, "pg-schema", "", "PostgreSQL schema for the tables (created if missing); default: the DSN's search_path")
	fs.StringVar(&c.importFile, "import", "", "CSV inventory to load before serving (columns: see inventory.example.csv)")
	fs.Func("import-mode", "what -import does to numbers already stored: merge (default: keep their status) or replace (write every column, to restore a backup)", func(v string) error {
		m, err := store.ParseImportMode(v)
		c.importMode = m
		return err
	})
	fs.StringVar(&c.actorHeader, "actor-header", "", "request header naming who made a request, recorded in the history of the numbers it changes (default: none)")
	c.jobs.flags(fs)
	fs.BoolVar(&c.demo, "demo", false, "load a demo inventory when the store holds no Operator Connect number")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "lowest level logged to stderr: DEBUG, INFO (one line per request), WARN, ERROR")
	fs.IntVar(&c.rateLimit, "rate-limit", 300, "ready-for-removal requests allowed per -rate-window")
	fs.DurationVar(&c.rateWindow, "rate-window", time.Minute, "sliding window of the ready-for-removal rate limit")
	fs.StringVar(&c.rateLimitStore, "rate-limit-store", "db", "where the ready-for-removal limit is counted: db (in the database, one limit for every instance on it, kept across restarts) or memory (this process only)")
	fs.IntVar(&c.maxInFlight, "max-in-flight", httpapi.DefaultMaxInFlight, "requests served at once, bodies still arriving included; past it 503 ServiceUnavailable with Retry-After: 1")
	fs.IntVar(&c.maxConns, "max-conns", 1024, "connections kept open at once; past it an idle keep-alive connection is closed, or the new one when none is idle")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 5*time.Second, "http.Server ReadHeaderTimeout")
	fs.DurationVar(&c.readTimeout, "read-timeout", 30*time.Second, "http.Server ReadTimeout")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 60*time.Second, "http.Server WriteTimeout")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 120*time.Second, "http.Server IdleTimeout")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight requests get to finish on SIGINT/SIGTERM")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["db"] && set["postgres"] {
		return c, errors.New("-db and -postgres are exclusive")
	}
	if c.pgSchema != "" && c.postgres == "" {
		return c, errors.New("-pg-schema needs -postgres")
	}
	if c.rateLimit < 1 || c.rateWindow <= 0 {
		return c, errors.New("-rate-limit and -rate-window must be positive")
	}
	if c.rateLimitStore != "db" && c.rateLimitStore != "memory" {
		return c, fmt.Errorf("-rate-limit-store %q: want db or memory", c.rateLimitStore)
	}
	if c.maxInFlight < 1 {
		return c, errors.New("-max-in-flight must be positive")
	}
	if c.maxConns < c.maxInFlight {
		return c, fmt.Errorf("-max-conns %d must be at least -max-in-flight (%d)", c.maxConns, c.maxInFlight)
	}
	if err := c.jobs.check(set); err != nil {
		return c, err
	}
	return c, nil
}

// run is the whole program; main adds only signals and the exit status, so
// tests can start and stop the server in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))

	st, backend, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()

	if c.importFile != "" {
		log.Info("importing inventory", "file", c.importFile, "mode", c.importMode)
		res, err := importFile(ctx, st, c.importFile, c.importMode)
		if err != nil {
			return fmt.Errorf("import %s: %w", c.importFile, err)
		}
		log.Info("imported inventory", "file", c.importFile, "mode", c.importMode,
			"inserted", res.Inserted, "updated", res.Updated, "statusKept", res.StatusKept)
	}
	if c.demo {
		held, err := loadDemo(ctx, st)
		switch {
		case err != nil:
			return fmt.Errorf("demo inventory: %w", err)
		case held > 0:
			fresh := "delete " + c.db + " (or start with -db NEW_FILE)"
			if c.postgres != "" {
				fresh = "start with -pg-schema NEW_SCHEMA"
			}
			log.Info("demo inventory not loaded: the store already holds Operator Connect numbers, and the demo never overwrites them; to start fresh, stop the server and "+fresh,
				"numbers", held)
		default:
			log.Info("demo inventory loaded", "numbers", len(demoInventory(time.Time{})))
		}
	}

	svc := removal.NewService(st)
	if c.jobs.any() {
		return c.jobs.run(ctx, svc, stdout)
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	var limiter httpapi.Limiter = httpapi.NewSlidingWindow(c.rateLimit, c.rateWindow, time.Now)
	if c.rateLimitStore == "db" {
		// Every instance on the database shares one limit under this name,
		// so they must all run with the same -rate-limit and -rate-window.
		l, err := st.RateLimiter(httpapi.RouteReadyForRemoval, c.rateLimit, c.rateWindow)
		if err != nil {
			return err
		}
		limiter = l
	}
	opts := []httpapi.Option{
		httpapi.WithLogger(log),
		httpapi.WithRateLimiter(limiter),
		httpapi.WithMaxInFlight(c.maxInFlight),
	}
	if name := c.actorHeader; name != "" {
		opts = append(opts, httpapi.WithActor(func(r *http.Request) string { return r.Header.Get(name) }))
	}
	h := httpapi.New(svc, opts...)
	// Requests live under base; cancelling it with a cause (when
	// -shutdown-timeout expires) stops running batches between chunks,
	// which a plain connection close does not (see httpapi: a batch
	// outlives its client's connection).
	base, stopAll := context.WithCancelCause(context.Background())
	defer stopAll(nil)
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return base },
		Handler:           h,
		ReadHeaderTimeout: c.readHeaderTimeout,
		ReadTimeout:       c.readTimeout,
		WriteTimeout:      c.writeTimeout,
		IdleTimeout:       c.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ConnState:         newConnCap(c.maxConns).track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "ocnumbers server on %s (%s)\n", url, backend)
	fmt.Fprintf(stdout, "try: curl -s '%s%s'\n", url, httpapi.RouteSummary)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests", "timeout", c.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		stopAll(errShutdownTimeout)
		srv.Close()
		<-serveErr
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// errShutdownTimeout cancels the requests still running when
// -shutdown-timeout expires.
var errShutdownTimeout = errors.New("server shutting down: -shutdown-timeout expired")

func openStore(ctx context.Context, c config, log *slog.Logger) (*sqlstore.Store, string, error) {
	if c.postgres != "" {
		var opts []sqlstore.Option
		if c.pgSchema != "" {
			opts = append(opts, sqlstore.WithSchema(c.pgSchema))
		}
		log.Info("opening PostgreSQL (the first start creates and migrates the tables)")
		st, err := sqlstore.Open(ctx, "pgx", c.postgres, opts...)
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL: %w", err)
		}
		schema := c.pgSchema
		if schema == "" {
			// Without -pg-schema the tables live in the DSN's search_path.
			if err := st.DB().GetContext(ctx, &schema, "SELECT COALESCE(current_schema(), '')"); err != nil {
				st.Close()
				return nil, "", fmt.Errorf("open PostgreSQL: %w", err)
			}
			log.Info("PostgreSQL: no -pg-schema given; the tables are in the first schema of the DSN's search_path", "schema", schema)
		} else {
			log.Info("PostgreSQL", "schema", schema)
		}
		return st, "PostgreSQL, schema " + schema, nil
	}
	if err := checkWritableDir(c.db); err != nil {
		return nil, "", fmt.Errorf("SQLite database %s: %w", c.db, err)
	}
	log.Info("opening SQLite (created and migrated on first use)", "file", c.db)
	st, err := sqlstore.Open(ctx, "sqlite3", c.db)
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite %s: %w", c.db, err)
	}
	return st, "SQLite " + c.db, nil
}

// checkWritableDir says why SQLite could not create or write path, before
// SQLite answers with a bare "no such file or directory".
func checkWritableDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist; create it or choose another -db", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	// SQLite writes the file and its -wal and -shm files beside it.
	f, err := os.CreateTemp(dir, ".ocnumbers-write-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable (SQLite keeps the file and its -wal and -shm files there): %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func importFile(ctx context.Context, st store.Store, path string, mode store.ImportMode) (store.ImportResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return store.ImportResult{}, err
	}
	defer f.Close()
	return store.ImportCSV(ctx, st, f, store.ImportOptions{Mode: mode})
}
