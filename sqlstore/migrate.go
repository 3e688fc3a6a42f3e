package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one version of a database's schema, as plain SQL ready to
// run: every table and index name is filled in for the options given to
// Migrations. SQL ends by recording the version in the
// <prefix>schema_migrations table (created by version 1 if missing), so a
// database migrated by hand, version after version, is one that Open and
// Store.Migrate recognise.
type Migration struct {
	Version int    // 1, 2, …: applied in this order, each once
	Name    string // the file name, such as "0001_init.sql"
	SQL     string
}

// Migrations returns the migrations of the database that driverName
// ("sqlite3" or "pgx") reaches, rendered for opts (WithTablePrefix,
// WithSchema; the others do not matter), in version order. With WithSchema
// the schema must exist before the first one runs (Store.Migrate creates
// it). Each migration is one transaction's worth: a host that applies
// them itself should run each in a transaction of its own, or all in one.
func Migrations(driverName string, opts ...Option) ([]Migration, error) {
	d, err := dialectOf(driverName)
	if err != nil {
		return nil, err
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := d.check(c); err != nil {
		return nil, err
	}
	return renderMigrations(d, namesOf(c))
}

// renderMigrations reads the dialect's migrations, NNNN_name.sql, in
// version order, and fills in their names. Versions start at 1 and have
// no gaps.
func renderMigrations(d dialect, n names) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, d.migrations)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") || strings.ContainsAny(e.Name(), `'\`) {
			return nil, fmt.Errorf("sqlstore: bad migration file name %q", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(d.migrations, e.Name()))
		if err != nil {
			return nil, err
		}
		body := n.fill(string(b))
		if i := strings.Index(body, "{{"); i >= 0 {
			rest, _, _ := strings.Cut(body[i:], "}}")
			return nil, fmt.Errorf("sqlstore: migration %s: unknown placeholder %s}}", e.Name(), rest)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: body})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := range ms {
		m := &ms[i]
		if m.Version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s: want version %d", m.Name, i+1)
		}
		var b strings.Builder
		if m.Version == 1 {
			b.WriteString(migrationsTableSQL(n) + ";\n\n")
		}
		b.WriteString(strings.TrimRight(m.SQL, "\n"))
		fmt.Fprintf(&b, "\n\nINSERT INTO %s (version, name) VALUES (%d, '%s');\n", n.migrations, m.Version, m.Name)
		m.SQL = b.String()
	}
	return ms, nil
}

// migrationsTableSQL creates the table that records the applied versions.
// It is the same on every database.
func migrationsTableSQL(n names) string {
	return "CREATE TABLE IF NOT EXISTS " + n.migrations + " (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL)"
}

// ErrSchemaTooNew matches (errors.Is) the error Open, New and Migrate
// return for a database migrated by a newer version of this package.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this library knows")

type schemaTooNewError struct{ db, known int }

func (e *schemaTooNewError) Error() string {
	return fmt.Sprintf("sqlstore: database schema version %d is newer than this library knows (%d); upgrade github.com/ocnumbers/ocnumbers", e.db, e.known)
}

func (e *schemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// Migrate brings the store's tables to the newest schema version, applying
// the migrations the database lacks (those of Migrations), in one
// transaction that also serialises concurrent migrations of the same
// tables; with WithSchema it creates the schema if missing. Open and New
// call it unless WithoutMigrations is given. A database whose schema is
// newer than this package knows is refused with an error matching
// ErrSchemaTooNew.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := renderMigrations(s.dialect, s.names)
	if err != nil {
		return err
	}
	if err := s.drv.migrate(ctx, ms); err != nil {
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		return storeErr(ctx, "migrate", err)
	}
	return nil
}
