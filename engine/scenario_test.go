package engine_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// Scenario tests, one story each, in the manner of Kill Bill's integration
// suite: a clock moved forward by hand, the engine's own methods, and every
// invoice line checked to the cent against the rules of DESIGN.md worked
// out by hand beside each number. Each runs on SQLite and PostgreSQL.

const (
	subscription = billing.InvoiceSubscription
	changeInv    = billing.InvoiceChange
	overage      = billing.InvoiceOverage
	creditNote   = billing.InvoiceCreditNote
)

func TestStory_UpgradeOnThe31stRenewsThroughFebruaryAndMarch(t *testing.T) {
	forEachStore(t, "2026-01-31T10:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		res := b.confirm(t, a, premium(billing.Month, 3))
		// From Free on 31 Jan: the first period [31 Jan, 28 Feb) starts
		// today, billed in advance: 3 users × $10 = $30.00.
		first := I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-31", Period: "2026-01-31/2026-02-28",
			Lines:    []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-01-31/2026-02-28"}},
			Subtotal: 3000, Total: 3000}
		checkInvoice(t, res.Invoice, first)
		if res.Timing != billing.EffectiveNow || res.EffectiveDate != d("2026-01-31") {
			t.Errorf("timing %s %s", res.Timing, res.EffectiveDate)
		}
		wantSteps(t, b.bill(t, a))

		// Renewal is at local midnight (UTC here) of the end date, 28 Feb:
		// "where a month is shorter the period ends on its last day".
		b.clock.Set(mustTime("2026-02-27T23:59:59Z"))
		wantSteps(t, b.bill(t, a))
		b.clock.Set(mustTime("2026-02-28T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-02-28", "period_invoice 2026-02-28")
		// Anchor 31 Jan → 28 Feb → 31 Mar, not 28 Mar.
		b.clock.Set(mustTime("2026-03-30T23:59:59Z"))
		wantSteps(t, b.bill(t, a))
		b.clock.Set(mustTime("2026-03-31T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-03-31", "period_invoice 2026-03-31")
		b.clock.Set(mustTime("2026-04-30T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-04-30", "period_invoice 2026-04-30")

		b.checkInvoices(t, a, first,
			// Each renewal: 3 users × $10 = $30.00 for the whole period.
			I{Number: "INV-2026-000002", Kind: subscription, Issue: "2026-02-28", Period: "2026-02-28/2026-03-31",
				Lines: []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-02-28/2026-03-31"}}, Subtotal: 3000, Total: 3000},
			I{Number: "INV-2026-000003", Kind: subscription, Issue: "2026-03-31", Period: "2026-03-31/2026-04-30",
				Lines: []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-03-31/2026-04-30"}}, Subtotal: 3000, Total: 3000},
			I{Number: "INV-2026-000004", Kind: subscription, Issue: "2026-04-30", Period: "2026-04-30/2026-05-31",
				Lines: []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-04-30/2026-05-31"}}, Subtotal: 3000, Total: 3000},
		)
		if s := b.sub(t, a); s.Period != period("2026-04-30/2026-05-31") || s.Anchor != d("2026-01-31") || !s.PeriodBilled {
			t.Errorf("subscription period %s anchor %s billed %v", s.Period, s.Anchor, s.PeriodBilled)
		}
	})
}

func TestStory_SeatAddedOnTheLastDayOfAPeriod(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 1))
		b.clock.Set(mustTime("2026-01-31T18:00:00Z"))
		res := b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-02-01T00:00:00Z"))
		b.bill(t, a)
		b.checkInvoices(t, a,
			// 1 user × $10 for [1 Jan, 1 Feb).
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-01", Period: "2026-01-01/2026-02-01",
				Lines: []L{{"Premium — 1 user", 1, 1000, 0, 0, 1000, "2026-01-01/2026-02-01"}}, Subtotal: 1000, Total: 1000},
			// The last day counts: 1 of 31 days left; round(1 × $10 × 1/31)
			// = round(32.26¢) = $0.32.
			I{Number: "INV-2026-000002", Kind: changeInv, Issue: "2026-01-31", Period: "2026-01-31/2026-02-01",
				Lines: []L{{"Premium — 1 user × 1 of 31 days", 1, 1000, 1, 31, 32, "2026-01-31/2026-02-01"}}, Subtotal: 32, Total: 32},
			// Renewal: 2 users × $10.
			I{Number: "INV-2026-000003", Kind: subscription, Issue: "2026-02-01", Period: "2026-02-01/2026-03-01",
				Lines: []L{{"Premium — 2 users", 2, 1000, 0, 0, 2000, "2026-02-01/2026-03-01"}}, Subtotal: 2000, Total: 2000},
		)
		if res.Subscription.Seats != 2 {
			t.Errorf("seats = %d", res.Subscription.Seats)
		}
	})
}

