package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/store/storetest"
)

// apiClient calls the running service's public API as an operator.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

func (c apiClient) do(method, path string, body any) map[string]any {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		c.t.Fatalf("%s %s = %d: %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %s", method, path, raw)
		}
	}
	// An advance answers 202 while a job moves the clock: read the clock
	// until it is ready, as a client would.
	if clock, ok := strings.CutSuffix(path, "/advance"); ok && method == "POST" {
		for i := 0; out["status"] != "ready"; i++ {
			if i == 3000 {
				c.t.Fatalf("test clock %s still %v after a minute", clock, out["status"])
			}
			time.Sleep(20 * time.Millisecond)
			out = c.do("GET", clock, nil)
		}
		if e, ok := out["advance_error"]; ok {
			c.t.Fatalf("the advance of %s stopped short: %v", clock, e)
		}
	}
	return out
}

func (c apiClient) roster(number string, n int, active time.Time) {
	c.t.Helper()
	users := make([]map[string]any, n)
	for i := range users {
		users[i] = map[string]any{"user_id": fmt.Sprintf("u%d", i+1), "email": fmt.Sprintf("u%d@%s.example.com", i+1, number),
			"last_active_at": active.Format(time.RFC3339)}
	}
	c.do("PUT", "/v1/accounts/"+number+"/managed-users", map[string]any{"users": users})
}

// wantInvoice is one invoice as computed by hand: its kind, service period
// and the amount of each line, in cents.
type wantInvoice struct {
	kind, start, end string
	lines            []int64
}

func (c apiClient) checkInvoices(number string, want []wantInvoice) {
	c.t.Helper()
	list := c.do("GET", "/v1/accounts/"+number+"/invoices?limit=100", nil)["items"].([]any)
	sort.Slice(list, func(i, j int) bool {
		return list[i].(map[string]any)["id"].(float64) < list[j].(map[string]any)["id"].(float64)
	})
	if len(list) != len(want) {
		for _, it := range list {
			inv := it.(map[string]any)
			c.t.Logf("  %s %s %v", inv["kind"], inv["period"], inv["total"])
		}
		c.t.Fatalf("%s has %d invoices, want %d", number, len(list), len(want))
	}
	for i, w := range want {
		inv := list[i].(map[string]any)
		p := inv["period"].(map[string]any)
		if inv["kind"] != w.kind || p["start"] != w.start || p["end"] != w.end {
			c.t.Errorf("%s invoice %d = %s %s–%s, want %s %s–%s", number, i+1, inv["kind"], p["start"], p["end"], w.kind, w.start, w.end)
		}
		lines := inv["lines"].([]any)
		var total int64
		for j, l := range lines {
			amount := int64(l.(map[string]any)["amount"].(map[string]any)["amount"].(float64))
			total += amount
			if j >= len(w.lines) || amount != w.lines[j] {
				c.t.Errorf("%s invoice %d (%s) line %d = %d (%s), want %v", number, i+1, inv["number"], j+1, amount,
					l.(map[string]any)["description"], w.lines)
			}
		}
		if len(lines) != len(w.lines) {
			c.t.Errorf("%s invoice %d has %d lines, want %d", number, i+1, len(lines), len(w.lines))
		}
		if sub := int64(inv["subtotal"].(map[string]any)["amount"].(float64)); sub != total {
			c.t.Errorf("%s invoice %d subtotal %d ≠ Σ lines %d", number, i+1, sub, total)
		}
	}
}

