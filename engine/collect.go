package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Collection. DESIGN: "Payments: online invoices are charged at once,
// after credits; a failure is retried on days 1, 3 and 5 and 7
// (configurable); after the last failure the subscription is past_due,
// then the account suspended, and the platform is told by webhook.
// Contract invoices are due after the payment terms; overdue ones get
// reminders. Every gateway call carries an idempotency key derived from
// the payment attempt, so a timeout and retry never charge twice."
//
// How an open invoice is collected depends on the account's default
// payment method at the time ("changing it is effective immediately and
// used at the next transaction"): a card is charged; bank transfer waits
// for the operator to record the transfer, with reminders. With no default
// method, the invoice's own payment type decides (a contract paid by
// invoice waits for a transfer; anything else is a card payment that fails
// for want of a card, and goes through the retry schedule).
//
// A charge is two transactions around the gateway call: the attempt is
// written and committed (status pending, key "charge:<id>") before the
// call, and its outcome recorded after it. An attempt whose call ends
// without an answer stays in flight (status unknown) and is asked again
// later with the same key and the same request, so the gateway charges at
// most once; at most one attempt per invoice is in flight (a unique
// index).
//
// The collection steps run inside BillAccount, in date order with the
// billing steps, at the account's time (its test clock's), so advancing a
// test clock runs every charge, retry, reminder and suspension that falls
// due on the way.

// Collection steps of BillAccount.
const (
	// StepCharge charges an issued invoice to the default card.
	StepCharge Step = "charge"
	// StepPaymentRetry tries a failed charge again, by the retry schedule.
	StepPaymentRetry Step = "payment_retry"
	// StepPaymentCheck asks the gateway again, with the same key, about an
	// attempt whose call ended without an answer.
	StepPaymentCheck Step = "payment_check"
	// StepRefundCheck does the same for a refund.
	StepRefundCheck Step = "refund_check"
	// StepPastDue marks the subscription past_due once the last retry
	// failed.
	StepPastDue Step = "past_due"
	// StepSuspend suspends the account after the grace.
	StepSuspend Step = "suspend"
	// StepReminder records a payment reminder of a bank-transfer invoice.
	StepReminder Step = "payment_reminder"
	// StepOverdue marks a bank-transfer invoice overdue: the subscription
	// and account become past_due.
	StepOverdue Step = "invoice_overdue"
)

// Failure codes of attempts the gateway never saw.
const (
	FailureNoPaymentMethod = "no_payment_method"
)

// payDue is the next collection step of an account.
type payDue struct {
	step    Step
	date    billing.Date
	inv     *billing.Invoice
	payment *store.Payment
	refund  *store.Refund
	offset  int // a reminder's days from the due date
}

// collectMode says how the invoice is collected now: by card or by bank
// transfer.
func collectMode(inv *billing.Invoice, def *store.PaymentMethod) store.PaymentMethodKind {
	switch {
	case def != nil:
		return def.Kind
	case inv.PaymentType == billing.InvoicePaymentACH:
		return store.MethodACH
	}
	return store.MethodCard
}

// schedule is where an invoice's card payments stand on the retry
// schedule.
type schedule struct {
	firstFailure billing.Date // local day of the first failed attempt
	lastFailure  billing.Date
	retries      int // failed attempts made by the schedule
	failures     int
}

func cardSchedule(attempts []*store.Payment, loc *time.Location) schedule {
	var s schedule
	for _, p := range attempts {
		if p.Method != store.MethodCard || p.Status != store.PaymentFailed {
			continue
		}
		// The day the failure was learned: an attempt settled by reconcile
		// long after it was made starts the schedule then, not in the past.
		at := p.AttemptedAt
		if p.ResolvedAt != nil && p.ResolvedAt.After(at) {
			at = *p.ResolvedAt
		}
		day := billing.DateOf(at, loc)
		if s.failures == 0 {
			s.firstFailure = day
		}
		s.failures++
		s.lastFailure = day
		if p.Trigger == store.TriggerRetry {
			s.retries++
		}
	}
	return s
}

// nextRetry is the day of the schedule's next retry, zero when none is
// left.
func (e *Engine) nextRetry(s schedule) billing.Date {
	if s.failures == 0 || s.retries >= len(e.pay.retryDays) {
		return billing.Date{}
	}
	return s.firstFailure.AddDays(e.pay.retryDays[s.retries])
}

func hasEvent(evs []*store.DunningEvent, kind store.DunningKind, offset int) bool {
	for _, ev := range evs {
		if ev.Kind == kind && (kind != store.DunningReminder || ev.OffsetDays == offset) {
			return true
		}
	}
	return false
}

// nextPaymentDue finds the account's earliest collection step due at its
// today, nil when none is.
func (e *Engine) nextPaymentDue(st *state) (*payDue, error) {
	if st.a.Status == billing.StatusClosed {
		return nil, nil
	}
	var best *payDue
	consider := func(d *payDue) {
		if d != nil && !d.date.After(st.today) && (best == nil || d.date.Before(best.date)) {
			best = d
		}
	}
	inflight, err := st.tx.InFlightPayments(st.a.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range inflight {
		if p.NextCheckAt != nil && !p.NextCheckAt.After(st.now) {
			consider(&payDue{step: StepPaymentCheck, date: billing.DateOf(*p.NextCheckAt, st.loc), payment: p})
		}
	}
	refunds, err := st.tx.InFlightRefunds(st.a.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range refunds {
		if r.NextCheckAt != nil && !r.NextCheckAt.After(st.now) {
			consider(&payDue{step: StepRefundCheck, date: billing.DateOf(*r.NextCheckAt, st.loc), refund: r})
		}
	}
	invoices, err := st.tx.OpenInvoices(st.a.ID)
	if err != nil || len(invoices) == 0 {
		return best, err
	}
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
			consider(e.transferDue(st, inv, events[inv.ID]))
			continue
		}
		attempts, err := st.tx.InvoicePayments(inv.ID)
		if err != nil {
			return nil, err
		}
		consider(e.cardDue(st, inv, attempts, events[inv.ID]))
	}
	return best, nil
}

