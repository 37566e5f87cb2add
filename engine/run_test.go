package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// monthlyInvoice is the invoice of n Premium seats at $10 for one month.
func monthlyInvoice(number, start, end string, n int64) I {
	desc := fmt.Sprintf("Premium — %d users", n)
	if n == 1 {
		desc = "Premium — 1 user"
	}
	return I{Number: number, Kind: subscription, Issue: start, Period: start + "/" + end,
		Lines: []L{{desc, n, 1000, 0, 0, 1000 * n, start + "/" + end}}, Subtotal: 1000 * n, Total: 1000 * n}
}

var januaryToApril = []I{
	monthlyInvoice("INV-2026-000001", "2026-01-01", "2026-02-01", 2),
	monthlyInvoice("INV-2026-000002", "2026-02-01", "2026-03-01", 2),
	monthlyInvoice("INV-2026-000003", "2026-03-01", "2026-04-01", 2),
	monthlyInvoice("INV-2026-000004", "2026-04-01", "2026-05-01", 2),
}

func TestBillAccount_TwiceBillsNothingTwice(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-04-15T09:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-02-01", "period_invoice 2026-02-01", "renewal 2026-03-01",
			"period_invoice 2026-03-01", "renewal 2026-04-01", "period_invoice 2026-04-01")
		events := b.rowCounts(t)
		wantSteps(t, b.bill(t, a))
		if after := b.rowCounts(t); !mapsEqual(events, after) {
			t.Errorf("a second run wrote: %v → %v", events, after)
		}
		b.checkInvoices(t, a, januaryToApril...)
	})
}

func TestBillAccount_ConcurrentRunsBillOnce(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-04-15T09:00:00Z"))
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				if _, err := b.eng.BillAccount(b.ctx, a.ID); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		b.checkInvoices(t, a, januaryToApril...)
	})
}

func TestBillAccount_StoppedMidwayThenRunAgainBillsExactlyOnce(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-04-15T09:00:00Z"))
		// The fourth step (March's invoice) fails inside its transaction.
		calls := 0
		b.mu.Lock()
		b.fail = func(s engine.Step) error {
			calls++
			if calls == 4 {
				return errors.New("the database went away")
			}
			return nil
		}
		b.mu.Unlock()
		res, err := b.eng.BillAccount(b.ctx, a.ID)
		if err == nil {
			t.Fatal("the run did not fail")
		}
		wantSteps(t, res, "renewal 2026-02-01", "period_invoice 2026-02-01", "renewal 2026-03-01")
		b.checkInvoices(t, a, januaryToApril[:2]...)

		// A cancelled context stops a run before it writes.
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		if _, err := b.eng.BillAccount(ctx, a.ID); err == nil {
			t.Fatal("a cancelled run did not fail")
		}

		b.mu.Lock()
		b.fail = nil
		b.mu.Unlock()
		wantSteps(t, b.bill(t, a), "period_invoice 2026-03-01", "renewal 2026-04-01", "period_invoice 2026-04-01")
		wantSteps(t, b.bill(t, a))
		// The failed step's number was given back: still gapless.
		b.checkInvoices(t, a, januaryToApril...)
	})
}

