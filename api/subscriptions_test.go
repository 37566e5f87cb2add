package api_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// setupBilling is setup with the billing engine, its clock stopped at start.
func setupBilling(t *testing.T, db *store.DB, start string) (*testBundle, *billing.FixedClock) {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	clock := billing.NewFixedClock(tm)
	db = db.WithClock(clock)
	eng, err := engine.New(engine.Config{DB: db, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	holdsAtEnd(t, eng)
	ctx := billing.NewContextWithActor(context.Background(), billing.SystemActor)
	if err := eng.SeedCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	s := api.New(api.Config{
		Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db, Engine: eng,
			Idempotency: db},
		Ready: db.Ping,
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	key, err := db.CreateAPIKey(ctx, &billing.APIKey{Name: "test operator", Role: billing.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{db: db, srv: srv, opKey: key}, clock
}

// money reads an Amount from a decoded answer.
func money(t *testing.T, v any) (int64, string) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an amount: %v", v)
	}
	return int64(m["amount"].(float64)), m["display"].(string)
}

func field(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestSubscriptionAPI_UpgradeWithPreviewTaxAndInvoices(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, clock := setupBilling(t, db, "2026-01-19T10:00:00Z")
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		viewer := b.keyFor(t, n, billing.RoleViewer)
		other := b.keyFor(t, b.createAccount(t, "Globex", "globex.example.com"), billing.RoleOwner)

		sub := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/subscription", viewer, nil)
		if field(sub, "plan", "code") != "free" || sub["paid"] != false || sub["seats"].(float64) != 0 {
			t.Fatalf("a new account's subscription = %v", sub)
		}
		b.mustCall(t, 200, "PUT", "/v1/tax-rates/US", b.opKey, map[string]any{"basis_points": 825})
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/profile", owner, goodProfile)

		body := map[string]any{"plan": "premium", "interval": "month", "seats": 3}
		preview := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription/preview", owner, body)
		inv := preview["invoice"].(map[string]any)
		// 3 × $10 for [19 Jan, 19 Feb); tax 8.25% of $30.00 = 247.5¢ →
		// $2.48 (half away from zero); total $32.48.
		if _, ok := inv["number"]; ok || inv["status"] != "draft" {
			t.Errorf("a preview is a draft without a number: %v", inv)
		}
		for name, want := range map[string]int64{"subtotal": 3000, "tax": 248, "total": 3248, "amount_due": 3248} {
			if got, _ := money(t, inv[name]); got != want {
				t.Errorf("preview %s = %d, want %d", name, got, want)
			}
		}
		if total, display := money(t, inv["total"]); total != 3248 || display != "$32.48" || inv["tax_rate"] != "8.25%" {
			t.Errorf("total %d %q tax rate %v", total, display, inv["tax_rate"])
		}
		line := inv["lines"].([]any)[0].(map[string]any)
		if line["description"] != "Premium — 3 users" || line["quantity"].(float64) != 3 || field(line, "period", "end") != "2026-02-19" {
			t.Errorf("line = %v", line)
		}
		if n, _, _ := countsOf(t, db); n != 0 {
			t.Fatalf("a preview wrote %d invoices", n)
		}

		b.mustCall(t, 403, "POST", "/v1/accounts/"+n+"/subscription", viewer, body)
		b.mustCall(t, 404, "POST", "/v1/accounts/"+n+"/subscription", other, body)
		confirmed := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", owner, body)
		cinv := confirmed["invoice"].(map[string]any)
		if cinv["number"] != "INV-2026-000001" || cinv["status"] != "open" || field(cinv, "billed_to", "company_name") != "Acme Corp" {
			t.Fatalf("confirmed invoice = %v", cinv)
		}
		for _, name := range []string{"subtotal", "credits_applied", "tax", "total", "amount_due"} {
			p, _ := money(t, inv[name])
			c, _ := money(t, cinv[name])
			if p != c {
				t.Errorf("%s: preview %d, confirm %d", name, p, c)
			}
		}
		if s := confirmed["subscription"].(map[string]any); s["seats"].(float64) != 3 || field(s, "period", "start") != "2026-01-19" {
			t.Errorf("after = %v", s)
		}

		// 7 more seats on 7 Feb: the period [19 Jan, 19 Feb) has 31 days,
		// 12 of them left; round(7 × $10 × 12/31) = round(2709.68¢) =
		// $27.10; tax 8.25% = 223.58¢ → $2.24.
		clock.Set(time.Date(2026, 2, 7, 9, 0, 0, 0, time.UTC))
		ch := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "seats": 10})
		l := ch["invoice"].(map[string]any)["lines"].([]any)[0].(map[string]any)
		if l["description"] != "Premium — 7 users × 12 of 31 days" || l["days"].(float64) != 12 || l["period_days"].(float64) != 31 {
			t.Errorf("line = %v", l)
		}
		if a, _ := money(t, l["amount"]); a != 2710 {
			t.Errorf("amount = %d", a)
		}
		if tax, _ := money(t, ch["invoice"].(map[string]any)["tax"]); tax != 224 {
			t.Errorf("tax = %d", tax)
		}

		list := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/invoices", viewer, nil)
		items := list["items"].([]any)
		if list["total"].(float64) != 2 || items[0].(map[string]any)["number"] != "INV-2026-000002" {
			t.Fatalf("invoices newest first = %v", list)
		}
		byNumber := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/invoices/INV-2026-000001", viewer, nil)
		id := int64(byNumber["id"].(float64))
		byID := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/invoices/"+itoa(id), viewer, nil)
		if byID["number"] != "INV-2026-000001" {
			t.Errorf("by id = %v", byID)
		}
		b.mustCall(t, 404, "GET", "/v1/accounts/"+n+"/invoices/INV-2026-000001", other, nil)
		otherN := b.createAccount(t, "Initech", "initech.example.com")
		b.mustCall(t, 404, "GET", "/v1/accounts/"+otherN+"/invoices/INV-2026-000001", b.opKey, nil)

		// Cancel, then the Account Summary says so.
		cancelled := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription/cancel", owner, nil)
		if cancelled["cancel_at_period_end"] != true || cancelled["renews_at"] != "2026-02-19T00:00:00Z" {
			t.Errorf("cancelled = %v", cancelled)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// countsOf returns the number of invoices, credit transactions and audit
// events.
func countsOf(t *testing.T, db *store.DB) (invoices, credits, events int) {
	t.Helper()
	for table, dst := range map[string]*int{"invoices": &invoices, "credit_transactions": &credits, "audit_events": &events} {
		if err := db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	return
}

func TestSubscriptionAPI_BadInputHasAStableCodeAndWritesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, _ := setupBilling(t, db, "2026-01-19T10:00:00Z")
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		platform := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "platform"})["secret"].(string)
		users := map[string]any{"users": []any{
			map[string]any{"user_id": "u1", "email": "u1@acme.example.com"},
			map[string]any{"user_id": "u2", "email": "u2@acme.example.com"},
		}}
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/managed-users", platform, users)
		b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "users": "all"})
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/preferences", owner, map[string]any{"on_join": "refuse"})
		euro := b.mustCall(t, 201, "POST", "/v1/accounts", b.opKey, map[string]any{"name": "Euro", "domain": "euro.example.com", "currency": "EUR"})["number"].(string)
		c := b.mustCall(t, 201, "POST", "/v1/accounts", b.opKey, map[string]any{"name": "Initech", "domain": "initech.example.com", "billing_type": "subscription"})["number"].(string)
		b.mustCall(t, 201, "POST", "/v1/accounts/"+c+"/contract", b.opKey, map[string]any{"number": "C-1", "term_start": "2026-01-01",
			"term_end": "2027-01-01", "prepaid": 10, "unit_amount": 1500, "interval": "month"})

		tests := []struct {
			name, method, path, key string
			body                    any
			status                  int
			code                    string
		}{
			{"unknown plan", "POST", "/v1/accounts/" + n + "/subscription", owner, map[string]any{"plan": "platinum", "interval": "month", "seats": 3}, 422, "unknown_plan"},
			{"unknown interval", "POST", "/v1/accounts/" + n + "/subscription/preview", owner, map[string]any{"plan": "premium", "interval": "week", "seats": 3}, 422, "unknown_interval"},
			{"fewer seats than users", "POST", "/v1/accounts/" + n + "/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "seats": 1}, 409, "seats_below_users"},
			{"negative seats", "POST", "/v1/accounts/" + n + "/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "seats": -4}, 422, "invalid"},
			{"seats and users", "POST", "/v1/accounts/" + n + "/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "seats": 4, "users": "all"}, 422, "invalid"},
			{"currency mismatch", "POST", "/v1/accounts/" + euro + "/subscription", b.opKey, map[string]any{"plan": "premium", "interval": "month", "seats": 1}, 422, "currency_mismatch"},
			{"cheaper plan on a contract", "POST", "/v1/accounts/" + c + "/subscription", b.opKey, map[string]any{"plan": "premium", "interval": "month", "seats": 10}, 409, "contract_terms"},
			{"negative count", "POST", "/v1/accounts/" + c + "/contract/subscriptions", b.opKey, map[string]any{"count": -1}, 422, "invalid"},
			{"add-ons online", "POST", "/v1/accounts/" + n + "/contract/subscriptions/preview", owner, map[string]any{"count": 1}, 409, "not_a_contract"},
			{"seat exhausted", "PUT", "/v1/accounts/" + n + "/managed-users/u3", platform, map[string]any{"email": "u3@acme.example.com"}, 409, "seats_exhausted"},
			{"owner bills", "POST", "/v1/accounts/" + n + "/bill", owner, nil, 403, "forbidden"},
			{"owner creates a contract", "POST", "/v1/accounts/" + c + "/contract", owner, map[string]any{"number": "C-2", "term_start": "2026-01-01", "term_end": "2027-01-01", "prepaid": 1, "unit_amount": 1, "interval": "month"}, 403, "forbidden"},
			{"contract on online", "POST", "/v1/accounts/" + n + "/contract", b.opKey, map[string]any{"number": "C-2", "term_start": "2026-01-01", "term_end": "2027-01-01", "prepaid": 1, "unit_amount": 1, "interval": "month"}, 409, "not_contract_account"},
			{"bad term date", "POST", "/v1/accounts/" + c + "/contract", b.opKey, map[string]any{"number": "C-2", "term_start": "2026-02-30", "term_end": "2027-01-01", "prepaid": 1, "unit_amount": 1, "interval": "month"}, 422, "invalid"},
			{"owner sets tax", "PUT", "/v1/tax-rates/FR", owner, map[string]any{"basis_points": 2000}, 403, "forbidden"},
			{"tax over 100%", "PUT", "/v1/tax-rates/FR", b.opKey, map[string]any{"basis_points": 20000}, 422, "invalid"},
			{"unknown country", "PUT", "/v1/tax-rates/XX", b.opKey, map[string]any{"basis_points": 2000}, 422, "invalid"},
			{"credit note by owner", "POST", "/v1/invoices/INV-2026-000001/credit-notes", owner, map[string]any{"amount": 1, "reason": "x"}, 403, "forbidden"},
			{"credit note too big", "POST", "/v1/invoices/INV-2026-000001/credit-notes", b.opKey, map[string]any{"amount": 999999, "reason": "x"}, 422, "credit_exceeds_invoice"},
			{"cancel free", "POST", "/v1/accounts/" + euro + "/subscription/cancel", b.opKey, nil, 409, "not_paid"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				i0, c0, e0 := countsOf(t, db)
				status, out := b.call(t, tt.method, tt.path, tt.key, tt.body)
				if status != tt.status || out["code"] != tt.code || out["detail"] == "" {
					t.Fatalf("= %d %v, want %d %s", status, out, tt.status, tt.code)
				}
				if i1, c1, e1 := countsOf(t, db); i1 != i0 || c1 != c0 || e1 != e0 {
					t.Errorf("wrote: invoices %d→%d credits %d→%d events %d→%d", i0, i1, c0, c1, e0, e1)
				}
			})
		}
	})
}