// cardDue is the next step of an invoice paid by card: the first charge on
// its issue day; after a failure, the retries on days 1, 3, 5 and 7 after
// the first failure; after the last, past_due that day, and suspension
// SuspendAfterDays later.
func (e *Engine) cardDue(st *state, inv *billing.Invoice, attempts []*store.Payment, evs []*store.DunningEvent) *payDue {
	cards := 0
	for _, p := range attempts {
		if p.Status.InFlight() {
			return nil // StepPaymentCheck's
		}
		if p.Method == store.MethodCard {
			cards++
		}
	}
	if cards == 0 {
		return &payDue{step: StepCharge, date: inv.IssueDate, inv: inv}
	}
	s := cardSchedule(attempts, st.loc)
	if s.failures == 0 {
		return nil
	}
	if next := e.nextRetry(s); !next.IsZero() {
		return &payDue{step: StepPaymentRetry, date: next, inv: inv}
	}
	if !hasEvent(evs, store.DunningPastDue, 0) {
		return &payDue{step: StepPastDue, date: s.lastFailure, inv: inv}
	}
	if !hasEvent(evs, store.DunningSuspended, 0) && st.a.Status != billing.StatusSuspended {
		for _, ev := range evs {
			if ev.Kind == store.DunningPastDue {
				return &payDue{step: StepSuspend, date: ev.DueOn.AddDays(e.pay.suspendAfter), inv: inv}
			}
		}
	}
	return nil
}

// transferDue is the next step of an invoice paid by bank transfer: the
// latest reminder whose day has come (ReminderDays from the due date, not
// before the issue day), and overdue the day after the due date.
func (e *Engine) transferDue(st *state, inv *billing.Invoice, evs []*store.DunningEvent) *payDue {
	due := inv.IssueDate
	if inv.DueDate != nil {
		due = *inv.DueDate
	}
	var best *payDue
	if !hasEvent(evs, store.DunningOverdue, 0) {
		best = &payDue{step: StepOverdue, date: due.AddDays(1), inv: inv}
	}
	// Only the latest reminder that has come: a run that catches up does
	// not send a week-old "due in 7 days".
	for i := len(e.pay.reminderDays) - 1; i >= 0; i-- {
		o := e.pay.reminderDays[i]
		day := due.AddDays(o)
		if day.After(st.today) {
			continue
		}
		if !day.Before(inv.IssueDate) && !hasEvent(evs, store.DunningReminder, o) {
			r := &payDue{step: StepReminder, date: day, inv: inv, offset: o}
			if best == nil || r.date.Before(best.date) || best.date.After(st.today) {
				best = r
			}
		}
		break
	}
	return best
}

// pendingCall is a gateway call to make once the transaction that wrote
// its attempt has committed.
type pendingCall struct {
	payment *store.Payment
	refund  *store.Refund
	// lookup asks the gateway what became of the payment instead of
	// sending it again: its key is forgotten by now.
	lookup bool
}

// collectIn takes the account's next collection step, in the round's
// transaction, when it falls due no later than its next billing step b
// (nil: none); nil when none is due. A charge or check returns the gateway
// call to make once the attempt has committed.
func (e *Engine) collectIn(ctx context.Context, st *state, b *due) (*StepResult, *pendingCall, error) {
	if e.pay.gateway == nil {
		return nil, nil, nil
	}
	d, err := e.nextPaymentDue(st)
	if err != nil || d == nil {
		return nil, nil, err
	}
	if b != nil && b.date.Before(d.date) {
		return nil, nil, nil // the billing step comes first
	}
	if e.beforeStep != nil {
		if err := e.beforeStep(ctx, st.a.ID, d.step); err != nil {
			return nil, nil, err
		}
	}
	call, err := e.runPaymentStep(ctx, st, d)
	if err != nil {
		return nil, nil, err
	}
	e.log.InfoContext(ctx, "billing step", slog.String("account", st.a.Number), slog.String("step", string(d.step)),
		slog.String("due", d.date.String()))
	return &StepResult{Step: d.step, Due: d.date, Invoice: d.inv}, call, nil
}

// runPaymentStep takes a step in its transaction; a charge or check
// returns the call to make after the commit.
func (e *Engine) runPaymentStep(ctx context.Context, st *state, d *payDue) (*pendingCall, error) {
	switch d.step {
	case StepCharge, StepPaymentRetry:
		trigger := store.TriggerInitial
		if d.step == StepPaymentRetry {
			trigger = store.TriggerRetry
		}
		p, err := e.startCharge(ctx, st, d.inv, trigger)
		if err != nil || p.Status != store.PaymentPending {
			return nil, err
		}
		return &pendingCall{payment: p}, nil
	case StepPaymentCheck:
		return e.startCheck(st, d.payment, nil)
	case StepRefundCheck:
		return e.startCheck(st, nil, d.refund)
	case StepPastDue:
		return nil, e.pastDue(ctx, st, d)
	case StepSuspend:
		return nil, e.suspend(ctx, st, d)
	case StepReminder:
		return nil, e.remind(ctx, st, d)
	case StepOverdue:
		return nil, e.overdue(ctx, st, d)
	}
	return nil, nil
}

