package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// initech makes a subscription-billed account with 5 managed users and no
// contract yet.
func (ob *opsBundle) initech(t *testing.T) *billing.Account {
	t.Helper()
	a := &billing.Account{Name: "Initech", Domain: "initech.test", BillingType: billing.BillingSubscription, TimeZone: "America/Chicago"}
	if err := ob.eng.CreateAccount(opsCtx(), a); err != nil {
		t.Fatal(err)
	}
	ob.roster(t, a, 5)
	return a
}

// contractForm is a good contract: 10 subscriptions at $200 a year from
// 1 March 2027, net 30, by bank transfer.
func contractForm() url.Values {
	return url.Values{"number": {"C-2027-042"}, "plan": {"enterprise"}, "term_start": {"2027-03-01"}, "term_end": {"2028-03-01"},
		"prepaid": {"10"}, "unit_price": {"200"}, "interval": {"year"}, "net_days": {"30"}, "overage": {"250.00"},
		"on_end": {"convert_free"}, "on_join": {"leave_free"}, "auto_renew": {"1"}, "pay_by_invoice": {"1"}}
}

func TestOperator_ContractReviewedThenCreatedThenPreferences(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		a := ob.initech(t)
		ops := signedIn(t, ob.bundle, operatorEmail)
		path := "/accounts/" + a.Number + "/contract"

		_, body := ops.get("/accounts/" + ob.acme.Number + "/contract")
		says(t, body, "Acme Corp is billed online, by card, per user: it has no sales contract.")
		_, body = ops.get(path)
		says(t, body, "Initech is billed by a sales contract, and none is entered yet.", "Enterprise (version 1)", "Review the contract")
		if !strings.Contains(body, `value="2027-03-10"`) {
			t.Fatal("the term does not start today by default")
		}
		invoices := rows(t, db, "invoices")

		bad := contractForm()
		bad.Set("number", " ")
		bad.Set("prepaid", "0")
		bad.Set("unit_price", "two hundred")
		bad.Set("term_end", "2027-03-01")
		status, body := ops.post(path, bad)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad contract: %d", status)
		}
		says(t, body, "Enter the contract number", "Enter the number of prepaid subscriptions, 1 or more.", "Enter an amount in figures")
		if !strings.Contains(body, `value="two hundred"`) || !strings.Contains(body, `value="250.00"`) {
			t.Fatal("the contract form lost what was typed")
		}
		// The engine's own rule, beside its field: the term ends a whole period from its start.
		bad = contractForm()
		bad.Set("term_end", "2027-09-15")
		status, body = ops.post(path, bad)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("half a period: %d", status)
		}
		says(t, body, "Term end must end a whole year period counted from the term start")
		if sub := ob.subscription(t, a); sub.Contract != nil || rows(t, db, "invoices") != invoices {
			t.Fatal("bad input made a contract")
		}

		// Review: the terms and the first invoice, nothing made yet.
		status, body = ops.post(path, contractForm())
		if status != http.StatusOK {
			t.Fatalf("review: %d\n%s", status, text(body))
		}
		says(t, body, "Review contract C-2027-042", "Initech ("+a.Number+")", "Mar 1, 2027 – Feb 29, 2028", "$200.00 per user per year",
			"Net 30 days, by invoice (bank transfer)", "is issued now, as the term has started: 10 × $200.00 = $2,000.00 before tax and credits")
		if ob.subscription(t, a).Contract != nil {
			t.Fatal("the review made the contract")
		}
		// Change: back to the form, as typed.
		again := hidden(t, body, path)
		again.Set("edit", "1")
		status, body = ops.post(path, again)
		if status != http.StatusOK || !strings.Contains(body, `value="C-2027-042"`) || !strings.Contains(body, `value="250.00"`) {
			t.Fatalf("edit: %d", status)
		}
		confirm := hidden(t, body, path) // the form again: only its token
		_ = confirm
		form := contractForm()
		form.Set("confirm", "1")
		status, body = ops.post(path, form)
		if status != http.StatusOK || ops.last.Request.URL.Path != path {
			t.Fatalf("confirm: %d at %s\n%s", status, ops.last.Request.URL, text(body))
		}
		says(t, body, "Contract C-2027-042 created for "+a.Number+".", "for $2,000.00 issued, due Mar 31, 2027.",
			"Terms of contract C-2027-042", "10 (5 in use)", "$250.00 per user per year above the prepaid")
		if rows(t, db, "invoices") != invoices+1 {
			t.Fatal("the contract did not issue its first invoice")
		}
		// A second confirmation finds the contract there.
		status, body = ops.post(path, form)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("second confirmation: %d", status)
		}
		says(t, body, "has contract C-2027-042 already")

		status, body = ops.post(path+"/preferences", url.Values{"on_join": {"auto_increase"}, "on_end": {"auto_increase"}})
		if status != http.StatusOK {
			t.Fatalf("preferences: %d", status)
		}
		says(t, body, "Preferences saved.")
		sub := ob.subscription(t, a)
		if sub.OnJoin != billing.JoinAutoIncrease || sub.Contract.OnEnd != billing.EndAutoIncrease || sub.Contract.AutoRenew {
			t.Fatalf("preferences = %s %s %v", sub.OnJoin, sub.Contract.OnEnd, sub.Contract.AutoRenew)
		}
		status, body = ops.post(path+"/preferences", url.Values{"on_join": {"whatever"}, "on_end": {"auto_increase"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad preferences: %d", status)
		}
		says(t, body, "On join must be")
	})
}

