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

// TestTestClock_ChangesToAnAccountAreAtItsClocksTime: "dates shown come
// from the account's own clock": a profile saved and an account updated on
// a clock account say the clock's time, in the record and in the audit log.
func TestTestClock_ChangesToAnAccountAreAtItsClocksTime(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := as("operator")
		start := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
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
		p := &billing.BillingProfile{AccountID: a.ID, CompanyName: "Acme", ContactName: "Ada",
			Address: billing.Address{Line1: "1 Market St", City: "SF", Country: "US"}, Phone: "+14155550132", Email: "a@acme.example.com"}
		if err := db.SetProfile(ctx, p); err != nil {
			t.Fatal(err)
		}
		if !p.UpdatedAt.Equal(start) {
			t.Errorf("profile updated at %v; want the clock's %v", p.UpdatedAt, start)
		}
		name := "Acme Inc"
		updated, err := db.UpdateAccount(ctx, a.ID, billing.AccountUpdate{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		if !updated.UpdatedAt.Equal(start) {
			t.Errorf("account updated at %v; want the clock's %v", updated.UpdatedAt, start)
		}
		events, err := db.FindAuditEvents(ctx, billing.AuditFilter{AccountID: &a.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, e := range events {
			if e.Action == "profile.set" || e.Action == "account.update" {
				seen++
				if !e.At.Equal(start) {
					t.Errorf("%s at %v; want the clock's %v", e.Action, e.At, start)
				}
			}
		}
		if seen != 2 {
			t.Errorf("%d of the two audit events", seen)
		}
	})
}