// startCheck readies an in-flight attempt to be asked again. When the
// gateway has forgotten a payment's key by now, sending it again could
// charge twice: the gateway is asked what became of the charge instead
// (reconcile's lookup, which never charges). A refund whose key is
// forgotten is left for an operator.
func (e *Engine) startCheck(st *state, p *store.Payment, r *store.Refund) (*pendingCall, error) {
	next := st.now.Add(e.pay.recheckAfter)
	var first *time.Time
	if p != nil {
		first = p.FirstCalledAt
	} else {
		first = r.FirstCalledAt
	}
	expired := first != nil && e.clock.Now().Sub(*first) > e.pay.keyLifetime
	target, id := "", ""
	if p != nil {
		p.Checks++
		p.NextCheckAt = &next
		if err := st.tx.UpdatePayment(p); err != nil {
			return nil, err
		}
		if expired {
			return &pendingCall{payment: p, lookup: true}, nil
		}
		target, id = "payment", p.IdempotencyKey
	} else {
		r.Checks++
		r.NextCheckAt = &next
		if expired {
			r.NextCheckAt = nil
		}
		if err := st.tx.UpdateRefund(r); err != nil {
			return nil, err
		}
		target, id = "refund", r.IdempotencyKey
	}
	if expired {
		return nil, st.tx.Audit(target+".needs_reconciliation", target, id, st.a.ID, nil, struct {
			Reason string `json:"reason"`
		}{"The gateway gave no answer and has forgotten the idempotency key; check the gateway's dashboard and record the outcome."})
	}
	return &pendingCall{payment: p, refund: r}, nil
}

// actorName names who made an attempt, for the payment row.
func actorName(ctx context.Context) string {
	if a := billing.ActorFromContext(ctx); a.Name != "" {
		return a.Name
	}
	return billing.SystemActor.Name
}

// startCharge writes a card attempt for what the invoice owes, to the
// default card. With no card to charge, the attempt fails at once, without
// a gateway call, and goes through the retry schedule like a decline.
func (e *Engine) startCharge(ctx context.Context, st *state, inv *billing.Invoice, trigger store.PaymentTrigger) (*store.Payment, error) {
	if _, err := admit(st, inv); err != nil {
		return nil, err
	}
	def, err := st.tx.DefaultPaymentMethod(st.a.ID)
	if err != nil {
		return nil, err
	}
	p := &store.Payment{AccountID: st.a.ID, InvoiceID: inv.ID, InvoiceNumber: inv.Number, Method: store.MethodCard,
		Trigger: trigger, Amount: inv.AmountDue, CreatedBy: actorName(ctx)}
	if def == nil || def.Kind != store.MethodCard {
		now := st.now
		p.Status, p.ResolvedAt = store.PaymentFailed, &now
		p.FailureCode, p.FailureMessage = FailureNoPaymentMethod, "There is no card on file to charge; add one."
		if err := st.tx.CreatePayment(p); err != nil {
			return nil, err
		}
		return p, e.afterFailure(ctx, st, inv, p)
	}
	next := st.now.Add(e.pay.recheckAfter)
	called := e.clock.Now()
	p.PaymentMethodID = &def.ID
	p.CustomerRef, p.MethodRef, p.MethodLabel = def.CustomerRef, def.GatewayRef, def.Label()
	p.Status, p.NextCheckAt, p.FirstCalledAt = store.PaymentPending, &next, &called
	if err := st.tx.CreatePayment(p); err != nil {
		return nil, err
	}
	// first_called_at is not an insert column: store it with the rest.
	return p, st.tx.UpdatePayment(p)
}

// chargeRequest is the request of an attempt, the same on every call.
func chargeRequest(p *store.Payment) billing.ChargeRequest {
	return billing.ChargeRequest{CustomerRef: p.CustomerRef, PaymentMethodRef: p.MethodRef, Amount: p.Amount,
		IdempotencyKey: p.IdempotencyKey, Description: "Kore Billing invoice " + p.InvoiceNumber,
		InvoiceNumber: p.InvoiceNumber}
}

// finishCall makes a committed attempt's gateway call and records its
// outcome; it returns the invoice after it.
func (e *Engine) finishCall(ctx context.Context, c *pendingCall) (*billing.Invoice, error) {
	if c.refund != nil {
		_, err := e.finishRefund(ctx, c.refund)
		return nil, err
	}
	if c.lookup {
		if _, err := e.settlePayment(ctx, c.payment); err != nil {
			return nil, err
		}
		return e.db.FindInvoice(ctx, c.payment.InvoiceID)
	}
	res, callErr := e.charge(ctx, c.payment)
	_, inv, err := e.recordCharge(ctx, c.payment.AccountID, c.payment.ID, res, callErr)
	return inv, err
}

// charge makes a committed attempt's gateway call, in no transaction.
func (e *Engine) charge(ctx context.Context, p *store.Payment) (billing.ChargeResult, error) {
	var res billing.ChargeResult
	callErr := e.gatewayCall(ctx, func(ctx context.Context) (err error) {
		res, err = e.pay.gateway.Charge(ctx, chargeRequest(p))
		return err
	})
	if callErr != nil {
		e.log.WarnContext(ctx, "charge", slog.String("key", p.IdempotencyKey), slog.Any("err", callErr))
	}
	return res, callErr
}

