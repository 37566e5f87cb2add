package statement_test

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/statement"
	"github.com/kore-billing/korebill/store/storetest"
)

func d(s string) billing.Date {
	dt, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return dt
}

func seatLine(t *testing.T, kind billing.LineKind, plan string, unit billing.Money, users int64, p billing.Period, from string) billing.InvoiceLine {
	t.Helper()
	l, err := billing.SeatLine(kind, plan, unit, users, p, d(from))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// finalize computes a draft's totals against balance, then gives it a
// number and a status as the engine would.
func finalize(t *testing.T, inv *billing.Invoice, balance billing.Money, number string, status billing.InvoiceStatus) *billing.Invoice {
	t.Helper()
	if _, err := inv.Compute(balance); err != nil {
		t.Fatal(err)
	}
	inv.Number, inv.Status = number, status
	if status == billing.InvoicePaid {
		inv.AmountPaid, inv.AmountDue = inv.Total, billing.Zero(inv.Currency)
		if inv.AmountPaid.Amount < 0 {
			inv.AmountPaid.Amount = 0
		}
	}
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	return inv
}

var acme = billing.BilledTo{
	CompanyName: "Acme Corp", ContactName: "Ada Lovelace",
	Address: billing.Address{Line1: "1 Market St", Line2: "Suite 300", City: "San Francisco", Region: "CA", PostalCode: "94105", Country: "US"},
	Phone:   "+14155550132", Email: "billing@acme.example.com", TaxID: "US-12-3456789",
}

// changeInvoice: 3 users of Premium at $10 become 8 on day 12 of a 31-day
// period, 20 days left: a credit of round(3 × $10 × 20/31) = $19.35 and a
// charge of round(8 × $10 × 20/31) = $51.61; $5 of credits, 8.25% US tax
// on $27.26 = 224.9¢ → $2.25, total $29.51.
func changeInvoice(t *testing.T) (*billing.Invoice, *billing.Account) {
	a := &billing.Account{Number: "KB-000042", Name: "Acme Corp", AccountType: billing.AccountEnterprise, Currency: "USD", TimeZone: "America/Los_Angeles"}
	period := billing.Period{Start: d("2026-01-19"), End: d("2026-02-19")}
	usd := billing.NewMoney(1000, "USD")
	inv := &billing.Invoice{
		AccountNumber: a.Number, AccountType: a.AccountType, Kind: billing.InvoiceChange, Currency: "USD",
		Period: period, IssueDate: d("2026-01-30"), PaymentType: billing.InvoicePaymentCard, BilledTo: acme,
		TaxRateBP: 825, TaxCountry: "US",
		Lines: []billing.InvoiceLine{
			seatLine(t, billing.LineCredit, "Premium", usd, 3, period, "2026-01-30"),
			seatLine(t, billing.LineCharge, "Premium", usd, 8, period, "2026-01-30"),
		},
	}
	return finalize(t, inv, billing.NewMoney(500, "USD"), "INV-2026-000042", billing.InvoicePaid), a
}

// jpyInvoice: 7 users of Premium at ¥1,200 for a whole month, 10% Japanese
// tax: ¥8,400 + ¥840 = ¥9,240, due in 30 days by bank transfer.
func jpyInvoice(t *testing.T) (*billing.Invoice, *billing.Account) {
	a := &billing.Account{Number: "KB-000007", Name: "Tanaka KK", AccountType: billing.AccountEnterprise, Currency: "JPY", TimeZone: "Asia/Tokyo"}
	period := billing.Period{Start: d("2026-04-01"), End: d("2026-05-01")}
	due := d("2026-05-01")
	inv := &billing.Invoice{
		AccountNumber: a.Number, AccountType: a.AccountType, Kind: billing.InvoiceSubscription, Currency: "JPY",
		Period: period, IssueDate: d("2026-04-01"), DueDate: &due, PaymentType: billing.InvoicePaymentACH,
		BilledTo: billing.BilledTo{CompanyName: "Tanaka KK", ContactName: "Hanako Tanaka",
			Address: billing.Address{Line1: "1-2-3 Marunouchi", City: "Chiyoda-ku", Region: "Tokyo", PostalCode: "100-0005", Country: "JP"},
			Email:   "keiri@tanaka.example.jp"},
		TaxRateBP: 1000, TaxCountry: "JP",
		Lines: []billing.InvoiceLine{seatLine(t, billing.LineCharge, "Premium", billing.NewMoney(1200, "JPY"), 7, period, "2026-04-01")},
	}
	return finalize(t, inv, billing.Zero("JPY"), "INV-2026-000107", billing.InvoiceOpen), a
}

// creditNote gives back €10.00 of an invoice: total -€10.00, to the credit
// balance.
func creditNote(t *testing.T) (*billing.Invoice, *billing.Account) {
	a := &billing.Account{Number: "KB-000019", Name: "Müller GmbH", AccountType: billing.AccountIndividual, Currency: "EUR", TimeZone: "Europe/Berlin"}
	period := billing.Period{Start: d("2026-03-01"), End: d("2026-04-01")}
	corrects := int64(5)
	amount := billing.NewMoney(1000, "EUR")
	inv := &billing.Invoice{
		AccountNumber: a.Number, AccountType: a.AccountType, Kind: billing.InvoiceCreditNote, Currency: "EUR",
		Period: period, IssueDate: d("2026-03-15"), PaymentType: billing.InvoicePaymentCredit, CorrectsInvoiceID: &corrects,
		BilledTo: billing.BilledTo{CompanyName: "Müller GmbH", ContactName: "Jürgen Müller",
			Address: billing.Address{Line1: "Friedrichstraße 12", City: "Berlin", PostalCode: "10117", Country: "DE"},
			Email:   "buchhaltung@mueller.example.de", TaxID: "DE123456789"},
		Lines: []billing.InvoiceLine{{Description: "Credit for INV-2026-000005: One seat was never used.", Kind: billing.LineCredit,
			Quantity: 1, UnitAmount: amount, Amount: amount.Neg(), Period: period}},
	}
	return finalize(t, inv, billing.Zero("EUR"), "INV-2026-000009", billing.InvoicePaid), a
}

// longInvoice has 60 lines, some long enough to wrap: it spans pages.
func longInvoice(t *testing.T) (*billing.Invoice, *billing.Account) {
	a := &billing.Account{Number: "KB-000100", Name: "Globex", AccountType: billing.AccountEnterprise, Currency: "GBP", TimeZone: "Europe/London"}
	period := billing.Period{Start: d("2026-06-01"), End: d("2026-07-01")}
	inv := &billing.Invoice{
		AccountNumber: a.Number, AccountType: a.AccountType, Kind: billing.InvoiceOverage, Currency: "GBP",
		Period: period, IssueDate: d("2026-07-01"), PaymentType: billing.InvoicePaymentCard,
		BilledTo: billing.BilledTo{CompanyName: "Globex", Address: billing.Address{Line1: "10 Downing St", City: "London", PostalCode: "SW1A 2AA", Country: "GB"},
			Email: "ap@globex.example.co.uk"},
		TaxRateBP: 2000, TaxCountry: "GB",
	}
	for i := 1; i <= 60; i++ {
		from := period.Start.AddDays(i % 30)
		l := seatLine(t, billing.LineCharge, fmt.Sprintf("Team %02d", i), billing.NewMoney(int64(800+i), "GBP"), int64(i%7+1), period, from.String())
		if i%10 == 0 {
			l.Description += " — seats added by the Kore platform when new managed users joined the team during the period"
		}
		inv.Lines = append(inv.Lines, l)
	}
	return finalize(t, inv, billing.Zero("GBP"), "INV-2026-000200", billing.InvoiceOpen), a
}

// want lists what a statement must say.
type want struct {
	texts []string // each appears in the HTML and in the PDF
	not   []string // appears in neither
}

// expect is what every statement says: each line's description, users,
// days and amount, and the breakdown.
func expect(data statement.Data) []string {
	out := []string{data.Title, data.Number, data.IssueDate, data.AccountID, data.AccountType,
		"Subtotal", data.Subtotal, "Discount credits", data.Credits, data.TaxLabel, data.Tax, "Total", data.Total,
		"Amount paid", data.AmountPaid, "Amount due", data.AmountDue, data.Status, "Billed To", "Kore Billing"}
	if data.PaymentType != "" {
		out = append(out, data.PaymentType)
	}
	for _, l := range data.Lines {
		out = append(out, l.Description, l.Users, l.Days, l.UnitPrice, l.Amount)
	}
	return out
}

func TestStatement_Rendering(t *testing.T) {
	tests := []struct {
		name  string
		build func(*testing.T) (*billing.Invoice, *billing.Account)
		opt   statement.Options
		want  want
		pages int
	}{
		{
			name:  "prorated change with a credit and a charge line",
			build: changeInvoice,
			opt:   statement.Options{PaymentMethod: "Visa •••• 4242"},
			want: want{texts: []string{
				"Invoice", "INV-2026-000042", "Paid", "Acme Corp", "Ada Lovelace", "1 Market St", "Suite 300",
				"San Francisco, CA 94105", "United States", "billing@acme.example.com", "+1 415-555-0132", "Tax ID: US-12-3456789",
				"Jan 30, 2026", "Card", "Visa •••• 4242", "KB-000042", "Company (enterprise account)", "Jan 19, 2026 – Feb 18, 2026",
				"Unused time on Premium — 3 users × 20 of 31 days", "Premium — 8 users × 20 of 31 days",
				"20 of 31 days", "$10.00", "-$19.35", "$51.61",
				"$32.26", "-$5.00", "Tax (8.25%, United States)", "$2.25", "$29.51", "$0.00",
			}, not: []string{"Due date", "Credit note",
				// The invoice number once, not again as a "Billing ID"; and
				// the account's type never as a bare plan name.
				"Billing ID", "Account type Enterprise"}},
			pages: 1,
		},
		{
			name:  "JPY has no decimals",
			build: jpyInvoice,
			want: want{texts: []string{
				"INV-2026-000107", "Open", "Japan", "Apr 1, 2026", "Due date", "May 1, 2026", "ACH/EFT",
				"Premium — 7 users", "full period", "¥1,200", "¥8,400", "Tax (10%, Japan)", "¥840", "¥9,240", "¥0",
				"Apr 1, 2026 – Apr 30, 2026",
			}, not: []string{"¥9,240.00", ".00"}},
			pages: 1,
		},
		{
			name:  "credit note",
			build: creditNote,
			opt:   statement.Options{CreditBalance: ptr(billing.NewMoney(1250, "EUR"))},
			want: want{texts: []string{
				"Credit note", "Credit note number", "INV-2026-000009", "Müller GmbH", "Jürgen Müller", "Friedrichstraße 12",
				"10117", "Germany", "Tax ID: DE123456789", "Credit redeem", "Individual",
				"Credit for INV-2026-000005: One seat was never used.", "-€10.00", "€10.00", "Discount credits balance", "€12.50",
			}, not: []string{"Invoice number"}},
			pages: 1,
		},
		{
			name:  "sixty lines span pages",
			build: longInvoice,
			want: want{texts: []string{
				"INV-2026-000200", "United Kingdom", "Team 01 — 2 users × 29 of 30 days", "Team 60 — 5 users",
				"Tax (20%, United Kingdom)", "Page 1 of 3", "Page 2 of 3", "(continued)",
			}},
			pages: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, a := tt.build(t)
			data := statement.New(inv, a, tt.opt)
			texts := append(expect(data), tt.want.texts...)

			var h bytes.Buffer
			if err := statement.HTML(&h, data); err != nil {
				t.Fatal(err)
			}
			text := htmlText(h.String())
			for _, s := range texts {
				if strings.HasPrefix(s, "Page ") || s == "(continued)" {
					continue // the PDF's pages
				}
				if !strings.Contains(text, s) {
					t.Errorf("HTML lacks %q", s)
				}
			}
			for _, s := range tt.want.not {
				if strings.Contains(text, s) {
					t.Errorf("HTML says %q", s)
				}
			}

			var p bytes.Buffer
			if err := statement.PDF(&p, data); err != nil {
				t.Fatal(err)
			}
			pdfText, pages := pdfToText(t, p.Bytes())
			flat := flatten(pdfText)
			for _, s := range texts {
				if !strings.Contains(pdfText, s) && !strings.Contains(flat, flatten(s)) {
					t.Errorf("PDF lacks %q", s)
				}
			}
			for _, s := range tt.want.not {
				if strings.Contains(pdfText, s) {
					t.Errorf("PDF says %q", s)
				}
			}
			if pages != tt.pages {
				t.Errorf("PDF has %d pages, want %d", pages, tt.pages)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestStatement_PDFIsDeterministic: the same invoice renders the same
// bytes, so that a stored or compared statement does not change.
func TestStatement_PDFIsDeterministic(t *testing.T) {
	inv, a := changeInvoice(t)
	data := statement.New(inv, a, statement.Options{})
	var x, y bytes.Buffer
	if err := statement.PDF(&x, data); err != nil {
		t.Fatal(err)
	}
	if err := statement.PDF(&y, data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Error("two renderings of one statement differ")
	}
	if !bytes.HasPrefix(x.Bytes(), []byte("%PDF-")) {
		t.Errorf("not a PDF: %q", x.Bytes()[:min(16, x.Len())])
	}
}

func TestStatement_PaperFollowsTheBillingCountry(t *testing.T) {
	us, a := changeInvoice(t)
	jp, b := jpyInvoice(t)
	for _, tt := range []struct {
		data   statement.Data
		letter bool
		size   string // pdfinfo's "Page size" in points
	}{
		{statement.New(us, a, statement.Options{}), true, "612 x 792"},
		{statement.New(jp, b, statement.Options{}), false, "595.28 x 841.89"},
	} {
		if tt.data.Letter != tt.letter {
			t.Errorf("%s: Letter = %v", tt.data.Number, tt.data.Letter)
		}
		var p bytes.Buffer
		if err := statement.PDF(&p, tt.data); err != nil {
			t.Fatal(err)
		}
		info := pdfInfo(t, p.Bytes())
		if !strings.Contains(info, tt.size) {
			t.Errorf("%s: pdfinfo says\n%s\nwant page size %s", tt.data.Number, info, tt.size)
		}
	}
}

func TestStatement_DraftAndMarkup(t *testing.T) {
	inv, a := changeInvoice(t)
	inv.Number, inv.Status = "", billing.InvoiceDraft
	data := statement.New(inv, a, statement.Options{})
	if data.Number != "Draft" || data.Status != "Draft" {
		t.Errorf("a draft: number %q, status %q", data.Number, data.Status)
	}
	var h bytes.Buffer
	if err := statement.HTML(&h, data); err != nil {
		t.Fatal(err)
	}
	out := h.String()
	for _, s := range []string{
		`<article class="statement"`, `<caption>Transactions</caption>`, `<caption>Breakdown</caption>`,
		`<th scope="col">Description</th>`, `<th scope="col" class="num">Amount</th>`, `<th scope="row">Total</th>`,
		`<tr class="statement-credit"><th scope="row"><span dir="auto">Unused time on Premium`, `statement-status-draft`, `<address>`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("HTML lacks %s", s)
		}
	}
	// Text is escaped, never markup.
	inv.BilledTo.CompanyName = `<script>alert(1)</script>`
	h.Reset()
	if err := statement.HTML(&h, statement.New(inv, a, statement.Options{})); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.String(), "<script>") {
		t.Error("the company name was not escaped")
	}
	for _, s := range []string{"@media print", "break-inside: avoid", ".statement"} {
		if !strings.Contains(statement.CSS, s) {
			t.Errorf("CSS lacks %s", s)
		}
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// htmlText is the text of an HTML fragment, as a person reads it.
func htmlText(s string) string {
	return html.UnescapeString(tagRE.ReplaceAllString(s, " "))
}

// flatten joins a text's words with single spaces, so that a description
// the PDF wrapped still matches; pdftotext's layout puts the other columns
// between its lines, so flatten joins only what runs on.
func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

func needPoppler(t *testing.T, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		storetest.SkipOrFail(t, tool+" (poppler-utils) is not installed: apt-get install poppler-utils")
	}
	return path
}

// pdfToText returns the PDF's text as pdftotext -layout reads it, and its
// number of pages. A description wrapped over lines is read without
// layout, where the column's lines follow each other.
func pdfToText(t *testing.T, pdf []byte) (string, int) {
	t.Helper()
	tool := needPoppler(t, "pdftotext")
	file := filepath.Join(t.TempDir(), "statement.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, args := range [][]string{{"-layout", file, "-"}, {file, "-"}} {
		out, err := exec.Command(tool, args...).Output()
		if err != nil {
			t.Fatalf("pdftotext %v: %v", args, err)
		}
		all.Write(out)
		all.WriteString("\n")
	}
	layout, _ := exec.Command(tool, "-layout", file, "-").Output()
	return all.String(), strings.Count(string(layout), "\f")
}

func pdfInfo(t *testing.T, pdf []byte) string {
	t.Helper()
	tool := needPoppler(t, "pdfinfo")
	file := filepath.Join(t.TempDir(), "statement.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, file).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	return string(out)
}
