package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// change is one audit event about to be written: what changed and the JSON
// snapshots of its public fields before and after (nil where there was none).
type change struct {
	action     string
	targetType string
	targetID   string
	accountID  int64 // 0 for changes that belong to no account
	before     any
	after      any
}

// writeAudit records c in the caller's transaction, as made by the actor of
// ctx ("system" when there is none). DESIGN: "Every change writes one."
func (db *DB) writeAudit(ctx context.Context, q querier, now time.Time, c change) error {
	actor := billing.ActorFromContext(ctx).Name
	if actor == "" {
		actor = billing.SystemActor.Name
	}
	before, err := snapshotJSON(c.before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", c.action, err)
	}
	after, err := snapshotJSON(c.after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", c.action, err)
	}
	var accountID any
	if c.accountID != 0 {
		accountID = c.accountID
	}
	_, err = q.ExecContext(ctx, `
		INSERT INTO audit_events (at, actor, action, target_type, target_id, account_id, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		db.timeArg(now), actor, c.action, c.targetType, c.targetID, accountID, before, after)
	return dbError(err, "audit "+c.action, "")
}

// snapshotJSON marshals a snapshot; nil (or a nil pointer) is SQL NULL.
func snapshotJSON(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}

// sameSnapshot reports whether two snapshots record the same state: a change
// that leaves them equal is no change and is not written.
func sameSnapshot(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}

// FindAuditEvents returns events newest first, at most filter.Limit (default
// 50, at most 500), before the cursor filter.BeforeID when it is set.
func (db *DB) FindAuditEvents(ctx context.Context, filter billing.AuditFilter) ([]*billing.AuditEvent, error) {
	limit, _ := pageLimit(filter.Limit, 0)
	var a args
	var where []string
	if filter.AccountID != nil {
		where = append(where, "account_id = "+a.add(*filter.AccountID))
	}
	if filter.Action != "" {
		where = append(where, "action = "+a.add(filter.Action))
	}
	if filter.BeforeID > 0 {
		where = append(where, "id < "+a.add(filter.BeforeID))
	}
	query := `SELECT id, at, actor, action, target_type, target_id, account_id, before, after FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT " + a.add(limit)

	rows, err := db.read.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, dbError(err, "find audit events", "")
	}
	defer rows.Close()
	events := []*billing.AuditEvent{}
	for rows.Next() {
		var e billing.AuditEvent
		var accountID sql.NullInt64
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, scanTime(&e.At), &e.Actor, &e.Action, &e.TargetType, &e.TargetID,
			&accountID, &before, &after); err != nil {
			return nil, dbError(err, "find audit events", "")
		}
		if accountID.Valid {
			e.AccountID = &accountID.Int64
		}
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		events = append(events, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "find audit events", "")
	}
	return events, nil
}
