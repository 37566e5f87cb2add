package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func day(s string) billing.Date {
	d, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// newSubscription stores a Premium monthly subscription for a new account.
func newSubscription(t *testing.T, db *store.DB, domain string) (*billing.Account, *billing.Subscription) {
	t.Helper()
	a := newAccount(t, db, "Acme "+domain, domain)
	p, v := createPremiumOnce(t, db)
	s := &billing.Subscription{AccountID: a.ID, Terms: billing.Terms{
		Plan:     billing.PlanRef{VersionID: v.ID, Code: p.Code, Name: p.Name, Version: v.Version},
		Interval: billing.Month, Seats: 3, UnitPrice: usd(1000)},
		Anchor: day("2026-01-31"), Period: billing.Period{Start: day("2026-01-31"), End: day("2026-02-28")},
		Status: billing.SubscriptionActive, OnJoin: billing.JoinAutoIncrease}
	if err := db.InTx(as("system"), func(tx *store.Tx) error { return tx.CreateSubscription(s) }); err != nil {
		t.Fatal(err)
	}
	return a, s
}

func createPremiumOnce(t *testing.T, db *store.DB) (*billing.Plan, *billing.PlanVersion) {
	t.Helper()
	if p, err := db.FindPlanByCode(context.Background(), "premium"); err == nil {
		return p, p.Current
	}
	return createPremium(t, db)
}

func invoiceFor(a *billing.Account, s *billing.Subscription, kind billing.InvoiceKind, status billing.InvoiceStatus) *billing.Invoice {
	id := s.ID
	line := billing.InvoiceLine{Description: "Premium — 3 users", Kind: billing.LineCharge, Quantity: 3, UnitAmount: usd(1000),
		Amount: usd(3000), Period: s.Period}
	inv := &billing.Invoice{AccountID: a.ID, AccountNumber: a.Number, AccountType: a.AccountType, SubscriptionID: &id,
		Kind: kind, Status: billing.InvoiceDraft, Currency: "USD", Period: s.Period, IssueDate: s.Period.Start,
		PaymentType: billing.InvoicePaymentCard, BilledTo: billing.BilledTo{CompanyName: a.Name},
		Lines: []billing.InvoiceLine{line}}
	if _, err := inv.Compute(billing.Zero("USD")); err != nil {
		panic(err)
	}
	inv.Status = status
	return inv
}

func TestCreateInvoice_NumberedAtFinalizationAndReadBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a, s := newSubscription(t, db, "acme.test")
		inv := invoiceFor(a, s, billing.InvoiceSubscription, billing.InvoiceOpen)
		if err := db.InTx(as("system"), func(tx *store.Tx) error { return tx.CreateInvoice(inv) }); err != nil {
			t.Fatal(err)
		}
		if inv.Number != "INV-2026-000001" || inv.FinalizedAt == nil || inv.Status != billing.InvoiceOpen {
			t.Fatalf("finalized = %+v", inv)
		}
		got, err := db.FindInvoiceByNumber(context.Background(), inv.Number)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, inv) {
			t.Fatalf("read back\n %+v\nwant\n %+v", got, inv)
		}
		// A draft has no number; numbers go on from the counter.
		draft := invoiceFor(a, s, billing.InvoiceChange, billing.InvoiceDraft)
		second := invoiceFor(a, s, billing.InvoiceChange, billing.InvoicePaid)
		if err := db.InTx(as("system"), func(tx *store.Tx) error {
			if err := tx.CreateInvoice(draft); err != nil {
				return err
			}
			return tx.CreateInvoice(second)
		}); err != nil {
			t.Fatal(err)
		}
		if draft.Number != "" || second.Number != "INV-2026-000002" || second.PaidAt == nil {
			t.Fatalf("draft %q, second %q paid at %v", draft.Number, second.Number, second.PaidAt)
		}
		list, total, err := db.FindInvoices(context.Background(), store.InvoiceFilter{AccountID: a.ID})
		if err != nil || total != 3 || len(list) != 3 || list[0].ID != second.ID {
			t.Fatalf("list newest first = %d %v %v", total, list, err)
		}
	})
}

