package console_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store/storetest"
)

// TestBrowser_BillingHistoryAgreesWithTheMoney reads the Billing History of
// an account with a $10 credit note as its owner does: one row per invoice
// at its total, with the credits it used in the same row; the credit note
// goes to the credit balance and is not also taken from what is owed, so
// the amounts add up to what is owed ($0.00); the credits balance moves
// only on rows with credits; every invoice row has a status and a PDF.
func TestBrowser_BillingHistoryAgreesWithTheMoney(t *testing.T) {
	browser := startBrowser(t)
	b := setup(t, storetest.OpenSQLite(t))
	b.setAcmeProfile(t)
	b.roster(t, b.acme, 3)
	ctx := opsCtx()
	if _, err := b.eng.AddCard(ctx, b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
		t.Fatal(err)
	}
	res, err := b.eng.ConfirmChange(ctx, b.acme.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAll})
	if err != nil || res.Invoice == nil {
		t.Fatalf("upgrade: %v", err)
	}
	b.clock.Set(engineStart.Add(24 * time.Hour))
	if _, err := b.eng.IssueCreditNote(ctx, res.Invoice.ID, engine.CreditNoteRequest{Amount: 1000, Reason: "One seat unused"}); err != nil {
		t.Fatal(err)
	}
	// The three users are active the day before the renewal, which uses
	// the $10 of the credit note: $30 − $10 = $20.
	b.clock.Set(time.Date(2027, time.April, 9, 12, 0, 0, 0, time.UTC))
	active := b.clock.Now()
	users := make([]billing.ManagedUser, 3)
	for i := range users {
		users[i] = billing.ManagedUser{AccountID: b.acme.ID, UserID: "u" + strconv.Itoa(i+1), Email: "user" + strconv.Itoa(i+1) + "@acme.test",
			Status: billing.ManagedUserStatus("active"), LastActiveAt: &active}
	}
	if _, err := b.eng.ReplaceManagedUsers(ctx, b.acme.ID, users); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(time.Date(2027, time.April, 10, 12, 0, 0, 0, time.UTC))
	if _, err := b.eng.BillAccount(ctx, b.acme.ID); err != nil {
		t.Fatal(err)
	}
	invs := b.invoices(t, b.acme)
	if len(invs) != 3 || invs[0].CreditsApplied.Amount != 1000 || invs[0].Total.Amount != 2000 {
		for _, i := range invs {
			t.Logf("%s %s %s lines %d credits %s total %s", i.Number, i.Kind, i.Status, len(i.Lines), i.CreditsApplied, i.Total)
		}
		t.Fatalf("invoices: %d", len(invs))
	}

	p := newTab(t, browser, b)
	p.signIn(ownerEmail, password)
	n := b.acme.Number
	p.open("/accounts/" + n + "/history")
	p.says("Billing History", "DATE TRANSACTION DETAILS CHARGE TYPE STATUS AMOUNT CREDITS CREDITS BALANCE STATEMENT")
	rows, err := chromedp.Run(p.ctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("table.history tbody tr")).map(tr =>
		Array.from(tr.cells).map(td => td.innerText.trim().replace(/\s+/g, " ")))`))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.Join(strings.Fields(strings.Join(r, " | ")), " "))
	}
	t.Logf("rows, newest first:\n%s", strings.Join(lines, "\n"))
	want := []string{
		"Apr 10, 2027 | Payment by Visa •••• 4242 | Card | Succeeded | -$20.00 | | $0.00 |",
		"Apr 10, 2027 | Invoice " + invs[0].Number + " — Premium, 3 users | Card | Paid | $20.00 | -$10.00 | $0.00 | PDF of " + invs[0].Number,
		"Mar 11, 2027 | Credit note " + invs[1].Number + " for " + invs[2].Number + ", to the credit balance | Credit note | Issued | $0.00 | +$10.00 | $10.00 | PDF of " + invs[1].Number,
		"Mar 10, 2027 | Payment by Visa •••• 4242 | Card | Succeeded | -$30.00 | | $0.00 |",
		"Mar 10, 2027 | Invoice " + invs[2].Number + " — Premium, 3 users | Card | Paid | $30.00 | | $0.00 | PDF of " + invs[2].Number,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// The rules, whatever the words: amounts sum to what is owed, the
	// balance moves only on rows with credits, invoices have a status and a
	// PDF.
	var owed, sum, balance int64
	for _, inv := range invs {
		if inv.Status == billing.InvoiceOpen {
			owed += inv.AmountDue.Amount
		}
	}
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		sum += cents(t, r[4])
		if got := cents(t, r[6]); got != balance+cents(t, r[5]) {
			t.Errorf("%q: the balance moved from %d to %d", lines[i], balance, got)
		}
		balance = cents(t, r[6])
		if strings.HasPrefix(r[1], "Invoice ") && (r[3] == "" || !strings.HasPrefix(r[7], "PDF")) {
			t.Errorf("%q: an invoice without a status or a PDF", lines[i])
		}
		if strings.Contains(r[1], "Applied to") {
			t.Errorf("%q: a second row for an invoice's credits", lines[i])
		}
	}
	if sum != owed {
		t.Errorf("the amounts sum to %d; the account owes %d", sum, owed)
	}
	pdf := p.fetch("/accounts/" + n + "/invoices/" + invs[1].Number + "/pdf")
	if !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Errorf("the credit note's PDF link gave %q", pdf[:min(len(pdf), 40)])
	}
	p.shot("billing-history-credit-note", true)
}

// cents reads "$1,234.56", "-$10.00", "+$10.00" or "" as cents.
func cents(t *testing.T, s string) int64 {
	t.Helper()
	s = strings.NewReplacer("$", "", ",", "", "+", "", "−", "-").Replace(strings.TrimSpace(s))
	if s == "" {
		return 0
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("not an amount: %q", s)
	}
	v := w*100 + f
	if neg {
		v = -v
	}
	return v
}
