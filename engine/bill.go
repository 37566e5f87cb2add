package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Step names one piece of billing work that falls due.
type Step string

const (
	// StepPeriodInvoice bills a period in advance once it has started.
	StepPeriodInvoice Step = "period_invoice"
	// StepInactivityCredits grants the inactivity credits whose credit
	// day is over.
	StepInactivityCredits Step = "inactivity_credits"
	// StepOverageInvoice bills a contract's peak users above its prepaid
	// ones for the period that ended.
	StepOverageInvoice Step = "overage_invoice"
	// StepRenewal ends a period and starts the next: scheduled changes,
	// cancellation, the catalog's current price, a contract's term end.
	StepRenewal Step = "renewal"
)

// StepResult is one step BillAccount took.
type StepResult struct {
	Step Step
	// Due is the local day the step fell due on (an invoice's issue date).
	Due     billing.Date
	Invoice *billing.Invoice
	Credits []*store.CreditTransaction
	// From and To are the periods before and after a renewal.
	From, To billing.Period
	// Plan is the plan after a renewal.
	Plan billing.PlanRef
}

// BillResult is everything BillAccount did, in order.
type BillResult struct {
	AccountID int64
	Now       time.Time // the account's time the run billed up to
	Steps     []StepResult
}

// maxSteps bounds one run: ten years of monthly periods and their credits.
const maxSteps = 2000

// BillAccount runs everything due for the account at its now (its test
// clock's time, or the engine's), in date order: (a) a period that has
// started and is not billed gets its invoice; (b) inactivity credits whose
// credit day is over are granted; (c) a period that has ended gets its
// contract overage invoice and is renewed; the collection steps
// (engine/collect.go) and the card expiry notice (engine/card_expiry.go)
// in between. It loops until nothing is due, so an account whose clock
// jumped a year catches up period by period.
//
// It is a batch of one (engine/run.go): every step due is taken in one
// transaction (a round), each step behind a savepoint: a step that fails
// is undone alone, the steps before it commit, and the error is returned.
// A round ends early where a charge must go to the gateway: the attempt
// commits first, the call is made outside any transaction, and the next
// round records its outcome and takes what is due after it. Each round
// stores the account's next due instant (engine/due.go) before it commits.
//
// It is idempotent: DESIGN "Exactly once: at most one invoice per
// (subscription, period, kind), enforced by a unique constraint, so a
// retried or crashed billing run can never bill twice; a run that stopped
// is simply run again." Each step is decided under the account's lock from
// what is stored, so a run repeated, or run concurrently, finds the step
// done; a unique violation of the invoice index means a step already ran
// and is taken as done.
func (e *Engine) BillAccount(ctx context.Context, accountID int64) (BillResult, error) {
	results, err := e.billBatch(ctx, func(*store.Tx) ([]int64, error) { return []int64{accountID}, nil },
		RunOptions{}.withDefaults())
	if len(results) == 0 {
		return BillResult{AccountID: accountID}, err
	}
	if r := results[0]; r.err != nil {
		return r.res, r.err
	}
	return results[0].res, err
}

// maxRoundSteps bounds the steps one account takes in a round, so that a
// transaction stays short when an account catches up months: the rest is
// taken in the next round, after a commit.
const maxRoundSteps = 8

