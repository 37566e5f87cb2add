package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/webhook"
)

func createEndpoint(t *testing.T, db *store.DB, url string, types ...webhook.EventType) *webhook.Endpoint {
	t.Helper()
	e := &webhook.Endpoint{URL: url, EventTypes: types}
	if err := db.CreateWebhookEndpoint(as("user:ops@kore.test"), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// publish writes an event in a committed transaction and returns its
// deliveries.
func publish(t *testing.T, db *store.DB, ev *webhook.Event) []*webhook.Delivery {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ds, err := db.CreateWebhookEventTx(ctx, tx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestCreateWebhookEndpoint_SecretKeptButNeverAudited(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		e := createEndpoint(t, db, " https://platform.example.com/hooks ", webhook.InvoicePaid, webhook.AccountSuspended, webhook.InvoicePaid)
		if e.ID == 0 || !strings.HasPrefix(e.Secret, "whsec_") || len(e.Secret) != 54 || e.CreatedAt != stored(clock.Now()) ||
			e.URL != "https://platform.example.com/hooks" || e.Disabled() {
			t.Fatalf("created %+v", e)
		}
		ev := lastEvent(t, db, 1)
		if ev.Action != "webhook_endpoint.create" || ev.TargetID != fmt.Sprint(e.ID) || ev.Actor != "user:ops@kore.test" {
			t.Errorf("audit = %+v", ev)
		}
		assertJSON(t, "after", ev.After, `{"url":"https://platform.example.com/hooks","event_types":["account.suspended","invoice.paid"],"disabled":false}`)
		if strings.Contains(string(ev.After), e.Secret) {
			t.Fatal("the audit trail holds the secret")
		}
		got, err := db.FindWebhookEndpointByID(context.Background(), e.ID)
		if err != nil || got.Secret != e.Secret || len(got.EventTypes) != 2 {
			t.Fatalf("find = %+v, %v", got, err)
		}
		if other := createEndpoint(t, db, "https://b.example.com/"); other.Secret == e.Secret {
			t.Error("two endpoints share a secret")
		}
		if _, err := db.FindWebhookEndpointByID(context.Background(), 999); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("unknown id: %v", err)
		}
	})
}

func TestCreateWebhookEndpoint_BadURLOrEventTypeWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		for _, tt := range []struct {
			url   string
			types []webhook.EventType
			field string
		}{
			{"", nil, "url"},
			{"platform.example.com/hooks", nil, "url"},
			{"/hooks", nil, "url"},
			{"ftp://platform.example.com/hooks", nil, "url"},
			{"https://user:pw@platform.example.com/hooks", nil, "url"},
			{"https://platform.example.com/hooks#x", nil, "url"},
			{"https://:443/hooks", nil, "url"},
			{"https://platform.example.com:port/", nil, "url"},
			{"https://platform.example.com/" + strings.Repeat("a", 2048), nil, "url"},
			{"https://platform.example.com/hooks", []webhook.EventType{"invoice.exploded"}, "event_types"},
		} {
			err := db.CreateWebhookEndpoint(as("user:ops@kore.test"), &webhook.Endpoint{URL: tt.url, EventTypes: tt.types})
			var be *billing.Error
			if !errors.As(err, &be) || be.Code != billing.EINVALID || len(be.Fields) == 0 || be.Fields[0].Field != tt.field {
				t.Errorf("url %q types %v: %v, want EINVALID on %s", tt.url, tt.types, err, tt.field)
			}
		}
		if n := count(t, db, "webhook_endpoints") + count(t, db, "audit_events"); n != 0 {
			t.Errorf("%d rows written", n)
		}
	})
}

