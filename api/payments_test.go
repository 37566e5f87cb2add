package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/gateway/testgateway"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// payBundle is an API on an engine that collects through the test gateway.
type payBundle struct {
	*testBundle
	clock *billing.FixedClock
	gw    *testgateway.Gateway
}

func setupPayments(t *testing.T, db *store.DB, start string) *payBundle {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	clock := billing.NewFixedClock(tm)
	db = db.WithClock(clock)
	gw := testgateway.New(clock)
	eng, err := engine.New(engine.Config{DB: db, Clock: clock, Gateway: gw, Payments: engine.PaymentConfig{GatewayName: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	holdsAtEnd(t, eng)
	ctx := billing.NewContextWithActor(context.Background(), billing.SystemActor)
	if err := eng.SeedCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	s := api.New(api.Config{
		Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db, Idempotency: db,
			Engine: eng, PaymentLabels: eng},
		Ready: db.Ping,
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	key, err := db.CreateAPIKey(ctx, &billing.APIKey{Name: "test operator", Role: billing.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	return &payBundle{testBundle: &testBundle{db: db, srv: srv, opKey: key}, clock: clock, gw: gw}
}

func card(number string, month, year int) map[string]any {
	return map[string]any{"card": map[string]any{"number": number, "exp_month": month, "exp_year": year, "cvc": "123", "name": "Ada Lovelace"}}
}

// billOn moves the clock to 01:00 UTC of day and runs what is due.
func (b *payBundle) billOn(t *testing.T, n, day string) []string {
	t.Helper()
	d, err := billing.ParseDate(day)
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Set(d.Midnight(time.UTC).Add(time.Hour))
	out := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/bill", b.opKey, nil)
	var steps []string
	for _, s := range out["steps"].([]any) {
		steps = append(steps, s.(map[string]any)["step"].(string))
	}
	return steps
}

func (b *payBundle) accountStatus(t *testing.T, n string) (string, string) {
	t.Helper()
	a := b.mustCall(t, 200, "GET", "/v1/accounts/"+n, b.opKey, nil)
	s := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/subscription", b.opKey, nil)
	return a["status"].(string), s["status"].(string)
}

func (b *payBundle) csv(t *testing.T, path, key string) [][]string {
	t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "history.csv") {
		t.Fatalf("GET %s = %d %s: %s", path, resp.StatusCode, resp.Header, raw)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestPaymentsAPI_DecliningCardToSuspensionAndBackWithHistory is the
// "Done when" through the API, as a new user would try it: a card that
// declines goes through the retry schedule to suspension; a manual retry
// is declined; a new card pays and restores; the history and its CSV say
// so.
func TestPaymentsAPI_DecliningCardToSuspensionAndBackWithHistory(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupPayments(t, db, "2026-03-10T15:00:00Z")
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		viewer := b.keyFor(t, n, billing.RoleViewer)

		added := b.mustCall(t, 201, "POST", "/v1/accounts/"+n+"/payment-methods", owner, card("4000 0000 0000 0341", 12, 2030))
		m := added["method"].(map[string]any)
		if m["label"] != "Visa •••• 0341" || m["default"] != true || field(m, "card", "last4") != "0341" {
			t.Fatalf("method = %v", m)
		}
		methods := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/payment-methods", viewer, nil)
		if items := methods["items"].([]any); len(items) != 1 {
			t.Fatalf("methods = %v", methods)
		}
		b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "seats": 3})
		inv := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/invoices/INV-2026-000001", owner, nil)
		if inv["status"] != "open" {
			t.Fatalf("invoice = %v", inv["status"])
		}
		for _, day := range []string{"2026-03-11", "2026-03-12", "2026-03-13", "2026-03-14", "2026-03-15", "2026-03-16", "2026-03-17"} {
			steps := b.billOn(t, n, day)
			want := map[string]string{"2026-03-11": "[payment_retry]", "2026-03-13": "[payment_retry]", "2026-03-15": "[payment_retry]",
				"2026-03-17": "[payment_retry past_due suspend]"}[day]
			if want == "" {
				want = "[]"
			}
			if fmt.Sprint(steps) != want {
				t.Fatalf("%s: steps %v, want %s", day, steps, want)
			}
		}
		if as, ss := b.accountStatus(t, n); as != "suspended" || ss != "past_due" {
			t.Fatalf("after the retries: %s %s", as, ss)
		}
		pays := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/payments?status=failed", viewer, nil)
		if pays["total"].(float64) != 5 {
			t.Fatalf("failed payments = %v", pays["total"])
		}
		first := pays["items"].([]any)[4].(map[string]any)
		if first["trigger"] != "initial" || first["failure_code"] != "card_declined" || first["method"] != "Visa •••• 0341" {
			t.Fatalf("first attempt = %v", first)
		}

		// A manual retry: refused for a viewer, declined for the owner.
		b.mustCall(t, 403, "POST", "/v1/invoices/INV-2026-000001/pay", viewer, nil)
		declined := b.mustCall(t, 402, "POST", "/v1/invoices/INV-2026-000001/pay", owner, nil)
		if declined["code"] != "card_declined" || declined["detail"] != "Your card was declined." {
			t.Fatalf("declined = %v", declined)
		}

		// A new card pays at once and restores the account.
		good := b.mustCall(t, 201, "POST", "/v1/accounts/"+n+"/payment-methods", owner, map[string]any{"token": "pm_card_visa"})
		retried := good["retried"].([]any)
		if len(retried) != 1 || field(retried[0], "status") != "succeeded" || field(retried[0], "trigger") != "new_method" {
			t.Fatalf("retried = %v", retried)
		}
		if as, ss := b.accountStatus(t, n); as != "active" || ss != "active" {
			t.Fatalf("after paying: %s %s", as, ss)
		}
		inv = b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/invoices/INV-2026-000001", owner, nil)
		if paid, _ := money(t, inv["amount_paid"]); inv["status"] != "paid" || paid != 3000 {
			t.Fatalf("invoice = %v %v", inv["status"], inv["amount_paid"])
		}
		b.mustCall(t, 409, "POST", "/v1/invoices/INV-2026-000001/pay", owner, nil)

		// A refund by the operator, an hour later.
		b.clock.Advance(time.Hour)
		ref := b.mustCall(t, 201, "POST", "/v1/invoices/INV-2026-000001/refunds", b.opKey, map[string]any{"amount": 500, "reason": "Goodwill"})
		if field(ref, "refund", "status") != "succeeded" || field(ref, "credit_note", "number") != "INV-2026-000002" ||
			field(ref, "credit_note", "payment_type") != "refund" {
			t.Fatalf("refund = %v", ref)
		}

		hist := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/history", viewer, nil)
		items := hist["items"].([]any)
		var got []string
		for _, it := range items {
			e := it.(map[string]any)
			amount, _ := money(t, e["amount"])
			credit, _ := money(t, e["credit"])
			bal, _ := money(t, e["credit_balance_after"])
			got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s|%v|%d|%d|%d|%v", e["date"], e["type"], e["summary"], e["statement"],
				e["charge_type"], e["status"], amount, credit, bal, e["pdf"]))
		}
		want := []string{
			"2026-03-10|invoice|Invoice INV-2026-000001 — Premium, 3 users|INV-2026-000001|card|paid|3000|0|0|/v1/accounts/" + n + "/invoices/INV-2026-000001/statement.pdf",
			"2026-03-17|payment|Payment by Visa •••• 4242|INV-2026-000001|card|succeeded|-3000|0|0|<nil>",
			"2026-03-17|credit_note|Credit note INV-2026-000002 for INV-2026-000001|INV-2026-000002|refund|issued|-500|0|0|/v1/accounts/" + n + "/invoices/INV-2026-000002/statement.pdf",
			"2026-03-17|refund|Refund to Visa •••• 4242 (credit note INV-2026-000002)|INV-2026-000001|refund|succeeded|500|0|0|<nil>",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The export is the console's format: the same columns, the same rows.
		rows := b.csv(t, "/v1/accounts/"+n+"/history.csv", viewer)
		if strings.Join(rows[0], ",") != "date,type,details,statement,charge_type,status,amount,credit,credit_balance,currency" ||
			len(rows) != len(items)+1 {
			t.Fatalf("csv = %v", rows)
		}
		for i, it := range items {
			e := it.(map[string]any)
			r := rows[i+1]
			amount, _ := money(t, e["amount"])
			credit, _ := money(t, e["credit"])
			bal, _ := money(t, e["credit_balance_after"])
			if r[0] != e["date"] || r[1] != e["type"] || r[2] != e["summary"] || r[3] != e["statement"] || r[4] != e["charge_type"] ||
				r[5] != e["status"] || r[6] != billing.NewMoney(amount, "USD").Decimal() || r[7] != billing.NewMoney(credit, "USD").Decimal() ||
				r[8] != billing.NewMoney(bal, "USD").Decimal() || r[9] != "USD" {
				t.Errorf("csv row %d = %v, json %v", i+1, r, e)
			}
		}
		if rows[2][6] != "-30.00" {
			t.Errorf("payment amount in csv = %s, want -30.00", rows[2][6])
		}
		filtered := b.csv(t, "/v1/accounts/"+n+"/history.csv?type=payment,refund&from=2026-03-17&to=2026-03-17", viewer)
		if len(filtered) != 3 || filtered[1][1] != "payment" || filtered[2][1] != "refund" {
			t.Fatalf("filtered csv = %v", filtered)
		}
		page := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/history?limit=3", viewer, nil)
		next := page["next_cursor"].(string)
		rest := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/history?limit=3&cursor="+next, viewer, nil)
		if len(page["items"].([]any)) != 3 || len(rest["items"].([]any)) != 1 || rest["next_cursor"] != nil ||
			field(rest["items"].([]any)[0], "type") != "refund" {
			t.Fatalf("pages = %v / %v", page, rest)
		}
	})
}

// payCounts is what a refused request must not move.
func payCounts(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"accounts", "invoices", "payments", "refunds", "payment_methods", "gateway_customers", "audit_events", "credit_transactions"} {
		var n int
		if err := db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	var paid, due int64
	if err := db.SQL().QueryRowContext(context.Background(), "SELECT coalesce(sum(amount_paid), 0), coalesce(sum(amount_due), 0) FROM invoices").Scan(&paid, &due); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "paid=%d due=%d", paid, due)
	return b.String()
}

// TestPaymentsAPI_BadInputIsRefusedAndChangesNothing: unknown and expired
// cards, negative and over-paying transfers, refunds above what was paid,
// another tenant's invoice, the wrong role: problem details, nothing
// written, and never a card number in an answer.
func TestPaymentsAPI_BadInputIsRefusedAndChangesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupPayments(t, db, "2026-05-04T15:00:00Z")
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		b.mustCall(t, 201, "POST", "/v1/accounts/"+n+"/payment-methods", owner, map[string]any{"token": "pm_card_visa"})
		b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", owner, map[string]any{"plan": "premium", "interval": "month", "seats": 2})

		// A contract account that pays by bank transfer.
		out := b.mustCall(t, 201, "POST", "/v1/accounts", b.opKey, map[string]any{"name": "Globex", "domain": "globex.example.com", "billing_type": "subscription"})
		g := out["number"].(string)
		otherOwner := b.keyFor(t, g, billing.RoleOwner)
		b.mustCall(t, 201, "POST", "/v1/accounts/"+g+"/payment-methods", b.opKey, map[string]any{"type": "ach",
			"bank": map[string]any{"bank_name": "First Bank", "account_holder": "Globex Inc", "account_last4": "6789"}})
		b.mustCall(t, 201, "POST", "/v1/accounts/"+g+"/contract", b.opKey, map[string]any{"number": "C-1", "term_start": "2026-05-04",
			"term_end": "2027-05-04", "prepaid": 5, "unit_amount": 20000, "interval": "year", "net_days": 30, "pay_by_invoice": true})
		contractInv := "INV-2026-000002"
		cinv := b.mustCall(t, 200, "GET", "/v1/accounts/"+g+"/invoices/"+contractInv, otherOwner, nil)
		if cinv["payment_type"] != "ach_eft" || cinv["status"] != "open" {
			t.Fatalf("contract invoice = %v %v", cinv["payment_type"], cinv["status"])
		}

		before := payCounts(t, db)
		tests := []struct {
			name, method, path, key string
			body                    any
			status                  int
			code                    string
		}{
			{"unknown card", "POST", "/v1/accounts/" + n + "/payment-methods", owner, card("4242 4242 4242 4241", 12, 2030), 422, "invalid"},
			{"expired card", "POST", "/v1/accounts/" + n + "/payment-methods", owner, card("4242 4242 4242 4242", 1, 2026), 422, "expired_card"},
			{"bad cvc", "POST", "/v1/accounts/" + n + "/payment-methods", owner, map[string]any{"card": map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "1"}}, 422, "invalid"},
			{"made-up token", "POST", "/v1/accounts/" + n + "/payment-methods", owner, map[string]any{"token": "tok_nope"}, 422, "invalid_token"},
			{"no card", "POST", "/v1/accounts/" + n + "/payment-methods", owner, map[string]any{}, 422, "invalid"},
			{"owner adds bank transfer", "POST", "/v1/accounts/" + g + "/payment-methods", otherOwner, map[string]any{"type": "ach", "bank": map[string]any{"account_holder": "X"}}, 403, "forbidden"},
			{"bank transfer online", "POST", "/v1/accounts/" + n + "/payment-methods", b.opKey, map[string]any{"type": "ach", "bank": map[string]any{"account_holder": "X"}}, 409, "bank_transfer_contracts_only"},
			{"negative transfer", "POST", "/v1/invoices/" + contractInv + "/payments", b.opKey, map[string]any{"amount": -100, "reference": "W-1", "received_on": "2026-05-04"}, 422, "invalid"},
			{"over-paying transfer", "POST", "/v1/invoices/" + contractInv + "/payments", b.opKey, map[string]any{"amount": 100000001, "reference": "W-1", "received_on": "2026-05-04"}, 422, "overpayment"},
			{"bad day", "POST", "/v1/invoices/" + contractInv + "/payments", b.opKey, map[string]any{"amount": 100, "reference": "W-1", "received_on": "May 4"}, 422, "invalid"},
			{"owner records transfer", "POST", "/v1/invoices/" + contractInv + "/payments", otherOwner, map[string]any{"amount": 100, "reference": "W-1", "received_on": "2026-05-04"}, 403, "forbidden"},
			{"refund above paid", "POST", "/v1/invoices/INV-2026-000001/refunds", b.opKey, map[string]any{"amount": 2001, "reason": "x"}, 422, "refund_exceeds_paid"},
			{"refund unpaid", "POST", "/v1/invoices/" + contractInv + "/refunds", b.opKey, map[string]any{"amount": 1, "reason": "x"}, 409, "not_refundable"},
			{"owner refunds", "POST", "/v1/invoices/INV-2026-000001/refunds", owner, map[string]any{"amount": 1, "reason": "x"}, 403, "forbidden"},
			{"another tenant's invoice", "POST", "/v1/invoices/INV-2026-000001/pay", otherOwner, nil, 404, "not_found"},
			{"another tenant's invoice by id", "POST", "/v1/invoices/1/pay", otherOwner, nil, 404, "not_found"},
			{"another tenant's history", "GET", "/v1/accounts/" + n + "/history", otherOwner, nil, 404, "not_found"},
			{"unknown invoice", "POST", "/v1/invoices/INV-2026-999999/pay", owner, nil, 404, "not_found"},
			{"paid invoice", "POST", "/v1/invoices/INV-2026-000001/pay", owner, nil, 409, "invoice_paid"},
			{"bank invoice by card", "POST", "/v1/invoices/" + contractInv + "/pay", otherOwner, nil, 409, "pay_by_bank_transfer"},
			{"bad history type", "GET", "/v1/accounts/" + n + "/history?type=bogus", owner, nil, 422, "invalid"},
			{"bad cursor", "GET", "/v1/accounts/" + n + "/history?cursor=zzz", owner, nil, 422, "invalid"},
		}
		for _, tc := range tests {
			status, out := b.call(t, tc.method, tc.path, tc.key, tc.body)
			if status != tc.status || out["code"] != tc.code || out["detail"] == "" {
				t.Errorf("%s: %d %v, want %d %s", tc.name, status, out, tc.status, tc.code)
			}
			if strings.Contains(fmt.Sprint(out), "4242424242424241") || strings.Contains(fmt.Sprint(out), "4242 4242 4242 4241") {
				t.Errorf("%s: the answer shows the card number: %v", tc.name, out)
			}
		}
		if after := payCounts(t, db); after != before {
			t.Fatalf("refused requests changed something:\n%s\n%s", before, after)
		}

		// The good ones, for contrast: a partial then a full transfer.
		part := b.mustCall(t, 201, "POST", "/v1/invoices/"+contractInv+"/payments", b.opKey, map[string]any{"amount": 40000, "reference": "W-1", "received_on": "2026-05-04"})
		if field(part, "invoice", "status") != "open" || field(part, "payment", "method") != "Bank transfer (First Bank •••• 6789)" {
			t.Fatalf("partial = %v", part)
		}
		due, _ := money(t, field(part, "invoice", "amount_due"))
		full := b.mustCall(t, 201, "POST", "/v1/invoices/"+contractInv+"/payments", b.opKey, map[string]any{"amount": due, "reference": "W-2", "received_on": "2026-05-04"})
		if field(full, "invoice", "status") != "paid" || field(full, "invoice", "payment_type") != "ach_eft" {
			t.Fatalf("full = %v", full)
		}
	})
}

