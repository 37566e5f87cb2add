package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/webhook"
)

var _ webhook.Store = (*DB)(nil)

// PublishWebhook publishes ev in the engine's transaction through p (a
// *webhook.Service), stamped with the transaction's time (the account's
// test clock once SetNow has moved it) unless ev has its own. A nil p
// publishes nothing: webhooks are off.
func (tx *Tx) PublishWebhook(p webhook.Publisher, ev webhook.Event) (*webhook.Event, error) {
	if p == nil {
		return nil, nil
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = tx.now
	}
	return p.PublishTx(tx.ctx, tx.tx, ev)
}

// endpointSnapshot is what the audit trail records of a webhook endpoint:
// never its secret.
type endpointSnapshot struct {
	URL         string              `json:"url"`
	Description string              `json:"description,omitempty"`
	EventTypes  []webhook.EventType `json:"event_types"`
	Disabled    bool                `json:"disabled"`
}

func snapshotEndpoint(e *webhook.Endpoint) endpointSnapshot {
	return endpointSnapshot{URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Disabled: e.Disabled()}
}

const endpointColumns = `id, url, description, event_types, secret, disabled_at, created_at, updated_at`

func scanEndpoint(row interface{ Scan(...any) error }) (*webhook.Endpoint, error) {
	var e webhook.Endpoint
	var types string
	err := row.Scan(&e.ID, &e.URL, &e.Description, &types, &e.Secret, scanNullTime(&e.DisabledAt),
		scanTime(&e.CreatedAt), scanTime(&e.UpdatedAt))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return nil, fmt.Errorf("webhook endpoint %d: event types: %w", e.ID, err)
	}
	return &e, nil
}

func eventTypesJSON(types []webhook.EventType) string {
	if types == nil {
		types = []webhook.EventType{}
	}
	b, _ := json.Marshal(types)
	return string(b)
}

// CreateWebhookEndpoint validates e, gives it a new secret when it has none,
// and stores it.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	if err := e.Validate(); err != nil {
		return err
	}
	created := *e
	if created.Secret == "" {
		created.Secret = webhook.NewSecret()
	}
	created.DisabledAt = nil
	err := db.inTx(ctx, "create webhook endpoint", func(tx *sql.Tx, now time.Time) error {
		created.CreatedAt, created.UpdatedAt = now, now
		err := tx.QueryRowContext(ctx, `
			INSERT INTO webhook_endpoints (url, description, event_types, secret, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
			created.URL, created.Description, eventTypesJSON(created.EventTypes), created.Secret,
			db.timeArg(now)).Scan(&created.ID)
		if err != nil {
			return dbError(err, "create webhook endpoint", "")
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "webhook_endpoint.create", targetType: "webhook_endpoint",
			targetID: strconv.FormatInt(created.ID, 10), after: snapshotEndpoint(&created),
		})
	})
	if err != nil {
		return err
	}
	*e = created
	return nil
}

// FindWebhookEndpoints returns every endpoint, disabled ones included,
// oldest first.
func (db *DB) FindWebhookEndpoints(ctx context.Context) ([]*webhook.Endpoint, error) {
	return db.findEndpoints(ctx, db.read, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id`)
}

func (db *DB) findEndpoints(ctx context.Context, q querier, query string, args ...any) ([]*webhook.Endpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(err, "find webhook endpoints", "")
	}
	defer rows.Close()
	out := []*webhook.Endpoint{}
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, dbError(err, "find webhook endpoints", "")
		}
		out = append(out, e)
	}
	return out, dbError(rows.Err(), "find webhook endpoints", "")
}

// FindWebhookEndpointByID returns ENOTFOUND for an unknown id.
func (db *DB) FindWebhookEndpointByID(ctx context.Context, id int64) (*webhook.Endpoint, error) {
	return db.findEndpoint(ctx, db.read, id, false)
}

