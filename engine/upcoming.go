package engine

import (
	"context"
	"errors"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Upcoming is the next invoice an account's billing will issue, as it will
// issue it: the seats it charges (inactive users' seats not charged), the
// credits it applies, its tax and total.
type Upcoming struct {
	// Invoice is the next period's invoice, a draft without a number.
	Invoice *billing.Invoice
	// At is when the billing run issues it: local midnight of its first
	// day (or the account's now when that is past).
	At time.Time
	// Overage is a contract's overage invoice for the period that ends
	// first, issued at the same time before it; nil when there is none.
	Overage *billing.Invoice
	// Credits are the inactivity credits granted before it, which its
	// credits applied include.
	Credits []*store.CreditTransaction
}

// UpcomingInvoice returns the account's next period invoice, computed by
// the code of the billing run itself: in a transaction that is rolled back,
// the account's time moves to the instant its next period invoice falls
// due and the steps due until then run as BillAccount runs them —
// inactivity credits, a contract's overage invoice, the renewal (scheduled
// changes, the catalog's current price, the contract's term) — and the
// period's invoice is drafted as billPeriod issues it. So the figure the
// Account Summary and the API show is, to the cent, the invoice the
// renewal makes if nothing changes meanwhile. It writes nothing; ENOTFOUND
// (reason no_upcoming_invoice) when no invoice is coming: the Free plan, a
// cancellation or a contract that ends without renewal.
func (e *Engine) UpcomingInvoice(ctx context.Context, accountID int64) (*Upcoming, error) {
	var out *Upcoming
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		if err := e.upcomingIn(ctx, tx, accountID, &out); err != nil {
			return err
		}
		return errRolledBack // writes nothing: the steps run only to be read
	})
	if errors.Is(err, errRolledBack) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, billing.ReasonErrorf(billing.ENOTFOUND, "no_upcoming_invoice", "The account has no upcoming invoice.")
	}
	return out, nil
}

var errRolledBack = errors.New("engine: upcoming invoice rolled back")

func (e *Engine) upcomingIn(ctx context.Context, tx *store.Tx, accountID int64, result **Upcoming) error {
	var out *Upcoming
	defer func() { *result = out }()
	err := func() error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		at, ok := nextBilling(st.sub, st.loc)
		if !ok {
			return nil
		}
		if at.Before(st.now) {
			at = st.now // billing due and not run yet: as the run would now
		}
		tx.SetNow(at)
		st.now, st.today = tx.Now(), billing.DateOf(at, st.loc)
		up := &Upcoming{At: at}
		for range maxSteps {
			d, err := nextDue(st)
			if err != nil || d == nil {
				return err
			}
			switch d.step {
			case StepPeriodInvoice:
				inv, _, _, err := periodDraft(st, d)
				if err != nil {
					return err
				}
				up.Invoice, out = inv, up
				return nil
			case StepInactivityCredits:
				r, err := e.grantInactivity(st, d)
				if err != nil {
					return err
				}
				up.Credits = append(up.Credits, r.Credits...)
			case StepOverageInvoice:
				inv, balance, err := overageDraft(st, d)
				if err != nil {
					return err
				}
				// Its credits are taken before the period invoice's; the
				// renewal follows it on the same day, as in nextDue.
				up.Overage, st.a.CreditBalance = inv, balance
				if _, err := e.renew(st, &due{step: StepRenewal, date: d.date}); err != nil {
					return err
				}
			case StepRenewal:
				if _, err := e.renew(st, d); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	return err
}
