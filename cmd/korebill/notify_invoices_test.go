package main_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/store/storetest"
)

// Every finalized invoice sends its email and its invoice.finalized event,
// and every paid one its invoice.paid event, whatever paid it: a card, the
// credit balance, or nothing owed (a credit note). Over a scenario on a test
// clock — an upgrade paid by card, a credit note, a renewal the credit
// balance covers whole, a renewal paid by card
// — the outboxes hold exactly one of each per invoice.
func TestNotify_EveryInvoiceIsEmailedAndEveryPaidOneIsAWebhookWhateverPaidIt(t *testing.T) {
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
			start := time.Date(2027, 1, 20, 9, 0, 0, 0, time.UTC)
			clock := c.do("POST", "/v1/test-clocks", map[string]any{"name": "credits", "now": start})
			clockPath := fmt.Sprintf("/v1/test-clocks/%d", int(clock["id"].(float64)))
			acme := c.do("POST", "/v1/accounts", map[string]any{"name": "Acme", "domain": "acme.example.com"})["number"].(string)
			c.do("POST", clockPath+"/accounts", map[string]any{"account_number": acme})
			c.do("PUT", "/v1/accounts/"+acme+"/profile", map[string]any{"company_name": "Acme", "contact_name": "Ada Lovelace",
				"address": map[string]any{"line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"},
				"phone":   "+14155550132", "email": "billing@acme.example.com"})
			c.do("POST", "/v1/accounts/"+acme+"/payment-methods", map[string]any{"card": map[string]any{
				"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "name": "Ada Lovelace"}})

			// $50 by card, then a $50 credit note: the February renewal
			// ($50) is paid by credits alone, March's by card.
			first := c.do("POST", "/v1/accounts/"+acme+"/subscription", map[string]any{"plan": "premium", "interval": "month", "seats": 5})
			number := first["invoice"].(map[string]any)["number"].(string)
			c.do("POST", "/v1/invoices/"+number+"/credit-notes", map[string]any{"amount": 5000, "reason": "Goodwill"})
			c.do("POST", clockPath+"/advance", map[string]any{"to": time.Date(2027, 3, 25, 9, 0, 0, 0, time.UTC)})

			invoices := c.do("GET", "/v1/accounts/"+acme+"/invoices?limit=100", nil)["items"].([]any)
			var all, paid []string
			byCredits := 0
			for _, it := range invoices {
				inv := it.(map[string]any)
				all = append(all, inv["number"].(string))
				if inv["status"] == "paid" {
					paid = append(paid, inv["number"].(string))
				}
				if inv["payment_type"] == "credit_redeem" && inv["kind"] == "subscription" {
					byCredits++
				}
			}
			if len(all) != 4 || len(paid) != 4 || byCredits != 1 {
				t.Fatalf("invoices %v, paid %v, %d renewals paid by credits alone; want 4, 4, 1", all, paid, byCredits)
			}

			emailed := map[string]int{}
			for _, it := range c.do("GET", "/v1/emails?account_number="+acme+"&kind=invoice_issued&limit=100", nil)["items"].([]any) {
				subject := it.(map[string]any)["subject"].(string)
				emailed[strings.TrimSuffix(strings.Fields(subject)[1], ":")]++
			}
			events := func(typ string) map[string]int {
				got := map[string]int{}
				for _, it := range c.do("GET", "/v1/webhook-events?type="+typ+"&account_number="+acme+"&limit=100", nil)["items"].([]any) {
					got[it.(map[string]any)["data"].(map[string]any)["number"].(string)]++
				}
				return got
			}
			oneEach(t, "invoice email", emailed, all)
			oneEach(t, "invoice.finalized", events("invoice.finalized"), all)
			oneEach(t, "invoice.paid", events("invoice.paid"), paid)
		})
	}
}

// oneEach fails unless got counts each of want exactly once and nothing else.
func oneEach(t *testing.T, what string, got map[string]int, want []string) {
	t.Helper()
	var keys []string
	for k, n := range got {
		for range n {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(keys, " ") != strings.Join(w, " ") {
		t.Errorf("%s for %v, want one for each of %v", what, keys, w)
	}
}
