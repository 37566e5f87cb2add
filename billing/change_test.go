package billing_test

import (
	"time"

	"testing"

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
)

func d(s string) billing.Date {
	dt, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return dt
}

var (
	premium    = billing.PlanRef{VersionID: 2, Code: "premium", Name: "Premium", Version: 1}
	enterprise = billing.PlanRef{VersionID: 3, Code: "enterprise", Name: "Enterprise", Version: 1}
)

func premiumMonthly(seats int64) billing.Terms {
	return billing.Terms{Plan: premium, Interval: billing.Month, Seats: seats, UnitPrice: usd(1000)}
}

func premiumAnnual(seats int64) billing.Terms {
	return billing.Terms{Plan: premium, Interval: billing.Year, Seats: seats, UnitPrice: usd(10000)}
}

func enterpriseMonthly(seats int64) billing.Terms {
	return billing.Terms{Plan: enterprise, Interval: billing.Month, Seats: seats, UnitPrice: usd(2000)}
}

func paid(t billing.Terms, start, end string) billing.Subscription {
	return billing.Subscription{Terms: t, Anchor: d(start), Period: billing.Period{Start: d(start), End: d(end)},
		Status: billing.SubscriptionActive}
}

func amounts(lines []billing.InvoiceLine) []int64 {
	var out []int64
	for _, l := range lines {
		out = append(out, l.Amount.Amount)
	}
	return out
}

func wantAmounts(t *testing.T, ch billing.Change, want ...int64) {
	t.Helper()
	got := amounts(ch.Lines)
	if len(got) != len(want) {
		t.Fatalf("lines %v, want amounts %v", ch.Lines, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d (%s) = %d, want %d", i, ch.Lines[i].Description, got[i], want[i])
		}
	}
}

func TestPlanChange_UpgradeFromFreeOnThe31st(t *testing.T) {
	ch, err := billing.PlanChange(billing.Subscription{}, premiumMonthly(3), d("2026-01-31"), renewed(billing.Subscription{}, 3))
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, ch, 3000)
	if ch.InvoiceKind != billing.InvoiceSubscription || ch.Timing != billing.EffectiveNow {
		t.Errorf("kind %s timing %s", ch.InvoiceKind, ch.Timing)
	}
	if want := (billing.Period{Start: d("2026-01-31"), End: d("2026-02-28")}); ch.After.Period != want {
		t.Errorf("first period = %v, want %v", ch.After.Period, want)
	}
	if ch.Lines[0].Proration || ch.Lines[0].Description != "Premium — 3 users" {
		t.Errorf("line = %+v", ch.Lines[0])
	}
}

func TestPlanChange_SeatAddedMidMonth(t *testing.T) {
	// "A $10 seat added with 20 of 30 days left costs $6.67."
	cur := paid(premiumMonthly(2), "2026-04-01", "2026-05-01")
	ch, err := billing.PlanChange(cur, premiumMonthly(3), d("2026-04-11"), renewed(cur, 2))
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, ch, 667)
	l := ch.Lines[0]
	if l.Quantity != 1 || l.Days != 20 || l.PeriodDays != 30 || !l.Proration || l.Description != "Premium — 1 user × 20 of 30 days" {
		t.Errorf("line = %+v", l)
	}
	if ch.After.Seats != 3 || ch.InvoicePeriod != (billing.Period{Start: d("2026-04-11"), End: d("2026-05-01")}) {
		t.Errorf("after = %+v, invoice period %v", ch.After.Terms, ch.InvoicePeriod)
	}
}

func TestPlanChange_SevenSeatsRoundedOnce(t *testing.T) {
	// "7 seats for 13 of 31 days at $10 is $29.35, not 7 × $4.19."
	cur := paid(premiumMonthly(3), "2026-01-01", "2026-02-01")
	ch, err := billing.PlanChange(cur, premiumMonthly(10), d("2026-01-19"), renewed(cur, 3))
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, ch, 2935)
}

func TestPlanChange_SeatAddedOnTheLastDay(t *testing.T) {
	cur := paid(premiumMonthly(1), "2026-01-01", "2026-02-01")
	ch, err := billing.PlanChange(cur, premiumMonthly(2), d("2026-01-31"), renewed(cur, 1))
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, ch, 32) // 1000 × 1/31 = 32.26
}

func TestPlanChange_MonthlyToAnnualMidMonth(t *testing.T) {
	cur := paid(premiumMonthly(5), "2026-03-01", "2026-04-01")
	ch, err := billing.PlanChange(cur, premiumAnnual(5), d("2026-03-16"), renewed(cur, 5))
	if err != nil {
		t.Fatal(err)
	}
	// Credit 5 × $10 × 16/31 = $25.806… → $25.81; charge 5 × $100 for a new year from today.
	wantAmounts(t, ch, -2581, 50000)
	if want := (billing.Period{Start: d("2026-03-16"), End: d("2027-03-16")}); ch.After.Period != want || ch.InvoicePeriod != want {
		t.Errorf("annual period = %v, invoice %v, want %v", ch.After.Period, ch.InvoicePeriod, want)
	}
	if ch.After.Anchor != d("2026-03-16") || ch.After.Interval != billing.Year {
		t.Errorf("after = %+v", ch.After)
	}
}

