package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store/storetest"
)

// The browser tests drive Debian's chromium through the real handler (the
// API and the console on one mux) on a SQLite store; the HTTP tests in
// console_test.go cover both stores. They click what a person clicks and
// read what a person reads.
//
// KOREBILL_TEST_CHROMIUM names the browser (default /usr/bin/chromium);
// without one the tests skip, or fail when KOREBILL_TEST_REQUIRE_ALL is set.
// KOREBILL_TEST_SCREENSHOTS names a directory to save a full-page screenshot
// of each page in, 1280 px wide and some at 375 px:
//
//	KOREBILL_TEST_SCREENSHOTS=$PWD/docs/screenshots go test ./console -run Browser

const (
	chromiumEnv    = "KOREBILL_TEST_CHROMIUM"
	screenshotsEnv = "KOREBILL_TEST_SCREENSHOTS"
)

func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv(chromiumEnv)
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		storetest.SkipOrFail(t, fmt.Sprintf("no browser at %s: install Debian's chromium (apt-get install chromium) or set %s", path, chromiumEnv))
	}
	return path
}

// startBrowser starts one headless chromium for the test, with a fresh
// profile, and returns its context; each person gets a tab in their own
// browser context (cookies apart), from newTab.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil { // starts it
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// tab is one person at a browser.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newTab(t *testing.T, browser context.Context, b *bundle) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute) // a loaded machine is slow; axe-core checks every kept page twice
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return &tab{t: t, ctx: ctx, base: b.srv.URL}
}

// open goes to path and returns the HTTP status of the page.
func (tb *tab) open(path string) int64 {
	tb.t.Helper()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Navigate(tb.base+path))
	if err != nil {
		tb.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// click clicks what sel finds and waits for the page it leads to; it
// returns that page's HTTP status.
func (tb *tab) click(sel string) int64 {
	tb.t.Helper()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
	if resp == nil {
		tb.t.Fatalf("click %s: no page loaded", sel)
	}
	return resp.Status
}

// fill replaces the text of the field with this label's id, as typed.
func (tb *tab) fill(id, value string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.getElementById(%q).value = ''", id)),
		chromedp.SendKeys(chromedp.ID(id), value),
	); err != nil {
		tb.t.Fatalf("type into #%s: %v", id, err)
	}
}

// choose picks an option of a select.
func (tb *tab) choose(id, value string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.SetValue(chromedp.ID(id), value)); err != nil {
		tb.t.Fatalf("choose %s in #%s: %v", value, id, err)
	}
}

// text returns the visible text of what sel finds.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		tb.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// value returns the value of a field.
func (tb *tab) value(id string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		tb.t.Fatalf("value of #%s: %v", id, err)
	}
	return s
}

// count returns how many elements sel finds.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		tb.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// path is the address bar's path and query.
func (tb *tab) path() string {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, tb.base)
}

// says fails unless the page's text has each of wants.
func (tb *tab) says(wants ...string) {
	tb.t.Helper()
	body := tb.text("body")
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.t.Fatalf("the page at %s does not say %q; it says:\n%s", tb.path(), w, body)
		}
	}
}

// signIn fills in and sends the sign-in form.
func (tb *tab) signIn(email, pw string) int64 {
	tb.t.Helper()
	if status := tb.open("/login"); status != 200 {
		tb.t.Fatalf("sign-in page: %d", status)
	}
	tb.fill("email", email)
	tb.fill("password", pw)
	return tb.click(`form[action="/login"] button[type=submit]`)
}

// shot is a page state worth keeping: it checks the page with axe-core at
// 375 px and at 1280 px (axeCheck), and saves a full-page screenshot as
// name.png, 1280 px wide (and as name-375.png at 375 px when narrow is set),
// when screenshots are asked for.
func (tb *tab) shot(name string, narrow bool) {
	tb.t.Helper()
	dir := os.Getenv(screenshotsEnv)
	save := func(file string, width int64) {
		if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			tb.t.Fatal(err)
		}
		tb.axeCheck(fmt.Sprintf("%s at %d px", name, width))
		if dir == "" {
			return
		}
		png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			tb.t.Fatalf("screenshot %s: %v", file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.t.Fatal(err)
		}
	}
	if narrow || dir == "" {
		save(name+"-375.png", 375)
	}
	save(name+".png", 1280)
}

// axeSource is axe-core's axe.min.js (the npm package axe-core, MPL-2.0,
// testdata/axe.LICENSE), read once.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	return string(b), err
})

