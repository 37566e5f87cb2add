package billing

import (
	"strings"
	"time"
)

// ManagedUserStatus is a managed user's state as the platform reports it.
type ManagedUserStatus string

const (
	UserActive    ManagedUserStatus = "active"
	UserSuspended ManagedUserStatus = "suspended"
)

// ManagedUser is one user of the roster the platform reports. A managed user
// takes a subscription (a seat); unmanaged users are free and not listed.
type ManagedUser struct {
	AccountID    int64
	UserID       string // the platform's id
	Email        string
	Status       ManagedUserStatus
	ManagedSince time.Time
	LastActiveAt *time.Time
}

// Validate checks a roster entry from the platform.
func (u *ManagedUser) Validate() error {
	var v Validation
	u.UserID = strings.TrimSpace(u.UserID)
	if u.UserID == "" || len(u.UserID) > 200 {
		v.Add("user_id", "User id is required (at most 200 characters).")
	}
	if e, err := normalizeEmail(u.Email); err != nil {
		v.Add("email", "Email %q is not a valid email address.", u.Email)
	} else {
		u.Email = e
	}
	switch u.Status {
	case UserActive, UserSuspended:
	case "":
		u.Status = UserActive
	default:
		v.Add("status", "Status must be active or suspended.")
	}
	return v.Err()
}

// ManagedUserFilter selects users of one account.
type ManagedUserFilter struct {
	AccountID int64
	Offset    int
	Limit     int
}

// activityClockSkew is how far the platform's clock may be from ours (and
// how much precision its times may lack) either way: a report of "now" for
// a user who joins now is accepted.
const activityClockSkew = time.Minute

// CanReportActivity reports whether the actor may report when a managed
// user was last active: the platform (which sees the activity) and
// operators. Account roles may not: activity decides inactivity credits,
// and an owner could otherwise earn credits by back-dating it.
func (a Actor) CanReportActivity() bool {
	return a.Role == RolePlatform || a.Role == RoleOperator
}

// CheckActivityReport applies the activity rule to a report r of a managed
// user, old being the stored user (nil for a new one) and now the account's
// time. A report without last_active_at keeps the stored one. Only an actor
// that CanReportActivity may change it (EFORBIDDEN otherwise; repeating the
// stored value is allowed, so a roster read and sent back is accepted), and
// the time may be neither before the user joined (managed since; now for a
// new user) nor after now, give or take activityClockSkew (EINVALID naming
// last_active_at).
func CheckActivityReport(actor Actor, old, r *ManagedUser, now time.Time) error {
	if r.LastActiveAt == nil {
		if old != nil {
			r.LastActiveAt = old.LastActiveAt
		}
		return nil
	}
	if old != nil && old.LastActiveAt != nil && old.LastActiveAt.Equal(*r.LastActiveAt) {
		return nil
	}
	if !actor.CanReportActivity() {
		return &Error{Code: EFORBIDDEN, Reason: "activity_reported_by_platform",
			Message: "Last activity is reported by the platform; role " + string(actor.Role) + " may not set it.",
			Fields:  []FieldError{{Field: "last_active_at", Message: "Last activity is reported by the platform."}}}
	}
	joined := now
	if old != nil {
		joined = old.ManagedSince
	}
	var v Validation
	switch t := *r.LastActiveAt; {
	case t.Before(joined.Add(-activityClockSkew)):
		v.Add("last_active_at", "Last activity of %s (%s) is before the user joined (%s).", r.UserID, t.UTC().Format(time.RFC3339), joined.UTC().Format(time.RFC3339))
	case t.After(now.Add(activityClockSkew)):
		v.Add("last_active_at", "Last activity of %s (%s) is in the future.", r.UserID, t.UTC().Format(time.RFC3339))
	}
	return v.Err()
}
