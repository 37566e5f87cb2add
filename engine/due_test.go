package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// TestDueAccounts_ExactlyTheAccountsWithAStepDue walks four months a day at
// a time, at two hours of the day, over accounts with every kind of step —
// renewals and period invoices, a declining card through its retries, past
// due and suspension, a contract paid by bank transfer with its reminders
// and overdue, inactivity credits, a card expiry notice, and an account in
// Tokyo — and finds, each time, that the accounts DueAccounts returns (one
// scan of the stored next due instants) are exactly those for which
// BillAccount then takes a step.
func TestDueAccounts_ExactlyTheAccountsWithAStepDue(t *testing.T) {
	forEachPayStore(t, "2026-01-05T15:00:00Z", func(t *testing.T, p *payEnv) {
		declined := p.newAccount(t, "Declined")
		p.addCard(t, declined, "4000000000000002")
		p.upgrade(t, declined, 2)

		transfer := p.newAccount(t, "Transfer", func(a *billing.Account) { a.BillingType = billing.BillingSubscription })
		if _, err := p.eng.AddBankTransfer(p.ctx, transfer.ID, engine.BankDetails{BankName: "First Bank", AccountHolder: "Transfer Inc",
			AccountLast4: "6789", RemittanceRef: "KB-T"}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := p.eng.CreateContract(p.ctx, transfer.ID, engine.ContractRequest{Number: "C-1", PlanCode: engine.PlanEnterprise,
			TermStart: payDate("2026-01-05"), TermEnd: payDate("2027-01-05"), Prepaid: 3, UnitPrice: billing.NewMoney(2000, "USD"),
			Interval: billing.Month, NetDays: 30, PayByInvoice: true}); err != nil {
			t.Fatal(err)
		}

		inactive := p.newAccount(t, "Inactive")
		if _, err := p.tryCard(inactive, "4242 4242 4242 4242", 3, 2026); err != nil { // noticed on 1 Feb
			t.Fatal(err)
		}
		p.upgrade(t, inactive, 3)
		// Both join active now; b is active again on 20 January (activity
		// is reported as it happens: never before joining, never ahead).
		active := func(id string) {
			t.Helper()
			at := p.clock.Now()
			if err := p.eng.UpsertManagedUser(p.ctx, &billing.ManagedUser{AccountID: inactive.ID, UserID: id,
				Email: id + "@inactive.example.com", LastActiveAt: &at}); err != nil {
				t.Fatal(err)
			}
		}
		active("a")
		active("b")

		tokyo := p.newAccount(t, "Tokyo", func(a *billing.Account) { a.TimeZone = "Asia/Tokyo" })
		p.addCard(t, tokyo, "4242 4242 4242 4242")
		p.upgrade(t, tokyo, 1)

		accounts := []*billing.Account{declined, transfer, inactive, tokyo}
		steps := 0
		for day := mustTime("2026-01-06T00:00:00Z"); day.Before(mustTime("2026-05-10T00:00:00Z")); day = day.Add(24 * time.Hour) {
			for _, hour := range []time.Duration{10 * time.Minute, 16 * time.Hour} {
				p.clock.Set(day.Add(hour))
				if day.Equal(mustTime("2026-01-20T00:00:00Z")) && hour == 16*time.Hour {
					active("b")
				}
				due, err := p.eng.DueAccounts(p.ctx, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range accounts {
					res, err := p.eng.BillAccount(p.ctx, a.ID)
					if err != nil {
						t.Fatalf("%s: bill %s: %v", p.clock.Now(), a.Name, err)
					}
					steps += len(res.Steps)
					if want := len(res.Steps) > 0; slices.Contains(due, a.ID) != want {
						t.Fatalf("%s: %s due = %v, but billing took steps %v", p.clock.Now(), a.Name, !want, res.Steps)
					}
				}
			}
		}
		if steps < 30 {
			t.Fatalf("only %d steps in four months", steps)
		}
	})
}
