package billing

import (
	"encoding/json"
	"time"
)

// AuditEvent records one change: who made it, what it changed, and the state
// before and after (JSON snapshots, nil where there was none).
type AuditEvent struct {
	ID         int64
	At         time.Time
	Actor      string // "key:<prefix>", "user:<email>", "system"
	Action     string // "account.create", "profile.update", …
	TargetType string
	TargetID   string
	AccountID  *int64
	Before     json.RawMessage
	After      json.RawMessage
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	AccountID *int64
	Action    string
	BeforeID  int64 // cursor: only events with a smaller id
	Limit     int
}
