package engine

import (
	"context"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// ContractRequest is a sales contract as an operator enters it. DESIGN:
// "contract number, term start and end, prepaid subscriptions ('By
// Count'), negotiated price per user, payment plan monthly or annually,
// payment terms (net N days), payment by invoice (ACH / bank transfer) or
// card, auto-renewal."
type ContractRequest struct {
	Number    string
	PlanCode  string
	TermStart billing.Date
	TermEnd   billing.Date // exclusive: the first day after the term
	Prepaid   int64
	// UnitPrice is the negotiated price per user for one period of
	// Interval.
	UnitPrice        billing.Money
	Interval         billing.Interval
	NetDays          int
	OverageUnitPrice billing.Money // per user above the prepaid, per period
	AutoRenew        bool
	OnEnd            billing.EndPolicy  // default convert_free
	PayByInvoice     bool               // ACH / bank transfer rather than card
	OnJoin           billing.JoinPolicy // default leave_free (counts toward overage)
}

// maxTermPeriods bounds a contract term: ten years of monthly periods.
const maxTermPeriods = 120

// termPeriods returns how many periods of the schedule anchored at start
// the term [start, end) holds, and false when end is not one of the
// schedule's boundaries.
func termPeriods(start, end billing.Date, interval billing.Interval) (int, bool) {
	p := billing.FirstPeriod(start, interval)
	for n := 1; n <= maxTermPeriods; n++ {
		switch {
		case p.End == end:
			return n, true
		case p.End.After(end):
			return 0, false
		}
		p = billing.NextPeriod(start, p, interval)
	}
	return 0, false
}

func (r *ContractRequest) validate(currency string) error {
	var v billing.Validation
	r.Number = strings.TrimSpace(r.Number)
	if r.Number == "" || len(r.Number) > 64 {
		v.Add("number", "A contract number of 1–64 characters is required.")
	}
	if !r.Interval.Valid() {
		v.Add("interval", "Payment plan must be month or year.")
	}
	if !r.TermStart.Valid() {
		v.Add("term_start", "Term start is required.")
	}
	if !r.TermEnd.Valid() || (r.TermStart.Valid() && !r.TermStart.Before(r.TermEnd)) {
		v.Add("term_end", "Term end must be after the term start.")
	} else if r.TermStart.Valid() && r.Interval.Valid() {
		if _, ok := termPeriods(r.TermStart, r.TermEnd, r.Interval); !ok {
			v.Add("term_end", "Term end must end a whole %s period counted from the term start (at most %d periods).", r.Interval, maxTermPeriods)
		}
	}
	if r.Prepaid < 1 {
		v.Add("prepaid", "A contract prepays at least one subscription.")
	}
	if r.UnitPrice.Amount < 0 {
		v.Add("unit_price", "A price cannot be negative.")
	}
	if r.OverageUnitPrice.Currency == "" && r.OverageUnitPrice.Amount == 0 {
		r.OverageUnitPrice = billing.Zero(currency)
	}
	if r.OverageUnitPrice.Amount < 0 {
		v.Add("overage_unit_price", "A price cannot be negative.")
	}
	if r.NetDays < 0 || r.NetDays > 365 {
		v.Add("net_days", "Payment terms must be 0–365 days.")
	}
	if r.OnEnd == "" {
		r.OnEnd = billing.EndConvertFree
	} else if !r.OnEnd.Valid() {
		v.Add("on_end", "On end must be convert_free or auto_increase.")
	}
	if r.OnJoin == "" {
		r.OnJoin = billing.JoinLeaveFree
	} else if !r.OnJoin.Valid() {
		v.Add("on_join", "On join must be auto_increase, leave_free or refuse.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, m := range []billing.Money{r.UnitPrice, r.OverageUnitPrice} {
		if m.Currency != currency {
			return &billing.Error{Code: billing.EINVALID, Reason: "currency_mismatch",
				Message: "Prices must be in " + currency + ", the account's currency, not " + m.Currency + ".",
				Fields:  []billing.FieldError{{Field: "unit_price", Message: "Must be in " + currency + "."}}}
		}
	}
	return nil
}

// ContractResult is a new contract's subscription and what billing it ran:
// the first period is billed when it starts, so a contract that starts
// today (or started before) is invoiced at once.
type ContractResult struct {
	Subscription billing.Subscription
	Bill         BillResult
}

// CreateContract puts a subscription-billed account on a sales contract. The
// first period is anchored at the term start and billed in advance when it
// starts, due after the payment terms; BillAccount runs right after, so a
// contract whose term has started is invoiced now.
func (e *Engine) CreateContract(ctx context.Context, accountID int64, req ContractRequest) (*ContractResult, error) {
	var sub billing.Subscription
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		switch {
		case st.a.BillingType != billing.BillingSubscription:
			return billing.ReasonErrorf(billing.ESTATE, "not_contract_account",
				"Account %s is billed online; only a subscription-billed account takes a contract.", st.a.Number)
		case st.sub.Contract != nil:
			return billing.ReasonErrorf(billing.ESTATE, "contract_exists", "Account %s has contract %s already.", st.a.Number, st.sub.Contract.Number)
		case st.sub.IsPaid():
			return billing.ReasonErrorf(billing.ESTATE, "subscription_active", "Account %s has a paid subscription already.", st.a.Number)
		}
		if err := req.validate(st.a.Currency); err != nil {
			return err
		}
		p, err := tx.FindPlanByCode(req.PlanCode)
		if billing.ErrorCode(err) == billing.ENOTFOUND || (err == nil && p.Current == nil) {
			return &billing.Error{Code: billing.EINVALID, Reason: "unknown_plan", Message: "There is no plan " + quote(req.PlanCode) + ".",
				Fields: []billing.FieldError{{Field: "plan", Message: "Unknown plan."}}}
		} else if err != nil {
			return err
		}
		users, err := tx.CountManagedUsers(accountID)
		if err != nil {
			return err
		}
		before := *st.sub
		s := *st.sub
		s.Terms = billing.Terms{Plan: planRef(p, p.Current), Interval: req.Interval, Seats: req.Prepaid, UnitPrice: req.UnitPrice}
		s.Anchor = req.TermStart
		s.Period = billing.FirstPeriod(req.TermStart, req.Interval)
		s.PeriodBilled = false
		s.Status = billing.SubscriptionActive
		s.CancelAtPeriodEnd, s.Scheduled = false, nil
		s.Contract = &billing.Contract{Number: req.Number, TermStart: req.TermStart, TermEnd: req.TermEnd, NetDays: req.NetDays,
			OverageUnitPrice: req.OverageUnitPrice, AutoRenew: req.AutoRenew, OnEnd: req.OnEnd, PayByInvoice: req.PayByInvoice}
		s.OnJoin = req.OnJoin
		s.PeakUsers = users
		if err := tx.UpdateSubscription(&s); err != nil {
			if billing.ErrorCode(err) == billing.ECONFLICT {
				return &billing.Error{Code: billing.ECONFLICT, Reason: "contract_number_taken",
					Message: "Contract number " + req.Number + " is taken.", Fields: []billing.FieldError{{Field: "number", Message: "Taken."}}}
			}
			return err
		}
		sub = s
		return tx.Audit("contract.create", "subscription", st.a.Number, st.a.ID, snapshot(&before, nil), snapshot(&s, nil))
	})
	if err != nil {
		return nil, err
	}
	out := &ContractResult{Subscription: sub}
	bill, err := e.BillAccount(ctx, accountID)
	out.Bill = bill
	if err != nil {
		return out, err
	}
	if ov, err := e.Subscription(ctx, accountID); err == nil {
		out.Subscription = ov.Subscription
	}
	return out, nil
}

