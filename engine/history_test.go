package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// TestHistory_ChronologicalWithRunningCreditBalanceAndCursor: the signup
// credit, an invoice that uses it, the card payment, a refund with its
// credit note, a bank of rows paged by cursor and filtered by type and day.
func TestHistory_ChronologicalWithRunningCreditBalanceAndCursor(t *testing.T) {
	forEachPayStore(t, "2026-03-01T15:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Acme Corp", func(a *billing.Account) { a.TimeZone = "America/Los_Angeles" })
		p.addCard(t, a, "4242424242424242")
		p.clock.Set(time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC))
		inv := p.upgrade(t, a, 3) // $30 less the $5 signup credit
		p.clock.Set(time.Date(2026, 3, 5, 18, 0, 0, 0, time.UTC))
		if _, err := p.eng.RefundInvoice(p.ctx, inv.ID, engine.RefundRequest{Amount: 1000, Reason: "Goodwill"}); err != nil {
			t.Fatal(err)
		}
		// One seat more on the 10th: a change invoice, paid at once.
		p.clock.Set(time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC))
		if _, err := p.eng.ConfirmChange(p.ctx, a.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 4}); err != nil {
			t.Fatal(err)
		}

		page, err := p.eng.History(p.ctx, a.ID, engine.HistoryQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Entries {
			got = append(got, fmt.Sprintf("%s %s %q %s %s %d %d", e.Date, e.Type, e.Summary, e.Statement, e.ChargeType,
				e.Amount.Amount, e.CreditBalanceAfter.Amount))
		}
		want := []string{
			`2026-03-01 credit "Signup credit"  credit_redeem 500 500`,
			`2026-03-02 invoice "Invoice INV-2026-000001 — Premium, 3 users" INV-2026-000001 card 2500 0`,
			`2026-03-02 credit "Applied to INV-2026-000001" INV-2026-000001 credit_redeem -500 0`,
			`2026-03-02 payment "Payment by Visa •••• 4242" INV-2026-000001 card -2500 0`,
			`2026-03-05 credit_note "Credit note INV-2026-000002 for INV-2026-000001" INV-2026-000002 refund -1000 0`,
			`2026-03-05 refund "Refund to Visa •••• 4242 (credit note INV-2026-000002)" INV-2026-000001 refund 1000 0`,
			`2026-03-10 invoice "Invoice INV-2026-000003 — Premium, 1 user" INV-2026-000003 card %d 0`,
			`2026-03-10 payment "Payment by Visa •••• 4242" INV-2026-000003 card -%d 0`,
		}
		if len(page.Entries) != len(want) || page.NextCursor != "" {
			t.Fatalf("history:\n%s", strings.Join(got, "\n"))
		}
		change := page.Entries[6].Amount.Amount
		for i := range want {
			w := want[i]
			if strings.Contains(w, "%d") {
				w = fmt.Sprintf(w, change)
			}
			if got[i] != w {
				t.Errorf("row %d:\n got  %s\n want %s", i+1, got[i], w)
			}
		}

		// Pages of 3 by cursor are the same rows, in the same order.
		var paged []string
		cursor := ""
		for range 10 {
			pg, err := p.eng.History(p.ctx, a.ID, engine.HistoryQuery{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range pg.Entries {
				paged = append(paged, fmt.Sprintf("%s %d", e.Type, e.ID))
			}
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		var all []string
		for _, e := range page.Entries {
			all = append(all, fmt.Sprintf("%s %d", e.Type, e.ID))
		}
		if strings.Join(paged, ",") != strings.Join(all, ",") {
			t.Errorf("paged %v, want %v", paged, all)
		}

		// Filters: type, and days in the account's zone.
		from, to := payDate("2026-03-02"), payDate("2026-03-05")
		pg, err := p.eng.History(p.ctx, a.ID, engine.HistoryQuery{From: &from, To: &to, Types: []string{"payment,refund"}})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range pg.Entries {
			kinds = append(kinds, string(e.Type)+" "+e.Date.String())
		}
		if strings.Join(kinds, ", ") != "payment 2026-03-02, refund 2026-03-05" {
			t.Errorf("filtered = %v", kinds)
		}
		for _, bad := range []engine.HistoryQuery{{Types: []string{"bogus"}}, {Cursor: "not-a-cursor"}, {From: &to, To: &from}} {
			_, err := p.eng.History(p.ctx, a.ID, bad)
			wantErrCode(t, err, billing.EINVALID)
		}
	}, func(c *engine.Config) { c.SignupCredit = 500 })
}