func TestCreateInvoice_OnePerSubscriptionPeriodAndKind(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a, s := newSubscription(t, db, "acme.test")
		create := func(kind billing.InvoiceKind) error {
			return db.InTx(as("system"), func(tx *store.Tx) error {
				return tx.CreateInvoice(invoiceFor(a, s, kind, billing.InvoiceOpen))
			})
		}
		for _, kind := range []billing.InvoiceKind{billing.InvoiceSubscription, billing.InvoiceOverage, billing.InvoiceChange, billing.InvoiceChange} {
			if err := create(kind); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
		}
		// DESIGN: "at most one invoice per (subscription, period, kind)".
		for _, kind := range []billing.InvoiceKind{billing.InvoiceSubscription, billing.InvoiceOverage} {
			err := assertNothingWritten(t, db, billing.ECONFLICT, func() error { return create(kind) })
			if e := assertCode(t, err, billing.ECONFLICT); e.Reason != store.ErrAlreadyBilled {
				t.Errorf("%s: reason %q", kind, e.Reason)
			}
		}
	})
}

func TestInvoiceNumbers_ARolledBackTransactionGivesItsNumberBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a, s := newSubscription(t, db, "acme.test")
		boom := errors.New("boom")
		err := db.InTx(as("system"), func(tx *store.Tx) error {
			inv := invoiceFor(a, s, billing.InvoiceChange, billing.InvoiceOpen)
			if err := tx.CreateInvoice(inv); err != nil {
				return err
			}
			if inv.Number != "INV-2026-000001" {
				t.Errorf("number = %s", inv.Number)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		inv := invoiceFor(a, s, billing.InvoiceChange, billing.InvoiceOpen)
		if err := db.InTx(as("system"), func(tx *store.Tx) error { return tx.CreateInvoice(inv) }); err != nil {
			t.Fatal(err)
		}
		if inv.Number != "INV-2026-000001" {
			t.Fatalf("after a rollback the number is %s, want INV-2026-000001 again", inv.Number)
		}
	})
}

