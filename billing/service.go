package billing

import "context"

// The services below are what the api and console need of storage. The store
// package implements them on SQLite and PostgreSQL. Every method that changes
// state runs in one transaction and writes an AuditEvent in it, naming the
// Actor found in ctx (ActorFromContext).

// AccountService manages accounts.
type AccountService interface {
	// CreateAccount validates a, assigns the next account number (KB-000001,
	// never reused), stores it with an empty profile-less state and sets a's
	// ID, Number, Status, CreditBalance and timestamps.
	CreateAccount(ctx context.Context, a *Account) error
	// FindAccountByNumber returns ENOTFOUND for an unknown number.
	FindAccountByNumber(ctx context.Context, number string) (*Account, error)
	FindAccountByID(ctx context.Context, id int64) (*Account, error)
	// FindAccounts returns a page of accounts ordered by number and the total
	// count that matches the filter.
	FindAccounts(ctx context.Context, filter AccountFilter) ([]*Account, int, error)
	UpdateAccount(ctx context.Context, id int64, upd AccountUpdate) (*Account, error)
}

// ProfileService manages billing profiles.
type ProfileService interface {
	// FindProfile returns ENOTFOUND (reason "profile_not_set") when the
	// account has no profile yet.
	FindProfile(ctx context.Context, accountID int64) (*BillingProfile, error)
	// SetProfile validates and stores p, replacing the account's profile.
	SetProfile(ctx context.Context, p *BillingProfile) error
}

// CatalogService manages plans and their versions.
type CatalogService interface {
	// CreatePlan stores a plan with its first version; ECONFLICT when the code
	// is taken.
	CreatePlan(ctx context.Context, p *Plan, first *PlanVersion) error
	FindPlans(ctx context.Context) ([]*Plan, error)
	FindPlanByCode(ctx context.Context, code string) (*Plan, error)
	// CreatePlanVersion adds version N+1 to a plan; it becomes Current.
	CreatePlanVersion(ctx context.Context, planCode string, v *PlanVersion) error
	FindPlanVersions(ctx context.Context, planCode string) ([]*PlanVersion, error)
	FindPlanVersionByID(ctx context.Context, id int64) (*PlanVersion, error)
}

// ManagedUserService stores the roster the platform reports.
type ManagedUserService interface {
	// ReplaceManagedUsers makes the roster exactly users: new ones are added
	// (managed since now), missing ones removed, others updated.
	ReplaceManagedUsers(ctx context.Context, accountID int64, users []ManagedUser) (RosterChange, error)
	// UpsertManagedUser adds one user or updates its email, status and last
	// activity.
	UpsertManagedUser(ctx context.Context, u *ManagedUser) error
	// RemoveManagedUser returns ENOTFOUND when the user is not on the roster.
	RemoveManagedUser(ctx context.Context, accountID int64, userID string) error
	FindManagedUsers(ctx context.Context, filter ManagedUserFilter) ([]*ManagedUser, int, error)
}

// RosterChange says what a roster replacement did.
type RosterChange struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Updated []string `json:"updated"`
}

// AuditService reads the audit trail; events are written by the changes
// themselves.
type AuditService interface {
	FindAuditEvents(ctx context.Context, filter AuditFilter) ([]*AuditEvent, error)
}

// APIKeyService manages API keys.
type APIKeyService interface {
	// CreateAPIKey validates k, generates its secret, stores the hash and
	// returns the secret, which is never available again.
	CreateAPIKey(ctx context.Context, k *APIKey) (secret string, err error)
	// Authenticate returns the live key whose hash matches secret, or
	// EUNAUTHORIZED; it records the time of use.
	Authenticate(ctx context.Context, secret string) (*APIKey, error)
	FindAPIKeys(ctx context.Context) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, id int64) error
	CountAPIKeys(ctx context.Context) (int, error)
}
