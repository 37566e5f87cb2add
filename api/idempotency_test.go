package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func (b *testBundle) post(t *testing.T, path, key, idem, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

func TestIdempotencyKey_RetryReplaysTheFirstResponse(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := `{"name": "Acme", "domain": "acme.example.com"}`
		s1, _, r1 := b.post(t, "/v1/accounts", b.opKey, "retry-1", body)
		s2, h2, r2 := b.post(t, "/v1/accounts", b.opKey, "retry-1", body)
		if s1 != 201 || s2 != 201 || r1 != r2 {
			t.Fatalf("first %d %s, retry %d %s: want the same 201", s1, r1, s2, r2)
		}
		if h2.Get("Idempotent-Replayed") != "true" || !strings.HasPrefix(h2.Get("Content-Type"), "application/json") {
			t.Errorf("replay headers = %v", h2)
		}
		if n, _ := counts(t, db); n != 1 {
			t.Errorf("%d accounts after a retried create, want 1", n)
		}

		// The same key with another body is an error, and changes nothing.
		s3, _, r3 := b.post(t, "/v1/accounts", b.opKey, "retry-1", `{"name": "Globex", "domain": "globex.example.com"}`)
		if s3 != 422 || !strings.Contains(r3, `"code":"idempotency_key_reused"`) {
			t.Errorf("reused key = %d %s", s3, r3)
		}
		if n, _ := counts(t, db); n != 1 {
			t.Errorf("%d accounts after a reused key, want 1", n)
		}
	})
}

func TestIdempotencyKey_MalformedKeyIsRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		for _, k := range []string{strings.Repeat("k", 256), "has space", "tab\tkey"} {
			s, _, r := b.post(t, "/v1/accounts", b.opKey, k, `{"name": "Acme", "domain": "acme.example.com"}`)
			if s != 400 || !strings.Contains(r, `"code":"invalid_idempotency_key"`) {
				t.Errorf("key %.20q = %d %s", k, s, r)
			}
		}
		if n, _ := counts(t, db); n != 0 {
			t.Errorf("%d accounts after refused requests", n)
		}
	})
}

func TestIdempotencyKey_ConcurrentRetriesRunOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := `{"name": "Acme", "domain": "acme.example.com"}`
		var wg sync.WaitGroup
		results := make([]string, 8)
		statuses := make([]int, 8)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _, results[i] = b.post(t, "/v1/accounts", b.opKey, "same-key", body)
			}()
		}
		wg.Wait()
		for i := range results {
			if statuses[i] != 201 || results[i] != results[0] {
				t.Errorf("request %d = %d %s; want the first 201 %s", i, statuses[i], results[i], results[0])
			}
		}
		if n, _ := counts(t, db); n != 1 {
			t.Errorf("%d accounts after 8 concurrent requests with one key, want 1", n)
		}
	})
}

func TestIdempotencyKey_ScopedToTheCaller(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		other := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "operator"})["secret"].(string)
		s1, _, _ := b.post(t, "/v1/accounts", b.opKey, "k", `{"name": "Acme", "domain": "acme.example.com"}`)
		s2, _, r2 := b.post(t, "/v1/accounts", other, "k", `{"name": "Globex", "domain": "globex.example.com"}`)
		if s1 != 201 || s2 != 201 || !bytes.Contains([]byte(r2), []byte("KB-000002")) {
			t.Errorf("two callers, one key: %d, %d %s", s1, s2, r2)
		}
	})
}

// Issue 4's "a replayed request returns the same invoice": an upgrade sent
// twice with one Idempotency-Key bills once and answers the same invoice.
func TestIdempotencyKey_ReplayedUpgradeReturnsTheSameInvoice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, _ := setupBilling(t, db, "2026-03-16T12:00:00Z")
		n := b.createAccount(t, "Acme", "acme.example.com")
		body := `{"plan": "premium", "interval": "month", "seats": 4}`
		s1, _, r1 := b.post(t, "/v1/accounts/"+n+"/subscription", b.opKey, "upgrade-acme-1", body)
		s2, h2, r2 := b.post(t, "/v1/accounts/"+n+"/subscription", b.opKey, "upgrade-acme-1", body)
		if s1 != 200 && s1 != 201 || s2 != s1 || r1 != r2 || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("first %d, replay %d (replayed %q); bodies equal: %v", s1, s2, h2.Get("Idempotent-Replayed"), r1 == r2)
		}
		if !strings.Contains(r1, `"number":"INV-2026-000001"`) {
			t.Errorf("first answer has no invoice INV-2026-000001: %s", r1)
		}
		if invoices, _, _ := countsOf(t, db); invoices != 1 {
			t.Errorf("%d invoices after a replayed upgrade, want 1", invoices)
		}
		// Without the key, the same request is a new change: the same
		// terms again, so nothing more is billed — but it runs.
		if s, _, _ := b.post(t, "/v1/accounts/"+n+"/subscription", b.opKey, "", body); s >= 300 {
			t.Errorf("the same terms without a key = %d", s)
		}
	})
}

