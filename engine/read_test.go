package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// Reads are reads: while a change holds its write transaction open — the
// account row locked on PostgreSQL, SQLite's write lock taken by BEGIN
// IMMEDIATE — every read the pages and GETs make answers at once instead of
// waiting for it: the subscription, the admission check, the previews, the
// history, the invoices and a statement's payment method.
func TestReads_AnswerWhileAWriterHoldsItsTransaction(t *testing.T) {
	forEachStore(t, "2026-03-10T09:00:00Z", func(t *testing.T, b *bundle) {
		online := b.account(t, "Acme")
		if err := b.users(t, online, 3); err != nil {
			t.Fatal(err)
		}
		inv := b.confirm(t, online, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAll}).Invoice
		contract := b.account(t, "Initech", contractAccount)
		if _, err := b.eng.CreateContract(b.ctx, contract.ID, engine.ContractRequest{Number: "C-1", PlanCode: engine.PlanEnterprise,
			TermStart: d("2026-03-01"), TermEnd: d("2027-03-01"), Prepaid: 10, UnitPrice: usd(1500), Interval: billing.Month}); err != nil {
			t.Fatal(err)
		}
		fresh := b.account(t, "Fresh") // on the Free plan

		// A writer: a transaction that has locked both accounts, as a
		// change does, and stays open until the reads are done.
		wtx, err := b.db.SQL().BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer wtx.Rollback()
		lock := `UPDATE accounts SET updated_at = updated_at WHERE id = $1`
		for _, id := range []int64{online.ID, contract.ID, fresh.ID} {
			if _, err := wtx.Exec(lock, id); err != nil {
				t.Fatal(err)
			}
		}

		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		reads := map[string]func() error{
			"Subscription": func() error { _, err := b.eng.Subscription(ctx, online.ID); return err },
			"Subscription of a new account": func() error {
				ov, err := b.eng.Subscription(ctx, fresh.ID)
				if err == nil && ov.Subscription.Plan.Code != engine.PlanFree {
					t.Errorf("a new account reads as %q", ov.Subscription.Plan.Code)
				}
				return err
			},
			"CanAddUser": func() error { _, err := b.eng.CanAddUser(ctx, online.ID); return err },
			"PreviewChange": func() error {
				_, err := b.eng.PreviewChange(ctx, online.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 5})
				return err
			},
			"PreviewAddSubscriptions": func() error { _, err := b.eng.PreviewAddSubscriptions(ctx, contract.ID, 2); return err },
			"History":                 func() error { _, err := b.eng.History(ctx, online.ID, engine.HistoryQuery{}); return err },
			"FindInvoices":            func() error { _, _, err := b.eng.FindInvoices(ctx, online.ID, 50, 0); return err },
			"InvoicePaymentMethod":    func() error { _, err := b.eng.InvoicePaymentMethod(ctx, inv); return err },
		}
		for name, read := range reads {
			done := make(chan error, 1)
			go func() { done <- read() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s while a writer holds its transaction: %v", name, err)
				}
			case <-time.After(3 * time.Second):
				t.Errorf("%s waited for the writer", name)
			}
		}
		if err := wtx.Rollback(); err != nil {
			t.Fatal(err)
		}
		t.Logf("reads took %s", time.Since(start))
		if err := b.db.ReadTx(b.ctx, func(tx *store.Tx) error {
			_, err := tx.SQL().ExecContext(b.ctx, lock, online.ID)
			return err
		}); err == nil {
			t.Error("a write in a read transaction succeeded")
		}
	})
}
