package console_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store/storetest"
)

// TestBrowser_PaymentMethod: an owner adds a card on the Change Payment
// Method page and sees it as the default; a typing mistake comes back
// beside the card number; a suspended account is back to active with a new
// card.
func TestBrowser_PaymentMethod(t *testing.T) {
	browser := startBrowser(t)

	t.Run("owner adds a card and sees it as the default", func(t *testing.T) {
		b := setup(t, storetest.OpenSQLite(t))
		b.roster(t, b.acme, 3)
		ctx := opsCtx()
		if _, err := b.eng.AddCard(ctx, b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.eng.ConfirmChange(ctx, b.acme.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 3}); err != nil {
			t.Fatal(err)
		}
		n := b.acme.Number
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		p.click("#change-payment-method")
		if p.path() != "/accounts/"+n+"/payment-method" {
			t.Fatalf("Change Payment Method led to %s", p.path())
		}
		p.says("Change Payment Method", "Visa •••• 4242", "Default", "Add a card")

		// A typing mistake: the message beside the number, the rest kept.
		p.fill("card_number", "5555 5555 5555 4445")
		p.fill("exp_month", "12")
		p.fill("exp_year", "2031")
		p.fill("cvc", "123")
		p.fill("name", "Ada Lovelace")
		if status := p.click("#add-card-button"); status != 422 {
			t.Fatalf("a typing mistake: %d", status)
		}
		if got := p.text("#card_number-error"); got != "Error: The card number is not valid; check it for a typing mistake." {
			t.Fatalf("beside the card number: %q", got)
		}
		if p.value("exp_month") != "12" || p.value("exp_year") != "2031" || p.value("name") != "Ada Lovelace" || p.value("cvc") != "" {
			t.Fatalf("form kept: %q %q %q cvc %q", p.value("exp_month"), p.value("exp_year"), p.value("name"), p.value("cvc"))
		}
		p.shot("payment-method-bad-card", false)

		p.fill("card_number", "5555 5555 5555 4444")
		p.fill("cvc", "123")
		p.click("#add-card-button")
		p.says("Mastercard •••• 4444 is now the default payment method, effective immediately and used at the next transaction.")
		if got := p.text("#methods li:first-child .method-name"); got != "Mastercard •••• 4444 Default" {
			t.Fatalf("first method = %q", got)
		}
		if n := p.count("#methods li"); n != 2 {
			t.Fatalf("%d methods listed", n)
		}
		p.shot("payment-method", true)

		p.click(`nav[aria-label=Account] a[href$="/summary"]`)
		p.says("Mastercard", "•••• 4444", "12/2031")
	})

	t.Run("a suspended account is back to active with a new card", func(t *testing.T) {
		b := setup(t, storetest.OpenSQLite(t))
		inv := b.suspend(t)
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		p.says("This account is suspended", inv.Number)
		p.click(`a[href="/accounts/` + b.acme.Number + `/payment-method"]`)
		p.says("This account is suspended", "A card you add below is charged for it at once")
		p.shot("payment-method-suspended", false)
		p.fill("card_number", "4242 4242 4242 4242")
		p.fill("exp_month", "12")
		p.fill("exp_year", "2031")
		p.fill("cvc", "123")
		p.click("#add-card-button")
		p.says("Paid " + inv.Number + " ($20.00) with Visa •••• 4242.")
		if n := p.count(".accountbar .status-suspended, #open-invoices"); n != 0 {
			t.Fatal("the page still shows the account suspended")
		}
		p.click(`nav[aria-label=Account] a[href$="/summary"]`)
		if n := p.count(".banner"); n != 0 {
			t.Fatal("the summary still has a banner")
		}
		p.says("Active")
	})
}
