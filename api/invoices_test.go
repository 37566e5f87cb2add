package api_test

import (
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func TestInvoicesAPI_BillTwiceCreditNoteAndLedger(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, clock := setupBilling(t, db, "2026-01-19T10:00:00Z")
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "seats": 2})

		clock.Set(time.Date(2026, 3, 19, 0, 0, 0, 0, time.UTC))
		first := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/bill", b.opKey, nil)
		var got []string
		for _, s := range first["steps"].([]any) {
			got = append(got, s.(map[string]any)["step"].(string)+" "+s.(map[string]any)["due"].(string))
		}
		want := []string{"renewal 2026-02-19", "period_invoice 2026-02-19", "renewal 2026-03-19", "period_invoice 2026-03-19"}
		if len(got) != len(want) {
			t.Fatalf("steps = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("steps = %v, want %v", got, want)
			}
		}
		again := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/bill", b.opKey, nil)
		if steps := again["steps"].([]any); len(steps) != 0 {
			t.Fatalf("a second run billed %v", steps)
		}

		// A credit note of $5.00 on the first invoice; the balance pays part
		// of the next one.
		note := b.mustCall(t, 201, "POST", "/v1/invoices/INV-2026-000001/credit-notes", b.opKey, map[string]any{"amount": 500, "reason": "Goodwill"})
		if note["kind"] != "credit_note" || note["number"] != "INV-2026-000004" || note["corrects_invoice_id"] == nil {
			t.Fatalf("credit note = %v", note)
		}
		if total, display := money(t, note["total"]); total != -500 || display != "-$5.00" {
			t.Errorf("credit note total = %d %s", total, display)
		}
		credits := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/credits", owner, nil)
		item := credits["items"].([]any)[0].(map[string]any)
		if bal, _ := money(t, credits["balance"]); bal != 500 || item["reason"] != "refund" {
			t.Fatalf("credits = %v", credits)
		}
		clock.Set(time.Date(2026, 4, 19, 0, 0, 0, 0, time.UTC))
		b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/bill", b.opKey, nil)
		last := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/invoices/INV-2026-000005", owner, nil)
		// 2 × $10 − $5.00 credit = $15.00.
		if c, _ := money(t, last["credits_applied"]); c != 500 {
			t.Errorf("credits applied = %d", c)
		}
		if due, _ := money(t, last["amount_due"]); due != 1500 {
			t.Errorf("amount due = %d", due)
		}
		credits = b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/credits", owner, nil)
		if bal, _ := money(t, credits["balance"]); bal != 0 || credits["total"].(float64) != 2 {
			t.Errorf("credits after = %v", credits)
		}
	})
}
