package console

import (
	"net/http"

	"github.com/kore-billing/korebill/billing"
)

// Billing runs: what is due now, the runs with their progress, and "Run
// billing now", which starts a run as a job (Services.Runs) and returns at
// once: the run bills in batches on whichever node takes the job, and the
// page follows its progress. DESIGN: "a retried or crashed billing run can
// never bill twice; a run that stopped is simply run again": a double
// submit starts one run (one waits at a time), and two runs share the work.

// maxDueShown bounds the accounts the page lists; maxDueCounted the ones
// it counts.
const (
	maxDueShown   = 20
	maxDueCounted = 10000
)

type runsPage struct {
	Due      []*billing.Account
	DueCount int
	NotShown int  // due accounts not listed
	More     bool // more accounts are due than counted
	RunsOn   bool // billing runs can be started (the job queue runs)
	Runs     []BillingRun
	RunsErr  string
	Active   bool // a run is waiting or working: the page follows it
	JobsOn   bool // the job queue can be read
	Jobs     []billJobRow
	JobsErr  string
}

type billJobRow struct {
	BillJob
	Account *billing.Account
}

func (s *Server) handleBillingRuns(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var data runsPage
	ids, err := s.ops().DueAccounts(ctx, maxDueCounted+1)
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.DueCount, data.More = min(len(ids), maxDueCounted), len(ids) > maxDueCounted
	cache := s.accountCache()
	for _, id := range ids[:min(len(ids), maxDueShown)] {
		a, err := cache.get(ctx, id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		data.Due = append(data.Due, a)
	}
	data.NotShown = data.DueCount - len(data.Due)
	if s.Runs != nil {
		data.RunsOn = true
		runs, err := s.Runs.RecentRuns(ctx, 10)
		if err != nil {
			s.logger(r).WarnContext(ctx, "recent billing runs", "err", err)
			data.RunsErr = "The job queue could not be read just now."
		}
		data.Runs = runs
		for _, run := range runs {
			data.Active = data.Active || run.Active()
		}
	}
	if s.BillJobs != nil {
		data.JobsOn = true
		jobs, err := s.BillJobs.RecentBillJobs(ctx, 20)
		if err != nil {
			s.logger(r).WarnContext(ctx, "recent bill jobs", "err", err)
			data.JobsErr = "The job queue could not be read just now."
		}
		for _, j := range jobs {
			row := billJobRow{BillJob: j}
			if a, err := cache.get(ctx, j.AccountID); err == nil {
				row.Account = a
			}
			data.Jobs = append(data.Jobs, row)
		}
	}
	s.render(w, r, http.StatusOK, "operator_runs", &view{Title: "Billing runs", Section: "runs", Data: data})
}

// handleRunBilling starts a billing run as a job and shows the page that
// follows it; nothing is billed in the request.
func (s *Server) handleRunBilling(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.Runs == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "Billing runs need the job queue",
			"This console runs without the job queue; run korebill bill, or use a console started by korebill serve.")
		return
	}
	ids, err := s.ops().DueAccounts(ctx, maxDueCounted)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.Runs.StartRun(ctx, len(ids)); err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, "/billing-runs", http.StatusSeeOther)
}

func init() {
	funcs["opPercent"] = func(run BillingRun) int {
		if run.Total() == 0 {
			if run.Active() {
				return 0
			}
			return 100
		}
		return min(100, (run.Billed+run.Failed)*100/run.Total())
	}
}