// A year of an online account and a contract, through the public API only,
// on a test clock: every invoice line as computed by hand from DESIGN.md.
func TestYear_OnlineAndContractOnATestClock(t *testing.T) {
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
			at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
			start := at("2026-01-31T09:00:00Z")

			clock := c.do("POST", "/v1/test-clocks", map[string]any{"name": "a year", "now": start})
			clockPath := fmt.Sprintf("/v1/test-clocks/%d", int(clock["id"].(float64)))
			acme := c.do("POST", "/v1/accounts", map[string]any{"name": "Acme", "domain": "acme.example.com"})["number"].(string)
			umbrella := c.do("POST", "/v1/accounts", map[string]any{"name": "Umbrella", "domain": "umbrella.example.com",
				"billing_type": "subscription"})["number"].(string)
			for _, n := range []string{acme, umbrella} {
				c.do("POST", clockPath+"/accounts", map[string]any{"account_number": n})
			}
			users := map[string]int{acme: 3, umbrella: 20}
			c.roster(acme, 3, start)
			c.roster(umbrella, 20, start)
			// A paid plan needs a card on file (payment_method_required).
			c.do("POST", "/v1/accounts/"+acme+"/payment-methods", map[string]any{"card": map[string]any{
				"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
			c.do("POST", "/v1/accounts/"+acme+"/subscription", map[string]any{"plan": "premium", "interval": "month", "users": "all"})
			c.do("POST", "/v1/accounts/"+umbrella+"/contract", map[string]any{"number": "C-2026-007", "term_start": "2026-02-01",
				"term_end": "2027-02-01", "prepaid": 20, "unit_amount": 1800, "interval": "month", "net_days": 30,
				"overage_unit_amount": 2500, "auto_renew": true, "pay_by_invoice": true})

			events := []struct {
				at string
				do func()
			}{
				{"2026-03-18T09:00:00Z", func() { users[acme] = 10 }},     // 7 seats bought with 13 of 31 days left
				{"2026-04-10T09:00:00Z", func() { users[umbrella] = 23 }}, // 3 above the prepaid 20: April's overage
				{"2026-04-25T09:00:00Z", func() { users[umbrella] = 20 }},
				{"2026-06-15T09:00:00Z", func() { // monthly → annual with 15 of 30 days left
					c.do("POST", "/v1/accounts/"+acme+"/subscription", map[string]any{"plan": "premium", "interval": "year", "users": "all"})
				}},
				{"2026-08-16T09:00:00Z", func() { // 5 add-ons with 16 of 31 days left
					c.do("POST", "/v1/accounts/"+umbrella+"/contract/subscriptions", map[string]any{"count": 5})
				}},
				{"2027-01-31T09:00:00Z", func() {}},
			}
			now := start
			for _, ev := range events {
				// A week at a time, the platform reporting who was active.
				for target := at(ev.at); now.Before(target); {
					now = now.Add(7 * 24 * time.Hour)
					if now.After(target) {
						now = target
					}
					c.do("POST", clockPath+"/advance", map[string]any{"to": now})
					if now.Equal(target) {
						ev.do()
					}
					c.roster(acme, users[acme], now)
					c.roster(umbrella, users[umbrella], now)
				}
			}

			c.checkInvoices(acme, []wantInvoice{
				{"subscription", "2026-01-31", "2026-02-28", []int64{3000}}, // 3 × $10
				{"subscription", "2026-02-28", "2026-03-31", []int64{3000}}, // anchor 31st: 28 Feb → 31 Mar
				{"change", "2026-03-18", "2026-03-31", []int64{2935}},       // round(7 × 1000 × 13/31) = round(2935.48)
				{"subscription", "2026-03-31", "2026-04-30", []int64{10000}},
				{"subscription", "2026-04-30", "2026-05-31", []int64{10000}},
				{"subscription", "2026-05-31", "2026-06-30", []int64{10000}},
				// credit round(10 × 1000 × 15/30) = 5000; a new year from 15 June: 10 × $100
				{"change", "2026-06-15", "2027-06-15", []int64{-5000, 100000}},
			})
			c.checkInvoices(umbrella, []wantInvoice{
				{"subscription", "2026-02-01", "2026-03-01", []int64{36000}}, // 20 × $18
				{"subscription", "2026-03-01", "2026-04-01", []int64{36000}},
				{"subscription", "2026-04-01", "2026-05-01", []int64{36000}},
				{"overage", "2026-04-01", "2026-05-01", []int64{7500}}, // (peak 23 − 20) × $25, whole period
				{"subscription", "2026-05-01", "2026-06-01", []int64{36000}},
				{"subscription", "2026-06-01", "2026-07-01", []int64{36000}},
				{"subscription", "2026-07-01", "2026-08-01", []int64{36000}},
				{"subscription", "2026-08-01", "2026-09-01", []int64{36000}},
				{"change", "2026-08-16", "2026-09-01", []int64{4645}},        // round(5 × 1800 × 16/31) = round(4645.16)
				{"subscription", "2026-09-01", "2026-10-01", []int64{45000}}, // 25 × $18
				{"subscription", "2026-10-01", "2026-11-01", []int64{45000}},
				{"subscription", "2026-11-01", "2026-12-01", []int64{45000}},
				{"subscription", "2026-12-01", "2027-01-01", []int64{45000}},
				{"subscription", "2027-01-01", "2027-02-01", []int64{45000}},
			})
		})
	}
}
