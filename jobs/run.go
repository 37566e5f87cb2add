package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Billing runs as jobs: a run job bills every account due, in batches
// (the engine's RunDue), and records its progress as the job's output
// after each batch, so that any node's console shows it. One run job works
// at a time; runs started otherwise (korebill bill, on any node) share the
// work with it, each claiming its own batches.

// RunStats is a billing run's progress, the run job's output.
type RunStats struct {
	Due      int     `json:"due"` // accounts claimed so far
	Billed   int     `json:"billed"`
	Failed   int     `json:"failed"`
	Invoices int     `json:"invoices"`
	Renewals int     `json:"renewals"`
	Payments int     `json:"payments"`
	Credits  int     `json:"credits"`
	Seconds  float64 `json:"seconds"`
	Done     bool    `json:"done"`
}

// RunBiller runs billing in batches, calling progress after each batch.
type RunBiller interface {
	RunDue(ctx context.Context, progress func(RunStats)) (RunStats, error)
}

// RunBillingArgs is a billing run. DueAtStart is how many accounts were
// due when it was asked for, to show progress against.
type RunBillingArgs struct {
	DueAtStart int `json:"due_at_start"`
}

// Kind names the job in River's table.
func (RunBillingArgs) Kind() string { return "billing_run" }

// InsertOpts: one run at a time (a second "run now", or the finder, while
// one waits or works is that run).
func (RunBillingArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       queueBilling,
		MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateScheduled},
		},
	}
}

// runMetrics are the billing runs' Prometheus metrics.
type runMetrics struct {
	runs     *prometheus.CounterVec
	accounts *prometheus.CounterVec
	invoices prometheus.Counter
	duration prometheus.Histogram
	running  prometheus.Gauge
}

func newRunMetrics() *runMetrics {
	return &runMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "korebill_billing_runs_total",
			Help: "Billing runs finished, by result (ok, error)."}, []string{"result"}),
		accounts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "korebill_billing_run_accounts_total",
			Help: "Accounts billing runs took up, by result: due (claimed), billed, failed."}, []string{"result"}),
		invoices: prometheus.NewCounter(prometheus.CounterOpts{Name: "korebill_billing_run_invoices_total",
			Help: "Period and overage invoices billing runs issued."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "korebill_billing_run_duration_seconds",
			Help: "How long a billing run took.", Buckets: prometheus.ExponentialBuckets(0.1, 4, 9)}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "korebill_billing_runs_running",
			Help: "Billing runs working now on this node."}),
	}
}

func (m *runMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.runs, m.accounts, m.invoices, m.duration, m.running}
}

// add counts what a run did since its last report.
func (m *runMetrics) add(prev, now RunStats) {
	m.accounts.WithLabelValues("due").Add(float64(now.Due - prev.Due))
	m.accounts.WithLabelValues("billed").Add(float64(now.Billed - prev.Billed))
	m.accounts.WithLabelValues("failed").Add(float64(now.Failed - prev.Failed))
	m.invoices.Add(float64(now.Invoices - prev.Invoices))
}

type runWorker struct {
	river.WorkerDefaults[RunBillingArgs]
	biller  RunBiller
	runner  *Runner
	metrics *runMetrics
}

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunBillingArgs]) error {
	w.metrics.running.Inc()
	defer w.metrics.running.Dec()
	start := time.Now()
	var last RunStats
	stats, err := w.biller.RunDue(ctx, func(s RunStats) {
		w.metrics.add(last, s)
		last = s
		// Progress for every node's console: the job's output, now.
		if err := river.RecordOutput(ctx, s); err == nil {
			if _, err := w.runner.client.JobUpdate(ctx, job.ID, nil); err != nil {
				w.runner.log.WarnContext(ctx, "billing run progress", "err", err)
			}
		}
	})
	w.metrics.add(last, stats)
	w.metrics.duration.Observe(time.Since(start).Seconds())
	stats.Done = err == nil
	if rerr := river.RecordOutput(ctx, stats); rerr != nil {
		w.runner.log.WarnContext(ctx, "billing run output", "err", rerr)
	}
	if err != nil {
		w.metrics.runs.WithLabelValues("error").Inc()
		return fmt.Errorf("billing run: %w", err)
	}
	w.metrics.runs.WithLabelValues("ok").Inc()
	return nil
}

// Timeout: a run bills until nothing is due; a million accounts take a
// while.
func (w *runWorker) Timeout(*river.Job[RunBillingArgs]) time.Duration { return 6 * time.Hour }

// StartRun enqueues a billing run; dueAtStart is shown as its total.
func (r *Runner) StartRun(ctx context.Context, dueAtStart int) (int64, error) {
	res, err := r.client.Insert(ctx, RunBillingArgs{DueAtStart: dueAtStart}, nil)
	if err != nil {
		return 0, fmt.Errorf("jobs: start billing run: %w", err)
	}
	return res.Job.ID, nil
}

// RunJob is a billing run job with its progress.
type RunJob struct {
	ID          int64
	State       string
	DueAtStart  int
	Stats       RunStats
	CreatedAt   time.Time
	FinishedAt  *time.Time
	LastError   string
	Attempt     int
	MaxAttempts int
}

// RecentRuns lists the latest billing run jobs, newest first.
func (r *Runner) RecentRuns(ctx context.Context, limit int) ([]RunJob, error) {
	res, err := r.client.JobList(ctx, river.NewJobListParams().Kinds(RunBillingArgs{}.Kind()).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit))
	if err != nil {
		return nil, fmt.Errorf("jobs: list billing runs: %w", err)
	}
	out := make([]RunJob, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		var args RunBillingArgs
		_ = json.Unmarshal(j.EncodedArgs, &args)
		rj := RunJob{ID: j.ID, State: string(j.State), DueAtStart: args.DueAtStart, CreatedAt: j.CreatedAt,
			FinishedAt: j.FinalizedAt, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts}
		if out := j.Output(); len(out) > 0 {
			_ = json.Unmarshal(out, &rj.Stats)
		}
		if n := len(j.Errors); n > 0 {
			rj.LastError = j.Errors[n-1].Error
		}
		out = append(out, rj)
	}
	return out, nil
}

// Collectors are the runner's Prometheus metrics, for /metrics.
func (r *Runner) Collectors() []prometheus.Collector { return r.metrics.collectors() }
