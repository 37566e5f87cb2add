package store_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// TestPaymentMethods_OneDefaultNoDuplicateCardSoftDelete: the schema keeps
// one default per account and a card on file once; a removed method leaves
// its row for the payments that name it.
func TestPaymentMethods_OneDefaultNoDuplicateCardSoftDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("user:ops@kore.test")
		a := newAccount(t, db, "Acme Corp", "acme.example.com")
		visa := &store.PaymentMethod{AccountID: a.ID, Kind: store.MethodCard, Default: true, Gateway: "test",
			GatewayRef: "pm_1", CustomerRef: "cus_1", Brand: billing.CardVisa, Last4: "4242", ExpMonth: 12, ExpYear: 2030}
		bank := &store.PaymentMethod{AccountID: a.ID, Kind: store.MethodACH, BankName: "First Bank", AccountHolder: "Acme",
			AccountLast4: "6789"}
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.SaveGatewayCustomer(a.ID, "test", "cus_1"); err != nil {
				return err
			}
			if err := tx.SaveGatewayCustomer(a.ID, "test", "cus_2"); err != nil { // the first one stays
				return err
			}
			if err := tx.CreatePaymentMethod(visa); err != nil {
				return err
			}
			return tx.CreatePaymentMethod(bank)
		})
		if err != nil {
			t.Fatal(err)
		}
		if ref, err := db.GatewayCustomer(ctx, a.ID, "test"); err != nil || ref != "cus_1" {
			t.Fatalf("customer = %q %v", ref, err)
		}
		if visa.Label() != "Visa •••• 4242" || bank.Label() != "Bank transfer (First Bank •••• 6789)" {
			t.Fatalf("labels %q %q", visa.Label(), bank.Label())
		}

		err = db.InTx(ctx, func(tx *store.Tx) error {
			bank.Default = true
			return tx.UpdatePaymentMethod(bank)
		})
		assertCode(t, err, billing.ECONFLICT)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			dup := *visa
			dup.ID, dup.Default = 0, false
			return tx.CreatePaymentMethod(&dup)
		})
		if e := assertCode(t, err, billing.ECONFLICT); e.Reason != "payment_method_exists" {
			t.Fatalf("duplicate card: %v", e)
		}

		err = db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.ClearDefaultPaymentMethod(a.ID); err != nil {
				return err
			}
			bank.Default = true
			if err := tx.UpdatePaymentMethod(bank); err != nil {
				return err
			}
			return tx.RemovePaymentMethod(visa.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		list, err := db.FindPaymentMethods(ctx, a.ID)
		if err != nil || len(list) != 1 || list[0].ID != bank.ID || !list[0].Default {
			t.Fatalf("methods = %+v %v", list, err)
		}
		if n := count(t, db, "payment_methods"); n != 2 {
			t.Fatalf("rows = %d: a removed method keeps its row", n)
		}
		// The same card may come back once removed.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			again := *visa
			again.ID, again.Default = 0, false
			return tx.CreatePaymentMethod(&again)
		})
		if err != nil {
			t.Fatal(err)
		}
		page, more, err := db.FindHistory(ctx, store.HistoryFilter{AccountID: a.ID})
		if err != nil || len(page) != 0 || more {
			t.Fatalf("history of a new account = %v %v %v", page, more, err)
		}
	})
}