// recordCharge records what the gateway said about an attempt, in the
// second transaction: paid, failed (a decline or a refusal), or still
// unknown (asked again later with the same key). An attempt resolved
// meanwhile by another run is left as it is.
func (e *Engine) recordCharge(ctx context.Context, accountID, paymentID int64, res billing.ChargeResult, callErr error) (*store.Payment, *billing.Invoice, error) {
	var p *store.Payment
	var inv *billing.Invoice
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		p, inv, err = e.recordChargeIn(ctx, st, paymentID, res, callErr)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return p, inv, nil
}

// recordChargeIn is recordCharge in the transaction of st, the account's
// state: a billing run records the outcomes of a batch's charges together.
func (e *Engine) recordChargeIn(ctx context.Context, st *state, paymentID int64, res billing.ChargeResult, callErr error) (*store.Payment, *billing.Invoice, error) {
	tx := st.tx
	var p *store.Payment
	var inv *billing.Invoice
	err := func() (err error) {
		if p, err = tx.FindPayment(paymentID); err != nil {
			return err
		}
		if inv, err = tx.FindInvoice(p.InvoiceID); err != nil {
			return err
		}
		late := p.Status == store.PaymentFailed && p.FailureCode == FailureNotCharged &&
			callErr == nil && res.Status == billing.ChargeSucceeded
		if !p.Status.InFlight() && !late {
			return nil
		}
		if late {
			// Settled as never charged, and the gateway has the charge
			// after all: the money is recorded, never left unseen.
			if err := tx.Audit("payment.late_charge", "invoice", inv.Number, st.a.ID, paymentSnapshot(p), res); err != nil {
				return err
			}
		}
		now := st.now
		switch {
		case callErr == nil && res.Status == billing.ChargeSucceeded:
			p.Status, p.GatewayRef, p.ResolvedAt, p.NextCheckAt = store.PaymentSucceeded, res.GatewayRef, &now, nil
			p.FailureCode, p.FailureMessage = "", ""
			if err := tx.UpdatePayment(p); err != nil {
				return err
			}
			return e.applyPayment(ctx, st, inv, p)
		case callErr == nil && res.Status == billing.ChargeFailed:
			p.Status, p.GatewayRef, p.ResolvedAt, p.NextCheckAt = store.PaymentFailed, res.GatewayRef, &now, nil
			p.FailureCode, p.FailureMessage, p.Retryable = res.FailureCode, res.FailureMessage, res.Retryable
			if p.FailureCode == "" {
				p.FailureCode = billing.FailureCardDeclined
			}
			if err := tx.UpdatePayment(p); err != nil {
				return err
			}
			return e.afterFailure(ctx, st, inv, p)
		case callErr == nil || billing.GatewayOutcomeUnknown(callErr):
			// Pending at the gateway, or no answer: the same attempt is
			// asked again later, with the same key.
			next := now.Add(e.pay.recheckAfter)
			p.Status, p.NextCheckAt = store.PaymentUnknown, &next
			if callErr == nil {
				p.Status, p.GatewayRef = store.PaymentPending, res.GatewayRef
			}
			if err := tx.UpdatePayment(p); err != nil {
				return err
			}
			return tx.Audit("payment.outcome_unknown", "invoice", inv.Number, st.a.ID, nil, paymentSnapshot(p))
		default:
			// A refusal: the gateway did nothing, and would refuse again.
			p.Status, p.ResolvedAt, p.NextCheckAt = store.PaymentFailed, &now, nil
			p.FailureCode, p.FailureMessage = reasonOf(callErr), billing.ErrorMessage(callErr)
			if p.FailureCode == "" {
				p.FailureCode = billing.ErrorCode(callErr)
			}
			if err := tx.UpdatePayment(p); err != nil {
				return err
			}
			return e.afterFailure(ctx, st, inv, p)
		}
	}()
	if err != nil {
		return nil, nil, err
	}
	return p, inv, nil
}

// paymentView is what the audit trail records of a payment.
type paymentView struct {
	ID          int64                   `json:"id"`
	Invoice     string                  `json:"invoice"`
	Method      string                  `json:"method"`
	Trigger     store.PaymentTrigger    `json:"trigger"`
	Amount      billing.Money           `json:"amount"`
	Status      store.PaymentStatus     `json:"status"`
	Key         string                  `json:"idempotency_key,omitempty"`
	GatewayRef  string                  `json:"gateway_ref,omitempty"`
	FailureCode string                  `json:"failure_code,omitempty"`
	Reference   string                  `json:"reference,omitempty"`
	ReceivedOn  *billing.Date           `json:"received_on,omitempty"`
	Refunded    billing.Money           `json:"amount_refunded"`
	Kind        store.PaymentMethodKind `json:"kind"`
}

func paymentSnapshot(p *store.Payment) paymentView {
	return paymentView{ID: p.ID, Invoice: p.InvoiceNumber, Method: p.MethodLabel, Trigger: p.Trigger, Amount: p.Amount,
		Status: p.Status, Key: p.IdempotencyKey, GatewayRef: p.GatewayRef, FailureCode: p.FailureCode,
		Reference: p.Reference, ReceivedOn: p.ReceivedOn, Refunded: p.AmountRefunded, Kind: p.Method}
}

type invoiceView struct {
	Number     string                     `json:"number"`
	Status     billing.InvoiceStatus      `json:"status"`
	AmountPaid billing.Money              `json:"amount_paid"`
	AmountDue  billing.Money              `json:"amount_due"`
	Payment    billing.InvoicePaymentType `json:"payment_type"`
}

func invoiceSnapshot(inv *billing.Invoice) invoiceView {
	return invoiceView{Number: inv.Number, Status: inv.Status, AmountPaid: inv.AmountPaid, AmountDue: inv.AmountDue,
		Payment: inv.PaymentType}
}

