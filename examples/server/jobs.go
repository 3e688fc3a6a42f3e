package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// jobConfig holds the flags of the one-shot jobs: with -reconcile or
// -purge-older-than-days the program runs the job, prints its report as JSON
// on stdout and exits, serving nothing.
type jobConfig struct {
	reconcile       string // TENANT=FILE.csv
	purgeDays       int    // -1 when not asked
	purgeTenant     string
	purgeLimit      int
	dryRun          bool
	force           bool
	clearReappeared bool
	maxMarkPercent  int
}

func (j *jobConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&j.reconcile, "reconcile", "", "one-shot job: reconcile TENANT=FILE.csv (the Operator Connect acquired list, a CSV with a telephoneNumber column), print the report, exit")
	fs.IntVar(&j.purgeDays, "purge-older-than-days", -1, "one-shot job: purge the Operator Connect numbers ReadyForRemoval for at least N days, print what was purged, exit")
	fs.StringVar(&j.purgeTenant, "purge-tenant", "", "with -purge-older-than-days: only this tenant's numbers")
	fs.IntVar(&j.purgeLimit, "purge-limit", 0, "with -purge-older-than-days: purge at most N numbers (default: all that match, 10000 per call)")
	fs.BoolVar(&j.dryRun, "dry-run", false, "with -reconcile or -purge-older-than-days: report what the job would do, change nothing")
	fs.BoolVar(&j.force, "force", false, "with -reconcile: run even when the guard against a truncated list refuses")
	fs.BoolVar(&j.clearReappeared, "clear-reappeared", false, "with -reconcile: return MarkedForRemoval numbers found in the list to Active")
	fs.IntVar(&j.maxMarkPercent, "max-mark-percent", removal.DefaultMaxMarkPercent, "with -reconcile: the guard refuses a run that would mark more than this percent of the tenant's Active and ReleaseRequested numbers (and more than 10)")
}

func (j *jobConfig) any() bool { return j.reconcile != "" || j.purgeDays >= 0 }

// check refuses job flags without their job, and two jobs at once.
func (j *jobConfig) check(set map[string]bool) error {
	if j.reconcile != "" && j.purgeDays >= 0 {
		return errors.New("-reconcile and -purge-older-than-days are separate jobs: run one at a time")
	}
	if set["purge-older-than-days"] && j.purgeDays < 0 {
		return errors.New("-purge-older-than-days must be 0 or more")
	}
	for _, f := range []string{"force", "clear-reappeared", "max-mark-percent"} {
		if set[f] && j.reconcile == "" {
			return fmt.Errorf("-%s needs -reconcile", f)
		}
	}
	for _, f := range []string{"purge-tenant", "purge-limit"} {
		if set[f] && j.purgeDays < 0 {
			return fmt.Errorf("-%s needs -purge-older-than-days", f)
		}
	}
	if set["dry-run"] && !j.any() {
		return errors.New("-dry-run needs -reconcile or -purge-older-than-days")
	}
	if j.purgeLimit < 0 {
		return errors.New("-purge-limit must be positive")
	}
	return nil
}

// exitStatus is an error that sets the program's exit status.
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string { return e.err.Error() }
func (e *exitStatus) Unwrap() error { return e.err }

// exitGuard is the exit status of a reconciliation the guard refused.
const exitGuard = 3

func (j *jobConfig) run(ctx context.Context, svc *removal.Service, stdout io.Writer) error {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if j.reconcile != "" {
		return j.runReconcile(ctx, svc, enc)
	}
	return j.runPurge(ctx, svc, enc)
}

func (j *jobConfig) runReconcile(ctx context.Context, svc *removal.Service, enc *json.Encoder) error {
	tenant, file, ok := strings.Cut(j.reconcile, "=")
	if !ok || tenant == "" || file == "" {
		return fmt.Errorf("-reconcile %q: want TENANT=FILE.csv", j.reconcile)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	list, err := store.ReadAcquiredCSV(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("reconcile: %s: %w", file, err)
	}
	pct := j.maxMarkPercent
	rep, err := svc.Reconcile(ctx, removal.ReconcileRequest{MSTenantID: tenant, TelephoneNumbers: list,
		DryRun: j.dryRun, ClearReappeared: j.clearReappeared, Force: j.force, MaxMarkPercent: &pct})
	var ge *removal.GuardError
	switch {
	case errors.As(err, &ge):
		enc.Encode(rep)
		return &exitStatus{exitGuard, fmt.Errorf("reconcile: %w (the report above is what the run would do; rerun with -force if the list is complete)", err)}
	case err != nil:
		return fmt.Errorf("reconcile: %w", err)
	}
	return enc.Encode(rep)
}

// runPurge purges in calls of at most removal.MaxPurgeLimit numbers until
// none match (or -purge-limit is reached), and prints one result for all.
func (j *jobConfig) runPurge(ctx context.Context, svc *removal.Service, enc *json.Encoder) error {
	total := removal.PurgeResult{DryRun: j.dryRun, TelephoneNumbers: []e164.Number{}}
	left := j.purgeLimit
	for {
		limit := removal.MaxPurgeLimit
		if j.purgeLimit > 0 {
			limit = min(limit, left)
		}
		res, err := svc.Purge(ctx, removal.PurgeRequest{OlderThan: time.Duration(j.purgeDays) * 24 * time.Hour,
			MSTenantID: j.purgeTenant, Limit: limit, Confirm: !j.dryRun})
		total.TelephoneNumbers = append(total.TelephoneNumbers, res.TelephoneNumbers...)
		total.PurgedCount += res.PurgedCount
		total.More = res.More
		left -= res.PurgedCount
		if err != nil {
			enc.Encode(total)
			return fmt.Errorf("purge: %w", err)
		}
		// A dry run deletes nothing, so a second call would find the same
		// numbers; a call that deleted nothing makes no progress either.
		if !res.More || j.dryRun || res.PurgedCount == 0 || (j.purgeLimit > 0 && left <= 0) {
			return enc.Encode(total)
		}
	}
}
