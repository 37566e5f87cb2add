package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

type testBundle struct {
	db    *store.DB
	srv   *httptest.Server
	opKey string
}

func setup(t *testing.T, db *store.DB) *testBundle {
	t.Helper()
	s := api.New(api.Config{
		Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db, Idempotency: db},
		Ready:    db.Ping,
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ctx := billing.NewContextWithActor(context.Background(), billing.SystemActor)
	key, err := db.CreateAPIKey(ctx, &billing.APIKey{Name: "test operator", Role: billing.RoleOperator})
	if err != nil {
		t.Fatalf("create operator key: %v", err)
	}
	return &testBundle{db: db, srv: srv, opKey: key}
}

// holdsAtEnd checks, when the test ends well, every invariant that
// `korebill reconcile` checks: each scenario ends with the books whole.
func holdsAtEnd(t *testing.T, eng *engine.Engine) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		breaks, err := eng.CheckInvariants(context.Background())
		if err != nil {
			t.Errorf("check invariants: %v", err)
		} else if len(breaks) > 0 {
			t.Errorf("invariants broken:\n%s", engine.FormatBreaks(breaks))
		}
	})
}

// call sends a request with a JSON body (a string is sent as is) and
// decodes the JSON answer into a map (or returns nil for an empty body).
func (b *testBundle) call(t *testing.T, method, path, key string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(v)
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) == 0 {
		return resp.StatusCode, nil
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

func (b *testBundle) mustCall(t *testing.T, want int, method, path, key string, body any) map[string]any {
	t.Helper()
	status, out := b.call(t, method, path, key, body)
	if status != want {
		t.Fatalf("%s %s = %d, want %d: %v", method, path, status, want, out)
	}
	return out
}

func (b *testBundle) createAccount(t *testing.T, name, domain string) string {
	t.Helper()
	out := b.mustCall(t, 201, "POST", "/v1/accounts", b.opKey, map[string]any{"name": name, "domain": domain})
	return out["number"].(string)
}

// keyFor makes an account-scoped key with the given role.
func (b *testBundle) keyFor(t *testing.T, number string, role billing.Role) string {
	t.Helper()
	out := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": role, "account_number": number})
	return out["secret"].(string)
}

var goodProfile = map[string]any{
	"company_name": "Acme Corp",
	"contact_name": "Ada Lovelace",
	"address":      map[string]any{"line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"},
	"phone":        "(415) 555-0132",
	"email":        "billing@acme.example.com",
}

func TestAccounts_CreateGetSearch(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		out := b.mustCall(t, 201, "POST", "/v1/accounts", b.opKey, map[string]any{
			"name": "Acme Corp", "domain": "Acme.Example.com", "time_zone": "America/New_York",
		})
		if out["number"] != "KB-000001" || out["domain"] != "acme.example.com" || out["billing_type"] != "online" ||
			out["currency"] != "USD" || out["status"] != "active" {
			t.Fatalf("created account = %v", out)
		}
		if n := b.createAccount(t, "Globex", "globex.example.com"); n != "KB-000002" {
			t.Fatalf("second account number = %s, want KB-000002", n)
		}
		got := b.mustCall(t, 200, "GET", "/v1/accounts/KB-000001", b.opKey, nil)
		if got["name"] != "Acme Corp" || got["time_zone"] != "America/New_York" {
			t.Errorf("get = %v", got)
		}
		list := b.mustCall(t, 200, "GET", "/v1/accounts?q=globex", b.opKey, nil)
		if list["total"].(float64) != 1 || list["items"].([]any)[0].(map[string]any)["number"] != "KB-000002" {
			t.Errorf("search globex = %v", list)
		}
		upd := b.mustCall(t, 200, "PATCH", "/v1/accounts/KB-000002", b.opKey, map[string]any{"status": "suspended"})
		if upd["status"] != "suspended" || upd["name"] != "Globex" {
			t.Errorf("patch = %v", upd)
		}
		list = b.mustCall(t, 200, "GET", "/v1/accounts?status=suspended", b.opKey, nil)
		if list["total"].(float64) != 1 {
			t.Errorf("status filter = %v", list)
		}
	})
}

func TestProfile_SetNormalisesAndReadsBack(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		status, out := b.call(t, "GET", "/v1/accounts/"+n+"/profile", b.opKey, nil)
		if status != 404 || out["code"] != "profile_not_set" {
			t.Errorf("profile before set = %d %v, want 404 profile_not_set", status, out)
		}
		admin := b.keyFor(t, n, billing.RoleBillingAdmin)
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/profile", admin, goodProfile)
		got := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/profile", admin, nil)
		if got["phone"] != "+14155550132" || got["account_number"] != n || got["email"] != "billing@acme.example.com" {
			t.Errorf("profile = %v", got)
		}
		if addr := got["address"].(map[string]any); addr["country"] != "US" || addr["city"] != "San Francisco" {
			t.Errorf("address = %v", addr)
		}
	})
}

