// Command quickstart walks through the ocnumbers library on the in-memory
// store: it loads a small inventory for two tenants, runs every batch action
// (with failures of each kind and a cancelled call), lists the marked numbers
// of a tenant, reads a number's history, reconciles a tenant with its
// Operator Connect acquired list and purges what was confirmed for removal,
// printing each result as the JSON body the HTTP API would return.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

const (
	contoso  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	fabrikam = "{4A1B2C3D-0000-4000-8000-00000000FAB1}" // any accepted GUID form; stored canonical
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	out := printer{w}
	st := memstore.New()
	// A fixed clock makes the output reproducible; production code omits it
	// (and Import's At, which defaults to the time of the call).
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	_, err := st.Import(ctx, []store.Number{
		{TelephoneNumber: "+14255551212", MSTenantID: contoso, OperatorConnect: true, Status: removal.MarkedForRemoval},
		{TelephoneNumber: "+14255551213", MSTenantID: contoso, OperatorConnect: true, Status: removal.MarkedForRemoval},
		{TelephoneNumber: "+14151231234", MSTenantID: contoso, OperatorConnect: true, Status: removal.Active},
		{TelephoneNumber: "+442071838750", MSTenantID: fabrikam, OperatorConnect: true, Status: removal.ReleaseRequested},
		{TelephoneNumber: "+442071838751", MSTenantID: fabrikam, OperatorConnect: false, Status: removal.MarkedForRemoval},
		{TelephoneNumber: "+442071838752", MSTenantID: fabrikam, OperatorConnect: true, Status: removal.ReadyForRemoval},
	}, store.ImportOptions{At: now.Add(-time.Hour)})
	if err != nil {
		return err
	}
	svc := removal.NewService(st, removal.WithClock(func() time.Time { return now }))
	// Who asks, and under which trace, goes with the context into the
	// history of every number a call changes (the HTTP handler does this
	// for each request).
	audited := removal.WithAudit(ctx, removal.Audit{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Actor: "ops@example.com"})

	out.step("Summary, all tenants")
	sum, err := svc.Summary(ctx, "")
	var res removal.BatchResult
	out.show(sum, err)

	out.step("Mark for removal: an Active and a ReleaseRequested number move; a ReadyForRemoval one cannot")
	res, err = svc.MarkForRemoval(ctx, []string{"+14151231234", "+442071838750", "+442071838752"})
	out.batch(removal.MarkForRemovalAction, res, err)

	out.step("Ready for removal: one succeeds, one is unknown, one is not Operator Connect")
	res, err = svc.MarkReadyForRemoval(audited, []string{"+14255551212", "+19999999999", "+442071838751"})
	out.batch(removal.ReadyForRemovalAction, res, err)

	out.step("Clear removal status: +14255551212 is now ReadyForRemoval and can never be cleared")
	res, err = svc.ClearRemovalStatus(ctx, []string{"+14255551213", "+14255551212"})
	out.batch(removal.ClearRemovalStatusAction, res, err)

	out.step("Invalid request: nothing is applied, every problem is listed")
	res, err = svc.ClearRemovalStatus(ctx, []string{"+14151231234", "0044 20 7183 8750", "+14151231234"})
	out.batch(removal.ClearRemovalStatusAction, res, err)

	out.step("Cancelled call: nothing is applied")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	res, err = svc.MarkReadyForRemoval(cancelled, []string{"+14151231234"})
	out.batch(removal.ReadyForRemovalAction, res, err)

	out.step("Summary for tenant " + fabrikam)
	sum, err = svc.Summary(ctx, fabrikam)
	out.show(sum, err)

	out.step("Which numbers of " + contoso + " are marked for removal (the list API, a page of 200)")
	page, err := svc.List(ctx, removal.ListQuery{MSTenantID: contoso, Statuses: []removal.NumberStatus{removal.MarkedForRemoval}})
	out.show(page, err)

	out.step("Which of its numbers may be assigned to a user? Only Active ones (NumberStatus.Assignable)")
	all, err := svc.List(ctx, removal.ListQuery{MSTenantID: contoso})
	if err == nil {
		for _, n := range all.Data {
			fmt.Fprintf(w, "%s %s assignable=%t\n", n.TelephoneNumber, n.Status, n.Status.Assignable())
		}
	}

	out.step("Who changed +14255551212, and when: its history, newest first")
	hist, err := svc.History(ctx, "+14255551212", removal.HistoryQuery{})
	out.show(hist, err)

	out.step("Reconcile " + contoso + " with the Operator Connect acquired list: +14255551213 is gone from it, +14151231234 is back")
	rep, err := svc.Reconcile(audited, removal.ReconcileRequest{MSTenantID: contoso,
		TelephoneNumbers: []string{"+14255551212", "+14151231234"}, ClearReappeared: true})
	out.show(rep, err)

	out.step("Purge the numbers confirmed for removal at least a day ago: a dry run, then the real one")
	later := removal.NewService(st, removal.WithClock(func() time.Time { return now.Add(48 * time.Hour) }))
	purged, err := later.Purge(ctx, removal.PurgeRequest{OlderThan: 24 * time.Hour})
	out.show(purged, err)
	purged, err = later.Purge(audited, removal.PurgeRequest{OlderThan: 24 * time.Hour, Confirm: true})
	out.show(purged, err)

	out.step("Summary, all tenants, at the end")
	sum, err = svc.Summary(ctx, "")
	out.show(sum, err)
	return nil
}

// printer writes the walk-through's steps and results.
type printer struct{ w io.Writer }

// batch prints a batch action's result as the HTTP API's body.
func (p printer) batch(a removal.Action, res removal.BatchResult, err error) {
	if err != nil {
		p.show(nil, err)
		return
	}
	p.show(httpapi.NewEnvelope(a, res), nil)
}

func (p printer) step(s string) { fmt.Fprintf(p.w, "\n# %s\n", s) }

func (p printer) show(v any, err error) {
	if err != nil {
		var ve *removal.ValidationError
		switch {
		case errors.As(err, &ve):
			fmt.Fprintf(p.w, "400 %s\n", ve.Code())
			for _, pr := range ve.Problems {
				fmt.Fprintf(p.w, "  %s %s: %s\n", pr.Field, pr.Code, pr.Message)
			}
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(p.w, "cancelled:", err)
		default:
			fmt.Fprintln(p.w, "error:", err)
		}
		return
	}
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // the writer is stdout or a test buffer
}
