// Package jobs runs Kore Billing's background work as River jobs in the
// service's own database (SQLite or PostgreSQL): a periodic job finds
// whether billing is due and starts a billing run, which bills the due
// accounts in batches (run.go); a change schedules its account's own bill
// job. Jobs are rows
// in the same database, so any number of `korebill serve` nodes share the
// work and a node that dies loses nothing: River gives its jobs to another.
//
// jobs knows River and the store's *sql.DB; the billing itself is behind
// the Biller interface (the engine).
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/kore-billing/korebill/store"
)

// Biller is what the jobs run: the engine.
type Biller interface {
	// DueAccounts returns up to limit accounts that have billing due now
	// (a renewal, a period to invoice, a credit to grant…).
	DueAccounts(ctx context.Context, limit int) ([]int64, error)
	// BillAccount runs everything due for one account, idempotently.
	BillAccount(ctx context.Context, accountID int64) error
}

// BillAccountArgs bills one account. Unique by account and instant among
// the jobs not yet finished: the finder's jobs (At zero) and the ones a
// change schedules for its renewal never block each other, and neither is
// enqueued twice.
type BillAccountArgs struct {
	AccountID int64     `json:"account_id" river:"unique"`
	At        time.Time `json:"at,omitzero" river:"unique"`
}

// Kind names the job in River's table.
func (BillAccountArgs) Kind() string { return "bill_account" }

// InsertOpts makes bill jobs unique per account while one is waiting or
// running; a finished one does not block the next.
func (BillAccountArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       queueBilling,
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
				rivertype.JobStateRunning, rivertype.JobStateScheduled,
			},
		},
	}
}

// FindDueArgs looks for accounts with billing due and enqueues their jobs.
type FindDueArgs struct{}

// Kind names the job in River's table.
func (FindDueArgs) Kind() string { return "find_due" }

const (
	queueBilling = "billing"
	findDueBatch = 500
)

// PruneArgs runs the housekeeping of Options.Prune.
type PruneArgs struct{}

// Kind names the job in River's table.
func (PruneArgs) Kind() string { return "prune" }

// AdvanceTestClockArgs moves a test clock to the time its advance asked
// for (testclock.Clocks.RunAdvance), outside the request that asked.
type AdvanceTestClockArgs struct {
	ClockID int64 `json:"clock_id"`
}

// Kind is River's name for the job.
func (AdvanceTestClockArgs) Kind() string { return "test_clock_advance" }

// ClockAdvancer runs a test clock's advance (*testclock.Clocks).
type ClockAdvancer interface {
	RunAdvance(ctx context.Context, clockID int64) error
}

type advanceClockWorker struct {
	river.WorkerDefaults[AdvanceTestClockArgs]
	clocks ClockAdvancer
}

func (w *advanceClockWorker) Work(ctx context.Context, job *river.Job[AdvanceTestClockArgs]) error {
	return w.clocks.RunAdvance(ctx, job.Args.ClockID)
}

// Timeout: an advance of years over many accounts is long work.
func (w *advanceClockWorker) Timeout(*river.Job[AdvanceTestClockArgs]) time.Duration {
	return time.Hour
}

// EnqueueTestClockAdvance inserts the advance job of a clock in tx.
func (r *Runner) EnqueueTestClockAdvance(ctx context.Context, tx *sql.Tx, clockID int64) error {
	return r.InsertTx(ctx, tx, AdvanceTestClockArgs{ClockID: clockID}, nil)
}

// ReconcileArgs settles payment attempts left without an answer and checks
// the books' invariants (engine.Reconcile), periodically.
type ReconcileArgs struct{}

// Kind is River's name for the job.
func (ReconcileArgs) Kind() string { return "reconcile" }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	reconcile func(context.Context) error
}

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	return w.reconcile(ctx)
}

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	prune func(context.Context) error
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error { return w.prune(ctx) }

type billAccountWorker struct {
	river.WorkerDefaults[BillAccountArgs]
	biller Biller
}

func (w *billAccountWorker) Work(ctx context.Context, job *river.Job[BillAccountArgs]) error {
	if err := w.biller.BillAccount(ctx, job.Args.AccountID); err != nil {
		return fmt.Errorf("bill account %d: %w", job.Args.AccountID, err)
	}
	return nil
}

// Timeout bounds one account's billing; a long catch-up is re-run.
func (w *billAccountWorker) Timeout(*river.Job[BillAccountArgs]) time.Duration {
	return 5 * time.Minute
}

type findDueWorker struct {
	river.WorkerDefaults[FindDueArgs]
	biller Biller
	runner *Runner
	run    bool // start a billing run rather than a job per account
}

