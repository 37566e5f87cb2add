package webhook

import (
	"time"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	// DeliveryPending: not delivered yet; an attempt is queued or will be
	// retried.
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryDelivered: the endpoint answered 2xx.
	DeliveryDelivered DeliveryStatus = "delivered"
	// DeliveryFailed: the last attempt failed; only a replay sends it again.
	DeliveryFailed DeliveryStatus = "failed"
)

// Valid reports whether s is a known status.
func (s DeliveryStatus) Valid() bool {
	return s == DeliveryPending || s == DeliveryDelivered || s == DeliveryFailed
}

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID             int64
	EventID        string
	EventType      EventType
	AccountNumber  string
	EndpointID     int64  // 0 once the endpoint is deleted
	EndpointURL    string // the endpoint's URL now; "" once deleted
	Status         DeliveryStatus
	Attempts       int // attempts made, replays included
	LastStatusCode int // of the last attempt; 0 when it got no answer
	LastError      string
	NextAttemptAt  *time.Time // when a pending delivery is tried next
	DeliveredAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// Filled by FindWebhookDelivery only.
	Event    *Event
	Endpoint *Endpoint // nil once deleted; carries the secret
	Log      []*Attempt
}

// Attempt is one POST of a delivery, or one that could not be made.
type Attempt struct {
	ID         int64
	DeliveryID int64
	Attempt    int // 1, 2, … over the delivery's life, replays included
	At         time.Time
	URL        string
	StatusCode int    // 0 when there was no answer
	Error      string // "" for a 2xx
	Duration   time.Duration
	Response   string // the start of the response body
}

// DeliveryFilter selects deliveries, newest first.
type DeliveryFilter struct {
	Status        DeliveryStatus
	EndpointID    int64
	EventType     EventType
	EventID       string
	AccountNumber string
	Limit         int
	Offset        int
}
