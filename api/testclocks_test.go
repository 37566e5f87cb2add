package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/testclock"
)

// countingBiller records which accounts a clock advance billed; the billing
// itself is the engine's and is tested there.
type countingBiller struct {
	mu    sync.Mutex
	calls map[int64]int
}

func (b *countingBiller) BillAccount(_ context.Context, id int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[id]++
	return nil
}

// waitReady reads the clock until its advance has finished.
func (b *testBundle) waitReady(t *testing.T, clockPath string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := b.mustCall(t, 200, "GET", clockPath, b.opKey, nil)
		if got["status"] == "ready" {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the clock is still %v after 30s", got["status"])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func setupClocks(t *testing.T, db *store.DB, testMode bool) (*testBundle, *countingBiller) {
	t.Helper()
	b := setup(t, db)
	biller := &countingBiller{calls: map[int64]int{}}
	s := api.New(api.Config{
		Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db,
			TestClocks: db, Clocks: testclock.New(db, biller)},
		TestMode: testMode,
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	b.srv = srv
	return b, biller
}

func TestTestClocks_AdvanceBillsAttachedAccountsAtEveryLocalMidnight(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, biller := setupClocks(t, db, true)
		clock := b.mustCall(t, 201, "POST", "/v1/test-clocks", b.opKey, map[string]any{"name": "demo", "now": "2026-01-31T12:00:00Z"})
		id := clock["id"].(float64)
		clockPath := "/v1/test-clocks/" + strconv.FormatInt(int64(id), 10)
		n := b.createAccount(t, "Acme", "acme.example.com")
		got := b.mustCall(t, 200, "POST", clockPath+"/accounts", b.opKey, map[string]any{"account_number": n})
		if accts := got["accounts"].([]any); len(accts) != 1 || accts[0] != n {
			t.Fatalf("attached = %v", got)
		}
		got = b.mustCall(t, 202, "POST", clockPath+"/advance", b.opKey, map[string]any{"by": "3d"})
		if got["status"] != "advancing" || got["advance_to"] != "2026-02-03T12:00:00Z" {
			t.Errorf("answer = %v, want advancing to 2026-02-03T12:00:00Z", got)
		}
		got = b.waitReady(t, clockPath)
		if got["now"] != "2026-02-03T12:00:00Z" || got["advance_error"] != nil {
			t.Errorf("now = %v (%v), want 2026-02-03T12:00:00Z", got["now"], got["advance_error"])
		}
		// UTC midnights of 1, 2 and 3 February, then the target.
		a, _ := db.FindAccountByNumber(context.Background(), n)
		if biller.calls[a.ID] != 4 {
			t.Errorf("account billed %d times, want 4 stops", biller.calls[a.ID])
		}
		status, out := b.call(t, "POST", clockPath+"/advance", b.opKey, map[string]any{"to": "2026-01-01T00:00:00Z"})
		if status != 422 || out["code"] != "test_clock_backwards" {
			t.Errorf("backwards = %d %v", status, out)
		}
		status, out = b.call(t, "POST", clockPath+"/advance", b.opKey, map[string]any{"by": "soon"})
		if status != 422 || out["code"] != "invalid" {
			t.Errorf("bad by = %d %v", status, out)
		}
		owner := b.keyFor(t, n, billing.RoleOwner)
		if status, _ := b.call(t, "POST", clockPath+"/advance", owner, map[string]any{"by": "1d"}); status != 403 {
			t.Errorf("an owner advanced a clock: %d", status)
		}
	})
}

func TestTestClocks_RefusedOutsideTestMode(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, _ := setupClocks(t, db, false)
		status, out := b.call(t, "POST", "/v1/test-clocks", b.opKey, map[string]any{"now": "2026-01-31T12:00:00Z"})
		if status != 409 || out["code"] != "test_mode_only" {
			t.Errorf("create in production mode = %d %v", status, out)
		}
	})
}

// gatedBiller bills only once open is closed, as a slow advance would.
type gatedBiller struct {
	countingBiller
	open chan struct{}
}

func (b *gatedBiller) BillAccount(ctx context.Context, id int64) error {
	select {
	case <-b.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.countingBiller.BillAccount(ctx, id)
}

// TestTestClocks_AdvanceOutlivesADisconnectingClient: issue 9 defect 5 —
// the advance ran inside the request, so a client that hung up left the
// clock half advanced and a 500. It runs as a job: the request answers 202
// at once, a second advance meanwhile is refused, and the clock reaches its
// time with every stop billed whatever the client did.
func TestTestClocks_AdvanceOutlivesADisconnectingClient(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		biller := &gatedBiller{countingBiller: countingBiller{calls: map[int64]int{}}, open: make(chan struct{})}
		s := api.New(api.Config{
			Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db,
				TestClocks: db, Clocks: testclock.New(db, biller)},
			TestMode: true,
		})
		b.srv = httptest.NewServer(s.Handler())
		t.Cleanup(b.srv.Close)
		clock := b.mustCall(t, 201, "POST", "/v1/test-clocks", b.opKey, map[string]any{"name": "slow", "now": "2026-01-31T12:00:00Z"})
		clockPath := "/v1/test-clocks/" + strconv.FormatInt(int64(clock["id"].(float64)), 10)
		n := b.createAccount(t, "Acme", "acme.example.com")
		b.mustCall(t, 200, "POST", clockPath+"/accounts", b.opKey, map[string]any{"account_number": n})

		// The client gives up after 200 ms, long before the billing may go on.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", b.srv.URL+clockPath+"/advance", strings.NewReader(`{"by": "10d"}`))
		req.Header.Set("Authorization", "Bearer "+b.opKey)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("advance = %d, want 202", resp.StatusCode)
			}
			resp.Body.Close()
		}
		<-ctx.Done()
		status, out := b.call(t, "POST", clockPath+"/advance", b.opKey, map[string]any{"by": "1d"})
		if status != 409 || out["code"] != "test_clock_advancing" {
			t.Errorf("a second advance while advancing = %d %v", status, out)
		}
		close(biller.open)
		got := b.waitReady(t, clockPath)
		if got["now"] != "2026-02-10T12:00:00Z" || got["advance_error"] != nil {
			t.Fatalf("clock = %v", got)
		}
		a, _ := db.FindAccountByNumber(context.Background(), n)
		biller.mu.Lock()
		defer biller.mu.Unlock()
		if biller.calls[a.ID] != 11 { // ten UTC midnights, then the target
			t.Errorf("account billed %d times, want 11 stops", biller.calls[a.ID])
		}
	})
}
