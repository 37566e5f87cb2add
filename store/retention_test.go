package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/webhook"
)

// Webhook events with their deliveries and attempts, and emails, are
// deleted once older than the operator's retention; what is still to be
// sent is kept whatever its age, and a zero retention keeps everything.
func TestPruneSent_DeletesWhatIsOlderThanTheRetentionButNotWhatIsStillToSend(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := context.Background()
		createEndpoint(t, db, "https://all.example.com/")
		sent := func(status webhook.DeliveryStatus) string {
			t.Helper()
			ev := &webhook.Event{Type: webhook.InvoicePaid, AccountNumber: "KB-000001", Data: []byte(`{}`)}
			ds := publish(t, db, ev)
			if status != webhook.DeliveryPending {
				if err := db.RecordWebhookAttempt(ctx, &webhook.Attempt{DeliveryID: ds[0].ID, StatusCode: 200}, status, nil); err != nil {
					t.Fatal(err)
				}
			}
			return ev.ID
		}
		email := func(status mail.Status) {
			t.Helper()
			m := &mail.Message{Kind: mail.KindCardExpiring, To: []string{"ops@kore.test"}, Subject: "Card", Text: "Expires", Status: status}
			if err := queueEmail(t, db, m); err != nil {
				t.Fatal(err)
			}
		}
		oldDelivered, oldFailed, oldPending := sent(webhook.DeliveryDelivered), sent(webhook.DeliveryFailed), sent(webhook.DeliveryPending)
		email(mail.StatusRecorded)
		email(mail.StatusQueued)
		clock.Advance(20 * 24 * time.Hour)
		recent := sent(webhook.DeliveryDelivered)
		email(mail.StatusRecorded)
		clock.Advance(11 * 24 * time.Hour) // the first ones are 31 days old, the others 11

		if p, err := db.PruneSent(ctx, store.Retention{}); err != nil || p != (store.Pruned{}) {
			t.Fatalf("no retention set: %+v %v", p, err)
		}
		p, err := db.PruneSent(ctx, store.Retention{Webhooks: 30 * 24 * time.Hour, Emails: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if p != (store.Pruned{WebhookEvents: 2, WebhookDeliveries: 2, Emails: 1}) {
			t.Fatalf("pruned %+v", p)
		}
		for id, want := range map[string]bool{oldDelivered: false, oldFailed: false, oldPending: true, recent: true} {
			_, err := db.FindWebhookEvent(ctx, id)
			if kept := err == nil; kept != want {
				t.Errorf("event %s kept = %v (%v), want %v", id, kept, err, want)
			}
		}
		if n := count(t, db, "webhook_attempts"); n != 1 {
			t.Errorf("%d attempts left, want the recent one", n)
		}
		if n := count(t, db, "emails"); n != 2 {
			t.Errorf("%d emails left, want the queued and the recent", n)
		}
	})
}
