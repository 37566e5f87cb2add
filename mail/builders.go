package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"github.com/kore-billing/korebill/billing"
)

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// Receipt is what a payment receipt says.
type Receipt struct {
	AccountNumber string
	InvoiceNumber string // "" for a payment of no invoice
	Amount        billing.Money
	Method        string // as shown: "Visa ending 4242", "Bank transfer"
	Reference     string // the payment's reference, for support
	PaidOn        billing.Date
}

// FailedPayment is what a payment-failed email says.
type FailedPayment struct {
	AccountNumber string
	InvoiceNumber string
	Amount        billing.Money
	Method        string // as shown: "Visa ending 0002"
	Reason        string // the gateway's reason, safe to show
	// NextRetry is the day of the next automatic attempt; nil after the
	// last one.
	NextRetry *billing.Date
}

// data is what every template reads.
type data struct {
	Subject       string
	ContactName   string
	CompanyName   string
	AccountNumber string
	HasAttachment bool
	Invoice       *billing.Invoice
	Receipt       *Receipt
	Failed        *FailedPayment
	Card          *billing.Card
	Reminder      *Reminder // payment_reminder and invoice_overdue (reminders.go)
}

var funcs = map[string]any{
	"money":  func(m billing.Money) string { return m.String() },
	"date":   formatDate,
	"period": formatPeriod,
	"card":   cardName,
	"expiry": func(c *billing.Card) string { return fmt.Sprintf("%s %d", time.Month(c.ExpMonth), c.ExpYear) },
}

func formatDate(d any) string {
	switch v := d.(type) {
	case billing.Date:
		return time.Date(v.Year, v.Month, v.Day, 0, 0, 0, 0, time.UTC).Format("January 2, 2006")
	case *billing.Date:
		if v == nil {
			return ""
		}
		return formatDate(*v)
	}
	return fmt.Sprint(d)
}

// formatPeriod shows [start, end) by its first and last days.
func formatPeriod(p billing.Period) string {
	if p.Start.IsZero() || p.End.IsZero() {
		return ""
	}
	return formatDate(p.Start) + " to " + formatDate(p.End.AddDays(-1))
}

func cardName(c *billing.Card) string {
	brand := map[billing.CardBrand]string{
		billing.CardVisa: "Visa", billing.CardMastercard: "Mastercard", billing.CardAmex: "American Express",
		billing.CardDiscover: "Discover",
	}[c.Brand]
	if brand == "" {
		brand = "card"
	}
	return brand + " ending " + c.Last4
}

type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var byKind = func() map[Kind]templates {
	out := map[Kind]templates{}
	for _, k := range Kinds() {
		name := string(k)
		out[k] = templates{
			text: texttemplate.Must(texttemplate.New(name+".txt").Funcs(funcs).
				ParseFS(templateFS, "templates/"+name+".txt")),
			html: htmltemplate.Must(htmltemplate.New("layout.html").Funcs(funcs).
				ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")),
		}
	}
	return out
}()

// build renders kind's templates into a message to the profile's contact,
// with its extra invoice emails in Cc when cc is set.
func build(kind Kind, p *billing.BillingProfile, cc bool, subject string, d data) (*Message, error) {
	if p == nil {
		return nil, billing.ReasonErrorf(billing.ESTATE, "profile_not_set", "The account has no billing profile: there is no one to email.")
	}
	d.Subject, d.ContactName, d.CompanyName = subject, p.ContactName, p.CompanyName
	t := byKind[kind]
	var text, html bytes.Buffer
	if err := t.text.Execute(&text, d); err != nil {
		return nil, fmt.Errorf("mail: render %s text: %w", kind, err)
	}
	if err := t.html.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("mail: render %s html: %w", kind, err)
	}
	m := &Message{
		AccountID: p.AccountID, AccountNumber: d.AccountNumber, Kind: kind,
		To: []string{p.Email}, Subject: subject, Text: text.String(), HTML: html.String(),
	}
	if cc {
		m.Cc = append(m.Cc, p.InvoiceEmails...)
	}
	return m, m.Validate()
}

// InvoiceIssued is the email that an invoice was issued, to the billing
// contact with the extra invoice emails in Cc, with the invoice's PDF
// attached when one is given.
func InvoiceIssued(p *billing.BillingProfile, inv *billing.Invoice, attachments ...Attachment) (*Message, error) {
	if inv == nil || inv.Number == "" {
		return nil, billing.Errorf(billing.EINVALID, "Only a finalized invoice, with a number, can be emailed.")
	}
	subject := fmt.Sprintf("Invoice %s: %s", inv.Number, inv.Total)
	if !inv.AmountDue.IsZero() && inv.DueDate != nil {
		subject += ", due " + formatDate(inv.DueDate)
	}
	m, err := build(KindInvoiceIssued, p, true, subject,
		data{AccountNumber: inv.AccountNumber, Invoice: inv, HasAttachment: len(attachments) > 0})
	if err != nil {
		return nil, err
	}
	m.Attachments = attachments
	return m, m.Validate()
}

// PaymentReceipt confirms a payment, to the billing contact with the extra
// invoice emails in Cc.
func PaymentReceipt(p *billing.BillingProfile, r Receipt) (*Message, error) {
	subject := fmt.Sprintf("Payment received: %s", r.Amount)
	if r.InvoiceNumber != "" {
		subject += " for invoice " + r.InvoiceNumber
	}
	return build(KindPaymentReceipt, p, true, subject, data{AccountNumber: r.AccountNumber, Receipt: &r})
}

// PaymentFailed tells the billing contact that a payment failed and when it
// will be tried again.
func PaymentFailed(p *billing.BillingProfile, f FailedPayment) (*Message, error) {
	subject := fmt.Sprintf("Payment of %s failed", f.Amount)
	if f.NextRetry != nil {
		subject += "; we will try again on " + formatDate(f.NextRetry)
	} else {
		subject += "; action needed"
	}
	return build(KindPaymentFailed, p, false, subject, data{AccountNumber: f.AccountNumber, Failed: &f})
}

// CardExpiring tells the billing contact that the card on file expires at
// the end of its expiry month.
func CardExpiring(p *billing.BillingProfile, accountNumber string, card billing.Card) (*Message, error) {
	if card.ExpMonth < 1 || card.ExpMonth > 12 {
		return nil, billing.Errorf(billing.EINVALID, "Card expiry month %d is not a month.", card.ExpMonth)
	}
	subject := fmt.Sprintf("Your %s expires at the end of %s %d", cardName(&card), time.Month(card.ExpMonth), card.ExpYear)
	return build(KindCardExpiring, p, false, subject, data{AccountNumber: accountNumber, Card: &card})
}
