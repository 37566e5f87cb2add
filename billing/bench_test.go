package billing_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
)

func BenchmarkProrate(b *testing.B) {
	unit := billing.NewMoney(1000, "USD")
	for b.Loop() {
		if _, err := billing.Prorate(unit, 7, 13, 31); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNextPeriod(b *testing.B) {
	anchor := billing.NewDate(2026, 1, 31)
	p := billing.FirstPeriod(anchor, billing.Month)
	for b.Loop() {
		p = billing.NextPeriod(anchor, p, billing.Month)
		if p.Start.Year > 2200 {
			p = billing.FirstPeriod(anchor, billing.Month)
		}
	}
}

func BenchmarkComputeTotals_TenLines(b *testing.B) {
	lines := make([]billing.InvoiceLine, 10)
	p := billing.FirstPeriod(billing.NewDate(2026, 3, 1), billing.Month)
	for i := range lines {
		l, err := billing.SeatLine(billing.LineCharge, "Premium", billing.NewMoney(1000, "USD"), int64(i+1), p, p.Start.AddDays(i))
		if err != nil {
			b.Fatal(err)
		}
		lines[i] = l
	}
	for b.Loop() {
		if _, err := billing.ComputeTotals(lines, billing.NewMoney(5000, "USD"), 825); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanChange_MonthlyToAnnual(b *testing.B) {
	cur := billing.Subscription{Terms: premiumMonthly(5), Anchor: billing.NewDate(2026, 3, 1),
		Period: billing.Period{Start: billing.NewDate(2026, 3, 1), End: billing.NewDate(2026, 4, 1)}, Status: billing.SubscriptionActive}
	for b.Loop() {
		if _, err := billing.PlanChange(cur, premiumAnnual(5), billing.NewDate(2026, 3, 16), renewed(cur, 5)); err != nil {
			b.Fatal(err)
		}
	}
}
