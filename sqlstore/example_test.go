//go:build cgo

package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/sqlstore"
	"github.com/ocnumbers/ocnumbers/store"
)

func Example() {
	ctx := context.Background()
	// A file path gets WAL, a busy timeout and immediate write transactions;
	// ":memory:" is for tests. PostgreSQL: sqlstore.Open(ctx, "pgx", dsn).
	st, err := sqlstore.Open(ctx, "sqlite3", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	const tenant = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	err = st.Put(ctx,
		store.Number{TelephoneNumber: "+14255551212", MSTenantID: tenant, OperatorConnect: true, Status: removal.MarkedForRemoval},
		store.Number{TelephoneNumber: "+14255551213", MSTenantID: tenant, OperatorConnect: true, Status: removal.Active},
	)
	if err != nil {
		log.Fatal(err)
	}

	svc := removal.NewService(st, removal.WithClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }))
	res, err := svc.MarkReadyForRemoval(ctx, []string{"+14255551212", "+14255551213", "+14151231234"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("processed", res.ProcessedCount, "succeeded", res.SuccessCount)
	for _, f := range res.Failures {
		fmt.Println(f.TelephoneNumber, f.ErrorCode)
	}

	sum, err := svc.Summary(ctx, "{0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", sum)

	n, err := st.Get(ctx, "+14255551212")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Status, n.StatusChangedAt)
	// Output:
	// processed 3 succeeded 1
	// +14255551213 InvalidStatus
	// +14151231234 NumberNotFound
	// {MarkedForRemovalCount:0 ReadyForRemovalCount:1 TotalCount:1}
	// ReadyForRemoval 2026-01-02 03:04:05 +0000 UTC
}
