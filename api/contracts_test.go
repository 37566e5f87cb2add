package api_test

import (
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func TestContractAPI_CreateBillBuyAddOnsAndPreferences(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, clock := setupBilling(t, db, "2026-01-19T10:00:00Z")
		n := b.mustCall(t, 201, "POST", "/v1/accounts", b.opKey, map[string]any{"name": "Initech", "domain": "initech.example.com",
			"billing_type": "subscription"})["number"].(string)
		admin := b.keyFor(t, n, billing.RoleBillingAdmin)
		viewer := b.keyFor(t, n, billing.RoleViewer)

		created := b.mustCall(t, 201, "POST", "/v1/accounts/"+n+"/contract", b.opKey, map[string]any{
			"number": "C-2026-007", "term_start": "2026-02-01", "term_end": "2027-02-01", "prepaid": 100,
			"unit_amount": 1500, "interval": "month", "net_days": 30, "overage_unit_amount": 1800, "pay_by_invoice": true,
		})
		// The term starts on 1 Feb: nothing is billed yet.
		if steps := field(created, "billed", "steps").([]any); len(steps) != 0 {
			t.Fatalf("billed before the term: %v", steps)
		}
		if field(created, "subscription", "period", "start") != "2026-02-01" || field(created, "subscription", "plan", "code") != "enterprise" {
			t.Fatalf("created = %v", created)
		}
		c := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/contract", viewer, nil)
		if c["prepaid"].(float64) != 100 || c["in_use"].(float64) != 0 || c["available"].(float64) != 100 || c["on_join"] != "leave_free" {
			t.Fatalf("contract = %v", c)
		}
		status, out := b.call(t, "POST", "/v1/accounts/"+n+"/contract/subscriptions/preview", admin, map[string]any{"count": 10})
		if status != 409 || out["code"] != "period_not_current" {
			t.Fatalf("add-ons before the term = %d %v", status, out)
		}

		clock.Set(time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC))
		bill := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/bill", b.opKey, nil)
		steps := bill["steps"].([]any)
		first := steps[0].(map[string]any)
		if len(steps) != 1 || first["step"] != "period_invoice" || first["due"] != "2026-02-01" {
			t.Fatalf("bill = %v", bill)
		}
		// 100 × $15 in advance, due 1 Feb + 30 days = 3 Mar, by transfer.
		inv := first["invoice"].(map[string]any)
		if total, _ := money(t, inv["total"]); total != 150000 || inv["due_date"] != "2026-03-03" || inv["payment_type"] != "ach_eft" {
			t.Fatalf("first invoice = %v", inv)
		}

		preview := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/contract/subscriptions/preview", admin, map[string]any{"count": 10})
		bought := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/contract/subscriptions", admin, map[string]any{"count": 10})
		// 10 Feb – 28 Feb: 19 of 28 days; round(10 × $15 × 19/28) =
		// round(10178.57¢) = $101.79, due 10 Feb + 30 = 12 Mar.
		for _, res := range []map[string]any{preview, bought} {
			inv := res["invoice"].(map[string]any)
			line := inv["lines"].([]any)[0].(map[string]any)
			if a, _ := money(t, line["amount"]); a != 10179 || line["description"] != "Additional subscriptions: Enterprise — 10 users × 19 of 28 days" ||
				inv["due_date"] != "2026-03-12" {
				t.Errorf("add-on invoice = %v", inv)
			}
		}
		if field(bought, "subscription", "contract", "prepaid").(float64) != 110 || field(bought, "invoice", "number") != "INV-2026-000002" {
			t.Errorf("bought = %v", bought)
		}

		prefs := b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/preferences", admin, map[string]any{"on_join": "auto_increase", "on_end": "auto_increase"})
		if field(prefs, "contract", "on_end") != "auto_increase" || prefs["on_join"] != "auto_increase" {
			t.Errorf("preferences = %v", prefs)
		}
		b.mustCall(t, 403, "PUT", "/v1/accounts/"+n+"/preferences", viewer, map[string]any{"on_join": "refuse"})
	})
}