func idempotencyRows(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM idempotency_keys").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The key is checked before the Idempotency-Key: a revoked key gets 401,
// not a replay of its stored response, and a bad key writes no row (issue
// 9, defect 7).
func TestIdempotencyKey_RevokedOrBadKeyIsRefusedBeforeAnyReplayOrRow(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		created := b.mustCall(t, 201, "POST", "/v1/api-keys", b.opKey, map[string]any{"role": "operator", "name": "soon revoked"})
		secret, id := created["secret"].(string), created["id"]
		body := `{"name": "Acme", "domain": "acme.example.com"}`
		if s, _, r := b.post(t, "/v1/accounts", secret, "once", body); s != 201 {
			t.Fatalf("create = %d %s", s, r)
		}
		b.mustCall(t, 204, "DELETE", fmt.Sprintf("/v1/api-keys/%v", id), b.opKey, nil)
		if s, h, r := b.post(t, "/v1/accounts", secret, "once", body); s != 401 || h.Get("Idempotent-Replayed") != "" {
			t.Fatalf("a revoked key's retry = %d %v %s, want 401 and no replay", s, h, r)
		}
		before := idempotencyRows(t, db)
		for i, key := range []string{"kb_00000000_not-a-key", "", secret} {
			if s, _, r := b.post(t, "/v1/accounts", key, fmt.Sprintf("bad-%d", i), body); s != 401 {
				t.Fatalf("key %q = %d %s", key, s, r)
			}
		}
		if n := idempotencyRows(t, db); n != before {
			t.Fatalf("requests with bad keys wrote %d idempotency rows", n-before)
		}
	})
}

// A request whose process died while holding its key (here: a reservation
// whose lease is never renewed) is taken over by its retry once the lease
// has expired, and the retry runs (issue 9, defect 5: it answered 409
// idempotency_key_in_progress for 24 hours).
func TestIdempotencyKey_RequestThatDiedIsTakenOverByItsRetry(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := `{"name": "Acme", "domain": "acme.example.com"}`
		scope := sha256.Sum256([]byte("Bearer " + b.opKey))
		h := sha256.New()
		io.WriteString(h, "POST /v1/accounts\n"+body)
		dead := billing.IdempotencyLease{Scope: hex.EncodeToString(scope[:]), Key: "crashed", Owner: "a killed process"}
		if _, ok, err := db.ReserveIdempotencyKey(context.Background(), dead, hex.EncodeToString(h.Sum(nil)), 24*time.Hour, 300*time.Millisecond); err != nil || !ok {
			t.Fatalf("reserve = %v %v", ok, err)
		}
		s, hdr, r := b.post(t, "/v1/accounts", b.opKey, "crashed", body)
		if s != 201 || hdr.Get("Idempotent-Replayed") != "" {
			t.Fatalf("the retry = %d %s, want it run", s, r)
		}
		if s2, h2, r2 := b.post(t, "/v1/accounts", b.opKey, "crashed", body); s2 != 201 || r2 != r || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the next retry = %d %s, want the replay", s2, r2)
		}
		if n, _ := counts(t, db); n != 1 {
			t.Fatalf("%d accounts", n)
		}
	})
}

// A request that died after it changed something is not run again: its
// retry is told so, at once and for good.
func TestIdempotencyKey_RequestThatDiedAfterAChangeIsNotRunAgain(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		body := `{"name": "Acme", "domain": "acme.example.com"}`
		scope := sha256.Sum256([]byte("Bearer " + b.opKey))
		h := sha256.New()
		io.WriteString(h, "POST /v1/accounts\n"+body)
		dead := billing.IdempotencyLease{Scope: hex.EncodeToString(scope[:]), Key: "crashed", Owner: "a killed process"}
		ctx := billing.NewContextWithActor(context.Background(), billing.SystemActor)
		if _, ok, err := db.ReserveIdempotencyKey(ctx, dead, hex.EncodeToString(h.Sum(nil)), 24*time.Hour, 300*time.Millisecond); err != nil || !ok {
			t.Fatalf("reserve = %v %v", ok, err)
		}
		if err := db.CreateAccount(billing.NewContextWithIdempotencyLease(ctx, dead), &billing.Account{Name: "Acme", Domain: "acme.example.com", Currency: "USD", TimeZone: "UTC"}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if s, _, r := b.post(t, "/v1/accounts", b.opKey, "crashed", body); s != 409 || !strings.Contains(r, `"code":"idempotency_key_interrupted"`) {
				t.Fatalf("the retry = %d %s", s, r)
			}
		}
		if n, _ := counts(t, db); n != 1 {
			t.Fatalf("%d accounts", n)
		}
	})
}