func TestStory_SevenSeatsForThirteenOfThirtyOneDaysIs2935(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 3))
		b.clock.Set(mustTime("2026-01-19T12:00:00Z"))
		preview, err := b.eng.PreviewChange(b.ctx, a.ID, premium(billing.Month, 10))
		if err != nil {
			t.Fatal(err)
		}
		// 19 Jan → 31 Jan is 13 days left of 31; one line rounded once:
		// round(7 × $10 × 13/31) = round(2935.48¢) = $29.35, not 7 × $4.19.
		want := I{Kind: changeInv, Status: billing.InvoiceDraft, Issue: "2026-01-19", Period: "2026-01-19/2026-02-01",
			Lines: []L{{"Premium — 7 users × 13 of 31 days", 7, 1000, 13, 31, 2935, "2026-01-19/2026-02-01"}}, Subtotal: 2935, Total: 2935}
		checkInvoice(t, preview.Invoice, want)
		if preview.Invoice.Number != "" {
			t.Errorf("a preview has no number: %s", preview.Invoice.Number)
		}
		res := b.confirm(t, a, premium(billing.Month, 10))
		want.Number, want.Status = "INV-2026-000002", billing.InvoiceOpen
		checkInvoice(t, res.Invoice, want)
		samePreview(t, preview, res)
		b.checkInvoices(t, a,
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-01", Period: "2026-01-01/2026-02-01",
				Lines: []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-01-01/2026-02-01"}}, Subtotal: 3000, Total: 3000},
			want)
	})
}

// samePreview asserts that a preview showed exactly the invoice the confirm
// created.
func samePreview(t *testing.T, p, c *engine.ChangeResult) {
	t.Helper()
	if p.Timing != c.Timing || p.EffectiveDate != c.EffectiveDate || p.CreditBalance != c.CreditBalance ||
		p.Subscription.Terms != c.Subscription.Terms || p.Subscription.Period != c.Subscription.Period {
		t.Errorf("preview %+v\n differs from confirm %+v", p, c)
	}
	if (p.Invoice == nil) != (c.Invoice == nil) {
		t.Fatalf("preview invoice %v, confirm invoice %v", p.Invoice, c.Invoice)
	}
	if p.Invoice == nil {
		return
	}
	pi, ci := *p.Invoice, *c.Invoice
	if len(pi.Lines) != len(ci.Lines) {
		t.Fatalf("preview lines %v, confirm lines %v", pi.Lines, ci.Lines)
	}
	for i := range pi.Lines {
		if pi.Lines[i] != ci.Lines[i] {
			t.Errorf("line %d: preview %+v, confirm %+v", i, pi.Lines[i], ci.Lines[i])
		}
	}
	if pi.Subtotal != ci.Subtotal || pi.CreditsApplied != ci.CreditsApplied || pi.Tax != ci.Tax || pi.Total != ci.Total ||
		pi.AmountDue != ci.AmountDue || pi.IssueDate != ci.IssueDate || pi.Period != ci.Period || pi.Kind != ci.Kind ||
		pi.TaxRateBP != ci.TaxRateBP || pi.BilledTo != ci.BilledTo {
		t.Errorf("preview totals %+v\n differ from confirm %+v", pi, ci)
	}
}

func TestStory_MonthlyToAnnualMidMonth(t *testing.T) {
	forEachStore(t, "2026-03-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 5))
		b.clock.Set(mustTime("2026-03-16T09:00:00Z"))
		preview, err := b.eng.PreviewChange(b.ctx, a.ID, premium(billing.Year, 5))
		if err != nil {
			t.Fatal(err)
		}
		res := b.confirm(t, a, premium(billing.Year, 5))
		samePreview(t, preview, res)
		b.clock.Set(mustTime("2027-03-16T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2027-03-16", "period_invoice 2027-03-16")
		b.checkInvoices(t, a,
			// 5 × $10 for March.
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-03-01", Period: "2026-03-01/2026-04-01",
				Lines: []L{{"Premium — 5 users", 5, 1000, 0, 0, 5000, "2026-03-01/2026-04-01"}}, Subtotal: 5000, Total: 5000},
			// Monthly → annual on 16 Mar: a new annual period [16 Mar 2026,
			// 16 Mar 2027) starts today; the unused 16 of 31 March days are
			// credited: −round(5 × $10 × 16/31) = −round(2580.65¢) = −$25.81;
			// the year: 5 × $100 = $500.00. $500.00 − $25.81 = $474.19.
			I{Number: "INV-2026-000002", Kind: changeInv, Issue: "2026-03-16", Period: "2026-03-16/2027-03-16",
				Lines: []L{
					{"Unused time on Premium — 5 users × 16 of 31 days", 5, 1000, 16, 31, -2581, "2026-03-16/2026-04-01"},
					{"Premium — 5 users", 5, 10000, 0, 0, 50000, "2026-03-16/2027-03-16"},
				}, Subtotal: 47419, Total: 47419},
			// The next year, same date: 5 × $100.
			I{Number: "INV-2027-000001", Kind: subscription, Issue: "2027-03-16", Period: "2027-03-16/2028-03-16",
				Lines: []L{{"Premium — 5 users", 5, 10000, 0, 0, 50000, "2027-03-16/2028-03-16"}}, Subtotal: 50000, Total: 50000},
		)
	})
}

