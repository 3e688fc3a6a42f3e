package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// A host application's test loads a small inventory into a memstore and
// runs the workflow on it.
func Example() {
	ctx := context.Background()
	st := memstore.New()
	tenant := "{0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}" // any accepted form; stored canonical
	err := st.Put(ctx,
		store.Number{TelephoneNumber: "+14255551212", MSTenantID: tenant, OperatorConnect: true, Status: removal.MarkedForRemoval},
		store.Number{TelephoneNumber: "+14255551213", MSTenantID: tenant, OperatorConnect: true, Status: removal.Active},
	)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	svc := removal.NewService(st, removal.WithClock(func() time.Time { return now }))

	res, err := svc.MarkReadyForRemoval(ctx, []string{"+14255551212", "+14255551213", "+14151231234"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("processed %d, succeeded %d\n", res.ProcessedCount, res.SuccessCount)
	for _, f := range res.Failures {
		fmt.Println(f.TelephoneNumber, f.ErrorCode)
	}

	n, _ := st.Get(ctx, "+14255551212")
	fmt.Println(n.Status, n.StatusChangedAt.Format(time.RFC3339), n.MSTenantID)

	sum, _ := svc.Summary(ctx, tenant)
	fmt.Printf("%+v\n", sum)
	// Output:
	// processed 3, succeeded 1
	// +14255551213 InvalidStatus
	// +14151231234 NumberNotFound
	// ReadyForRemoval 2026-01-02T03:04:05Z 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
	// {MarkedForRemovalCount:0 ReadyForRemovalCount:1 TotalCount:1}
}
