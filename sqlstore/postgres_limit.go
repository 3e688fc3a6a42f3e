package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// allow counts one request against the limiter name in one transaction of
// writeTx of one round trip: BEGIN, the rate_limit_allow function of the
// migrations, COMMIT. The function locks the name's head row, reads the
// database's clock (clock_timestamp()) once the lock is granted, and admits
// the request when the admission limit places back is at least window old:
// at most limit admissions in any window, across every process sharing the
// database and across restarts. A refused request is not recorded.
//
// The transaction commits with synchronous_commit off: the limiter does
// not wait for its WAL to reach the disk (the largest part of its cost),
// at the price that a crash of the database server can forget the last
// admissions, up to three times wal_writer_delay (600 ms by default).
func (d *pgDriver) allow(ctx context.Context, name string, limit int, window time.Duration) (bool, time.Duration, error) {
	if limit < 1 || window <= 0 {
		return false, 0, fmt.Errorf("limiter %q: limit %d in %v: want at least 1 in a positive window", name, limit, window)
	}
	var ok bool
	var retryUS int64
	err := d.writeTx(ctx, txOpts{async: true}, func(tx *pgTx) error {
		b := tx.batch()
		b.Queue("SELECT allowed, retry_after_us FROM "+d.n.qual("rate_limit_allow")+"($1, $2, $3)", name, int32(limit), window.Microseconds())
		br, err := tx.send(ctx, b, tx.final())
		if err != nil {
			return err
		}
		err = br.QueryRow().Scan(&ok, &retryUS)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return false, 0, err
	}
	return ok, time.Duration(retryUS) * time.Microsecond, nil
}