func TestUpdateWebhookEndpoint_DisableRotateAndNoChange(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("user:ops@kore.test")
		e := createEndpoint(t, db, "https://a.example.com/")
		clock.Advance(time.Hour)
		got, err := db.UpdateWebhookEndpoint(ctx, e.ID, webhook.EndpointUpdate{Disabled: ptr(true),
			EventTypes: &[]webhook.EventType{webhook.PaymentFailed}})
		if err != nil {
			t.Fatal(err)
		}
		if got.DisabledAt == nil || *got.DisabledAt != stored(clock.Now()) || got.Secret != e.Secret || len(got.EventTypes) != 1 {
			t.Errorf("disabled = %+v", got)
		}
		ev := lastEvent(t, db, 2)
		assertJSON(t, "before", ev.Before, `{"url":"https://a.example.com/","event_types":[],"disabled":false}`)
		assertJSON(t, "after", ev.After, `{"url":"https://a.example.com/","event_types":["payment.failed"],"disabled":true}`)

		// The same again is no change and writes nothing.
		if _, err := db.UpdateWebhookEndpoint(ctx, e.ID, webhook.EndpointUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		lastEvent(t, db, 2)

		rotated, err := db.UpdateWebhookEndpoint(ctx, e.ID, webhook.EndpointUpdate{RotateSecret: true, Disabled: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Secret == e.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Disabled() {
			t.Errorf("rotated = %+v", rotated)
		}
		if ev := lastEvent(t, db, 3); ev.Action != "webhook_endpoint.rotate_secret" || strings.Contains(string(ev.After), rotated.Secret) {
			t.Errorf("rotate audit = %+v", ev)
		}

		if _, err := db.UpdateWebhookEndpoint(ctx, e.ID, webhook.EndpointUpdate{URL: ptr("nope")}); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("bad url: %v", err)
		}
		if _, err := db.UpdateWebhookEndpoint(ctx, 999, webhook.EndpointUpdate{Disabled: ptr(true)}); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("unknown id: %v", err)
		}
		lastEvent(t, db, 3)
	})
}

func TestCreateWebhookEventTx_OneDeliveryPerEnabledEndpointThatWantsIt(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := context.Background()
		all := createEndpoint(t, db, "https://all.example.com/")
		paid := createEndpoint(t, db, "https://paid.example.com/", webhook.InvoicePaid)
		off := createEndpoint(t, db, "https://off.example.com/")
		if _, err := db.UpdateWebhookEndpoint(as("system"), off.ID, webhook.EndpointUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}

		ev := &webhook.Event{ID: webhook.NewEventID(), Type: webhook.InvoicePaid, AccountNumber: "KB-000001",
			Data: json.RawMessage(`{"number":"INV-2026-000001"}`)}
		ds := publish(t, db, ev)
		if ev.CreatedAt != stored(clock.Now()) || len(ds) != 2 || ds[0].EndpointID != all.ID || ds[1].EndpointID != paid.ID ||
			ds[0].Status != webhook.DeliveryPending {
			t.Fatalf("event %+v, deliveries %+v", ev, ds)
		}
		at := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) // a test clock's time
		suspended := &webhook.Event{ID: webhook.NewEventID(), Type: webhook.AccountSuspended, AccountNumber: "KB-000002", CreatedAt: at}
		if ds := publish(t, db, suspended); len(ds) != 1 || ds[0].EndpointID != all.ID {
			t.Fatalf("account.suspended deliveries = %+v", ds)
		}

		got, err := db.FindWebhookEvent(ctx, suspended.ID)
		if err != nil || got.CreatedAt != at || string(got.Data) != "{}" || got.Type != webhook.AccountSuspended {
			t.Errorf("event = %+v, %v", got, err)
		}
		events, total, err := db.FindWebhookEvents(ctx, webhook.EventFilter{})
		if err != nil || total != 2 || events[0].ID != suspended.ID || events[1].ID != ev.ID {
			t.Errorf("events newest first = %+v, %d, %v", events, total, err)
		}
		if _, total, _ := db.FindWebhookEvents(ctx, webhook.EventFilter{Type: webhook.InvoicePaid, AccountNumber: "KB-000001"}); total != 1 {
			t.Errorf("filtered events = %d", total)
		}
		if _, err := db.FindWebhookEvent(ctx, "evt_nope"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("unknown event: %v", err)
		}

		for _, tt := range []struct {
			f    webhook.DeliveryFilter
			want int
		}{
			{webhook.DeliveryFilter{}, 3},
			{webhook.DeliveryFilter{EndpointID: all.ID}, 2},
			{webhook.DeliveryFilter{EndpointID: off.ID}, 0},
			{webhook.DeliveryFilter{EventType: webhook.InvoicePaid}, 2},
			{webhook.DeliveryFilter{EventID: suspended.ID}, 1},
			{webhook.DeliveryFilter{AccountNumber: "KB-000002"}, 1},
			{webhook.DeliveryFilter{Status: webhook.DeliveryPending}, 3},
			{webhook.DeliveryFilter{Status: webhook.DeliveryFailed}, 0},
			{webhook.DeliveryFilter{Limit: 1}, 3},
		} {
			list, total, err := db.FindWebhookDeliveries(ctx, tt.f)
			if err != nil || total != tt.want {
				t.Errorf("%+v: total %d, %v; want %d", tt.f, total, err, tt.want)
			}
			if tt.f.Limit == 1 && (len(list) != 1 || list[0].EventID != suspended.ID || list[0].EndpointURL != all.URL) {
				t.Errorf("newest delivery = %+v", list)
			}
		}
		// Publishing is not an operator's change: no audit events for it.
		lastEvent(t, db, 4)
	})
}