// applyPayment puts a succeeded payment on its invoice: amount paid and
// due, and paid (with the payment type) once nothing is due. A paid
// invoice may restore the account.
//
// Money that arrives for more than the invoice still owes (a charge
// confirmed after the invoice was settled another way, or voided) is never
// put on the invoice: the excess is an overpayment, kept on the payment
// (amount_overpaid) and given to the account's credit balance (reason
// overpayment), where Billing History shows it and the next invoices use
// it — or an operator refunds it. amount_paid never exceeds the total.
func (e *Engine) applyPayment(ctx context.Context, st *state, inv *billing.Invoice, p *store.Payment) error {
	before := invoiceSnapshot(inv)
	var owed int64
	if inv.Status == billing.InvoiceOpen || inv.Status == billing.InvoiceUncollectible {
		owed = inv.AmountDue.Amount
	}
	applied := min(p.Amount.Amount, owed)
	if excess := p.Amount.Amount - applied; excess > 0 {
		if err := e.overpaid(st, inv, p, excess); err != nil {
			return err
		}
	}
	if applied == 0 {
		return nil
	}
	inv.AmountPaid = inv.AmountPaid.Add(billing.NewMoney(applied, inv.Currency))
	inv.AmountDue = billing.NewMoney(max(inv.Total.Amount-inv.AmountPaid.Amount, 0), inv.Currency)
	inv.PaymentType = billing.InvoicePaymentCard
	if p.Method == store.MethodACH {
		inv.PaymentType = billing.InvoicePaymentACH
	}
	paid := inv.AmountDue.Amount == 0
	if paid {
		now := st.now
		inv.Status, inv.PaidAt = billing.InvoicePaid, &now
	}
	if err := st.tx.UpdateInvoice(inv); err != nil {
		return err
	}
	if err := st.tx.Audit("payment.succeeded", "invoice", inv.Number, st.a.ID, before, struct {
		invoiceView
		Payment paymentView `json:"payment"`
	}{invoiceSnapshot(inv), paymentSnapshot(p)}); err != nil {
		return err
	}
	if !paid {
		return nil
	}
	if err := e.notify(ctx, st.tx, Notification{Type: NotifyInvoicePaid, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: inv, Payment: p}); err != nil {
		return err
	}
	return e.restore(ctx, st)
}

// overpaid records the excess of a payment over what its invoice owed: on
// the payment, on the credit balance, and in the audit trail.
func (e *Engine) overpaid(st *state, inv *billing.Invoice, p *store.Payment, excess int64) error {
	p.AmountOverpaid = billing.NewMoney(excess, p.Amount.Currency)
	if err := st.tx.UpdatePayment(p); err != nil {
		return err
	}
	ct := &store.CreditTransaction{AccountID: st.a.ID, Amount: p.AmountOverpaid, Reason: store.CreditOverpayment,
		InvoiceID: &inv.ID, Description: fmt.Sprintf("Overpayment of %s: %s received %s when it owed %s",
			inv.Number, p.MethodLabel, p.Amount, billing.NewMoney(p.Amount.Amount-excess, inv.Currency))}
	if err := st.tx.AddCredit(ct); err != nil {
		return err
	}
	st.a.CreditBalance = ct.BalanceAfter
	return st.tx.Audit("payment.overpaid", "invoice", inv.Number, st.a.ID, invoiceSnapshot(inv), struct {
		Payment paymentView   `json:"payment"`
		Excess  billing.Money `json:"excess"`
		Balance billing.Money `json:"credit_balance"`
	}{paymentSnapshot(p), p.AmountOverpaid, ct.BalanceAfter})
}

// afterFailure records a failed attempt in the audit trail and tells the
// platform, with the day of the next retry.
func (e *Engine) afterFailure(ctx context.Context, st *state, inv *billing.Invoice, p *store.Payment) error {
	attempts, err := st.tx.InvoicePayments(inv.ID)
	if err != nil {
		return err
	}
	next := e.nextRetry(cardSchedule(attempts, st.loc))
	if err := st.tx.Audit("payment.failed", "invoice", inv.Number, st.a.ID, nil, struct {
		paymentView
		NextRetry *billing.Date `json:"next_retry,omitempty"`
	}{paymentSnapshot(p), datePtr(next)}); err != nil {
		return err
	}
	return e.notify(ctx, st.tx, Notification{Type: NotifyPaymentFailed, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: inv,
		Payment: p, NextRetry: next})
}

func datePtr(d billing.Date) *billing.Date {
	if d.IsZero() {
		return nil
	}
	return &d
}

type statusView struct {
	Account      billing.AccountStatus      `json:"account_status"`
	Subscription billing.SubscriptionStatus `json:"subscription_status"`
	Invoice      string                     `json:"invoice,omitempty"`
}

// pastDue: "after the last failure the subscription is past_due". The
// account is past_due too until it is suspended.
func (e *Engine) pastDue(ctx context.Context, st *state, d *payDue) error {
	if err := st.tx.RecordDunningEvent(&store.DunningEvent{AccountID: st.a.ID, InvoiceID: d.inv.ID,
		Kind: store.DunningPastDue, DueOn: d.date}); err != nil {
		return err
	}
	return e.markPastDue(ctx, st, d.inv, "subscription.past_due")
}