func (w *findDueWorker) Work(ctx context.Context, _ *river.Job[FindDueArgs]) error {
	ids, err := w.biller.DueAccounts(ctx, findDueBatch)
	if err == nil && len(ids) > 0 && w.run {
		_, err = w.runner.StartRun(ctx, len(ids))
		return err
	}
	if err != nil {
		return fmt.Errorf("find due accounts: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(ids))
	for _, id := range ids {
		params = append(params, river.InsertManyParams{Args: BillAccountArgs{AccountID: id}})
	}
	if _, err := w.runner.client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("enqueue bill jobs: %w", err)
	}
	return nil
}

// Options tune the runner; zero values take the defaults.
type Options struct {
	// FindDueEvery is how often the finder runs (default one minute).
	FindDueEvery time.Duration
	// PollInterval is how often idle nodes look for jobs (default 1s).
	PollInterval time.Duration
	// Workers is how many accounts one node bills at once (default 4).
	Workers int
	// Register adds the workers of other packages (webhook delivery,
	// email) to the client; their jobs go to QueueDefault or to queues
	// named in Queues.
	Register func(*river.Workers)
	// Queues adds queues with their worker counts.
	Queues map[string]int
	// Run, when set, bills in batches: the finder starts a billing run
	// (RunBillingArgs) rather than a job per due account, and an operator
	// can start one (StartRun).
	Run RunBiller
	// Prune, when set, is housekeeping (expired idempotency keys, stale
	// sign-in counts, webhooks and emails past their retention) run at
	// start and every PruneEvery (default an hour).
	Prune      func(context.Context) error
	PruneEvery time.Duration
	// Reconcile, when set, settles unanswered payment attempts and checks
	// the invariants, at start and every ReconcileEvery (default an hour).
	Reconcile      func(context.Context) error
	ReconcileEvery time.Duration
	// Clocks, when set, runs test clock advances as jobs.
	Clocks ClockAdvancer
}

// Runner is the River client with Kore Billing's jobs.
type Runner struct {
	client  *river.Client[*sql.Tx]
	driver  riverdriver.Driver[*sql.Tx]
	log     *slog.Logger
	metrics *runMetrics
}

// New builds a runner on the store's database. Call Migrate before Start.
func New(db *store.DB, biller Biller, logger *slog.Logger, opts Options) (*Runner, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.FindDueEvery == 0 {
		opts.FindDueEvery = time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	r := &Runner{log: logger, metrics: newRunMetrics()}
	switch db.Dialect() {
	case store.DialectSQLite:
		r.driver = riversqlite.New(db.SQL())
	case store.DialectPostgres:
		// database/sql over pgx: the same *sql.Tx as the store, so a state
		// change and the job it starts commit together (InsertTx).
		r.driver = riverdatabasesql.New(db.SQL())
	default:
		return nil, fmt.Errorf("jobs: unknown dialect %q", db.Dialect())
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &billAccountWorker{biller: biller})
	river.AddWorker(workers, &findDueWorker{biller: biller, runner: r, run: opts.Run != nil})
	if opts.Run != nil {
		river.AddWorker(workers, &runWorker{biller: opts.Run, runner: r, metrics: r.metrics})
	}
	if opts.Register != nil {
		opts.Register(workers)
	}
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(opts.FindDueEvery),
			func() (river.JobArgs, *river.InsertOpts) { return FindDueArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "find_due"}),
	}
	if opts.Prune != nil {
		if opts.PruneEvery == 0 {
			opts.PruneEvery = time.Hour
		}
		river.AddWorker(workers, &pruneWorker{prune: opts.Prune})
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(opts.PruneEvery),
			func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "prune"}))
	}
	if opts.Clocks != nil {
		river.AddWorker(workers, &advanceClockWorker{clocks: opts.Clocks})
	}
	if opts.Reconcile != nil {
		if opts.ReconcileEvery == 0 {
			opts.ReconcileEvery = time.Hour
		}
		river.AddWorker(workers, &reconcileWorker{reconcile: opts.Reconcile})
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(opts.ReconcileEvery),
			func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "reconcile"}))
	}
	queues := map[string]river.QueueConfig{
		river.QueueDefault: {MaxWorkers: 4},
		queueBilling:       {MaxWorkers: opts.Workers},
	}
	for name, n := range opts.Queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	client, err := river.NewClient(r.driver, &river.Config{
		Logger:            logger.With(slog.String("component", "river")),
		FetchPollInterval: opts.PollInterval,
		Queues:            queues,
		PeriodicJobs:      periodic,
		Workers:           workers,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	r.client = client
	return r, nil
}

// Migrate creates or updates River's tables.
func (r *Runner) Migrate(ctx context.Context) error {
	m, err := rivermigrate.New(r.driver, &rivermigrate.Config{Logger: r.log.With(slog.String("component", "rivermigrate"))})
	if err != nil {
		return fmt.Errorf("jobs: migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}

// Start starts working jobs until Stop.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop waits for running jobs to finish (until ctx is done).
func (r *Runner) Stop(ctx context.Context) error {
	if err := r.client.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// EnqueueBillTx schedules billing of an account at the instant at, in the
// transaction tx of the change it follows from: both commit or neither.
// Billing an account twice is safe; the finder is the safety net for any
// job lost or never scheduled.
func (r *Runner) EnqueueBillTx(ctx context.Context, tx *sql.Tx, accountID int64, at time.Time) error {
	args := BillAccountArgs{AccountID: accountID, At: at.UTC().Truncate(time.Second)}
	opts := args.InsertOpts()
	opts.ScheduledAt = args.At
	if _, err := r.client.InsertTx(ctx, tx, args, &opts); err != nil {
		return fmt.Errorf("jobs: enqueue bill for account %d: %w", accountID, err)
	}
	return nil
}

// InsertTx enqueues any job in the transaction tx of the change it follows
// from (the outbox pattern: the change and its job commit together).
func (r *Runner) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := r.client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// Client returns the River client (for subscriptions in tests and metrics).
func (r *Runner) Client() *river.Client[*sql.Tx] { return r.client }