// takeSteps takes, in the round's transaction, every step due for the
// account in date order, until none is, a charge must go to the gateway
// (its call returned), or the round has taken maxRoundSteps (more is
// true), with the steps' results appended to res. A step that fails is
// rolled back to its savepoint and its error returned; the steps before it
// stand.
func (e *Engine) takeSteps(ctx context.Context, st *state, res *BillResult) (calls []*pendingCall, more bool, err error) {
	for taken := 0; len(res.Steps) < maxSteps; {
		if taken == maxRoundSteps {
			return nil, true, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		var step *StepResult
		var call *pendingCall
		err := e.inStep(st, func() (err error) {
			step, call, err = e.nextStep(ctx, st)
			return err
		})
		if billing.ErrorCode(err) == billing.ECONFLICT && reasonOf(err) == store.ErrAlreadyBilled {
			// Another run issued this period's invoice: mark it billed.
			if err := e.inStep(st, func() error { return e.markBilled(ctx, st) }); err != nil {
				return nil, false, err
			}
			continue
		}
		if err != nil || step == nil {
			return nil, false, err
		}
		taken++
		res.Steps = append(res.Steps, *step)
		if call != nil {
			return []*pendingCall{call}, false, nil
		}
	}
	return nil, false, nil
}

// inStep runs fn behind a savepoint: undone alone when it fails.
func (e *Engine) inStep(st *state, fn func() error) error {
	if err := st.tx.Savepoint("step"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if rerr := st.tx.RollbackTo("step"); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return st.tx.Release("step")
}

// nextStep takes the account's next step, nil when nothing is due: a
// collection step when it falls due no later than the next billing step,
// else the billing step, else a card expiry notice. A charge returns the
// gateway call to make once its attempt has committed.
func (e *Engine) nextStep(ctx context.Context, st *state) (*StepResult, *pendingCall, error) {
	b, err := nextDue(st)
	if err != nil {
		return nil, nil, err
	}
	if step, call, err := e.collectIn(ctx, st, b); err != nil || step != nil {
		return step, call, err
	}
	if b == nil {
		step, err := e.noticeIn(ctx, st)
		return step, nil, err
	}
	if e.beforeStep != nil {
		if err := e.beforeStep(ctx, st.a.ID, b.step); err != nil {
			return nil, nil, err
		}
	}
	var out *StepResult
	switch b.step {
	case StepPeriodInvoice:
		out, err = e.billPeriod(st, b)
	case StepInactivityCredits:
		out, err = e.grantInactivity(st, b)
	case StepOverageInvoice:
		out, err = e.billOverage(st, b)
	case StepRenewal:
		out, err = e.renew(st, b)
	}
	if err != nil {
		return nil, nil, err
	}
	e.log.InfoContext(ctx, "billing step", slog.String("account", st.a.Number), slog.String("step", string(b.step)),
		slog.String("due", b.date.String()))
	return out, nil, nil
}

func reasonOf(err error) string {
	var e *billing.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// due is the next step of an account, nil when nothing is due.
type due struct {
	step  Step
	date  billing.Date
	users []*store.RosterUser // the users of an inactivity step
}

// nextDue finds the earliest step due at the account's today.
func nextDue(st *state) (*due, error) {
	sub := st.sub
	if !sub.IsPaid() || st.a.Status == billing.StatusClosed {
		return nil, nil
	}
	if !sub.PeriodBilled && !sub.Period.Start.After(st.today) {
		return &due{step: StepPeriodInvoice, date: sub.Period.Start}, nil
	}
	if sub.Contract == nil && sub.PeriodBilled {
		roster, err := st.tx.RosterUsers(st.a.ID)
		if err != nil {
			return nil, err
		}
		var d *due
		for _, u := range roster {
			if u.InactivePeriodStart == sub.Period.Start {
				continue
			}
			credit := billing.InactivityCreditDay(lastActiveDay(u, st.loc))
			// The user reaches 15 days once the credit day is over: the
			// credit is due the day after, at the latest at renewal.
			if !sub.Period.Contains(credit) || credit.AddDays(1).After(st.today) {
				continue
			}
			if d == nil {
				d = &due{step: StepInactivityCredits, date: credit.AddDays(1)}
			}
			d.users = append(d.users, u)
			if credit.AddDays(1).Before(d.date) {
				d.date = credit.AddDays(1)
			}
		}
		if d != nil {
			return d, nil
		}
	}
	if !sub.Period.End.After(st.today) {
		if sub.Contract != nil {
			lines, err := billing.OverageLines(*sub)
			if err != nil {
				return nil, err
			}
			if len(lines) > 0 {
				done, err := st.tx.InvoiceExists(sub.ID, sub.Period.Start, billing.InvoiceOverage)
				if err != nil {
					return nil, err
				}
				if !done {
					return &due{step: StepOverageInvoice, date: sub.Period.End}, nil
				}
			}
		}
		return &due{step: StepRenewal, date: sub.Period.End}, nil
	}
	return nil, nil
}

// markBilled records, after a step met the invoice index, that the
// current period's invoice exists: the state is read again first, as the
// failed step may have changed it in memory.
func (e *Engine) markBilled(ctx context.Context, st *state) error {
	fresh, err := e.openAccount(ctx, st.tx, st.a.ID, false)
	if err != nil {
		return err
	}
	*st = *fresh
	if !st.sub.IsPaid() || st.sub.PeriodBilled {
		return fmt.Errorf("engine: account %d: the period's invoice exists, but the subscription says otherwise", st.a.ID)
	}
	done, err := st.tx.InvoiceExists(st.sub.ID, st.sub.Period.Start, billing.InvoiceSubscription)
	if err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("engine: account %d: the invoice index refused a period that has no invoice", st.a.ID)
	}
	st.sub.PeriodBilled = true
	return st.tx.UpdateSubscription(st.sub)
}

// billPeriod issues the invoice of a period that has started, in advance,
// dated the period's first day. Online seats whose users had reached 15 days
// without activity before the period began are not charged ("while the user
// stays inactive the seat is not charged at renewal"), and are marked
// settled for the period so that they earn no inactivity credit in it.
func (e *Engine) billPeriod(st *state, d *due) (*StepResult, error) {
	sub := st.sub
	inv, balance, inactive, err := periodDraft(st, d)
	if err != nil {
		return nil, err
	}
	for _, id := range inactive {
		if err := st.tx.SetUserInactivePeriod(st.a.ID, id, sub.Period.Start); err != nil {
			return nil, err
		}
	}
	if err := issue(st, inv, balance); err != nil {
		return nil, err
	}
	before := *sub
	sub.PeriodBilled = true
	if err := st.tx.UpdateSubscription(sub); err != nil {
		return nil, err
	}
	if err := st.tx.Audit("billing.period_invoice", "invoice", inv.Number, st.a.ID, snapshot(&before, nil), snapshot(sub, inv)); err != nil {
		return nil, err
	}
	return &StepResult{Step: StepPeriodInvoice, Due: d.date, Invoice: inv}, nil
}

// periodDraft is the invoice of a period that has started, as billPeriod
// issues it and UpcomingInvoice shows it, with the credit balance after it
// and the users whose seats it does not charge (their users inactive when
// the period began). It writes nothing.
func periodDraft(st *state, d *due) (*billing.Invoice, billing.Money, []string, error) {
	sub := st.sub
	var inactive []string
	if sub.Contract == nil {
		var err error
		if inactive, err = inactiveUsers(st, sub.Period.Start, sub.Seats); err != nil {
			return nil, billing.Money{}, nil, err
		}
	}
	lines, err := billing.PeriodLines(*sub, sub.Seats-int64(len(inactive)))
	if err != nil {
		return nil, billing.Money{}, nil, err
	}
	inv, balance, err := draft(st, billing.InvoiceSubscription, sub.Period, d.date, lines)
	return inv, balance, inactive, err
}

// inactiveUsers returns the managed users who have reached 15 days
// without activity by the start of day, at most limit of them: a period
// that starts that day does not charge their seats.
func inactiveUsers(st *state, day billing.Date, limit int64) ([]string, error) {
	roster, err := st.tx.RosterUsers(st.a.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range roster {
		if int64(len(out)) < limit && inactiveOn(u, st.loc, day) {
			out = append(out, u.UserID)
		}
	}
	return out, nil
}

// grantInactivity credits the seats of users who reached 15 consecutive
// days without activity: the seat's price for the days left in the period
// from the credit day (billing.InactivityCredit), once per user and period.
func (e *Engine) grantInactivity(st *state, d *due) (*StepResult, error) {
	sub := st.sub
	res := &StepResult{Step: StepInactivityCredits, Due: d.date}
	for _, u := range d.users {
		credit, day, ok, err := billing.InactivityCredit(sub.UnitPrice, sub.Period, lastActiveDay(u, st.loc))
		if err != nil {
			return nil, err
		}
		if err := st.tx.SetUserInactivePeriod(st.a.ID, u.UserID, sub.Period.Start); err != nil {
			return nil, err
		}
		if !ok || credit.Amount == 0 {
			continue
		}
		ct := &store.CreditTransaction{AccountID: st.a.ID, Amount: credit, Reason: store.CreditInactivity, UserID: u.UserID,
			Description: billing.InactivityCreditDescription(u.Email, sub.Period.DaysLeft(day), sub.Period.Days()),
			Service:     billing.Period{Start: day, End: sub.Period.End}, Unit: sub.UnitPrice}
		if err := st.tx.AddCredit(ct); err != nil {
			return nil, err
		}
		st.a.CreditBalance = ct.BalanceAfter
		res.Credits = append(res.Credits, ct)
	}
	type credited struct {
		UserID string        `json:"user_id"`
		Amount billing.Money `json:"amount"`
	}
	var after []credited
	for _, ct := range res.Credits {
		after = append(after, credited{ct.UserID, ct.Amount})
	}
	if err := st.tx.Audit("billing.inactivity_credits", "account", st.a.Number, st.a.ID, nil, struct {
		Period  billing.Period `json:"period"`
		Credits []credited     `json:"credits"`
		Balance billing.Money  `json:"credit_balance"`
	}{sub.Period, after, st.a.CreditBalance}); err != nil {
		return nil, err
	}
	return res, nil
}

// billOverage issues a contract's overage invoice for the period that
// ended, dated its end: "(peak managed users during the period − prepaid) ×
// overage price, for the whole period, on the invoice issued at the period
// end."
func (e *Engine) billOverage(st *state, d *due) (*StepResult, error) {
	inv, balance, err := overageDraft(st, d)
	if err != nil {
		return nil, err
	}
	if err := issue(st, inv, balance); err != nil {
		return nil, err
	}
	if err := st.tx.Audit("billing.overage_invoice", "invoice", inv.Number, st.a.ID, nil, snapshot(st.sub, inv)); err != nil {
		return nil, err
	}
	return &StepResult{Step: StepOverageInvoice, Due: d.date, Invoice: inv}, nil
}

// overageDraft is the overage invoice billOverage issues, and the credit
// balance after it. It writes nothing.
func overageDraft(st *state, d *due) (*billing.Invoice, billing.Money, error) {
	lines, err := billing.OverageLines(*st.sub)
	if err != nil {
		return nil, billing.Money{}, err
	}
	return draft(st, billing.InvoiceOverage, st.sub.Period, d.date, lines)
}

// renew ends the period and starts the next, unbilled (the next step bills
// it):
//   - online, cancelled: the Free plan, no period, no managed users;
//   - online: the scheduled terms if any, at the plan's current version and
//     price (DESIGN: "existing subscriptions keep theirs until renewal"),
//     never fewer seats than managed users; an interval change re-anchors
//     at the old period end;
//   - contract, within its term: the next period at the contract price;
//   - contract at its term end: renewed for the same number of periods when
//     it auto-renews or its end preference is auto_increase (then with at
//     least as many prepaid subscriptions as managed users); else, with
//     convert_free, the Free plan with no managed users.
func (e *Engine) renew(st *state, d *due) (*StepResult, error) {
	sub := st.sub
	before := *sub
	next := *sub
	next.PeriodBilled = false
	next.Scheduled = nil
	users, err := st.tx.CountManagedUsers(st.a.ID)
	if err != nil {
		return nil, err
	}
	toFree := func() error {
		terms, err := freeTerms(st.tx, st.a.Currency)
		if err != nil {
			return err
		}
		next.Terms, next.Anchor, next.Period = terms, billing.Date{}, billing.Period{}
		next.CancelAtPeriodEnd, next.Contract, next.PeakUsers = false, nil, 0
		next.Status = billing.SubscriptionActive
		next.OnJoin = defaultJoinPolicy(st.a.BillingType)
		_, err = st.tx.ClearManagedUsers(st.a.ID)
		return err
	}

	switch c := sub.Contract; {
	case c == nil && sub.CancelAtPeriodEnd:
		if err := toFree(); err != nil {
			return nil, err
		}
	case c == nil:
		terms := sub.Terms
		if sub.Scheduled != nil {
			terms = *sub.Scheduled
		}
		p, err := st.tx.FindPlanByCode(terms.Plan.Code)
		if err != nil {
			return nil, err
		}
		if p.Current != nil {
			if price, err := p.Current.PriceFor(terms.Interval, st.a.Currency); err == nil {
				terms.Plan, terms.UnitPrice = planRef(p, p.Current), price
			}
		}
		terms.Seats = max(terms.Seats, users)
		next.Terms = terms
		if terms.Interval != sub.Interval {
			next.Anchor = sub.Period.End
			next.Period = billing.FirstPeriod(next.Anchor, terms.Interval)
		} else {
			next.Period = billing.NextPeriod(sub.Anchor, sub.Period, sub.Interval)
		}
	case sub.Period.End.Before(c.TermEnd):
		next.Period = billing.NextPeriod(sub.Anchor, sub.Period, sub.Interval)
		next.PeakUsers = users
	case c.AutoRenew || c.OnEnd == billing.EndAutoIncrease:
		n, ok := termPeriods(c.TermStart, c.TermEnd, sub.Interval)
		if !ok { // a term entered before the boundary rule: renew per period
			n = 1
		}
		renewed := *c
		renewed.TermStart = c.TermEnd
		p := sub.Period
		for range n {
			p = billing.NextPeriod(sub.Anchor, p, sub.Interval)
		}
		renewed.TermEnd = p.End
		next.Contract = &renewed
		next.Period = billing.NextPeriod(sub.Anchor, sub.Period, sub.Interval)
		if !c.AutoRenew { // auto_increase: keep every managed user
			next.Seats = max(next.Seats, users)
		}
		next.PeakUsers = users
	default:
		if err := toFree(); err != nil {
			return nil, err
		}
	}
	if err := st.tx.UpdateSubscription(&next); err != nil {
		return nil, err
	}
	*st.sub = next
	if err := st.tx.Audit("subscription.renew", "subscription", st.a.Number, st.a.ID, snapshot(&before, nil), snapshot(&next, nil)); err != nil {
		return nil, err
	}
	return &StepResult{Step: StepRenewal, Due: d.date, From: before.Period, To: next.Period, Plan: next.Plan}, nil
}

// DueAccounts returns up to limit accounts whose next step has fallen due,
// at their own time (a test clock's for an account on one), in id order:
// one range scan of the accounts' next due instants (engine/due.go).
func (e *Engine) DueAccounts(ctx context.Context, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = 100
	}
	return e.db.FindDueAccounts(ctx, e.clock.Now(), limit)
}

// JobBiller is the engine as the job runner's Biller (jobs.Biller): the
// same methods with the result of a run left to the logs.
type JobBiller struct{ e *Engine }

// Jobs returns the engine as the job runner wants it.
func (e *Engine) Jobs() JobBiller { return JobBiller{e} }

// DueAccounts returns up to limit accounts with billing due.
func (b JobBiller) DueAccounts(ctx context.Context, limit int) ([]int64, error) {
	return b.e.DueAccounts(ctx, limit)
}

// BillAccount runs everything due for the account.
func (b JobBiller) BillAccount(ctx context.Context, accountID int64) error {
	_, err := b.e.BillAccount(ctx, accountID)
	return err
}

// Admission says whether one more managed user may join the account, as the
// platform asks before adding one.
type Admission struct {
	Allowed bool
	// Reason is "" when allowed without charge, "auto_increase" when
	// allowed by buying a seat, "overage" when allowed above the prepaid
	// subscriptions, "seats_exhausted" when refused.
	Reason    string
	Policy    billing.JoinPolicy
	Seats     int64 // 0 on the Free plan, which has no seats
	InUse     int64
	Available int64
	// Charge is what the seat would cost now, prorated, for auto_increase.
	Charge *billing.Money
}

// CanAddUser answers the platform's "may a user be added?" without writing.
func (e *Engine) CanAddUser(ctx context.Context, accountID int64) (*Admission, error) {
	var out *Admission
	err := e.db.ReadTx(ctx, func(tx *store.Tx) error {
		st, err := e.read(ctx, tx, accountID)
		if err != nil {
			return err
		}
		n, err := tx.CountManagedUsers(accountID)
		if err != nil {
			return err
		}
		sub := st.sub
		ad := &Admission{Allowed: true, Policy: sub.OnJoin, InUse: n}
		if !sub.IsPaid() && sub.Contract == nil {
			out = ad
			return nil
		}
		ad.Seats, ad.Available = sub.Seats, max(sub.Seats-n, 0)
		if n < sub.Seats {
			out = ad
			return nil
		}
		switch sub.OnJoin {
		case billing.JoinAutoIncrease:
			ad.Reason = "auto_increase"
			if sub.Period.Contains(st.today) {
				line, err := billing.SeatLine(billing.LineCharge, sub.Plan.Name, sub.UnitPrice, 1, sub.Period, st.today)
				if err != nil {
					return err
				}
				ad.Charge = &line.Amount
			}
		case billing.JoinLeaveFree:
			if sub.Contract != nil {
				ad.Reason = "overage"
			} else {
				ad.Allowed, ad.Reason = false, "seats_exhausted"
			}
		default:
			ad.Allowed, ad.Reason = false, "seats_exhausted"
		}
		out = ad
		return nil
	})
	return out, err
}
