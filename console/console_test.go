package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// person is a browser without JavaScript: a cookie jar that follows
// redirects and sends forms with the token of the last page it read.
type person struct {
	t      *testing.T
	base   string
	client *http.Client
	csrf   string // the form token of the last page
	last   *http.Response
}

func newPerson(t *testing.T, b *bundle) *person {
	jar, _ := cookiejar.New(nil)
	return &person{t: t, base: b.srv.URL, client: &http.Client{Jar: jar}}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (p *person) do(req *http.Request) (int, string) {
	p.t.Helper()
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		p.csrf = m[1]
	}
	p.last = resp
	return resp.StatusCode, body
}

func (p *person) get(path string) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.base+path, nil)
	return p.do(req)
}

// post sends form with the last page's token, unless form has its own.
func (p *person) post(path string, form url.Values, header ...string) (int, string) {
	p.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf_token") {
		form.Set("csrf_token", p.csrf)
	}
	req, _ := http.NewRequest("POST", p.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return p.do(req)
}

func (p *person) signIn(email, pw string) (int, string) {
	p.t.Helper()
	p.get("/login")
	return p.post("/login", url.Values{"email": {email}, "password": {pw}})
}

func signedIn(t *testing.T, b *bundle, email string) *person {
	t.Helper()
	p := newPerson(t, b)
	if status, body := p.signIn(email, password); status != 200 || !strings.Contains(body, email) {
		t.Fatalf("sign in as %s: %d\n%s", email, status, body)
	}
	return p
}

