package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/webhook"
)

// TestBrowser_Operator drives the operator console as an operator does:
// sets a tax rate (a bad one first), changes Premium's prices as a new
// version, records a partial bank transfer on a contract's invoice after
// reviewing it, runs billing, looks at failed payments, webhooks and emails,
// and advances a test clock, reading each result on the page.
func TestBrowser_Operator(t *testing.T) {
	browser := startBrowser(t)
	ob := setupOperator(t, storetest.OpenSQLite(t), true)
	ctx := opsCtx()
	initech, inv := ob.contracted(t)
	stark := &billing.Account{Name: "Stark Industries", Domain: "stark.test", BillingType: billing.BillingSubscription}
	if err := ob.eng.CreateAccount(ctx, stark); err != nil {
		t.Fatal(err)
	}
	// Acme's card is declined: a failed payment, and Globex is suspended.
	ob.roster(t, ob.acme, 2)
	if _, err := ob.eng.AddCard(ctx, ob.acme.ID, engine.AddCardRequest{Token: "pm_card_visa_chargeDeclined"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.eng.ConfirmChange(ctx, ob.acme.ID, engine.ChangeRequest{Plan: "premium", Interval: billing.Month, Users: "all"}); billing.ErrorCode(err) != billing.EPAYMENT && err != nil {
		t.Fatal(err)
	}
	suspended := billing.StatusSuspended
	if _, err := ob.db.UpdateAccount(ctx, ob.globex.ID, billing.AccountUpdate{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	// A webhook endpoint with a delivery that failed, and an email.
	if err := ob.webhooks.CreateEndpoint(ctx, &webhook.Endpoint{URL: "https://platform.kore.test/hooks/billing", Description: "Kore platform"}); err != nil {
		t.Fatal(err)
	}
	ob.publish(t, webhook.InvoicePaid)
	ob.publish(t, webhook.PaymentFailed)
	err := ob.db.RecordWebhookAttempt(ctx, &webhook.Attempt{DeliveryID: 2, At: engineStart, URL: "https://platform.kore.test/hooks/billing",
		StatusCode: 503, Error: "HTTP 503", Duration: 84 * time.Millisecond, Response: "Service Unavailable"}, webhook.DeliveryFailed, nil)
	if err != nil {
		t.Fatal(err)
	}
	ob.email(t, "Receipt for "+inv.Number, "Hello Initech,\n\nWe received $500.00 for invoice "+inv.Number+".\n\nKore Billing")

	p := newTab(t, browser, ob.bundle)
	p.signIn(operatorEmail, password)
	p.says("Catalog", "Tax rates", "Payments", "Billing runs", "Webhooks", "Emails", "Test clocks", "Audit log")

	t.Run("tax rate: a bad one, then 8.25% for the United States", func(t *testing.T) {
		p.click(`nav[aria-label=Operator] a[href="/tax-rates"]`)
		p.says("Tax rates", "No rates: no invoice is taxed.")
		p.choose("country", "US")
		p.fill("rate", "8.255")
		if status := p.click(`form[action="/tax-rates#set-rate"] button[type=submit]`); status != 422 {
			t.Fatalf("bad rate: %d", status)
		}
		if msg := p.text("#rate-error"); !strings.Contains(msg, "Enter at most two decimal places") {
			t.Fatalf("message beside the rate = %q", msg)
		}
		if p.value("rate") != "8.255" || p.value("country") != "US" {
			t.Fatal("the form lost what was typed")
		}
		p.shot("operator-tax-rates-error", false)
		p.fill("rate", "8.25")
		if status := p.click(`form[action="/tax-rates#set-rate"] button[type=submit]`); status != 200 {
			t.Fatalf("set rate: %d", status)
		}
		p.says("Tax in United States is now 8.25%.", "United States US 8.25%")
		p.shot("operator-tax-rates", true)
	})

	t.Run("Premium's prices change as version 2", func(t *testing.T) {
		p.click(`nav[aria-label=Operator] a[href="/catalog"]`)
		p.says("Plan catalog", "Premium", "$10.00 per month")
		p.shot("operator-catalog", false)
		p.click(`a[href="/catalog/premium"]`)
		p.says("Changing prices makes version 2 of Premium.", "Existing subscriptions keep their price until their renewal")
		p.fill("month_0", "12.00")
		p.fill("year_0", "120.00")
		if status := p.click(`#change-prices button[type=submit]`); status != 200 {
			t.Fatalf("new version: %d", status)
		}
		p.says("Version 2 of Premium is now current.", "Version 2 Current", "$12.00 per month", "$120.00 per year")
		p.shot("operator-plan", true)
	})

	t.Run("a partial bank transfer on the contract's invoice", func(t *testing.T) {
		p.open("/accounts/" + initech.Number)
		p.click(`nav[aria-label=Account] a[href$="/invoices"]`)
		p.says("Invoices", inv.Number, "$2,000.00", "Open")
		p.shot("operator-invoices", false)
		p.click(`a[href$="/invoices/` + inv.Number + `/manage"]`)
		p.says("Record a bank transfer", "At most $2,000.00.")
		p.fill("transfer_amount", "2,500")
		p.fill("transfer_reference", "WIRE-0042")
		p.click(`#bank-transfer button[type=submit]`)
		if msg := p.text("#transfer_amount-error"); !strings.Contains(msg, "owes $2,000.00; a transfer of $2,500.00 would overpay it.") {
			t.Fatalf("overpay message = %q", msg)
		}
		p.shot("operator-invoice-overpay", false)
		p.fill("transfer_amount", "500")
		if status := p.click(`#bank-transfer button[type=submit]`); status != 200 {
			t.Fatalf("review: %d", status)
		}
		p.says("Record a bank transfer of $500.00", "Reference WIRE-0042", inv.Number+" still owes $1,500.00 after it")
		p.shot("operator-confirm", true)
		if status := p.click(`button[name=confirm]`); status != 200 {
			t.Fatalf("confirm: %d", status)
		}
		p.says("Recorded a bank transfer of $500.00 (WIRE-0042) against "+inv.Number+".", inv.Number+" still owes $1,500.00.",
			"$500.00 Bank transfer Succeeded")
		p.shot("operator-invoice", true)
		p.click(`nav[aria-label=Account] a[href$="/contract"]`)
		p.says("Terms of contract C-2027-042", "$200.00 per user per year", "Preferences")
		p.shot("operator-contract", false)
		p.open("/accounts/" + stark.Number + "/contract")
		p.says("none is entered yet", "Review the contract")
		p.shot("operator-contract-new", false)
	})

	t.Run("failed payments, billing runs, webhooks, emails", func(t *testing.T) {
		p.click(`nav[aria-label=Operator] a[href="/payments"]`)
		p.says("Suspended (1)", "Globex", "Visa •••• 0002")
		p.shot("operator-payments", true)

		// A month on: Acme's card is retried, Initech's invoice is overdue.
		ob.clock.Set(time.Date(2027, time.April, 12, 15, 0, 0, 0, time.UTC))
		p.click(`nav[aria-label=Operator] a[href="/billing-runs"]`)
		p.says("Billing runs", "Recent bill jobs", "Run billing now for", "Acme Corp")
		p.shot("operator-billing-runs-due", false)
		p.click("#run-now")
		p.says("Runs", "#1")
		// The run works in the background; the page follows it, by
		// itself, until it is done.
		for i := 0; !strings.Contains(p.text("#runs"), "Completed"); i++ {
			if i == 100 {
				t.Fatalf("the page did not show the run completed: %s", p.text("#runs"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		p.open("/billing-runs")
		p.says("Completed", "billed", "Due now (0)")
		p.shot("operator-billing-runs", true)

		p.click(`nav[aria-label=Operator] a[href="/webhooks"]`)
		p.says("https://platform.kore.test/hooks/billing", "Deliveries (2)", "payment.failed", "Failed")
		p.shot("operator-webhooks", false)
		p.click(`a[href="/webhooks/deliveries/2"]`)
		p.says("Delivery 2 Failed", "HTTP 503", "Service Unavailable")
		p.click("#replay")
		p.says("is queued to be sent again now.", "Delivery 2 Pending")
		p.shot("operator-webhook-delivery", false)

		p.click(`nav[aria-label=Operator] a[href="/emails"]`)
		p.says("Receipt for "+inv.Number, "billing@acme.test", "Recorded")
		p.shot("operator-emails", false)
		p.click(`a[href^="/emails/"]`)
		p.says("We received $500.00 for invoice " + inv.Number)
		p.shot("operator-email", false)
	})

	t.Run("a test clock advanced 30 days", func(t *testing.T) {
		p.click(`nav[aria-label=Operator] a[href="/test-clocks"]`)
		p.fill("name", "Renewals")
		p.choose("date", "2027-01-31")
		p.fill("time", "09:00")
		if status := p.click(`#new-clock button[type=submit]`); status != 200 {
			t.Fatalf("create clock: %d", status)
		}
		p.says("Test clock “Renewals” created at Jan 31, 2027 09:00 UTC.")
		p.fill("name", "Umbrella Health")
		p.fill("domain", "umbrella.test")
		p.choose("billing_type", "subscription")
		if status := p.click(`#new-account button[type=submit]`); status != 200 {
			t.Fatalf("add account: %d", status)
		}
		p.says("created on test clock “Renewals”", "Umbrella Health")
		umbrella, err := ob.db.FindAccountByNumber(context.Background(), strings.Fields(p.text(`#accounts-heading + ul a.account-link`))[0])
		if err != nil {
			t.Fatal(err)
		}
		_, err = ob.eng.CreateContract(ctx, umbrella.ID, engine.ContractRequest{Number: "C-UMB-1", PlanCode: "enterprise",
			TermStart: billing.NewDate(2027, 1, 31), TermEnd: billing.NewDate(2028, 1, 31), Prepaid: 5,
			UnitPrice: billing.NewMoney(2000, "USD"), Interval: billing.Month, NetDays: 15, PayByInvoice: true})
		if err != nil {
			t.Fatal(err)
		}
		p.fill("days", "30")
		if status := p.click("#advance-button"); status != 200 {
			t.Fatalf("advance: %d", status)
		}
		p.says("Advancing “Renewals” from Jan 31, 2027 09:00 to Mar 2, 2027 09:00 UTC")
		p.waitFor("#clock-live", "Invoices issued on the way") // the page follows the job
		p.says("Feb 28, 2027", "$100.00")
		if got := p.text("#clock-now"); got != "Mar 2, 2027 09:00 UTC" {
			t.Fatalf("the clock reads %q", got)
		}
		p.shot("operator-test-clock", true)
		p.click(`.breadcrumb a[href="/test-clocks"]`)
		p.says("Renewals", "Mar 2, 2027 09:00 UTC", umbrella.Number)
		p.shot("operator-test-clocks", false)
	})

	// Keyboard: the nav and the first field are reachable and visibly focused.
	t.Run("keyboard focus is visible", func(t *testing.T) {
		p.open("/tax-rates")
		if err := chromedp.Do(p.ctx, chromedp.Focus(chromedp.ID("rate"))); err != nil {
			t.Fatal(err)
		}
		outline, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`))
		if err != nil || outline == "none" {
			t.Fatalf("no visible focus on the rate field: %q %v", outline, err)
		}
	})
}