// axeViolation is one rule axe-core finds broken, with the elements that
// break it.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeCheck runs axe-core on the page as it is and fails the test on any
// violation of WCAG 2.0 and 2.1, levels A and AA.
func (tb *tab) axeCheck(what string) {
	tb.t.Helper()
	src, err := axeSource()
	if err != nil {
		tb.t.Fatalf("axe-core: %v", err)
	}
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`typeof window.axe !== "undefined" || (function () {`+src+`
	}).call(window) || true`)); err != nil {
		tb.t.Fatalf("load axe-core: %v", err)
	}
	js := `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " "))})))`
	found, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]axeViolation](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("axe-core on %s: %v", what, err)
	}
	for _, v := range found {
		tb.t.Errorf("axe-core, %s (%s): %s [%s] %s", what, tb.path(), v.ID, v.Impact, v.Help)
		for _, n := range v.Nodes {
			tb.t.Errorf("    %s", n)
		}
	}
	if len(found) > 0 {
		tb.t.FailNow()
	}
}

func TestBrowser(t *testing.T) {
	browser := startBrowser(t)
	b := setup(t, storetest.OpenSQLite(t))
	ctx := billing.NewContextWithActor(context.Background(), billing.Actor{Name: "test", Role: billing.RoleOperator})
	for _, a := range []billing.Account{
		{Name: "Initech", Domain: "initech.test", BillingType: billing.BillingSubscription, TimeZone: "America/Chicago"},
		{Name: "Umbrella Health", Domain: "umbrella.test", TimeZone: "Europe/London", Currency: "GBP"},
		{Name: "Hooli", Domain: "hooli.test", TimeZone: "America/Los_Angeles"},
		{Name: "Stark Industries", Domain: "stark.test", BillingType: billing.BillingSubscription},
	} {
		if err := b.db.CreateAccount(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	suspended := billing.StatusSuspended
	if _, err := b.db.UpdateAccount(ctx, b.globex.ID, billing.AccountUpdate{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	acme := b.acme.Number
	profile := "/accounts/" + acme + "/profile"

	t.Run("owner signs in, sees the wrong password message first", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.open("/")
		if p.path() != "/login" {
			t.Fatalf("a stranger at / is at %s, not the sign-in page", p.path())
		}
		p.shot("sign-in", true)
		if status := p.signIn(ownerEmail, "not my password"); status != 401 {
			t.Fatalf("wrong password: %d", status)
		}
		p.says("The email or password is not right.")
		if got := p.value("email"); got != ownerEmail {
			t.Fatalf("the email was not kept: %q", got)
		}
		p.shot("sign-in-wrong-password", false)

		p.fill("password", password)
		if status := p.click(`form[action="/login"] button[type=submit]`); status != 200 {
			t.Fatalf("sign in: %d", status)
		}
		if p.path() != "/accounts/"+acme+"/summary" {
			t.Fatalf("signed in at %s", p.path())
		}
		p.says("Account Summary", "Acme Corp", acme, ownerEmail, "$0.00", "You are on the Free plan", "Switch to this plan")
		if got := p.text(`nav[aria-label=Account] [aria-current=page]`); got != "Account Summary" {
			t.Fatalf("current nav item = %q", got)
		}
		p.shot("account-summary", true)

		p.click(`nav[aria-label=Account] a[href$="/history"]`)
		p.says("Billing History", "No transactions yet")
		p.shot("billing-history-empty", false)

		p.click(`button[type=submit].button-quiet`) // Sign out
		if p.path() != "/login?signed_out" {
			t.Fatalf("after sign-out at %s", p.path())
		}
		p.says("You have signed out.")
	})

	t.Run("owner updates the profile: a bad phone, then a good one", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		p.click(`nav[aria-label=Account] a[href$="/profile"]`)
		p.says("Billing Profile", "Account number")
		if got := p.value("account-number"); got != acme {
			t.Fatalf("account number field = %q", got)
		}
		p.fill("contact_name", "Ada Lovelace")
		p.fill("company_name", "Acme Corp")
		p.fill("address-line1", "1 Market St")
		p.fill("address-city", "San Francisco")
		p.fill("address-region", "CA")
		p.fill("address-postal_code", "94105")
		p.choose("address-country", "US")
		p.fill("phone", "555-01")
		p.fill("email", "billing@acme.test")
		p.fill("invoice_emails", "ap@acme.test\ncfo@acme.test")
		p.fill("tax_id", "US-12-3456789")
		if status := p.click(`main form button[type=submit]`); status != 422 {
			t.Fatalf("bad phone: %d", status)
		}
		p.says("Please correct this")
		if msg := p.text("#phone-error"); !strings.Contains(msg, `Telephone "555-01" is not a valid phone number`) {
			t.Fatalf("message beside the phone field = %q", msg)
		}
		// The message sits in the phone field's own block, and the field
		// says it is invalid.
		if n := p.count(`.field-invalid #phone-error + input#phone[aria-invalid=true]`); n != 1 {
			t.Fatal("the phone message is not beside the phone field")
		}
		for id, want := range map[string]string{"phone": "555-01", "contact_name": "Ada Lovelace",
			"address-city": "San Francisco", "address-country": "US", "invoice_emails": "ap@acme.test\ncfo@acme.test"} {
			if got := p.value(id); got != want {
				t.Fatalf("#%s lost what was typed: %q, want %q", id, got, want)
			}
		}
		if p.count(".field-error") != 1 {
			t.Fatalf("%d fields have messages, want only the phone", p.count(".field-error"))
		}
		p.shot("billing-profile-bad-phone", true)

		p.fill("phone", "(415) 555-0132")
		if status := p.click(`main form button[type=submit]`); status != 200 {
			t.Fatalf("good phone: %d", status)
		}
		if p.path() != profile {
			t.Fatalf("after saving at %s", p.path())
		}
		p.says("Billing profile saved.")
		if got := p.value("phone"); got != "+14155550132" {
			t.Fatalf("saved phone shows as %q", got)
		}
		if got := p.value("invoice_emails"); got != "ap@acme.test\ncfo@acme.test" {
			t.Fatalf("saved invoice emails show as %q", got)
		}
		p.shot("billing-profile", true)
	})

	t.Run("viewer finds no Update button and a forged form is refused", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(viewerEmail, password)
		p.click(`nav[aria-label=Account] a[href$="/profile"]`)
		p.says("Ada Lovelace", "+14155550132", "United States", "can read the billing profile but not change it")
		if n := p.count("main button, main input:not([type=hidden]), main select, main textarea"); n != 0 {
			t.Fatalf("a viewer is offered %d controls", n)
		}
		p.shot("billing-profile-viewer", false)

		// Forge the form a viewer is not given, with the page's own token,
		// and send it.
		err := chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
			const f = document.createElement('form');
			f.method = 'post';
			f.action = location.pathname;
			const add = (n, v) => { const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); };
			add('csrf_token', document.querySelector('input[name=csrf_token]').value);
			add('contact_name', 'Vic'); add('company_name', 'Vic Co'); add('address.line1', '1 Road');
			add('address.city', 'X'); add('address.country', 'US'); add('phone', '+14155550100'); add('email', 'vic@acme.test');
			const b = document.createElement('button'); b.type = 'submit'; b.id = 'forged'; b.textContent = 'Update';
			f.appendChild(b);
			document.querySelector('main').appendChild(f);
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if status := p.click("#forged"); status != 403 {
			t.Fatalf("forged viewer POST: %d", status)
		}
		p.says("You may not do this", "Nothing was changed.")
		p.shot("forbidden", false)
		got, _ := b.db.FindProfile(context.Background(), b.acme.ID)
		if got.ContactName != "Ada Lovelace" {
			t.Fatal("the viewer's forged form changed the profile")
		}
	})

	t.Run("a stale form is refused", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		p.open(profile)
		stale, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS(`main input[name=csrf_token]`)))
		if err != nil {
			t.Fatal(err)
		}
		p.click(`button[type=submit].button-quiet`) // sign out
		p.signIn(ownerEmail, password)
		p.open(profile)
		// The person sends the form from the old session's page.
		if err := chromedp.Do(p.ctx, chromedp.SetValue(chromedp.CSS(`main input[name=csrf_token]`), stale)); err != nil {
			t.Fatal(err)
		}
		p.fill("contact_name", "Someone Else")
		if status := p.click(`main form button[type=submit]`); status != 403 {
			t.Fatalf("stale form: %d", status)
		}
		p.says("This form has expired", "Nothing was changed.")
		p.shot("form-expired", false)
		got, _ := b.db.FindProfile(context.Background(), b.acme.ID)
		if got.ContactName != "Ada Lovelace" {
			t.Fatal("a stale form changed the profile")
		}
	})

	t.Run("another tenant's account is not found", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(ownerEmail, password)
		for _, path := range []string{"/accounts/" + b.globex.Number + "/profile", "/accounts/" + b.globex.Number + "/summary", "/accounts"} {
			if status := p.open(path); status != 404 {
				t.Fatalf("%s: %d", path, status)
			}
			p.says("Page not found")
			if strings.Contains(p.text("body"), "Globex") {
				t.Fatalf("%s shows the other tenant", path)
			}
		}
		p.shot("not-found", false)
	})

	t.Run("operator searches accounts, opens one, creates one, reads the audit log", func(t *testing.T) {
		p := newTab(t, browser, b)
		p.signIn(operatorEmail, password)
		if p.path() != "/dashboard" {
			t.Fatalf("operator landed on %s", p.path())
		}
		p.says("Dashboard", "Monthly recurring revenue", "Receivables")
		p.shot("operator-dashboard", true)
		p.click(`nav.mainnav a[href="/accounts"]`)
		p.says("Accounts", "Showing 1–6 of 6 accounts", "Acme Corp", "Globex", "Suspended", "Operator console")
		p.shot("operator-accounts", true)

		// Typing searches as you type (htmx), and the address follows.
		if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.ID("q"), "billing@acme")); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`document.querySelector('#results-count').textContent.includes('of 1 account') && location.search.includes('billing%40acme')`)); err != nil {
			t.Fatalf("the results did not follow the search: %v", err)
		}
		p.says("Showing 1–1 of 1 account", "Acme Corp")
		if strings.Contains(p.text("#results"), "Globex") {
			t.Fatal("the search for Acme's billing email shows Globex")
		}
		if p.path() != "/accounts?q=billing%40acme&status=" && p.path() != "/accounts?q=billing%40acme" {
			t.Fatalf("the address did not follow the search: %s", p.path())
		}
		p.shot("operator-accounts-search", false)

		// Without JavaScript the search is a plain form.
		noScript := func(off bool) {
			t.Helper()
			if _, err := chromedp.Call(p.ctx, emulation.SetScriptExecutionDisabled,
				emulation.SetScriptExecutionDisabledParams{Value: off}); err != nil {
				t.Fatal(err)
			}
		}
		noScript(true)
		p.open("/accounts")
		p.choose("status", "suspended")
		if status := p.click(`form[role=search] button[type=submit]`); status != 200 || p.path() != "/accounts?q=&status=suspended" {
			t.Fatalf("plain search: %d at %s", status, p.path())
		}
		p.says("Showing 1–1 of 1 account", "Globex")
		noScript(false)

		p.click(`a[href="/accounts/` + b.globex.Number + `"]`)
		p.says("Globex", "Europe/Berlin", "€0.00", "As the account sees it", gina)
		p.shot("operator-account", false)
		p.click(`nav[aria-label=Account] a[href$="/profile"]`)
		p.says("No billing profile", "Update") // nothing set yet; the operator may set it
		if p.count(`main form button[type=submit]`) != 1 {
			t.Fatal("the operator is not offered the Update button")
		}

		p.open("/accounts/new")
		p.fill("name", "Wayne Enterprises")
		p.fill("domain", "acme.test")
		p.fill("time_zone", "Gotham/City")
		if status := p.click(`main form button[type=submit]`); status != 422 {
			t.Fatalf("bad account: %d", status)
		}
		p.says(`Time zone "Gotham/City" is not an IANA time zone name.`)
		if got := p.value("name"); got != "Wayne Enterprises" {
			t.Fatalf("the name typed was lost: %q", got)
		}
		p.shot("operator-create-account-errors", false)
		p.fill("time_zone", "America/New_York")
		if status := p.click(`main form button[type=submit]`); status != 422 {
			t.Fatalf("taken domain: %d", status)
		}
		if msg := p.text("#domain-error"); !strings.Contains(msg, "An account for this domain already exists.") {
			t.Fatalf("message beside the domain = %q", msg)
		}
		p.fill("domain", "wayne.test")
		if status := p.click(`main form button[type=submit]`); status != 200 {
			t.Fatalf("create account: %d", status)
		}
		p.says("Account KB-000007 created.", "Wayne Enterprises", "Nobody from this account can sign in yet.")

		// Give Wayne an owner; the password is made and shown once.
		p.fill("email", "bruce@wayne.test")
		p.fill("name", "Bruce Wayne")
		p.choose("role", "owner")
		if status := p.click(`#add-user button[type=submit]`); status != 200 {
			t.Fatalf("add user: %d", status)
		}
		p.says("bruce@wayne.test can now sign in with the password", "It is shown only this once")
		generated := p.text("#new-password")
		p.shot("operator-account-user-added", false)
		bruce := newTab(t, browser, b)
		bruce.signIn("bruce@wayne.test", generated)
		bruce.says("Account Summary", "Wayne Enterprises", "KB-000007")

		p.click(`nav[aria-label=Operator] a[href="/audit"]`)
		p.says("Audit log", "user:"+operatorEmail, "account.create", "KB-000007", "user:"+ownerEmail, "profile.set")
		p.shot("operator-audit-log", true)
	})
}

// gina is Globex's billing admin, as the operator's account page lists her.
const gina = globexEmail
