package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// The billing run. DESIGN: "A worker claims a batch (hundreds to a few
// thousand accounts; FOR UPDATE SKIP LOCKED on PostgreSQL, so nodes add
// up), loads the batch's state …, computes with the pure rules, and
// writes … in one transaction. The unique (subscription, period, kind)
// index remains the guard; a batch that meets a conflict retries account
// by account. Gateway calls happen after commit with bounded concurrency;
// their outcomes are recorded in the next batch."
//
// A batch is a set of accounts billed in rounds. A round is one
// transaction over the set: each account behind a savepoint (an account
// that fails is undone alone, or from its failing step on, and the others
// commit), the outcomes of its last round's gateway calls recorded, then
// every step due taken in date order until none is or a charge must go to
// the gateway. After the commit the round's charges go to the gateway
// together, at most RunOptions.Calls at once, with the idempotency keys
// their attempts committed with; the accounts that made calls, or took
// maxRoundSteps and have more due, are the next round's set, which records
// the outcomes and goes on. The one-account
// path (BillAccount: a job, a test clock, an API change) is a batch of
// one.

// RunOptions tune a billing run (RunDue).
type RunOptions struct {
	// BatchSize is how many accounts one transaction bills (default 200).
	BatchSize int
	// Calls bounds the gateway calls made at once after a round commits
	// (default 16).
	Calls int
	// Progress, when set, is called after each batch with the run so far.
	Progress func(RunSummary)
}

func (o RunOptions) withDefaults() RunOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 200
	}
	if o.Calls <= 0 {
		o.Calls = 16
	}
	return o
}

// RunSummary is what a billing run did so far.
type RunSummary struct {
	// Due is how many accounts the run claimed; Billed of them were
	// billed, Failed failed (their error is logged; the steps before the
	// failing one stand, and the account stays due).
	Due, Billed, Failed int
	// Invoices are period and overage invoices; Payments collection steps
	// (charges, retries, reminders, dunning); Credits inactivity credits.
	Invoices, Renewals, Credits, Payments, Notices int
	Batches                                        int
	Duration                                       time.Duration
	// Failures are the first failed accounts with their errors.
	Failures []RunFailure
}

// RunFailure is an account a run could not bill.
type RunFailure struct {
	AccountID int64
	Err       error
}

// maxRunFailures bounds the failures a summary keeps.
const maxRunFailures = 100

// Add counts one account's result.
func (s *RunSummary) Add(res BillResult, err error) {
	s.Due++
	if err != nil {
		s.Failed++
		if len(s.Failures) < maxRunFailures {
			s.Failures = append(s.Failures, RunFailure{res.AccountID, err})
		}
	} else {
		s.Billed++
	}
	for _, st := range res.Steps {
		switch st.Step {
		case StepPeriodInvoice, StepOverageInvoice:
			s.Invoices++
		case StepRenewal:
			s.Renewals++
		case StepInactivityCredits:
			s.Credits += len(st.Credits)
		case StepCardExpiring:
			s.Notices++
		default:
			s.Payments++
		}
	}
}

// RunDue bills every account with a step due now, in batches, until none
// is left but those that failed in this run. Runs on several nodes (or
// processes) share the work: each claims its own batches.
func (e *Engine) RunDue(ctx context.Context, opts RunOptions) (RunSummary, error) {
	opts = opts.withDefaults()
	start := time.Now()
	var sum RunSummary
	var failed []int64
	for {
		now := e.clock.Now()
		results, err := e.billBatch(ctx, func(tx *store.Tx) ([]int64, error) {
			return tx.ClaimDueAccounts(now, opts.BatchSize, failed)
		}, opts)
		sum.Duration = time.Since(start)
		if err != nil {
			return sum, err
		}
		if len(results) == 0 {
			return sum, nil
		}
		sum.Batches++
		for _, r := range results {
			sum.Add(r.res, r.err)
			if r.err != nil {
				failed = append(failed, r.res.AccountID)
				e.log.ErrorContext(ctx, "bill account", slog.Int64("account_id", r.res.AccountID), slog.Any("err", r.err))
			}
		}
		sum.Duration = time.Since(start)
		if opts.Progress != nil {
			opts.Progress(sum)
		}
	}
}

// batchResult is one account's part of a batch.
type batchResult struct {
	res BillResult
	err error
	// calls are the gateway calls of its last round; outcomes what the
	// gateway said, recorded in the next round.
	calls    []*pendingCall
	outcomes []callOutcome
	more     bool // steps are left for the next round
}

type callOutcome struct {
	payment *store.Payment
	res     billing.ChargeResult
	err     error
}

