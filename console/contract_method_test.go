package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// A contract's Summary has a Payment Method panel: the bank transfer
// details Kore recorded, and Change Payment Method. The contract's admin
// switches to a card there; its next invoices are card invoices, charged to
// it. Back to bank transfer is refused to the admin and done by an
// operator.
func TestContract_PaymentMethodPanelSwitchToACardBackOnlyThroughAnOperator(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		a := b.contract(t)
		n := a.Number
		bank, err := b.eng.AddBankTransfer(opsCtx(), a.ID, engine.BankDetails{BankName: "ASB Bank", AccountHolder: "Initech",
			AccountLast4: "4821", RemittanceRef: "INITECH-KB"}, true)
		if err != nil {
			t.Fatal(err)
		}
		p := signedIn(t, b, "ines@initech.test")
		_, body := p.get("/accounts/" + n + "/summary")
		says(t, body, "Payment Method", "Method Bank transfer (ACH / EFT)", "Bank ASB Bank", "Account holder Initech",
			"Account •••• 4821", "Reference to quote INITECH-KB", "switch to a card on the Change Payment Method page",
			"Change Payment Method", "Payment method Invoice (ACH / bank transfer)")

		status, body := addCard(t, p, n, card("4242 4242 4242 4242", "12", "2030", "123", "Ines"))
		if status != http.StatusOK {
			t.Fatalf("add a card: %d\n%s", status, text(body))
		}
		_, body = p.get("/accounts/" + n + "/summary")
		says(t, body, "Card Visa", "Number •••• 4242", "Invoices are charged to this card.", "Payment method Card")
		res, err := b.eng.AddSubscriptions(opsCtx(), a.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if res.Invoice.PaymentType != billing.InvoicePaymentCard {
			t.Errorf("after the switch, a contract invoice is paid by %s, want card", res.Invoice.PaymentType)
		}

		// Back to bank transfer: not the admin's to do — no button, and
		// the engine refuses it.
		_, body = p.get("/accounts/" + n + "/payment-method")
		if strings.Contains(body, `action="/accounts/`+n+`/payment-method/`+itoa(bank.Method.ID)+`/default"`) {
			t.Fatal("the admin is offered to make bank transfer the default")
		}
		admin := billing.NewContextWithActor(context.Background(), billing.Actor{Name: "user:ines@initech.test",
			Role: billing.RoleBillingAdmin, AccountID: a.ID})
		if _, err := b.eng.SetDefaultMethod(admin, a.ID, bank.Method.ID); billing.ErrorCode(err) != billing.EFORBIDDEN {
			t.Fatalf("the admin made bank transfer the default: %v", err)
		}
		if def := b.defaultMethod(t, a); def.Kind != store.MethodCard {
			t.Fatalf("default = %s after the admin's attempt", def.Kind)
		}
		if _, err := b.eng.SetDefaultMethod(opsCtx(), a.ID, bank.Method.ID); err != nil {
			t.Fatalf("the operator: %v", err)
		}
		if def := b.defaultMethod(t, a); def.Kind != store.MethodACH {
			t.Fatalf("default = %s after the operator", def.Kind)
		}
	})
}

func (b *bundle) defaultMethod(t *testing.T, a *billing.Account) *store.PaymentMethod {
	t.Helper()
	for _, m := range b.methods(t, a) {
		if m.Default {
			return m
		}
	}
	t.Fatal("no default method")
	return nil
}
