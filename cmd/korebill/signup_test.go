package main_test

import (
	"path/filepath"
	"testing"

	"github.com/kore-billing/korebill/store/storetest"
)

// Through the API: the operator sets USD's signup credit, an account is
// created with it and another with its own amount; the first upgrade takes
// the credit before the card is charged, and Billing History shows the
// grant as a signup credit. Both stores.
func TestAPI_SignupCreditIsGrantedOnceAndTakenBeforeTheCard(t *testing.T) {
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
			c.do("PUT", "/v1/signup-credits/USD", map[string]any{"amount": 2500})
			if got := c.do("GET", "/v1/signup-credits", nil)["items"].([]any); len(got) != 1 {
				t.Fatalf("signup credits = %v", got)
			}
			acme := c.do("POST", "/v1/accounts", map[string]any{"name": "Acme", "domain": "acme.example.com"})
			globex := c.do("POST", "/v1/accounts", map[string]any{"name": "Globex", "domain": "globex.example.com", "signup_credit": 4000})
			if amount(acme["credit_balance"]) != 2500 || amount(globex["credit_balance"]) != 4000 {
				t.Fatalf("balances: Acme %v, Globex %v", acme["credit_balance"], globex["credit_balance"])
			}
			n := acme["number"].(string)
			c.do("POST", "/v1/accounts/"+n+"/payment-methods", map[string]any{"card": map[string]any{
				"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "name": "Ada Lovelace"}})
			inv := c.do("POST", "/v1/accounts/"+n+"/subscription", map[string]any{"plan": "premium", "interval": "month", "seats": 3})["invoice"].(map[string]any)
			if amount(inv["subtotal"]) != 3000 || amount(inv["credits_applied"]) != 2500 || amount(inv["total"]) != 500 {
				t.Fatalf("first invoice: %v", inv)
			}
			payments := c.do("GET", "/v1/accounts/"+n+"/payments", nil)["items"].([]any)
			if len(payments) != 1 || amount(payments[0].(map[string]any)["amount"]) != 500 {
				t.Fatalf("payments = %v; want one card charge of $5.00", payments)
			}
			var grants int
			for _, e := range c.do("GET", "/v1/accounts/"+n+"/history", nil)["items"].([]any) {
				if e := e.(map[string]any); e["charge_type"] == "signup_credit" && amount(e["credit"]) == 2500 {
					grants++
				}
			}
			if grants != 1 {
				t.Fatalf("%d signup credit rows in the history, want 1", grants)
			}
		})
	}
}
