package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/console"
	"github.com/kore-billing/korebill/store/storetest"
)

// jsTrue evaluates a boolean expression on the page.
func (tb *tab) jsTrue(js string) bool {
	tb.t.Helper()
	ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return ok
}

// TestBrowser_FormsKeepChoicesAndSayWhatIsWrong holds issue 12's items 8
// and 11 as a person meets them: the way back from a preview keeps the
// choices, radio groups with an error are marked and described, the error
// summary's links land on something that takes focus, a failed sign-in and
// a failed audit search say so on their fields, the price area updates in
// place (the live region stays the same element), unknown addresses get the
// console's own page, the card number's hint and error give one rule, and
// the phone layout neither wraps the tab bars nor overflows the audit log.
func TestBrowser_FormsKeepChoicesAndSayWhatIsWrong(t *testing.T) {
	browser := startBrowser(t)
	b := setup(t, storetest.OpenSQLite(t))
	n := b.acme.Number

	t.Run("a failed sign-in marks its fields invalid", func(t *testing.T) {
		p := newTab(t, browser, b)
		if status := p.signIn(ownerEmail, "not my password"); status != 401 {
			t.Fatalf("wrong password: %d", status)
		}
		for _, id := range []string{"email", "password"} {
			if !p.jsTrue(`(() => { const e = document.getElementById("` + id + `");
				return e.getAttribute("aria-invalid") === "true" && e.getAttribute("aria-describedby") === "signin-error"; })()`) {
				t.Fatalf("#%s is not marked invalid and described by the message", id)
			}
		}
	})

	p := newTab(t, browser, b)
	p.signIn(ownerEmail, password)

	t.Run("the summary and the purchase page agree on who is covered", func(t *testing.T) {
		p.open("/accounts/" + n + "/summary")
		p.says("Kore manages no users for your company yet.")
		p.open("/accounts/" + n + "/subscription/change?plan=premium")
		hint, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("label[for=users-all] .choice-hint").innerText`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(hint, "Kore manages no users") || strings.Contains(hint, "everyone Kore manages") {
			t.Fatalf("with no managed users, All current users says %q", hint)
		}
		p.shot("purchase-subscription-no-users", false)
	})

	t.Run("the price area updates inside the same live region", func(t *testing.T) {
		p.open("/accounts/" + n + "/subscription/change?plan=premium")
		p.waitFor("#amount", "Charged now: $10.00")
		p.jsTrue(`(document.getElementById("amount").dataset.mark = "before", true)`)
		p.press("#interval-year")
		p.waitFor("#amount", "Charged now: $100.00")
		if !p.jsTrue(`(() => { const e = document.getElementById("amount");
			return e.dataset.mark === "before" && e.getAttribute("aria-live") === "polite" && !e.querySelector("#amount"); })()`) {
			t.Fatal("the live region was replaced (or nested), not updated: a screen reader may say nothing")
		}
	})

	t.Run("Change your choices and Back keep the choices", func(t *testing.T) {
		for _, link := range []string{".breadcrumb a", `.confirm a`} {
			p.open("/accounts/" + n + "/subscription/preview?plan=premium&interval=year&users=admin")
			p.says("Review your purchase")
			p.click(link)
			if got := p.path(); got != "/accounts/"+n+"/subscription/change?interval=year&plan=premium&users=admin" {
				t.Fatalf("%s leads to %s", link, got)
			}
			for _, id := range []string{"plan-premium", "interval-year", "users-admin"} {
				if !p.jsTrue(`document.getElementById("` + id + `").checked`) {
					t.Fatalf("after %s, #%s is no longer chosen", link, id)
				}
			}
		}
	})

	t.Run("radio groups with an error are marked, described and reachable", func(t *testing.T) {
		if status := p.open("/accounts/" + n + "/subscription/preview?plan=&interval=&users="); status != 422 {
			t.Fatalf("no choices: %d", status)
		}
		p.says("Choose a plan.", "Choose monthly or annual billing.", "Choose all current users or just your admin account.")
		for _, g := range []string{"plan", "interval", "users"} {
			if !p.jsTrue(`(() => { const f = document.getElementById("` + g + `");
				return f.getAttribute("aria-invalid") === "true" && f.getAttribute("aria-describedby") === "` + g + `-error" &&
					document.getElementById("` + g + `-error") !== null; })()`) {
				t.Fatalf("the %s group is not marked invalid and described by its error", g)
			}
		}
		links := p.count(".error-summary a")
		if links != 3 {
			t.Fatalf("the error summary has %d links, want 3", links)
		}
		if !p.jsTrue(`[...document.querySelectorAll(".error-summary a")].every(a => {
			const el = document.getElementById(a.getAttribute("href").slice(1));
			if (!el) return false;
			el.focus();
			return document.activeElement === el;
		})`) {
			t.Fatal("an error summary link leads to nothing, or to something that cannot take focus")
		}
		p.shot("purchase-subscription-errors", false)
	})

	t.Run("the card number's hint and its error give one rule", func(t *testing.T) {
		p.open("/accounts/" + n + "/payment-method")
		hint := p.text("#card_number-hint")
		p.fill("card_number", "42424242424")
		p.fill("exp_month", "12")
		p.fill("exp_year", "2035")
		p.fill("cvc", "123")
		if status := p.click("#add-card-button"); status != 422 {
			t.Fatalf("an 11-digit card: %d", status)
		}
		msg := p.text("#card_number-error")
		if !strings.Contains(hint, "12 to 19 digits") || !strings.Contains(msg, "12 to 19 digits") {
			t.Fatalf("the hint says %q and the error %q", hint, msg)
		}
	})

	t.Run("an unknown address is the console's own page", func(t *testing.T) {
		if status := p.open("/nonexistent"); status != 404 {
			t.Fatalf("/nonexistent: %d", status)
		}
		p.says("Page not found", "Kore Billing", ownerEmail, "Go to your account")
		p.shot("not-found-any-address", false)
		stranger := newTab(t, browser, b)
		if status := stranger.open("/no/such/page"); status != 404 {
			t.Fatalf("a stranger at /no/such/page: %d", status)
		}
		stranger.says("Page not found")
	})

	op := newTab(t, browser, b)
	op.signIn(operatorEmail, password)

	t.Run("the audit search says when no account has the number", func(t *testing.T) {
		if status := op.open("/audit?account=KB-999999"); status != 422 {
			t.Fatalf("unknown account: %d", status)
		}
		op.says("No account has the number KB-999999.")
		if !op.jsTrue(`(() => { const i = document.getElementById("account");
			return i.getAttribute("aria-invalid") === "true" && i.getAttribute("aria-describedby") === "account-error" &&
				i.closest(".field-invalid").querySelector("#account-error") !== null &&
				document.activeElement === document.querySelector(".error-summary"); })()`) {
			t.Fatal("the audit search's error is not beside its field, or not announced")
		}
		op.shot("operator-audit-log-error", false)
	})

	t.Run("at 375 px the tab bars stay one row and the audit log fits", func(t *testing.T) {
		if err := chromedp.Do(op.ctx, chromedp.EmulateViewport(375, 900)); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = chromedp.Do(op.ctx, chromedp.EmulateViewport(1280, 900)) }()
		oneRow := `(sel) => { const items = [...document.querySelectorAll(sel + " li")];
			return items.length > 0 && items.every(li => li.offsetTop === items[0].offsetTop); }`
		op.open("/accounts/" + n + "/profile")
		for _, nav := range []string{".mainnav", ".accountnav"} {
			if !op.jsTrue(`(` + oneRow + `)("` + nav + `")`) {
				t.Fatalf("at 375 px %s wraps", nav)
			}
		}
		// An actor and codes as long as real ones get.
		long := "user:accounts-payable.team.lead@subsidiary.acme-corporation-holdings.example.com"
		ctx := billing.NewContextWithActor(context.Background(), billing.Actor{Name: long, Role: billing.RoleOperator})
		if err := b.db.SetProfile(ctx, &billing.BillingProfile{
			AccountID: b.acme.ID, CompanyName: "Acme Corp", ContactName: "Ada Lovelace",
			Address: billing.Address{Line1: "1 Market St", City: "San Francisco", Region: "CA", PostalCode: "94105", Country: "US"},
			Phone:   "+14155550132", Email: "accounts-payable.notifications@subsidiary.acme-corporation-holdings.example.com",
		}); err != nil {
			t.Fatal(err)
		}
		op.open("/audit")
		op.says(long, "profile.set")
		if !op.jsTrue(`document.documentElement.scrollWidth <= window.innerWidth &&
			[...document.querySelectorAll(".audit td")].every(td => td.scrollWidth <= td.clientWidth + 1)`) {
			t.Fatal("at 375 px the audit log overflows its cells or the page")
		}
	})
}

// TestBrowser_IdleSignOutWarnsAndOffersToStay: before the idle timeout
// signs a person out, the page warns (an alert dialog, focus on "Stay
// signed in"); staying renews the session past the time it would have
// ended; left alone, the page goes to the sign-in page, which says why.
// The timeout is 30 seconds here (30 minutes by default): the warning comes
// 15 seconds before it (2 minutes before, by default).
func TestBrowser_IdleSignOutWarnsAndOffersToStay(t *testing.T) {
	browser := startBrowser(t)
	b := setup(t, storetest.OpenSQLite(t), func(c *console.Config) { c.IdleTimeout = 30 * time.Second })
	p := newTab(t, browser, b)
	p.signIn(ownerEmail, password)
	summary := "/accounts/" + b.acme.Number + "/summary"
	if p.path() != summary {
		t.Fatalf("signed in at %s", p.path())
	}
	warned := `(() => { const w = document.getElementById("idle-warning"); return !!w && !w.hidden; })()`
	waitWarned := func() {
		t.Helper()
		if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](warned, chromedp.WithPollingTimeout(time.Minute))); err != nil {
			t.Fatalf("no idle warning: %v", err)
		}
	}
	waitWarned()
	if !p.jsTrue(`document.getElementById("idle-warning").getAttribute("role") === "alertdialog" && document.activeElement.id === "idle-stay"`) {
		t.Fatal("the warning is not an alert dialog with focus on Stay signed in")
	}
	p.says("You will be signed out soon", "Stay signed in", "Sign out now")

	// Stay, twice: the second time is after the session would have ended
	// had the first not renewed it, and it still finds the session.
	for i := 0; i < 2; i++ {
		p.press("#idle-stay")
		if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`document.getElementById("idle-warning").hidden`)); err != nil {
			t.Fatalf("the warning stays after Stay signed in: %v", err)
		}
		if i == 0 {
			waitWarned()
			p.shot("idle-warning", true)
		}
	}
	if p.path() != summary {
		t.Fatalf("after staying signed in: at %s", p.path())
	}

	// Left alone: to the sign-in page, which says why and returns here.
	// (Polled from here: the page navigates away under a poll in it.)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(250 * time.Millisecond) {
		if loc, err := chromedp.Run(p.ctx, chromedp.Location()); err == nil && strings.Contains(loc, "/login?timed_out") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not sent to sign in; at %s", p.path())
		}
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`document.readyState === "complete" && !!document.getElementById("timed-out")`)); err != nil {
		t.Fatalf("the sign-in page does not say why: %v", err)
	}
	p.says("You were signed out after a time without activity.")
	if !strings.Contains(p.path(), "next=%2Faccounts%2F"+b.acme.Number+"%2Fsummary") {
		t.Fatalf("the sign-in page does not lead back: %s", p.path())
	}
}