// text is the page's text without tags, for reading as a person does.
func text(body string) string {
	body = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`).ReplaceAllString(body, "")
	body = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	txt := text(body)
	for _, w := range wants {
		if !strings.Contains(txt, w) {
			t.Fatalf("page does not say %q:\n%s", w, txt)
		}
	}
}

func TestSignIn_WrongPasswordThenRightLandsOnHome(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		p := newPerson(t, b)
		status, body := p.signIn(ownerEmail, "wrong password!")
		if status != http.StatusUnauthorized {
			t.Fatalf("wrong password: status %d", status)
		}
		mustContain(t, body, "The email or password is not right.")
		if !strings.Contains(body, `value="`+ownerEmail+`"`) {
			t.Fatal("the email typed was not kept")
		}

		status, body = p.signIn(ownerEmail, password)
		if status != 200 || p.last.Request.URL.Path != "/accounts/"+b.acme.Number+"/summary" {
			t.Fatalf("signed in to %d %s", status, p.last.Request.URL)
		}
		mustContain(t, body, "Account Summary", "Acme Corp", b.acme.Number, "Billing Profile", "$0.00")

		// The session cookie, set by the sign-in's answer (the session is
		// not written again by the redirects after it), is HttpOnly and
		// SameSite=Lax; no Secure over http.
		var cookie string
		for resp := p.last.Request.Response; resp != nil && cookie == ""; resp = resp.Request.Response {
			for _, c := range resp.Header.Values("Set-Cookie") {
				cookie = c
			}
		}
		for _, want := range []string{"korebill_session=", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(cookie, want) {
				t.Fatalf("cookie %q lacks %s", cookie, want)
			}
		}

		// Sign out: the session is gone, pages send to sign in.
		p.post("/logout", nil)
		if p.last.Request.URL.Path != "/login" {
			t.Fatalf("after sign-out at %s", p.last.Request.URL)
		}
		mustContain(t, body, "Sign out")
		p.get("/accounts/" + b.acme.Number + "/profile")
		if p.last.Request.URL.Path != "/login" || p.last.Request.URL.Query().Get("next") != "/accounts/"+b.acme.Number+"/profile" {
			t.Fatalf("after sign-out a page opened at %s", p.last.Request.URL)
		}
		// Signing in from there goes back to the page asked for.
		p.post("/login", url.Values{"email": {ownerEmail}, "password": {password}, "next": {"/accounts/" + b.acme.Number + "/profile"}})
		if p.last.Request.URL.Path != "/accounts/"+b.acme.Number+"/profile" {
			t.Fatalf("next: landed on %s", p.last.Request.URL)
		}
	})
}

func TestSignIn_ThrottledAfterFiveFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.OpenSQLite(t))
	p := newPerson(t, b)
	for i := range 5 {
		if status, _ := p.signIn(viewerEmail, "nope nope nope"); status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, status)
		}
	}
	status, body := p.signIn(viewerEmail, password)
	if status != http.StatusTooManyRequests || p.last.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth attempt: %d", status)
	}
	mustContain(t, body, "Too many failed sign-ins. Try again in 15 minutes.")
	// Another email from the same place is not held up.
	if status, _ := newPerson(t, b).signIn(ownerEmail, password); status != 200 {
		t.Fatalf("another person was throttled: %d", status)
	}
}

// 100 simultaneous wrong passwords for one email: at most the limit is
// checked, the rest are told to wait (issue 9, defect 3: the limit was
// counted per node, after the check, and 72 of 100 were checked).
func TestSignIn_ParallelWrongPasswordsCheckAtMostTheLimit(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		people := make([]*person, 100)
		for i := range people {
			people[i] = newPerson(t, b)
			people[i].get("/login")
		}
		statuses := make([]int, len(people))
		var wg sync.WaitGroup
		for i, p := range people {
			wg.Go(func() {
				form := url.Values{"email": {viewerEmail}, "password": {"nope nope nope"}, "csrf_token": {p.csrf}}
				resp, err := p.client.PostForm(p.base+"/login", form)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[http.StatusUnauthorized] != store.SignInLimit || counts[http.StatusTooManyRequests] != len(people)-store.SignInLimit {
			t.Fatalf("statuses %v: want %d passwords checked (401), the rest 429", counts, store.SignInLimit)
		}
	})
}

func TestSignIn_OffsiteRedirectIgnored(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.OpenSQLite(t))
	p := newPerson(t, b)
	p.get("/login")
	for _, next := range []string{"https://evil.test/", "//evil.test/x", "/\\evil.test"} {
		p.post("/login", url.Values{"email": {operatorEmail}, "password": {password}, "next": {next}})
		if p.last.Request.URL.Host != strings.TrimPrefix(b.srv.URL, "http://") || p.last.Request.URL.Path != "/dashboard" {
			t.Fatalf("next=%q went to %s", next, p.last.Request.URL)
		}
		p.post("/logout", nil)
	}
}

func TestCSRF_MissingStaleOrCrossSiteFormRefused(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.setAcmeProfile(t)
		profile := "/accounts/" + b.acme.Number + "/profile"
		p := signedIn(t, b, ownerEmail)
		_, page := p.get(profile)
		stale := p.csrf
		form := url.Values{"contact_name": {"Mallory"}, "company_name": {"Acme Corp"}, "address.line1": {"1 Market St"},
			"address.city": {"SF"}, "address.country": {"US"}, "phone": {"+14155550132"}, "email": {"m@acme.test"}}
		mustContain(t, page, "Update")

		for name, tc := range map[string]struct {
			token  string
			header []string
		}{
			"no token":     {"", nil},
			"forged token": {"AAAA" + stale[4:], nil},
			"cross-site":   {stale, []string{"Sec-Fetch-Site", "cross-site"}},
		} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set("csrf_token", tc.token)
			status, body := p.post(profile, f, tc.header...)
			if status != http.StatusForbidden {
				t.Fatalf("%s: status %d", name, status)
			}
			if name == "cross-site" {
				mustContain(t, body, "This request was refused", "It came from another site.")
			} else {
				mustContain(t, body, "This form has expired", "Nothing was changed.")
			}
		}

		// Sign out and in again: the form token of the old session is stale.
		p.post("/logout", nil)
		p.signIn(ownerEmail, password)
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("csrf_token", stale)
		if status, body := p.post(profile, f); status != http.StatusForbidden || !strings.Contains(body, "This form has expired") {
			t.Fatalf("stale token: %d", status)
		}
		got, err := db.FindProfile(context.Background(), b.acme.ID)
		if err != nil || got.ContactName != "Ada Lovelace" {
			t.Fatalf("a refused form changed the profile: %+v %v", got, err)
		}
	})
}

func TestProfile_BadInputKeptWithMessagesBesideFieldsThenSaved(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		profile := "/accounts/" + b.acme.Number + "/profile"
		p := signedIn(t, b, ownerEmail)
		_, page := p.get(profile)
		mustContain(t, page, "Billing Profile", "Account number", "Choose a country", "Update")

		form := url.Values{"contact_name": {"Ada Lovelace"}, "company_name": {"Acme Corp"},
			"address.line1": {"1 Market St"}, "address.city": {"San Francisco"}, "address.region": {"CA"},
			"address.postal_code": {"94105"}, "address.country": {"US"}, "phone": {"12345"},
			"email": {"billing@acme.test"}, "invoice_emails": {"ap@acme.test, not-an-email"}, "tax_id": {""}}
		status, body := p.post(profile, form)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad input: status %d", status)
		}
		for _, want := range []string{
			`id="phone-error"`, `id="phone" name="phone" type="tel" value="12345"`, `aria-invalid="true"`,
			`id="invoice_emails-error"`, "ap@acme.test, not-an-email</textarea>", `<option value="US" selected>`,
		} {
			if !strings.Contains(body, want) {
				t.Fatalf("re-rendered form lacks %s", want)
			}
		}
		mustContain(t, body, `Telephone "12345" is not a valid phone number`, `Email "not-an-email" is not a valid email address.`)
		if _, err := db.FindProfile(context.Background(), b.acme.ID); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Fatalf("bad input saved a profile: %v", err)
		}

		form.Set("phone", "(415) 555-0132")
		form.Set("invoice_emails", "ap@acme.test\nCFO@acme.test")
		status, body = p.post(profile, form)
		if status != 200 || p.last.Request.Method != "GET" {
			t.Fatalf("good input: %d %s", status, p.last.Request.Method)
		}
		mustContain(t, body, "Billing profile saved.")
		if b := html.UnescapeString(body); !strings.Contains(b, `value="+14155550132"`) || !strings.Contains(b, "ap@acme.test\ncfo@acme.test</textarea>") {
			t.Fatalf("the saved values are not shown:\n%s", body)
		}
		// Reloading does not show the message again.
		_, body = p.get(profile)
		if strings.Contains(body, "Billing profile saved.") {
			t.Fatal("the flash message stayed")
		}
		// The audit trail names the person.
		events, _ := db.FindAuditEvents(context.Background(), billing.AuditFilter{Limit: 1})
		if events[0].Action != "profile.set" || events[0].Actor != "user:"+ownerEmail {
			t.Fatalf("audit = %+v", events[0])
		}
	})
}

func TestViewer_ReadsProfileButCannotUpdate(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.setAcmeProfile(t)
		profile := "/accounts/" + b.acme.Number + "/profile"
		p := signedIn(t, b, viewerEmail)
		_, body := p.get(profile)
		mustContain(t, body, "Ada Lovelace", "+14155550132", "United States", "can read the billing profile but not change it")
		if strings.Contains(body, "<button type=\"submit\" class=\"button\">Update") || strings.Contains(body, `name="contact_name"`) {
			t.Fatal("a viewer is offered the form")
		}
		status, body := p.post(profile, url.Values{"contact_name": {"Vic"}, "company_name": {"X"}, "address.line1": {"x"},
			"address.city": {"x"}, "address.country": {"US"}, "phone": {"+14155550100"}, "email": {"v@acme.test"}})
		if status != http.StatusForbidden {
			t.Fatalf("viewer POST: %d", status)
		}
		mustContain(t, body, "You may not do this", "Nothing was changed.")
		got, _ := db.FindProfile(context.Background(), b.acme.ID)
		if got.ContactName != "Ada Lovelace" {
			t.Fatal("a viewer changed the profile")
		}
	})
}

func TestTenants_AnotherAccountIsNotFound(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		p := signedIn(t, b, ownerEmail)
		for _, path := range []string{
			"/accounts/" + b.globex.Number + "/summary", "/accounts/" + b.globex.Number + "/profile",
			"/accounts/" + b.globex.Number + "/history", "/accounts/" + b.globex.Number,
			"/accounts/KB-999999/summary", "/accounts/nonsense/profile", "/accounts/" + b.acme.Number + "/nope",
			"/accounts", "/accounts/new", "/audit",
		} {
			status, body := p.get(path)
			if status != http.StatusNotFound {
				t.Fatalf("%s: %d", path, status)
			}
			mustContain(t, body, "Page not found")
			if strings.Contains(body, "Globex") {
				t.Fatalf("%s shows the other tenant", path)
			}
		}
		status, _ := p.post("/accounts/"+b.globex.Number+"/profile", url.Values{"contact_name": {"x"}})
		if status != http.StatusNotFound {
			t.Fatalf("POST to another tenant: %d", status)
		}
		// Their own account works.
		if status, _ := p.get("/accounts/" + b.acme.Number + "/history"); status != 200 {
			t.Fatalf("own history: %d", status)
		}
	})
}

func TestOperator_SearchCreateAccountAndAuditLog(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.setAcmeProfile(t)
		p := signedIn(t, b, operatorEmail)
		if p.last.Request.URL.Path != "/dashboard" {
			t.Fatalf("operator landed on %s", p.last.Request.URL)
		}
		_, body := p.get("/accounts?q=billing@acme")
		mustContain(t, body, "Showing 1–1 of 1 account", "Acme Corp")
		if strings.Contains(body, "Globex") {
			t.Fatal("search by email matched Globex")
		}
		_, body = p.get("/accounts?q=&status=suspended")
		mustContain(t, body, "No accounts match with status suspended.")

		p.get("/accounts/new")
		status, body := p.post("/accounts", url.Values{"name": {"Initech"}, "domain": {"acme.test"},
			"billing_type": {"subscription"}, "account_type": {"enterprise"}, "currency": {"usd"}, "time_zone": {"Mars/Base"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad account: %d", status)
		}
		mustContain(t, body, `Time zone "Mars/Base" is not an IANA time zone name.`)
		if !strings.Contains(body, `value="Initech"`) {
			t.Fatal("input not kept")
		}
		status, body = p.post("/accounts", url.Values{"name": {"Initech"}, "domain": {"acme.test"},
			"billing_type": {"subscription"}, "account_type": {"enterprise"}, "currency": {"usd"}, "time_zone": {"America/Chicago"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="domain-error"`) {
			t.Fatalf("taken domain: %d", status)
		}
		mustContain(t, body, "An account for this domain already exists.")
		status, body = p.post("/accounts", url.Values{"name": {"Initech"}, "domain": {"initech.test"},
			"billing_type": {"subscription"}, "account_type": {"enterprise"}, "currency": {"usd"}, "time_zone": {"America/Chicago"}})
		// PostgreSQL's sequence skips the number the refused attempt drew.
		number, _ := strings.CutPrefix(p.last.Request.URL.Path, "/accounts/")
		if status != 200 || !billing.ValidAccountNumber(number) || number == b.globex.Number {
			t.Fatalf("create: %d at %s", status, p.last.Request.URL)
		}
		mustContain(t, body, "Account "+number+" created.", "Initech", "Fixed Subscriptions", "America/Chicago")

		// The operator sees any account's pages.
		if status, body := p.get("/accounts/" + b.globex.Number + "/profile"); status != 200 || !strings.Contains(body, "Update") {
			t.Fatalf("operator on Globex's profile: %d", status)
		}

		_, body = p.get("/audit")
		mustContain(t, body, "user:"+operatorEmail, "account.create", number, "Initech")
		_, body = p.get("/audit?account=" + b.acme.Number)
		mustContain(t, body, "profile.set", "console_user.create")
		if strings.Contains(body, number) {
			t.Fatal("the account filter let another account's events through")
		}
		_, body = p.get("/audit?account=KB-123456")
		mustContain(t, body, "No account has the number KB-123456.")
	})
}