// contracted puts Initech on the contract through the engine and returns
// it with its open invoice.
func (ob *opsBundle) contracted(t *testing.T) (*billing.Account, *billing.Invoice) {
	t.Helper()
	a := ob.initech(t)
	_, err := ob.eng.CreateContract(opsCtx(), a.ID, engine.ContractRequest{Number: "C-2027-042", PlanCode: "enterprise",
		TermStart: billing.NewDate(2027, 3, 1), TermEnd: billing.NewDate(2028, 3, 1), Prepaid: 10,
		UnitPrice: billing.NewMoney(20000, "USD"), Interval: billing.Year, NetDays: 30, PayByInvoice: true})
	if err != nil {
		t.Fatal(err)
	}
	invs := ob.invoices(t, a)
	if len(invs) != 1 || invs[0].Status != billing.InvoiceOpen {
		t.Fatalf("contract invoices = %v", invs)
	}
	return a, invs[0]
}

func TestOperator_BankTransferPartialReviewedOnceOverpayRefused(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		a, inv := ob.contracted(t)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/accounts/" + a.Number + "/invoices")
		says(t, body, inv.Number, "Subscription", "Mar 1, 2027", "Mar 31, 2027", "$2,000.00", "Open")
		manage := "/accounts/" + a.Number + "/invoices/" + inv.Number + "/manage"
		_, body = ops.get(manage)
		says(t, body, "Record a bank transfer", "At most $2,000.00.", "The account has no default card", "Issue a credit note")
		if strings.Contains(text(body), "Review the refund") {
			t.Fatal("an unpaid invoice offers a refund")
		}
		action := "/accounts/" + a.Number + "/invoices/" + inv.Number + "/bank-transfer"

		for _, bad := range []struct {
			form url.Values
			want string
		}{
			{url.Values{"transfer_amount": {"2500"}, "transfer_reference": {"WIRE-1"}, "transfer_received_on": {"2027-03-10"}},
				"Invoice " + inv.Number + " owes $2,000.00; a transfer of $2,500.00 would overpay it."},
			{url.Values{"transfer_amount": {"500"}, "transfer_reference": {"WIRE-1"}, "transfer_received_on": {"2027-03-11"}},
				"A transfer cannot arrive after today (Mar 10, 2027)."},
			{url.Values{"transfer_amount": {"0"}, "transfer_reference": {""}, "transfer_received_on": {""}},
				"Enter an amount more than zero."},
		} {
			status, body := ops.post(action, bad.form)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%v: %d", bad.form, status)
			}
			says(t, body, bad.want)
			if !strings.Contains(body, `value="`+bad.form.Get("transfer_amount")+`"`) {
				t.Fatal("the amount typed was lost")
			}
		}
		if n := rows(t, db, "payments"); n != 0 {
			t.Fatalf("bad transfers recorded %d payments", n)
		}

		status, body := ops.post(action, url.Values{"transfer_amount": {"500"}, "transfer_reference": {"WIRE-1"}, "transfer_received_on": {"2027-03-09"}})
		if status != http.StatusOK {
			t.Fatalf("review: %d", status)
		}
		says(t, body, "Record a bank transfer of $500.00", "Amount due now $2,000.00", "Reference WIRE-1", "Received on Mar 9, 2027",
			inv.Number+" still owes $1,500.00 after it, due Mar 31, 2027.")
		if n := rows(t, db, "payments"); n != 0 {
			t.Fatal("the review recorded the transfer")
		}
		form := hidden(t, body, action)
		form.Set("confirm", "1")
		status, body = ops.post(action, form)
		if status != http.StatusOK || ops.last.Request.URL.Path != manage {
			t.Fatalf("confirm: %d at %s\n%s", status, ops.last.Request.URL, text(body))
		}
		says(t, body, "Recorded a bank transfer of $500.00 (WIRE-1) against "+inv.Number+". "+inv.Number+" still owes $1,500.00.",
			"$500.00 Bank transfer Succeeded", "ref. WIRE-1")
		// The same confirmation again (a double click): recorded once.
		status, body = ops.post(action, form)
		if status != http.StatusOK {
			t.Fatalf("second submit: %d", status)
		}
		says(t, body, "still owes $1,500.00")
		if n := rows(t, db, "payments"); n != 1 {
			t.Fatalf("a double submit recorded %d payments", n)
		}

		// A credit note for part of it, then a refund of part of the transfer.
		credit := "/accounts/" + a.Number + "/invoices/" + inv.Number + "/credit-note"
		status, body = ops.post(credit, url.Values{"credit_amount": {""}, "credit_reason": {""}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad credit note: %d", status)
		}
		says(t, body, "Enter an amount", "Say why")
		status, body = ops.post(credit, url.Values{"credit_amount": {"100"}, "credit_reason": {"Onboarding delay"}})
		if status != http.StatusOK {
			t.Fatalf("credit review: %d", status)
		}
		says(t, body, "Issue a credit note of $100.00 for "+inv.Number, "($0.00 now, $100.00 after)")
		form = hidden(t, body, credit)
		form.Set("confirm", "1")
		_, body = ops.post(credit, form)
		says(t, body, "for $100.00 issued; the account's discount credits have it.")
		if n := len(ob.invoices(t, a)); n != 2 {
			t.Fatalf("invoices after the credit note = %d", n)
		}

		refund := "/accounts/" + a.Number + "/invoices/" + inv.Number + "/refund"
		status, body = ops.post(refund, url.Values{"refund_amount": {"600"}, "refund_reason": {"Goodwill"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("too big a refund: %d", status)
		}
		says(t, body, "At most $500.00")
		status, body = ops.post(refund, url.Values{"refund_amount": {"200"}, "refund_reason": {"Goodwill"}})
		if status != http.StatusOK {
			t.Fatalf("refund review: %d", status)
		}
		says(t, body, "Refund $200.00 of "+inv.Number, "Left to refund $500.00")
		form = hidden(t, body, refund)
		form.Set("confirm", "1")
		_, body = ops.post(refund, form)
		says(t, body, "Refunded $200.00 of "+inv.Number)
		if n := rows(t, db, "refunds"); n != 1 {
			t.Fatalf("refunds = %d", n)
		}

		// Another account's invoice is not found under this one.
		if status, _ := ops.get("/accounts/" + ob.acme.Number + "/invoices/" + inv.Number + "/manage"); status != http.StatusNotFound {
			t.Fatalf("an invoice under another account: %d", status)
		}
	})
}

