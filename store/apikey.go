package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// apiKeySnapshot is what the audit trail records of an API key: never the
// secret or its hash.
type apiKeySnapshot struct {
	Prefix    string       `json:"prefix"`
	Name      string       `json:"name"`
	Role      billing.Role `json:"role"`
	AccountID int64        `json:"account_id,omitempty"`
	RevokedAt *time.Time   `json:"revoked_at,omitempty"`
}

func snapshotAPIKey(k *billing.APIKey) apiKeySnapshot {
	return apiKeySnapshot{Prefix: k.Prefix, Name: k.Name, Role: k.Role, AccountID: k.AccountID, RevokedAt: k.RevokedAt}
}

// lastUsedResolution is how stale last_used_at may get: Authenticate records
// a use only when the last one recorded is older, so that a busy key does
// not turn every read into a write.
const lastUsedResolution = time.Minute

// CreateAPIKey validates k, generates its secret and stores the secret's
// hash; it returns the secret, which is never available again.
func (db *DB) CreateAPIKey(ctx context.Context, k *billing.APIKey) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	created := *k
	created.LastUsedAt, created.RevokedAt = nil, nil
	var secret string
	err := db.inTx(ctx, "create API key", func(tx *sql.Tx, now time.Time) error {
		var accountID any
		if created.AccountID != 0 {
			accountID = created.AccountID
			if _, err := db.findAccount(ctx, tx, "a.id = $1", created.AccountID, "Account", false); err != nil {
				if billing.ErrorCode(err) == billing.ENOTFOUND {
					var v billing.Validation
					v.Add("account", "The account does not exist.")
					return v.Err()
				}
				return err
			}
		}
		// A prefix has 32 random bits: draw again on the rare collision
		// rather than fail the insert.
		for range 5 {
			secret, created.Prefix = billing.NewAPIKeySecret()
			var taken bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE prefix = $1)`, created.Prefix).Scan(&taken)
			if err != nil {
				return dbError(err, "create API key", "")
			}
			if !taken {
				break
			}
		}
		created.Hash = billing.HashAPIKey(secret)
		created.CreatedAt = now
		err := tx.QueryRowContext(ctx, `
			INSERT INTO api_keys (prefix, hash, name, role, account_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			created.Prefix, created.Hash, created.Name, created.Role, accountID, db.timeArg(now)).Scan(&created.ID)
		if err != nil {
			return dbError(err, "create API key", "")
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "api_key.create", targetType: "api_key", targetID: strconv.FormatInt(created.ID, 10),
			accountID: created.AccountID, after: snapshotAPIKey(&created),
		})
	})
	if err != nil {
		return "", err
	}
	*k = created
	return secret, nil
}

const apiKeyColumns = `id, prefix, hash, name, role, account_id, created_at, last_used_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (*billing.APIKey, error) {
	var k billing.APIKey
	var accountID sql.NullInt64
	err := row.Scan(&k.ID, &k.Prefix, &k.Hash, &k.Name, &k.Role, &accountID, scanTime(&k.CreatedAt),
		scanNullTime(&k.LastUsedAt), scanNullTime(&k.RevokedAt))
	if err != nil {
		return nil, err
	}
	k.AccountID = accountID.Int64
	return &k, nil
}

// Authenticate returns the live key whose secret this is, or EUNAUTHORIZED,
// and records when it was used (not audited: nobody changed anything).
func (db *DB) Authenticate(ctx context.Context, secret string) (*billing.APIKey, error) {
	invalid := billing.ReasonErrorf(billing.EUNAUTHORIZED, "api_key_invalid", "The API key is not valid.")
	prefix := billing.APIKeyPrefix(secret)
	if prefix == "" {
		return nil, invalid
	}
	// Look the key up by its public prefix and compare the hash in constant
	// time, so that the response time says nothing about the secret.
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = $1`, prefix))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, invalid
	} else if err != nil {
		return nil, dbError(err, "authenticate", "")
	}
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(billing.HashAPIKey(secret))) != 1 {
		return nil, invalid
	}
	if k.RevokedAt != nil {
		return nil, billing.ReasonErrorf(billing.EUNAUTHORIZED, "api_key_revoked", "The API key has been revoked.")
	}
	now := db.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedResolution {
		_, err := db.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, db.timeArg(now), k.ID)
		if err != nil {
			return nil, dbError(err, "authenticate: record use", "")
		}
		k.LastUsedAt = &now
	}
	return k, nil
}

// FindAPIKeys returns every key, revoked ones included, oldest first.
func (db *DB) FindAPIKeys(ctx context.Context) ([]*billing.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, dbError(err, "find API keys", "")
	}
	defer rows.Close()
	keys := []*billing.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, dbError(err, "find API keys", "")
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "find API keys", "")
	}
	return keys, nil
}

// RevokeAPIKey revokes the key for good; ENOTFOUND for an unknown id.
// Revoking a revoked key changes nothing and writes nothing.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64) error {
	return db.inTx(ctx, "revoke API key", func(tx *sql.Tx, now time.Time) error {
		k, err := scanAPIKey(tx.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`+db.forUpdate(), id))
		if err != nil {
			return dbError(err, "revoke API key", "API key "+strconv.FormatInt(id, 10))
		}
		if k.RevokedAt != nil {
			return nil
		}
		before := snapshotAPIKey(k)
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, db.timeArg(now), id); err != nil {
			return dbError(err, "revoke API key", "")
		}
		k.RevokedAt = &now
		return db.writeAudit(ctx, tx, now, change{
			action: "api_key.revoke", targetType: "api_key", targetID: strconv.FormatInt(id, 10),
			accountID: k.AccountID, before: before, after: snapshotAPIKey(k),
		})
	})
}

// CountAPIKeys returns the number of live (unrevoked) keys, so that the
// binary can tell a fresh install, which needs a first operator key.
func (db *DB) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n); err != nil {
		return 0, dbError(err, "count API keys", "")
	}
	return n, nil
}
