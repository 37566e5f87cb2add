package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// renewalAccounts makes n online accounts paying Premium monthly by card,
// whose renewal falls due when the clock moves a month on.
func renewalAccounts(t *testing.T, p *payEnv, n int) []*billing.Account {
	t.Helper()
	var out []*billing.Account
	for i := range n {
		a := p.newAccount(t, fmt.Sprintf("Batch %03d", i))
		p.addCard(t, a, "4242 4242 4242 4242")
		p.upgrade(t, a, 2)
		out = append(out, a)
	}
	return out
}

// checkRenewedOnce: each account has its first invoice and one renewal
// invoice, both paid, and the card was charged once for each.
func checkRenewedOnce(t *testing.T, p *payEnv, accounts []*billing.Account) {
	t.Helper()
	charged := map[string]int{}
	for _, c := range p.gw.Charges() {
		charged[c.InvoiceNumber]++
	}
	for _, a := range accounts {
		invs, _, err := p.eng.FindInvoices(p.ctx, a.ID, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(invs) != 2 {
			t.Errorf("%s: %d invoices, want 2", a.Name, len(invs))
		}
		for _, inv := range invs {
			if inv.Status != billing.InvoicePaid || charged[inv.Number] != 1 {
				t.Errorf("%s: %s is %s, charged %d times", a.Name, inv.Number, inv.Status, charged[inv.Number])
			}
		}
	}
}

// TestRunDue_TwoConcurrentRunsBillEachAccountOnce: two billing runs at once
// over the same due accounts (two nodes), in small batches, bill every
// account exactly once between them and charge each invoice once; neither
// fails. On PostgreSQL they claim disjoint batches (SKIP LOCKED) and both
// do part of the work.
func TestRunDue_TwoConcurrentRunsBillEachAccountOnce(t *testing.T) {
	forEachPayStore(t, "2026-03-10T12:00:00Z", func(t *testing.T, p *payEnv) {
		accounts := renewalAccounts(t, p, 60)
		p.clock.Set(mustTime("2026-04-10T12:00:00Z"))
		var wg sync.WaitGroup
		sums := make([]engine.RunSummary, 2)
		errs := make([]error, 2)
		for i := range sums {
			wg.Go(func() { sums[i], errs[i] = p.eng.RunDue(p.ctx, engine.RunOptions{BatchSize: 7, Calls: 4}) })
		}
		wg.Wait()
		for i := range errs {
			if errs[i] != nil || sums[i].Failed != 0 {
				t.Fatalf("run %d: %v, failures %v", i, errs[i], sums[i].Failures)
			}
		}
		if billed := sums[0].Billed + sums[1].Billed; billed != len(accounts) {
			t.Errorf("the runs billed %d + %d accounts, want %d in all", sums[0].Billed, sums[1].Billed, len(accounts))
		}
		if inv := sums[0].Invoices + sums[1].Invoices; inv != len(accounts) {
			t.Errorf("the runs issued %d invoices, want %d", inv, len(accounts))
		}
		t.Logf("%s: run 1 billed %d accounts in %d batches, run 2 %d in %d", p.db.Dialect(),
			sums[0].Billed, sums[0].Batches, sums[1].Billed, sums[1].Batches)
		checkRenewedOnce(t, p, accounts)
		if due, err := p.eng.DueAccounts(p.ctx, 100); err != nil || len(due) != 0 {
			t.Errorf("due after the runs: %v %v", due, err)
		}
		again, err := p.eng.RunDue(p.ctx, engine.RunOptions{})
		if err != nil || again.Due != 0 {
			t.Errorf("a third run found %d accounts due: %v", again.Due, err)
		}
	})
}

// TestRunDue_OneFailingAccountLeavesTheRestOfItsBatchBilled: in a batch of
// five, the middle account's period invoice fails: the other four are
// billed and charged, the failing one keeps its renewal (the step before),
// is reported failed and stays due; the next run bills it, once.
func TestRunDue_OneFailingAccountLeavesTheRestOfItsBatchBilled(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var mu sync.Mutex
		var failing int64
		p := newPayEnv(t, db, "2026-03-10T12:00:00Z", func(c *engine.Config) {
			c.BeforeStep = func(_ context.Context, accountID int64, s engine.Step) error {
				mu.Lock()
				defer mu.Unlock()
				if accountID == failing && s == engine.StepPeriodInvoice {
					return errors.New("the printer is on fire")
				}
				return nil
			}
		})
		accounts := renewalAccounts(t, p, 5)
		mu.Lock()
		failing = accounts[2].ID
		mu.Unlock()
		p.clock.Set(mustTime("2026-04-10T12:00:00Z"))
		sum, err := p.eng.RunDue(p.ctx, engine.RunOptions{BatchSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Batches != 1 || sum.Billed != 4 || sum.Failed != 1 || len(sum.Failures) != 1 || sum.Failures[0].AccountID != failing {
			t.Fatalf("run = %+v", sum)
		}
		if sum.Invoices != 4 || sum.Renewals != 5 {
			t.Errorf("invoices %d, renewals %d: want 4 and 5 (the failing account's renewal stands)", sum.Invoices, sum.Renewals)
		}
		if due, err := p.eng.DueAccounts(p.ctx, 10); err != nil || !slices.Equal(due, []int64{failing}) {
			t.Fatalf("due after the run = %v %v, want the failing account", due, err)
		}
		mu.Lock()
		failing = 0
		mu.Unlock()
		sum, err = p.eng.RunDue(p.ctx, engine.RunOptions{})
		if err != nil || sum.Billed != 1 || sum.Invoices != 1 || sum.Renewals != 0 {
			t.Fatalf("second run = %+v %v", sum, err)
		}
		checkRenewedOnce(t, p, accounts)
	})
}

// TestRunDue_ABatchThatMeetsTheInvoiceIndexBillsTheOthers: an account
// whose period invoice exists although its subscription says it is not
// billed (as a run that raced another would find it) meets the unique
// (subscription, period, kind) index inside the batch: that step is undone
// alone and taken as done, and every account of the batch — that one too
// — ends billed once.
func TestRunDue_ABatchThatMeetsTheInvoiceIndexBillsTheOthers(t *testing.T) {
	forEachPayStore(t, "2026-03-10T12:00:00Z", func(t *testing.T, p *payEnv) {
		accounts := renewalAccounts(t, p, 4)
		p.clock.Set(mustTime("2026-04-10T12:00:00Z"))
		raced := accounts[1]
		if _, err := p.eng.BillAccount(p.ctx, raced.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := p.db.SQL().ExecContext(p.ctx, `UPDATE subscriptions SET period_billed = $1 WHERE account_id = $2`, false, raced.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := p.db.SQL().ExecContext(p.ctx, `UPDATE accounts SET next_due_at = created_at WHERE id = $1`, raced.ID); err != nil {
			t.Fatal(err)
		}
		sum, err := p.eng.RunDue(p.ctx, engine.RunOptions{BatchSize: 10})
		if err != nil || sum.Batches != 1 || sum.Due != 4 || sum.Billed != 4 || sum.Failed != 0 || sum.Invoices != 3 {
			t.Fatalf("run = %+v %v", sum, err)
		}
		if s, err := p.db.FindSubscription(p.ctx, raced.ID); err != nil || !s.PeriodBilled {
			t.Fatalf("the raced subscription is not marked billed: %+v %v", s, err)
		}
		checkRenewedOnce(t, p, accounts)
		if due, err := p.eng.DueAccounts(p.ctx, 10); err != nil || len(due) != 0 {
			t.Fatalf("due after the run = %v %v", due, err)
		}
	})
}