func (e *Engine) markPastDue(ctx context.Context, st *state, inv *billing.Invoice, action string) error {
	before := statusView{Account: st.a.Status, Subscription: st.sub.Status, Invoice: inv.Number}
	if st.sub.Status == billing.SubscriptionActive {
		st.sub.Status = billing.SubscriptionPastDue
		if err := st.tx.UpdateSubscription(st.sub); err != nil {
			return err
		}
	}
	if st.a.Status == billing.StatusActive {
		if err := st.tx.SetAccountStatus(st.a.ID, billing.StatusPastDue); err != nil {
			return err
		}
		st.a.Status = billing.StatusPastDue
	}
	after := statusView{Account: st.a.Status, Subscription: st.sub.Status, Invoice: inv.Number}
	if err := st.tx.Audit(action, "subscription", st.a.Number, st.a.ID, before, after); err != nil {
		return err
	}
	if before.Subscription == after.Subscription {
		return nil
	}
	return e.notify(ctx, st.tx, Notification{Type: NotifySubscriptionUpdated, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: inv})
}

// suspend suspends the account SuspendAfterDays after the last failed
// retry.
func (e *Engine) suspend(ctx context.Context, st *state, d *payDue) error {
	if err := st.tx.RecordDunningEvent(&store.DunningEvent{AccountID: st.a.ID, InvoiceID: d.inv.ID,
		Kind: store.DunningSuspended, DueOn: d.date}); err != nil {
		return err
	}
	before := statusView{Account: st.a.Status, Subscription: st.sub.Status, Invoice: d.inv.Number}
	if err := st.tx.SetAccountStatus(st.a.ID, billing.StatusSuspended); err != nil {
		return err
	}
	st.a.Status = billing.StatusSuspended
	after := statusView{Account: st.a.Status, Subscription: st.sub.Status, Invoice: d.inv.Number}
	if err := st.tx.Audit("account.suspend", "account", st.a.Number, st.a.ID, before, after); err != nil {
		return err
	}
	return e.notify(ctx, st.tx, Notification{Type: NotifyAccountSuspended, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: d.inv})
}

// remind records a payment reminder of a bank-transfer invoice.
//
// TODO(email): mail.QueueTx sends it to the billing contact, through
// Config.Notify.
func (e *Engine) remind(ctx context.Context, st *state, d *payDue) error {
	if err := st.tx.RecordDunningEvent(&store.DunningEvent{AccountID: st.a.ID, InvoiceID: d.inv.ID,
		Kind: store.DunningReminder, OffsetDays: d.offset, DueOn: d.date}); err != nil {
		return err
	}
	if err := st.tx.Audit("invoice.payment_reminder", "invoice", d.inv.Number, st.a.ID, nil, struct {
		OffsetDays int           `json:"offset_days"`
		AmountDue  billing.Money `json:"amount_due"`
		DueDate    *billing.Date `json:"due_date,omitempty"`
	}{d.offset, d.inv.AmountDue, d.inv.DueDate}); err != nil {
		return err
	}
	return e.notify(ctx, st.tx, Notification{Type: NotifyPaymentReminder, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: d.inv,
		OffsetDays: d.offset})
}

// overdue: a bank-transfer invoice not paid by its due date makes the
// subscription and the account past_due.
func (e *Engine) overdue(ctx context.Context, st *state, d *payDue) error {
	if err := st.tx.RecordDunningEvent(&store.DunningEvent{AccountID: st.a.ID, InvoiceID: d.inv.ID,
		Kind: store.DunningOverdue, DueOn: d.date}); err != nil {
		return err
	}
	if err := e.notify(ctx, st.tx, Notification{Type: NotifyInvoiceOverdue, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: d.inv}); err != nil {
		return err
	}
	return e.markPastDue(ctx, st, d.inv, "invoice.overdue")
}

// restore makes the account and its subscription active again once no open
// invoice keeps them past due: "paying the open invoice (new card, or a
// manual retry) restores it".
func (e *Engine) restore(ctx context.Context, st *state) error {
	events, err := st.tx.DunningEvents(st.a.ID)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return nil // never in dunning: a status an operator set stays
	}
	open, err := st.tx.OpenInvoices(st.a.ID)
	if err != nil {
		return err
	}
	for _, inv := range open {
		if hasEvent(events[inv.ID], store.DunningPastDue, 0) || hasEvent(events[inv.ID], store.DunningOverdue, 0) {
			return nil
		}
	}
	before := statusView{Account: st.a.Status, Subscription: st.sub.Status}
	wasSuspended := st.a.Status == billing.StatusSuspended
	if st.a.Status == billing.StatusPastDue || st.a.Status == billing.StatusSuspended {
		if err := st.tx.SetAccountStatus(st.a.ID, billing.StatusActive); err != nil {
			return err
		}
		st.a.Status = billing.StatusActive
	}
	subChanged := st.sub.Status == billing.SubscriptionPastDue
	if subChanged {
		st.sub.Status = billing.SubscriptionActive
		if err := st.tx.UpdateSubscription(st.sub); err != nil {
			return err
		}
	}
	after := statusView{Account: st.a.Status, Subscription: st.sub.Status}
	if before == after {
		return nil
	}
	if err := st.tx.Audit("account.reactivate", "account", st.a.Number, st.a.ID, before, after); err != nil {
		return err
	}
	if wasSuspended {
		if err := e.notify(ctx, st.tx, Notification{Type: NotifyAccountReactivated, AccountID: st.a.ID, AccountNumber: st.a.Number}); err != nil {
			return err
		}
	}
	if subChanged {
		return e.notify(ctx, st.tx, Notification{Type: NotifySubscriptionUpdated, AccountID: st.a.ID, AccountNumber: st.a.Number})
	}
	return nil
}

