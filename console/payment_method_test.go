package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/console"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// Change Payment Method over HTTP, on both stores: add a card (good, a
// typing mistake, expired, a gateway that does not answer), make another
// the default, remove one; viewers read and change nothing; another
// tenant's page and methods are not found; bank transfer details are an
// operator's; a suspended account is restored by a new card; Pay now
// charges once.

// card is the add-card form as a person fills it in.
func card(number, month, year, cvc, name string) url.Values {
	return url.Values{"card_number": {number}, "exp_month": {month}, "exp_year": {year}, "cvc": {cvc}, "name": {name}}
}

// addCard fills in and sends the add-card form of the page.
func addCard(t *testing.T, p *person, n string, form url.Values) (int, string) {
	t.Helper()
	_, body := p.get("/accounts/" + n + "/payment-method")
	for k, v := range hidden(t, body, "/accounts/"+n+"/payment-method") {
		form[k] = v
	}
	return p.post("/accounts/"+n+"/payment-method", form)
}

func (b *bundle) methods(t *testing.T, a *billing.Account) []*store.PaymentMethod {
	t.Helper()
	list, err := b.eng.PaymentMethods(opsCtx(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// noCardNumber fails if the page shows the number typed, in any spelling.
func noCardNumber(t *testing.T, body string, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		if strings.Contains(body, n) || strings.Contains(body, strings.ReplaceAll(n, " ", "")) {
			t.Fatalf("the page echoes the card number %s", n)
		}
	}
}

func TestPaymentMethod_AddCardMakeDefaultRemove(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)

		status, body := p.get("/accounts/" + n + "/payment-method")
		if status != 200 {
			t.Fatalf("page: %d", status)
		}
		says(t, body, "Change Payment Method", "No payment method is on file.", "Add a card", "Card number", "Expiry date",
			"Security code (CVC)", "Name on card", "effective immediately and used at the next transaction")
		for _, attr := range []string{`autocomplete="cc-number"`, `autocomplete="cc-exp-month"`, `autocomplete="cc-exp-year"`,
			`autocomplete="cc-csc"`, `autocomplete="cc-name"`, `inputmode="numeric"`, `<label for="card_number">`, `<label for="cvc">`} {
			if !strings.Contains(body, attr) {
				t.Fatalf("the form lacks %s", attr)
			}
		}

		status, body = addCard(t, p, n, card("5555 5555 5555 4444", "12", "2031", "123", "Ada Lovelace"))
		if status != 200 || p.last.Request.URL.Path != "/accounts/"+n+"/payment-method" {
			t.Fatalf("add: %d at %s\n%s", status, p.last.Request.URL, text(body))
		}
		says(t, body, "Mastercard •••• 4444 is now the default payment method, effective immediately and used at the next transaction.",
			"Mastercard •••• 4444 Default", "Expires 12/2031 · Ada Lovelace")
		noCardNumber(t, body, "5555 5555 5555 4444")
		list := b.methods(t, b.acme)
		if len(list) != 1 || !list[0].Default || list[0].Last4 != "4444" || list[0].BillingName != "Ada Lovelace" {
			t.Fatalf("methods = %+v", list)
		}
		mc := list[0]

		// A second card becomes the default; the first stays on file.
		addCard(t, p, n, card("4242424242424242", "1", "30", "321", ""))
		list = b.methods(t, b.acme)
		if len(list) != 2 || list[0].Last4 != "4242" || !list[0].Default || list[1].ID != mc.ID || list[1].Default {
			t.Fatalf("methods after the second card = %+v", list)
		}
		visa := list[0]

		// Back to the Mastercard, then the Visa off file.
		_, body = p.post("/accounts/"+n+"/payment-method/"+itoa(mc.ID)+"/default", nil)
		says(t, body, "Mastercard •••• 4444 is now the default payment method")
		if !b.methods(t, b.acme)[0].Default || b.methods(t, b.acme)[0].ID != mc.ID {
			t.Fatal("the Mastercard is not the default")
		}
		_, body = p.post("/accounts/"+n+"/payment-method/"+itoa(visa.ID)+"/remove", nil)
		says(t, body, "Visa •••• 4242 was removed.")
		if list := b.methods(t, b.acme); len(list) != 1 || list[0].ID != mc.ID {
			t.Fatalf("after removing = %+v", list)
		}
		events, err := db.FindAuditEvents(opsCtx(), billing.AuditFilter{AccountID: &b.acme.ID, Action: "payment_method.create", Limit: 10})
		if err != nil || len(events) != 2 || events[0].Actor != "user:"+ownerEmail {
			t.Fatalf("audit = %+v, %v", events, err)
		}
	})
}

