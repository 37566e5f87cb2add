package mail_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
)

// A contract invoice paid by transfer, partly paid: reminded before, on and
// after its due date, then overdue.
func TestReminders_BeforeOnAfterDueDateAndOverdue(t *testing.T) {
	due := billing.NewDate(2026, 4, 18)
	inv := anInvoice("INV-2026-000009")
	inv.DueDate, inv.PaymentType = &due, billing.InvoicePaymentACH
	inv.AmountPaid, inv.AmountDue = usd(636), usd(2000)

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
		text    []string
	}{
		{"a week before", build(mail.PaymentReminder(profile, inv, -7)), mail.KindPaymentReminder,
			"Reminder: invoice INV-2026-000009 for $20.00 is due on April 18, 2026",
			[]string{"is due on April 18, 2026, in 7 days.", "  Paid: $6.36\n", "  Amount due: $20.00\n",
				"Please pay $20.00 by bank transfer (ACH / EFT), quoting INV-2026-000009 as the reference"}},
		{"on the day", build(mail.PaymentReminder(profile, inv, 0)), mail.KindPaymentReminder,
			"Reminder: invoice INV-2026-000009 for $20.00 is due today",
			[]string{"is due today, April 18, 2026."}},
		{"a day after", build(mail.PaymentReminder(profile, inv, 1)), mail.KindPaymentReminder,
			"Reminder: invoice INV-2026-000009 for $20.00 is 1 day past due",
			[]string{"was due on April 18, 2026, 1 day ago, and is not paid yet."}},
		{"a week after", build(mail.PaymentReminder(profile, inv, 7)), mail.KindPaymentReminder,
			"Reminder: invoice INV-2026-000009 for $20.00 is 7 days past due",
			[]string{"was due on April 18, 2026, 7 days ago, and is not paid yet."}},
		{"overdue", build(mail.InvoiceOverdue(profile, inv)), mail.KindInvoiceOverdue,
			"Overdue: invoice INV-2026-000009 for $20.00 was due on April 18, 2026",
			[]string{"was due on April 18, 2026 and is now overdue: $20.00 is unpaid.", "The account is past due until it is paid."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.m.Kind != tt.kind || tt.m.Subject != tt.subject || tt.m.AccountNumber != "KB-000001" {
				t.Errorf("kind %s, subject %q, account %s", tt.m.Kind, tt.m.Subject, tt.m.AccountNumber)
			}
			if !slices.Equal(tt.m.To, []string{"billing@acme.example.com"}) || !slices.Equal(tt.m.Cc, []string{"ap@acme.example.com"}) {
				t.Errorf("to %v cc %v", tt.m.To, tt.m.Cc)
			}
			for _, want := range append(tt.text, "Hello Ada Lovelace,") {
				if !strings.Contains(tt.m.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, tt.m.Text)
				}
			}
			if strings.Contains(tt.m.HTML, "<Corp>") || !strings.Contains(tt.m.HTML, "INV-2026-000009") {
				t.Errorf("html:\n%s", tt.m.HTML)
			}
			if !tt.kind.Valid() || !slices.Contains(mail.Kinds(), tt.kind) {
				t.Errorf("kind %s is not a known kind", tt.kind)
			}
		})
	}
}

func TestReminders_DueOnReceiptAndRefusals(t *testing.T) {
	inv := anInvoice("INV-2026-000010") // no due date: due on its issue day
	m, err := mail.InvoiceOverdue(profile, inv)
	if err != nil || m.Subject != "Overdue: invoice INV-2026-000010 for $26.36 was due on March 19, 2026" {
		t.Fatalf("%v %+v", err, m)
	}
	if _, err := mail.PaymentReminder(profile, anInvoice(""), 0); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("a draft: %v", err)
	}
	if _, err := mail.PaymentReminder(nil, inv, 0); billing.ErrorCode(err) != billing.ESTATE {
		t.Errorf("no profile: %v", err)
	}
}
