package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Reconcile. An attempt whose gateway call ended without an answer is
// asked again with the same key while the gateway remembers it
// (StepPaymentCheck); once the key is forgotten, or when the process that
// made the call died, the attempt would stay in flight for ever, and with it
// the invoice: no Pay now, no new card, no dunning. Reconcile settles every
// such attempt by asking the gateway what became of it — LookupCharge, by
// the gateway's reference or by the idempotency key, which never charges —
// and records the answer as the call's own answer would have been: paid
// (any excess an overpayment), failed (dunning goes on from the day the
// failure was learned), or never charged (failed, code not_charged). A
// charge the gateway does not know whose key it still remembers is sent
// again with that key, which charges at most once.
//
// Then it checks every invariant of the books (CheckInvariants).

// FailureNotCharged is the failure code of an attempt the gateway has no
// charge for: nothing was taken.
const FailureNotCharged = "not_charged"

// lateChargeWindow is how long after reconcile settled an attempt as never
// charged it is looked up again, in case the gateway's record was late
// (Stripe's search lags writes by up to a minute).
const lateChargeWindow = 7 * 24 * time.Hour

// ReconcileOptions tune a reconcile pass.
type ReconcileOptions struct {
	// MinAge leaves alone attempts whose first gateway call began less than
	// MinAge ago (by the engine's clock): a call may still be under way in
	// another process. Zero settles every attempt in flight, for when
	// nothing else runs (after a crash, in tests).
	MinAge time.Duration
	// Concurrency bounds the gateway calls made at once; 0 means 4.
	Concurrency int
	// SkipInvariants leaves the invariant check out (the scheduled job
	// runs it less often than it settles attempts).
	SkipInvariants bool
}

// ReconcileReport is what a pass did and found.
type ReconcileReport struct {
	Asked        int `json:"asked"`         // attempts in flight asked about
	Succeeded    int `json:"succeeded"`     // settled as paid
	Failed       int `json:"failed"`        // settled as declined
	NotCharged   int `json:"not_charged"`   // the gateway had no charge: settled as failed, nothing taken
	StillPending int `json:"still_pending"` // the gateway has not decided yet
	Unreachable  int `json:"unreachable"`   // the gateway did not answer: asked again next time
	LateCharges  int `json:"late_charges"`  // charges found for attempts settled as never charged
	Refunds      int `json:"refunds"`       // refunds in flight asked again
	// Breaks are the rows that break an invariant; a pass with any fails.
	Breaks []store.Break `json:"breaks"`
}

// OK reports whether the books hold every invariant.
func (r *ReconcileReport) OK() bool { return len(r.Breaks) == 0 }

// Reconcile settles every unsettled payment attempt and refund with the
// gateway, and checks the invariants.
func (e *Engine) Reconcile(ctx context.Context, opts ReconcileOptions) (*ReconcileReport, error) {
	rep := &ReconcileReport{Breaks: []store.Break{}}
	if e.pay.gateway != nil {
		if err := e.reconcilePayments(ctx, opts, rep); err != nil {
			return rep, err
		}
		if err := e.reconcileLate(ctx, rep); err != nil {
			return rep, err
		}
		if err := e.reconcileRefunds(ctx, opts, rep); err != nil {
			return rep, err
		}
	}
	if opts.SkipInvariants {
		return rep, nil
	}
	breaks, err := e.CheckInvariants(ctx)
	if err != nil {
		return rep, err
	}
	rep.Breaks = breaks
	return rep, nil
}

// CheckInvariants returns every row that breaks an invariant of the books,
// none when they hold:
//   - invoice_total: an invoice's subtotal is the sum of its lines, and its
//     total = subtotal − credits + tax;
//   - invoice_collected: what an invoice was paid is the sum of its
//     succeeded payments less their overpayments, at most its total, and
//     what it owes is the rest; a paid invoice owes nothing;
//   - payment_amounts: a payment never refunds or overpays more than it
//     took;
//   - credit_balance: an account's credit balance is the sum of its credit
//     ledger;
//   - invoice_once_per_period: at most one invoice per (subscription,
//     period, kind);
//   - invoice_numbers_gapless: a year's invoice numbers run from 1 to the
//     year's counter with none missing or repeated;
//   - periods_overlap, periods_gap: a subscription's periods neither
//     overlap nor leave a gap.
//
// Each is one statement over every row (store/invariants.go), in one
// read-only snapshot.
func (e *Engine) CheckInvariants(ctx context.Context) ([]store.Break, error) {
	return e.db.CheckInvariants(ctx, 100)
}

// FormatBreaks writes breaks one per line, for logs and errors.
func FormatBreaks(breaks []store.Break) string {
	var b strings.Builder
	for _, x := range breaks {
		fmt.Fprintf(&b, "%s: %s: %s\n", x.Rule, x.Subject, x.Detail)
	}
	return b.String()
}

