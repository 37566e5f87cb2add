package console

import (
	"net/http"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// Failed payments and the accounts they left past due or suspended.
// DESIGN: "a failure is retried on days 1, 3, 5 and 7 (configurable);
// after the last failure the subscription is past_due, then the account
// suspended".

const failedPaymentsShown = 50

type paymentsPage struct {
	// Reconciled is what the operator's reconcile did, after it.
	Reconciled *engine.ReconcileReport
	PastDue    []*billing.Account
	Suspended  []*billing.Account
	PastDueN   int
	SuspendN   int
	Failed     []failedRow
}

type failedRow struct {
	*store.Payment
	Account *billing.Account
}

func (s *Server) handleFailedPayments(w http.ResponseWriter, r *http.Request) {
	s.renderPayments(w, r, nil)
}

// handleReconcile is `korebill reconcile` as an operator's action: every
// payment attempt left without an answer for a minute or more is settled
// with the gateway, and the invariants of the books are checked; the page
// says what it did and names every break.
func (s *Server) handleReconcile(w http.ResponseWriter, r *http.Request) {
	rep, err := s.ops().Reconcile(r.Context(), engine.ReconcileOptions{MinAge: time.Minute})
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.renderPayments(w, r, rep)
}

func (s *Server) renderPayments(w http.ResponseWriter, r *http.Request, rep *engine.ReconcileReport) {
	ctx := r.Context()
	data := paymentsPage{Reconciled: rep}
	for _, x := range []struct {
		status billing.AccountStatus
		list   *[]*billing.Account
		n      *int
	}{{billing.StatusPastDue, &data.PastDue, &data.PastDueN}, {billing.StatusSuspended, &data.Suspended, &data.SuspendN}} {
		st := x.status
		accounts, total, err := s.Accounts.FindAccounts(ctx, billing.AccountFilter{Status: &st, Limit: 100})
		if err != nil {
			s.error(w, r, err)
			return
		}
		*x.list, *x.n = accounts, total
	}
	failed, err := s.Engine.DB().FindFailedPayments(ctx, failedPaymentsShown)
	if err != nil {
		s.error(w, r, err)
		return
	}
	cache := s.accountCache()
	for _, p := range failed {
		a, err := cache.get(ctx, p.AccountID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		data.Failed = append(data.Failed, failedRow{Payment: p, Account: a})
	}
	s.render(w, r, http.StatusOK, "operator_payments", &view{Title: "Payments", Section: "payments", Data: data})
}
