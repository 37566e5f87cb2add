// Package statement renders one invoice as people read it: an HTML fragment
// that the console embeds in its layout (with CSS, its stylesheet) and a PDF.
//
// DESIGN.md: "Invoice (the statement) … Shown as a page and as a PDF." Both
// show the same Data, in the same order, with the same words, so that what a
// person reads on screen is what they download.
//
// It renders billing values only: it must not import the store, the engine,
// net/http or database drivers. Callers load the invoice and the account and
// call New, then HTML or PDF.
package statement

import (
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/kore-billing/korebill/billing"
)

// Data is everything a statement shows, already formatted: money through
// billing.Money.String (so in the account's currency, JPY without
// decimals), dates as "Jan 2, 2006" in the account's time zone (invoice
// dates are local dates already). Build it with New; the fields are
// exported so that the console can show parts of it elsewhere.
type Data struct {
	Title  string                // "Invoice" or "Credit note"
	Number string                // "INV-2026-000042", or "Draft" before finalization
	Status string                // "Draft", "Open", "Paid", "Void" or "Uncollectible"
	State  billing.InvoiceStatus // the status code, for the badge's CSS class

	BilledTo BilledTo

	IssueDate     string // "Mar 12, 2026"
	DueDate       string // "" when charged at once
	PaymentType   string // "Card", "ACH/EFT", "Credit redeem" or "Refund"; "" when not yet known
	PaymentMethod string // "Visa •••• 4242"; "" when not known
	AccountID     string // "KB-000042"
	AccountType   string // "Company (enterprise account)" or "Individual"
	ServicePeriod string // "Jan 19, 2026 – Feb 18, 2026": first and last day, both included

	Lines []Line

	Subtotal      string
	Credits       string // discount credits applied, shown negative ("-$5.00")
	TaxLabel      string // "Tax (8.25%, United States)"
	Tax           string
	Total         string
	AmountPaid    string
	AmountDue     string
	CreditBalance string // "" unless the caller passed Options.CreditBalance

	// Letter is true when the PDF is printed on US Letter (a US billing
	// address) rather than A4.
	Letter bool
	// Issued is the issue date at midnight UTC: the PDF's creation date, so
	// that the same invoice always renders the same bytes.
	Issued time.Time
}

// BilledTo is the billing contact as printed.
type BilledTo struct {
	Company string
	Contact string
	Address []string // "1 Market St", "San Francisco, CA 94105", "United States"
	Email   string
	Phone   string // "+1 415-555-0132"
	TaxID   string
}

// Line is one transaction: the users and the days charged or credited.
type Line struct {
	Description string
	Users       string // "3"
	Days        string // "20 of 30 days" or "full period"
	UnitPrice   string // per user for a whole period
	Amount      string // negative for a credit
	Credit      bool
}

// Options are what a statement may show that the invoice does not hold.
type Options struct {
	// PaymentMethod names the card or account charged: "Visa •••• 4242".
	PaymentMethod string
	// CreditBalance, when set, is shown under the breakdown as the
	// account's discount credits balance.
	CreditBalance *billing.Money
}

// New builds the statement of inv for account a (a may be nil: the invoice
// carries the account number and type it was issued with).
func New(inv *billing.Invoice, a *billing.Account, opt Options) Data {
	d := Data{
		Title:         "Invoice",
		Number:        inv.Number,
		Status:        statusLabel(inv.Status),
		State:         inv.Status,
		BilledTo:      billedTo(inv.BilledTo),
		IssueDate:     formatDate(inv.IssueDate),
		PaymentType:   paymentTypeLabel(inv.PaymentType),
		PaymentMethod: opt.PaymentMethod,
		AccountID:     inv.AccountNumber,
		AccountType:   accountTypeLabel(inv.AccountType),
		ServicePeriod: formatPeriod(inv.Period),
		Subtotal:      money(inv.Subtotal, inv.Currency),
		Credits:       money(inv.CreditsApplied.Neg(), inv.Currency),
		TaxLabel:      taxLabel(inv.TaxRateBP, inv.TaxCountry),
		Tax:           money(inv.Tax, inv.Currency),
		Total:         money(inv.Total, inv.Currency),
		AmountPaid:    money(inv.AmountPaid, inv.Currency),
		AmountDue:     money(inv.AmountDue, inv.Currency),
		Letter:        inv.BilledTo.Address.Country == "US",
		Issued:        time.Date(inv.IssueDate.Year, inv.IssueDate.Month, inv.IssueDate.Day, 0, 0, 0, 0, time.UTC),
	}
	if inv.Kind == billing.InvoiceCreditNote {
		d.Title = "Credit note"
	}
	if d.Number == "" || inv.Status == billing.InvoiceDraft {
		d.Number = "Draft"
	}
	if inv.DueDate != nil {
		d.DueDate = formatDate(*inv.DueDate)
	}
	if d.AccountID == "" && a != nil {
		d.AccountID = a.Number
	}
	if d.AccountType == "" && a != nil {
		d.AccountType = accountTypeLabel(a.AccountType)
	}
	if d.BilledTo.Company == "" && a != nil {
		d.BilledTo.Company = a.Name
	}
	if d.ServicePeriod == "" {
		d.ServicePeriod = formatPeriod(linesPeriod(inv.Lines))
	}
	if opt.CreditBalance != nil {
		d.CreditBalance = opt.CreditBalance.String()
	}
	for _, l := range inv.Lines {
		d.Lines = append(d.Lines, Line{
			Description: l.Description,
			Users:       strconv.FormatInt(l.Quantity, 10),
			Days:        daysLabel(l),
			UnitPrice:   money(l.UnitAmount, inv.Currency),
			Amount:      money(l.Amount, inv.Currency),
			Credit:      l.Kind == billing.LineCredit,
		})
	}
	return d
}

