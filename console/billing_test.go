package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// The billing pages over HTTP, on both stores: the Account Summary, every
// change's preview and confirmation, Add Subscriptions, Billing History and
// statements. The engine's clock is stopped at engineStart (10 March 2027),
// so amounts are the same on every run.

// says fails unless the page reads each of wants, as a person reads it: the
// text without tags, with no space before punctuation that followed one.
func says(t *testing.T, body string, wants ...string) {
	t.Helper()
	txt := punctRE.ReplaceAllString(text(body), "$1")
	for _, w := range wants {
		if !strings.Contains(txt, w) {
			t.Fatalf("page does not say %q:\n%s", w, txt)
		}
	}
}

var punctRE = regexp.MustCompile(`\s+([,.;:)])`)

func opsCtx() context.Context {
	return billing.NewContextWithActor(context.Background(), billing.Actor{Name: "test", Role: billing.RoleOperator})
}

// roster makes the account's managed users u1…un, through the engine as
// the platform would report them.
func (b *bundle) roster(t *testing.T, a *billing.Account, n int) {
	t.Helper()
	users := make([]billing.ManagedUser, n)
	for i := range users {
		users[i] = billing.ManagedUser{AccountID: a.ID, UserID: fmt.Sprintf("u%d", i+1),
			Email: fmt.Sprintf("user%d@%s", i+1, a.Domain), Status: billing.ManagedUserStatus("active")}
	}
	if _, err := b.eng.ReplaceManagedUsers(opsCtx(), a.ID, users); err != nil {
		t.Fatal(err)
	}
}

