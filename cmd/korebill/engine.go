package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/jobs"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/testclock"
)

// openEngine builds the billing engine on the database, seeds the demo
// catalog where it is missing, and makes River's tables for the jobs.
func (m *Main) openEngine(ctx context.Context) error {
	gw, pc, err := m.paymentsConfig()
	if err != nil {
		return err
	}
	eng, err := engine.New(engine.Config{DB: m.DB, Clock: m.Clock, Logger: m.Logger,
		Gateway: gw, Payments: pc, Notify: m.notify,
		Schedule: func(ctx context.Context, tx *store.Tx, accountID int64, at time.Time) error {
			return m.Jobs.EnqueueBillTx(ctx, tx.SQL(), accountID, at)
		}})
	if err != nil {
		return err
	}
	m.Engine = eng
	if err := eng.SeedCatalog(billing.NewContextWithActor(ctx, billing.SystemActor)); err != nil {
		return fmt.Errorf("seed catalog: %w", err)
	}
	if err := m.openNotify(); err != nil {
		return err
	}
	m.Clocks = testclock.New(m.DB, eng.Jobs())
	runner, err := jobs.New(m.DB, eng.Jobs(), m.Logger, jobs.Options{Register: m.jobsOptions(), Queues: notifyQueues,
		Clocks:    m.Clocks,
		Run:       runBiller{eng},
		Prune:     m.prune,
		Reconcile: m.scheduledReconcile})
	if err != nil {
		return err
	}
	m.Webhooks.SetJobs(runner)
	m.Mailer.SetJobs(runner)
	if err := runner.Migrate(ctx); err != nil {
		return err
	}
	m.Jobs = runner
	m.Clocks.SetQueue(runner)
	return nil
}

// BillSummary is what `korebill bill` did.
type BillSummary struct {
	Accounts, Failed, Invoices, Renewals, Credits int
}

// bill runs everything due now with a progress bar: the run the
// scheduler's jobs make (engine.RunDue), in batches of accounts, each batch
// one transaction per round. Billing is idempotent, so running it twice
// bills nothing twice.
func (m *Main) bill(ctx context.Context) (BillSummary, error) {
	ctx = billing.NewContextWithActor(ctx, billing.Actor{Name: "cli:bill", Role: billing.RoleOperator})
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(m.Stderr),
		progressbar.OptionSetDescription("billing accounts"), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	run, err := m.Engine.RunDue(ctx, engine.RunOptions{Progress: func(s engine.RunSummary) { _ = bar.Set(s.Due) }})
	_ = bar.Finish()
	return BillSummary{Accounts: run.Billed, Failed: run.Failed, Invoices: run.Invoices, Renewals: run.Renewals,
		Credits: run.Credits}, err
}

func (m *Main) runBill(ctx context.Context) error {
	sum, err := m.bill(ctx)
	fmt.Fprintf(m.Stdout, "billed %d accounts: %d invoices, %d renewals, %d credits; %d failed\n",
		sum.Accounts, sum.Invoices, sum.Renewals, sum.Credits, sum.Failed)
	if err != nil {
		return err
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d accounts failed to bill; see the log", sum.Failed)
	}
	return nil
}

// prune is the hourly housekeeping: expired idempotency keys, stale
// sign-in counts, and the webhooks and emails past their retention.
func (m *Main) prune(ctx context.Context) error {
	keys, err := m.DB.DeleteExpiredIdempotencyKeys(ctx)
	if err != nil {
		return err
	}
	signIns, err := m.DB.DeleteStaleSignInAttempts(ctx)
	if err != nil {
		return err
	}
	sent, err := m.DB.PruneSent(ctx, store.Retention{Webhooks: m.Config.Notify.WebhookRetention, Emails: m.Config.Notify.EmailRetention})
	if err != nil {
		return err
	}
	if keys+signIns+sent.WebhookEvents+sent.WebhookDeliveries+sent.Emails > 0 {
		m.Logger.Info("pruned", slog.Int64("idempotency_keys", keys), slog.Int64("sign_in_attempts", signIns),
			slog.Int64("webhook_events", sent.WebhookEvents), slog.Int64("webhook_deliveries", sent.WebhookDeliveries),
			slog.Int64("emails", sent.Emails))
	}
	return nil
}

// runBiller is the engine as the job runner's billing run.
type runBiller struct{ e *engine.Engine }

func (b runBiller) RunDue(ctx context.Context, progress func(jobs.RunStats)) (jobs.RunStats, error) {
	sum, err := b.e.RunDue(ctx, engine.RunOptions{Progress: func(s engine.RunSummary) { progress(runStats(s)) }})
	return runStats(sum), err
}

func runStats(s engine.RunSummary) jobs.RunStats {
	return jobs.RunStats{Due: s.Due, Billed: s.Billed, Failed: s.Failed, Invoices: s.Invoices, Renewals: s.Renewals,
		Payments: s.Payments, Credits: s.Credits, Seconds: s.Duration.Seconds()}
}
