package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/webhook"
)

// recordingInserter stands in for the job runner: it keeps the jobs it
// was given, in the caller's transaction.
type recordingInserter struct {
	mu   sync.Mutex
	jobs []river.JobArgs
}

func (r *recordingInserter) InsertTx(_ context.Context, tx *sql.Tx, args river.JobArgs, _ *river.InsertOpts) error {
	if tx == nil {
		return fmt.Errorf("no transaction")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, args)
	return nil
}

func (r *recordingInserter) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

type outboxBundle struct {
	*testBundle
	hooks *webhook.Service
	mail  *mail.Service
	jobs  *recordingInserter
}

// setupOutbox serves the API with the webhook service and the email outbox
// (recording only: no SMTP server).
func setupOutbox(t *testing.T, db *store.DB) *outboxBundle {
	t.Helper()
	jobs := &recordingInserter{}
	hooks := webhook.New(db, nil, webhook.Options{AllowPrivate: true}) // tests deliver to httptest servers on loopback
	hooks.SetJobs(jobs)
	outbox := mail.New(db, nil, nil, mail.Options{})
	s := api.New(api.Config{
		Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db,
			Idempotency: db, Webhooks: hooks, Emails: outbox},
		Ready: db.Ping,
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	key, err := db.CreateAPIKey(operatorCtx, &billing.APIKey{Name: "test operator", Role: billing.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	return &outboxBundle{testBundle: &testBundle{db: db, srv: srv, opKey: key}, hooks: hooks, mail: outbox, jobs: jobs}
}

var operatorCtx = billing.NewContextWithActor(context.Background(), billing.SystemActor)

func TestWebhookEndpoints_SecretShownOnceAndNeverListed(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupOutbox(t, db)
		out := b.mustCall(t, 201, "POST", "/v1/webhook-endpoints", b.opKey, map[string]any{
			"url": "https://platform.example.com/hooks", "description": "Kore platform",
			"event_types": []string{"invoice.paid", "account.suspended"},
		})
		secret, _ := out["secret"].(string)
		if !strings.HasPrefix(secret, "whsec_") || out["disabled"] != false || out["url"] != "https://platform.example.com/hooks" {
			t.Fatalf("created = %v", out)
		}
		if types := fmt.Sprint(out["event_types"]); types != "[account.suspended invoice.paid]" {
			t.Errorf("event_types = %s", types)
		}
		id := fmt.Sprint(out["id"])
		list := b.mustCall(t, 200, "GET", "/v1/webhook-endpoints", b.opKey, nil)
		items := list["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("list = %v", list)
		}
		if _, ok := items[0].(map[string]any)["secret"]; ok {
			t.Error("the list shows the secret")
		}
		if got := b.mustCall(t, 200, "GET", "/v1/webhook-endpoints/"+id, b.opKey, nil); got["secret"] != nil || got["description"] != "Kore platform" {
			t.Errorf("get = %v", got)
		}

		off := b.mustCall(t, 200, "PATCH", "/v1/webhook-endpoints/"+id, b.opKey, map[string]any{"disabled": true, "event_types": []string{}})
		if off["disabled"] != true || off["disabled_at"] == nil || fmt.Sprint(off["event_types"]) != "[]" {
			t.Errorf("disabled = %v", off)
		}
		rotated := b.mustCall(t, 200, "POST", "/v1/webhook-endpoints/"+id+"/rotate-secret", b.opKey, nil)
		if s, _ := rotated["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == secret {
			t.Errorf("rotated = %v", rotated)
		}
		b.mustCall(t, 204, "DELETE", "/v1/webhook-endpoints/"+id, b.opKey, nil)
		if status, p := b.call(t, "GET", "/v1/webhook-endpoints/"+id, b.opKey, nil); status != 404 || p["code"] != "not_found" {
			t.Errorf("after delete: %d %v", status, p)
		}

		// Every event type the webhook package knows is in the schema.
		var all []string
		for _, t := range webhook.EventTypes() {
			all = append(all, string(t))
		}
		b.mustCall(t, 201, "POST", "/v1/webhook-endpoints", b.opKey, map[string]any{"url": "https://all.example.com/", "event_types": all})
	})
}

func TestWebhookEndpoints_BadInputIsRefusedClearlyAndNothingWritten(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupOutbox(t, db)
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		platform := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "platform"})["secret"].(string)
		_, before := counts(t, db)

		tests := []struct {
			name, key string
			body      any
			status    int
			code      string
			location  string
			detail    string
		}{
			{"ftp URL", b.opKey, map[string]any{"url": "ftp://platform.example.com/"}, 422, "invalid", "body.url", "https://"},
			{"relative URL", b.opKey, map[string]any{"url": "/hooks"}, 422, "invalid", "body.url", "https://"},
			{"credentials in the URL", b.opKey, map[string]any{"url": "https://u:p@platform.example.com/"}, 422, "invalid", "body.url", "credentials"},
			{"no URL", b.opKey, map[string]any{"event_types": []string{"invoice.paid"}}, 422, "invalid", "body", ""},
			{"unknown event type", b.opKey, map[string]any{"url": "https://platform.example.com/", "event_types": []string{"invoice.exploded"}}, 422, "invalid", "body.event_types[0]", ""},
			{"not JSON", b.opKey, "{", 400, "malformed_request", "", ""},
			{"owner key", owner, map[string]any{"url": "https://platform.example.com/"}, 403, "forbidden", "", ""},
			{"platform key", platform, map[string]any{"url": "https://platform.example.com/"}, 403, "forbidden", "", ""},
			{"no key", "", map[string]any{"url": "https://platform.example.com/"}, 401, "unauthorized", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, p := b.call(t, "POST", "/v1/webhook-endpoints", tt.key, tt.body)
				if status != tt.status || p["code"] != tt.code {
					t.Fatalf("%d %v, want %d %s", status, p, tt.status, tt.code)
				}
				if tt.location != "" {
					errs, _ := p["errors"].([]any)
					if len(errs) == 0 || errs[0].(map[string]any)["location"] != tt.location {
						t.Errorf("errors = %v, want location %s", p["errors"], tt.location)
					}
				}
				if tt.detail != "" && !strings.Contains(fmt.Sprint(p["detail"]), tt.detail) {
					t.Errorf("detail = %q, want it to mention %q", p["detail"], tt.detail)
				}
			})
		}
		if list := b.mustCall(t, 200, "GET", "/v1/webhook-endpoints", b.opKey, nil); len(list["items"].([]any)) != 0 {
			t.Errorf("endpoints written: %v", list)
		}
		if _, after := counts(t, db); after != before {
			t.Errorf("audit events %d → %d", before, after)
		}
		if status, p := b.call(t, "PATCH", "/v1/webhook-endpoints/99", b.opKey, map[string]any{"disabled": true}); status != 404 {
			t.Errorf("patch unknown: %d %v", status, p)
		}
	})
}