func TestPlanChange_DearerPlanNow(t *testing.T) {
	cur := paid(premiumMonthly(4), "2026-03-01", "2026-04-01")
	ch, err := billing.PlanChange(cur, enterpriseMonthly(4), d("2026-03-16"), renewed(cur, 4))
	if err != nil {
		t.Fatal(err)
	}
	// Credit 4 × $10 × 16/31 = $20.645… → $20.65; charge 4 × $20 × 16/31 = $41.290… → $41.29.
	wantAmounts(t, ch, -2065, 4129)
	if ch.Lines[0].Description != "Unused time on Premium — 4 users × 16 of 31 days" {
		t.Errorf("credit line = %q", ch.Lines[0].Description)
	}
	if ch.After.Plan != enterprise || ch.After.Scheduled != nil {
		t.Errorf("after = %+v", ch.After)
	}
}

func TestPlanChange_DearerPlanFewerSeatsDropsSeatsAtPeriodEnd(t *testing.T) {
	cur := paid(premiumMonthly(4), "2026-03-01", "2026-04-01")
	ch, err := billing.PlanChange(cur, enterpriseMonthly(2), d("2026-03-16"), renewed(cur, 2))
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, ch, -2065, 4129) // Enterprise for the 4 seats paid for; no refund
	if ch.After.Seats != 4 || ch.After.Scheduled == nil || ch.After.Scheduled.Seats != 2 {
		t.Errorf("after = %+v scheduled %+v", ch.After.Terms, ch.After.Scheduled)
	}
}

func TestPlanChange_FewerUsersCheaperPlanAnnualToMonthlyAreScheduled(t *testing.T) {
	tests := []struct {
		name string
		cur  billing.Subscription
		to   billing.Terms
	}{
		{"fewer users", paid(premiumMonthly(5), "2026-03-01", "2026-04-01"), premiumMonthly(3)},
		{"cheaper plan", paid(enterpriseMonthly(5), "2026-03-01", "2026-04-01"), premiumMonthly(5)},
		{"annual to monthly", paid(premiumAnnual(5), "2026-03-01", "2027-03-01"), premiumMonthly(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := billing.PlanChange(tt.cur, tt.to, d("2026-03-16"), renewed(tt.cur, 3))
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Lines) != 0 || ch.Timing != billing.EffectivePeriodEnd || ch.EffectiveDate != tt.cur.Period.End {
				t.Errorf("change = %+v, want no lines, effective at %s", ch, tt.cur.Period.End)
			}
			if ch.After.Terms != tt.cur.Terms || ch.After.Scheduled == nil || *ch.After.Scheduled != tt.to {
				t.Errorf("after = %+v scheduled %+v", ch.After.Terms, ch.After.Scheduled)
			}
		})
	}
}

func TestPlanChange_CheaperPlanMoreSeatsSplits(t *testing.T) {
	cur := paid(enterpriseMonthly(2), "2026-03-01", "2026-04-01")
	ch, err := billing.PlanChange(cur, premiumMonthly(3), d("2026-03-16"), renewed(cur, 2))
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, ch, 1032) // 1 Enterprise seat × $20 × 16/31 = $10.32 now
	if ch.After.Seats != 3 || ch.After.Plan != enterprise || ch.After.Scheduled == nil || ch.After.Scheduled.Plan != premium {
		t.Errorf("after = %+v scheduled %+v", ch.After.Terms, ch.After.Scheduled)
	}
}

func TestPlanChange_Refusals(t *testing.T) {
	cur := paid(premiumMonthly(5), "2026-03-01", "2026-04-01")
	contract := cur
	contract.Contract = &billing.Contract{Number: "C-1"}
	eur := premiumMonthly(6)
	eur.UnitPrice = billing.NewMoney(1000, "EUR")
	tests := []struct {
		name   string
		cur    billing.Subscription
		to     billing.Terms
		code   string
		reason string
	}{
		{"fewer seats than users", cur, premiumMonthly(3), billing.ESTATE, "seats_below_users"},
		{"zero seats", cur, premiumMonthly(0), billing.EINVALID, ""},
		{"negative seats", cur, premiumMonthly(-2), billing.EINVALID, ""},
		{"bad interval", cur, billing.Terms{Plan: premium, Interval: "week", Seats: 5, UnitPrice: usd(1000)}, billing.EINVALID, ""},
		{"currency mismatch", cur, eur, billing.EINVALID, "currency_mismatch"},
		{"plan change on a contract", contract, enterpriseMonthly(5), billing.ESTATE, "contract_terms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := billing.PlanChange(tt.cur, tt.to, d("2026-03-16"), renewed(tt.cur, 4))
			var e *billing.Error
			if !asError(err, &e) || e.Code != tt.code || e.Reason != tt.reason {
				t.Errorf("err = %v, want code %s reason %q", err, tt.code, tt.reason)
			}
		})
	}
}