func TestRecordWebhookAttempt_LogAndStatus(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := context.Background()
		createEndpoint(t, db, "https://a.example.com/")
		d := publish(t, db, &webhook.Event{ID: webhook.NewEventID(), Type: webhook.InvoicePaid})[0]

		first := &webhook.Attempt{DeliveryID: d.ID, At: clock.Now(), URL: "https://a.example.com/", StatusCode: 500,
			Error: "The endpoint answered 500 Internal Server Error.", Duration: 1500 * time.Microsecond, Response: "oops"}
		next := clock.Now().Add(30 * time.Second)
		if err := db.RecordWebhookAttempt(ctx, first, webhook.DeliveryPending, &next); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		second := &webhook.Attempt{DeliveryID: d.ID, At: clock.Now(), URL: "https://a.example.com/", StatusCode: 200, Duration: time.Millisecond}
		if err := db.RecordWebhookAttempt(ctx, second, webhook.DeliveryDelivered, nil); err != nil {
			t.Fatal(err)
		}
		if first.Attempt != 1 || second.Attempt != 2 || second.ID == 0 {
			t.Errorf("attempt numbers %d, %d", first.Attempt, second.Attempt)
		}
		got, err := db.FindWebhookDelivery(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != webhook.DeliveryDelivered || got.Attempts != 2 || got.LastStatusCode != 200 || got.LastError != "" ||
			got.NextAttemptAt != nil || got.DeliveredAt == nil || *got.DeliveredAt != stored(clock.Now()) ||
			got.Event == nil || got.Event.ID != d.EventID || got.Endpoint == nil || got.Endpoint.Secret == "" {
			t.Errorf("delivery = %+v", got)
		}
		if len(got.Log) != 2 || got.Log[0].StatusCode != 500 || got.Log[0].Response != "oops" ||
			got.Log[0].Duration != 1500*time.Microsecond || got.Log[1].Attempt != 2 {
			t.Errorf("log = %+v %+v", got.Log[0], got.Log[1])
		}
		if err := db.RecordWebhookAttempt(ctx, &webhook.Attempt{DeliveryID: 999}, webhook.DeliveryFailed, nil); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("unknown delivery: %v", err)
		}
		if _, err := db.FindWebhookDelivery(ctx, 999); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("find unknown delivery: %v", err)
		}
	})
}