// collectNow charges, right after a change that issued them, the invoices
// the default card has not been asked to pay yet: "online invoices are
// charged at once". A failure is not the change's: the change stands and
// the invoice goes on the retry schedule. refresh, when given, is updated
// to the invoice as it stands after the charge.
func (e *Engine) collectNow(ctx context.Context, accountID int64, refresh ...*billing.Invoice) {
	if e.pay.gateway == nil {
		return
	}
	pick := func(st *state, inv *billing.Invoice, attempts []*store.Payment) bool {
		for _, p := range attempts {
			if p.Method == store.MethodCard || p.Status.InFlight() {
				return false
			}
		}
		return true
	}
	if _, err := e.chargeEach(ctx, accountID, store.TriggerInitial, pick); err != nil {
		e.log.ErrorContext(ctx, "charge new invoices", slog.Int64("account_id", accountID), slog.Any("err", err))
	}
	for _, inv := range refresh {
		if inv == nil || inv.ID == 0 {
			continue
		}
		if fresh, err := e.db.FindInvoice(ctx, inv.ID); err == nil {
			*inv = *fresh
		}
	}
}

// chargeOpenInvoices charges every open invoice the account pays by card
// and that has no attempt in flight, one attempt each (a new card, a
// manual retry of the account).
func (e *Engine) chargeOpenInvoices(ctx context.Context, accountID int64, trigger store.PaymentTrigger) ([]*store.Payment, error) {
	return e.chargeEach(ctx, accountID, trigger, func(*state, *billing.Invoice, []*store.Payment) bool { return true })
}

// chargeEach charges, one after the other, the account's open card
// invoices that pick chooses, each once.
func (e *Engine) chargeEach(ctx context.Context, accountID int64, trigger store.PaymentTrigger,
	pick func(st *state, inv *billing.Invoice, attempts []*store.Payment) bool) ([]*store.Payment, error) {
	out := []*store.Payment{}
	tried := map[int64]bool{}
	for {
		var p *store.Payment
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			st, err := e.open(ctx, tx, accountID)
			if err != nil {
				return err
			}
			def, err := tx.DefaultPaymentMethod(st.a.ID)
			if err != nil {
				return err
			}
			invoices, err := tx.OpenInvoices(st.a.ID)
			if err != nil {
				return err
			}
			for _, inv := range invoices {
				if tried[inv.ID] || collectMode(inv, def) != store.MethodCard {
					continue
				}
				tried[inv.ID] = true
				attempts, err := tx.InvoicePayments(inv.ID)
				if err != nil {
					return err
				}
				inFlight := false
				for _, a := range attempts {
					inFlight = inFlight || a.Status.InFlight()
				}
				if inFlight || !pick(st, inv, attempts) {
					continue
				}
				p, err = e.startCharge(ctx, st, inv, trigger)
				return err
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		if p == nil {
			return out, nil
		}
		if p.Status == store.PaymentPending {
			if _, err := e.finishCall(ctx, &pendingCall{payment: p}); err != nil {
				return out, err
			}
			if p, err = e.findPayment(ctx, p.ID); err != nil {
				return out, err
			}
		}
		out = append(out, p)
	}
}

func (e *Engine) findPayment(ctx context.Context, id int64) (*store.Payment, error) {
	var p *store.Payment
	err := e.db.ReadTx(ctx, func(tx *store.Tx) (err error) {
		p, err = tx.FindPayment(id)
		return err
	})
	return p, err
}

// PaymentResult is an attempt to pay an invoice and the invoice after it.
type PaymentResult struct {
	Payment *store.Payment
	Invoice *billing.Invoice
}

// PayInvoice charges the invoice to the account's default card now (a
// manual retry): a new attempt with a new key, outside the retry schedule.
// Paid, the account and subscription are active again. A decline is an
// EPAYMENT error whose reason is the failure code, returned with the
// result: the attempt is recorded.
func (e *Engine) PayInvoice(ctx context.Context, invoiceID int64) (*PaymentResult, error) {
	if e.pay.gateway == nil {
		return nil, errNoGateway()
	}
	var p *store.Payment
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		inv, st, err := e.openInvoice(ctx, tx, invoiceID)
		if err != nil {
			return err
		}
		if _, err := admit(st, inv); err != nil {
			return err
		}
		def, err := tx.DefaultPaymentMethod(st.a.ID)
		if err != nil {
			return err
		}
		switch {
		case def == nil:
			return billing.ReasonErrorf(billing.ESTATE, FailureNoPaymentMethod, "Account %s has no card on file; add one to pay %s.", st.a.Number, inv.Number)
		case def.Kind != store.MethodCard:
			return billing.ReasonErrorf(billing.ESTATE, "pay_by_bank_transfer",
				"Account %s pays by bank transfer; make a card the default to pay %s by card.", st.a.Number, inv.Number)
		}
		p, err = e.startCharge(ctx, st, inv, store.TriggerManual)
		return err
	})
	if err != nil {
		return nil, err
	}
	inv, err := e.finishCall(ctx, &pendingCall{payment: p})
	if err != nil {
		return nil, err
	}
	if p, err = e.findPayment(ctx, p.ID); err != nil {
		return nil, err
	}
	if inv == nil {
		if inv, err = e.db.FindInvoice(ctx, p.InvoiceID); err != nil {
			return nil, err
		}
	}
	out := &PaymentResult{Payment: p, Invoice: inv}
	switch p.Status {
	case store.PaymentFailed:
		return out, &billing.Error{Code: billing.EPAYMENT, Reason: p.FailureCode, Message: p.FailureMessage}
	}
	return out, nil
}

