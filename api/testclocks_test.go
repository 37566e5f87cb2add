package api_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

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
		got = b.mustCall(t, 200, "POST", clockPath+"/advance", b.opKey, map[string]any{"by": "3d"})
		if got["now"] != "2026-02-03T12:00:00Z" {
			t.Errorf("now = %v, want 2026-02-03T12:00:00Z", got["now"])
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