// money formats m, taking the invoice's currency for a zero amount that has
// none (an invoice read back with no credits applied).
func money(m billing.Money, currency string) string {
	if m.Currency == "" {
		m.Currency = currency
	}
	return m.String()
}

func statusLabel(s billing.InvoiceStatus) string {
	switch s {
	case billing.InvoiceOpen:
		return "Open"
	case billing.InvoicePaid:
		return "Paid"
	case billing.InvoiceVoid:
		return "Void"
	case billing.InvoiceUncollectible:
		return "Uncollectible"
	}
	return "Draft"
}

func paymentTypeLabel(t billing.InvoicePaymentType) string {
	switch t {
	case billing.InvoicePaymentCard:
		return "Card"
	case billing.InvoicePaymentACH:
		return "ACH/EFT"
	case billing.InvoicePaymentCredit:
		return "Credit redeem"
	case billing.InvoicePaymentRefund:
		return "Refund"
	}
	return ""
}

func accountTypeLabel(t billing.AccountType) string {
	switch t {
	case billing.AccountEnterprise:
		// Not "Enterprise" alone: that is also a plan's name, and a
		// Premium statement saying "Enterprise" reads as the wrong plan.
		return "Company (enterprise account)"
	case billing.AccountIndividual:
		return "Individual"
	}
	return string(t)
}

// daysLabel says how much of its period a line bills: "20 of 30 days" for
// a prorated line, "full period" for a whole one.
func daysLabel(l billing.InvoiceLine) string {
	if l.Proration && l.PeriodDays > 0 {
		return strconv.Itoa(l.Days) + " of " + strconv.Itoa(l.PeriodDays) + " days"
	}
	return "full period"
}

func taxLabel(bp int, country string) string {
	var parts []string
	if bp > 0 || country != "" {
		parts = append(parts, billing.FormatBasisPoints(bp))
	}
	if country != "" {
		parts = append(parts, billing.CountryName(country))
	}
	if len(parts) == 0 {
		return "Tax"
	}
	return "Tax (" + strings.Join(parts, ", ") + ")"
}

const dateLayout = "Jan 2, 2006" // as the console shows dates

func formatDate(d billing.Date) string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format(dateLayout)
}

// formatPeriod shows a period's first and last day: periods are [start,
// end), and a person reads "Jan 19 – Feb 18" as both days included.
func formatPeriod(p billing.Period) string {
	if p.IsZero() || !p.Start.Before(p.End) {
		return ""
	}
	return formatDate(p.Start) + " – " + formatDate(p.End.AddDays(-1))
}

// linesPeriod is the span of the lines' service periods, for an invoice
// without a period of its own.
func linesPeriod(lines []billing.InvoiceLine) billing.Period {
	var p billing.Period
	for _, l := range lines {
		if l.Period.IsZero() {
			continue
		}
		if p.IsZero() || l.Period.Start.Before(p.Start) {
			p.Start = l.Period.Start
		}
		if p.End.IsZero() || l.Period.End.After(p.End) {
			p.End = l.Period.End
		}
	}
	return p
}

func billedTo(b billing.BilledTo) BilledTo {
	out := BilledTo{Company: b.CompanyName, Contact: b.ContactName, Email: b.Email, TaxID: b.TaxID, Phone: displayPhone(b.Phone)}
	addr := b.Address
	for _, s := range []string{addr.Line1, addr.Line2} {
		if s = strings.TrimSpace(s); s != "" {
			out.Address = append(out.Address, s)
		}
	}
	// "San Francisco, CA 94105": the city, then the region and postal code.
	city := strings.TrimSpace(addr.City)
	rest := strings.TrimSpace(strings.TrimSpace(addr.Region) + " " + strings.TrimSpace(addr.PostalCode))
	switch {
	case city != "" && rest != "":
		out.Address = append(out.Address, city+", "+rest)
	case city != "" || rest != "":
		out.Address = append(out.Address, city+rest)
	}
	if addr.Country != "" {
		out.Address = append(out.Address, billing.CountryName(addr.Country))
	}
	return out
}

// displayPhone shows a stored E.164 number in the international format
// ("+1 415-555-0132"), or as it is when it does not parse.
func displayPhone(s string) string {
	if s == "" {
		return ""
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil {
		return s
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}