func TestAuditLog_PagesByCursor(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.OpenSQLite(t))
	ctx := billing.NewContextWithActor(context.Background(), billing.Actor{Name: "bulk", Role: billing.RoleOperator})
	for i := range 55 {
		name := "Renamed " + string(rune('A'+i%26)) + string(rune('a'+i/26))
		if _, err := b.db.UpdateAccount(ctx, b.acme.ID, billing.AccountUpdate{Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	p := signedIn(t, b, operatorEmail)
	_, body := p.get("/audit")
	if n := strings.Count(body, "<code>account.update</code>"); n != 50 {
		t.Fatalf("first page shows %d updates", n)
	}
	next := regexp.MustCompile(`href="(/audit\?before=\d+)"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no link to older events")
	}
	_, body = p.get(html.UnescapeString(next[1]))
	mustContain(t, body, "account.update", "account.create", "console_user.create")
	if strings.Contains(body, "Older events") {
		t.Fatal("the last page links further")
	}
}

func TestDisabledUser_IsSignedOutAtTheNextRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.OpenSQLite(t))
	p := signedIn(t, b, ownerEmail)
	u, err := b.db.FindConsoleUserByEmail(context.Background(), ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.SetConsoleUserDisabled(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	p.get("/accounts/" + b.acme.Number + "/summary")
	if p.last.Request.URL.Path != "/login" {
		t.Fatalf("a disabled user still sees %s", p.last.Request.URL)
	}
}

func TestAPI_StillServedBesideTheConsole(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.OpenSQLite(t))
	resp, err := http.Get(b.srv.URL + "/v1/accounts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Fatalf("API without a key: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, err = http.Get(b.srv.URL + "/static/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("htmx: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestOperator_AddsAConsoleUserWhoSignsIn(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		p := signedIn(t, b, operatorEmail)
		path := "/accounts/" + b.globex.Number
		p.get(path)

		status, body := p.post(path+"/users", url.Values{"email": {"not an email"}, "role": {"viewer"}, "password": {"short"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="email-error"`) || !strings.Contains(body, `id="password-error"`) {
			t.Fatalf("bad user: %d", status)
		}
		if strings.Contains(body, `value="short"`) {
			t.Fatal("the password typed was sent back")
		}
		status, body = p.post(path+"/users", url.Values{"email": {ownerEmail}, "role": {"viewer"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("taken email: %d", status)
		}
		mustContain(t, body, "A console user with this email already exists.")
		if status, _ := p.post(path+"/users", url.Values{"email": {"x@globex.test"}, "role": {"operator"}}); status != http.StatusUnprocessableEntity {
			t.Fatalf("an operator made from an account page: %d", status)
		}

		// A password the operator chose: a message after a redirect.
		status, body = p.post(path+"/users", url.Values{"email": {"Otto@Globex.test"}, "role": {"owner"}, "name": {"Otto"},
			"password": {"a password otto knows"}})
		if status != 200 || p.last.Request.Method != "GET" {
			t.Fatalf("add with a password: %d %s", status, p.last.Request.Method)
		}
		mustContain(t, body, "otto@globex.test can now sign in to "+b.globex.Number+".", "Otto", "Owner")
		if status, _ := newPerson(t, b).signIn("otto@globex.test", "a password otto knows"); status != 200 {
			t.Fatalf("otto signs in: %d", status)
		}

		// A generated password: shown once, on the answer itself.
		status, body = p.post(path+"/users", url.Values{"email": {"bea@globex.test"}, "role": {"billing_admin"}})
		m := regexp.MustCompile(`id="new-password">([a-z2-9-]+)<`).FindStringSubmatch(body)
		if status != 200 || m == nil {
			t.Fatalf("add with a generated password: %d", status)
		}
		q := newPerson(t, b)
		if status, _ := q.signIn("bea@globex.test", m[1]); status != 200 || q.last.Request.URL.Path != path+"/summary" {
			t.Fatalf("bea signs in: %d at %s", status, q.last.Request.URL)
		}
		if _, body := p.get(path); strings.Contains(body, m[1]) {
			t.Fatal("the generated password is shown again")
		}
		events, _ := db.FindAuditEvents(context.Background(), billing.AuditFilter{Limit: 1})
		if events[0].Action != "console_user.create" || events[0].Actor != "user:"+operatorEmail {
			t.Fatalf("audit = %+v", events[0])
		}
	})
}

// A form field or query holding a NUL or another control character is
// refused with 422 naming it, before any handler runs, and changes nothing
// (issue 9, defect 6: NUL bytes gave 500 on PostgreSQL).
func TestText_ControlCharactersRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.setAcmeProfile(t)
		profile := "/accounts/" + b.acme.Number + "/profile"
		p := signedIn(t, b, ownerEmail)
		p.get(profile)
		form := url.Values{"contact_name": {"Mallory\x00"}, "company_name": {"Acme Corp"}, "address.line1": {"1 Market St"},
			"address.city": {"SF"}, "address.country": {"US"}, "phone": {"+14155550132"}, "email": {"m@acme.test"}}
		status, body := p.post(profile, form)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("NUL in a field = %d", status)
		}
		mustContain(t, body, `The field "contact_name" must not contain control characters (found U+0000). Nothing was changed.`)
		form.Set("contact_name", "Mallory\x1b[31m")
		if status, _ := p.post(profile, form); status != http.StatusUnprocessableEntity {
			t.Fatalf("an escape in a field = %d", status)
		}
		if _, page := p.get(profile); strings.Contains(page, "Mallory") {
			t.Fatal("a refused form changed the profile")
		}
		op := signedIn(t, b, operatorEmail)
		if status, body := op.get("/accounts?q=" + url.QueryEscape("Acme\x00")); status != http.StatusUnprocessableEntity {
			t.Fatalf("NUL in a search = %d %s", status, text(body))
		}
	})
}