// counts is what must not move when a request is refused.
func counts(t *testing.T, db *store.DB) (accounts, events int) {
	t.Helper()
	ctx := billing.NewContextWithActor(context.Background(), billing.SystemActor)
	_, accounts, err := db.FindAccounts(ctx, billing.AccountFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := db.FindAuditEvents(ctx, billing.AuditFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return accounts, len(ev)
}

func TestBadInput_ClearErrorAndNothingChanged(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		other := b.createAccount(t, "Globex", "globex.example.com")
		viewer := b.keyFor(t, n, billing.RoleViewer)
		owner := b.keyFor(t, n, billing.RoleOwner)
		otherOwner := b.keyFor(t, other, billing.RoleOwner)

		with := func(k string, v any) map[string]any {
			p := map[string]any{}
			for kk, vv := range goodProfile {
				p[kk] = vv
			}
			p[k] = v
			return p
		}
		tests := []struct {
			name, method, path, key string
			body                    any
			status                  int
			code, location          string
		}{
			{"malformed json", "POST", "/v1/accounts", b.opKey, `{"name": "x",`, 400, "malformed_request", ""},
			{"unknown field", "POST", "/v1/accounts", b.opKey, map[string]any{"name": "A", "domain": "a.example.com", "colour": "red"}, 422, "invalid", "body.colour"},
			{"wrong type", "POST", "/v1/accounts", b.opKey, map[string]any{"name": 12, "domain": "a.example.com"}, 422, "invalid", "body.name"},
			{"missing name", "POST", "/v1/accounts", b.opKey, map[string]any{"domain": "a.example.com"}, 422, "invalid", "body"},
			{"bad currency", "POST", "/v1/accounts", b.opKey, map[string]any{"name": "A", "domain": "a.example.com", "currency": "XYZ"}, 422, "invalid", "body.currency"},
			{"bad time zone", "POST", "/v1/accounts", b.opKey, map[string]any{"name": "A", "domain": "a.example.com", "time_zone": "Mars/Olympus"}, 422, "invalid", "body.time_zone"},
			{"bad domain", "POST", "/v1/accounts", b.opKey, map[string]any{"name": "A", "domain": "not a domain"}, 422, "invalid", "body.domain"},
			{"duplicate domain", "POST", "/v1/accounts", b.opKey, map[string]any{"name": "Acme Again", "domain": "ACME.example.com"}, 409, "conflict", ""},
			{"bad billing type", "POST", "/v1/accounts", b.opKey, map[string]any{"name": "A", "domain": "a.example.com", "billing_type": "barter"}, 422, "invalid", "body.billing_type"},
			{"bad email", "PUT", "/v1/accounts/" + n + "/profile", owner, with("email", "not-an-email"), 422, "invalid", "body.email"},
			{"bad phone", "PUT", "/v1/accounts/" + n + "/profile", owner, with("phone", "12345"), 422, "invalid", "body.phone"},
			{"bad country", "PUT", "/v1/accounts/" + n + "/profile", owner, with("address", map[string]any{"line1": "x", "city": "y", "country": "XX"}), 422, "invalid", "body.address.country"},
			{"unknown account", "GET", "/v1/accounts/KB-999999", b.opKey, nil, 404, "not_found", ""},
			{"malformed account number", "GET", "/v1/accounts/42", b.opKey, nil, 422, "invalid", "path.number"},
			{"no key", "POST", "/v1/accounts", "", map[string]any{"name": "A", "domain": "a.example.com"}, 401, "unauthorized", ""},
			{"wrong key", "POST", "/v1/accounts", "kb_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", map[string]any{"name": "A", "domain": "a.example.com"}, 401, "unauthorized", ""},
			{"garbage key", "GET", "/v1/accounts/" + n, "hello", nil, 401, "unauthorized", ""},
			{"viewer changes profile", "PUT", "/v1/accounts/" + n + "/profile", viewer, goodProfile, 403, "forbidden", ""},
			{"viewer syncs users", "PUT", "/v1/accounts/" + n + "/managed-users", viewer, map[string]any{"users": []any{}}, 403, "forbidden", ""},
			{"owner creates account", "POST", "/v1/accounts", owner, map[string]any{"name": "A", "domain": "a.example.com"}, 403, "forbidden", ""},
			{"owner edits plans", "POST", "/v1/plans", owner, map[string]any{"code": "x", "name": "X", "prices": []any{map[string]any{"interval": "month", "currency": "USD", "unit_amount": 1}}}, 403, "forbidden", ""},
			{"other tenant reads", "GET", "/v1/accounts/" + n + "/profile", otherOwner, nil, 404, "not_found", ""},
			{"other tenant writes", "PUT", "/v1/accounts/" + n + "/profile", otherOwner, goodProfile, 404, "not_found", ""},
			{"negative price", "POST", "/v1/plans", b.opKey, map[string]any{"code": "x", "name": "X", "prices": []any{map[string]any{"interval": "month", "currency": "USD", "unit_amount": -5}}}, 422, "invalid", "body.prices[0].unit_amount"},
			{"bad interval", "POST", "/v1/plans", b.opKey, map[string]any{"code": "x", "name": "X", "prices": []any{map[string]any{"interval": "week", "currency": "USD", "unit_amount": 5}}}, 422, "invalid", "body.prices[0].interval"},
			{"bad price currency", "POST", "/v1/plans", b.opKey, map[string]any{"code": "x", "name": "X", "prices": []any{map[string]any{"interval": "month", "currency": "usd", "unit_amount": 5}}}, 422, "invalid", "body.prices.unit_price.currency"},
			{"bad user email", "PUT", "/v1/accounts/" + n + "/managed-users", owner, map[string]any{"users": []any{map[string]any{"user_id": "u1", "email": "nope"}}}, 422, "invalid", "body.email"},
			{"remove unknown user", "DELETE", "/v1/accounts/" + n + "/managed-users/ghost", owner, nil, 404, "not_found", ""},
			{"key for unknown account", "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "owner", "account_number": "KB-999999"}, 404, "not_found", ""},
			{"owner key without account", "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "owner"}, 422, "invalid", "body.account"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				accountsBefore, eventsBefore := counts(t, db)
				status, out := b.call(t, tt.method, tt.path, tt.key, tt.body)
				if status != tt.status {
					t.Fatalf("status = %d, want %d: %v", status, tt.status, out)
				}
				if out["code"] != tt.code || out["status"].(float64) != float64(tt.status) || out["detail"] == "" || out["title"] == "" {
					t.Errorf("problem = %v, want code %q with status, title and detail", out, tt.code)
				}
				if tt.location != "" {
					found := false
					errs, _ := out["errors"].([]any)
					for _, e := range errs {
						loc, _ := e.(map[string]any)["location"].(string)
						found = found || strings.HasPrefix(loc, tt.location)
					}
					if !found {
						t.Errorf("errors %v do not name %q", out["errors"], tt.location)
					}
				}
				accountsAfter, eventsAfter := counts(t, db)
				if accountsAfter != accountsBefore || eventsAfter != eventsBefore {
					t.Errorf("a refused request changed something: accounts %d→%d, audit events %d→%d",
						accountsBefore, accountsAfter, eventsBefore, eventsAfter)
				}
			})
		}
	})
}