func TestWebhookDeliveries_ListGetAndReplay(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupOutbox(t, db)
		ep := b.mustCall(t, 201, "POST", "/v1/webhook-endpoints", b.opKey, map[string]any{"url": "https://platform.example.com/"})
		ctx := context.Background()
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := b.hooks.PublishTx(ctx, tx, webhook.Event{Type: webhook.AccountSuspended, AccountNumber: "KB-000001",
			Data: []byte(`{"number":"KB-000001","status":"suspended"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if b.jobs.count() != 1 {
			t.Fatalf("jobs = %d, want 1", b.jobs.count())
		}

		list := b.mustCall(t, 200, "GET", "/v1/webhook-deliveries?status=pending&event_type=account.suspended&account_number=KB-000001", b.opKey, nil)
		items := list["items"].([]any)
		if list["total"] != float64(1) || len(items) != 1 {
			t.Fatalf("deliveries = %v", list)
		}
		d := items[0].(map[string]any)
		id := fmt.Sprint(d["id"])
		if d["event_id"] != ev.ID || d["endpoint_id"] != ep["id"] || d["status"] != "pending" {
			t.Errorf("delivery = %v", d)
		}
		// A pending delivery is not replayed.
		if status, p := b.call(t, "POST", "/v1/webhook-deliveries/"+id+"/replay", b.opKey, nil); status != 409 || p["code"] != "delivery_pending" {
			t.Errorf("replay pending: %d %v", status, p)
		}

		var deliveryID int64
		fmt.Sscan(id, &deliveryID)
		if err := db.RecordWebhookAttempt(ctx, &webhook.Attempt{DeliveryID: deliveryID, URL: "https://platform.example.com/",
			StatusCode: 500, Error: "The endpoint answered 500 Internal Server Error.", Response: "boom"}, webhook.DeliveryFailed, nil); err != nil {
			t.Fatal(err)
		}
		got := b.mustCall(t, 200, "GET", "/v1/webhook-deliveries/"+id, b.opKey, nil)
		log := got["log"].([]any)
		event := got["event"].(map[string]any)
		if got["status"] != "failed" || len(log) != 1 || log[0].(map[string]any)["status_code"] != float64(500) ||
			log[0].(map[string]any)["response"] != "boom" || event["type"] != "account.suspended" ||
			event["data"].(map[string]any)["status"] != "suspended" {
			t.Errorf("delivery = %v", got)
		}
		if n := b.mustCall(t, 200, "GET", "/v1/webhook-deliveries?status=delivered", b.opKey, nil)["total"]; n != float64(0) {
			t.Errorf("delivered = %v", n)
		}

		replayed := b.mustCall(t, 202, "POST", "/v1/webhook-deliveries/"+id+"/replay", b.opKey, nil)
		if replayed["status"] != "pending" || b.jobs.count() != 2 {
			t.Errorf("replayed = %v, jobs %d", replayed, b.jobs.count())
		}
		if args, ok := b.jobs.jobs[1].(webhook.DeliverArgs); !ok || fmt.Sprint(args.DeliveryID) != id {
			t.Errorf("job = %#v", b.jobs.jobs[1])
		}
		if status, p := b.call(t, "POST", "/v1/webhook-events/"+ev.ID+"/replay", b.opKey, nil); status != 409 || p["code"] != "delivery_pending" {
			t.Errorf("replay an event whose delivery is pending: %d %v", status, p)
		}

		got = b.mustCall(t, 200, "GET", "/v1/webhook-events/"+ev.ID, b.opKey, nil)
		if got["account_number"] != "KB-000001" || got["data"].(map[string]any)["number"] != "KB-000001" {
			t.Errorf("event = %v", got)
		}
		if events := b.mustCall(t, 200, "GET", "/v1/webhook-events?type=account.suspended", b.opKey, nil); events["total"] != float64(1) {
			t.Errorf("events = %v", events)
		}
		for _, path := range []string{"/v1/webhook-deliveries/999", "/v1/webhook-events/evt_000000000000000000000000"} {
			if status, p := b.call(t, "GET", path, b.opKey, nil); status != 404 || p["code"] != "not_found" {
				t.Errorf("GET %s: %d %v", path, status, p)
			}
		}
		if status, _ := b.call(t, "GET", "/v1/webhook-deliveries?status=lost", b.opKey, nil); status != 422 {
			t.Errorf("unknown status filter: %d", status)
		}
	})
}

func TestEmails_OperatorListsAndReadsTheOutbox(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupOutbox(t, db)
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		admin := b.keyFor(t, n, billing.RoleBillingAdmin)
		b.mustCall(t, 200, "PUT", "/v1/accounts/"+n+"/profile", admin, goodProfile)
		a, err := db.FindAccountByNumber(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		p, err := db.FindProfile(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.CardExpiring(p, n, billing.Card{Brand: billing.CardVisa, Last4: "4242", ExpMonth: 5, ExpYear: 2026})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.mail.QueueTx(ctx, tx, m); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}

		list := b.mustCall(t, 200, "GET", "/v1/emails?account_number="+n+"&kind=card_expiring&status=recorded&to=billing@acme", b.opKey, nil)
		items := list["items"].([]any)
		if list["total"] != float64(1) || len(items) != 1 {
			t.Fatalf("emails = %v", list)
		}
		e := items[0].(map[string]any)
		if e["status"] != "recorded" || e["account_number"] != n || e["text"] != nil ||
			e["subject"] != "Your Visa ending 4242 expires at the end of May 2026" {
			t.Errorf("listed = %v", e)
		}
		got := b.mustCall(t, 200, "GET", fmt.Sprintf("/v1/emails/%v", e["id"]), b.opKey, nil)
		if !strings.Contains(fmt.Sprint(got["text"]), "expires at the end of May 2026") || got["html"] == nil ||
			fmt.Sprint(got["to"]) != "[billing@acme.example.com]" {
			t.Errorf("email = %v", got)
		}
		if n := b.mustCall(t, 200, "GET", "/v1/emails?status=sent", b.opKey, nil)["total"]; n != float64(0) {
			t.Errorf("sent = %v", n)
		}
		for _, tt := range []struct {
			path, key string
			status    int
		}{
			{"/v1/emails", admin, 403},
			{"/v1/emails/999", b.opKey, 404},
			{"/v1/emails?account_number=KB-999999", b.opKey, 404},
			{"/v1/emails?kind=newsletter", b.opKey, 422},
		} {
			if status, p := b.call(t, "GET", tt.path, tt.key, nil); status != tt.status {
				t.Errorf("GET %s = %d %v, want %d", tt.path, status, p, tt.status)
			}
		}
	})
}

func TestOutboxRoutes_NotConfiguredAnswers501(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		for _, path := range []string{"/v1/webhook-endpoints", "/v1/webhook-deliveries", "/v1/emails"} {
			if status, p := b.call(t, "GET", path, b.opKey, nil); status != 501 || p["code"] != "not_configured" {
				t.Errorf("GET %s = %d %v", path, status, p)
			}
		}
	})
}
