package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Endpoint is a URL that receives events. It is configured per deployment
// by an operator, not per account: the platform receives every account's
// events.
type Endpoint struct {
	ID          int64
	URL         string
	Description string
	// EventTypes are the types it receives; empty means every type.
	EventTypes []EventType
	// Secret signs every request to the endpoint. It is kept as is (not
	// hashed: signing needs it), shown once when the endpoint is created or
	// its secret rotated, and never listed.
	Secret     string
	DisabledAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Disabled reports whether the endpoint receives nothing.
func (e *Endpoint) Disabled() bool { return e.DisabledAt != nil }

// Wants reports whether the endpoint receives events of type t.
func (e *Endpoint) Wants(t EventType) bool {
	return len(e.EventTypes) == 0 || slices.Contains(e.EventTypes, t)
}

// MaxURLLen bounds an endpoint URL.
const MaxURLLen = 2048

// Validate checks the URL (absolute http or https, with a host, without
// credentials or a fragment) and the event types, and normalises them:
// trimmed, types sorted and without repeats.
func (e *Endpoint) Validate() error {
	var v billing.Validation
	e.URL = strings.TrimSpace(e.URL)
	e.Description = strings.TrimSpace(e.Description)
	if msg := checkURL(e.URL); msg != "" {
		v.Add("url", "%s", msg)
	}
	if len(e.Description) > 500 {
		v.Add("description", "Description must be at most 500 characters.")
	}
	for _, t := range e.EventTypes {
		if !t.Valid() {
			v.Add("event_types", "Unknown event type %q; known types are %v.", t, eventTypes)
		}
	}
	types := slices.Clone(e.EventTypes)
	slices.Sort(types)
	e.EventTypes = slices.Compact(types)
	if e.EventTypes == nil {
		e.EventTypes = []EventType{}
	}
	return v.Err()
}

func checkURL(raw string) string {
	if raw == "" {
		return "A URL is required."
	}
	if len(raw) > MaxURLLen {
		return "The URL must be at most 2048 characters."
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "The URL is not valid: " + strings.TrimPrefix(err.Error(), "parse "+`"`+raw+`": `) + "."
	case u.Scheme != "http" && u.Scheme != "https":
		return "The URL must start with https:// (or http://)."
	case u.Host == "" || u.Hostname() == "":
		return "The URL must name a host."
	case u.User != nil:
		return "The URL must not carry credentials; the signature authenticates the request."
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "The URL must not have a #fragment."
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return "The URL's port is not a number."
			}
		}
	}
	return ""
}

// EndpointUpdate changes an endpoint; nil fields stay as they are.
type EndpointUpdate struct {
	URL         *string
	Description *string
	EventTypes  *[]EventType
	Disabled    *bool
	// RotateSecret replaces the secret with a new one, returned in the
	// updated endpoint's Secret.
	RotateSecret bool
}

// NewSecret returns a new endpoint secret: "whsec_" and 192 random bits in
// hex. The whole string, prefix included, is the HMAC key.
func NewSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + hex.EncodeToString(b[:])
}
