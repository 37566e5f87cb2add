package mail_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
)

var profile = &billing.BillingProfile{
	AccountID: 1, CompanyName: "Acme <Corp> & Sons", ContactName: "Ada Lovelace",
	Email: "billing@acme.example.com", InvoiceEmails: []string{"ap@acme.example.com"},
}

func TestBuilders_SubjectRecipientsAndAmounts(t *testing.T) {
	next := billing.NewDate(2026, 3, 6)
	due := billing.NewDate(2026, 4, 18)
	contract := anInvoice("INV-2026-000009")
	contract.DueDate, contract.PaymentType = &due, billing.InvoicePaymentACH
	paid := anInvoice("INV-2026-000010")
	paid.AmountPaid, paid.AmountDue = paid.Total, usd(0)
	yen := mail.Receipt{AccountNumber: "KB-000001", Amount: billing.NewMoney(120000, "JPY"), PaidOn: billing.NewDate(2026, 1, 31)}

	build := func(m *mail.Message, err error) *mail.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name    string
		m       *mail.Message
		kind    mail.Kind
		subject string
		cc      bool
		text    []string
	}{
		{"invoice by transfer", build(mail.InvoiceIssued(profile, contract)), mail.KindInvoiceIssued,
			"Invoice INV-2026-000009: $26.36, due April 18, 2026", true,
			[]string{"Please pay $26.36 by April 18, 2026.", "Hello Ada Lovelace,"}},
		{"invoice paid already", build(mail.InvoiceIssued(profile, paid)), mail.KindInvoiceIssued,
			"Invoice INV-2026-000010: $26.36", true,
			[]string{"  Paid: $26.36\n", "Nothing is due: this invoice is paid."}},
		{"receipt in yen", build(mail.PaymentReceipt(profile, yen)), mail.KindPaymentReceipt,
			"Payment received: ¥120,000", true,
			[]string{"We received your payment of ¥120,000 on January 31, 2026."}},
		{"failed, will retry", build(mail.PaymentFailed(profile, mail.FailedPayment{AccountNumber: "KB-000001",
			Amount: usd(1000), NextRetry: &next})), mail.KindPaymentFailed,
			"Payment of $10.00 failed; we will try again on March 6, 2026", false,
			[]string{"We could not collect $10.00 from your payment method.", "We will try again on March 6, 2026."}},
		{"failed, last retry", build(mail.PaymentFailed(profile, mail.FailedPayment{AccountNumber: "KB-000001",
			Amount: usd(1000), InvoiceNumber: "INV-2026-000011"})), mail.KindPaymentFailed,
			"Payment of $10.00 failed; action needed", false,
			[]string{"We will not try again automatically.", "may be suspended"}},
		{"card expiring", build(mail.CardExpiring(profile, "KB-000001", billing.Card{Brand: billing.CardMastercard,
			Last4: "4444", ExpMonth: 2, ExpYear: 2027})), mail.KindCardExpiring,
			"Your Mastercard ending 4444 expires at the end of February 2027", false,
			[]string{"The Mastercard ending 4444 that pays for account KB-000001 (Acme <Corp> & Sons) expires at the end of February 2027."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.m.Kind != tt.kind || tt.m.Subject != tt.subject || tt.m.AccountID != 1 {
				t.Errorf("kind %s, subject %q, account %d", tt.m.Kind, tt.m.Subject, tt.m.AccountID)
			}
			if !slices.Equal(tt.m.To, []string{"billing@acme.example.com"}) {
				t.Errorf("to = %v", tt.m.To)
			}
			if wantCc := tt.cc; (len(tt.m.Cc) == 1) != wantCc {
				t.Errorf("cc = %v, want extra invoice emails: %t", tt.m.Cc, wantCc)
			}
			for _, want := range tt.text {
				if !strings.Contains(tt.m.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, tt.m.Text)
				}
			}
			// The HTML alternative escapes what people typed.
			if strings.Contains(tt.m.HTML, "<Corp>") {
				t.Errorf("html does not escape the company name:\n%s", tt.m.HTML)
			}
			if !strings.HasPrefix(tt.m.HTML, "<!DOCTYPE html>") {
				t.Errorf("html = %s", tt.m.HTML)
			}
		})
	}
}

func TestBuilders_RefuseWhatCannotBeSent(t *testing.T) {
	if _, err := mail.InvoiceIssued(nil, anInvoice("INV-2026-000001")); billing.ErrorCode(err) != billing.ESTATE {
		t.Errorf("no profile: %v, want ESTATE", err)
	}
	draft := anInvoice("")
	if _, err := mail.InvoiceIssued(profile, draft); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("a draft: %v, want EINVALID", err)
	}
	if _, err := mail.CardExpiring(profile, "KB-000001", billing.Card{ExpMonth: 13, ExpYear: 2026}); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("month 13: %v, want EINVALID", err)
	}
}
