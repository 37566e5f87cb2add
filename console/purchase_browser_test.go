package console_test

import (
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store/storetest"
)

// TestBrowser_PurchaseWithNoCardOnFile is issue 12's item 2 as Initech's
// owner meets it: a Free account with no card buys Premium. The purchase
// page says a card is needed; the preview asks for it; confirming without
// it changes nothing and says so beside the card number; a card that is
// then declined when charged is shown as a failure with what to do next
// (never a green "Invoice … issued"); and the way it names — Change Payment
// Method, a new card — pays the open invoice.
func TestBrowser_PurchaseWithNoCardOnFile(t *testing.T) {
	browser := startBrowser(t)
	b := setup(t, storetest.OpenSQLite(t))
	n := b.acme.Number
	p := newTab(t, browser, b)
	p.signIn(ownerEmail, password)

	p.click(`a[href="/accounts/` + n + `/subscription/change?plan=premium"]`)
	p.says("Purchase Subscription", "No card is on file. You add one on the next page")
	p.shot("purchase-no-card", false)

	p.click("#preview-button")
	p.says("Review your purchase", "Your card", "No card is on file. The card you enter becomes your default payment method and is charged $10.00 when you confirm")
	if status := p.click("#confirm-button"); status != 422 {
		t.Fatalf("confirm without a card: %d", status)
	}
	if msg := p.text("#card_number-error"); !strings.Contains(msg, "A card number is required.") {
		t.Fatalf("beside the card number: %q", msg)
	}
	if !p.jsTrue(`document.getElementById("card_number").getAttribute("aria-invalid") === "true"`) {
		t.Fatal("the card number is not marked invalid")
	}
	if invs := b.invoices(t, b.acme); len(invs) != 0 {
		t.Fatalf("a purchase without a card issued %d invoices", len(invs))
	}
	p.shot("purchase-card-needed", true)

	p.fill("card_number", "4000 0000 0000 0341")
	p.fill("exp_month", "12")
	p.fill("exp_year", "2030")
	p.fill("cvc", "123")
	if status := p.click("#confirm-button"); status != 200 || p.path() != "/accounts/"+n+"/summary" {
		t.Fatalf("confirm with a card that declines: %d at %s", status, p.path())
	}
	invs := b.invoices(t, b.acme)
	if len(invs) != 1 || invs[0].Status != billing.InvoiceOpen {
		t.Fatalf("after the declined charge: %+v", invs)
	}
	problem := p.text("#flash-problem")
	for _, want := range []string{"the charge of $10.00 to Visa •••• 0341 was declined", "Invoice " + invs[0].Number + " for $10.00 is unpaid",
		"add another card on Change Payment Method"} {
		if !strings.Contains(problem, want) {
			t.Fatalf("the problem says %q, not %q", problem, want)
		}
	}
	if n := p.count(".flash"); n != 0 || strings.Contains(p.text("body"), "was issued") {
		t.Fatal("a declined charge is shown as a success")
	}
	p.shot("purchase-declined", true)

	p.click(`#flash-problem a[href="/accounts/` + n + `/payment-method"]`)
	p.fill("card_number", "4242 4242 4242 4242")
	p.fill("exp_month", "12")
	p.fill("exp_year", "2030")
	p.fill("cvc", "123")
	p.click("#add-card-button")
	p.says("Visa •••• 4242 is now the default payment method", "Paid "+invs[0].Number+" ($10.00)")
	if inv := b.invoices(t, b.acme)[0]; inv.Status != billing.InvoicePaid {
		t.Fatalf("the new card did not pay %s: %s", inv.Number, inv.Status)
	}
}