func TestStory_DearerPlanMidPeriod(t *testing.T) {
	forEachStore(t, "2026-04-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-04-11T09:00:00Z"))
		b.confirm(t, a, engine.ChangeRequest{Plan: engine.PlanEnterprise, Interval: billing.Month, Seats: 2})
		b.clock.Set(mustTime("2026-05-01T00:00:00Z"))
		b.bill(t, a)
		b.checkInvoices(t, a,
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-04-01", Period: "2026-04-01/2026-05-01",
				Lines: []L{{"Premium — 2 users", 2, 1000, 0, 0, 2000, "2026-04-01/2026-05-01"}}, Subtotal: 2000, Total: 2000},
			// 11 Apr: 20 of 30 days left. Credit the unused old price:
			// −round(2 × $10 × 20/30) = −round(1333.33¢) = −$13.33; charge the
			// new one: round(2 × $20 × 20/30) = round(2666.67¢) = $26.67.
			// $26.67 − $13.33 = $13.34.
			I{Number: "INV-2026-000002", Kind: changeInv, Issue: "2026-04-11", Period: "2026-04-11/2026-05-01",
				Lines: []L{
					{"Unused time on Premium — 2 users × 20 of 30 days", 2, 1000, 20, 30, -1333, "2026-04-11/2026-05-01"},
					{"Enterprise — 2 users × 20 of 30 days", 2, 2000, 20, 30, 2667, "2026-04-11/2026-05-01"},
				}, Subtotal: 1334, Total: 1334},
			// Renewal on Enterprise: 2 × $20.
			I{Number: "INV-2026-000003", Kind: subscription, Issue: "2026-05-01", Period: "2026-05-01/2026-06-01",
				Lines: []L{{"Enterprise — 2 users", 2, 2000, 0, 0, 4000, "2026-05-01/2026-06-01"}}, Subtotal: 4000, Total: 4000},
		)
	})
}

func TestStory_FewerUsersScheduledAndAppliedAtRenewalWithoutRefund(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 5))
		b.clock.Set(mustTime("2026-01-10T09:00:00Z"))
		res := b.confirm(t, a, premium(billing.Month, 3))
		// "Fewer users …: scheduled for the period end; no refund."
		if res.Invoice != nil || res.Timing != billing.EffectivePeriodEnd || res.EffectiveDate != d("2026-02-01") {
			t.Fatalf("fewer seats: invoice %v timing %s effective %s", res.Invoice, res.Timing, res.EffectiveDate)
		}
		if s := b.sub(t, a); s.Seats != 5 || s.Scheduled == nil || s.Scheduled.Seats != 3 {
			t.Fatalf("before renewal: seats %d scheduled %+v", s.Seats, s.Scheduled)
		}
		b.clock.Set(mustTime("2026-02-01T00:00:00Z"))
		b.bill(t, a)
		if s := b.sub(t, a); s.Seats != 3 || s.Scheduled != nil {
			t.Fatalf("after renewal: seats %d scheduled %+v", s.Seats, s.Scheduled)
		}
		b.checkInvoices(t, a,
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-01", Period: "2026-01-01/2026-02-01",
				Lines: []L{{"Premium — 5 users", 5, 1000, 0, 0, 5000, "2026-01-01/2026-02-01"}}, Subtotal: 5000, Total: 5000},
			// 3 × $10 from the renewal; no credit for January's 2 seats.
			I{Number: "INV-2026-000002", Kind: subscription, Issue: "2026-02-01", Period: "2026-02-01/2026-03-01",
				Lines: []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-02-01/2026-03-01"}}, Subtotal: 3000, Total: 3000},
		)
		if got := b.balance(t, a); got != 0 {
			t.Errorf("credit balance = %d, want 0 (no refund)", got)
		}
	})
}