func TestOperator_FailedPaymentRetriedAndSuspendedAccountListed(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		n := ob.acme.Number
		ob.roster(t, ob.acme, 2)
		if _, err := ob.eng.AddCard(opsCtx(), ob.acme.ID, engine.AddCardRequest{Token: "pm_card_visa_chargeDeclined"}); err != nil {
			t.Fatal(err)
		}
		owner := signedIn(t, ob.bundle, ownerEmail)
		upgrade(t, ob.bundle, owner, "month") // declined: the invoice stays open
		inv := ob.invoices(t, ob.acme)[0]
		suspended := billing.StatusSuspended
		if _, err := db.UpdateAccount(opsCtx(), ob.acme.ID, billing.AccountUpdate{Status: &suspended}); err != nil {
			t.Fatal(err)
		}

		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/payments")
		says(t, body, "Suspended (1)", "Past due (0)", n, "Acme Corp", inv.Number, "$20.00", "Visa •••• 0002", "declined")
		_, body = ops.get("/accounts/" + n + "/invoices/" + inv.Number + "/manage")
		says(t, body, "Retry the payment", "Charge $20.00 to Visa •••• 0002 now")
		failed := rows(t, db, "payments")
		form := hidden(t, body, "/accounts/"+n+"/invoices/"+inv.Number+"/retry")
		status, body := ops.post("/accounts/"+n+"/invoices/"+inv.Number+"/retry", form)
		if status != http.StatusOK {
			t.Fatalf("retry: %d\n%s", status, text(body))
		}
		says(t, body, "The charge of $20.00 to Visa •••• 0002 was declined", "The attempt is recorded.")
		if got := rows(t, db, "payments"); got != failed+1 {
			t.Fatalf("payments %d → %d", failed, got)
		}
		ops.post("/accounts/"+n+"/invoices/"+inv.Number+"/retry", form) // the same form again: charged once
		if got := rows(t, db, "payments"); got != failed+1 {
			t.Fatalf("a double retry made %d attempts", got-failed)
		}
	})
}

