package engine

import (
	"context"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// The next due instant. DESIGN: "Each account stores the instant its next
// step falls due (kept by every change), so finding due work is one index
// range scan." Every transaction that opens an account (open) stores, just
// before it commits, the instant at which the account's earliest step —
// billing, collection or card expiry notice — falls due, from the state the
// transaction leaves: local midnight of the step's day in the account's
// zone, or the instant an attempt in flight is to be asked again. A step
// due already gives an instant at or before now, so the account stays due
// until a run has taken every step.
//
// The instant is never later than the truth (a later one would skip
// billing): what only moves steps later without opening the account (a
// user's activity reported) leaves an earlier instant, and the run that
// finds the account due then finds nothing to do and stores the right one.

// watchNextDue has the account's next due instant stored before tx
// commits, once per transaction and account.
func (e *Engine) watchNextDue(ctx context.Context, tx *store.Tx, accountID int64, now time.Time) {
	tx.BeforeCommit([2]any{"next_due", accountID}, func() error { return e.storeNextDue(tx, accountID, now) })
}

// storeNextDue stores the account's next due instant, from its state as
// stored.
func (e *Engine) storeNextDue(tx *store.Tx, accountID int64, now time.Time) error {
	a, err := tx.LockAccount(accountID)
	if err != nil {
		return err
	}
	st := &state{tx: tx, a: a, now: now, loc: a.Location()}
	st.today = billing.DateOf(now, st.loc)
	if st.sub, err = tx.FindSubscription(accountID); err != nil {
		return err
	}
	at, err := e.nextDueAt(st)
	if err != nil {
		return err
	}
	return tx.SetNextDue(accountID, at)
}

// nextDueAt is the instant the account's earliest step falls due, nil when
// none ever will without a change.
func (e *Engine) nextDueAt(st *state) (*time.Time, error) {
	if st.a.Status == billing.StatusClosed {
		return nil, nil
	}
	var best *time.Time
	at := func(t time.Time) {
		if best == nil || t.Before(*best) {
			best = &t
		}
	}
	day := func(d billing.Date) { at(d.Midnight(st.loc)) }

	// Billing (nextDue): the period's invoice, inactivity credits, the
	// overage and the renewal at the period end.
	if sub := st.sub; sub != nil && sub.IsPaid() {
		if !sub.PeriodBilled {
			day(sub.Period.Start)
		} else if sub.Contract == nil {
			roster, err := st.tx.RosterUsers(st.a.ID)
			if err != nil {
				return nil, err
			}
			for _, u := range roster {
				if u.InactivePeriodStart == sub.Period.Start {
					continue
				}
				if credit := billing.InactivityCreditDay(lastActiveDay(u, st.loc)); sub.Period.Contains(credit) {
					day(credit.AddDays(1))
				}
			}
		}
		day(sub.Period.End)
	}

	// Collection (nextPaymentDue).
	if e.pay.gateway != nil {
		inflight, err := st.tx.InFlightPayments(st.a.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range inflight {
			if p.NextCheckAt != nil {
				at(*p.NextCheckAt)
			}
		}
		refunds, err := st.tx.InFlightRefunds(st.a.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range refunds {
			if r.NextCheckAt != nil {
				at(*r.NextCheckAt)
			}
		}
		invoices, err := st.tx.OpenInvoices(st.a.ID)
		if err != nil {
			return nil, err
		}
		if len(invoices) > 0 {
			def, err := st.tx.DefaultPaymentMethod(st.a.ID)
			if err != nil {
				return nil, err
			}
			events, err := st.tx.DunningEvents(st.a.ID)
			if err != nil {
				return nil, err
			}
			for _, inv := range invoices {
				if collectMode(inv, def) == store.MethodACH {
					for _, d := range e.transferDays(st, inv, events[inv.ID]) {
						day(d)
					}
					continue
				}
				attempts, err := st.tx.InvoicePayments(inv.ID)
				if err != nil {
					return nil, err
				}
				if d := e.cardDue(st, inv, attempts, events[inv.ID]); d != nil {
					day(d.date)
				}
			}
		}
	}

	// The card expiry notice (cardExpiryDue): its day, while the card is
	// good and no notice was sent.
	m, err := st.tx.DefaultPaymentMethod(st.a.ID)
	if err != nil {
		return nil, err
	}
	if m != nil && m.Kind == store.MethodCard && m.ExpMonth >= 1 && m.ExpMonth <= 12 {
		notice := billing.NewDate(m.ExpYear, time.Month(m.ExpMonth)-1, 1)
		expired := billing.NewDate(m.ExpYear, time.Month(m.ExpMonth)+1, 1)
		if st.today.Before(expired) {
			sent, err := st.tx.CardExpiryNoticeSent(m.ID, m.ExpYear, m.ExpMonth)
			if err != nil {
				return nil, err
			}
			if !sent {
				day(notice)
			}
		}
	}
	return best, nil
}

// transferDays are the days on which the steps of an invoice paid by bank
// transfer fall due, as transferDue decides them: overdue the day after
// the due date; the latest reminder whose day has come, and each reminder
// still to come, unless sent.
func (e *Engine) transferDays(st *state, inv *billing.Invoice, evs []*store.DunningEvent) []billing.Date {
	due := inv.IssueDate
	if inv.DueDate != nil {
		due = *inv.DueDate
	}
	var out []billing.Date
	if !hasEvent(evs, store.DunningOverdue, 0) {
		out = append(out, due.AddDays(1))
	}
	for i := len(e.pay.reminderDays) - 1; i >= 0; i-- {
		o := e.pay.reminderDays[i]
		day := due.AddDays(o)
		if !day.Before(inv.IssueDate) && !hasEvent(evs, store.DunningReminder, o) {
			out = append(out, day)
		}
		if !day.After(st.today) {
			break // the latest that has come; earlier ones are never sent
		}
	}
	return out
}