// contractHistory runs a contract from signature to its term end: 100
// prepaid Enterprise subscriptions at a negotiated $15 a month, net 30 by
// bank transfer, 10 bought in December, 115 managed users in (leap)
// February 2028, 2 more bought on 29 February, the term ending 1 March 2028.
func contractHistory(t *testing.T, b *bundle, autoRenew bool) *billing.Account {
	t.Helper()
	a := b.account(t, "Initech", contractAccount)
	req := engine.ContractRequest{Number: "C-2027-001", PlanCode: engine.PlanEnterprise, TermStart: d("2027-09-01"),
		TermEnd: d("2028-03-01"), Prepaid: 100, UnitPrice: usd(1500), Interval: billing.Month, NetDays: 30,
		OverageUnitPrice: usd(1800), AutoRenew: autoRenew, OnEnd: billing.EndConvertFree, PayByInvoice: true}
	res, err := b.eng.CreateContract(b.ctx, a.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bill.Steps) != 0 || res.Subscription.Period != period("2027-09-01/2027-10-01") || res.Subscription.PeriodBilled {
		t.Fatalf("contract before its term: %+v", res)
	}
	b.clock.Set(mustTime("2027-09-01T00:00:00Z"))
	wantSteps(t, b.bill(t, a), "period_invoice 2027-09-01")
	b.clock.Set(mustTime("2027-12-12T15:00:00Z"))
	wantSteps(t, b.bill(t, a), "renewal 2027-10-01", "period_invoice 2027-10-01", "renewal 2027-11-01",
		"period_invoice 2027-11-01", "renewal 2027-12-01", "period_invoice 2027-12-01")
	preview, err := b.eng.PreviewAddSubscriptions(b.ctx, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	added, err := b.eng.AddSubscriptions(b.ctx, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	samePreview(t, preview, added)
	b.clock.Set(mustTime("2028-02-10T10:00:00Z"))
	b.bill(t, a)
	// 115 managed users; leave_free lets the 5 above 110 count toward the
	// overage.
	if err := b.users(t, a, 115); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(mustTime("2028-02-29T12:00:00Z"))
	if _, err := b.eng.AddSubscriptions(b.ctx, a.ID, 2); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(mustTime("2028-03-01T00:00:00Z"))
	return a
}

// contractInvoices are the invoices of contractHistory up to the term end.
// Contract invoices are due 30 days after issue and paid by bank transfer.
var contractInvoices = []I{
	// 100 × $15 in advance for each month.
	{Number: "INV-2027-000001", Kind: subscription, Issue: "2027-09-01", Due: "2027-10-01", Period: "2027-09-01/2027-10-01",
		Lines: []L{{"Enterprise — 100 users", 100, 1500, 0, 0, 150000, "2027-09-01/2027-10-01"}}, Subtotal: 150000, Total: 150000, Payment: billing.InvoicePaymentACH},
	{Number: "INV-2027-000002", Kind: subscription, Issue: "2027-10-01", Due: "2027-10-31", Period: "2027-10-01/2027-11-01",
		Lines: []L{{"Enterprise — 100 users", 100, 1500, 0, 0, 150000, "2027-10-01/2027-11-01"}}, Subtotal: 150000, Total: 150000, Payment: billing.InvoicePaymentACH},
	{Number: "INV-2027-000003", Kind: subscription, Issue: "2027-11-01", Due: "2027-12-01", Period: "2027-11-01/2027-12-01",
		Lines: []L{{"Enterprise — 100 users", 100, 1500, 0, 0, 150000, "2027-11-01/2027-12-01"}}, Subtotal: 150000, Total: 150000, Payment: billing.InvoicePaymentACH},
	{Number: "INV-2027-000004", Kind: subscription, Issue: "2027-12-01", Due: "2027-12-31", Period: "2027-12-01/2028-01-01",
		Lines: []L{{"Enterprise — 100 users", 100, 1500, 0, 0, 150000, "2027-12-01/2028-01-01"}}, Subtotal: 150000, Total: 150000, Payment: billing.InvoicePaymentACH},
	// 10 add-ons on 12 Dec, co-terminous with the period: 20 of 31 days
	// left; round(10 × $15 × 20/31) = round(9677.42¢) = $96.77; due 12 Dec
	// + 30 days = 11 Jan.
	{Number: "INV-2027-000005", Kind: changeInv, Issue: "2027-12-12", Due: "2028-01-11", Period: "2027-12-12/2028-01-01",
		Lines:    []L{{"Additional subscriptions: Enterprise — 10 users × 20 of 31 days", 10, 1500, 20, 31, 9677, "2027-12-12/2028-01-01"}},
		Subtotal: 9677, Total: 9677, Payment: billing.InvoicePaymentACH},
	// 110 × $15; the numbers start again with the year.
	{Number: "INV-2028-000001", Kind: subscription, Issue: "2028-01-01", Due: "2028-01-31", Period: "2028-01-01/2028-02-01",
		Lines: []L{{"Enterprise — 110 users", 110, 1500, 0, 0, 165000, "2028-01-01/2028-02-01"}}, Subtotal: 165000, Total: 165000, Payment: billing.InvoicePaymentACH},
	// February 2028 has 29 days; due 1 Feb + 30 days = 2 Mar.
	{Number: "INV-2028-000002", Kind: subscription, Issue: "2028-02-01", Due: "2028-03-02", Period: "2028-02-01/2028-03-01",
		Lines: []L{{"Enterprise — 110 users", 110, 1500, 0, 0, 165000, "2028-02-01/2028-03-01"}}, Subtotal: 165000, Total: 165000, Payment: billing.InvoicePaymentACH},
	// 2 add-ons on the leap day, the period's last: 1 of 29 days;
	// round(2 × $15 × 1/29) = round(103.45¢) = $1.03.
	{Number: "INV-2028-000003", Kind: changeInv, Issue: "2028-02-29", Due: "2028-03-30", Period: "2028-02-29/2028-03-01",
		Lines:    []L{{"Additional subscriptions: Enterprise — 2 users × 1 of 29 days", 2, 1500, 1, 29, 103, "2028-02-29/2028-03-01"}},
		Subtotal: 103, Total: 103, Payment: billing.InvoicePaymentACH},
	// Overage at the period end: (peak 115 − 112 prepaid) × $18 = $54.00
	// for the whole period, not prorated.
	{Number: "INV-2028-000004", Kind: overage, Issue: "2028-03-01", Due: "2028-03-31", Period: "2028-02-01/2028-03-01",
		Lines:    []L{{"Enterprise overage — 3 users above 112 prepaid (peak 115)", 3, 1800, 0, 0, 5400, "2028-02-01/2028-03-01"}},
		Subtotal: 5400, Total: 5400, Payment: billing.InvoicePaymentACH},
}

func TestStory_ContractAddOnsLeapFebruaryOverageAndAutoRenewal(t *testing.T) {
	forEachStore(t, "2027-08-20T09:00:00Z", func(t *testing.T, b *bundle) {
		a := contractHistory(t, b, true)
		wantSteps(t, b.bill(t, a), "overage_invoice 2028-03-01", "renewal 2028-03-01", "period_invoice 2028-03-01")
		b.checkInvoices(t, a, append(contractInvoices,
			// Auto-renewed for the same six months at the contract price:
			// 112 × $15.
			I{Number: "INV-2028-000005", Kind: subscription, Issue: "2028-03-01", Due: "2028-03-31", Period: "2028-03-01/2028-04-01",
				Lines: []L{{"Enterprise — 112 users", 112, 1500, 0, 0, 168000, "2028-03-01/2028-04-01"}}, Subtotal: 168000, Total: 168000,
				Payment: billing.InvoicePaymentACH})...)
		s := b.sub(t, a)
		if s.Contract == nil || s.Contract.TermStart != d("2028-03-01") || s.Contract.TermEnd != d("2028-09-01") ||
			s.Seats != 112 || s.PeakUsers != 115 || s.UnitPrice != usd(1500) {
			t.Fatalf("renewed contract = %+v %+v", s, s.Contract)
		}
	})
}

func TestStory_ContractTermEndConvertsUsersToFree(t *testing.T) {
	forEachStore(t, "2027-08-20T09:00:00Z", func(t *testing.T, b *bundle) {
		a := contractHistory(t, b, false)
		wantSteps(t, b.bill(t, a), "overage_invoice 2028-03-01", "renewal 2028-03-01")
		b.checkInvoices(t, a, contractInvoices...)
		s := b.sub(t, a)
		if s.Contract != nil || s.IsPaid() || s.Plan.Code != engine.PlanFree {
			t.Fatalf("after the term: %+v", s)
		}
		if _, n, _ := b.db.FindManagedUsers(b.ctx, billing.ManagedUserFilter{AccountID: a.ID}); n != 0 {
			t.Errorf("managed users after convert_free = %d", n)
		}
		b.clock.Set(mustTime("2028-05-01T00:00:00Z"))
		wantSteps(t, b.bill(t, a))
	})
}

func TestStory_AucklandRenewsAtLocalMidnightAcrossDST(t *testing.T) {
	const nz = "Pacific/Auckland"
	forEachStore(t, "2026-03-04T21:00:00Z", func(t *testing.T, b *bundle) { // 10:00 NZDT, 5 March
		a := b.account(t, "Kiwi", inZone(nz))
		b.confirm(t, a, premium(billing.Month, 1))
		// 5 April is the day NZ daylight time ends (03:00 NZDT → 02:00
		// NZST), but its midnight is still NZDT, UTC+13: 11:00Z on 4 Apr.
		b.clock.Set(mustTime("2026-04-04T10:59:59Z"))
		wantSteps(t, b.bill(t, a))
		b.clock.Set(mustTime("2026-04-04T11:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-04-05", "period_invoice 2026-04-05")
		// Half past midnight local is still 4 April in UTC: the day of the
		// change is the local one, the period's first, so the seat costs
		// the whole period.
		b.at(t, "2026-04-05 00:30", nz)
		b.confirm(t, a, premium(billing.Month, 2))
		// 5 May's midnight is NZST, UTC+12: 12:00Z on 4 May.
		b.clock.Set(mustTime("2026-05-04T11:30:00Z"))
		wantSteps(t, b.bill(t, a))
		b.clock.Set(mustTime("2026-05-04T12:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-05-05", "period_invoice 2026-05-05")
		b.clock.Set(mustTime("2026-09-04T11:59:59Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-06-05", "period_invoice 2026-06-05", "renewal 2026-07-05",
			"period_invoice 2026-07-05", "renewal 2026-08-05", "period_invoice 2026-08-05")
		b.clock.Set(mustTime("2026-09-04T12:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-09-05", "period_invoice 2026-09-05")
		// Daylight time starts 27 Sep; 5 Oct's midnight is NZDT again,
		// UTC+13: 11:00Z on 4 Oct.
		ov, err := b.eng.Subscription(b.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ov.RenewsAt == nil || !ov.RenewsAt.Equal(mustTime("2026-10-04T11:00:00Z")) {
			t.Fatalf("renews at %v, want 2026-10-04T11:00:00Z", ov.RenewsAt)
		}
		b.clock.Set(mustTime("2026-10-04T10:59:59Z"))
		wantSteps(t, b.bill(t, a))
		b.clock.Set(mustTime("2026-10-04T11:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-10-05", "period_invoice 2026-10-05")

		monthly := func(n, start, end string, users int64) I {
			desc := "Premium — 2 users"
			if users == 1 {
				desc = "Premium — 1 user"
			}
			return I{Number: n, Kind: subscription, Issue: start, Period: start + "/" + end,
				Lines: []L{{desc, users, 1000, 0, 0, 1000 * users, start + "/" + end}}, Subtotal: 1000 * users, Total: 1000 * users}
		}
		b.checkInvoices(t, a,
			monthly("INV-2026-000001", "2026-03-05", "2026-04-05", 1),
			monthly("INV-2026-000002", "2026-04-05", "2026-05-05", 1),
			// The added seat on the period's first local day: 30 of 30
			// days, $10.00, not prorated.
			I{Number: "INV-2026-000003", Kind: changeInv, Issue: "2026-04-05", Period: "2026-04-05/2026-05-05",
				Lines: []L{{"Premium — 1 user", 1, 1000, 0, 0, 1000, "2026-04-05/2026-05-05"}}, Subtotal: 1000, Total: 1000},
			monthly("INV-2026-000004", "2026-05-05", "2026-06-05", 2),
			monthly("INV-2026-000005", "2026-06-05", "2026-07-05", 2),
			monthly("INV-2026-000006", "2026-07-05", "2026-08-05", 2),
			monthly("INV-2026-000007", "2026-08-05", "2026-09-05", 2),
			monthly("INV-2026-000008", "2026-09-05", "2026-10-05", 2),
			monthly("INV-2026-000009", "2026-10-05", "2026-11-05", 2),
		)
	})
}

func TestStory_CancelThenUpgradeAgainAfterThePeriodEnd(t *testing.T) {
	forEachStore(t, "2026-05-10T10:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		// On Free the roster may hold users; "all current users" buys a
		// seat for each.
		if err := b.users(t, a, 2); err != nil {
			t.Fatal(err)
		}
		res := b.confirm(t, a, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAll})
		if res.Subscription.Seats != 2 {
			t.Fatalf("seats for all users = %d", res.Subscription.Seats)
		}
		b.clock.Set(mustTime("2026-05-20T10:00:00Z"))
		if s, err := b.eng.Cancel(b.ctx, a.ID); err != nil || !s.CancelAtPeriodEnd {
			t.Fatalf("cancel: %v %+v", err, s)
		}
		// A change to the same terms lifts the cancellation (resume) and
		// bills nothing; cancel again.
		b.clock.Set(mustTime("2026-05-21T10:00:00Z"))
		if r := b.confirm(t, a, premium(billing.Month, 2)); r.Invoice != nil || r.Subscription.CancelAtPeriodEnd {
			t.Fatalf("resume: %+v", r)
		}
		b.clock.Set(mustTime("2026-05-22T10:00:00Z"))
		if _, err := b.eng.Cancel(b.ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		b.clock.Set(mustTime("2026-05-30T10:00:00Z"))
		if err := b.users(t, a, 2); err != nil { // active again: no inactivity credit
			t.Fatal(err)
		}
		// "Cancel keeps the paid plan to the period end, then the account
		// is Free and has no managed users."
		b.clock.Set(mustTime("2026-06-10T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-06-10")
		if s := b.sub(t, a); s.IsPaid() || s.Plan.Code != engine.PlanFree || s.CancelAtPeriodEnd {
			t.Fatalf("after the period: %+v", s)
		}
		if _, n, _ := b.db.FindManagedUsers(b.ctx, billing.ManagedUserFilter{AccountID: a.ID}); n != 0 {
			t.Fatalf("managed users on Free after cancel = %d", n)
		}
		b.clock.Set(mustTime("2026-06-15T10:00:00Z"))
		b.confirm(t, a, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAdmin})
		b.clock.Set(mustTime("2026-07-15T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-07-15", "period_invoice 2026-07-15")
		b.checkInvoices(t, a,
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-05-10", Period: "2026-05-10/2026-06-10",
				Lines: []L{{"Premium — 2 users", 2, 1000, 0, 0, 2000, "2026-05-10/2026-06-10"}}, Subtotal: 2000, Total: 2000},
			// Upgraded again on 15 Jun, just the admin: a new first period
			// anchored on the 15th, 1 × $10.
			I{Number: "INV-2026-000002", Kind: subscription, Issue: "2026-06-15", Period: "2026-06-15/2026-07-15",
				Lines: []L{{"Premium — 1 user", 1, 1000, 0, 0, 1000, "2026-06-15/2026-07-15"}}, Subtotal: 1000, Total: 1000},
			I{Number: "INV-2026-000003", Kind: subscription, Issue: "2026-07-15", Period: "2026-07-15/2026-08-15",
				Lines: []L{{"Premium — 1 user", 1, 1000, 0, 0, 1000, "2026-07-15/2026-08-15"}}, Subtotal: 1000, Total: 1000},
		)
	})
}

func TestStory_PriceChangeAppliesAtRenewalNotToMidPeriodSeats(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-01-10T09:00:00Z"))
		v2 := &billing.PlanVersion{Prices: []billing.Price{
			{Interval: billing.Month, UnitPrice: usd(1200)}, {Interval: billing.Year, UnitPrice: usd(12000)}}}
		if err := b.db.CreatePlanVersion(b.ctx, engine.PlanPremium, v2); err != nil {
			t.Fatal(err)
		}
		b.clock.Set(mustTime("2026-01-22T09:00:00Z"))
		b.confirm(t, a, premium(billing.Month, 3))
		b.clock.Set(mustTime("2026-02-01T00:00:00Z"))
		b.bill(t, a)
		b.checkInvoices(t, a,
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-01", Period: "2026-01-01/2026-02-01",
				Lines: []L{{"Premium — 2 users", 2, 1000, 0, 0, 2000, "2026-01-01/2026-02-01"}}, Subtotal: 2000, Total: 2000},
			// Mid-period the subscription keeps its version: the seat at
			// the old $10 for 10 of 31 days, round(322.58¢) = $3.23.
			I{Number: "INV-2026-000002", Kind: changeInv, Issue: "2026-01-22", Period: "2026-01-22/2026-02-01",
				Lines: []L{{"Premium — 1 user × 10 of 31 days", 1, 1000, 10, 31, 323, "2026-01-22/2026-02-01"}}, Subtotal: 323, Total: 323},
			// At renewal it moves to version 2: 3 × $12.
			I{Number: "INV-2026-000003", Kind: subscription, Issue: "2026-02-01", Period: "2026-02-01/2026-03-01",
				Lines: []L{{"Premium — 3 users", 3, 1200, 0, 0, 3600, "2026-02-01/2026-03-01"}}, Subtotal: 3600, Total: 3600},
		)
		if s := b.sub(t, a); s.Plan.Version != 2 || s.UnitPrice != usd(1200) {
			t.Errorf("after renewal: version %d price %v", s.Plan.Version, s.UnitPrice)
		}
	})
}

func TestStory_CreditBalanceIsAppliedBeforeCharging(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		if a.CreditBalance != usd(2500) {
			t.Fatalf("signup credit = %v", a.CreditBalance)
		}
		b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-02-01T00:00:00Z"))
		b.bill(t, a)
		b.checkInvoices(t, a,
			// $20.00 − $20.00 of the $25.00 signup credit = $0.00: paid at
			// once by credit redeem.
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-01", Period: "2026-01-01/2026-02-01",
				Lines:    []L{{"Premium — 2 users", 2, 1000, 0, 0, 2000, "2026-01-01/2026-02-01"}},
				Subtotal: 2000, Credits: 2000, Total: 0, Payment: billing.InvoicePaymentCredit},
			// $20.00 − the $5.00 left = $15.00 to charge.
			I{Number: "INV-2026-000002", Kind: subscription, Issue: "2026-02-01", Period: "2026-02-01/2026-03-01",
				Lines:    []L{{"Premium — 2 users", 2, 1000, 0, 0, 2000, "2026-02-01/2026-03-01"}},
				Subtotal: 2000, Credits: 500, Total: 1500},
		)
		ledger, _, err := b.eng.FindCredits(b.ctx, a.ID, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got [][2]int64
		for i := len(ledger) - 1; i >= 0; i-- {
			got = append(got, [2]int64{ledger[i].Amount.Amount, ledger[i].BalanceAfter.Amount})
		}
		if want := [][2]int64{{2500, 2500}, {-2000, 500}, {-500, 0}}; !equalPairs(got, want) {
			t.Errorf("ledger (amount, balance after) = %v, want %v", got, want)
		}
		if got := b.balance(t, a); got != 0 {
			t.Errorf("balance = %d", got)
		}
	}, signupCredit(2500))
}

func equalPairs(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStory_TaxOnTheSubtotalAfterCreditsRoundedOnce(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme GmbH")
		if err := b.db.SetTaxRate(b.ctx, &billing.TaxRate{Country: "DE", BasisPoints: 1900}); err != nil {
			t.Fatal(err)
		}
		if err := b.db.SetProfile(b.ctx, &billing.BillingProfile{AccountID: a.ID, CompanyName: "Acme GmbH", ContactName: "Ada",
			Address: billing.Address{Line1: "Unter den Linden 1", City: "Berlin", PostalCode: "10117", Country: "DE"},
			Phone:   "+49 30 1234567", Email: "billing@acme.example.com", TaxID: "DE123456789"}); err != nil {
			t.Fatal(err)
		}
		res := b.confirm(t, a, premium(billing.Month, 3))
		if res.Invoice.TaxRateBP != 1900 || res.Invoice.TaxCountry != "DE" || res.Invoice.BilledTo.TaxID != "DE123456789" {
			t.Errorf("tax %d %s billed to %+v", res.Invoice.TaxRateBP, res.Invoice.TaxCountry, res.Invoice.BilledTo)
		}
		b.clock.Set(mustTime("2026-01-19T09:00:00Z"))
		b.confirm(t, a, premium(billing.Month, 10))
		b.checkInvoices(t, a,
			// $30.00 − $3.33 credit = $26.67 taxable; 19% = 506.73¢ → $5.07;
			// total $26.67 + $5.07 = $31.74.
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-01", Period: "2026-01-01/2026-02-01",
				Lines:    []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-01-01/2026-02-01"}},
				Subtotal: 3000, Credits: 333, Tax: 507, Total: 3174},
			// $29.35 (one line, rounded once); 19% = 557.65¢ → $5.58, rounded
			// once on the invoice; total $34.93.
			I{Number: "INV-2026-000002", Kind: changeInv, Issue: "2026-01-19", Period: "2026-01-19/2026-02-01",
				Lines:    []L{{"Premium — 7 users × 13 of 31 days", 7, 1000, 13, 31, 2935, "2026-01-19/2026-02-01"}},
				Subtotal: 2935, Tax: 558, Total: 3493},
		)
	}, signupCredit(333))
}