func TestProblem_IsProblemJSON(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		req, _ := http.NewRequest("GET", b.srv.URL+"/v1/accounts/KB-999999", nil)
		req.Header.Set("Authorization", "Bearer "+b.opKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type = %q, want application/problem+json", ct)
		}
		if resp.Header.Get("X-Request-ID") == "" {
			t.Error("no X-Request-ID")
		}
	})
}

func TestCatalog_PriceChangeIsANewVersion(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.mustCall(t, 201, "POST", "/v1/plans", b.opKey, map[string]any{
			"code": "premium", "name": "Premium", "features": []string{"SSO"},
			"prices": []any{
				map[string]any{"interval": "month", "currency": "USD", "unit_amount": 1000},
				map[string]any{"interval": "year", "currency": "USD", "unit_amount": 10000},
			},
		})
		status, out := b.call(t, "POST", "/v1/plans", b.opKey, map[string]any{
			"code": "premium", "name": "Again", "prices": []any{map[string]any{"interval": "month", "currency": "USD", "unit_amount": 1}},
		})
		if status != 409 || out["code"] != "conflict" {
			t.Errorf("duplicate plan code = %d %v, want 409 conflict", status, out)
		}
		plan := b.mustCall(t, 201, "POST", "/v1/plans/premium/versions", b.opKey, map[string]any{
			"prices": []any{map[string]any{"interval": "month", "currency": "USD", "unit_amount": 1200}},
		})
		cur := plan["current"].(map[string]any)
		if cur["version"].(float64) != 2 {
			t.Errorf("current version = %v, want 2", cur["version"])
		}
		price := cur["prices"].([]any)[0].(map[string]any)["unit_price"].(map[string]any)
		if price["amount"].(float64) != 1200 || price["currency"] != "USD" {
			t.Errorf("new price = %v", price)
		}
		versions := b.mustCall(t, 200, "GET", "/v1/plans/premium/versions", b.opKey, nil)
		if len(versions["items"].([]any)) != 2 {
			t.Errorf("versions = %v", versions)
		}
		// Any key may read the catalog.
		n := b.createAccount(t, "Acme", "acme.example.com")
		viewer := b.keyFor(t, n, billing.RoleViewer)
		list := b.mustCall(t, 200, "GET", "/v1/plans", viewer, nil)
		if len(list["items"].([]any)) != 1 {
			t.Errorf("plans = %v", list)
		}
	})
}