func (db *DB) findEndpoint(ctx context.Context, q querier, id int64, lock bool) (*webhook.Endpoint, error) {
	query := `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE id = $1`
	if lock {
		query += db.forUpdate()
	}
	e, err := scanEndpoint(q.QueryRowContext(ctx, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, billing.Errorf(billing.ENOTFOUND, "Webhook endpoint %d not found.", id)
	}
	return e, dbError(err, "find webhook endpoint", "")
}

// UpdateWebhookEndpoint applies upd. An update that changes nothing writes
// nothing.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, id int64, upd webhook.EndpointUpdate) (*webhook.Endpoint, error) {
	var updated *webhook.Endpoint
	err := db.inTx(ctx, "update webhook endpoint", func(tx *sql.Tx, now time.Time) error {
		before, err := db.findEndpoint(ctx, tx, id, true)
		if err != nil {
			return err
		}
		after := *before
		if upd.URL != nil {
			after.URL = *upd.URL
		}
		if upd.Description != nil {
			after.Description = *upd.Description
		}
		if upd.EventTypes != nil {
			after.EventTypes = *upd.EventTypes
		}
		if upd.Disabled != nil {
			switch {
			case *upd.Disabled && after.DisabledAt == nil:
				after.DisabledAt = &now
			case !*upd.Disabled:
				after.DisabledAt = nil
			}
		}
		if err := after.Validate(); err != nil {
			return err
		}
		action := "webhook_endpoint.update"
		if upd.RotateSecret {
			after.Secret = webhook.NewSecret()
			action = "webhook_endpoint.rotate_secret"
		} else if sameSnapshot(snapshotEndpoint(before), snapshotEndpoint(&after)) {
			updated = before
			return nil
		}
		after.UpdatedAt = now
		_, err = tx.ExecContext(ctx, `
			UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, secret = $4,
				disabled_at = $5, updated_at = $6
			WHERE id = $7`,
			after.URL, after.Description, eventTypesJSON(after.EventTypes), after.Secret,
			db.nullTimeArg(after.DisabledAt), db.timeArg(now), id)
		if err != nil {
			return dbError(err, "update webhook endpoint", "")
		}
		updated = &after
		return db.writeAudit(ctx, tx, now, change{
			action: action, targetType: "webhook_endpoint", targetID: strconv.FormatInt(id, 10),
			before: snapshotEndpoint(before), after: snapshotEndpoint(&after),
		})
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}

// DeleteWebhookEndpoint removes the endpoint. Its deliveries stay in the
// log without it; pending ones fail at their next attempt.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id int64) error {
	return db.inTx(ctx, "delete webhook endpoint", func(tx *sql.Tx, now time.Time) error {
		before, err := db.findEndpoint(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id); err != nil {
			return dbError(err, "delete webhook endpoint", "")
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "webhook_endpoint.delete", targetType: "webhook_endpoint", targetID: strconv.FormatInt(id, 10),
			before: snapshotEndpoint(before),
		})
	})
}

