package console

import (
	"net/http"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// summaryPage is the Account Summary's data: the subscription as the engine
// has it, and what the page works out of it.
type summaryPage struct {
	Ov  *engine.Overview
	Sub billing.Subscription

	Free     bool // online, on the Free plan: the plans are offered
	Contract *billing.Contract
	Plans    []planOption // on Free

	PeriodTotal billing.Money // seats × price per user, per period
	// Upcoming is the next invoice as the renewal will issue it (the
	// engine's own billing code); nil when none is coming.
	Upcoming       *engine.Upcoming
	PerMonth       billing.Money // the price per user as a monthly figure
	ScheduledTotal billing.Money
	Available      int64 // contract: prepaid subscriptions no user takes
	Overage        int64 // contract: managed users above the prepaid

	// Open invoices, for the suspended and past-due banners.
	Open    []*billing.Invoice
	OpenDue billing.Money

	// Method is the default payment method, nil for "No card on file";
	// PaymentMethodURL the Change Payment Method page, "" until the
	// payments work has one.
	Method           *store.PaymentMethod
	PaymentMethodURL string
	PayToken         string // the Pay now forms' idempotency key
}

// handleSummary is the Account Summary: Online Billing (a paid plan, or
// Free with the plans to choose from) or Fixed Subscriptions (a contract).
func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ov, err := s.Engine.Subscription(ctx, a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	a = &ov.Account // as of the engine's read, with the same balance
	sub := ov.Subscription
	page := summaryPage{Ov: ov, Sub: sub, Contract: sub.Contract,
		Free: !sub.IsPaid() && sub.Contract == nil && a.BillingType == billing.BillingOnline}
	page.PeriodTotal, _ = sub.PeriodAmount()
	page.PerMonth = perMonth(sub.UnitPrice, sub.Interval)
	if sub.Scheduled != nil {
		page.ScheduledTotal, _ = sub.Scheduled.PeriodAmount()
	}
	if page.Upcoming, err = s.Engine.UpcomingInvoice(ctx, a.ID); err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
		s.error(w, r, err)
		return
	}
	page.Available = max(sub.Seats-ov.ManagedUsers, 0)
	page.Overage = max(ov.ManagedUsers-sub.Seats, 0)
	if page.Free {
		if page.Plans, err = s.paidPlans(ctx, a.Currency); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if page.Method, err = s.defaultMethod(r, a); err != nil {
		s.error(w, r, err)
		return
	}
	if a.Status != billing.StatusActive || sub.Status == billing.SubscriptionPastDue {
		if page.Open, page.OpenDue, err = s.openInvoices(r, a); err != nil {
			s.error(w, r, err)
			return
		}
		page.PayToken = randomToken()
	}
	if p := paymentMethodPath(a); s.routeExists(p) {
		page.PaymentMethodURL = p
	}
	s.render(w, r, http.StatusOK, "summary", &view{Title: "Account Summary", Section: "summary", Account: a, Data: page})
}

// openInvoices returns the account's unpaid invoices, oldest first, and
// what they owe together: the way back from past due or suspended.
func (s *Server) openInvoices(r *http.Request, a *billing.Account) ([]*billing.Invoice, billing.Money, error) {
	due := billing.Zero(a.Currency)
	var open []*billing.Invoice
	for offset := 0; ; offset += 500 {
		invs, total, err := s.Engine.FindInvoices(r.Context(), a.ID, 500, offset)
		if err != nil {
			return nil, due, err
		}
		for _, inv := range invs {
			if payable(inv) {
				open = append([]*billing.Invoice{inv}, open...)
				due = due.Add(inv.AmountDue)
			}
		}
		if offset+len(invs) >= total || len(invs) == 0 {
			return open, due, nil
		}
	}
}

// PerMonthOf is an annual price per user as a monthly figure.
func (summaryPage) PerMonthOf(annual billing.Money) billing.Money {
	return perMonth(annual, billing.Year)
}