func TestManagedUsers_PlatformSync(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.createAccount(t, "Acme", "acme.example.com")
		platform := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "platform"})["secret"].(string)
		users := func(ids ...string) map[string]any {
			var list []any
			for _, id := range ids {
				list = append(list, map[string]any{"user_id": id, "email": id + "@acme.example.com"})
			}
			return map[string]any{"users": list}
		}
		ch := b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/managed-users", platform, users("u1", "u2", "u3"))
		if len(ch["added"].([]any)) != 3 {
			t.Errorf("first sync = %v", ch)
		}
		ch = b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/managed-users", platform, users("u2", "u3", "u4"))
		if a, r := ch["added"].([]any), ch["removed"].([]any); len(a) != 1 || a[0] != "u4" || len(r) != 1 || r[0] != "u1" {
			t.Errorf("second sync = %v", ch)
		}
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/managed-users/u5", platform, map[string]any{"email": "u5@acme.example.com"})
		b.mustCall(t, 204, "DELETE", "/v1/accounts/"+n+"/managed-users/u2", platform, nil)
		list := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/managed-users", platform, nil)
		if list["total"].(float64) != 3 {
			t.Errorf("roster = %v, want u3 u4 u5", list)
		}
	})
}

func TestAudit_EveryChangeRecordsActorBeforeAfter(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		n := b.createAccount(t, "Acme", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/profile", owner, goodProfile)
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/profile", owner, map[string]any{
			"company_name": "Acme Inc", "contact_name": "Ada Lovelace", "phone": "+14155550132",
			"email": "billing@acme.example.com", "address": map[string]any{"line1": "1 Market St", "city": "San Francisco", "country": "US"},
		})
		events := b.mustCall(t, 200, "GET", "/v1/accounts/"+n+"/audit-events?action=profile.set", owner, nil)["items"].([]any)
		if len(events) != 2 {
			t.Fatalf("profile.set events = %d, want 2", len(events))
		}
		last := events[0].(map[string]any)
		if !strings.HasPrefix(last["actor"].(string), "key:kb_") || last["account_number"] != n {
			t.Errorf("event = %v", last)
		}
		before, after := last["before"].(map[string]any), last["after"].(map[string]any)
		if before["company_name"] != "Acme Corp" || after["company_name"] != "Acme Inc" {
			t.Errorf("before/after = %v / %v", before, after)
		}
		// Operators see every account's events; an owner cannot list all.
		b.mustCall(t, 200, "GET", "/v1/audit-events", b.opKey, nil)
		b.mustCall(t, 403, "GET", "/v1/audit-events", owner, nil)
	})
}

func TestAPIKeys_RevokedKeyIsRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		k := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "platform", "name": "platform"})
		secret, id := k["secret"].(string), int(k["id"].(float64))
		b.mustCall(t, 200, "GET", "/v1/plans", secret, nil)
		list := b.mustCall(t, 200, "GET", "/v1/api-keys", b.opKey, nil)
		for _, it := range list["items"].([]any) {
			if _, ok := it.(map[string]any)["secret"]; ok {
				t.Fatal("key list shows a secret")
			}
		}
		b.mustCall(t, 204, "DELETE", "/v1/api-keys/"+strconv.Itoa(id), b.opKey, nil)
		b.mustCall(t, 401, "GET", "/v1/plans", secret, nil)
	})
}

func TestHealthReadyMetrics(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "korebill_http_requests_total"} {
			if path == "/metrics" { // make sure a request was counted first
				b.call(t, "GET", "/healthz", "", nil)
			}
			resp, err := http.Get(b.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				t.Errorf("GET %s = %d %s, want 200 containing %s", path, resp.StatusCode, body, want)
			}
		}
		db.Close() // a closed database is not ready
		resp, err := http.Get(b.srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Errorf("readyz with a closed database = %d, want 503", resp.StatusCode)
		}
	})
}
