package store_test

import (
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func TestTestClock_AttachAndMoveOnlyForward(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := as("operator")
		start := time.Date(2026, 1, 31, 5, 0, 0, 0, time.UTC)
		c := &billing.TestClock{Name: "demo", Now: start}
		if err := db.CreateTestClock(ctx, c); err != nil {
			t.Fatal(err)
		}
		a := &billing.Account{Name: "Acme", Domain: "acme.example.com"}
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := db.AttachTestClock(ctx, c.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.AttachTestClock(ctx, c.ID, a.ID); err != nil {
			t.Errorf("attaching again to the same clock: %v", err)
		}
		ids, err := db.TestClockAccounts(ctx, c.ID)
		if err != nil || len(ids) != 1 || ids[0] != a.ID {
			t.Fatalf("attached = %v %v", ids, err)
		}
		other := &billing.TestClock{Name: "other", Now: start}
		if err := db.CreateTestClock(ctx, other); err != nil {
			t.Fatal(err)
		}
		assertNothingWritten(t, db, billing.ESTATE, func() error { return db.AttachTestClock(ctx, other.ID, a.ID) })

		later := start.Add(36 * time.Hour)
		if err := db.SetTestClockNow(ctx, c.ID, later); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindTestClock(ctx, c.ID)
		if err != nil || !got.Now.Equal(later) {
			t.Fatalf("clock = %+v %v, want now %s", got, err, later)
		}
		assertNothingWritten(t, db, billing.EINVALID, func() error { return db.SetTestClockNow(ctx, c.ID, start) })
		assertNothingWritten(t, db, billing.ENOTFOUND, func() error { return db.SetTestClockNow(ctx, 999, later) })
		events, err := db.FindAuditEvents(ctx, billing.AuditFilter{Action: "test_clock.advance", Limit: 10})
		if err != nil || len(events) != 1 {
			t.Errorf("advance audit events = %d %v, want 1", len(events), err)
		}
	})
}
