package console

import (
	"net/http"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// Billing runs: what is due now, and "Run billing now", which runs every
// due account's billing here and now, as the scheduler's jobs do. DESIGN:
// "a retried or crashed billing run can never bill twice; a run that
// stopped is simply run again": a double submit bills nothing twice.

// maxRunAccounts bounds one run from the console; the rest is due still,
// for the next run or the scheduler.
const maxRunAccounts = 200

type runsPage struct {
	Due     []*billing.Account
	More    bool // more accounts are due than shown
	Run     *runResult
	JobsOn  bool // the job queue can be read
	Jobs    []billJobRow
	JobsErr string
}

type billJobRow struct {
	BillJob
	Account *billing.Account
}

// runResult is what "Run billing now" did.
type runResult struct {
	Accounts                                              []runAccount
	Billed, Failed, Invoices, Renewals, Credits, Payments int
}

type runAccount struct {
	Account *billing.Account
	Steps   []engine.StepResult
	Error   string
}

func (s *Server) handleBillingRuns(w http.ResponseWriter, r *http.Request) {
	s.renderRuns(w, r, nil)
}

func (s *Server) renderRuns(w http.ResponseWriter, r *http.Request, run *runResult) {
	ctx := r.Context()
	data := runsPage{Run: run}
	ids, err := s.ops().DueAccounts(ctx, maxRunAccounts+1)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(ids) > maxRunAccounts {
		ids, data.More = ids[:maxRunAccounts], true
	}
	cache := s.accountCache()
	for _, id := range ids {
		a, err := cache.get(ctx, id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		data.Due = append(data.Due, a)
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

func (s *Server) handleRunBilling(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ids, err := s.ops().DueAccounts(ctx, maxRunAccounts)
	if err != nil {
		s.error(w, r, err)
		return
	}
	run := &runResult{}
	cache := s.accountCache()
	for _, id := range ids {
		a, err := cache.get(ctx, id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		res, err := s.ops().BillAccount(ctx, id)
		ra := runAccount{Account: a, Steps: res.Steps}
		if err != nil {
			s.logger(r).ErrorContext(ctx, "bill account", "account", a.Number, "err", err)
			ra.Error = billing.ErrorMessage(err)
			run.Failed++
		} else {
			run.Billed++
		}
		for _, st := range res.Steps {
			switch st.Step {
			case engine.StepPeriodInvoice, engine.StepOverageInvoice:
				run.Invoices++
			case engine.StepRenewal:
				run.Renewals++
			case engine.StepInactivityCredits:
				run.Credits += len(st.Credits)
			default: // collection: charges, retries, reminders, dunning
				run.Payments++
			}
		}
		run.Accounts = append(run.Accounts, ra)
	}
	s.renderRuns(w, r, run)
}

func init() {
	funcs["opStep"] = stepLabel
}

// stepLabel says what a billing step did.
func stepLabel(st engine.StepResult) string {
	switch st.Step {
	case engine.StepPeriodInvoice:
		return "Invoiced the period"
	case engine.StepOverageInvoice:
		return "Invoiced the overage"
	case engine.StepInactivityCredits:
		return "Granted inactivity credits"
	case engine.StepRenewal:
		return "Renewed"
	case engine.StepCharge:
		return "Charged the card"
	case engine.StepPaymentRetry:
		return "Retried a failed charge"
	case engine.StepPaymentCheck, engine.StepRefundCheck:
		return "Asked the gateway again"
	case engine.StepPastDue:
		return "Marked past due"
	case engine.StepSuspend:
		return "Suspended the account"
	case engine.StepReminder:
		return "Sent a payment reminder"
	case engine.StepOverdue:
		return "Marked the invoice overdue"
	}
	return humanize(string(st.Step))
}
