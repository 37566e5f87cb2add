package console_test

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store/storetest"
)

// press clicks what sel finds on the page without waiting for a new page:
// a radio button, or a button that htmx handles.
func (tb *tab) press(sel string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		tb.t.Fatalf("press %s: %v", sel, err)
	}
}

// waitFor waits until what sel finds reads want (htmx has swapped it in).
func (tb *tab) waitFor(sel, want string) {
	tb.t.Helper()
	js := `(() => { const e = document.querySelector(` + jsString(sel) + `); return !!e && e.innerText.replace(/\s+/g, ' ').includes(` + jsString(want) + `); })()`
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](js)); err != nil {
		tb.t.Fatalf("%s never read %q (it reads %q): %v", sel, want, tb.text(sel), err)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// fetch downloads path with the tab's session, as its link would.
func (tb *tab) fetch(path string) []byte {
	tb.t.Helper()
	js := `fetch(` + jsString(path) + `).then(r => r.arrayBuffer()).then(buf => {
		const b = new Uint8Array(buf); let s = '';
		for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
		return btoa(s);
	})`
	out, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("fetch %s: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(out)
	if err != nil {
		tb.t.Fatal(err)
	}
	return raw
}

// TestBrowser_Billing drives the billing pages as their people do: an
// owner upgrades a Free account, a user joins, the owner looks at annual
// billing, reads the history and a statement and downloads its PDF; a
// contract's billing admin adds subscriptions; viewers find nothing to
// press and a forged form is refused.
func TestBrowser_Billing(t *testing.T) {
	browser := startBrowser(t)
	b := setup(t, storetest.OpenSQLite(t))
	b.setAcmeProfile(t)
	b.roster(t, b.acme, 3)
	ctx := opsCtx()
	if _, err := b.eng.AddCard(ctx, b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
		t.Fatal(err)
	}
	n := b.acme.Number
	summary := "/accounts/" + n + "/summary"

	t.Run("owner upgrades Free to Premium monthly for all users", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		p.says("You are on the Free plan.", "3 managed users use Kore at no cost", "Premium", "Enterprise", "Switch to this plan")
		p.shot("account-summary-free", false)

		p.click(`a[href="/accounts/` + n + `/subscription/change?plan=premium"]`)
		p.says("Purchase Subscription", "All current users", "Just your admin account", "Charged now: $30.00")
		// The amount follows the choices as they are made (htmx).
		p.press("#interval-year")
		p.waitFor("#amount", "Charged now: $300.00")
		p.press("#interval-month")
		p.waitFor("#amount", "Charged now: $30.00")
		p.shot("purchase-subscription", false)

		p.click("#preview-button")
		p.says("Review your purchase", "Premium — 3 users", "Total charged now", "$30.00", "New total per period")
		if got := p.text("#preview-total"); got != "$30.00" {
			t.Fatalf("preview total = %q", got)
		}
		p.click("#confirm-button")
		if p.path() != summary {
			t.Fatalf("after confirming at %s", p.path())
		}
		p.says("Your subscription is now Premium, billed monthly, 3 users.", "You are on the Premium plan for $10.00 per user per month, billed monthly.",
			"Visa", "•••• 4242")
		// No activity reported: the renewal will charge no seat.
		if got := p.text("#next-invoice-total"); !strings.HasPrefix(got, "$0.00 on ") {
			t.Fatalf("next invoice = %q", got)
		}
		invs := b.invoices(t, b.acme)
		if len(invs) != 1 || invs[0].Status != billing.InvoicePaid {
			t.Fatalf("after the purchase: %d invoices, first %s", len(invs), invs[0].Status)
		}
		p.shot("account-summary-online", true)
	})

	t.Run("a user joins: the summary counts them and the history lists the invoice", func(t *testing.T) {
		b.at(20)
		u := &billing.ManagedUser{AccountID: b.acme.ID, UserID: "u4", Email: "user4@acme.test", Status: billing.ManagedUserStatus("active")}
		if err := b.eng.UpsertManagedUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		if got := p.text("#managed-users"); got != "4" {
			t.Fatalf("managed users = %q", got)
		}
		if got := p.text("#seats"); got != "4" {
			t.Fatalf("seats = %q", got)
		}
		p.click(`nav[aria-label=Account] a[href$="/history"]`)
		newest := b.invoices(t, b.acme)[0]
		p.says("Billing History", "Invoice "+newest.Number+" — Premium, 1 user", "Card", newest.Total.String(),
			"Showing 1–", "Export CSV")
		p.shot("billing-history", true)

		p.click(`a[href="/accounts/` + n + `/invoices/` + newest.Number + `"]`)
		p.says("Invoice "+newest.Number, "Acme Corp", "Ada Lovelace", "Premium — 1 user × 21 of 31 days", "Visa •••• 4242", "Download PDF")
		p.shot("statement", false)
		pdf := p.fetch("/accounts/" + n + "/invoices/" + newest.Number + "/pdf")
		if !strings.HasPrefix(string(pdf), "%PDF-") {
			t.Fatalf("the PDF link gave %q", pdf[:min(len(pdf), 40)])
		}
		if _, err := exec.LookPath("pdftotext"); err != nil {
			t.Log("no pdftotext: the PDF's text is not checked")
			return
		}
		file := filepath.Join(t.TempDir(), newest.Number+".pdf")
		if err := os.WriteFile(file, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-layout", file, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		txt := strings.Join(strings.Fields(string(out)), " ")
		for _, want := range []string{newest.Number, "Acme Corp", "Premium — 1 user × 21 of 31 days", newest.Total.String(), n} {
			if !strings.Contains(txt, want) {
				t.Fatalf("the PDF does not say %q:\n%s", want, txt)
			}
		}
	})

	t.Run("owner previews monthly to annual: the unused month is credited", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		p.click("#modify-subscription")
		p.says("Modify Subscription", "Number of users")
		p.press("#interval-year")
		p.waitFor("#amount", "Charged now:")
		p.click("#preview-button")
		// 4 × $10 × 21/31 = $27.10 back; $400.00 for the year from today.
		p.says("Review your change", "Unused time on Premium — 4 users × 21 of 31 days", "-$27.10", "Premium — 4 users", "$400.00",
			"Takes effect", "Today, Mar 20, 2027")
		if got := p.text("#preview-total"); got != "$372.90" {
			t.Fatalf("preview total = %q", got)
		}
		p.shot("change-preview", false)
	})

	initech := b.contract(t)
	t.Run("billing admin adds 10 subscriptions to the contract", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn("ines@initech.test", password)
		p.says("You are currently on the Enterprise plan for $16.67 per user per month, billed annually.", "By Count")
		if got := p.text("#count-available"); got != "13" {
			t.Fatalf("available = %q", got)
		}
		p.shot("account-summary-contract", false)

		p.click("#add-subscriptions")
		p.says("Add Subscriptions", "Number of additional subscriptions")
		want, err := b.eng.PreviewAddSubscriptions(ctx, initech.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		p.fill("count", "10")
		p.waitFor("#add-amount", "Amount to be charged")
		if got := p.text("#add-total"); got != want.Invoice.Total.String() {
			t.Fatalf("amount = %q, want %s", got, want.Invoice.Total)
		}
		p.shot("add-subscriptions", false)
		p.click("#purchase-subscriptions")
		p.says("Added 10 Subscriptions Successfully")
		if got := p.text("#count-available"); got != "23" {
			t.Fatalf("available after = %q", got)
		}
		if got := p.text("#count-prepaid"); got != "110" {
			t.Fatalf("prepaid after = %q", got)
		}
	})

	t.Run("viewers find no Modify, Cancel or Add, and a forged confirmation is refused", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(viewerEmail, password)
		p.says("Premium", "View Billing History")
		if n := p.count("#modify-subscription, #cancel-subscription, #change-payment-method, main form"); n != 0 {
			t.Fatalf("a viewer is offered %d ways to change the subscription", n)
		}
		// Forge the confirmation a viewer is never shown, with the page's
		// own session token, and send it.
		err := chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
			const f = document.createElement('form');
			f.method = 'post';
			f.action = location.pathname.replace('/summary', '/subscription/confirm');
			const add = (n, v) => { const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); };
			add('csrf_token', document.querySelector('input[name=csrf_token]').value);
			add('plan', 'enterprise'); add('interval', 'year'); add('seats', '50'); add('idempotency_key', 'forged');
			const b = document.createElement('button'); b.type = 'submit'; b.id = 'forged'; b.textContent = 'Confirm';
			f.appendChild(b);
			document.querySelector('main').appendChild(f);
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if status := p.click("#forged"); status != 403 {
			t.Fatalf("forged viewer confirmation: %d", status)
		}
		p.says("You may not do this", "Nothing was changed.")
		if sub := b.subscription(t, b.acme); sub.Plan.Code != "premium" || sub.Seats != 4 || sub.Interval != billing.Month {
			t.Fatalf("a viewer's forged form changed the subscription: %+v", sub.Terms)
		}

		v := newTab(t, browser, b)
		v.signIn("val@initech.test", password)
		v.says("By Count", "When a user joins")
		if n := v.count("#add-subscriptions, main form, main button"); n != 0 {
			t.Fatalf("a contract's viewer is offered %d controls", n)
		}
	})
}
