package billing

import "context"

// Role is what an actor may do.
type Role string

const (
	// RoleOperator is Kore staff: everything, on every account.
	RoleOperator Role = "operator"
	// RolePlatform is the Kore platform: create and read accounts, sync the
	// managed-user roster; no catalog or billing changes.
	RolePlatform Role = "platform"
	// RoleOwner and RoleBillingAdmin administer one account's billing.
	RoleOwner        Role = "owner"
	RoleBillingAdmin Role = "billing_admin"
	// RoleViewer reads one account and changes nothing.
	RoleViewer Role = "viewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleOperator, RolePlatform, RoleOwner, RoleBillingAdmin, RoleViewer:
		return true
	}
	return false
}

// AccountScoped reports whether the role belongs to one account.
func (r Role) AccountScoped() bool {
	return r == RoleOwner || r == RoleBillingAdmin || r == RoleViewer
}

// Actor is who makes a request: an API key or a console user, with a role
// and, for account roles, the one account they may touch.
type Actor struct {
	Name      string // as written in the audit log: "key:kb_3f9a…", "user:ada@…", "system"
	Role      Role
	AccountID int64 // set for account roles
}

// SystemActor is the billing run and other background work.
var SystemActor = Actor{Name: "system", Role: RoleOperator}

// CanRead reports whether the actor may read the account.
func (a Actor) CanRead(accountID int64) bool {
	if a.Role == RoleOperator || a.Role == RolePlatform {
		return true
	}
	return a.Role.AccountScoped() && a.AccountID == accountID
}

// CanManage reports whether the actor may change the account's billing.
func (a Actor) CanManage(accountID int64) bool {
	if a.Role == RoleOperator {
		return true
	}
	return (a.Role == RoleOwner || a.Role == RoleBillingAdmin) && a.AccountID == accountID
}

// CanSyncUsers reports whether the actor may change the managed-user roster.
func (a Actor) CanSyncUsers(accountID int64) bool {
	return a.Role == RolePlatform || a.CanManage(accountID)
}

type actorKey struct{}

// NewContextWithActor returns ctx carrying the actor.
func NewContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor of ctx; without one, an actor with no
// role, which may do nothing.
func ActorFromContext(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