// CreateWebhookEventTx writes ev, in the caller's transaction, with one
// pending delivery for each enabled endpoint that wants its type, and
// returns the deliveries. The caller enqueues a job for each.
func (db *DB) CreateWebhookEventTx(ctx context.Context, tx *sql.Tx, ev *webhook.Event) ([]*webhook.Delivery, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if ev.ID == "" {
		ev.ID = webhook.NewEventID()
	}
	now := db.now()
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = now
	}
	ev.CreatedAt = normTime(ev.CreatedAt)
	seq := `DEFAULT`
	if db.dialect == DialectSQLite {
		// SQLite has one writer at a time: max + 1 is never taken twice.
		seq = `(SELECT coalesce(max(seq), 0) + 1 FROM webhook_events)`
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO webhook_events (id, seq, type, account_number, data, created_at)
		VALUES ($1, `+seq+`, $2, $3, $4, $5)`,
		ev.ID, ev.Type, ev.AccountNumber, string(ev.Data), db.timeArg(ev.CreatedAt))
	if err != nil {
		return nil, dbError(err, "publish webhook event", "")
	}
	endpoints, err := db.findEndpoints(ctx, tx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE disabled_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	deliveries := []*webhook.Delivery{}
	for _, e := range endpoints {
		if !e.Wants(ev.Type) {
			continue
		}
		d, err := db.insertDelivery(ctx, tx, ev, e, now)
		if err != nil {
			return nil, err
		}
		deliveries = append(deliveries, d)
	}
	return deliveries, nil
}

func (db *DB) insertDelivery(ctx context.Context, tx *sql.Tx, ev *webhook.Event, e *webhook.Endpoint, now time.Time) (*webhook.Delivery, error) {
	d := &webhook.Delivery{
		EventID: ev.ID, EventType: ev.Type, AccountNumber: ev.AccountNumber,
		EndpointID: e.ID, EndpointURL: e.URL, Status: webhook.DeliveryPending,
		NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now,
	}
	err := tx.QueryRowContext(ctx, `
		INSERT INTO webhook_deliveries (event_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, 'pending', $3, $3, $3) RETURNING id`,
		ev.ID, e.ID, db.timeArg(now)).Scan(&d.ID)
	if err != nil {
		return nil, dbError(err, "create webhook delivery", "")
	}
	return d, nil
}

const eventColumns = `id, type, account_number, data, created_at`

func scanEvent(row interface{ Scan(...any) error }) (*webhook.Event, error) {
	var e webhook.Event
	var data string
	if err := row.Scan(&e.ID, &e.Type, &e.AccountNumber, &data, scanTime(&e.CreatedAt)); err != nil {
		return nil, err
	}
	e.Data = json.RawMessage(data)
	return &e, nil
}

// FindWebhookEvent returns ENOTFOUND for an unknown id.
func (db *DB) FindWebhookEvent(ctx context.Context, id string) (*webhook.Event, error) {
	return db.findEvent(ctx, db.read, id)
}

func (db *DB) findEvent(ctx context.Context, q querier, id string) (*webhook.Event, error) {
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM webhook_events WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, billing.Errorf(billing.ENOTFOUND, "Webhook event %s not found.", id)
	}
	return e, dbError(err, "find webhook event", "")
}

// FindWebhookEvents returns a page of events, newest first, and how many
// match.
func (db *DB) FindWebhookEvents(ctx context.Context, f webhook.EventFilter) ([]*webhook.Event, int, error) {
	limit, offset := pageLimit(f.Limit, f.Offset)
	var a args
	var where []string
	if f.Type != "" {
		where = append(where, "type = "+a.add(f.Type))
	}
	if f.AccountNumber != "" {
		where = append(where, "account_number = "+a.add(f.AccountNumber))
	}
	from := ` FROM webhook_events`
	if len(where) > 0 {
		from += " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	events := []*webhook.Event{}
	err := db.inReadTx(ctx, "find webhook events", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from, a...).Scan(&total); err != nil {
			return dbError(err, "count webhook events", "")
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+from+` ORDER BY seq DESC LIMIT `+
			a.add(limit)+` OFFSET `+a.add(offset), a...)
		if err != nil {
			return dbError(err, "find webhook events", "")
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				return dbError(err, "find webhook events", "")
			}
			events = append(events, e)
		}
		return dbError(rows.Err(), "find webhook events", "")
	})
	if err != nil {
		return nil, 0, err
	}
	return events, total, nil
}

const deliveryFrom = ` FROM webhook_deliveries d
	JOIN webhook_events ev ON ev.id = d.event_id
	LEFT JOIN webhook_endpoints w ON w.id = d.endpoint_id`

const deliveryColumns = `d.id, d.event_id, ev.type, ev.account_number, coalesce(d.endpoint_id, 0), coalesce(w.url, ''),
	d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.delivered_at, d.created_at, d.updated_at`

func scanDelivery(row interface{ Scan(...any) error }) (*webhook.Delivery, error) {
	var d webhook.Delivery
	err := row.Scan(&d.ID, &d.EventID, &d.EventType, &d.AccountNumber, &d.EndpointID, &d.EndpointURL,
		&d.Status, &d.Attempts, &d.LastStatusCode, &d.LastError, scanNullTime(&d.NextAttemptAt),
		scanNullTime(&d.DeliveredAt), scanTime(&d.CreatedAt), scanTime(&d.UpdatedAt))
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// FindWebhookDeliveries returns a page of deliveries, newest first, and how
// many match.
func (db *DB) FindWebhookDeliveries(ctx context.Context, f webhook.DeliveryFilter) ([]*webhook.Delivery, int, error) {
	limit, offset := pageLimit(f.Limit, f.Offset)
	var a args
	var where []string
	if f.Status != "" {
		where = append(where, "d.status = "+a.add(f.Status))
	}
	if f.EndpointID != 0 {
		where = append(where, "d.endpoint_id = "+a.add(f.EndpointID))
	}
	if f.EventType != "" {
		where = append(where, "ev.type = "+a.add(f.EventType))
	}
	if f.EventID != "" {
		where = append(where, "d.event_id = "+a.add(f.EventID))
	}
	if f.AccountNumber != "" {
		where = append(where, "ev.account_number = "+a.add(f.AccountNumber))
	}
	from := deliveryFrom
	if len(where) > 0 {
		from += " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	var deliveries []*webhook.Delivery
	err := db.inReadTx(ctx, "find webhook deliveries", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from, a...).Scan(&total); err != nil {
			return dbError(err, "count webhook deliveries", "")
		}
		var err error
		deliveries, err = db.findDeliveries(ctx, tx, `SELECT `+deliveryColumns+from+` ORDER BY d.id DESC LIMIT `+
			a.add(limit)+` OFFSET `+a.add(offset), a...)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return deliveries, total, nil
}

func (db *DB) findDeliveries(ctx context.Context, q querier, query string, args ...any) ([]*webhook.Delivery, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(err, "find webhook deliveries", "")
	}
	defer rows.Close()
	out := []*webhook.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, dbError(err, "find webhook deliveries", "")
		}
		out = append(out, d)
	}
	return out, dbError(rows.Err(), "find webhook deliveries", "")
}

// FindWebhookDelivery returns the delivery with its event, its endpoint
// (nil once deleted) and its attempts, oldest first.
func (db *DB) FindWebhookDelivery(ctx context.Context, id int64) (*webhook.Delivery, error) {
	var d *webhook.Delivery
	err := db.inReadTx(ctx, "find webhook delivery", func(tx *sql.Tx) error {
		var err error
		d, err = db.findDelivery(ctx, tx, id)
		return err
	})
	return d, err
}

func (db *DB) findDelivery(ctx context.Context, q querier, id int64) (*webhook.Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+deliveryFrom+` WHERE d.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, billing.Errorf(billing.ENOTFOUND, "Webhook delivery %d not found.", id)
	} else if err != nil {
		return nil, dbError(err, "find webhook delivery", "")
	}
	if d.Event, err = db.findEvent(ctx, q, d.EventID); err != nil {
		return nil, err
	}
	if d.EndpointID != 0 {
		if d.Endpoint, err = db.findEndpoint(ctx, q, d.EndpointID, false); err != nil {
			return nil, err
		}
	}
	rows, err := q.QueryContext(ctx, `
		SELECT id, delivery_id, attempt, at, url, status_code, error, duration_us, response
		FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt`, id)
	if err != nil {
		return nil, dbError(err, "find webhook attempts", "")
	}
	defer rows.Close()
	d.Log = []*webhook.Attempt{}
	for rows.Next() {
		var a webhook.Attempt
		var us int64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.Attempt, scanTime(&a.At), &a.URL, &a.StatusCode,
			&a.Error, &us, &a.Response); err != nil {
			return nil, dbError(err, "find webhook attempts", "")
		}
		a.Duration = time.Duration(us) * time.Microsecond
		d.Log = append(d.Log, &a)
	}
	return d, dbError(rows.Err(), "find webhook attempts", "")
}