// pool runs fn on each item with at most n at once and returns the first
// error.
func pool[T any](ctx context.Context, n int, items []T, fn func(ctx context.Context, item T) error) error {
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(it T) {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, it); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(it)
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

func (e *Engine) reconcilePayments(ctx context.Context, opts ReconcileOptions, rep *ReconcileReport) error {
	cutoff := e.clock.Now().Add(-opts.MinAge)
	var mu sync.Mutex
	var after int64
	for {
		batch, err := e.db.UnsettledPayments(ctx, cutoff, after, 500)
		if err != nil || len(batch) == 0 {
			return err
		}
		after = batch[len(batch)-1].ID
		err = pool(ctx, opts.Concurrency, batch, func(ctx context.Context, p *store.Payment) error {
			outcome, err := e.settlePayment(ctx, p)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Asked++
			switch outcome {
			case string(store.PaymentSucceeded):
				rep.Succeeded++
			case string(store.PaymentFailed):
				rep.Failed++
			case FailureNotCharged:
				rep.NotCharged++
			case "unreachable":
				rep.Unreachable++
			default:
				rep.StillPending++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// settlePayment asks the gateway about one attempt in flight and records the
// answer; it returns the attempt's status after it, FailureNotCharged, or
// "unreachable".
func (e *Engine) settlePayment(ctx context.Context, p *store.Payment) (string, error) {
	var res billing.ChargeResult
	var found bool
	err := e.gatewayCall(ctx, func(ctx context.Context) (err error) {
		res, found, err = e.pay.gateway.LookupCharge(ctx, billing.ChargeLookup{IdempotencyKey: p.IdempotencyKey,
			GatewayRef: p.GatewayRef, CustomerRef: p.CustomerRef})
		return err
	})
	if err != nil {
		e.log.WarnContext(ctx, "reconcile: look up charge", slog.String("key", p.IdempotencyKey), slog.Any("err", err))
		return "unreachable", nil
	}
	if found {
		q, _, err := e.recordCharge(ctx, p.AccountID, p.ID, res, nil)
		if err != nil {
			return "", err
		}
		return string(q.Status), nil
	}
	if p.FirstCalledAt == nil || e.clock.Now().Sub(*p.FirstCalledAt) <= e.pay.keyLifetime {
		// The gateway remembers the key (or was never called): sending the
		// same request with it again charges at most once.
		if _, err := e.finishCall(ctx, &pendingCall{payment: p}); err != nil {
			return "", err
		}
		q, err := e.findPayment(ctx, p.ID)
		if err != nil {
			return "", err
		}
		if q.Status.InFlight() {
			return "unreachable", nil
		}
		return string(q.Status), nil
	}
	if err := e.recordNotCharged(ctx, p); err != nil {
		return "", err
	}
	return FailureNotCharged, nil
}

// recordNotCharged settles an attempt the gateway has no charge for, and
// forgot the key of: failed, nothing taken; dunning goes on.
func (e *Engine) recordNotCharged(ctx context.Context, p *store.Payment) error {
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, p.AccountID)
		if err != nil {
			return err
		}
		q, err := tx.FindPayment(p.ID)
		if err != nil || !q.Status.InFlight() {
			return err
		}
		inv, err := tx.FindInvoice(q.InvoiceID)
		if err != nil {
			return err
		}
		now := st.now
		q.Status, q.ResolvedAt, q.NextCheckAt = store.PaymentFailed, &now, nil
		q.FailureCode = FailureNotCharged
		q.FailureMessage = "The payment gateway has no charge for this attempt: nothing was taken."
		if err := tx.UpdatePayment(q); err != nil {
			return err
		}
		return e.afterFailure(ctx, st, inv, q)
	})
}

// reconcileLate looks up again the attempts settled as never charged in the
// last week: a charge found now is money that arrived anyway.
func (e *Engine) reconcileLate(ctx context.Context, rep *ReconcileReport) error {
	since := e.clock.Now().Add(-lateChargeWindow - e.pay.keyLifetime)
	var after int64
	for {
		batch, err := e.db.NotChargedPayments(ctx, FailureNotCharged, since, after, 500)
		if err != nil || len(batch) == 0 {
			return err
		}
		after = batch[len(batch)-1].ID
		for _, p := range batch {
			var res billing.ChargeResult
			var found bool
			err := e.gatewayCall(ctx, func(ctx context.Context) (err error) {
				res, found, err = e.pay.gateway.LookupCharge(ctx, billing.ChargeLookup{IdempotencyKey: p.IdempotencyKey,
					CustomerRef: p.CustomerRef})
				return err
			})
			if err != nil || !found || res.Status != billing.ChargeSucceeded {
				continue
			}
			if _, _, err := e.recordCharge(ctx, p.AccountID, p.ID, res, nil); err != nil {
				return err
			}
			rep.LateCharges++
		}
	}
}

// reconcileRefunds asks again, with the same key, about every refund in
// flight (a refund's key makes a second call refund at most once).
func (e *Engine) reconcileRefunds(ctx context.Context, opts ReconcileOptions, rep *ReconcileReport) error {
	cutoff := e.clock.Now().Add(-opts.MinAge)
	var after int64
	for {
		batch, err := e.db.UnsettledRefunds(ctx, cutoff, after, 500)
		if err != nil || len(batch) == 0 {
			return err
		}
		after = batch[len(batch)-1].ID
		for _, r := range batch {
			if _, err := e.finishRefund(ctx, r); err != nil {
				return err
			}
			rep.Refunds++
		}
	}
}
