package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func TestCreateAPIKey_AuthenticateAndRevoke(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := context.Background()
		k := &billing.APIKey{Name: "platform", Role: billing.RolePlatform}
		secret, err := db.CreateAPIKey(as("user:ops@kore.test"), k)
		if err != nil {
			t.Fatal(err)
		}
		if k.ID == 0 || billing.APIKeyPrefix(secret) != k.Prefix || k.Hash != billing.HashAPIKey(secret) ||
			k.CreatedAt != stored(clock.Now()) || k.LastUsedAt != nil || k.RevokedAt != nil {
			t.Fatalf("created %+v with secret %q", k, secret)
		}
		ev := lastEvent(t, db, 1)
		if ev.Action != "api_key.create" || ev.TargetType != "api_key" || ev.TargetID != fmt.Sprint(k.ID) || ev.AccountID != nil {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "after", ev.After, fmt.Sprintf(`{"prefix":%q,"name":"platform","role":"platform"}`, k.Prefix))
		if strings.Contains(string(ev.After), k.Hash) || strings.Contains(string(ev.After), secret) {
			t.Fatal("audit event holds the secret or its hash")
		}

		// Authenticating records the use, not as an audit event.
		clock.Advance(time.Hour)
		got, err := db.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		used := stored(clock.Now())
		if got.ID != k.ID || got.Role != billing.RolePlatform || got.LastUsedAt == nil || *got.LastUsedAt != used {
			t.Fatalf("authenticated %+v", got)
		}
		// Uses within a minute of the last recorded one are not written again.
		clock.Advance(30 * time.Second)
		if got, err = db.Authenticate(ctx, secret); err != nil || *got.LastUsedAt != used {
			t.Fatalf("second use: %+v, %v", got, err)
		}
		clock.Advance(time.Minute)
		if got, err = db.Authenticate(ctx, secret); err != nil || *got.LastUsedAt != stored(clock.Now()) {
			t.Fatalf("later use: %+v, %v", got, err)
		}
		keys, err := db.FindAPIKeys(ctx)
		if err != nil || len(keys) != 1 || *keys[0].LastUsedAt != stored(clock.Now()) || keys[0].Hash != k.Hash {
			t.Fatalf("keys = %+v, %v", keys, err)
		}
		lastEvent(t, db, 1)

		for name, wrong := range map[string]string{
			"empty":        "",
			"malformed":    "kb_nope",
			"wrong secret": k.Prefix + "_" + strings.Repeat("A", 43),
			"other prefix": "kb_00000000_" + secret[12:],
		} {
			if _, err := db.Authenticate(ctx, wrong); billing.ErrorCode(err) != billing.EUNAUTHORIZED {
				t.Errorf("%s: error = %v, want unauthorized", name, err)
			}
		}

		if n, err := db.CountAPIKeys(ctx); err != nil || n != 1 {
			t.Fatalf("count = %d, %v", n, err)
		}
		clock.Advance(time.Hour)
		if err := db.RevokeAPIKey(as("user:ops@kore.test"), k.ID); err != nil {
			t.Fatal(err)
		}
		_, err = db.Authenticate(ctx, secret)
		if e := assertCode(t, err, billing.EUNAUTHORIZED); e.Reason != "api_key_revoked" {
			t.Fatalf("revoked key: %v", err)
		}
		if n, err := db.CountAPIKeys(ctx); err != nil || n != 0 {
			t.Fatalf("count after revoke = %d, %v", n, err)
		}
		keys, err = db.FindAPIKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil || *keys[0].RevokedAt != stored(clock.Now()) {
			t.Fatalf("keys = %+v, %v", keys, err)
		}
		ev = lastEvent(t, db, 2)
		if ev.Action != "api_key.revoke" || ev.TargetID != fmt.Sprint(k.ID) {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, fmt.Sprintf(`{"prefix":%q,"name":"platform","role":"platform"}`, k.Prefix))
		assertJSON(t, "after", ev.After, fmt.Sprintf(`{"prefix":%q,"name":"platform","role":"platform",
			"revoked_at":%q}`, k.Prefix, stored(clock.Now()).Format(time.RFC3339Nano)))

		// Revoking again changes nothing; an unknown key is not found.
		if err := db.RevokeAPIKey(as("x"), k.ID); err != nil {
			t.Fatal(err)
		}
		lastEvent(t, db, 2)
		err = assertNothingWritten(t, db, billing.ENOTFOUND, func() error { return db.RevokeAPIKey(as("x"), k.ID+1) })
		if e := assertCode(t, err, billing.ENOTFOUND); e.Message != fmt.Sprintf("API key %d not found.", k.ID+1) {
			t.Fatalf("message = %q", e.Message)
		}
	})
}

func TestCreateAPIKey_AccountKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		k := &billing.APIKey{Name: "owner", Role: billing.RoleOwner, AccountID: a.ID}
		secret, err := db.CreateAPIKey(as("x"), k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Authenticate(context.Background(), secret)
		if err != nil || got.AccountID != a.ID || got.Role != billing.RoleOwner {
			t.Fatalf("authenticated %+v, %v", got, err)
		}
		if ev := lastEvent(t, db, 2); ev.AccountID == nil || *ev.AccountID != a.ID {
			t.Fatalf("event = %+v", ev)
		}

		for name, bad := range map[string]*billing.APIKey{
			"unknown role":        {Role: "admin"},
			"owner of nothing":    {Role: billing.RoleViewer},
			"operator of account": {Role: billing.RoleOperator, AccountID: a.ID},
			"unknown account":     {Role: billing.RoleOwner, AccountID: a.ID + 9},
		} {
			assertNothingWritten(t, db, billing.EINVALID, func() error {
				_, err := db.CreateAPIKey(as("x"), bad)
				return err
			})
			if bad.ID != 0 || bad.Hash != "" {
				t.Errorf("%s: refused key was changed: %+v", name, bad)
			}
		}
	})
}

func TestFindAPIKeys_Empty(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		keys, err := db.FindAPIKeys(context.Background())
		if err != nil || keys == nil || len(keys) != 0 {
			t.Fatalf("keys = %v, %v", keys, err)
		}
		if n, err := db.CountAPIKeys(context.Background()); err != nil || n != 0 {
			t.Fatalf("count = %d, %v", n, err)
		}
	})
}