// billBatch bills the accounts claim returns (in the first round's
// transaction) in rounds, and returns each one's result.
func (e *Engine) billBatch(ctx context.Context, claim func(tx *store.Tx) ([]int64, error), opts RunOptions) ([]*batchResult, error) {
	var all []*batchResult
	var round []*batchResult
	first := true
	for first || len(round) > 0 {
		taken := make([]int, len(round))
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			if first {
				ids, err := claim(tx)
				if err != nil {
					return err
				}
				all = make([]*batchResult, len(ids))
				for i, id := range ids {
					all[i] = &batchResult{res: BillResult{AccountID: id}}
				}
				round, taken = all, make([]int, len(all))
			}
			for i, r := range round {
				taken[i] = len(r.res.Steps)
				r.calls, r.err, r.more = nil, nil, false
				if err := e.billInBatch(ctx, tx, r); err != nil {
					return err
				}
			}
			return ctx.Err() // a cancelled run commits nothing
		})
		first = false
		if err != nil {
			// The round's transaction is gone, and with it what it did.
			for i, r := range round {
				r.res.Steps, r.calls = r.res.Steps[:taken[i]], nil
				if r.err == nil || !errors.Is(err, r.err) {
					r.err = errors.Join(r.err, err)
				}
			}
			if all == nil || ctx.Err() != nil {
				return all, err
			}
			break
		}
		round = e.makeCalls(ctx, round, opts.Calls)
	}
	return all, nil
}

// billInBatch takes, behind the account's savepoint, the outcomes of its
// last round's calls and every step due after them. An error of the
// account is kept in r (what it did before stands, unless opening it
// failed); an error returned is the transaction's.
func (e *Engine) billInBatch(ctx context.Context, tx *store.Tx, r *batchResult) error {
	const sp = "account"
	if err := tx.Savepoint(sp); err != nil {
		return err
	}
	err := func() error {
		st, err := e.openAccount(ctx, tx, r.res.AccountID, false)
		if err != nil {
			return err
		}
		r.res.Now = st.now
		for _, o := range r.outcomes {
			if _, inv, err := e.recordChargeIn(ctx, st, o.payment.ID, o.res, o.err); err != nil {
				return err
			} else if inv != nil {
				for i := len(r.res.Steps) - 1; i >= 0; i-- {
					if s := &r.res.Steps[i]; s.Invoice != nil && s.Invoice.ID == inv.ID {
						s.Invoice = inv
						break
					}
				}
			}
		}
		r.outcomes = nil
		if len(r.res.Steps) >= maxSteps {
			return fmt.Errorf("engine: account %d still had billing due after %d steps", r.res.AccountID, maxSteps)
		}
		var stepErr error
		r.calls, r.more, stepErr = e.takeSteps(ctx, st, &r.res)
		r.err = stepErr // the steps before a failed one stand
		switch {
		case r.more:
			// The next round stores it; an instant left earlier than the
			// truth by a crash meanwhile only makes the account due again.
			return nil
		case len(r.calls) > 0:
			// Until the next round records the outcomes, the account is
			// due when its attempts are to be asked again: another run
			// does not take it up meanwhile, and after a crash the check
			// asks the gateway with the same key.
			var at *time.Time
			for _, c := range r.calls {
				var next *time.Time
				if c.payment != nil {
					next = c.payment.NextCheckAt
				} else if c.refund != nil {
					next = c.refund.NextCheckAt
				}
				if next != nil && (at == nil || next.Before(*at)) {
					at = next
				}
			}
			if at == nil {
				return nil
			}
			return tx.SetNextDue(st.a.ID, at)
		case stepErr != nil:
			// The failed step may have changed the state in memory.
			return e.storeNextDue(tx, st.a.ID, st.now)
		}
		at, err := e.nextDueAt(st)
		if err != nil {
			return err
		}
		return tx.SetNextDue(st.a.ID, at)
	}()
	if err != nil {
		r.err = err
		if rerr := tx.RollbackTo(sp); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return tx.Release(sp)
}

// makeCalls makes the committed attempts' gateway calls, at most limit at
// once, and returns the accounts whose outcomes the next round records.
func (e *Engine) makeCalls(ctx context.Context, round []*batchResult, limit int) []*batchResult {
	var next []*batchResult
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, r := range round {
		if r.more {
			next = append(next, r)
		}
		if len(r.calls) == 0 {
			continue
		}
		if !r.more {
			next = append(next, r)
		}
		r.outcomes = make([]callOutcome, len(r.calls))
		for i, c := range r.calls {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if c.refund != nil {
					// A refund records its own outcome (engine/payment_refund.go).
					if _, err := e.finishRefund(ctx, c.refund); err != nil {
						e.log.ErrorContext(ctx, "refund check", slog.Int64("refund_id", c.refund.ID), slog.Any("err", err))
					}
					return
				}
				if c.lookup {
					// A forgotten key: the gateway is asked, never charged
					// again, and the answer recorded (engine/reconcile.go).
					if _, err := e.settlePayment(ctx, c.payment); err != nil {
						e.log.ErrorContext(ctx, "payment lookup", slog.Int64("payment_id", c.payment.ID), slog.Any("err", err))
					}
					return
				}
				res, err := e.charge(ctx, c.payment)
				r.outcomes[i] = callOutcome{payment: c.payment, res: res, err: err}
			})
		}
	}
	wg.Wait()
	for _, r := range next {
		r.outcomes = slices.DeleteFunc(r.outcomes, func(o callOutcome) bool { return o.payment == nil })
		r.calls = nil
	}
	return next
}