func TestUpdateInvoice_FinalizedLinesAndAmountsNeverChange(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a, s := newSubscription(t, db, "acme.test")
		inv := invoiceFor(a, s, billing.InvoiceSubscription, billing.InvoiceOpen)
		if err := db.InTx(as("system"), func(tx *store.Tx) error { return tx.CreateInvoice(inv) }); err != nil {
			t.Fatal(err)
		}
		update := func(edit func(*billing.Invoice)) error {
			return db.InTx(as("system"), func(tx *store.Tx) error {
				cur, err := tx.FindInvoice(inv.ID)
				if err != nil {
					return err
				}
				edit(cur)
				return tx.UpdateInvoice(cur)
			})
		}
		for name, edit := range map[string]func(*billing.Invoice){
			"line amount": func(i *billing.Invoice) { i.Lines[0].Amount = usd(1) },
			"extra line":  func(i *billing.Invoice) { i.Lines = append(i.Lines, i.Lines[0]) },
			"total":       func(i *billing.Invoice) { i.Total = usd(1) },
			"tax":         func(i *billing.Invoice) { i.Tax = usd(5) },
		} {
			err := assertNothingWritten(t, db, billing.ESTATE, func() error { return update(edit) })
			if e := assertCode(t, err, billing.ESTATE); e.Reason != "invoice_not_editable" {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Its status and what was paid move.
		now := clock.Now()
		if err := update(func(i *billing.Invoice) {
			i.Status, i.AmountPaid, i.AmountDue, i.PaidAt = billing.InvoicePaid, i.Total, usd(0), &now
		}); err != nil {
			t.Fatal(err)
		}
		if err := update(func(i *billing.Invoice) { i.Status = billing.InvoiceOpen }); billing.ErrorCode(err) != billing.ESTATE {
			t.Errorf("paid → open: %v", err)
		}
		// The database refuses too.
		ctx := context.Background()
		for _, q := range []string{
			`UPDATE invoices SET total = 1 WHERE id = $1`,
			`UPDATE invoice_lines SET amount = 1 WHERE invoice_id = $1`,
			`DELETE FROM invoice_lines WHERE invoice_id = $1`,
			`INSERT INTO invoice_lines (invoice_id, position, description, kind, quantity, unit_amount, amount) VALUES ($1, 9, 'x', 'charge', 1, 1, 1)`,
		} {
			if _, err := db.SQL().ExecContext(ctx, q, inv.ID); err == nil {
				t.Errorf("%s: the database accepted it", q)
			}
		}
		got, err := db.FindInvoice(ctx, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != usd(3000) || len(got.Lines) != 1 || got.Lines[0].Amount != usd(3000) || got.Status != billing.InvoicePaid {
			t.Fatalf("invoice changed: %+v", got)
		}
	})
}

func TestSubscription_RoundTripWithContractAndScheduledTerms(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a, s := newSubscription(t, db, "acme.test")
		sched := s.Terms
		sched.Seats = 2
		s.Scheduled = &sched
		s.CancelAtPeriodEnd, s.PeriodBilled, s.PeakUsers = true, true, 7
		s.Contract = &billing.Contract{Number: "C-9", TermStart: day("2026-01-31"), TermEnd: day("2027-01-31"), NetDays: 30,
			OverageUnitPrice: usd(1800), AutoRenew: true, OnEnd: billing.EndAutoIncrease, PayByInvoice: true}
		clock.Advance(3600e9)
		if err := db.InTx(as("system"), func(tx *store.Tx) error { return tx.UpdateSubscription(s) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindSubscription(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("read back\n %+v %+v\nwant\n %+v %+v", got, got.Contract, s, s.Contract)
		}
		// One subscription per account; contract numbers are unique.
		_, other := newSubscription(t, db, "other.test")
		other.Contract = &billing.Contract{Number: "C-9", TermStart: day("2026-01-31"), TermEnd: day("2027-01-31"), OnEnd: billing.EndConvertFree}
		err = db.InTx(as("system"), func(tx *store.Tx) error { return tx.UpdateSubscription(other) })
		assertCode(t, err, billing.ECONFLICT)
		dup := *s
		err = db.InTx(as("system"), func(tx *store.Tx) error { return tx.CreateSubscription(&dup) })
		assertCode(t, err, billing.ECONFLICT)
	})
}

func TestCreditLedger_KeepsTheBalanceInStep(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		add := func(amount int64, reason store.CreditReason) (*store.CreditTransaction, error) {
			ct := &store.CreditTransaction{AccountID: a.ID, Amount: usd(amount), Reason: reason, Description: string(reason)}
			err := db.InTx(as("system"), func(tx *store.Tx) error {
				if _, err := tx.LockAccount(a.ID); err != nil {
					return err
				}
				return tx.AddCredit(ct)
			})
			return ct, err
		}
		if ct, err := add(2500, store.CreditSignup); err != nil || ct.BalanceAfter != usd(2500) {
			t.Fatalf("signup: %+v %v", ct, err)
		}
		if ct, err := add(-2000, store.CreditApplied); err != nil || ct.BalanceAfter != usd(500) {
			t.Fatalf("applied: %+v %v", ct, err)
		}
		assertNothingWritten(t, db, billing.EINVALID, func() error { _, err := add(-501, store.CreditApplied); return err })
		got, err := db.FindAccountByID(context.Background(), a.ID)
		if err != nil || got.CreditBalance != usd(500) {
			t.Fatalf("balance = %v %v", got.CreditBalance, err)
		}
		list, total, err := db.FindCreditTransactions(context.Background(), a.ID, 10, 0)
		if err != nil || total != 2 || list[0].Amount != usd(-2000) || list[1].Reason != store.CreditSignup {
			t.Fatalf("ledger = %d %+v %v", total, list, err)
		}
	})
}

func TestTaxRates_SetListDeleteWithAudit(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("user:ops@kore.test")
		if err := db.SetTaxRate(ctx, &billing.TaxRate{Country: "de", BasisPoints: 1900}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetTaxRate(ctx, &billing.TaxRate{Country: "FR", BasisPoints: 2000}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetTaxRate(ctx, &billing.TaxRate{Country: "DE", BasisPoints: 1900}); err != nil { // unchanged: no event
			t.Fatal(err)
		}
		ev := lastEvent(t, db, 2)
		if ev.Action != "tax_rate.set" || ev.TargetID != "FR" {
			t.Errorf("event = %+v", ev)
		}
		rates, err := db.FindTaxRates(ctx)
		if err != nil || len(rates) != 2 || *rates[0] != (billing.TaxRate{Country: "DE", BasisPoints: 1900}) {
			t.Fatalf("rates = %v %v", rates, err)
		}
		assertNothingWritten(t, db, billing.EINVALID, func() error {
			return db.SetTaxRate(ctx, &billing.TaxRate{Country: "DE", BasisPoints: 10001})
		})
		if err := db.DeleteTaxRate(ctx, "DE"); err != nil {
			t.Fatal(err)
		}
		assertNothingWritten(t, db, billing.ENOTFOUND, func() error { return db.DeleteTaxRate(ctx, "DE") })
		if _, err := db.FindTaxRate(ctx, "DE"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Fatalf("deleted rate: %v", err)
		}
	})
}