func TestReplayWebhookDelivery_OnlyWhenNotPendingAndTheEndpointCanTakeIt(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("user:ops@kore.test")
		e := createEndpoint(t, db, "https://a.example.com/")
		d := publish(t, db, &webhook.Event{ID: webhook.NewEventID(), Type: webhook.InvoicePaid})[0]
		var enqueued []int64
		enqueue := func(tx *sql.Tx, d *webhook.Delivery) error {
			if tx == nil {
				t.Error("enqueue without the transaction")
			}
			enqueued = append(enqueued, d.ID)
			return nil
		}
		if _, err := db.ReplayWebhookDelivery(ctx, d.ID, enqueue); billing.ErrorCode(err) != billing.ESTATE ||
			!strings.Contains(err.Error(), "delivery_pending") {
			t.Errorf("replay pending: %v", err)
		}
		if err := db.RecordWebhookAttempt(ctx, &webhook.Attempt{DeliveryID: d.ID, StatusCode: 410, Error: "gone"}, webhook.DeliveryFailed, nil); err != nil {
			t.Fatal(err)
		}
		audits := count(t, db, "audit_events")

		// A failing enqueue rolls the replay back.
		boom := errors.New("queue down")
		if _, err := db.ReplayWebhookDelivery(ctx, d.ID, func(*sql.Tx, *webhook.Delivery) error { return boom }); !errors.Is(err, boom) {
			t.Errorf("replay with a failing enqueue: %v", err)
		}
		if got, _ := db.FindWebhookDelivery(ctx, d.ID); got.Status != webhook.DeliveryFailed || count(t, db, "audit_events") != audits {
			t.Errorf("after a rolled-back replay: %s", got.Status)
		}

		clock.Advance(time.Hour)
		got, err := db.ReplayWebhookDelivery(ctx, d.ID, enqueue)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != webhook.DeliveryPending || *got.NextAttemptAt != stored(clock.Now()) || got.Attempts != 1 ||
			len(enqueued) != 1 || enqueued[0] != d.ID {
			t.Errorf("replayed = %+v, enqueued %v", got, enqueued)
		}
		ev := lastEvent(t, db, audits+1)
		if ev.Action != "webhook_delivery.replay" || ev.Actor != "user:ops@kore.test" {
			t.Errorf("audit = %+v", ev)
		}

		// Not to a disabled or deleted endpoint.
		if err := db.RecordWebhookAttempt(ctx, &webhook.Attempt{DeliveryID: d.ID, StatusCode: 200}, webhook.DeliveryDelivered, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateWebhookEndpoint(ctx, e.ID, webhook.EndpointUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReplayWebhookDelivery(ctx, d.ID, enqueue); billing.ErrorCode(err) != billing.ESTATE ||
			!strings.Contains(err.Error(), "endpoint_disabled") {
			t.Errorf("replay to a disabled endpoint: %v", err)
		}
		if err := db.DeleteWebhookEndpoint(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if ev := lastEvent(t, db, audits+3); ev.Action != "webhook_endpoint.delete" {
			t.Errorf("audit = %+v", ev)
		}
		kept, err := db.FindWebhookDelivery(ctx, d.ID)
		if err != nil || kept.EndpointID != 0 || kept.Endpoint != nil || kept.EndpointURL != "" || len(kept.Log) != 2 {
			t.Fatalf("the delivery after its endpoint was deleted = %+v, %v", kept, err)
		}
		if _, err := db.ReplayWebhookDelivery(ctx, d.ID, enqueue); billing.ErrorCode(err) != billing.ESTATE ||
			!strings.Contains(err.Error(), "endpoint_deleted") {
			t.Errorf("replay to a deleted endpoint: %v", err)
		}
		if err := db.DeleteWebhookEndpoint(ctx, e.ID); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("delete twice: %v", err)
		}
		if len(enqueued) != 1 {
			t.Errorf("enqueued = %v", enqueued)
		}
	})
}