// openInvoice reads an invoice and opens its account's state.
func (e *Engine) openInvoice(ctx context.Context, tx *store.Tx, invoiceID int64) (*billing.Invoice, *state, error) {
	inv, err := tx.FindInvoice(invoiceID)
	if err != nil {
		return nil, nil, err
	}
	st, err := e.open(ctx, tx, inv.AccountID)
	if err != nil {
		return nil, nil, err
	}
	// Read again under the account's lock.
	if inv, err = tx.FindInvoice(invoiceID); err != nil {
		return nil, nil, err
	}
	return inv, st, nil
}

// admit is the one decision every way of paying an invoice goes through —
// the first charge, a retry, a new card, Pay now, a bank transfer, an
// operator's action — taken under the account's lock (open), so two ways
// cannot decide at once: the invoice must owe something, and no attempt of
// it may be in flight. An attempt in flight may yet take the money, so
// nothing else is taken or recorded until it is settled (by its check, or
// by reconcile); "An invoice has at most its total collected". It returns
// the invoice's attempts.
func admit(st *state, inv *billing.Invoice) ([]*store.Payment, error) {
	if err := payable(inv); err != nil {
		return nil, err
	}
	attempts, err := st.tx.InvoicePayments(inv.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range attempts {
		if p.Status.InFlight() {
			return attempts, billing.ReasonErrorf(billing.ESTATE, "payment_in_progress",
				"A card payment of %s for invoice %s (attempt %d) is waiting for the gateway's answer; "+
					"nothing else is taken or recorded until it is settled (it is asked again shortly; korebill reconcile settles it now).",
				p.Amount, inv.Number, p.ID)
		}
	}
	return attempts, nil
}

// payable refuses invoices that owe nothing.
func payable(inv *billing.Invoice) error {
	switch {
	case inv.Kind == billing.InvoiceCreditNote:
		return billing.ReasonErrorf(billing.ESTATE, "invoice_not_payable", "%s is a credit note; it owes nothing.", inv.Number)
	case inv.Status == billing.InvoicePaid:
		return billing.ReasonErrorf(billing.ESTATE, "invoice_paid", "Invoice %s is paid.", inv.Number)
	case inv.Status != billing.InvoiceOpen && inv.Status != billing.InvoiceUncollectible:
		return billing.ReasonErrorf(billing.ESTATE, "invoice_not_payable", "Invoice %s is %s; only an open invoice is paid.", inv.Number, inv.Status)
	case inv.AmountDue.Amount <= 0:
		return billing.ReasonErrorf(billing.ESTATE, "invoice_paid", "Invoice %s owes nothing.", inv.Number)
	}
	return nil
}

// BankTransfer is a transfer an operator received against an invoice.
type BankTransfer struct {
	Amount     int64 // minor units of the invoice's currency
	Reference  string
	ReceivedOn billing.Date
}

// RecordBankTransfer records a bank transfer (ACH / EFT) received against
// an invoice, full or partial: a payment of method ach, the amount paid
// and due moved, and the invoice paid once nothing is due. Overpaying is
// refused, as is recording while a card attempt is in flight.
func (e *Engine) RecordBankTransfer(ctx context.Context, invoiceID int64, t BankTransfer) (*PaymentResult, error) {
	var v billing.Validation
	t.Reference = strings.TrimSpace(t.Reference)
	if t.Amount <= 0 {
		v.Add("amount", "A transfer is of a positive amount, in minor units.")
	}
	if t.Reference == "" || len(t.Reference) > 100 {
		v.Add("reference", "The transfer's reference is required, in at most 100 characters.")
	}
	if !t.ReceivedOn.Valid() {
		v.Add("received_on", "The day the transfer arrived is required.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out PaymentResult
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		inv, st, err := e.openInvoice(ctx, tx, invoiceID)
		if err != nil {
			return err
		}
		if _, err := admit(st, inv); err != nil {
			return err
		}
		if t.ReceivedOn.After(st.today) {
			return &billing.Error{Code: billing.EINVALID, Reason: "received_in_future",
				Message: "A transfer cannot arrive after today (" + st.today.String() + ").",
				Fields:  []billing.FieldError{{Field: "received_on", Message: "In the future."}}}
		}
		if t.Amount > inv.AmountDue.Amount {
			return &billing.Error{Code: billing.EINVALID, Reason: "overpayment",
				Message: "Invoice " + inv.Number + " owes " + inv.AmountDue.String() + "; a transfer of " +
					billing.NewMoney(t.Amount, inv.Currency).String() + " would overpay it.",
				Fields: []billing.FieldError{{Field: "amount", Message: "At most " + inv.AmountDue.String() + "."}}}
		}
		label := "Bank transfer"
		if def, err := tx.DefaultPaymentMethod(st.a.ID); err != nil {
			return err
		} else if def != nil && def.Kind == store.MethodACH {
			label = def.Label()
		}
		now := st.now
		received := t.ReceivedOn
		p := &store.Payment{AccountID: st.a.ID, InvoiceID: inv.ID, InvoiceNumber: inv.Number, Method: store.MethodACH,
			Trigger: store.TriggerBankTransfer, Amount: billing.NewMoney(t.Amount, inv.Currency), Status: store.PaymentSucceeded,
			MethodLabel: label, Reference: t.Reference, ReceivedOn: &received, ResolvedAt: &now, CreatedBy: actorName(ctx)}
		if err := tx.CreatePayment(p); err != nil {
			return err
		}
		if err := e.applyPayment(ctx, st, inv, p); err != nil {
			return err
		}
		out = PaymentResult{Payment: p, Invoice: inv}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Payments returns a page of the account's payments (attempts included),
// newest first.
func (e *Engine) Payments(ctx context.Context, f store.PaymentFilter) ([]*store.Payment, int, error) {
	return e.db.FindPayments(ctx, f)
}
