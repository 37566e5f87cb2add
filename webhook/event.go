package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// EventType names what happened. Receivers branch on it; a type, once
// published, keeps its name and the shape of its data.
type EventType string

// The event types Kore Billing publishes.
const (
	// InvoiceFinalized: an invoice got its number and can no longer change.
	InvoiceFinalized EventType = "invoice.finalized"
	// InvoicePaid: an invoice is paid in full.
	InvoicePaid EventType = "invoice.paid"
	// PaymentFailed: a charge was declined or failed; it may be retried.
	PaymentFailed EventType = "payment.failed"
	// SubscriptionUpdated: plan, seats, interval or status changed.
	SubscriptionUpdated EventType = "subscription.updated"
	// AccountSuspended: the account is suspended for want of payment.
	AccountSuspended EventType = "account.suspended"
	// AccountReactivated: a suspended account is active again.
	AccountReactivated EventType = "account.reactivated"
	// ManagedUsersLimitReached: every subscription of the account is taken;
	// the next managed user needs another or stays free.
	ManagedUsersLimitReached EventType = "managed_users.limit_reached"
)

var eventTypes = []EventType{
	InvoiceFinalized, InvoicePaid, PaymentFailed, SubscriptionUpdated,
	AccountSuspended, AccountReactivated, ManagedUsersLimitReached,
}

// EventTypes returns every event type, in a stable order.
func EventTypes() []EventType { return slices.Clone(eventTypes) }

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return slices.Contains(eventTypes, t) }

// Event is one thing that happened, as every endpoint that wants it
// receives it. Data is the event's object (the invoice, the account…) as
// JSON; it is written once and sent byte for byte on every attempt.
type Event struct {
	ID            string // "evt_" and 24 hex digits; receivers deduplicate on it
	Type          EventType
	AccountNumber string // "" for an event of no account
	Data          json.RawMessage
	CreatedAt     time.Time
}

var accountNumberRE = regexp.MustCompile(`^KB-[0-9]{6,}$`)

// MaxDataBytes bounds an event's data: webhooks carry a summary of the
// object, not a document.
const MaxDataBytes = 64 << 10

// Validate checks the type, the account number and the data, which must be
// a JSON object (or null, stored as {}).
func (e *Event) Validate() error {
	var v billing.Validation
	if e.Type == "" {
		v.Add("type", "An event type is required.")
	} else if !e.Type.Valid() {
		v.Add("type", "Unknown event type %q; known types are %v.", e.Type, eventTypes)
	}
	if e.AccountNumber != "" && !accountNumberRE.MatchString(e.AccountNumber) {
		v.Add("account_number", "Account number %q is not of the form KB-000001.", e.AccountNumber)
	}
	if len(e.Data) == 0 || string(e.Data) == "null" {
		e.Data = json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if len(e.Data) > MaxDataBytes {
		v.Add("data", "Event data must be at most %d bytes.", MaxDataBytes)
	} else if err := json.Unmarshal(e.Data, &obj); err != nil {
		v.Add("data", "Event data must be a JSON object.")
	}
	return v.Err()
}

// NewEventID returns a fresh event id: "evt_" and 96 random bits in hex.
func NewEventID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}

// Payload is the JSON body every delivery of an event POSTs.
type Payload struct {
	ID            string          `json:"id"`
	Type          EventType       `json:"type"`
	CreatedAt     time.Time       `json:"created_at"`
	AccountNumber string          `json:"account_number,omitempty"`
	Data          json.RawMessage `json:"data"`
}

// Body returns the request body for e: the same bytes on every attempt, so
// that a receiver may compare retries.
func (e *Event) Body() ([]byte, error) {
	return json.Marshal(Payload{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC(),
		AccountNumber: e.AccountNumber, Data: e.Data})
}

// EventFilter selects events, newest first.
type EventFilter struct {
	Type          EventType
	AccountNumber string
	Limit         int
	Offset        int
}
