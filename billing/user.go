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
