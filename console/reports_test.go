package console_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// rowText is the text of the table row of table id whose header cell
// starts with head.
func rowText(t *testing.T, body, id, head string) string {
	t.Helper()
	table := regexp.MustCompile(`(?s)<table[^>]*id="` + id + `".*?</table>`).FindString(body)
	for _, row := range regexp.MustCompile(`(?s)<tr>.*?</tr>`).FindAllString(table, -1) {
		if txt := text(row); strings.HasPrefix(txt, head) {
			return txt
		}
	}
	t.Fatalf("table %s has no row %q:\n%s", id, head, text(table))
	return ""
}

func TestDashboard_MRRRevenueAndReceivablesWithTheAccountsBehindThem(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		// Acme (New York) upgrades on 10 Mar 2027 to Premium monthly for 3
		// users, with a card that declines: the invoice stays open.
		if _, err := b.eng.AddCard(opsCtx(), b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa_chargeDeclined"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.eng.ConfirmChange(opsCtx(), b.acme.ID, engine.ChangeRequest{Plan: engine.PlanPremium,
			Interval: billing.Month, Seats: 3}); err != nil {
			t.Fatal(err)
		}
		ops := signedIn(t, b, operatorEmail)
		if ops.last.Request.URL.Path != "/dashboard" {
			t.Fatalf("an operator's home is %s, want the dashboard", ops.last.Request.URL.Path)
		}
		status, body := ops.get("/dashboard")
		if status != http.StatusOK {
			t.Fatalf("dashboard: %d\n%s", status, text(body))
		}
		// MRR 3 × $10; ARR 12 × $30.
		says(t, body, "MRR $30.00", "ARR $360.00", "Paying accounts 1", "Receivables $30.00")
		// March 2027: Acme is new at $30.00, and the figure links to it.
		if row := rowText(t, body, "mrr-table", "Mar 27"); !strings.HasPrefix(row, "Mar 27 $30.00 1 $30.00 Acme Corp") {
			t.Errorf("March's MRR row: %q", row)
		}
		if !strings.Contains(body, `<a href="/accounts/`+b.acme.Number+`">Acme Corp</a>`) {
			t.Error("the new MRR does not link to Acme")
		}
		// $30.00 over 10 Mar – 10 Apr, 31 days: 3000 ÷ 31 = 96 a day; March
		// has 22 of them: $21.12 recognized, $8.88 deferred.
		if row := rowText(t, body, "revenue-table", "Mar 27"); row != "Mar 27 $30.00 $0.00 $21.12 $8.88" {
			t.Errorf("March's revenue row: %q", row)
		}
		if row := rowText(t, body, "aging-table", "Current"); row != "Current $30.00 1 Acme Corp" {
			t.Errorf("current receivables: %q", row)
		}
		// The charts are inline SVG with a text alternative and no style
		// attribute (the CSP forbids them).
		// Collections: the $30.00 was invoiced and its payment failed; the
		// renewal on 10 Apr is past the 30 days from 10 Mar (to 8 Apr).
		if row := rowText(t, body, "collections-table", "Mar 27"); row != "Mar 27 $30.00 $0.00" {
			t.Errorf("March's collections row: %q", row)
		}
		if row := rowText(t, body, "dunning-table", "Failed"); row != "Failed 1 Acme Corp" {
			t.Errorf("the funnel's top: %q", row)
		}
		if row := rowText(t, body, "dunning-table", "Still open"); row != "Still open 1 Acme Corp" {
			t.Errorf("still open: %q", row)
		}
		says(t, body, "0 renewals from Mar 10, 2027 to Apr 8, 2027")
		if n := strings.Count(body, `<svg class="chart"`); n != 6 || strings.Contains(body, "style=") {
			t.Errorf("%d charts; style attribute: %v", n, strings.Contains(body, "style="))
		}
		says(t, body, "MRR at each month's end, last 12 months")

		status, csv := ops.get("/reports/revenue.csv")
		if status != 200 || !strings.Contains(csv, "total,,2027-03,30.00,0.00,21.12,8.88,USD") ||
			!strings.Contains(csv, "account,"+b.acme.Number+",2027-03,,,21.12,,USD") {
			t.Errorf("revenue.csv %d:\n%s", status, csv)
		}
		if status, _ := ops.get("/reports/nothing.csv"); status != http.StatusNotFound {
			t.Errorf("an unknown report: %d", status)
		}

		owner := signedIn(t, b, ownerEmail)
		// The account's own Billing History shows its spend per month, as of
		// its own time, in its own currency.
		status, body = owner.get("/accounts/" + b.acme.Number + "/history")
		if status != 200 {
			t.Fatalf("history: %d", status)
		}
		if row := rowText(t, body, "spend-table", "Mar 27"); row != "Mar 27 $30.00 $0.00" {
			t.Errorf("Acme's spend in March: %q", row)
		}
		if n := strings.Count(body, "<tr><th scope=\"row\">"); n != 12 || !strings.Contains(body, `id="spend-chart-title"`) {
			t.Errorf("%d spend months; chart: %v", n, strings.Contains(body, `id="spend-chart-title"`))
		}
		gina := signedIn(t, b, globexEmail)
		_, body = gina.get("/accounts/" + b.globex.Number + "/history")
		if row := rowText(t, body, "spend-table", "Mar 27"); row != "Mar 27 €0.00 €0.00" {
			t.Errorf("Globex's spend in March: %q", row)
		}
		for _, path := range []string{"/dashboard", "/reports/mrr.csv"} {
			if status, _ := owner.get(path); status != http.StatusNotFound {
				t.Errorf("an account owner at %s: %d", path, status)
			}
		}
	})
}
