package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// Last activity decides inactivity credits, so only the platform (and
// operators) report it, and only a time between the user's joining and
// now (issue 9, defect 4: an owner key back-dated every managed user's
// activity by a year and earned inactivity credits).
func TestManagedUsers_ActivityIsReportedByThePlatformOnly(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		number := b.createAccount(t, "Acme", "acme.example.com")
		owner := b.keyFor(t, number, billing.RoleOwner)
		platform := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "platform", "name": "platform"})["secret"].(string)
		path := "/v1/accounts/" + number + "/managed-users/u1"
		user := b.mustCall(t, 200, "PUT", path, platform, map[string]any{"email": "grace@acme.example.com"})
		joined, _ := time.Parse(time.RFC3339Nano, user["managed_since"].(string))
		yearAgo := joined.AddDate(-1, 0, 0).Format(time.RFC3339)
		later := joined.Add(time.Second).Format(time.RFC3339Nano)

		// An owner may not set it, neither one user nor the whole roster.
		for _, call := range []struct {
			method, path string
			body         any
		}{
			{"PUT", path, map[string]any{"email": "grace@acme.example.com", "last_active_at": yearAgo}},
			{"PUT", path, map[string]any{"email": "grace@acme.example.com", "last_active_at": later}},
			{"PUT", "/v1/accounts/" + number + "/managed-users", map[string]any{"users": []any{
				map[string]any{"user_id": "u1", "email": "grace@acme.example.com", "last_active_at": yearAgo}}}},
		} {
			status, out := b.call(t, call.method, call.path, owner, call.body)
			if status != http.StatusForbidden || out["code"] != "activity_reported_by_platform" {
				t.Fatalf("owner %s %s = %d %v, want 403", call.method, call.path, status, out)
			}
		}
		// The platform may not send a time before the user joined or in the
		// future; the answer names the field.
		for _, at := range []string{yearAgo, time.Now().Add(time.Hour).Format(time.RFC3339)} {
			status, out := b.call(t, "PUT", path, platform, map[string]any{"email": "grace@acme.example.com", "last_active_at": at})
			if status != http.StatusUnprocessableEntity || !mentions(out, "last_active_at") {
				t.Fatalf("platform at %s = %d %v, want 422 naming last_active_at", at, status, out)
			}
		}
		if got := b.mustCall(t, 200, "GET", "/v1/accounts/"+number+"/managed-users", b.opKey, nil)["items"].([]any)[0].(map[string]any); got["last_active_at"] != nil {
			t.Fatalf("refused reports changed the user: %v", got)
		}
		// The platform reports it; the owner may then send the roster back
		// as read (the same time, or none), which keeps it.
		b.mustCall(t, 200, "PUT", path, platform, map[string]any{"email": "grace@acme.example.com", "last_active_at": later})
		b.mustCall(t, 200, "PUT", path, owner, map[string]any{"email": "grace@acme.example.com", "last_active_at": later, "status": "suspended"})
		out := b.mustCall(t, 200, "PUT", path, owner, map[string]any{"email": "grace@acme.example.com"})
		if got, _ := time.Parse(time.RFC3339Nano, out["last_active_at"].(string)); !got.Equal(joined.Add(time.Second)) {
			t.Fatalf("last active = %v, want the platform's %s", out["last_active_at"], later)
		}
	})
}

// mentions reports whether a problem's errors name the field.
func mentions(problem map[string]any, field string) bool {
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		if m, _ := e.(map[string]any); m != nil {
			if loc, _ := m["location"].(string); loc == field || loc == "body."+field {
				return true
			}
			if f, _ := m["field"].(string); f == field {
				return true
			}
		}
	}
	return false
}