// RecordWebhookAttempt numbers a, adds it to its delivery's log and moves
// the delivery to status; next is when a pending delivery is tried again.
func (db *DB) RecordWebhookAttempt(ctx context.Context, a *webhook.Attempt, status webhook.DeliveryStatus, next *time.Time) error {
	if !status.Valid() {
		return billing.Errorf(billing.EINVALID, "Unknown delivery status %q.", status)
	}
	return db.inTx(ctx, "record webhook attempt", func(tx *sql.Tx, now time.Time) error {
		if a.At.IsZero() {
			a.At = now
		}
		a.At = normTime(a.At)
		var delivered any
		if status == webhook.DeliveryDelivered {
			delivered = db.timeArg(a.At)
		}
		err := tx.QueryRowContext(ctx, `
			UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, last_status_code = $2,
				last_error = $3, next_attempt_at = $4, delivered_at = coalesce($5, delivered_at), updated_at = $6
			WHERE id = $7 RETURNING attempts`,
			status, a.StatusCode, outboxText(a.Error, 2000), db.nullTimeArg(next), delivered, db.timeArg(now), a.DeliveryID).Scan(&a.Attempt)
		if err != nil {
			return dbError(err, "record webhook attempt", "Webhook delivery")
		}
		return tx.QueryRowContext(ctx, `
			INSERT INTO webhook_attempts (delivery_id, attempt, at, url, status_code, error, duration_us, response)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			a.DeliveryID, a.Attempt, db.timeArg(a.At), a.URL, a.StatusCode, outboxText(a.Error, 2000),
			a.Duration.Microseconds(), outboxText(a.Response, 2000)).Scan(&a.ID)
	})
}

type deliverySnapshot struct {
	EventID    string                 `json:"event_id"`
	EndpointID int64                  `json:"endpoint_id,omitempty"`
	Status     webhook.DeliveryStatus `json:"status"`
	Attempts   int                    `json:"attempts"`
}

func snapshotDelivery(d *webhook.Delivery) deliverySnapshot {
	return deliverySnapshot{EventID: d.EventID, EndpointID: d.EndpointID, Status: d.Status, Attempts: d.Attempts}
}

// lockDelivery locks a delivery's row on PostgreSQL (a join's nullable side
// cannot be locked, so the row is locked on its own) and reads it.
func (db *DB) lockDelivery(ctx context.Context, tx *sql.Tx, id int64) (*webhook.Delivery, error) {
	var found int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM webhook_deliveries WHERE id = $1`+db.forUpdate(), id).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, billing.Errorf(billing.ENOTFOUND, "Webhook delivery %d not found.", id)
	} else if err != nil {
		return nil, dbError(err, "find webhook delivery", "")
	}
	return db.findDelivery(ctx, tx, id)
}

// ReplayWebhookDelivery makes a delivered or failed delivery pending again,
// due now, and calls enqueue in the same transaction.
func (db *DB) ReplayWebhookDelivery(ctx context.Context, id int64, enqueue func(*sql.Tx, *webhook.Delivery) error) (*webhook.Delivery, error) {
	err := db.inTx(ctx, "replay webhook delivery", func(tx *sql.Tx, now time.Time) error {
		d, err := db.lockDelivery(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case d.Status == webhook.DeliveryPending:
			return billing.ReasonErrorf(billing.ESTATE, "delivery_pending",
				"Webhook delivery %d is pending: it will be attempted again without a replay.", id)
		case d.Endpoint == nil:
			return billing.ReasonErrorf(billing.ESTATE, "endpoint_deleted",
				"The endpoint of webhook delivery %d was deleted.", id)
		case d.Endpoint.Disabled():
			return billing.ReasonErrorf(billing.ESTATE, "endpoint_disabled",
				"Webhook endpoint %d is disabled; enable it to replay its deliveries.", d.EndpointID)
		}
		before := snapshotDelivery(d)
		if err := db.makePending(ctx, tx, id, now); err != nil {
			return err
		}
		d.Status, d.NextAttemptAt, d.UpdatedAt = webhook.DeliveryPending, &now, now
		if err := db.writeAudit(ctx, tx, now, change{
			action: "webhook_delivery.replay", targetType: "webhook_delivery", targetID: strconv.FormatInt(id, 10),
			before: before, after: snapshotDelivery(d),
		}); err != nil {
			return err
		}
		return enqueue(tx, d)
	})
	if err != nil {
		return nil, err
	}
	return db.FindWebhookDelivery(ctx, id)
}

func (db *DB) makePending(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 WHERE id = $2`,
		db.timeArg(now), id)
	return dbError(err, "replay webhook delivery", "")
}

// ReplayWebhookEvent makes pending again, due now, the event's delivery to
// every enabled endpoint that wants it, adding deliveries to endpoints made
// since, except those already pending; it calls enqueue with them in the
// same transaction. ESTATE when there is nothing to send.
func (db *DB) ReplayWebhookEvent(ctx context.Context, id string, enqueue func(*sql.Tx, []*webhook.Delivery) error) ([]*webhook.Delivery, error) {
	var ids []int64
	err := db.inTx(ctx, "replay webhook event", func(tx *sql.Tx, now time.Time) error {
		ev, err := db.findEvent(ctx, tx, id)
		if err != nil {
			return err
		}
		existing := map[int64]struct {
			id     int64
			status webhook.DeliveryStatus
		}{}
		rows, err := tx.QueryContext(ctx, `SELECT id, endpoint_id, status FROM webhook_deliveries
			WHERE event_id = $1 AND endpoint_id IS NOT NULL`+db.forUpdate(), id)
		if err != nil {
			return dbError(err, "replay webhook event", "")
		}
		for rows.Next() {
			var did, eid int64
			var st webhook.DeliveryStatus
			if err := rows.Scan(&did, &eid, &st); err != nil {
				rows.Close()
				return dbError(err, "replay webhook event", "")
			}
			existing[eid] = struct {
				id     int64
				status webhook.DeliveryStatus
			}{did, st}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbError(err, "replay webhook event", "")
		}
		endpoints, err := db.findEndpoints(ctx, tx, `SELECT `+endpointColumns+` FROM webhook_endpoints
			WHERE disabled_at IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		var replayed []*webhook.Delivery
		pending := 0
		for _, e := range endpoints {
			if !e.Wants(ev.Type) {
				continue
			}
			old, ok := existing[e.ID]
			switch {
			case ok && old.status == webhook.DeliveryPending:
				pending++
			case ok:
				if err := db.makePending(ctx, tx, old.id, now); err != nil {
					return err
				}
				replayed = append(replayed, &webhook.Delivery{ID: old.id, EventID: ev.ID, EndpointID: e.ID})
			default:
				d, err := db.insertDelivery(ctx, tx, ev, e, now)
				if err != nil {
					return err
				}
				replayed = append(replayed, d)
			}
		}
		if len(replayed) == 0 {
			if pending > 0 {
				return billing.ReasonErrorf(billing.ESTATE, "delivery_pending",
					"Every delivery of event %s is pending already.", id)
			}
			return billing.ReasonErrorf(billing.ESTATE, "no_endpoint",
				"No enabled webhook endpoint receives %s events.", ev.Type)
		}
		for _, d := range replayed {
			ids = append(ids, d.ID)
		}
		if err := db.writeAudit(ctx, tx, now, change{
			action: "webhook_event.replay", targetType: "webhook_event", targetID: id,
			after: map[string]any{"deliveries": ids},
		}); err != nil {
			return err
		}
		return enqueue(tx, replayed)
	})
	if err != nil {
		return nil, err
	}
	out := make([]*webhook.Delivery, 0, len(ids))
	for _, did := range ids {
		d, err := db.FindWebhookDelivery(ctx, did)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