// at moves the engine's clock to a day of March 2027, 15:00 UTC.
func (b *bundle) at(day int) { b.clock.Set(time.Date(2027, time.March, day, 15, 0, 0, 0, time.UTC)) }

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hidden returns the hidden fields of the form that posts to action.
func hidden(t *testing.T, body, action string) url.Values {
	t.Helper()
	i := strings.Index(body, `method="post" action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form posts to %s", action)
	}
	form := body[i:]
	form = form[:strings.Index(form, "</form>")]
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(form, -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'").Replace(s)
}

func (b *bundle) invoices(t *testing.T, a *billing.Account) []*billing.Invoice {
	t.Helper()
	invs, _, err := b.eng.FindInvoices(context.Background(), a.ID, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	return invs
}

func (b *bundle) subscription(t *testing.T, a *billing.Account) billing.Subscription {
	t.Helper()
	ov, err := b.eng.Subscription(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ov.Subscription
}

// upgrade buys Premium for all current users, monthly, through the pages,
// and returns the summary it lands on.
func upgrade(t *testing.T, b *bundle, p *person, interval string) string {
	t.Helper()
	n := b.acme.Number
	status, body := p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=" + interval + "&users=all")
	if status != 200 {
		t.Fatalf("preview: %d\n%s", status, text(body))
	}
	form := hidden(t, body, "/accounts/"+n+"/subscription/confirm")
	if strings.Contains(body, `id="card_number"`) {
		// No card on file: the preview asks for one (issue 12, item 2).
		withCard(form, "4242 4242 4242 4242")
	}
	status, body = p.post("/accounts/"+n+"/subscription/confirm", form)
	if status != 200 || p.last.Request.URL.Path != "/accounts/"+n+"/summary" {
		t.Fatalf("confirm: %d at %s\n%s", status, p.last.Request.URL, text(body))
	}
	return body
}

// withCard types a card into a confirmation that asks for one.
func withCard(form url.Values, number string) url.Values {
	form.Set("card_number", number)
	form.Set("exp_month", "12")
	form.Set("exp_year", "2030")
	form.Set("cvc", "123")
	form.Set("name", "Ada Lovelace")
	return form
}

func TestSummary_FreeAccountPurchasesPremiumForAllUsers(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.roster(t, b.acme, 3)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)

		_, body := p.get("/accounts/" + n + "/summary")
		says(t, body, "You are on the Free plan.", "3 managed users use Kore at no cost", "Premium",
			"$10.00 per user per month", "or $100.00 per user per year, billed annually ($8.33 per user per month)",
			"Enterprise", "$20.00 per user per month", "($16.67 per user per month)", "Switch to this plan")

		status, body := p.get("/accounts/" + n + "/subscription/change?plan=premium")
		if status != 200 {
			t.Fatalf("purchase page: %d", status)
		}
		says(t, body, "Purchase Subscription", "All current users", "3 users", "Just your admin account",
			"Billed monthly", "Billed annually", "Charged now: $30.00")

		// Annually: the amount follows the choices. The admin alone cannot
		// be bought while three users are managed: the message is beside
		// the choice.
		_, body = p.get("/accounts/" + n + "/subscription/change?plan=premium&interval=year&users=all")
		says(t, body, "Charged now: $300.00")
		status, body = p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=year&users=admin")
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="users-error"`) {
			t.Fatalf("admin only with 3 users: %d", status)
		}
		says(t, body, "The account has 3 managed users; it cannot have fewer seats (1 seat).")

		status, body = p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&users=all")
		if status != 200 {
			t.Fatalf("preview: %d\n%s", status, text(body))
		}
		says(t, body, "Review your purchase", "Now Free", "Premium, billed monthly, 3 users at $10.00 per user per month",
			"Takes effect Today, Mar 10, 2027", "Period Mar 10, 2027 – Apr 9, 2027", "Premium — 3 users", "Full period",
			"Total charged now $30.00", "New total per period $30.00 per month", "Confirm purchase")
		if len(b.invoices(t, b.acme)) != 0 {
			t.Fatal("a preview issued an invoice")
		}

		// No card is on file: the purchase asks for one in the same flow.
		// Confirming without it changes nothing and says why beside the
		// card number.
		says(t, body, "No card is on file.", "Card number")
		form := hidden(t, body, "/accounts/"+n+"/subscription/confirm")
		status, body = p.post("/accounts/"+n+"/subscription/confirm", form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="card_number-error"`) {
			t.Fatalf("confirm without a card: %d", status)
		}
		if sub := b.subscription(t, b.acme); len(b.invoices(t, b.acme)) != 0 || sub.IsPaid() {
			t.Fatal("a purchase without a card changed the subscription")
		}
		form = withCard(hidden(t, body, "/accounts/"+n+"/subscription/confirm"), "4242 4242 4242 4242")
		status, body = p.post("/accounts/"+n+"/subscription/confirm", form)
		if status != 200 || p.last.Request.URL.Path != "/accounts/"+n+"/summary" {
			t.Fatalf("confirm: %d at %s", status, p.last.Request.URL)
		}
		invs := b.invoices(t, b.acme)
		if len(invs) != 1 || invs[0].Total != billing.NewMoney(3000, "USD") || invs[0].Status != billing.InvoicePaid {
			t.Fatalf("invoices after the purchase: %+v", invs)
		}
		// The roster reports no activity: by the renewal every user has
		// 15 days without it, and the renewal charges no seat — the next
		// invoice says so, as the renewal will.
		says(t, body, "Your subscription is now Premium, billed monthly, 3 users. $30.00 was charged to Visa •••• 4242 ("+invs[0].Number+").",
			"You are on the Premium plan for $10.00 per user per month, billed monthly.", "Renewal date Apr 10, 2027",
			"Managed users 3", "Seats 3", "Next invoice $0.00 on Apr 10, 2027 after credits and tax", "Visa", "•••• 4242",
			"Modify Subscription", "View Billing History", "Cancel Subscription")

		// The same form again (a double click, a reload, a retry): the same
		// answer, and nothing charged twice.
		status, body = p.post("/accounts/"+n+"/subscription/confirm", form)
		if status != 200 {
			t.Fatalf("second submit: %d", status)
		}
		says(t, body, "$30.00 was charged to Visa •••• 4242 ("+invs[0].Number+").")
		if got := len(b.invoices(t, b.acme)); got != 1 {
			t.Fatalf("a double submit made %d invoices", got)
		}
	})
}

func TestChange_ConcurrentDoubleSubmitChargesOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.roster(t, b.acme, 2)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)
		upgrade(t, b, p, "month")
		b.at(20)

		_, body := p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&seats=5")
		says(t, body, "Premium — 3 users × 21 of 31 days", "Total charged now $20.32")
		form := hidden(t, body, "/accounts/"+n+"/subscription/confirm")
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", p.base+"/accounts/"+n+"/subscription/confirm", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := p.client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for _, s := range statuses {
			if s != 200 {
				t.Fatalf("statuses %v", statuses)
			}
		}
		invs := b.invoices(t, b.acme)
		if len(invs) != 2 || invs[0].Total != billing.NewMoney(2032, "USD") {
			t.Fatalf("after four submits of one form: %d invoices, newest %v", len(invs), invs[0].Total)
		}
		if seats := b.subscription(t, b.acme).Seats; seats != 5 {
			t.Fatalf("seats = %d", seats)
		}
	})
}

func TestChange_MonthlyToAnnualPreviewCreditsTheUnusedMonth(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.roster(t, b.acme, 3)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)
		upgrade(t, b, p, "month")
		b.at(25) // 16 of the 31 days of Mar 10 – Apr 9 are left

		_, body := p.get("/accounts/" + n + "/subscription/change")
		says(t, body, "Modify Subscription", "You are on Premium, billed monthly, 3 users", `Number of users`)
		status, body := p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=year&seats=3")
		if status != 200 {
			t.Fatalf("preview: %d\n%s", status, text(body))
		}
		// 3 × $10 × 16/31 = $15.48 back; $300.00 for the year from today.
		says(t, body, "Unused time on Premium — 3 users × 16 of 31 days", "-$15.48",
			"Premium — 3 users", "$300.00", "Total charged now $284.52", "Takes effect Today, Mar 25, 2027",
			"Period Mar 25, 2027 – Mar 24, 2028", "New total per period $300.00 per year")
		res, err := b.eng.PreviewChange(context.Background(), b.acme.ID, engine.ChangeRequest{Plan: "premium", Interval: billing.Year, Seats: 3})
		if err != nil || res.Invoice.Total.Amount != 28452 {
			t.Fatalf("the page does not show the engine's preview: %v %v", res, err)
		}
	})
}

func TestChange_FewerUsersThanManagedIsRefusedBesideTheField_FewerSeatsScheduled(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.roster(t, b.acme, 2)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)
		upgrade(t, b, p, "month")
		_, body := p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&seats=4")
		form := hidden(t, body, "/accounts/"+n+"/subscription/confirm")
		p.post("/accounts/"+n+"/subscription/confirm", form)

		status, body := p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&seats=1")
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("seats below the users: %d", status)
		}
		says(t, body, "Please correct this", "2 managed users")
		if !strings.Contains(body, `id="seats-error"`) || !strings.Contains(body, `value="1"`) {
			t.Fatal("the message is not beside the field, or the number typed was lost")
		}
		status, body = p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&seats=abc")
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("seats abc: %d", status)
		}
		says(t, body, "Enter a whole number of users, 1 or more.")

		_, body = p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&seats=2")
		says(t, body, "Takes effect On Apr 10, 2027, when the current period ends", "Charged now Nothing.",
			"New total per period $20.00 per month")
		form = hidden(t, body, "/accounts/"+n+"/subscription/confirm")
		_, body = p.post("/accounts/"+n+"/subscription/confirm", form)
		says(t, body, "Your change is scheduled: from Apr 10, 2027 you will be on Premium, billed monthly, 2 users.",
			"From Apr 10, 2027: Premium, billed monthly, 2 users ($20.00 per month).")
	})
}

func TestCancel_PaidToThePeriodEndThenFree(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)
		upgrade(t, b, p, "month")
		status, body := p.get("/accounts/" + n + "/subscription/cancel")
		if status != 200 {
			t.Fatalf("cancel page: %d", status)
		}
		says(t, body, "If you cancel, Premium stays paid to Apr 9, 2027, then the account is on the Free plan")
		_, body = p.post("/accounts/"+n+"/subscription/cancel", hidden(t, body, "/accounts/"+n+"/subscription/cancel"))
		says(t, body, "Your subscription is canceled. Premium is paid to Apr 9, 2027; from Apr 10, 2027 the account is on the Free plan.",
			"Canceled: Premium is paid to Apr 9, 2027", "Ends on Apr 10, 2027")
		if strings.Contains(body, `id="cancel-subscription"`) {
			t.Fatal("a canceled subscription still offers Cancel")
		}
		if !b.subscription(t, b.acme).CancelAtPeriodEnd {
			t.Fatal("not canceled")
		}
	})
}

// contract makes Initech, a subscription-billed account, and puts it on a contract
// of 100 subscriptions at $200 a year from 1 Mar 2027, net 30, with its
// billing admin and a viewer.
func (b *bundle) contract(t *testing.T) *billing.Account {
	t.Helper()
	ctx := opsCtx()
	a := &billing.Account{Name: "Initech", Domain: "initech.test", BillingType: billing.BillingSubscription, TimeZone: "America/Chicago"}
	if err := b.eng.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	b.roster(t, a, 87)
	_, err := b.eng.CreateContract(ctx, a.ID, engine.ContractRequest{Number: "C-2027-001", PlanCode: "enterprise",
		TermStart: billing.NewDate(2027, 3, 1), TermEnd: billing.NewDate(2028, 3, 1), Prepaid: 100,
		UnitPrice: billing.NewMoney(20000, "USD"), Interval: billing.Year, NetDays: 30, PayByInvoice: true,
		OverageUnitPrice: billing.NewMoney(25000, "USD")})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.ConsoleUser{
		{Email: "ines@initech.test", Name: "Ines", Role: billing.RoleBillingAdmin, AccountID: a.ID},
		{Email: "val@initech.test", Name: "Val", Role: billing.RoleViewer, AccountID: a.ID},
	} {
		if err := b.db.CreateConsoleUser(ctx, u, password); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestContract_SummaryThenAddTenSubscriptions(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		a := b.contract(t)
		n := a.Number
		p := signedIn(t, b, "ines@initech.test")
		_, body := p.get("/accounts/" + n + "/summary")
		// $200.00 ÷ 12 = $16.666… → $16.67, half away from zero.
		says(t, body, "You are currently on the Enterprise plan for $16.67 per user per month, billed annually.",
			"Subscription Information", "Payment plan Annually", "Price $200.00 per user per year",
			"Subscription Type", "By Count", "Prepaid 100", "In use 87", "Available 13",
			"Contract number C-2027-001", "Term Mar 1, 2027 – Feb 29, 2028", "Payment terms Net 30 days",
			"Invoice (ACH / bank transfer)", "When a user joins and no subscription is available", "Convert users to free")

		status, body := p.get("/accounts/" + n + "/subscriptions/add")
		if status != 200 {
			t.Fatalf("add page: %d", status)
		}
		says(t, body, "Add Subscriptions", "Number of additional subscriptions", "Enter a number to see the amount")
		status, body = p.get("/accounts/" + n + "/subscriptions/add?count=ten")
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("count ten: %d", status)
		}
		says(t, body, "Enter a whole number, 1 or more.")

		want, err := b.eng.PreviewAddSubscriptions(context.Background(), a.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		_, body = p.get("/accounts/" + n + "/subscriptions/add?count=10")
		says(t, body, "Additional subscriptions: Enterprise — 10 users × 357 of 366 days",
			"Amount to be charged "+want.Invoice.Total.String(), "Purchase Subscriptions", "110 prepaid, 23 available")
		form := hidden(t, body, "/accounts/"+n+"/subscriptions/add")
		status, body = p.post("/accounts/"+n+"/subscriptions/add", form)
		if status != 200 || p.last.Request.URL.Path != "/accounts/"+n+"/summary" {
			t.Fatalf("purchase: %d at %s\n%s", status, p.last.Request.URL, text(body))
		}
		says(t, body, "Added 10 Subscriptions Successfully", "Prepaid 110", "In use 87", "Available 23")
		// Twice: still 110.
		p.post("/accounts/"+n+"/subscriptions/add", form)
		if seats := b.subscription(t, a).Seats; seats != 110 {
			t.Fatalf("a double submit bought %d subscriptions in all", seats)
		}

		// Preferences.
		p.get("/accounts/" + n + "/summary")
		_, body = p.post("/accounts/"+n+"/preferences", url.Values{"on_join": {"auto_increase"}, "on_end": {"auto_increase"}})
		says(t, body, "Preferences saved.")
		sub := b.subscription(t, a)
		if sub.OnJoin != billing.JoinAutoIncrease || sub.Contract.OnEnd != billing.EndAutoIncrease {
			t.Fatalf("preferences not saved: %s %s", sub.OnJoin, sub.Contract.OnEnd)
		}
	})
}

func TestViewer_SeesTheSubscriptionAndChangesNothing(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.roster(t, b.acme, 2)
		upgrade(t, b, signedIn(t, b, ownerEmail), "month")
		a := b.contract(t)
		for _, c := range []struct {
			email  string
			acct   *billing.Account
			shows  []string
			posts  []string
			absent []string
		}{
			{viewerEmail, b.acme, []string{"Premium", "Managed users 2", "View Billing History"},
				[]string{"/subscription/confirm", "/subscription/cancel", "/preferences"},
				[]string{"Modify Subscription", "Cancel Subscription", "Change Payment Method"}},
			{"val@initech.test", a, []string{"By Count", "Available 13", "Convert users to free"},
				[]string{"/subscriptions/add", "/preferences"},
				[]string{`id="add-subscriptions"`, "Save preferences", `name="on_join"`}},
		} {
			p := signedIn(t, b, c.email)
			base := "/accounts/" + c.acct.Number
			_, body := p.get(base + "/summary")
			says(t, body, c.shows...)
			for _, s := range c.absent {
				if strings.Contains(body, s) {
					t.Fatalf("%s is offered %q", c.email, s)
				}
			}
			for _, path := range []string{"/subscription/change", "/subscription/preview?plan=premium&interval=year&seats=2", "/subscriptions/add?count=1"} {
				if status, _ := p.get(base + path); status != http.StatusForbidden {
					t.Fatalf("%s GET %s: %d", c.email, path, status)
				}
			}
			p.get(base + "/summary")
			for _, path := range c.posts {
				status, body := p.post(base+path, url.Values{"plan": {"premium"}, "interval": {"year"}, "seats": {"9"},
					"count": {"5"}, "idempotency_key": {"forged"}, "on_join": {"refuse"}})
				if status != http.StatusForbidden {
					t.Fatalf("%s POST %s: %d", c.email, path, status)
				}
				says(t, body, "You may not do this", "Nothing was changed.")
			}
		}
		if sub := b.subscription(t, b.acme); sub.Interval != billing.Month || sub.Seats != 2 || sub.CancelAtPeriodEnd {
			t.Fatalf("a viewer changed Acme: %+v", sub.Terms)
		}
		if sub := b.subscription(t, a); sub.Seats != 100 || sub.OnJoin != billing.JoinLeaveFree {
			t.Fatalf("a viewer changed Initech: %d %s", sub.Seats, sub.OnJoin)
		}
	})
}

func TestBilling_AnotherTenantIsNotFound(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		upgrade(t, b, signedIn(t, b, ownerEmail), "month")
		inv := b.invoices(t, b.acme)[0].Number
		g := signedIn(t, b, globexEmail)
		gx := "/accounts/" + b.globex.Number
		for _, path := range []string{
			"/accounts/" + b.acme.Number + "/invoices/" + inv, "/accounts/" + b.acme.Number + "/invoices/" + inv + "/pdf",
			gx + "/invoices/" + inv, gx + "/invoices/" + inv + "/pdf", // Acme's invoice under Globex's own number
			"/accounts/" + b.acme.Number + "/subscription/change", "/accounts/" + b.acme.Number + "/history.csv",
			gx + "/invoices/INV-2027-999999", gx + "/invoices/nonsense",
		} {
			if status, body := g.get(path); status != http.StatusNotFound || strings.Contains(body, "Acme") {
				t.Fatalf("%s: %d", path, status)
			}
		}
		g.get(gx + "/summary")
		if status, _ := g.post("/accounts/"+b.acme.Number+"/subscription/cancel", nil); status != http.StatusNotFound {
			t.Fatalf("cancel another tenant's subscription: %d", status)
		}
		if b.subscription(t, b.acme).CancelAtPeriodEnd {
			t.Fatal("Globex canceled Acme")
		}
	})
}

func TestHistory_RowsFilterPagingAndCSV(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		b.roster(t, b.acme, 1)
		p := signedIn(t, b, ownerEmail)
		upgrade(t, b, p, "month")
		// 30 more users join, one a day: 30 change invoices.
		for i := 2; i <= 31; i++ {
			b.clock.Set(engineStart.Add(time.Duration(i-1) * 12 * time.Hour))
			u := &billing.ManagedUser{AccountID: b.acme.ID, UserID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("user%d@acme.test", i),
				Status: billing.ManagedUserStatus("active")}
			if err := b.eng.UpsertManagedUser(opsCtx(), u); err != nil {
				t.Fatal(err)
			}
		}
		invs := b.invoices(t, b.acme)
		if len(invs) != 31 {
			t.Fatalf("%d invoices", len(invs))
		}
		// The invoices alone (each was also paid by the card, a payment row).
		status, body := p.get("/accounts/" + n + "/history?type=invoice")
		if status != 200 {
			t.Fatalf("history: %d", status)
		}
		says(t, body, "Date Transaction Details Charge Type Status Amount Credits Credits Balance Statement", "Showing 1–25 of 31 transactions",
			"Invoice "+invs[0].Number, "Card", "Older →")
		if !strings.Contains(body, `href="/accounts/`+n+`/invoices/`+invs[0].Number+`"`) {
			t.Fatal("no link to the newest statement")
		}
		_, body = p.get("/accounts/" + n + "/history?type=invoice&page=2")
		says(t, body, "Showing 26–31 of 31 transactions", "Invoice "+invs[30].Number+" — Premium, 1 user", "← Newer")

		_, body = p.get("/accounts/" + n + "/history?from=2027-03-10&to=2027-03-10&type=invoice")
		says(t, body, "Showing 1–2 of 2 transactions", "Clear the filter")
		_, body = p.get("/accounts/" + n + "/history?type=credit")
		says(t, body, "No transactions match the filter.")
		status, body = p.get("/accounts/" + n + "/history?from=yesterday&type=nope")
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad filter: %d", status)
		}
		says(t, body, "Enter a date such as 2026-01-31.", "Choose a type from the list.")

		resp, err := p.client.Get(p.base + "/accounts/" + n + "/history.csv?from=2027-03-10&to=2027-03-10&type=invoice")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), n+"-billing-history.csv") {
			t.Fatalf("CSV headers: %s, %s", ct, resp.Header.Get("Content-Disposition"))
		}
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != 3 || strings.Join(records[0], ",") != "date,type,details,statement,charge_type,status,amount,credit,credit_balance,currency" {
			t.Fatalf("CSV: %q", records)
		}
		first := records[1] // oldest first, as the API's: the purchase, paid by the card typed on its preview
		if first[0] != "2027-03-10" || first[1] != "invoice" || first[3] != invs[30].Number || first[4] != "card" || first[5] != "paid" ||
			first[6] != "10.00" || first[9] != "USD" {
			t.Fatalf("CSV row: %q", first)
		}
		// One export, one code path: the console's file is the engine's,
		// byte for byte, which the API serves too.
		from := billing.NewDate(2027, 3, 10)
		var same bytes.Buffer
		if err := b.eng.WriteHistoryCSV(opsCtx(), &same, b.acme.ID, engine.HistoryQuery{From: &from, To: &from, Types: []string{"invoice"}}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, same.Bytes()) {
			t.Errorf("the console's CSV:\n%s\nthe engine's:\n%s", raw, same.Bytes())
		}
	})
}

func TestStatement_PageAndPDF(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.setAcmeProfile(t)
		b.roster(t, b.acme, 3)
		p := signedIn(t, b, viewerEmail)
		upgrade(t, b, signedIn(t, b, ownerEmail), "month")
		inv := b.invoices(t, b.acme)[0]
		path := "/accounts/" + b.acme.Number + "/invoices/" + inv.Number
		status, body := p.get(path)
		if status != 200 {
			t.Fatalf("statement: %d", status)
		}
		says(t, body, "Invoice "+inv.Number, "Billed To", "Acme Corp", "1 Market St", "Issue date Mar 10, 2027",
			"Account ID "+b.acme.Number, "Premium — 3 users", "$30.00", "Download PDF", "Billing History")
		if !strings.Contains(body, `href="/static/statement.css"`) {
			t.Fatal("no statement stylesheet")
		}
		resp, err := p.client.Get(p.base + "/static/statement.css")
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" {
			t.Fatalf("statement.css: %v %v", resp, err)
		}
		resp.Body.Close()

		resp, err = p.client.Get(p.base + path + "/pdf")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(raw), "%PDF-") {
			t.Fatalf("pdf: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), raw[:min(len(raw), 20)])
		}
	})
}

func TestSuspended_BannerShowsTheOpenInvoiceWithPayNow(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		b.roster(t, b.acme, 2)
		if _, err := b.eng.AddCard(opsCtx(), b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa_chargeDeclined"}); err != nil {
			t.Fatal(err)
		}
		p := signedIn(t, b, ownerEmail)
		upgrade(t, b, p, "month") // the card is declined: the invoice stays open
		inv := b.invoices(t, b.acme)[0]
		if inv.Status != billing.InvoiceOpen {
			t.Fatalf("invoice %s", inv.Status)
		}
		suspended := billing.StatusSuspended
		if _, err := db.UpdateAccount(opsCtx(), b.acme.ID, billing.AccountUpdate{Status: &suspended}); err != nil {
			t.Fatal(err)
		}

		_, body := p.get("/accounts/" + n + "/summary")
		says(t, body, "This account is suspended", "An invoice for $20.00 is unpaid.", "Pay it to restore the account",
			inv.Number+": $20.00 due, issued Mar 10, 2027", "Pay $20.00 now with Visa •••• 0002", "Card declined?")
		v := signedIn(t, b, viewerEmail)
		_, vbody := v.get("/accounts/" + n + "/summary")
		says(t, vbody, "This account is suspended", inv.Number)
		if strings.Contains(vbody, "Pay $20.00 now") {
			t.Fatal("a viewer is offered Pay now")
		}
		if status, _ := v.post("/accounts/"+n+"/invoices/"+inv.Number+"/pay", url.Values{"idempotency_key": {"v"}}); status != http.StatusForbidden {
			t.Fatalf("viewer pays: %d", status)
		}

		// Pay now: declined again, said plainly; the form may be sent
		// again (a declined attempt charged nothing).
		form := hidden(t, body, "/accounts/"+n+"/invoices/"+inv.Number+"/pay")
		attempts := len(b.gateway.Charges())
		for range 2 {
			status, body := p.post("/accounts/"+n+"/invoices/"+inv.Number+"/pay", form)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("pay now with a declined card: %d\n%s", status, text(body))
			}
			says(t, body, "This could not be done", "declined")
		}
		if got := len(b.gateway.Charges()) - attempts; got != 2 {
			t.Fatalf("%d attempts for two presses of a declined Pay now", got)
		}
		if got, _ := b.eng.FindInvoiceByNumber(context.Background(), inv.Number); got.Status != billing.InvoiceOpen {
			t.Fatalf("invoice %s", got.Status)
		}
	})
}

// TestPurchase_DeclinedAtConfirmationIsShownAsAFailure: a card that is
// added with the purchase and then declined when charged leaves the plan
// changed and its invoice open, and the summary says so as a problem, with
// what to do next, never as a green "Invoice … issued".
func TestPurchase_DeclinedAtConfirmationIsShownAsAFailure(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)
		_, body := p.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&users=all")
		form := withCard(hidden(t, body, "/accounts/"+n+"/subscription/confirm"), "4000 0000 0000 0341")
		status, body := p.post("/accounts/"+n+"/subscription/confirm", form)
		if status != 200 || p.last.Request.URL.Path != "/accounts/"+n+"/summary" {
			t.Fatalf("confirm: %d at %s", status, p.last.Request.URL)
		}
		invs := b.invoices(t, b.acme)
		if len(invs) != 1 || invs[0].Status != billing.InvoiceOpen {
			t.Fatalf("invoices: %+v", invs)
		}
		i := strings.Index(body, `id="flash-problem"`)
		if i < 0 || !strings.Contains(body[:i], `role="alert"`) {
			t.Fatalf("no problem notice:\n%s", text(body))
		}
		says(t, body, "the charge of $10.00 to Visa •••• 0341 was declined: Your card was declined.",
			"Invoice "+invs[0].Number+" for $10.00 is unpaid: add another card on Change Payment Method",
			"suspends the account")
		if strings.Contains(body, `class="flash"`) || strings.Contains(body, "was issued") {
			t.Fatal("a declined charge is shown as a success")
		}
	})
}

// TestPurchase_PaidByInvoiceNeedsNoCard: an operator sets an online account
// to pay by invoice on its page; the purchase then asks for no card, and
// its invoice is to be paid by bank transfer by its due date.
func TestPurchase_PaidByInvoiceNeedsNoCard(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.acme.Number
		op := signedIn(t, b, operatorEmail)
		_, body := op.get("/accounts/" + n)
		says(t, body, "Pays By card", "Let this account pay by invoice")
		status, body := op.post("/accounts/"+n+"/pay-by-invoice", hidden(t, body, "/accounts/"+n+"/pay-by-invoice"))
		if status != 200 {
			t.Fatalf("pay by invoice: %d", status)
		}
		says(t, body, n+" pays by invoice", "Pays By invoice (bank transfer, due 30 days after issue)")
		owner := signedIn(t, b, ownerEmail)
		if status, _ := owner.post("/accounts/"+n+"/pay-by-invoice", url.Values{"pay_by_invoice": {"false"}}); status != 404 && status != 403 {
			t.Fatalf("an owner sets how the account pays: %d", status)
		}

		_, body = owner.get("/accounts/" + n + "/subscription/change?plan=premium")
		says(t, body, "Invoiced: Kore has set this account to pay by bank transfer.")
		_, body = owner.get("/accounts/" + n + "/subscription/preview?plan=premium&interval=month&users=all")
		if strings.Contains(body, `id="card_number"`) {
			t.Fatal("a purchase paid by invoice asks for a card")
		}
		status, body = owner.post("/accounts/"+n+"/subscription/confirm", hidden(t, body, "/accounts/"+n+"/subscription/confirm"))
		if status != 200 {
			t.Fatalf("confirm: %d", status)
		}
		invs := b.invoices(t, b.acme)
		if len(invs) != 1 || invs[0].PaymentType != billing.InvoicePaymentACH || invs[0].DueDate == nil || len(b.gateway.Charges()) != 0 {
			t.Fatalf("invoices: %+v", invs)
		}
		says(t, body, "Invoice "+invs[0].Number+" for $10.00 was issued: pay it by bank transfer by Apr 9, 2027, quoting its number.")
	})
}
