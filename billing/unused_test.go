package billing_test

import (
	"time"

	"testing"

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
)

// run is a SeatRun of seats at unit cents from the day from, with its
// amount as the line that made it charged (or gave back) it.
func run(seats, unit int64, from string, amount int64) billing.SeatRun {
	return billing.SeatRun{Seats: seats, Unit: usd(unit), From: d(from), Amount: usd(amount)}
}

func TestUnusedTime(t *testing.T) {
	march := billing.Period{Start: d("2026-03-01"), End: d("2026-04-01")} // 31 days
	april := billing.Period{Start: d("2026-04-01"), End: d("2026-05-01")} // 30 days
	for _, tt := range []struct {
		name    string
		period  billing.Period
		runs    []billing.SeatRun
		today   string
		amounts []int64
		desc    []string
		charged int64
	}{
		{"Acme: 6 seats, one inactive user not charged at renewal; credited on the first day",
			march, []billing.SeatRun{run(5, 1000, "2026-03-01", 5000)}, "2026-03-01",
			[]int64{-5000}, []string{"Unused time on Premium — 5 users"}, 5},
		{"the same from the 16th: 5 users × 16 of 31 days",
			march, []billing.SeatRun{run(5, 1000, "2026-03-01", 5000)}, "2026-03-16",
			[]int64{-2581}, []string{"Unused time on Premium — 5 users × 16 of 31 days"}, 5},
		{"seats added mid-period count from when they were added",
			april, []billing.SeatRun{run(3, 1000, "2026-04-01", 3000), run(2, 1000, "2026-04-11", 1333)}, "2026-04-21",
			[]int64{-1667}, []string{"Unused time on Premium — 5 users × 10 of 30 days"}, 5},
		{"an inactivity credit gave its seat's days back already",
			march, []billing.SeatRun{run(3, 1000, "2026-03-01", 3000), run(-1, 1000, "2026-03-15", -548)}, "2026-03-22",
			[]int64{-645}, []string{"Unused time on Premium — 2 users × 10 of 31 days"}, 2},
		{"a seat given back whole leaves nothing to credit",
			march, []billing.SeatRun{run(1, 1000, "2026-03-01", 1000), run(-1, 1000, "2026-03-15", -548)}, "2026-03-22",
			nil, nil, 0},
		{"after an earlier upgrade only the dearer price is left",
			april, []billing.SeatRun{run(2, 1000, "2026-04-01", 2000), run(-2, 1000, "2026-04-11", -1333), run(2, 2000, "2026-04-11", 2667)},
			"2026-04-21", []int64{-1333}, []string{"Unused time on Premium — 2 users × 10 of 30 days"}, 2},
		{"two seats bought one by one on the day, credited that day: never a cent more than they cost",
			march, []billing.SeatRun{run(1, 1000, "2026-03-19", 419), run(1, 1000, "2026-03-19", 419)}, "2026-03-19",
			[]int64{-838}, []string{"Unused time on Premium — 2 users × 13 of 31 days"}, 2},
		{"nothing charged, nothing credited", march, nil, "2026-03-10", nil, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines, charged, err := billing.UnusedTime("Premium", tt.period, tt.runs, d(tt.today))
			if err != nil {
				t.Fatal(err)
			}
			if charged != tt.charged || len(lines) != len(tt.amounts) {
				t.Fatalf("lines %+v, %d charged; want amounts %v, %d charged", lines, charged, tt.amounts, tt.charged)
			}
			for i, l := range lines {
				if l.Amount.Amount != tt.amounts[i] || l.Description != tt.desc[i] || l.Kind != billing.LineCredit {
					t.Errorf("line %d = %s %s %d, want %s %d", i, l.Kind, l.Description, l.Amount.Amount, tt.desc[i], tt.amounts[i])
				}
				if err := l.Validate(); err != nil {
					t.Errorf("line %d: %v", i, err)
				}
			}
		})
	}
}

func TestUnusedTime_RefusesRunsItCannotPlace(t *testing.T) {
	march := billing.Period{Start: d("2026-03-01"), End: d("2026-04-01")}
	for name, runs := range map[string][]billing.SeatRun{
		"after today":       {run(1, 1000, "2026-03-20", 387)},
		"before the period": {run(1, 1000, "2026-02-20", 1000)},
		"two currencies":    {run(1, 1000, "2026-03-01", 1000), {Seats: 1, Unit: billing.NewMoney(1000, "EUR"), From: d("2026-03-01"), Amount: billing.NewMoney(1000, "EUR")}},
	} {
		if _, _, err := billing.UnusedTime("Premium", march, runs, d("2026-03-10")); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	if _, _, err := billing.UnusedTime("Premium", march, nil, d("2026-04-01")); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("a day after the period: err = %v", err)
	}
}

func TestSeatRunsOf_LeavesOutTheLinesOfAnotherPeriod(t *testing.T) {
	annual := billing.FirstPeriod(d("2026-03-16"), billing.Year)
	monthly := billing.Period{Start: d("2026-03-01"), End: d("2026-04-01")}
	credit, _ := billing.SeatLine(billing.LineCredit, "Premium", usd(1000), 5, monthly, d("2026-03-16"))
	charge, _ := billing.SeatLine(billing.LineCharge, "Premium", usd(10000), 5, annual, d("2026-03-16"))
	runs := billing.SeatRunsOf(annual, []billing.InvoiceLine{credit, charge})
	if len(runs) != 1 || runs[0] != run(5, 10000, "2026-03-16", 50000) {
		t.Fatalf("runs = %+v", runs)
	}
}

