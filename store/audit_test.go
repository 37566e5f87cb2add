package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func TestFindAuditEvents_FiltersNewestFirstWithCursor(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		acme := newAccount(t, db, "Acme", "acme.test")
		globex := newAccount(t, db, "Globex", "globex.test")
		for _, name := range []string{"A", "B", "C"} {
			if _, err := db.UpdateAccount(as("x"), acme.ID, billing.AccountUpdate{Name: ptr("Acme " + name)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreatePlan(as("x"), &billing.Plan{Code: "free", Name: "Free"}, nil); err != nil {
			t.Fatal(err)
		}
		// Events: 1 create acme, 2 create globex, 3–5 update acme, 6 plan.

		ids := func(f billing.AuditFilter) []int64 {
			t.Helper()
			events, err := db.FindAuditEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{}
			for _, e := range events {
				out = append(out, e.ID)
			}
			return out
		}
		all := ids(billing.AuditFilter{})
		if len(all) != 6 || !slices.IsSortedFunc(all, func(a, b int64) int { return int(b - a) }) {
			t.Fatalf("all = %v, want 6 newest first", all)
		}
		byAccount := ids(billing.AuditFilter{AccountID: &acme.ID})
		if len(byAccount) != 4 {
			t.Fatalf("acme events = %v", byAccount)
		}
		if got := ids(billing.AuditFilter{AccountID: &globex.ID}); len(got) != 1 || got[0] != all[4] {
			t.Fatalf("globex events = %v", got)
		}
		updates := ids(billing.AuditFilter{AccountID: &acme.ID, Action: "account.update"})
		if len(updates) != 3 {
			t.Fatalf("updates = %v", updates)
		}
		page1 := ids(billing.AuditFilter{AccountID: &acme.ID, Limit: 2})
		page2 := ids(billing.AuditFilter{AccountID: &acme.ID, Limit: 2, BeforeID: page1[1]})
		if !slices.Equal(append(page1, page2...), byAccount) {
			t.Fatalf("pages %v + %v, want %v", page1, page2, byAccount)
		}
		if got := ids(billing.AuditFilter{Action: "plan.create"}); len(got) != 1 || got[0] != all[0] {
			t.Fatalf("plan events = %v", got)
		}
		if got := ids(billing.AuditFilter{Action: "nothing"}); len(got) != 0 {
			t.Fatalf("no events expected, got %v", got)
		}
	})
}
