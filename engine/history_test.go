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
			got = append(got, fmt.Sprintf("%s %s %q %s %s %s %d %d %d", e.Date, e.Type, e.Summary, e.Statement, e.ChargeType,
				e.Status, e.Amount.Amount, e.Credit.Amount, e.CreditBalanceAfter.Amount))
		}
		// One row for the invoice, at its total with the signup credit it
		// used; the refund's credit note settles the refund, so it counts
		// against what is owed: the amounts sum to 0, nothing owed.
		want := []string{
			`2026-03-01 credit "Signup credit"  signup_credit  0 500 500`,
			`2026-03-02 invoice "Invoice INV-2026-000001 — Premium, 3 users" INV-2026-000001 card paid 2500 -500 0`,
			`2026-03-02 payment "Payment by Visa •••• 4242" INV-2026-000001 card succeeded -2500 0 0`,
			`2026-03-05 credit_note "Credit note INV-2026-000002 for INV-2026-000001" INV-2026-000002 refund issued -1000 0 0`,
			`2026-03-05 refund "Refund to Visa •••• 4242 (credit note INV-2026-000002)" INV-2026-000001 refund succeeded 1000 0 0`,
			`2026-03-10 invoice "Invoice INV-2026-000003 — Premium, 1 user" INV-2026-000003 card paid %d 0 0`,
			`2026-03-10 payment "Payment by Visa •••• 4242" INV-2026-000003 card succeeded -%d 0 0`,
		}
		if len(page.Entries) != len(want) || page.NextCursor != "" {
			t.Fatalf("history:\n%s", strings.Join(got, "\n"))
		}
		change := page.Entries[5].Amount.Amount
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

// TestHistory_OneRowPerInvoiceAmountsSumToWhatIsOwed states the history's
// rules on a signup credit, a credit note of $10 to the credit balance, an
// inactivity credit and invoices that use them: one row per invoice at its
// total with the credits it applied in that row (no "Applied to" row); a
// credit named for what it is; a credit note to the balance not also
// subtracted from what is owed, so the amounts of all rows sum to what is
// owed; the credit balance moves only on rows with a credit, by that
// credit; every invoice row has a status.
func TestHistory_OneRowPerInvoiceAmountsSumToWhatIsOwed(t *testing.T) {
	forEachStore(t, "2026-03-01T10:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		if err := b.users(t, a, 2); err != nil {
			t.Fatal(err)
		}
		b.confirm(t, a, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAll})
		first := b.invoices(t, a)[0]
		b.clock.Set(mustTime("2026-03-05T10:00:00Z"))
		if _, err := b.eng.IssueCreditNote(b.ctx, first.ID, engine.CreditNoteRequest{Amount: 1000, Reason: "Goodwill"}); err != nil {
			t.Fatal(err)
		}
		active := func(id, at string) {
			t.Helper()
			b.clock.Set(mustTime(at))
			now := b.clock.Now()
			if err := b.eng.UpsertManagedUser(b.ctx, &billing.ManagedUser{AccountID: a.ID, UserID: id, Email: id + "@example.com", LastActiveAt: &now}); err != nil {
				t.Fatal(err)
			}
		}
		active("u2", "2026-03-14T10:00:00Z")
		b.clock.Set(mustTime("2026-03-17T10:00:00Z"))
		wantSteps(t, b.bill(t, a), "inactivity_credits 2026-03-17")
		active("u2", "2026-03-28T10:00:00Z")
		b.clock.Set(mustTime("2026-04-01T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-04-01", "period_invoice 2026-04-01")
		active("u2", "2026-04-10T10:00:00Z")
		active("u1", "2026-04-11T10:00:00Z")

		page, err := b.eng.History(b.ctx, a.ID, engine.HistoryQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Entries {
			got = append(got, fmt.Sprintf("%s %s %q %s %s %s %d %d %d", e.Date, e.Type, e.Summary, e.Statement, e.ChargeType,
				e.Status, e.Amount.Amount, e.Credit.Amount, e.CreditBalanceAfter.Amount))
		}
		t.Logf("history:\n%s", strings.Join(got, "\n"))

		invoices := b.invoices(t, a)
		var owed, invoiceRows, sum int64
		for _, inv := range invoices {
			if inv.Kind == billing.InvoiceCreditNote {
				continue
			}
			invoiceRows++
			if inv.Status == billing.InvoiceOpen || inv.Status == billing.InvoiceUncollectible {
				owed += inv.AmountDue.Amount
			}
		}
		balance := int64(0)
		rows := map[string]int64{}
		for i, e := range page.Entries {
			rows[string(e.Type)]++
			sum += e.Amount.Amount
			if strings.HasPrefix(e.Summary, "Applied to") {
				t.Errorf("row %d is a second row for an invoice's credits: %s", i+1, got[i])
			}
			if e.CreditBalanceAfter.Amount != balance+e.Credit.Amount {
				t.Errorf("row %d: the balance moved from %d to %d on a credit of %d: %s", i+1, balance,
					e.CreditBalanceAfter.Amount, e.Credit.Amount, got[i])
			}
			balance = e.CreditBalanceAfter.Amount
			switch e.Type {
			case "invoice":
				if e.Status != "paid" && e.Status != "open" && e.Status != "failed" && e.Status != "void" {
					t.Errorf("row %d: invoice status %q", i+1, e.Status)
				}
			case "credit":
				if e.Amount.Amount != 0 {
					t.Errorf("row %d: a credit counted in what is owed: %s", i+1, got[i])
				}
				if e.ChargeType == string(billing.InvoicePaymentCredit) {
					t.Errorf("row %d: a credit granted is labelled as credit redeemed: %s", i+1, got[i])
				}
			}
		}
		if rows["invoice"] != invoiceRows {
			t.Errorf("%d invoice rows for %d invoices", rows["invoice"], invoiceRows)
		}
		if sum != owed {
			t.Errorf("the amounts sum to %d; the account owes %d", sum, owed)
		}
		if now := b.balance(t, a); balance != now {
			t.Errorf("the last row's balance is %d; the account's is %d", balance, now)
		}

		want := []string{
			`2026-03-01 credit "Signup credit"  signup_credit  0 500 500`,
			`2026-03-01 invoice "Invoice INV-2026-000001 — Premium, 2 users" INV-2026-000001 card open 1500 -500 0`,
			`2026-03-05 credit_note "Credit note INV-2026-000002 for INV-2026-000001, to the credit balance" INV-2026-000002 credit_note issued 0 1000 1000`,
			`2026-03-17 credit "Inactivity credit — u1@example.com, 15 days without activity — 1 user × 16 of 31 days"  inactivity_credit  0 516 1516`,
			`2026-04-01 invoice "Invoice INV-2026-000003 — Premium, 1 user (1 inactive user not charged)" INV-2026-000003 credit_redeem paid 0 -1000 516`,
			`2026-04-11 invoice "Invoice INV-2026-000004 — Premium, 1 user" INV-2026-000004 card open 151 -516 0`,
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}, signupCredit(500))
}
