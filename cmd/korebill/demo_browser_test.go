package main_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/store/storetest"
)

// The console issue's "done when", as a newcomer tries it: run the demo,
// sign in in a real browser as the admin of each demo account and as the
// operator, and open every page: each answers 200 and says what it is.
func TestDemo_EveryAdminAndTheOperatorInABrowser(t *testing.T) {
	chromium := os.Getenv("KOREBILL_TEST_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		storetest.SkipOrFail(t, "no chromium at "+chromium+": apt-get install chromium, or set KOREBILL_TEST_CHROMIUM")
	}

	m := main.NewMain()
	out := &syncBuffer{}
	m.Stdout, m.Stderr = out, &syncBuffer{}
	if err := m.ParseFlags(context.Background(), []string{"demo", "--addr", "127.0.0.1:0",
		"--database-url", filepath.Join(t.TempDir(), "demo.db")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready:
	case err := <-done:
		t.Fatalf("demo stopped: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done; m.Close() })
	pw := regexp.MustCompile(`Password for every demo user: (\S+)`).FindStringSubmatch(out.String())
	if pw == nil {
		t.Fatalf("the demo printed no password:\n%s", out)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil { // starts it
		t.Fatalf("start chromium: %v", err)
	}

	shots := os.Getenv("KOREBILL_TEST_SCREENSHOTS")
	visit := func(t *testing.T, tab context.Context, path string, wants ...string) {
		t.Helper()
		resp, err := chromedp.RunResponse(tab, chromedp.Navigate(m.URL()+path))
		if err != nil || resp == nil || resp.Status != 200 {
			t.Fatalf("GET %s: %v %v", path, err, resp)
		}
		body, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("body"), chromedp.NodeVisible))
		if err != nil {
			t.Fatal(err)
		}
		body = strings.Join(strings.Fields(body), " ")
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s does not say %q; it says:\n%.1500s", path, w, body)
			}
		}
		if shots != "" {
			png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err == nil {
				name := "demo" + strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(path) + ".png"
				_ = os.WriteFile(filepath.Join(shots, name), png, 0o644)
			}
		}
	}
	signIn := func(t *testing.T, email string) context.Context {
		t.Helper()
		tab, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		tab, cancelTimeout := context.WithTimeout(tab, 90*time.Second)
		t.Cleanup(func() { cancelTimeout(); cancelTab() })
		if err := chromedp.Do(tab, chromedp.Navigate(m.URL()+"/login"),
			chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), pw[1])); err != nil {
			t.Fatalf("sign-in page: %v", err)
		}
		resp, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
		if err != nil || resp == nil || resp.Status != 200 {
			t.Fatalf("sign in as %s: %v %v", email, err, resp)
		}
		return tab
	}

	for _, a := range []struct {
		email, number string
		summary       []string
	}{
		{"ada@acme.example.com", "KB-000001", []string{"Online Billing", "Premium", "billed monthly", "Visa"}},
		{"hank@globex.example.com", "KB-000002", []string{"Online Billing", "Premium", "billed annually"}},
		{"bill@initech.example.com", "KB-000003", []string{"Switch to this plan"}},
		{"alice@umbrella.example.com", "KB-000004", []string{"Fixed Subscriptions", "Enterprise", "By Count", "Prepaid", "Available"}},
	} {
		t.Run(a.number, func(t *testing.T) {
			tab := signIn(t, a.email)
			base := "/accounts/" + a.number
			visit(t, tab, base+"/summary", append([]string{"Account Summary"}, a.summary...)...)
			if a.number == "KB-000004" {
				// What the demo printed agrees with what the console shows.
				prepaid, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("count-prepaid"), chromedp.NodeVisible))
				if err != nil {
					t.Fatal(err)
				}
				if want := "KB-000004    contract, Enterprise, " + strings.TrimSpace(prepaid) + " prepaid"; !strings.Contains(out.String(), want) {
					t.Fatalf("the console shows %s prepaid; the demo printed:\n%s", prepaid, out)
				}
			}
			visit(t, tab, base+"/history", "Billing History")
			if a.number != "KB-000003" { // Initech is Free: no invoices
				n, err := chromedp.Run(tab, chromedp.Evaluate[string](
					`(document.querySelector('a[href*="/invoices/INV-"]') || {getAttribute: () => ''}).getAttribute('href')`))
				if err != nil || n == "" {
					t.Fatalf("no statement link in the billing history: %v", err)
				}
				visit(t, tab, n, "Invoice INV-", "Breakdown", "Total", "Amount due")
			}
			visit(t, tab, base+"/profile", "Billing Profile", a.number)
			visit(t, tab, base+"/payment-method")
			// Another account's page is not found for an account admin.
			other := "/accounts/KB-000001/summary"
			if a.number == "KB-000001" {
				other = "/accounts/KB-000002/summary"
			}
			resp, err := chromedp.RunResponse(tab, chromedp.Navigate(m.URL()+other))
			if err != nil || resp == nil || resp.Status != 404 {
				t.Errorf("%s opened another tenant's page: %v %v", a.email, err, resp)
			}
		})
	}
	t.Run("operator", func(t *testing.T) {
		tab := signIn(t, "admin@localhost")
		// The dashboard shows the demo's months: each paying company was new
		// in one of them, and its movement links to it.
		visit(t, tab, "/dashboard", "Monthly recurring revenue", "Acme Corp", "Globex", "Umbrella", "Receivables")
		visit(t, tab, "/accounts", "Acme Corp", "Globex", "Initech", "Umbrella")
		visit(t, tab, "/accounts/KB-000004/summary", "Fixed Subscriptions")
		visit(t, tab, "/audit")
		for _, p := range []string{"/catalog", "/tax-rates", "/payments", "/billing-runs", "/webhooks", "/emails", "/test-clocks"} {
			resp, err := chromedp.RunResponse(tab, chromedp.Navigate(m.URL()+p))
			if err != nil || resp == nil {
				t.Fatalf("GET %s: %v", p, err)
			}
			if resp.Status != 200 {
				t.Errorf("GET %s = %d", p, resp.Status)
			}
		}
	})
}
