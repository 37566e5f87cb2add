package mail

import (
	"fmt"

	"github.com/kore-billing/korebill/billing"
)

// Reminders of invoices paid by bank transfer. DESIGN: "Contract invoices
// are due after the payment terms; overdue ones get reminders." The engine
// records a reminder a week before, on and a week after the due date (its
// ReminderDays) and marks the invoice overdue the day after; these are the
// emails it sends for them, to the billing contact with the extra invoice
// emails in Cc (accounts payable is usually among them).

// Reminder is what a payment reminder or overdue notice says about the
// invoice's due date.
type Reminder struct {
	// OffsetDays is the reminder's distance from the due date: negative
	// before it, 0 on it, positive after it.
	OffsetDays int
	DueDate    billing.Date
}

// Days is OffsetDays without its sign: "in 7 days", "7 days ago".
func (r Reminder) Days() int { return max(r.OffsetDays, -r.OffsetDays) }

// DaysText is Days in words: "1 day", "7 days".
func (r Reminder) DaysText() string { return days(r.Days()) }

// reminderOf checks that inv can be reminded of and returns its due date:
// the invoice's, or its issue day when it has none (due on receipt).
func reminderOf(inv *billing.Invoice, offsetDays int) (*Reminder, error) {
	if inv == nil || inv.Number == "" {
		return nil, billing.Errorf(billing.EINVALID, "Only a finalized invoice, with a number, can be reminded of.")
	}
	r := &Reminder{OffsetDays: offsetDays, DueDate: inv.IssueDate}
	if inv.DueDate != nil {
		r.DueDate = *inv.DueDate
	}
	return r, nil
}

// PaymentReminder reminds the billing contact that an invoice is due in
// -offsetDays days, today (0), or was due offsetDays days ago.
func PaymentReminder(p *billing.BillingProfile, inv *billing.Invoice, offsetDays int) (*Message, error) {
	r, err := reminderOf(inv, offsetDays)
	if err != nil {
		return nil, err
	}
	var subject string
	switch {
	case offsetDays < 0:
		subject = fmt.Sprintf("Reminder: invoice %s for %s is due on %s", inv.Number, inv.AmountDue, formatDate(r.DueDate))
	case offsetDays == 0:
		subject = fmt.Sprintf("Reminder: invoice %s for %s is due today", inv.Number, inv.AmountDue)
	default:
		subject = fmt.Sprintf("Reminder: invoice %s for %s is %s past due", inv.Number, inv.AmountDue, days(r.Days()))
	}
	return build(KindPaymentReminder, p, true, subject, data{AccountNumber: inv.AccountNumber, Invoice: inv, Reminder: r})
}

// InvoiceOverdue tells the billing contact that an invoice was not paid by
// its due date and the account is past due.
func InvoiceOverdue(p *billing.BillingProfile, inv *billing.Invoice) (*Message, error) {
	r, err := reminderOf(inv, 1)
	if err != nil {
		return nil, err
	}
	subject := fmt.Sprintf("Overdue: invoice %s for %s was due on %s", inv.Number, inv.AmountDue, formatDate(r.DueDate))
	return build(KindInvoiceOverdue, p, true, subject, data{AccountNumber: inv.AccountNumber, Invoice: inv, Reminder: r})
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
