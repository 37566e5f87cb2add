package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// runReconcile is `korebill reconcile`: it settles every payment attempt and
// refund left without an answer by asking the gateway, then checks every
// invariant of the books, prints what it did and found, and fails (exit 1)
// when an invariant is broken.
func (m *Main) runReconcile(ctx context.Context) error {
	ctx = billing.NewContextWithActor(ctx, billing.Actor{Name: "cli:reconcile", Role: billing.RoleOperator})
	rep, err := m.Engine.Reconcile(ctx, engine.ReconcileOptions{MinAge: m.Config.ReconcileMinAge})
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if m.Config.ReconcileJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(m.Stdout, "asked the gateway about %d payment attempts: %d paid, %d declined, %d never charged, "+
			"%d still pending, %d unanswered; %d late charges found; %d refunds asked again\n",
			rep.Asked, rep.Succeeded, rep.Failed, rep.NotCharged, rep.StillPending, rep.Unreachable, rep.LateCharges, rep.Refunds)
		if rep.OK() {
			fmt.Fprintln(m.Stdout, "invariants: all hold")
		} else {
			fmt.Fprintf(m.Stdout, "invariants: %d broken\n%s", len(rep.Breaks), engine.FormatBreaks(rep.Breaks))
		}
	}
	if !rep.OK() {
		return fmt.Errorf("reconcile: %d invariants broken", len(rep.Breaks))
	}
	return nil
}

// scheduledReconcile is the periodic job: the same pass, leaving alone
// attempts whose call may still be under way on another node; a broken
// invariant is logged as an error (and the job fails, so River's dashboard
// shows it).
func (m *Main) scheduledReconcile(ctx context.Context) error {
	ctx = billing.NewContextWithActor(ctx, billing.Actor{Name: "job:reconcile", Role: billing.RoleOperator})
	rep, err := m.Engine.Reconcile(ctx, engine.ReconcileOptions{MinAge: 10 * time.Minute})
	if err != nil {
		return err
	}
	if rep.Asked > 0 || rep.LateCharges > 0 {
		m.Logger.Info("reconcile", slog.Int("asked", rep.Asked), slog.Int("paid", rep.Succeeded),
			slog.Int("declined", rep.Failed), slog.Int("not_charged", rep.NotCharged), slog.Int("late_charges", rep.LateCharges))
	}
	if !rep.OK() {
		m.Logger.Error("reconcile: invariants broken", slog.Int("count", len(rep.Breaks)),
			slog.String("breaks", engine.FormatBreaks(rep.Breaks)))
		return fmt.Errorf("reconcile: %d invariants broken", len(rep.Breaks))
	}
	return nil
}

// backup is `korebill backup FILE`: a consistent copy of the SQLite
// database, taken while the service runs.
func (m *Main) backup(ctx context.Context) error {
	start := time.Now()
	if err := m.DB.Backup(ctx, m.Config.BackupFile); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "backed up the database to %s in %s\n", m.Config.BackupFile, time.Since(start).Round(time.Millisecond))
	return nil
}