func TestPaymentMethod_BadCardsKeepTheFormAndChangeNothing(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)

		tests := []struct {
			name    string
			form    url.Values
			status  int
			field   string
			message string
		}{
			{"a typing mistake (Luhn)", card("4242 4242 4242 4241", "12", "2031", "123", "Ada Lovelace"), 422,
				"card_number", "The card number is not valid; check it for a typing mistake."},
			{"expired", card("4242 4242 4242 4242", "1", "2020", "123", "Ada Lovelace"), 422,
				"card_number", "The card expired at the end of 01/2020."},
			{"no security code", card("4242 4242 4242 4242", "12", "2031", "", "Ada Lovelace"), 422,
				"cvc", "The security code (CVC) has 3 digits."},
			{"no expiry", card("4242 4242 4242 4242", "", "", "123", "Ada Lovelace"), 422,
				"exp_month", "The expiry month must be 1 to 12."},
		}
		for _, tt := range tests {
			status, body := addCard(t, p, n, tt.form)
			if status != tt.status {
				t.Fatalf("%s: %d", tt.name, status)
			}
			says(t, body, "Please correct", tt.message)
			i := strings.Index(body, `id="`+tt.field+`-error"`)
			if i < 0 || !strings.Contains(body[i:min(len(body), i+300)], tt.message) {
				t.Fatalf("%s: the message is not beside %s", tt.name, tt.field)
			}
			// What was typed is kept, but the security code.
			for _, f := range []string{"card_number", "exp_month", "exp_year", "name"} {
				if v := tt.form.Get(f); v != "" && !strings.Contains(body, `name="`+f+`" type="text" value="`+v+`"`) {
					t.Fatalf("%s: %s not kept", tt.name, f)
				}
			}
			if !strings.Contains(body, `name="cvc" type="text" value=""`) {
				t.Fatalf("%s: the CVC came back", tt.name)
			}
			if got := len(b.methods(t, b.acme)); got != 0 {
				t.Fatalf("%s: %d methods on file", tt.name, got)
			}
		}

		// The gateway does not answer: nothing is added, and the page says
		// to try again.
		b.gateway.Unavailable(true)
		status, body := addCard(t, p, n, card("4242 4242 4242 4242", "12", "2031", "123", ""))
		b.gateway.Unavailable(false)
		if status != http.StatusServiceUnavailable {
			t.Fatalf("gateway down: %d", status)
		}
		says(t, body, "nothing was changed. Please try again in a moment.")
		if got := len(b.methods(t, b.acme)); got != 0 {
			t.Fatalf("gateway down: %d methods on file", got)
		}

		// The same card twice: on file once; the second form says so.
		addCard(t, p, n, card("4242 4242 4242 4242", "12", "2031", "123", ""))
		status, body = addCard(t, p, n, card("4242 4242 4242 4242", "12", "2031", "123", ""))
		if status != 422 || !strings.Contains(body, "This card is on file already") {
			t.Fatalf("the same card again: %d\n%s", status, text(body))
		}
		if got := len(b.methods(t, b.acme)); got != 1 {
			t.Fatalf("%d methods after the same card twice", got)
		}
	})
}

