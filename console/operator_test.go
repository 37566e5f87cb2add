package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// The operator console over HTTP, on both stores: each page's happy path
// and its bad input (nothing changed), and that account users find none of
// it.

// operatorPages are every operator page a GET opens, with what it says.
func operatorPages(ob *opsBundle) map[string]string {
	n := ob.acme.Number
	return map[string]string{
		"/dashboard":                   "Monthly recurring revenue",
		"/catalog":                     "Plan catalog",
		"/catalog/premium":             "Change prices",
		"/tax-rates":                   "Tax rates",
		"/payments":                    "Failed payments and suspended accounts",
		"/billing-runs":                "Billing runs",
		"/webhooks":                    "Webhooks",
		"/emails":                      "Emails",
		"/test-clocks":                 "Test clocks",
		"/accounts/" + n + "/invoices": "Invoices",
		"/accounts/" + n + "/contract": "Contract",
	}
}

func TestOperator_EveryPageOpensAndAccountUsersGet404(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ops := signedIn(t, ob.bundle, operatorEmail)
		for path, want := range operatorPages(ob) {
			status, body := ops.get(path)
			if status != http.StatusOK {
				t.Fatalf("%s: %d\n%s", path, status, text(body))
			}
			says(t, body, want, "Operator console", "Test clocks")
		}
		owner := signedIn(t, ob.bundle, ownerEmail)
		viewer := signedIn(t, ob.bundle, viewerEmail)
		posts := []string{"/catalog", "/catalog/premium/versions", "/tax-rates", "/tax-rates/US/delete", "/billing-runs", "/payments/reconcile",
			"/webhooks/endpoints", "/webhooks/deliveries/1/replay", "/test-clocks", "/test-clocks/1/advance", "/test-clocks/1/accounts",
			"/accounts/" + ob.acme.Number + "/contract", "/accounts/" + ob.acme.Number + "/contract/preferences",
			"/accounts/" + ob.acme.Number + "/invoices/INV-2027-000001/bank-transfer",
			"/accounts/" + ob.acme.Number + "/invoices/INV-2027-000001/refund",
			"/accounts/" + ob.acme.Number + "/invoices/INV-2027-000001/credit-note",
			"/accounts/" + ob.acme.Number + "/invoices/INV-2027-000001/retry"}
		for _, p := range []*person{owner, viewer} {
			for path := range operatorPages(ob) {
				if status, body := p.get(path); status != http.StatusNotFound || strings.Contains(body, "Catalog") {
					t.Fatalf("an account user at %s: %d", path, status)
				}
			}
			for _, path := range append(posts, "/webhooks/deliveries/1", "/emails/1", "/test-clocks/1",
				"/accounts/"+ob.acme.Number+"/invoices/INV-2027-000001/manage") {
				p.get("/accounts/" + ob.acme.Number + "/summary") // a fresh token
				status, _ := p.post(path, url.Values{"rate": {"5"}, "country": {"US"}})
				if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
					t.Fatalf("an account user POSTs %s: %d", path, status)
				}
			}
		}
		if n := rows(t, db, "tax_rates"); n != 0 {
			t.Fatalf("account users changed tax rates: %d", n)
		}
	})
}

func TestOperator_TestClocksExistOnlyInTestMode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, false)
		ops := signedIn(t, ob.bundle, operatorEmail)
		if status, _ := ops.get("/test-clocks"); status != http.StatusNotFound {
			t.Fatalf("test clocks outside test mode: %d", status)
		}
		_, body := ops.get("/catalog")
		if strings.Contains(body, `href="/test-clocks"`) {
			t.Fatal("the nav offers test clocks outside test mode")
		}
		if status, _ := ops.post("/test-clocks", url.Values{"date": {"2027-03-10"}, "time": {"09:00"}}); status != http.StatusNotFound {
			t.Fatalf("create a clock outside test mode: %d", status)
		}
		if n := rows(t, db, "test_clocks"); n != 0 {
			t.Fatalf("clocks = %d", n)
		}
	})
}
