//go:build cgo

package sqlstore

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// allow runs one admission decision in a write transaction, so that two
// processes can never both take the last place of a window. The time is
// read once the write lock is held, from the Go clock, which every process
// on the machine shares; an admission is stamped no earlier than the one
// before it, so numbering (seq) and time agree even if the clock steps
// back. The request is admitted when the admission limit places before
// it, if still kept, is at least window old; it then takes the next
// number, and the admissions before the last limit are deleted.
//
// Its commit does not wait for the disk (synchronous=NORMAL for this
// transaction only): a crash of the process loses nothing, and a power
// loss can only forget admissions of the last moments, which a limit's
// window has usually let go by the time the machine is back.
func (d *sqliteDriver) allow(ctx context.Context, name string, limit int, window time.Duration) (bool, time.Duration, error) {
	var ok bool
	var wait time.Duration
	err := d.tx(ctx, true, func(ctx context.Context, conn *sqlx.Conn) error {
		ok, wait = false, 0
		now := d.now().UnixMicro()
		var seq, last int64
		err := conn.QueryRowContext(ctx, d.q.rateLast, name).Scan(&seq, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		at := max(now, last)
		w := window.Microseconds()
		var oldest int64
		err = conn.QueryRowContext(ctx, d.q.rateAt, name, seq-int64(limit)+1).Scan(&oldest)
		switch {
		case err == nil && oldest > at-w:
			wait = min(time.Duration(oldest+w-at)*time.Microsecond, window)
			return nil // refused: nothing to write
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := conn.ExecContext(ctx, d.q.rateAdd, name, seq+1, at); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, d.q.rateTrim, name, seq+1-int64(limit)); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return ok, wait, nil
}

// relaxSync sets PRAGMA synchronous=NORMAL on conn for one transaction
// when the pool's level is higher, and returns what restores it; SQLite
// does not allow the change inside a transaction. A connection whose level
// could not be restored is dropped from the pool.
func (d *sqliteDriver) relaxSync(ctx context.Context, conn *sqlx.Conn) (restore func(), err error) {
	if d.synchronous <= 1 {
		return func() {}, nil
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return nil, err
	}
	return func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA synchronous = %d", d.synchronous)); err != nil {
			conn.Raw(func(any) error { return sqldriver.ErrBadConn })
		}
	}, nil
}
