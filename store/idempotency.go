package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// ReserveIdempotencyKey claims lease's (scope, key) for a request with the
// given hash, for ttl, held by lease.Owner until leaseFor from now (renewed
// with RenewIdempotencyLease). It returns reserved true when this request
// must run: it is the first, the earlier one expired, or the earlier one
// died — its lease expired — before it changed anything (it is taken over).
// Otherwise it returns the earlier request's record: done with its
// response, still running, or dead after a change (LeaseExpired and
// Changed). The primary key makes concurrent requests with one key agree on
// a single winner, and the takeover is one conditional update, so two
// retries cannot both take a dead key over.
func (db *DB) ReserveIdempotencyKey(ctx context.Context, lease billing.IdempotencyLease, requestHash string, ttl, leaseFor time.Duration) (*billing.IdempotentResponse, bool, error) {
	var rec *billing.IdempotentResponse
	reserved := false
	scope, key := lease.Scope, lease.Key
	err := db.inTx(ctx, "reserve idempotency key", func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at <= $3`,
			scope, key, db.timeArg(now)); err != nil {
			return dbError(err, "expire idempotency key", "")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, created_at, expires_at, lease_owner, lease_expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, key) DO NOTHING`,
			scope, key, requestHash, db.timeArg(now), db.timeArg(now.Add(ttl)), lease.Owner, db.timeArg(now.Add(leaseFor)))
		if err != nil {
			return dbError(err, "reserve idempotency key", "")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			reserved = true
			return nil
		}
		// Take over a key whose request died before changing anything.
		res, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET lease_owner = $1, lease_expires_at = $2
			WHERE scope = $3 AND key = $4 AND request_hash = $5 AND done = $6 AND changed = $6 AND lease_expires_at <= $7`,
			lease.Owner, db.timeArg(now.Add(leaseFor)), scope, key, requestHash, false, db.timeArg(now))
		if err != nil {
			return dbError(err, "take over idempotency key", "")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			db.logger.WarnContext(ctx, "idempotency key taken over: its request died", "key", key)
			reserved = true
			return nil
		}
		rec, err = db.findIdempotencyKey(ctx, tx, scope, key, now)
		return err
	})
	return rec, reserved, err
}

// RenewIdempotencyLease extends the lease of the request that holds (scope,
// key) to leaseFor from now; false when the request no longer holds it.
func (db *DB) RenewIdempotencyLease(ctx context.Context, lease billing.IdempotencyLease, leaseFor time.Duration) (bool, error) {
	held := false
	err := db.inTx(ctx, "renew idempotency lease", func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET lease_expires_at = $1
			WHERE scope = $2 AND key = $3 AND lease_owner = $4 AND done = $5`,
			db.timeArg(now.Add(leaseFor)), lease.Scope, lease.Key, lease.Owner, false)
		if err != nil {
			return dbError(err, "renew idempotency lease", "")
		}
		n, _ := res.RowsAffected()
		held = n == 1
		return nil
	})
	return held, err
}

// fenceIdempotencyLease is run in every write transaction of a request that
// holds an idempotency key (its lease is in ctx), just before it commits:
// it marks the key changed, and fails — rolling the transaction back — when
// the request no longer holds the key (it was taken over, or completed).
// The update locks the key's row until the commit, so a takeover waits for
// the commit and then sees the change.
func (db *DB) fenceIdempotencyLease(ctx context.Context, tx *sql.Tx) error {
	lease, ok := billing.IdempotencyLeaseFromContext(ctx)
	if !ok {
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET changed = $1
		WHERE scope = $2 AND key = $3 AND lease_owner = $4 AND done = $5`, true, lease.Scope, lease.Key, lease.Owner, false)
	if err != nil {
		return dbError(err, "fence idempotency key", "")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return billing.ReasonErrorf(billing.ECONFLICT, "idempotency_key_taken_over",
			"This request no longer holds its Idempotency-Key; nothing was changed.")
	}
	return nil
}

// FindIdempotencyKey returns the record of (scope, key), ENOTFOUND when there
// is none.
func (db *DB) FindIdempotencyKey(ctx context.Context, scope, key string) (*billing.IdempotentResponse, error) {
	return db.findIdempotencyKey(ctx, db.db, scope, key, db.now())
}

func (db *DB) findIdempotencyKey(ctx context.Context, q querier, scope, key string, now time.Time) (*billing.IdempotentResponse, error) {
	rec := &billing.IdempotentResponse{}
	var leaseExpires *time.Time
	err := q.QueryRowContext(ctx, `SELECT request_hash, done, response_status, content_type, body, lease_owner, lease_expires_at, changed
		FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&rec.RequestHash, &rec.Done, &rec.Status, &rec.ContentType, &rec.Body, &rec.LeaseOwner, scanNullTime(&leaseExpires), &rec.Changed)
	if err != nil {
		return nil, dbError(err, "find idempotency key", "Idempotency key")
	}
	rec.LeaseExpired = !rec.Done && (leaseExpires == nil || !leaseExpires.After(now))
	return rec, nil
}

// CompleteIdempotencyKey stores the response of the request that holds
// lease's key; a request that no longer holds it stores nothing.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, lease billing.IdempotencyLease, resp billing.IdempotentResponse) error {
	return db.inTx(ctx, "complete idempotency key", func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = $1, response_status = $2, content_type = $3, body = $4
			WHERE scope = $5 AND key = $6 AND lease_owner = $7 AND done = $8`,
			true, resp.Status, resp.ContentType, resp.Body, lease.Scope, lease.Key, lease.Owner, false)
		return dbError(err, "complete idempotency key", "")
	})
}

// ReleaseIdempotencyKey forgets a reservation whose request failed without
// changing anything, so that a retry runs again.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, lease billing.IdempotencyLease) error {
	return db.inTx(ctx, "release idempotency key", func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND lease_owner = $3 AND done = $4`,
			lease.Scope, lease.Key, lease.Owner, false)
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
