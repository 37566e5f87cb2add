package store_test

import (
	"context"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// TestFindFailedPayments_EveryAccountNewestFirstOnlyFailed: the operator's
// list of failed attempts spans accounts, leaves out other statuses and
// keeps to the limit.
func TestFindFailedPayments_EveryAccountNewestFirstOnlyFailed(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("system")
		if got, err := db.FindFailedPayments(ctx, 0); err != nil || len(got) != 0 {
			t.Fatalf("no payments: %v %v", got, err)
		}
		acme, acmeSub := newSubscription(t, db, "acme.test")
		globex, globexSub := newSubscription(t, db, "globex.test")
		var invs []*billing.Invoice
		err := db.InTx(ctx, func(tx *store.Tx) error {
			for _, x := range []struct {
				a *billing.Account
				s *billing.Subscription
			}{{acme, acmeSub}, {globex, globexSub}} {
				inv := invoiceFor(x.a, x.s, billing.InvoiceSubscription, billing.InvoiceOpen)
				if err := tx.CreateInvoice(inv); err != nil {
					return err
				}
				invs = append(invs, inv)
			}
			pay := func(inv *billing.Invoice, status store.PaymentStatus, code string) error {
				return tx.CreatePayment(&store.Payment{AccountID: inv.AccountID, InvoiceID: inv.ID, Method: store.MethodCard,
					Trigger: store.TriggerInitial, Amount: inv.Total, Status: status, FailureCode: code,
					FailureMessage: code, AttemptedAt: clock.Now(), CreatedBy: "system"})
			}
			for _, p := range []struct {
				inv    *billing.Invoice
				status store.PaymentStatus
				code   string
			}{
				{invs[0], store.PaymentFailed, "card_declined"},
				{invs[1], store.PaymentSucceeded, ""},
				{invs[1], store.PaymentFailed, "insufficient_funds"},
				{invs[0], store.PaymentFailed, "expired_card"},
				{invs[0], store.PaymentPending, ""},
			} {
				if err := pay(p.inv, p.status, p.code); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.FindFailedPayments(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, p := range got {
			if p.Status != store.PaymentFailed {
				t.Fatalf("status %s in the failed list", p.Status)
			}
			codes = append(codes, p.FailureCode+"@"+p.InvoiceNumber)
		}
		want := []string{"expired_card@" + invs[0].Number, "insufficient_funds@" + invs[1].Number, "card_declined@" + invs[0].Number}
		if len(codes) != len(want) {
			t.Fatalf("failed = %v, want %v", codes, want)
		}
		for i := range want {
			if codes[i] != want[i] {
				t.Fatalf("failed = %v, want %v", codes, want)
			}
		}
		if got[1].AccountID != globex.ID || got[0].AccountID != acme.ID {
			t.Fatalf("accounts %d %d", got[0].AccountID, got[1].AccountID)
		}
		if two, err := db.FindFailedPayments(context.Background(), 2); err != nil || len(two) != 2 || two[0].ID != got[0].ID {
			t.Fatalf("limit 2 = %v %v", two, err)
		}
	})
}
