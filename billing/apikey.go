package billing

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// APIKey is a stored key. The secret itself is never stored: only its
// SHA-256, which is enough for a random 256-bit secret (no password
// stretching is needed for keys nobody chose).
type APIKey struct {
	ID         int64
	Prefix     string // "kb_" + 8 hex characters; shown in lists and logs
	Hash       string // hex SHA-256 of the whole key
	Name       string
	Role       Role
	AccountID  int64 // for account roles
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// NewAPIKeySecret returns a fresh key ("kb_<8 hex>_<43 base64url>") and the
// prefix that identifies it.
func NewAPIKeySecret() (secret, prefix string) {
	var id [4]byte
	var body [32]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(body[:])
	prefix = "kb_" + hex.EncodeToString(id[:])
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(body[:]), prefix
}

// HashAPIKey returns the hex SHA-256 of a key.
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// APIKeyPrefix returns the prefix of a key as presented, or "" when it has
// not the form of one.
func APIKeyPrefix(secret string) string {
	if len(secret) != 3+8+1+43 || !strings.HasPrefix(secret, "kb_") || secret[11] != '_' {
		return ""
	}
	return secret[:11]
}

// Validate checks the role and its account.
func (k *APIKey) Validate() error {
	var v Validation
	if !k.Role.Valid() {
		v.Add("role", "Role must be operator, platform, owner, billing_admin or viewer.")
	} else if k.Role.AccountScoped() && k.AccountID == 0 {
		v.Add("account", "An %s key belongs to an account.", k.Role)
	} else if !k.Role.AccountScoped() && k.AccountID != 0 {
		v.Add("account", "An %s key does not belong to an account.", k.Role)
	}
	if len(k.Name) > 100 {
		v.Add("name", "Name must be at most 100 characters.")
	}
	return v.Err()
}