// Acme's defect: 6 seats, one user inactive at renewal, so $50 charged for
// March; a change credits what was charged, not 6 × $10.
func TestPlanChange_CreditsWhatTheRenewalCharged(t *testing.T) {
	cur := paid(premiumMonthly(6), "2026-03-01", "2026-04-01")
	lines, _ := billing.PeriodLines(cur, 5)
	u := billing.Usage{ManagedUsers: 6, InactiveUsers: 1, Charged: billing.SeatRunsOf(cur.Period, lines)}

	annual, err := billing.PlanChange(cur, premiumAnnual(6), d("2026-03-01"), u)
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, annual, -5000, 50000)
	if got := annual.Lines[1].Description; got != "Premium — 5 users (1 inactive user not charged)" {
		t.Errorf("annual charge = %q", got)
	}

	dearer, err := billing.PlanChange(cur, enterpriseMonthly(6), d("2026-03-16"), u)
	if err != nil {
		t.Fatal(err)
	}
	// 5 × $10 × 16/31 = $25.81 back; 5 × $20 × 16/31 = $51.61 charged.
	wantAmounts(t, dearer, -2581, 5161)
	if got := dearer.Lines[1].Description; got != "Enterprise — 5 users × 16 of 31 days (1 inactive user not charged)" {
		t.Errorf("dearer charge = %q", got)
	}
	if dearer.After.Seats != 6 {
		t.Errorf("seats after = %d, want 6: the inactive user keeps a seat", dearer.After.Seats)
	}
}

// Property: whatever a period's bills did — a renewal that left inactive
// seats uncharged, seats added, inactivity credits, upgrades to dearer
// plans — the credit for unused time on any later day is never negative
// and never more than what was charged for the period, net of what was
// given back.
func TestUnusedTime_NeverMoreThanWasCharged(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		interval := billing.Month
		if rapid.Bool().Draw(t, "annual") {
			interval = billing.Year
		}
		start := billing.NewDate(2024+rapid.IntRange(0, 4).Draw(t, "y"), time.Month(1+rapid.IntRange(0, 11).Draw(t, "m")), 1+rapid.IntRange(0, 30).Draw(t, "d"))
		p := billing.FirstPeriod(start, interval)
		unit := rapid.Int64Range(1, 50000).Draw(t, "unit")
		seats := rapid.Int64Range(1, 30).Draw(t, "seats")
		charged := rapid.Int64Range(0, seats).Draw(t, "charged")
		plans := []billing.PlanRef{premium, enterprise}
		cur := billing.Subscription{Terms: billing.Terms{Plan: plans[0], Interval: interval, Seats: seats, UnitPrice: usd(unit)},
			Anchor: start, Period: p, Status: billing.SubscriptionActive}
		lines, err := billing.PeriodLines(cur, charged)
		if err != nil {
			t.Fatal(err)
		}
		runs := billing.SeatRunsOf(p, lines)
		day := p.Start
		for i, n := 0, rapid.IntRange(0, 8).Draw(t, "events"); i < n; i++ {
			day = day.AddDays(rapid.IntRange(0, p.DaysLeft(day)-1).Draw(t, "after"))
			u := billing.Usage{ManagedUsers: cur.Seats, Charged: runs}
			switch rapid.IntRange(0, 2).Draw(t, "event") {
			case 0: // seats added
				to := cur.Terms
				to.Seats += rapid.Int64Range(1, 10).Draw(t, "added")
				ch, err := billing.PlanChange(cur, to, day, u)
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, billing.SeatRunsOf(p, ch.Lines)...)
				cur = ch.After
			case 1: // an inactivity credit for a seat still charged
				if _, left, _ := billing.UnusedTime(cur.Plan.Name, p, runs, day); left == 0 {
					continue
				}
				credit, err := billing.Prorate(cur.UnitPrice, 1, p.DaysLeft(day), p.Days())
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, billing.SeatRun{Seats: -1, Unit: cur.UnitPrice, From: day, Amount: credit.Neg()})
			case 2: // a dearer plan
				to := billing.Terms{Plan: plans[(i+1)%2], Interval: interval, Seats: cur.Seats,
					UnitPrice: usd(cur.UnitPrice.Amount + rapid.Int64Range(0, 50000).Draw(t, "more"))}
				if to.Plan == cur.Plan {
					to.Plan = plans[0]
					if cur.Plan == plans[0] {
						to.Plan = plans[1]
					}
				}
				ch, err := billing.PlanChange(cur, to, day, u)
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, billing.SeatRunsOf(p, ch.Lines)...)
				cur = ch.After
			}
		}
		day = day.AddDays(rapid.IntRange(0, p.DaysLeft(day)-1).Draw(t, "then"))
		credits, _, err := billing.UnusedTime(cur.Plan.Name, p, runs, day)
		if err != nil {
			t.Fatal(err)
		}
		var credit, net int64
		for _, l := range credits {
			credit -= l.Amount.Amount
		}
		for _, r := range runs {
			net += r.Amount.Amount
		}
		if credit < 0 || credit > net {
			t.Fatalf("credit %d on %s of %v; charged net %d by %+v", credit, day, p, net, runs)
		}
	})
}
