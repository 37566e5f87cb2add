package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// ReserveIdempotencyKey claims (scope, key) for a request with the given
// hash. It returns reserved true when this request is the first (or the
// earlier one expired) and must run; otherwise it returns the earlier
// request's record — done with its response, or still running. The primary
// key makes concurrent requests with one key agree on a single winner.
func (db *DB) ReserveIdempotencyKey(ctx context.Context, scope, key, requestHash string, ttl time.Duration) (*billing.IdempotentResponse, bool, error) {
	var rec *billing.IdempotentResponse
	reserved := false
	err := db.inTx(ctx, "reserve idempotency key", func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at <= $3`,
			scope, key, db.timeArg(now)); err != nil {
			return dbError(err, "expire idempotency key", "")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING`,
			scope, key, requestHash, db.timeArg(now), db.timeArg(now.Add(ttl)))
		if err != nil {
			return dbError(err, "reserve idempotency key", "")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			reserved = true
			return nil
		}
		rec, err = db.findIdempotencyKey(ctx, tx, scope, key)
		return err
	})
	return rec, reserved, err
}

// FindIdempotencyKey returns the record of (scope, key), ENOTFOUND when there
// is none.
func (db *DB) FindIdempotencyKey(ctx context.Context, scope, key string) (*billing.IdempotentResponse, error) {
	return db.findIdempotencyKey(ctx, db.db, scope, key)
}

func (db *DB) findIdempotencyKey(ctx context.Context, q querier, scope, key string) (*billing.IdempotentResponse, error) {
	rec := &billing.IdempotentResponse{}
	err := q.QueryRowContext(ctx, `SELECT request_hash, done, response_status, content_type, body
		FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&rec.RequestHash, &rec.Done, &rec.Status, &rec.ContentType, &rec.Body)
	if err != nil {
		return nil, dbError(err, "find idempotency key", "Idempotency key")
	}
	return rec, nil
}

// CompleteIdempotencyKey stores the response of the request that reserved
// (scope, key).
func (db *DB) CompleteIdempotencyKey(ctx context.Context, scope, key string, resp billing.IdempotentResponse) error {
	return db.inTx(ctx, "complete idempotency key", func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = $1, response_status = $2, content_type = $3, body = $4
			WHERE scope = $5 AND key = $6`, true, resp.Status, resp.ContentType, resp.Body, scope, key)
		return dbError(err, "complete idempotency key", "")
	})
}

// ReleaseIdempotencyKey forgets a reservation whose request failed without
// changing anything, so that a retry runs again.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	return db.inTx(ctx, "release idempotency key", func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND done = $3`, scope, key, false)
		return dbError(err, "release idempotency key", "")
	})
}

// DeleteExpiredIdempotencyKeys forgets the responses kept past their day and
// returns how many it removed; the job runner calls it every hour.
func (db *DB) DeleteExpiredIdempotencyKeys(ctx context.Context) (int64, error) {
	var n int64
	err := db.inTx(ctx, "prune idempotency keys", func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, db.timeArg(now))
		if err != nil {
			return dbError(err, "prune idempotency keys", "")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
