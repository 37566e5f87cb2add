package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Card expiry notices. The issue asks for an email when the card on file is
// about to expire ("card expiring"), so that the billing contact replaces it
// before a charge is declined for it.
//
// It is a step of BillAccount, like the collection steps, rather than a
// periodic scan of its own: it then runs at the account's time, so that
// advancing a test clock sends it exactly when the scheduler would, and the
// billing job that finds due accounts (DueAccounts) finds these too.
//
//   - Which card: the account's default card; another card on file is not
//     charged, and gets no notice.
//   - When: on the first day (local) of the month before the card's expiry
//     month — a card is good through the last day of its expiry month — so
//     the contact has a month or more: "expires at the end of next month".
//     A card added later than that (already in that month or in its expiry
//     month) gets the notice at the next run. An expired card gets none: its
//     next charge fails with expired_card and the payment-failed email says
//     so.
//   - Once per card and expiry month: the notice is recorded
//     (store.CardExpiryNotice, a unique key) in the transaction that queues
//     the email, so a repeated or concurrent run sends one.

// StepCardExpiring tells the billing contact that the default card expires
// at the end of next month (or of this month).
const StepCardExpiring Step = "card_expiring"

// NotifyCardExpiring is the notification of StepCardExpiring; Method is the
// card. It is an email, not a webhook event.
const NotifyCardExpiring = "payment_method.card_expiring"

// expiryDue is an account's card expiry notice that has fallen due.
type expiryDue struct {
	date   billing.Date // the first day of the month before the expiry month
	method *store.PaymentMethod
}

// cardExpiryDue returns the account's card expiry notice when it is due at
// its today, nil when none is.
func cardExpiryDue(st *state) (*expiryDue, error) {
	if st.a.Status == billing.StatusClosed {
		return nil, nil
	}
	m, err := st.tx.DefaultPaymentMethod(st.a.ID)
	if err != nil || m == nil || m.Kind != store.MethodCard || m.ExpMonth < 1 || m.ExpMonth > 12 {
		return nil, err
	}
	notice := billing.NewDate(m.ExpYear, time.Month(m.ExpMonth)-1, 1)
	expired := billing.NewDate(m.ExpYear, time.Month(m.ExpMonth)+1, 1) // the first day it is no good
	if st.today.Before(notice) || !st.today.Before(expired) {
		return nil, nil
	}
	sent, err := st.tx.CardExpiryNoticeSent(m.ID, m.ExpYear, m.ExpMonth)
	if err != nil || sent {
		return nil, err
	}
	return &expiryDue{date: notice, method: m}, nil
}

// noticeIn sends the account's card expiry notice when it is due, in the
// round's transaction; nil when none is. BillAccount takes it once nothing
// else is due: it changes nothing the other steps read, and is sent at the
// account's time either way.
func (e *Engine) noticeIn(ctx context.Context, st *state) (*StepResult, error) {
	d, err := cardExpiryDue(st)
	if err != nil || d == nil {
		return nil, err
	}
	if e.beforeStep != nil {
		if err := e.beforeStep(ctx, st.a.ID, StepCardExpiring); err != nil {
			return nil, err
		}
	}
	if err := e.sendCardExpiry(ctx, st, d); err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "billing step", slog.String("account", st.a.Number), slog.String("step", string(StepCardExpiring)),
		slog.String("due", d.date.String()))
	return &StepResult{Step: StepCardExpiring, Due: d.date}, nil
}

// sendCardExpiry records the notice, audits it and notifies (the email),
// in the step's transaction.
func (e *Engine) sendCardExpiry(ctx context.Context, st *state, d *expiryDue) error {
	m := d.method
	if err := st.tx.RecordCardExpiryNotice(&store.CardExpiryNotice{AccountID: st.a.ID, PaymentMethodID: m.ID,
		ExpYear: m.ExpYear, ExpMonth: m.ExpMonth, DueOn: d.date}); err != nil {
		return err
	}
	if err := st.tx.Audit("payment_method.expiry_notice", "payment_method", st.a.Number, st.a.ID, nil, struct {
		ID      int64        `json:"id"`
		Card    string       `json:"card"`
		Expires string       `json:"expires"`
		DueOn   billing.Date `json:"due_on"`
	}{m.ID, m.Label(), fmt.Sprintf("%02d/%d", m.ExpMonth, m.ExpYear), d.date}); err != nil {
		return err
	}
	return e.notify(ctx, st.tx, Notification{Type: NotifyCardExpiring, AccountID: st.a.ID, AccountNumber: st.a.Number, Method: m})
}
