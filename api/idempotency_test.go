package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

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