func TestPaymentMethod_ViewerReadsAndIsRefused(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		if _, err := b.eng.AddCard(opsCtx(), b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
			t.Fatal(err)
		}
		m := b.methods(t, b.acme)[0]
		v := signedIn(t, b, viewerEmail)
		status, body := v.get("/accounts/" + n + "/payment-method")
		if status != 200 {
			t.Fatalf("viewer: %d", status)
		}
		says(t, body, "Visa •••• 4242", "Default", "can see the payment methods but not change them")
		if strings.Contains(body, `action="/accounts/`+n+`/payment-method`) || strings.Contains(body, "Make default") {
			t.Fatal("a viewer is offered a form")
		}
		for _, path := range []string{"/payment-method", "/payment-method/" + itoa(m.ID) + "/default", "/payment-method/" + itoa(m.ID) + "/remove"} {
			form := card("5555 5555 5555 4444", "12", "2031", "123", "")
			form.Set("idempotency_key", "forged")
			if status, _ := v.post("/accounts/"+n+path, form); status != http.StatusForbidden {
				t.Fatalf("viewer POST %s: %d", path, status)
			}
		}
		if list := b.methods(t, b.acme); len(list) != 1 || list[0].ID != m.ID {
			t.Fatalf("a viewer changed the methods: %+v", list)
		}
	})
}

func TestPaymentMethod_AnotherTenantIsNotFound(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		if _, err := b.eng.AddCard(opsCtx(), b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
			t.Fatal(err)
		}
		acmeCard := b.methods(t, b.acme)[0]
		g := signedIn(t, b, globexEmail)
		if status, _ := g.get("/accounts/" + b.acme.Number + "/payment-method"); status != http.StatusNotFound {
			t.Fatalf("another tenant's page: %d", status)
		}
		if status, _ := g.post("/accounts/"+b.acme.Number+"/payment-method/"+itoa(acmeCard.ID)+"/remove", nil); status != http.StatusNotFound {
			t.Fatalf("another tenant's remove: %d", status)
		}
		// Acme's card through Globex's own address: not Globex's.
		if status, _ := g.post("/accounts/"+b.globex.Number+"/payment-method/"+itoa(acmeCard.ID)+"/remove", nil); status != http.StatusNotFound {
			t.Fatalf("another tenant's card on one's own page: %d", status)
		}
		if len(b.methods(t, b.acme)) != 1 {
			t.Fatal("Globex removed Acme's card")
		}
	})
}

// A contract paid by bank transfer: its people see the details and may add
// a card (which becomes the default), never choose or remove the transfer;
// the operator edits the details.
func TestPaymentMethod_BankTransferIsTheOperators(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		a := b.contract(t)
		n := a.Number
		res, err := b.eng.AddBankTransfer(opsCtx(), a.ID, engine.BankDetails{BankName: "First Bank", AccountHolder: "Initech LLC",
			AccountLast4: "6789", RemittanceRef: "INITECH-001"}, true)
		if err != nil {
			t.Fatal(err)
		}
		ach := res.Method
		p := signedIn(t, b, "ines@initech.test")
		_, body := p.get("/accounts/" + n + "/payment-method")
		says(t, body, "Bank transfer (ACH / EFT) Default", "Bank First Bank", "Account holder Initech LLC", "Account •••• 6789",
			"Reference to quote INITECH-001", "ask Kore support to change them", "Add a card")
		if strings.Contains(body, "/payment-method/"+itoa(ach.ID)+"/") || strings.Contains(body, "Edit bank details") {
			t.Fatal("an account's admin is offered the bank transfer's actions")
		}
		for _, action := range []string{"default", "remove", "bank"} {
			if status, _ := p.post("/accounts/"+n+"/payment-method/"+itoa(ach.ID)+"/"+action, url.Values{"account_holder": {"X"}}); status != http.StatusForbidden && status != http.StatusNotFound {
				t.Fatalf("admin POST %s on the transfer: %d", action, status)
			}
		}

		// The admin switches to a card.
		_, body = addCard(t, p, n, card("4242 4242 4242 4242", "12", "2031", "123", "Ines"))
		says(t, body, "Visa •••• 4242 is now the default payment method")
		if list := b.methods(t, a); list[0].Kind != store.MethodCard || !list[0].Default {
			t.Fatalf("methods = %+v", list)
		}

		// The operator edits the details: a blank holder is refused beside
		// its field; then saved.
		o := signedIn(t, b, operatorEmail)
		_, body = o.get("/accounts/" + n + "/payment-method")
		says(t, body, "Edit bank details", "Make default")
		status, body := o.post("/accounts/"+n+"/payment-method/"+itoa(ach.ID)+"/bank", url.Values{"bank_name": {"Second Bank"}, "account_holder": {" "}})
		if status != 422 || !strings.Contains(body, `id="account_holder-error"`) {
			t.Fatalf("blank holder: %d", status)
		}
		says(t, body, "The account holder is required")
		_, body = o.post("/accounts/"+n+"/payment-method/"+itoa(ach.ID)+"/bank", url.Values{"bank_name": {"Second Bank"},
			"account_holder": {"Initech LLC"}, "account_last4": {"1111"}, "remittance_ref": {"INI-2"}})
		says(t, body, "Bank transfer details saved: Bank transfer (Second Bank •••• 1111).")
		// And makes the transfer the default again.
		_, body = o.post("/accounts/"+n+"/payment-method/"+itoa(ach.ID)+"/default", nil)
		says(t, body, "Bank transfer (Second Bank •••• 1111) is now the default payment method")
	})
}