func TestInvoiceNumbers_GaplessAcrossAccountsPreviewsAndFailures(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		x := b.account(t, "Xylo")
		y := b.account(t, "Yak")
		b.confirm(t, x, premium(billing.Month, 1))                                            // 1
		if _, err := b.eng.PreviewChange(b.ctx, y.ID, premium(billing.Year, 4)); err != nil { // none
			t.Fatal(err)
		}
		b.confirm(t, y, premium(billing.Year, 4)) // 2
		b.clock.Set(mustTime("2026-01-20T09:00:00Z"))
		b.confirm(t, x, premium(billing.Month, 3)) // 3
		// A refused change takes no number.
		if _, err := b.eng.ConfirmChange(b.ctx, x.ID, engine.ChangeRequest{Plan: "platinum", Interval: billing.Month, Seats: 9}); err == nil {
			t.Fatal("unknown plan accepted")
		}
		b.clock.Set(mustTime("2026-03-01T09:00:00Z"))
		b.mu.Lock()
		b.fail = func(s engine.Step) error {
			if s == engine.StepPeriodInvoice {
				return errors.New("boom")
			}
			return nil
		}
		b.mu.Unlock()
		if _, err := b.eng.BillAccount(b.ctx, x.ID); err == nil {
			t.Fatal("no failure")
		}
		b.mu.Lock()
		b.fail = nil
		b.mu.Unlock()
		b.bill(t, x) // 4, 5
		b.bill(t, y) // nothing: annual
		var numbers []string
		for _, a := range []*billing.Account{x, y} {
			for _, inv := range b.invoices(t, a) {
				numbers = append(numbers, inv.Number)
			}
		}
		slices.Sort(numbers)
		want := []string{"INV-2026-000001", "INV-2026-000002", "INV-2026-000003", "INV-2026-000004", "INV-2026-000005"}
		if !slices.Equal(numbers, want) {
			t.Fatalf("numbers = %v, want %v", numbers, want)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestBadInput_StableCodeNothingWritten(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		online := b.account(t, "Acme")
		if err := b.users(t, online, 3); err != nil {
			t.Fatal(err)
		}
		b.confirm(t, online, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAll})
		euro := b.account(t, "Euro", func(a *billing.Account) { a.Currency = "EUR" })
		free := b.account(t, "Freeloader")
		contract := b.account(t, "Initech", contractAccount)
		if _, err := b.eng.CreateContract(b.ctx, contract.ID, engine.ContractRequest{Number: "C-1", PlanCode: engine.PlanEnterprise,
			TermStart: d("2026-01-01"), TermEnd: d("2027-01-01"), Prepaid: 10, UnitPrice: usd(1500), Interval: billing.Month,
			OverageUnitPrice: usd(1800), OnJoin: billing.JoinRefuse}); err != nil {
			t.Fatal(err)
		}
		if err := b.users(t, contract, 10); err != nil {
			t.Fatal(err)
		}
		refuse := billing.JoinRefuse
		if _, err := b.eng.SetPreferences(b.ctx, online.ID, engine.Preferences{OnJoin: &refuse}); err != nil {
			t.Fatal(err)
		}
		b.clock.Set(mustTime("2026-01-10T09:00:00Z"))
		goodContract := engine.ContractRequest{Number: "C-2", PlanCode: engine.PlanEnterprise, TermStart: d("2026-02-01"),
			TermEnd: d("2027-02-01"), Prepaid: 5, UnitPrice: usd(1500), Interval: billing.Month}
		withContract := func(edit func(*engine.ContractRequest)) engine.ContractRequest {
			r := goodContract
			edit(&r)
			return r
		}
		other := b.account(t, "Umbrella", contractAccount)

		tests := []struct {
			name string
			code string
			do   func() error
		}{
			{"cheaper plan on a contract", "contract_terms", func() error {
				_, err := b.eng.ConfirmChange(b.ctx, contract.ID, premium(billing.Month, 10))
				return err
			}},
			{"preview cheaper plan on a contract", "contract_terms", func() error {
				_, err := b.eng.PreviewChange(b.ctx, contract.ID, premium(billing.Month, 10))
				return err
			}},
			{"fewer seats than managed users", "seats_below_users", func() error {
				_, err := b.eng.ConfirmChange(b.ctx, online.ID, premium(billing.Month, 2))
				return err
			}},
			{"just the admin with three users", "seats_below_users", func() error {
				_, err := b.eng.ConfirmChange(b.ctx, online.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAdmin})
				return err
			}},
			{"negative seats", billing.EINVALID, func() error {
				_, err := b.eng.ConfirmChange(b.ctx, free.ID, premium(billing.Month, -1))
				return err
			}},
			{"negative count", billing.EINVALID, func() error {
				_, err := b.eng.AddSubscriptions(b.ctx, contract.ID, -1)
				return err
			}},
			{"zero count preview", billing.EINVALID, func() error {
				_, err := b.eng.PreviewAddSubscriptions(b.ctx, contract.ID, 0)
				return err
			}},
			{"add-ons on an online account", "not_a_contract", func() error {
				_, err := b.eng.AddSubscriptions(b.ctx, online.ID, 1)
				return err
			}},
			{"unknown plan", "unknown_plan", func() error {
				_, err := b.eng.ConfirmChange(b.ctx, free.ID, engine.ChangeRequest{Plan: "platinum", Interval: billing.Month, Seats: 1})
				return err
			}},
			{"unknown interval", "unknown_interval", func() error {
				_, err := b.eng.ConfirmChange(b.ctx, free.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: "week", Seats: 1})
				return err
			}},
			{"currency mismatch", "currency_mismatch", func() error {
				_, err := b.eng.ConfirmChange(b.ctx, euro.ID, premium(billing.Month, 1))
				return err
			}},
			{"the Free plan is not bought", billing.EINVALID, func() error {
				_, err := b.eng.ConfirmChange(b.ctx, online.ID, engine.ChangeRequest{Plan: engine.PlanFree, Interval: billing.Month, Seats: 3})
				return err
			}},
			{"cancel on Free", "not_paid", func() error {
				_, err := b.eng.Cancel(b.ctx, free.ID)
				return err
			}},
			{"a user beyond the seats (refuse)", "seats_exhausted", func() error {
				return b.users(t, online, 4)
			}},
			{"a user beyond the contract (refuse)", "seats_exhausted", func() error {
				return b.eng.UpsertManagedUser(b.ctx, &billing.ManagedUser{AccountID: contract.ID, UserID: "u11", Email: "u11@example.com"})
			}},
			{"contract on an online account", "not_contract_account", func() error {
				_, err := b.eng.CreateContract(b.ctx, online.ID, goodContract)
				return err
			}},
			{"second contract", "contract_exists", func() error {
				_, err := b.eng.CreateContract(b.ctx, contract.ID, goodContract)
				return err
			}},
			{"contract number taken", "contract_number_taken", func() error {
				_, err := b.eng.CreateContract(b.ctx, other.ID, withContract(func(r *engine.ContractRequest) { r.Number = "C-1" }))
				return err
			}},
			{"contract term not whole periods", billing.EINVALID, func() error {
				_, err := b.eng.CreateContract(b.ctx, other.ID, withContract(func(r *engine.ContractRequest) { r.TermEnd = d("2027-02-15") }))
				return err
			}},
			{"contract in another currency", "currency_mismatch", func() error {
				_, err := b.eng.CreateContract(b.ctx, other.ID, withContract(func(r *engine.ContractRequest) { r.UnitPrice = billing.NewMoney(1500, "EUR") }))
				return err
			}},
			{"contract of an unknown plan", "unknown_plan", func() error {
				_, err := b.eng.CreateContract(b.ctx, other.ID, withContract(func(r *engine.ContractRequest) { r.PlanCode = "gold" }))
				return err
			}},
			{"credit note of nothing", billing.EINVALID, func() error {
				_, err := b.eng.IssueCreditNote(b.ctx, 1, engine.CreditNoteRequest{Amount: 0, Reason: "x"})
				return err
			}},
			{"end preference on an online account", "not_a_contract", func() error {
				end := billing.EndAutoIncrease
				_, err := b.eng.SetPreferences(b.ctx, online.ID, engine.Preferences{OnEnd: &end})
				return err
			}},
		}
		for _, tt := range tests {
			before := b.rowCounts(t)
			err := tt.do()
			wantCodeNamed(t, tt.name, err, tt.code)
			if after := b.rowCounts(t); !mapsEqual(before, after) {
				t.Errorf("%s: wrote something: %v → %v", tt.name, before, after)
			}
		}
	})
}

