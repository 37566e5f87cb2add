package engine_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// Unused time is credited of what was charged for the period, seat by
// seat, on every path that credits it: a user inactive 15 days has had
// their seat's days given back (or was not charged at renewal), so a
// dearer plan and a monthly → annual change credit the other seats only,
// and charge the new price for the seats that are charged; the inactive
// user, active again, is charged for the days left like a new user.
func TestStory_UnusedTimeIsCreditedOfWhatWasCharged(t *testing.T) {
	forEachStore(t, "2026-03-01T10:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		if err := b.users(t, a, 3); err != nil {
			t.Fatal(err)
		}
		b.confirm(t, a, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAll})
		active := func(at string, ids ...string) {
			t.Helper()
			b.clock.Set(mustTime(at))
			now := b.clock.Now()
			for _, id := range ids {
				if err := b.eng.UpsertManagedUser(b.ctx, &billing.ManagedUser{AccountID: a.ID, UserID: id, Email: id + "@example.com", LastActiveAt: &now}); err != nil {
					t.Fatal(err)
				}
			}
		}
		change := func(at string, req engine.ChangeRequest) {
			t.Helper()
			b.clock.Set(mustTime(at))
			p, err := b.eng.PreviewChange(b.ctx, a.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			samePreview(t, p, b.confirm(t, a, req))
		}
		active("2026-03-14T10:00:00Z", "u2", "u3")
		b.clock.Set(mustTime("2026-03-17T10:00:00Z"))
		wantSteps(t, b.bill(t, a), "inactivity_credits 2026-03-17") // u1: $5.16 for 16 of 31 days
		change("2026-03-22T10:00:00Z", engine.ChangeRequest{Plan: engine.PlanEnterprise, Interval: billing.Month, Seats: 3})
		active("2026-03-28T10:00:00Z", "u2", "u3")
		b.clock.Set(mustTime("2026-04-01T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-04-01", "period_invoice 2026-04-01")
		change("2026-04-05T10:00:00Z", engine.ChangeRequest{Plan: engine.PlanEnterprise, Interval: billing.Year, Seats: 3})
		active("2026-04-10T10:00:00Z", "u2", "u3")
		active("2026-04-20T10:00:00Z", "u1")

		b.checkInvoices(t, a,
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-03-01", Period: "2026-03-01/2026-04-01",
				Lines: []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-03-01/2026-04-01"}}, Subtotal: 3000, Total: 3000},
			// u1's seat gave back 22–31 March already: 2 users × $10 × 10/31
			// = $6.45 back, not 3 × ($9.68); 2 × $20 × 10/31 = $12.90 charged.
			I{Number: "INV-2026-000002", Kind: changeInv, Issue: "2026-03-22", Period: "2026-03-22/2026-04-01",
				Lines: []L{
					{"Unused time on Premium — 2 users × 10 of 31 days", 2, 1000, 10, 31, -645, "2026-03-22/2026-04-01"},
					{"Enterprise — 2 users × 10 of 31 days (1 inactive user not charged)", 2, 2000, 10, 31, 1290, "2026-03-22/2026-04-01"},
				}, Subtotal: 645, Credits: 516, Total: 129},
			I{Number: "INV-2026-000003", Kind: subscription, Issue: "2026-04-01", Period: "2026-04-01/2026-05-01",
				Lines:    []L{{"Enterprise — 2 users (1 inactive user not charged)", 2, 2000, 0, 0, 4000, "2026-04-01/2026-05-01"}},
				Subtotal: 4000, Total: 4000},
			// April charged 2 seats: 2 × $20 × 26/30 = $34.67 back; the
			// annual period, billed as a renewal bills one, charges 2 of 3.
			I{Number: "INV-2026-000004", Kind: changeInv, Issue: "2026-04-05", Period: "2026-04-05/2027-04-05",
				Lines: []L{
					{"Unused time on Enterprise — 2 users × 26 of 30 days", 2, 2000, 26, 30, -3467, "2026-04-05/2026-05-01"},
					{"Enterprise — 2 users (1 inactive user not charged)", 2, 20000, 0, 0, 40000, "2026-04-05/2027-04-05"},
				}, Subtotal: 36533, Total: 36533},
			// u1 active again: 350 of 365 days at $200, $191.78.
			I{Number: "INV-2026-000005", Kind: changeInv, Issue: "2026-04-20", Period: "2026-04-20/2027-04-05",
				Lines:    []L{{"Enterprise — 1 user × 350 of 365 days (u1@example.com active again)", 1, 20000, 350, 365, 19178, "2026-04-20/2027-04-05"}},
				Subtotal: 19178, Total: 19178},
		)
	})
}
