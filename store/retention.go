package store

import (
	"context"
	"database/sql"
	"time"
)

// Retention is how long the operator keeps the logs of what was sent: webhook
// events with their deliveries and attempts, and emails. Zero keeps them for
// ever.
type Retention struct {
	Webhooks time.Duration
	Emails   time.Duration
}

// Pruned counts what PruneSent deleted.
type Pruned struct {
	WebhookEvents, WebhookDeliveries, Emails int64
}

// PruneSent deletes, in a few set statements, the webhook events older than
// r.Webhooks with their deliveries and attempts, and the emails older than
// r.Emails. Work still to do is kept whatever its age: a pending delivery
// (and so its event), a queued email. The hourly prune job calls it.
func (db *DB) PruneSent(ctx context.Context, r Retention) (Pruned, error) {
	var p Pruned
	err := db.inTx(ctx, "prune sent webhooks and emails", func(tx *sql.Tx, now time.Time) error {
		if r.Webhooks > 0 {
			cutoff := db.timeArg(now.Add(-r.Webhooks))
			old := `SELECT d.id FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
				WHERE e.created_at < $1 AND d.status <> 'pending'`
			if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN (`+old+`)`, cutoff); err != nil {
				return dbError(err, "prune webhook attempts", "")
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id IN (`+old+`)`, cutoff)
			if err != nil {
				return dbError(err, "prune webhook deliveries", "")
			}
			p.WebhookDeliveries, _ = res.RowsAffected()
			res, err = tx.ExecContext(ctx, `DELETE FROM webhook_events WHERE created_at < $1
				AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`, cutoff)
			if err != nil {
				return dbError(err, "prune webhook events", "")
			}
			p.WebhookEvents, _ = res.RowsAffected()
		}
		if r.Emails > 0 {
			res, err := tx.ExecContext(ctx, `DELETE FROM emails WHERE created_at < $1 AND status <> 'queued'`,
				db.timeArg(now.Add(-r.Emails)))
			if err != nil {
				return dbError(err, "prune emails", "")
			}
			p.Emails, _ = res.RowsAffected()
		}
		return nil
	})
	return p, err
}
