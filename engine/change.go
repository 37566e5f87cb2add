package engine

import (
	"context"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Users values of a ChangeRequest. DESIGN: "Upgrading buys seats for 'all
// current users' or 'just the admin'".
const (
	UsersAll   = "all"   // one seat per managed user (at least one)
	UsersAdmin = "admin" // one seat
)

// ChangeRequest asks for an online subscription's new terms: a plan, an
// interval, and either a number of seats or Users ("all" or "admin").
type ChangeRequest struct {
	Plan     string
	Interval billing.Interval
	Seats    int64
	Users    string
}

// ChangeResult is what a change does (or, previewed, would do): when it
// takes effect, the subscription after it, and the invoice it creates now —
// nil when nothing is billed now.
type ChangeResult struct {
	Timing        billing.Timing
	EffectiveDate billing.Date
	Subscription  billing.Subscription
	Invoice       *billing.Invoice
	// CreditBalance is the account's credit balance after the invoice.
	CreditBalance billing.Money
}

// PreviewChange returns exactly what ConfirmChange would do now — the same
// invoice lines, amounts, tax and total, the same effective date — and
// writes nothing: it runs the change's own planning (planChange) on the
// account's state read in a read-only transaction, without the lock. The
// invoice is a draft, without a number.
func (e *Engine) PreviewChange(ctx context.Context, accountID int64, req ChangeRequest) (*ChangeResult, error) {
	var out *ChangeResult
	err := e.db.ReadTx(ctx, func(tx *store.Tx) error {
		st, err := e.read(ctx, tx, accountID)
		if err != nil {
			return err
		}
		p, err := e.planChange(st, req)
		if err != nil {
			return err
		}
		out = p.result()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ConfirmChange makes the change: it stores the subscription and issues the
// invoice PreviewChange showed, in one transaction with one audit event.
func (e *Engine) ConfirmChange(ctx context.Context, accountID int64, req ChangeRequest) (*ChangeResult, error) {
	var out *ChangeResult
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		before := *st.sub
		p, err := e.planChange(st, req)
		if err != nil {
			return err
		}
		if err := e.requirePaymentMethod(st, p); err != nil {
			return err
		}
		if err := p.apply(st); err != nil {
			return err
		}
		out = p.result()
		return tx.Audit("subscription.change", "subscription", st.a.Number, st.a.ID,
			snapshot(&before, nil), snapshot(st.sub, p.inv))
	})
	if err != nil {
		return nil, err
	}
	e.collectNow(ctx, accountID, out.Invoice) // "online invoices are charged at once"
	return out, nil
}

// ErrPaymentMethodRequired is the reason of a change to a paid plan that
// an online account has no way to pay for.
const ErrPaymentMethodRequired = "payment_method_required"

// requirePaymentMethod refuses a change that leaves an online account on a
// paid plan with no payment method on file, unless an operator has set the
// account to pay by invoice. DESIGN: "billed in advance by the default card
// each period": an upgrade with no card would issue an invoice nobody can
// pay, and the account would be suspended after the retries. With no
// gateway (collection off) nothing is charged, so nothing is required.
func (e *Engine) requirePaymentMethod(st *state, p *plannedChange) error {
	if e.pay.gateway == nil || !p.ch.After.IsPaid() || st.a.BillingType != billing.BillingOnline || st.a.PayByInvoice {
		return nil
	}
	def, err := st.tx.DefaultPaymentMethod(st.a.ID)
	if err != nil {
		return err
	}
	if def != nil {
		return nil
	}
	return &billing.Error{Code: billing.EINVALID, Reason: ErrPaymentMethodRequired,
		Message: "A paid plan is charged to a card: add a card (it becomes the default payment method) and confirm again. Nothing was changed.",
		Fields:  []billing.FieldError{{Field: "payment_method", Message: "Add a card to pay for a paid plan."}}}
}

// plannedChange is a change worked out but not yet stored.
type plannedChange struct {
	ch      billing.Change
	inv     *billing.Invoice // nil when nothing is billed now
	balance billing.Money    // the credit balance after inv
	settle  []string         // users whose seats the new period does not charge
}

func (p *plannedChange) result() *ChangeResult {
	return &ChangeResult{Timing: p.ch.Timing, EffectiveDate: p.ch.EffectiveDate, Subscription: p.ch.After,
		Invoice: p.inv, CreditBalance: p.balance}
}

// apply stores the subscription after the change and issues its invoice.
func (p *plannedChange) apply(st *state) error {
	after := p.ch.After
	if after.Period != st.sub.Period {
		// A first paid period, or an annual one that starts today: the
		// change's invoice bills it.
		after.PeriodBilled = p.inv != nil
	}
	if err := st.tx.UpdateSubscription(&after); err != nil {
		return err
	}
	*st.sub = after
	p.ch.After = after
	for _, id := range p.settle {
		if err := st.tx.SetUserInactivePeriod(st.a.ID, id, after.Period.Start); err != nil {
			return err
		}
	}
	if p.inv != nil {
		if err := issue(st, p.inv, p.balance); err != nil {
			return err
		}
	}
	return nil
}

// planChange works out an online subscription's change to the requested
// terms on the account's today, with its invoice.
func (e *Engine) planChange(st *state, req ChangeRequest) (*plannedChange, error) {
	to, err := e.resolveTerms(st, req)
	if err != nil {
		return nil, err
	}
	u, inactive, err := usage(st)
	if err != nil {
		return nil, err
	}
	ch, err := billing.PlanChange(*st.sub, to, st.today, u)
	if err != nil {
		return nil, err
	}
	p, err := plan(st, ch)
	if err != nil {
		return nil, err
	}
	if st.sub.IsPaid() && ch.After.Period != st.sub.Period {
		// Monthly → annual: the new period did not charge these users'
		// seats, as a renewal would not.
		p.settle = inactive
	}
	return p, nil
}

// usage is what a change needs to know of the account on its today (see
// billing.Usage): the roster's size, the users inactive 15 days, and what
// the current period's invoices and inactivity credits charged and gave
// back — the unused time a change credits is of that.
func usage(st *state) (billing.Usage, []string, error) {
	users, err := st.tx.CountManagedUsers(st.a.ID)
	if err != nil {
		return billing.Usage{}, nil, err
	}
	u := billing.Usage{ManagedUsers: users}
	if !st.sub.IsPaid() {
		return u, nil, nil
	}
	inactive, err := inactiveUsers(st, st.today, users)
	if err != nil {
		return billing.Usage{}, nil, err
	}
	u.InactiveUsers = int64(len(inactive))
	lines, err := st.tx.PeriodLines(st.a.ID, st.sub.ID, st.sub.Period)
	if err != nil {
		return billing.Usage{}, nil, err
	}
	given, err := st.tx.InactivityRuns(st.a.ID, st.sub.Period)
	if err != nil {
		return billing.Usage{}, nil, err
	}
	u.Charged = append(billing.SeatRunsOf(st.sub.Period, lines), given...)
	return u, inactive, nil
}

// plan builds the invoice of a worked-out change.
func plan(st *state, ch billing.Change) (*plannedChange, error) {
	p := &plannedChange{ch: ch, balance: st.a.CreditBalance}
	if len(ch.Lines) == 0 {
		return p, nil
	}
	// The invoice belongs to the subscription as it is after the change
	// (a first period, a contract's payment terms).
	cur := st.sub
	after := ch.After
	st.sub = &after
	defer func() { st.sub = cur }()
	inv, balance, err := draft(st, ch.InvoiceKind, ch.InvoicePeriod, ch.EffectiveDate, ch.Lines)
	if err != nil {
		return nil, err
	}
	p.inv, p.balance = inv, balance
	return p, nil
}

// resolveTerms turns a request into terms: the plan's current version and
// its price for the interval in the account's currency — or, for the plan
// the subscription is on, the subscription's own version and price, which
// it keeps until renewal (DESIGN: "existing subscriptions keep theirs until
// renewal").
func (e *Engine) resolveTerms(st *state, req ChangeRequest) (billing.Terms, error) {
	switch {
	case st.sub.Contract != nil:
		return billing.Terms{}, billing.ReasonErrorf(billing.ESTATE, "contract_terms",
			"A contract's plan and price are set by its contract; buy additional subscriptions instead.")
	case st.a.BillingType == billing.BillingSubscription:
		return billing.Terms{}, billing.ReasonErrorf(billing.ESTATE, "contract_account",
			"Account %s is billed by a sales contract; an operator sets up its subscription.", st.a.Number)
	}
	if !req.Interval.Valid() {
		return billing.Terms{}, &billing.Error{Code: billing.EINVALID, Reason: "unknown_interval",
			Message: "Interval must be month or year.", Fields: []billing.FieldError{{Field: "interval", Message: "Must be month or year."}}}
	}
	p, err := st.tx.FindPlanByCode(req.Plan)
	if billing.ErrorCode(err) == billing.ENOTFOUND || (err == nil && p.Current == nil) {
		return billing.Terms{}, &billing.Error{Code: billing.EINVALID, Reason: "unknown_plan",
			Message: "There is no plan " + quote(req.Plan) + ".", Fields: []billing.FieldError{{Field: "plan", Message: "Unknown plan."}}}
	} else if err != nil {
		return billing.Terms{}, err
	}
	var seats int64
	switch req.Users {
	case UsersAll:
		n, err := st.tx.CountManagedUsers(st.a.ID)
		if err != nil {
			return billing.Terms{}, err
		}
		seats = max(n, 1)
	case UsersAdmin:
		seats = 1
	case "":
		seats = req.Seats
	default:
		return billing.Terms{}, &billing.Error{Code: billing.EINVALID, Message: "Users must be all or admin.",
			Fields: []billing.FieldError{{Field: "users", Message: "Must be all or admin."}}}
	}

	version := p.Current
	same := st.sub.IsPaid() && p.Code == st.sub.Plan.Code
	if same {
		if version, err = st.tx.FindPlanVersion(st.sub.Plan.VersionID); err != nil {
			return billing.Terms{}, err
		}
	}
	to := billing.Terms{Plan: planRef(p, version), Interval: req.Interval, Seats: seats}
	if same && req.Interval == st.sub.Interval {
		to.UnitPrice = st.sub.UnitPrice
		return to, nil
	}
	if to.UnitPrice, err = version.PriceFor(req.Interval, st.a.Currency); err != nil {
		for _, pr := range version.Prices {
			if pr.Interval == req.Interval {
				return billing.Terms{}, &billing.Error{Code: billing.EINVALID, Reason: "currency_mismatch",
					Message: "Plan " + p.Name + " has no " + string(req.Interval) + "ly price in " + st.a.Currency + ", the account's currency.",
					Fields:  []billing.FieldError{{Field: "plan", Message: "No price in " + st.a.Currency + "."}}}
			}
		}
		return billing.Terms{}, &billing.Error{Code: billing.EINVALID, Reason: "unknown_interval",
			Message: "Plan " + p.Name + " has no " + string(req.Interval) + "ly price.",
			Fields:  []billing.FieldError{{Field: "interval", Message: "Not offered for this plan."}}}
	}
	return to, nil
}

func quote(s string) string { return "\"" + s + "\"" }

// Cancel cancels an online subscription at the period end. DESIGN: "Cancel
// keeps the paid plan to the period end, then the account is Free and has no
// managed users." A change request lifts it (resume). Cancelling twice
// changes nothing.
func (e *Engine) Cancel(ctx context.Context, accountID int64) (*billing.Subscription, error) {
	var out billing.Subscription
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		switch {
		case st.sub.Contract != nil:
			return billing.ReasonErrorf(billing.ESTATE, "contract_terms",
				"A contract ends at its term end; change its preferences to convert users to free.")
		case !st.sub.IsPaid():
			return billing.ReasonErrorf(billing.ESTATE, "not_paid", "The account is on the Free plan; there is nothing to cancel.")
		case st.sub.CancelAtPeriodEnd:
			out = *st.sub
			return nil
		}
		before := *st.sub
		st.sub.CancelAtPeriodEnd, st.sub.Scheduled = true, nil
		if err := tx.UpdateSubscription(st.sub); err != nil {
			return err
		}
		out = *st.sub
		return tx.Audit("subscription.cancel", "subscription", st.a.Number, st.a.ID, snapshot(&before, nil), snapshot(st.sub, nil))
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