func TestPlanChange_NewRequestLiftsCancellation(t *testing.T) {
	cur := paid(premiumMonthly(5), "2026-03-01", "2026-04-01")
	cur.CancelAtPeriodEnd = true
	s := premiumMonthly(3)
	cur.Scheduled = &s
	ch, err := billing.PlanChange(cur, premiumMonthly(5), d("2026-03-16"), renewed(cur, 5))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Lines) != 0 || ch.After.CancelAtPeriodEnd || ch.After.Scheduled != nil {
		t.Errorf("after = %+v", ch.After)
	}
}

func TestAddContractSeats_ProratedAtContractPriceToPeriodEnd(t *testing.T) {
	cur := paid(billing.Terms{Plan: enterprise, Interval: billing.Year, Seats: 100, UnitPrice: usd(18000)}, "2026-01-01", "2027-01-01")
	cur.Contract = &billing.Contract{Number: "C-2026-001", OverageUnitPrice: usd(2000)}
	ch, err := billing.AddContractSeats(cur, 10, d("2026-07-01"))
	if err != nil {
		t.Fatal(err)
	}
	// 10 × $180 × 184/365 = $907.397… → $907.40
	wantAmounts(t, ch, 90740)
	if ch.After.Seats != 110 || ch.Lines[0].Days != 184 || ch.Lines[0].PeriodDays != 365 {
		t.Errorf("after seats %d, line %+v", ch.After.Seats, ch.Lines[0])
	}
	if _, err := billing.AddContractSeats(cur, 0, d("2026-07-01")); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("zero seats: %v", err)
	}
	if _, err := billing.AddContractSeats(paid(premiumMonthly(1), "2026-01-01", "2026-02-01"), 1, d("2026-01-05")); billing.ErrorCode(err) != billing.ESTATE {
		t.Errorf("online subscription: %v", err)
	}
}

func TestOverageLines_PeakAbovePrepaidForTheWholePeriod(t *testing.T) {
	// A leap February: the overage is for the whole period, not prorated.
	s := paid(billing.Terms{Plan: enterprise, Interval: billing.Month, Seats: 50, UnitPrice: usd(1800)}, "2028-02-01", "2028-03-01")
	s.Contract = &billing.Contract{Number: "C-9", OverageUnitPrice: usd(2500)}
	s.PeakUsers = 53
	lines, err := billing.OverageLines(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Amount != usd(7500) || lines[0].Quantity != 3 || lines[0].Proration {
		t.Fatalf("lines = %+v", lines)
	}
	s.PeakUsers = 50
	if lines, _ := billing.OverageLines(s); len(lines) != 0 {
		t.Errorf("no overage at the prepaid count, got %+v", lines)
	}
}

func TestPeriodLines_InactiveSeatsNotCharged(t *testing.T) {
	s := paid(premiumMonthly(5), "2026-03-01", "2026-04-01")
	lines, err := billing.PeriodLines(s, 4)
	if err != nil {
		t.Fatal(err)
	}
	if lines[0].Amount != usd(4000) || lines[0].Description != "Premium — 4 users (1 inactive user not charged)" {
		t.Errorf("line = %+v", lines[0])
	}
}

// Property: adding seats never costs more than the added seats' full
// period price, and costs the full price on the period's first day.
func TestPlanChange_SeatIncreaseNeverExceedsFullPrice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		start := billing.NewDate(2024+rapid.IntRange(0, 4).Draw(t, "y"), time.Month(1+rapidMonth(t)), 1+rapid.IntRange(0, 30).Draw(t, "d"))
		p := billing.FirstPeriod(start, billing.Month)
		seats := rapid.Int64Range(1, 50).Draw(t, "seats")
		added := rapid.Int64Range(1, 50).Draw(t, "added")
		unit := rapid.Int64Range(1, 100000).Draw(t, "unit")
		day := p.Start.AddDays(rapid.IntRange(0, p.Days()-1).Draw(t, "day"))
		terms := billing.Terms{Plan: premium, Interval: billing.Month, Seats: seats, UnitPrice: usd(unit)}
		cur := billing.Subscription{Terms: terms, Anchor: start, Period: p, Status: billing.SubscriptionActive}
		to := terms
		to.Seats += added
		ch, err := billing.PlanChange(cur, to, day, renewed(cur, seats))
		if err != nil {
			t.Fatal(err)
		}
		full := added * unit
		if got := ch.Lines[0].Amount.Amount; got > full || got < 0 {
			t.Fatalf("added %d seats on %s of %v: %d, full price %d", added, day, p, got, full)
		}
		if day == p.Start && ch.Lines[0].Amount.Amount != full {
			t.Fatalf("on the first day the added seats cost the full price")
		}
	})
}

func rapidMonth(t *rapid.T) int { return rapid.IntRange(0, 11).Draw(t, "m") }

// renewed is the usage of a subscription whose every seat the renewal
// charged for the whole period, with users managed users and none
// inactive.
func renewed(cur billing.Subscription, users int64) billing.Usage {
	u := billing.Usage{ManagedUsers: users}
	if cur.IsPaid() {
		lines, err := billing.PeriodLines(cur, cur.Seats)
		if err != nil {
			panic(err)
		}
		u.Charged = billing.SeatRunsOf(cur.Period, lines)
	}
	return u
}
