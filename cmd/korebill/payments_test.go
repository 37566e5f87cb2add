package main_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/store/storetest"
)

// The engine's notifications reach the outboxes through `korebill serve`'s
// mapping (payments.go), on a test clock, through the public API only: a
// contract paid by transfer gets its reminders and the overdue notice by
// email, a card about to expire gets one email, and a refused join is a
// managed_users.limit_reached webhook event.
func TestNotify_RemindersCardExpiryAndLimitReachedArriveInTheOutboxes(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "korebill.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, out := startServe(t, "--database-url", tc.url(t))
			c := apiClient{t: t, base: m.URL(), key: keyRE.FindStringSubmatch(out.String())[1]}
			start := time.Date(2027, 1, 20, 9, 0, 0, 0, time.UTC) // after today: the test gateway checks expiry by the real date
			clock := c.do("POST", "/v1/test-clocks", map[string]any{"name": "notices", "now": start})
			clockPath := fmt.Sprintf("/v1/test-clocks/%d", int(clock["id"].(float64)))
			profile := func(n, email string) {
				c.do("PUT", "/v1/accounts/"+n+"/profile", map[string]any{"company_name": n, "contact_name": "Ada Lovelace",
					"address": map[string]any{"line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"},
					"phone":   "+14155550132", "email": email, "invoice_emails": []string{"ap@" + strings.ToLower(n) + ".example.com"}})
			}

			umbrella := c.do("POST", "/v1/accounts", map[string]any{"name": "Umbrella", "domain": "umbrella.example.com",
				"billing_type": "subscription"})["number"].(string)
			acme := c.do("POST", "/v1/accounts", map[string]any{"name": "Acme", "domain": "acme.example.com"})["number"].(string)
			for _, n := range []string{umbrella, acme} {
				c.do("POST", clockPath+"/accounts", map[string]any{"account_number": n})
			}
			profile(umbrella, "billing@umbrella.example.com")
			profile(acme, "billing@acme.example.com")
			c.do("POST", "/v1/accounts/"+umbrella+"/contract", map[string]any{"number": "C-2027-001", "term_start": "2027-02-01",
				"term_end": "2028-02-01", "prepaid": 3, "unit_amount": 1800, "interval": "month", "net_days": 30,
				"pay_by_invoice": true, "on_join": "refuse"})
			c.roster(umbrella, 3, start)
			c.do("POST", "/v1/accounts/"+acme+"/payment-methods", map[string]any{"card": map[string]any{
				"number": "4242 4242 4242 4242", "exp_month": 3, "exp_year": 2027, "cvc": "123", "name": "Ada Lovelace"}})

			// A fourth user: refused, and the platform told.
			status, body := call(t, "PUT", m.URL()+"/v1/accounts/"+umbrella+"/managed-users/u4", c.key, `{"email": "u4@umbrella.example.com"}`)
			if status != http.StatusConflict {
				t.Fatalf("fourth user: %d %v", status, body)
			}
			events := c.do("GET", "/v1/webhook-events?type=managed_users.limit_reached&account_number="+umbrella, nil)["items"].([]any)
			if len(events) != 1 {
				t.Fatalf("%d limit_reached events, want 1", len(events))
			}
			data := events[0].(map[string]any)["data"].(map[string]any)
			if data["seats"] != 3.0 || data["managed_users"] != 3.0 || data["user_id"] != "u4" || data["on_join"] != "refuse" {
				t.Fatalf("limit_reached data = %v", data)
			}

			// The February invoice, issued 1 February, is due 3 March.
			c.do("POST", clockPath+"/advance", map[string]any{"to": time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC)})
			emails := func(n, kind string) []string {
				items := c.do("GET", "/v1/emails?account_number="+n+"&kind="+kind+"&limit=100", nil)["items"].([]any)
				var subjects []string
				for i := len(items) - 1; i >= 0; i-- { // oldest first
					subjects = append(subjects, items[i].(map[string]any)["subject"].(string))
				}
				return subjects
			}
			inv := c.do("GET", "/v1/accounts/"+umbrella+"/invoices?limit=100", nil)["items"].([]any)
			feb := ""
			for _, it := range inv {
				if p := it.(map[string]any)["period"].(map[string]any); p["start"] == "2027-02-01" {
					feb = it.(map[string]any)["number"].(string)
				}
			}
			wantSubjects := func(got []string, want ...string) {
				t.Helper()
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("subjects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			wantSubjects(emails(umbrella, "payment_reminder"),
				"Reminder: invoice "+feb+" for $54.00 is due on March 3, 2027",
				"Reminder: invoice "+feb+" for $54.00 is due today",
				"Reminder: invoice "+feb+" for $54.00 is 7 days past due")
			wantSubjects(emails(umbrella, "invoice_overdue"), "Overdue: invoice "+feb+" for $54.00 was due on March 3, 2027")
			wantSubjects(emails(acme, "card_expiring"), "Your Visa ending 4242 expires at the end of March 2027")

			c.do("POST", clockPath+"/advance", map[string]any{"to": time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)})
			if got := emails(acme, "card_expiring"); len(got) != 1 {
				t.Fatalf("card expiry emailed %d times", len(got))
			}
			one := c.do("GET", "/v1/emails?account_number="+umbrella+"&kind=invoice_overdue", nil)["items"].([]any)[0].(map[string]any)
			full := c.do("GET", fmt.Sprintf("/v1/emails/%d", int(one["id"].(float64))), nil)
			if to := full["to"].([]any); len(to) != 1 || to[0] != "billing@umbrella.example.com" ||
				!strings.Contains(full["text"].(string), "quoting "+feb+" as the reference") {
				t.Fatalf("overdue email = %v", full)
			}
		})
	}
}
