package webhook

import (
	"encoding/json"
	"fmt"

	"github.com/kore-billing/korebill/billing"
)

// The data each event type carries. The engine builds events with the
// constructors below, so that every event of a type has the same shape;
// docs/webhooks.md shows them to receivers.

// NewEvent returns an event of type t for an account with data marshalled
// to JSON (an object; nil is {}).
func NewEvent(t EventType, accountNumber string, data any) (Event, error) {
	ev := Event{Type: t, AccountNumber: accountNumber}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return Event{}, fmt.Errorf("webhook: %s data: %w", t, err)
		}
		ev.Data = b
	}
	return ev, ev.Validate()
}

// InvoiceData is the data of invoice.finalized and invoice.paid.
type InvoiceData struct {
	Number         string          `json:"number"`
	Kind           string          `json:"kind"`
	Status         string          `json:"status"`
	IssueDate      billing.Date    `json:"issue_date"`
	DueDate        *billing.Date   `json:"due_date,omitempty"`
	Period         *billing.Period `json:"period,omitempty"`
	Subtotal       billing.Money   `json:"subtotal"`
	CreditsApplied billing.Money   `json:"credits_applied"`
	Tax            billing.Money   `json:"tax"`
	Total          billing.Money   `json:"total"`
	AmountPaid     billing.Money   `json:"amount_paid"`
	AmountDue      billing.Money   `json:"amount_due"`
}

// InvoiceEvent returns invoice.finalized or invoice.paid for inv.
func InvoiceEvent(t EventType, inv *billing.Invoice) (Event, error) {
	d := InvoiceData{
		Number: inv.Number, Kind: string(inv.Kind), Status: string(inv.Status), IssueDate: inv.IssueDate,
		DueDate: inv.DueDate, Subtotal: inv.Subtotal, CreditsApplied: inv.CreditsApplied, Tax: inv.Tax,
		Total: inv.Total, AmountPaid: inv.AmountPaid, AmountDue: inv.AmountDue,
	}
	if !inv.Period.IsZero() {
		p := inv.Period
		d.Period = &p
	}
	return NewEvent(t, inv.AccountNumber, d)
}

// PaymentFailedData is the data of payment.failed.
type PaymentFailedData struct {
	InvoiceNumber  string        `json:"invoice_number,omitempty"`
	Amount         billing.Money `json:"amount"`
	FailureCode    string        `json:"failure_code,omitempty"`
	FailureMessage string        `json:"failure_message,omitempty"`
	// Attempt counts the attempts to collect the invoice, from 1.
	Attempt int `json:"attempt"`
	// NextRetryOn is the day of the next automatic attempt, in the
	// account's time zone; absent after the last one.
	NextRetryOn *billing.Date `json:"next_retry_on,omitempty"`
}

// SubscriptionData is the data of subscription.updated: the subscription
// as it is after the change.
type SubscriptionData struct {
	Plan              string          `json:"plan"`
	PlanVersion       int             `json:"plan_version"`
	Interval          string          `json:"interval"`
	Seats             int64           `json:"seats"`
	UnitPrice         billing.Money   `json:"unit_price"`
	Status            string          `json:"status"`
	Period            *billing.Period `json:"period,omitempty"`
	CancelAtPeriodEnd bool            `json:"cancel_at_period_end"`
}

// SubscriptionEvent returns subscription.updated for s.
func SubscriptionEvent(accountNumber string, s *billing.Subscription) (Event, error) {
	d := SubscriptionData{
		Plan: s.Plan.Code, PlanVersion: s.Plan.Version, Interval: string(s.Interval), Seats: s.Seats,
		UnitPrice: s.UnitPrice, Status: string(s.Status), CancelAtPeriodEnd: s.CancelAtPeriodEnd,
	}
	if !s.Period.IsZero() {
		p := s.Period
		d.Period = &p
	}
	return NewEvent(SubscriptionUpdated, accountNumber, d)
}

// AccountData is the data of account.suspended and account.reactivated.
type AccountData struct {
	Number string `json:"number"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
	Status string `json:"status"`
}

// AccountEvent returns account.suspended or account.reactivated for a.
func AccountEvent(t EventType, a *billing.Account) (Event, error) {
	return NewEvent(t, a.Number, AccountData{Number: a.Number, Name: a.Name, Domain: a.Domain, Status: string(a.Status)})
}

// LimitReachedData is the data of managed_users.limit_reached.
type LimitReachedData struct {
	Seats        int64 `json:"seats"`
	ManagedUsers int64 `json:"managed_users"`
	// UserID is the user who could not be given a seat, when there is one.
	UserID string `json:"user_id,omitempty"`
	// OnJoin is the account's preference: what happened to that user.
	OnJoin string `json:"on_join,omitempty"`
}