// suspend runs Acme into suspension the engine's way: Premium for 2 users
// on a card that declines every charge, the retries on days 1, 3, 5 and 7,
// then suspended. It returns the open invoice.
func (b *bundle) suspend(t *testing.T) *billing.Invoice {
	t.Helper()
	b.roster(t, b.acme, 2)
	tok, _ := b.gateway.TokenizeCard(opsCtx(), billing.CardInput{Number: "4000 0000 0000 0341", ExpMonth: 12, ExpYear: 2031, CVC: "123"})
	if _, err := b.eng.AddCard(opsCtx(), b.acme.ID, engine.AddCardRequest{Token: tok, Default: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.ConfirmChange(opsCtx(), b.acme.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 2}); err != nil {
		t.Fatal(err)
	}
	b.at(18)
	if _, err := b.eng.BillAccount(opsCtx(), b.acme.ID); err != nil {
		t.Fatal(err)
	}
	ov, err := b.eng.Subscription(opsCtx(), b.acme.ID)
	if err != nil || ov.Account.Status != billing.StatusSuspended {
		t.Fatalf("not suspended: %+v %v", ov, err)
	}
	inv := b.invoices(t, b.acme)[0]
	if inv.Status != billing.InvoiceOpen {
		t.Fatalf("invoice %s", inv.Status)
	}
	return inv
}

func TestPaymentMethod_SuspendedAccountIsRestoredByANewCard(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		inv := b.suspend(t)
		p := signedIn(t, b, ownerEmail)

		_, body := p.get("/accounts/" + n + "/summary")
		says(t, body, "This account is suspended", "Change the payment method", "Change Payment Method")
		if !strings.Contains(body, `href="/accounts/`+n+`/payment-method"`) {
			t.Fatal("the summary does not link to the page")
		}
		_, body = p.get("/accounts/" + n + "/payment-method")
		says(t, body, "This account is suspended", "An invoice for $20.00 is unpaid.", "A card you add below is charged for it at once",
			inv.Number+": $20.00 due", "Visa •••• 0341 Default")

		// Another declining card: added, the invoice declined, still suspended.
		_, body = addCard(t, p, n, card("4000 0000 0000 0002", "12", "2031", "123", ""))
		says(t, body, "Visa •••• 0002 is now the default payment method",
			"Paying "+inv.Number+" ($20.00) with Visa •••• 0002 was declined: ", "The invoice is still open")
		if ov, _ := b.eng.Subscription(opsCtx(), b.acme.ID); ov.Account.Status != billing.StatusSuspended {
			t.Fatalf("after a declined card: %s", ov.Account.Status)
		}

		// A good card pays it at once and the account is active again.
		_, body = addCard(t, p, n, card("4242 4242 4242 4242", "12", "2031", "123", "Ada Lovelace"))
		says(t, body, "Visa •••• 4242 is now the default payment method, effective immediately and used at the next transaction. Paid "+
			inv.Number+" ($20.00) with Visa •••• 4242.")
		if strings.Contains(body, "This account is suspended") || strings.Contains(body, "was declined") {
			t.Fatalf("still suspended on the page:\n%s", text(body))
		}
		ov, _ := b.eng.Subscription(opsCtx(), b.acme.ID)
		if ov.Account.Status != billing.StatusActive || ov.Subscription.Status != billing.SubscriptionActive {
			t.Fatalf("after paying: account %s subscription %s", ov.Account.Status, ov.Subscription.Status)
		}
		if inv := b.invoices(t, b.acme)[0]; inv.Status != billing.InvoicePaid {
			t.Fatalf("invoice %s", inv.Status)
		}
	})
}