func TestOperator_BillingRunShowsWhatIsDueAndBillsItOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ob.roster(t, ob.acme, 2)
		if _, err := ob.eng.AddCard(opsCtx(), ob.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
			t.Fatal(err)
		}
		owner := signedIn(t, ob.bundle, ownerEmail)
		upgrade(t, ob.bundle, owner, "month")
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/billing-runs")
		says(t, body, "Due now (0)", "Nothing is due", "No billing runs yet.", "Recent bill jobs", "#7", ob.acme.Number, "Completed")

		ob.clock.Set(time.Date(2027, time.April, 11, 15, 0, 0, 0, time.UTC)) // past the renewal
		_, body = ops.get("/billing-runs")
		says(t, body, "Due now (1)", "Run billing now for 1 account", "Acme Corp")
		invoices := rows(t, db, "invoices")
		status, body := ops.post("/billing-runs", nil)
		if status != http.StatusOK || ops.last.Request.URL.Path != "/billing-runs" || ops.last.Request.Method != http.MethodGet {
			t.Fatalf("run: %d at %s %s; want the page again after a redirect", status, ops.last.Request.Method, ops.last.Request.URL.Path)
		}
		says(t, body, "Runs", "#1")
		ob.runs.wg.Wait() // the run works in the background, as a job
		_, body = ops.get("/billing-runs")
		says(t, body, "Completed", "1 of 1 billed", "1 invoice, 1 renewal", "Due now (0)")
		if strings.Contains(body, `hx-trigger="every 1s"`) {
			t.Error("the page still follows a finished run")
		}
		if got := rows(t, db, "invoices"); got != invoices+1 {
			t.Fatalf("invoices %d → %d", invoices, got)
		}
		ops.post("/billing-runs", nil)
		ob.runs.wg.Wait()
		_, body = ops.get("/billing-runs")
		says(t, body, "#2", "nothing was due", "0 invoices")
		if got := rows(t, db, "invoices"); got != invoices+1 {
			t.Fatal("a second run billed again")
		}
	})
}

// TestOperator_ReconcileSettlesAStuckPaymentAndNamesBreaks: a card charge
// whose answer was lost is settled from the Payments page (once: the
// gateway made one charge), and a break of the books is named there.
func TestOperator_ReconcileSettlesAStuckPaymentAndNamesBreaks(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ob.roster(t, ob.acme, 2)
		if _, err := ob.eng.AddCard(opsCtx(), ob.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
			t.Fatal(err)
		}
		ob.gateway.TimeoutAfterCharge(1)
		owner := signedIn(t, ob.bundle, ownerEmail)
		upgrade(t, ob.bundle, owner, "month")
		ob.clock.Advance(2 * time.Minute)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/payments")
		says(t, body, "Reconcile with the gateway", "Reconcile now")
		status, body := ops.post("/payments/reconcile", nil)
		if status != http.StatusOK {
			t.Fatalf("reconcile: %d\n%s", status, text(body))
		}
		says(t, body, "Asked about 1 payment attempts: 1 paid", "Every invariant holds.")
		if n := len(ob.gateway.Charges()); n != 1 {
			t.Fatalf("gateway charges = %d", n)
		}
		if _, err := db.SQL().Exec(`UPDATE accounts SET credit_balance = credit_balance + 5 WHERE id = $1`, ob.acme.ID); err != nil {
			t.Fatal(err)
		}
		_, body = ops.post("/payments/reconcile", nil)
		says(t, body, "Asked about 0 payment attempts", "1 broken:", "credit_balance", ob.acme.Number)
		if _, err := db.SQL().Exec(`UPDATE accounts SET credit_balance = credit_balance - 5 WHERE id = $1`, ob.acme.ID); err != nil {
			t.Fatal(err)
		}
	})
}
