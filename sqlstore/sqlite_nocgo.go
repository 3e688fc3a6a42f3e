//go:build !cgo

package sqlstore

import (
	"context"
	"errors"

	"github.com/jmoiron/sqlx"
)

// errSQLiteNeedsCgo is what "sqlite3" gives in a build without cgo.
var errSQLiteNeedsCgo = errors.New(`sqlstore: the SQLite driver ("sqlite3", github.com/mattn/go-sqlite3) needs cgo: ` +
	`build with CGO_ENABLED=1 and a C compiler; PostgreSQL ("pgx") works without cgo`)

// sqliteDialect, in a build without cgo, explains why it cannot serve.
var sqliteDialect = dialect{
	name:       "SQLite",
	migrations: "migrations/sqlite",
	open: func(context.Context, string, string, config) (*sqlx.DB, driver, error) {
		return nil, nil, errSQLiteNeedsCgo
	},
	newDriver: func(context.Context, *sqlx.DB, config) (driver, error) {
		return nil, errSQLiteNeedsCgo
	},
}
