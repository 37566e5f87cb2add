package billing

import (
	"strings"
	"time"
)

// TestClock is a clock an operator moves by hand, in test mode only. An
// account attached to one reads its time from it: DESIGN.md "advancing it
// runs every renewal, invoice, payment and retry that falls due, exactly as
// the real scheduler would (as Stripe's test clocks do)".
type TestClock struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Now       time.Time `json:"now"`
	CreatedAt time.Time `json:"created_at"`
	// Status is ready, or advancing while a job moves the clock to
	// AdvanceTo; AdvanceError is why the last advance stopped short.
	Status       TestClockStatus `json:"status"`
	AdvanceTo    *time.Time      `json:"advance_to,omitempty"`
	AdvanceError string          `json:"advance_error,omitempty"`
}

// TestClockStatus says whether a clock is being advanced.
type TestClockStatus string

const (
	TestClockReady     TestClockStatus = "ready"
	TestClockAdvancing TestClockStatus = "advancing"
)

// Validate checks the name and the start time.
func (c *TestClock) Validate() error {
	var v Validation
	c.Name = strings.TrimSpace(c.Name)
	if len(c.Name) > 100 {
		v.Add("name", "Name must be at most 100 characters.")
	}
	if c.Now.IsZero() {
		v.Add("now", "A test clock needs a start time.")
	}
	return v.Err()
}
