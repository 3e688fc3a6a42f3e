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

	"github.com/jmoiron/sqlx"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string // with {{...}} placeholders
}

// loadMigrations reads the dialect's migrations, NNNN_name.sql, in version
// order. Versions start at 1 and have no gaps.
func loadMigrations(d dialect) ([]migration, error) {
	dir := "migrations/sqlite"
	if d == postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: bad migration file name %q", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// ErrSchemaTooNew matches (errors.Is) the error Open and New return for a
// database migrated by a newer version of this package.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this library knows")

type schemaTooNewError struct{ db, known int }

func (e *schemaTooNewError) Error() string {
	return fmt.Sprintf("sqlstore: database schema version %d is newer than this library knows (%d); upgrade github.com/ocnumbers/ocnumbers", e.db, e.known)
}

func (e *schemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// migrate brings the schema to the newest version, in one transaction that
// also serialises concurrent Opens: writeTx holds PostgreSQL's advisory
// lock or SQLite's write lock.
func (s *Store) migrate(ctx context.Context, c config) error {
	ms, err := loadMigrations(s.d)
	if err != nil {
		return err
	}
	rep := strings.NewReplacer(
		"{{numbers}}", s.q.table,
		"{{numbers_removal_idx}}", s.q.index,
	)
	err = s.writeTx(ctx, func(tx txRunner) error {
		if s.d == postgres {
			if c.schema != "" {
				// Stores with other prefixes may be creating the same schema
				// now, under their own table's lock; this one serialises them.
				// CREATE SCHEMA IF NOT EXISTS would not: it needs the CREATE
				// privilege on the database even when the schema exists (a host
				// may not grant it), and it can still fail on a concurrent
				// creation.
				if _, err := tx.ExecContext(ctx, lockSQL, lockKey("schema "+c.schema)); err != nil {
					return err
				}
				var exists bool
				if err := tx.GetContext(ctx, &exists, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", c.schema); err != nil {
					return err
				}
				if !exists {
					if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+s.q.schema); err != nil {
						return err
					}
				}
			}
		}
		create := "CREATE TABLE IF NOT EXISTS " + s.q.migrations + " (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL)"
		if _, err := tx.ExecContext(ctx, create); err != nil {
			return err
		}
		var cur int
		if err := tx.GetContext(ctx, &cur, "SELECT COALESCE(MAX(version), 0) FROM "+s.q.migrations); err != nil {
			return err
		}
		if cur > len(ms) {
			return &schemaTooNewError{db: cur, known: len(ms)}
		}
		for _, m := range ms[cur:] {
			if _, err := tx.ExecContext(ctx, rep.Replace(m.sql)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			ins := sqlx.Rebind(s.bind(), "INSERT INTO "+s.q.migrations+" (version, name) VALUES (?, ?)")
			if _, err := tx.ExecContext(ctx, ins, m.version, m.name); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

func (s *Store) bind() int {
	if s.d == postgres {
		return sqlx.DOLLAR
	}
	return sqlx.QUESTION
}