func TestStory_InactivityCreditThenUnchargedThenActiveAgain(t *testing.T) {
	forEachStore(t, "2026-03-01T10:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		if err := b.users(t, a, 2); err != nil {
			t.Fatal(err)
		}
		b.confirm(t, a, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: engine.UsersAll})
		active := func(id, at string) {
			t.Helper()
			b.clock.Set(mustTime(at))
			now := b.clock.Now()
			if err := b.eng.UpsertManagedUser(b.ctx, &billing.ManagedUser{AccountID: a.ID, UserID: id, Email: id + "@example.com", LastActiveAt: &now}); err != nil {
				t.Fatal(err)
			}
		}
		active("u2", "2026-03-14T10:00:00Z")
		wantSteps(t, b.bill(t, a)) // u1's credit day, 16 Mar, is not over
		b.clock.Set(mustTime("2026-03-17T10:00:00Z"))
		r := b.bill(t, a)
		wantSteps(t, r, "inactivity_credits 2026-03-17")
		// u1 last active 1 Mar reaches 15 days without activity on 16 Mar:
		// credited the seat for 16 Mar–31 Mar, 16 of 31 days,
		// round($10 × 16/31) = round(516.13¢) = $5.16.
		if c := r.Steps[0].Credits; len(c) != 1 || c[0].UserID != "u1" || c[0].Amount != usd(516) ||
			c[0].Description != "Inactivity credit — u1@example.com, 15 days without activity — 1 user × 16 of 31 days" {
			t.Fatalf("credits = %+v", c)
		}
		active("u2", "2026-03-28T10:00:00Z")
		b.clock.Set(mustTime("2026-04-01T00:00:00Z"))
		wantSteps(t, b.bill(t, a), "renewal 2026-04-01", "period_invoice 2026-04-01")
		active("u2", "2026-04-10T10:00:00Z")
		active("u1", "2026-04-11T10:00:00Z")
		wantSteps(t, b.bill(t, a))
		b.checkInvoices(t, a,
			I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-03-01", Period: "2026-03-01/2026-04-01",
				Lines: []L{{"Premium — 2 users", 2, 1000, 0, 0, 2000, "2026-03-01/2026-04-01"}}, Subtotal: 2000, Total: 2000},
			// u1 still inactive at renewal: 1 seat of 2 charged, $10.00,
			// less the $5.16 credit: $4.84.
			I{Number: "INV-2026-000002", Kind: subscription, Issue: "2026-04-01", Period: "2026-04-01/2026-05-01",
				Lines:    []L{{"Premium — 1 user (1 inactive user not charged)", 1, 1000, 0, 0, 1000, "2026-04-01/2026-05-01"}},
				Subtotal: 1000, Credits: 516, Total: 484},
			// u1 active again on 11 Apr, "charged for the days left, like a
			// new user": 20 of 30 days, round(666.67¢) = $6.67.
			I{Number: "INV-2026-000003", Kind: changeInv, Issue: "2026-04-11", Period: "2026-04-11/2026-05-01",
				Lines:    []L{{"Premium — 1 user × 20 of 30 days (u1@example.com active again)", 1, 1000, 20, 30, 667, "2026-04-11/2026-05-01"}},
				Subtotal: 667, Total: 667},
		)
	})
}