func wantCodeNamed(t *testing.T, name string, err error, code string) {
	t.Helper()
	var e *billing.Error
	got := billing.ErrorCode(err)
	if errors.As(err, &e) && e.Reason != "" {
		got = e.Reason
	}
	if err == nil || got != code {
		t.Errorf("%s: error %v (code %q), want %s", name, err, got, code)
	}
}

func TestConcurrentChanges_AreSerializedNeverLost(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		// Ten buyers of one contract subscription each.
		c := b.account(t, "Initech", contractAccount)
		if _, err := b.eng.CreateContract(b.ctx, c.ID, engine.ContractRequest{Number: "C-1", PlanCode: engine.PlanEnterprise,
			TermStart: d("2026-01-01"), TermEnd: d("2027-01-01"), Prepaid: 100, UnitPrice: usd(1500), Interval: billing.Month}); err != nil {
			t.Fatal(err)
		}
		// Ten users joining an online account with auto-increase.
		o := b.account(t, "Acme")
		b.confirm(t, o, premium(billing.Month, 1))
		b.clock.Set(mustTime("2026-01-17T09:00:00Z"))
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 10 {
			wg.Go(func() {
				if _, err := b.eng.AddSubscriptions(b.ctx, c.ID, 1); err != nil {
					errs <- err
				}
			})
			wg.Go(func() {
				now := b.clock.Now()
				id := fmt.Sprintf("j%d", i)
				if err := b.eng.UpsertManagedUser(b.ctx, &billing.ManagedUser{AccountID: o.ID, UserID: id, Email: id + "@example.com", LastActiveAt: &now}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if s := b.sub(t, c); s.Seats != 110 {
			t.Errorf("contract seats = %d, want 110", s.Seats)
		}
		// Each add-on: 1 × $15 × 15/31 (17 Jan–31 Jan) = round(725.81¢) = $7.26.
		invs := b.invoices(t, c)
		if len(invs) != 11 {
			t.Fatalf("contract invoices = %d, want 1 + 10", len(invs))
		}
		for _, inv := range invs[1:] {
			checkInvoice(t, inv, I{Kind: changeInv, Issue: "2026-01-17", Due: "2026-01-17", Period: "2026-01-17/2026-02-01",
				Lines:    []L{{"Additional subscriptions: Enterprise — 1 user × 15 of 31 days", 1, 1500, 15, 31, 726, "2026-01-17/2026-02-01"}},
				Subtotal: 726, Total: 726})
		}
		// The first joiner fills the one seat; each of the other nine buys
		// one: $10 × 15/31 = round(483.87¢) = $4.84.
		if s := b.sub(t, o); s.Seats != 10 {
			t.Errorf("online seats = %d, want 10", s.Seats)
		}
		invs = b.invoices(t, o)
		if len(invs) != 10 {
			t.Fatalf("online invoices = %d, want 1 + 9", len(invs))
		}
		for _, inv := range invs[1:] {
			checkInvoice(t, inv, I{Kind: changeInv, Issue: "2026-01-17", Period: "2026-01-17/2026-02-01",
				Lines: []L{{"Premium — 1 user × 15 of 31 days", 1, 1000, 15, 31, 484, "2026-01-17/2026-02-01"}}, Subtotal: 484, Total: 484})
		}
	})
}

func TestDueAccounts_ByEachAccountsOwnClockAndZone(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		monthly := b.account(t, "Monthly")
		b.confirm(t, monthly, premium(billing.Month, 1))
		b.account(t, "Free")
		contract := b.account(t, "Initech", contractAccount)
		if _, err := b.eng.CreateContract(b.ctx, contract.ID, engine.ContractRequest{Number: "C-1", PlanCode: engine.PlanEnterprise,
			TermStart: d("2026-02-01"), TermEnd: d("2027-02-01"), Prepaid: 5, UnitPrice: usd(1500), Interval: billing.Month}); err != nil {
			t.Fatal(err)
		}
		tokyo := b.account(t, "Tokyo", inZone("Asia/Tokyo"))
		b.confirm(t, tokyo, premium(billing.Month, 1)) // 1 Jan Tokyo: [1 Jan, 1 Feb) local
		clocked := b.account(t, "Clocked")
		b.confirm(t, clocked, premium(billing.Month, 1))

		due := func(want ...*billing.Account) {
			t.Helper()
			ids, err := b.eng.DueAccounts(b.ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			var w []int64
			for _, a := range want {
				w = append(w, a.ID)
			}
			if !slices.Equal(ids, w) {
				t.Fatalf("due at %s = %v, want %v", b.clock.Now(), ids, w)
			}
		}
		due()
		// 15:00Z on 31 Jan is already 1 Feb in Tokyo.
		b.clock.Set(mustTime("2026-01-31T15:00:00Z"))
		due(tokyo)
		b.clock.Set(mustTime("2026-02-01T00:00:00Z"))
		due(monthly, contract, tokyo, clocked)
		// An account on a test clock lives at the clock's time.
		var clockID int64
		if err := b.db.SQL().QueryRowContext(b.ctx, `INSERT INTO test_clocks (name, now, created_at) VALUES ('demo', $1, $1) RETURNING id`,
			timeArg(b.db, mustTime("2026-01-20T00:00:00Z"))).Scan(&clockID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.SQL().ExecContext(b.ctx, `UPDATE accounts SET test_clock_id = $1 WHERE id = $2`, clockID, clocked.ID); err != nil {
			t.Fatal(err)
		}
		due(monthly, contract, tokyo)
		for _, a := range []*billing.Account{monthly, contract, tokyo} {
			b.bill(t, a)
		}
		due()
		wantSteps(t, b.bill(t, clocked)) // at its clock's 20 Jan, nothing
		if _, err := b.db.SQL().ExecContext(b.ctx, `UPDATE test_clocks SET now = $1 WHERE id = $2`,
			timeArg(b.db, mustTime("2026-03-01T00:00:00Z")), clockID); err != nil {
			t.Fatal(err)
		}
		due(clocked)
		wantSteps(t, b.bill(t, clocked), "renewal 2026-02-01", "period_invoice 2026-02-01", "renewal 2026-03-01", "period_invoice 2026-03-01")
		if last := b.invoices(t, clocked)[2]; !last.CreatedAt.Equal(mustTime("2026-03-01T00:00:00Z")) {
			t.Errorf("an invoice on a test clock is created at the clock's time, not %s", last.CreatedAt)
		}
		due()
	})
}

// timeArg is t as the store keeps timestamps, for raw SQL in tests.
func timeArg(db *store.DB, t time.Time) any {
	if db.Dialect() == store.DialectSQLite {
		return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
	}
	return t
}