// TestPaymentsAPI_PaidPlanNeedsAPaymentMethodUnlessPaidByInvoice: an online
// account with no payment method is refused a paid plan with a 422 problem,
// code payment_method_required, and nothing is written; an operator (not
// the owner) may set it to pay by invoice, and then the upgrade's invoice
// is a bank transfer's, due 30 days after issue, with no charge; with a
// card the upgrade is charged at once.
func TestPaymentsAPI_PaidPlanNeedsAPaymentMethodUnlessPaidByInvoice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupPayments(t, db, "2026-03-10T15:00:00Z")
		n := b.createAccount(t, "Initech", "initech.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		upgrade := map[string]any{"plan": "premium", "interval": "month", "users": "all"}

		i0, c0, e0 := countsOf(t, db)
		status, out := b.call(t, "POST", "/v1/accounts/"+n+"/subscription", owner, upgrade)
		if status != 422 || out["code"] != "payment_method_required" || out["detail"] == "" {
			t.Fatalf("upgrade with no card = %d %v", status, out)
		}
		if i1, c1, e1 := countsOf(t, db); i1 != i0 || c1 != c0 || e1 != e0 {
			t.Fatalf("a refused upgrade wrote: invoices %d→%d credits %d→%d events %d→%d", i0, i1, c0, c1, e0, e1)
		}
		if sub := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/subscription", owner, nil); field(sub, "plan", "code") != "free" {
			t.Fatalf("after the refusal the plan is %v", field(sub, "plan", "code"))
		}

		if status, out := b.call(t, "PATCH", "/v1/accounts/"+n, owner, map[string]any{"pay_by_invoice": true}); status != 403 {
			t.Fatalf("owner sets pay by invoice = %d %v", status, out)
		}
		a := b.mustCall(t, 200, "PATCH", "/v1/accounts/"+n, b.opKey, map[string]any{"pay_by_invoice": true})
		if a["pay_by_invoice"] != true {
			t.Fatalf("account = %v", a)
		}
		res := b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", owner, upgrade)
		inv := res["invoice"].(map[string]any)
		if inv["payment_type"] != "ach_eft" || inv["due_date"] != "2026-04-09" || inv["status"] != "open" || len(b.gw.Charges()) != 0 {
			t.Fatalf("invoice paid by invoice = %v, %d charges", inv, len(b.gw.Charges()))
		}

		// A contract says how it pays in its terms: the setting is refused.
		c := b.mustCall(t, 201, "POST", "/v1/accounts", b.opKey, map[string]any{"name": "Umbrella", "domain": "umbrella.example.com", "billing_type": "subscription"})["number"].(string)
		if status, out := b.call(t, "PATCH", "/v1/accounts/"+c, b.opKey, map[string]any{"pay_by_invoice": true}); status != 422 {
			t.Fatalf("pay by invoice on a contract = %d %v", status, out)
		}

		// With a card, the same upgrade is charged at once.
		m := b.createAccount(t, "Hooli", "hooli.example.com")
		hooli := b.keyFor(t, m, billing.RoleOwner)
		b.mustCall(t, 201, "POST", "/v1/accounts/"+m+"/payment-methods", hooli, card("4242 4242 4242 4242", 12, 2030))
		res = b.mustCall(t, 200, "POST", "/v1/accounts/"+m+"/subscription", hooli, upgrade)
		if inv := res["invoice"].(map[string]any); inv["payment_type"] != "card" {
			t.Fatalf("invoice paid by card = %v", inv)
		}
		if inv := b.mustCall(t, 200, "GET", "/v1/accounts/"+m+"/invoices/"+res["invoice"].(map[string]any)["number"].(string), hooli, nil); inv["status"] != "paid" {
			t.Fatalf("invoice charged to the card = %v", inv["status"])
		}
	})
}