// PreviewAddSubscriptions returns what AddSubscriptions(n) would charge now,
// writing nothing.
func (e *Engine) PreviewAddSubscriptions(ctx context.Context, accountID int64, n int64) (*ChangeResult, error) {
	var out *ChangeResult
	err := e.db.ReadTx(ctx, func(tx *store.Tx) error {
		st, err := e.read(ctx, tx, accountID)
		if err != nil {
			return err
		}
		ch, err := billing.AddContractSeats(*st.sub, n, st.today)
		if err != nil {
			return err
		}
		p, err := plan(st, ch)
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

// AddSubscriptions buys n additional subscriptions on a contract: DESIGN
// "Contract add-on subscriptions: prorated at the contract price to the end
// of the current period", on an invoice due after the payment terms.
func (e *Engine) AddSubscriptions(ctx context.Context, accountID int64, n int64) (*ChangeResult, error) {
	var out *ChangeResult
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		before := *st.sub
		ch, err := billing.AddContractSeats(*st.sub, n, st.today)
		if err != nil {
			return err
		}
		p, err := plan(st, ch)
		if err != nil {
			return err
		}
		if err := p.apply(st); err != nil {
			return err
		}
		out = p.result()
		return tx.Audit("contract.add_subscriptions", "subscription", st.a.Number, st.a.ID, snapshot(&before, nil), snapshot(st.sub, p.inv))
	})
	if err != nil {
		return nil, err
	}
	e.collectNow(ctx, accountID, out.Invoice) // charged at once when the contract pays by card
	return out, nil
}

// Preferences are the account's choices for when a user joins and no seat
// is free, and for a contract's end; nil leaves one as it is.
type Preferences struct {
	OnJoin    *billing.JoinPolicy
	OnEnd     *billing.EndPolicy // contracts only
	AutoRenew *bool              // contracts only
}

// SetPreferences updates the preferences. DESIGN: "when a user joins and
// no subscription is free — assign one automatically by buying more
// (auto-increase), or leave the user free / refuse the join (manual); when
// the contract ends without renewal — convert users to free, or
// auto-increase."
func (e *Engine) SetPreferences(ctx context.Context, accountID int64, prefs Preferences) (*billing.Subscription, error) {
	var v billing.Validation
	if prefs.OnJoin != nil && !prefs.OnJoin.Valid() {
		v.Add("on_join", "On join must be auto_increase, leave_free or refuse.")
	}
	if prefs.OnEnd != nil && !prefs.OnEnd.Valid() {
		v.Add("on_end", "On end must be convert_free or auto_increase.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out billing.Subscription
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		before := *st.sub
		s := *st.sub
		if prefs.OnJoin != nil {
			s.OnJoin = *prefs.OnJoin
		}
		if prefs.OnEnd != nil || prefs.AutoRenew != nil {
			if s.Contract == nil {
				return billing.ReasonErrorf(billing.ESTATE, "not_a_contract", "Only a contract has an end preference or auto-renewal.")
			}
			c := *s.Contract
			if prefs.OnEnd != nil {
				c.OnEnd = *prefs.OnEnd
			}
			if prefs.AutoRenew != nil {
				c.AutoRenew = *prefs.AutoRenew
			}
			s.Contract = &c
		}
		if snapshot(&s, nil) == snapshot(&before, nil) {
			out = s
			return nil
		}
		if err := tx.UpdateSubscription(&s); err != nil {
			return err
		}
		*st.sub, out = s, s
		return tx.Audit("subscription.preferences", "subscription", st.a.Number, st.a.ID, snapshot(&before, nil), snapshot(&s, nil))
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