func TestReplayWebhookEvent_ToEveryEndpointThatWantsItNow(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := as("user:ops@kore.test")
		ev := &webhook.Event{ID: webhook.NewEventID(), Type: webhook.PaymentFailed, AccountNumber: "KB-000001"}
		if ds := publish(t, db, ev); len(ds) != 0 {
			t.Fatalf("deliveries with no endpoint = %v", ds)
		}
		var enqueued []*webhook.Delivery
		enqueue := func(_ *sql.Tx, ds []*webhook.Delivery) error { enqueued = append(enqueued, ds...); return nil }
		if _, err := db.ReplayWebhookEvent(ctx, ev.ID, enqueue); billing.ErrorCode(err) != billing.ESTATE ||
			!strings.Contains(err.Error(), "no_endpoint") {
			t.Errorf("replay with no endpoint: %v", err)
		}
		if _, err := db.ReplayWebhookEvent(ctx, "evt_nope", enqueue); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("replay unknown event: %v", err)
		}
		a := createEndpoint(t, db, "https://a.example.com/")
		createEndpoint(t, db, "https://b.example.com/", webhook.InvoicePaid) // does not want it
		ds, err := db.ReplayWebhookEvent(ctx, ev.ID, enqueue)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].EndpointID != a.ID || ds[0].Status != webhook.DeliveryPending || len(enqueued) != 1 {
			t.Fatalf("replayed = %+v", ds)
		}
		// Its delivery is pending now: nothing more to replay.
		if _, err := db.ReplayWebhookEvent(ctx, ev.ID, enqueue); billing.ErrorCode(err) != billing.ESTATE ||
			!strings.Contains(err.Error(), "delivery_pending") {
			t.Errorf("replay while pending: %v", err)
		}
		if err := db.RecordWebhookAttempt(ctx, &webhook.Attempt{DeliveryID: ds[0].ID, StatusCode: 200}, webhook.DeliveryDelivered, nil); err != nil {
			t.Fatal(err)
		}
		again, err := db.ReplayWebhookEvent(ctx, ev.ID, enqueue)
		if err != nil || len(again) != 1 || again[0].ID != ds[0].ID || again[0].Attempts != 1 {
			t.Errorf("replay of a delivered event = %+v, %v", again, err)
		}
		if ev := lastEvent(t, db, 4); ev.Action != "webhook_event.replay" {
			t.Errorf("audit = %+v", ev)
		}
	})
}

// jobRecorder stands in for the job runner.
type jobRecorder struct{ n int }

func (r *jobRecorder) InsertTx(_ context.Context, tx *sql.Tx, _ river.JobArgs, _ *river.InsertOpts) error {
	if tx == nil {
		return errors.New("no transaction")
	}
	r.n++
	return nil
}

func TestTx_WebhooksAndEmailsCommitWithTheEngineTransaction(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		createEndpoint(t, db, "https://a.example.com/")
		jobs := &jobRecorder{}
		hooks := webhook.New(db, nil, webhook.Options{AllowPrivate: true}) // tests deliver to httptest servers on loopback
		hooks.SetJobs(jobs)
		mailer := mail.New(db, nil, nil, mail.Options{}) // no SMTP: recorded
		email := func() *mail.Message {
			return &mail.Message{Kind: mail.KindPaymentFailed, To: []string{"a@b.example"}, Subject: "s", Text: "t"}
		}
		clockTime := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC) // an account's test clock

		var published *webhook.Event
		err := db.InTx(ctx, func(tx *store.Tx) error {
			tx.SetNow(clockTime)
			var err error
			if published, err = tx.PublishWebhook(hooks, webhook.Event{Type: webhook.InvoicePaid, AccountNumber: "KB-000001"}); err != nil {
				return err
			}
			return tx.QueueEmail(mailer, email())
		})
		if err != nil {
			t.Fatal(err)
		}
		if published.CreatedAt != clockTime || jobs.n != 1 {
			t.Errorf("event %+v, jobs %d", published, jobs.n)
		}
		if n := count(t, db, "webhook_deliveries"); n != 1 {
			t.Errorf("deliveries = %d", n)
		}
		if list, _, _ := mailer.Emails(ctx, mail.Filter{}); len(list) != 1 || list[0].Status != mail.StatusRecorded {
			t.Errorf("emails = %+v", list)
		}

		// A change that fails takes its event and its email with it.
		boom := errors.New("declined")
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.PublishWebhook(hooks, webhook.Event{Type: webhook.PaymentFailed}); err != nil {
				return err
			}
			if err := tx.QueueEmail(mailer, email()); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if ev, em := count(t, db, "webhook_events"), count(t, db, "emails"); ev != 1 || em != 1 {
			t.Errorf("after a rolled-back change: %d events, %d emails", ev, em)
		}

		// Without a publisher or a mailer, nothing is written.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if ev, err := tx.PublishWebhook(nil, webhook.Event{Type: webhook.PaymentFailed}); ev != nil || err != nil {
				return fmt.Errorf("publish without a publisher: %v, %v", ev, err)
			}
			return tx.QueueEmail(nil, email())
		})
		if err != nil || count(t, db, "webhook_events") != 1 || count(t, db, "emails") != 1 {
			t.Errorf("webhooks and email off: %v", err)
		}
	})
}