func TestStory_CreditNoteCorrectsAFinalizedInvoice(t *testing.T) {
	forEachStore(t, "2026-01-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme")
		res := b.confirm(t, a, premium(billing.Month, 3))
		orig := res.Invoice
		b.clock.Set(mustTime("2026-01-05T09:00:00Z"))
		note, err := b.eng.IssueCreditNote(b.ctx, orig.ID, engine.CreditNoteRequest{Amount: 1000, Reason: "one seat never used"})
		if err != nil {
			t.Fatal(err)
		}
		// A credit note: its own number, a negative line, nothing due; the
		// $10.00 goes to the credit balance.
		checkInvoice(t, note, I{Number: "INV-2026-000002", Kind: creditNote, Issue: "2026-01-05", Period: "2026-01-01/2026-02-01",
			Lines:    []L{{"Credit for INV-2026-000001: one seat never used", 1, 1000, 0, 0, -1000, "2026-01-01/2026-02-01"}},
			Subtotal: -1000, Total: -1000, Payment: billing.InvoicePaymentCredit})
		if note.CorrectsInvoiceID == nil || *note.CorrectsInvoiceID != orig.ID {
			t.Errorf("corrects %v", note.CorrectsInvoiceID)
		}
		if got := b.balance(t, a); got != 1000 {
			t.Errorf("balance = %d, want 1000", got)
		}
		// At most what the invoice leaves: $30.00 − $10.00.
		_, err = b.eng.IssueCreditNote(b.ctx, orig.ID, engine.CreditNoteRequest{Amount: 2001, Reason: "too much"})
		wantCode(t, err, "credit_exceeds_invoice")
		again, err := b.db.FindInvoice(b.ctx, orig.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkInvoice(t, again, I{Number: "INV-2026-000001", Kind: subscription, Issue: "2026-01-01", Period: "2026-01-01/2026-02-01",
			Lines: []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-01-01/2026-02-01"}}, Subtotal: 3000, Total: 3000})
		// The next invoice takes the credit first.
		b.clock.Set(mustTime("2026-02-01T00:00:00Z"))
		b.bill(t, a)
		last := b.invoices(t, a)[2]
		checkInvoice(t, last, I{Number: "INV-2026-000003", Kind: subscription, Issue: "2026-02-01", Period: "2026-02-01/2026-03-01",
			Lines:    []L{{"Premium — 3 users", 3, 1000, 0, 0, 3000, "2026-02-01/2026-03-01"}},
			Subtotal: 3000, Credits: 1000, Total: 2000})
	})
}