// Pay now on a suspended account: a decline says why and changes nothing
// but the attempt; two submissions at once, with different forms (two
// tabs), charge once; the same form again answers as the first.
func TestPayNow_DeclineThenConcurrentSubmitsChargeOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		inv := b.suspend(t)
		p := signedIn(t, b, ownerEmail)
		pay := "/accounts/" + n + "/invoices/" + inv.Number + "/pay"

		_, body := p.get("/accounts/" + n + "/payment-method")
		form := hidden(t, body, pay)
		status, body := p.post(pay, form)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("declined pay now: %d", status)
		}
		says(t, body, "declined")
		attempts, _, err := b.eng.Payments(opsCtx(), store.PaymentFilter{AccountID: b.acme.ID, Limit: 100})
		if err != nil || attempts[0].Trigger != store.TriggerManual || attempts[0].Status != store.PaymentFailed {
			t.Fatalf("the manual attempt = %+v, %v", attempts[0], err)
		}

		// A good card on file, made the default behind the engine's back
		// (the engine would charge the invoice to it at once): an open
		// invoice and a good card to pay it with.
		tok, _ := b.gateway.TokenizeCard(opsCtx(), billing.CardInput{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2031, CVC: "123"})
		res, err := b.eng.AddCard(opsCtx(), b.acme.ID, engine.AddCardRequest{Token: tok, Default: false})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			sql string
			arg any
		}{
			{"UPDATE payment_methods SET is_default = $1 WHERE account_id = $2", b.acme.ID},
			{"UPDATE payment_methods SET is_default = NOT $1 WHERE id = $2", res.Method.ID},
		} {
			if _, err := db.SQL().ExecContext(opsCtx(), q.sql, false, q.arg); err != nil {
				t.Fatal(err)
			}
		}
		if got := b.invoices(t, b.acme)[0]; got.Status != billing.InvoiceOpen {
			t.Fatalf("invoice %s before pay now", got.Status)
		}

		before := len(b.gateway.Charges())
		b.gateway.Latency(300 * time.Millisecond)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		tabs := make([]*person, 2)
		forms := make([]url.Values, 2)
		for i := range 2 {
			tabs[i] = signedIn(t, b, ownerEmail)
			_, page := tabs[i].get("/accounts/" + n + "/payment-method")
			forms[i] = hidden(t, page, pay)
		}
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = tabs[i].post(pay, forms[i])
			}()
		}
		wg.Wait()
		b.gateway.Latency(0)
		var succeeded int
		for _, c := range b.gateway.Charges()[before:] {
			if c.Status == billing.ChargeSucceeded {
				succeeded++
			}
		}
		if succeeded != 1 {
			t.Fatalf("%d successful charges from two submissions (statuses %v)", succeeded, statuses)
		}
		if got := b.invoices(t, b.acme)[0]; got.Status != billing.InvoicePaid {
			t.Fatalf("invoice %s after pay now", got.Status)
		}
		// The winning form sent again: the same answer, nothing charged.
		won := 0
		if statuses[1] == 200 {
			won = 1
		}
		if status, body := tabs[won].post(pay, forms[won]); status != 200 {
			t.Fatalf("the same form again: %d (statuses %v)", status, statuses)
		} else {
			says(t, body, "Invoice "+inv.Number+" is paid: $20.00 was charged to Visa •••• 4242.")
		}
		if got := len(b.gateway.Charges()); got != before+1 {
			t.Fatalf("%d charges after the same form again, want %d", got, before+1)
		}
		if ov, _ := b.eng.Subscription(opsCtx(), b.acme.ID); ov.Account.Status != billing.StatusActive {
			t.Fatalf("account %s after pay now", ov.Account.Status)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// stripeLike is a gateway that, as Stripe, never takes card details (it is
// no billing.CardTokenizer) and may decline a card when it is attached.
type stripeLike struct{ billing.Gateway }

func (g stripeLike) AttachCard(ctx context.Context, req billing.AttachCardRequest) (billing.Card, error) {
	if req.Token == "pm_card_visa_chargeDeclined" {
		return billing.Card{}, billing.ReasonErrorf(billing.EPAYMENT, "card_declined", "Your card was declined.")
	}
	return g.Gateway.AttachCard(ctx, req)
}

// withGateway serves b's accounts and people again, with an engine on gw.
func (b *bundle) withGateway(t *testing.T, gw billing.Gateway) {
	t.Helper()
	eng, err := engine.New(engine.Config{DB: b.db, Clock: b.clock, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	apiServer := api.New(api.Config{Services: api.Services{Accounts: b.db, Profiles: b.db, Catalog: b.db, Users: b.db, Audit: b.db, Keys: b.db}})
	cs, err := console.New(console.Config{
		Services: console.Services{Accounts: b.db, Profiles: b.db, Audit: b.db, Users: b.db, Engine: eng},
		Sessions: b.db.Sessions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	cs.Register(apiServer.Mux())
	b.console = cs
	b.srv = httptest.NewServer(apiServer.Handler())
	t.Cleanup(b.srv.Close)
}

// With Stripe the page takes the PaymentMethod id that Stripe.js made, never
// card details; a card Stripe declines when attached is refused beside it.
func TestPaymentMethod_StripeTakesATokenAndMayDeclineAtAttach(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.withGateway(t, stripeLike{b.gateway})
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)
		_, body := p.get("/accounts/" + n + "/payment-method")
		says(t, body, "Card token", "never to Kore Billing")
		if strings.Contains(body, `name="card_number"`) || strings.Contains(body, `name="cvc"`) {
			t.Fatal("the Stripe form asks for card details")
		}

		status, body := addCard(t, p, n, url.Values{"token": {"pm_card_visa_chargeDeclined"}})
		if status != 422 || !strings.Contains(body, `id="token-error"`) {
			t.Fatalf("declined at attach: %d\n%s", status, text(body))
		}
		says(t, body, "Your card was declined.")
		if len(b.methods(t, b.acme)) != 0 {
			t.Fatal("a declined card was kept")
		}
		status, _ = addCard(t, p, n, url.Values{"token": {""}})
		if status != 422 {
			t.Fatalf("no token: %d", status)
		}
		_, body = addCard(t, p, n, url.Values{"token": {"pm_card_mastercard"}})
		says(t, body, "Mastercard •••• 4444 is now the default payment method")
	})
}

// An operator records that a contract pays by bank transfer from the page.
func TestPaymentMethod_OperatorAddsBankTransfer(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		a := b.contract(t)
		n := a.Number
		if _, body := signedIn(t, b, "ines@initech.test").get("/accounts/" + n + "/payment-method"); strings.Contains(body, "Record bank transfer details") {
			t.Fatal("an account's admin is offered to record bank transfer details")
		}
		o := signedIn(t, b, operatorEmail)
		_, body := o.get("/accounts/" + n + "/payment-method")
		says(t, body, "Pay by bank transfer", "Record bank transfer details (operators)")
		status, body := o.post("/accounts/"+n+"/payment-method/bank", url.Values{"account_holder": {""}})
		if status != 422 || !strings.Contains(body, `id="account_holder-error"`) {
			t.Fatalf("no holder: %d", status)
		}
		_, body = o.post("/accounts/"+n+"/payment-method/bank", url.Values{"bank_name": {"First Bank"}, "account_holder": {"Initech LLC"},
			"account_last4": {"6789"}, "remittance_ref": {"INI-1"}})
		says(t, body, "Bank transfer (First Bank •••• 6789) is now the default payment method", "Reference to quote INI-1")
		// Online accounts pay by card only.
		status, _ = o.post("/accounts/"+b.acme.Number+"/payment-method/bank", url.Values{"account_holder": {"Acme"}})
		if status != 422 {
			t.Fatalf("bank transfer on an online account: %d", status)
		}
		// Not an operator: the route does not exist.
		if status, _ := signedIn(t, b, "ines@initech.test").post("/accounts/"+n+"/payment-method/bank", url.Values{"account_holder": {"X"}}); status != http.StatusNotFound {
			t.Fatalf("admin records bank details: %d", status)
		}
	})
}
