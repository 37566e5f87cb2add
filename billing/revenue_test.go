package billing_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
)

func TestRecognize_MonthlyLineSpanningTwoMonths(t *testing.T) {
	// $29.35 for 13 of 31 days, 19 Jan → 1 Feb: 12 days in January, the last
	// day (31 Jan) included; each day 2935/13 = 225 (truncated), the last
	// day 2935 − 12×225 = 235.
	p := billing.Period{Start: billing.NewDate(2026, 1, 19), End: billing.NewDate(2026, 2, 1)}
	got := billing.Recognize(usd(2935), p, p.Start)
	want := []billing.MonthAmount{{Month: billing.YearMonth{Year: 2026, Month: 1}, Amount: usd(2935)}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Recognize = %+v, want %+v", got, want)
	}
	// $100 from 15 Jan to 15 Feb: 31 days; 17 in January (15–31), 14 in
	// February; each day 10000/31 = 322, the last day 10000 − 30×322 = 340.
	p = billing.Period{Start: billing.NewDate(2026, 1, 15), End: billing.NewDate(2026, 2, 15)}
	got = billing.Recognize(usd(10000), p, p.Start)
	if len(got) != 2 || got[0].Amount != usd(17*322) || got[1].Amount != usd(13*322+340) {
		t.Fatalf("Recognize = %+v, want January 5474, February 4526", got)
	}
}

func TestRecognize_AnnualLineAcrossTheYear(t *testing.T) {
	// $1,200.00 over 1 Mar 2026 → 1 Mar 2027 (365 days): 120000/365 = 328 a
	// day, the last day (28 Feb 2027) 120000 − 364×328 = 608.
	p := billing.Period{Start: billing.NewDate(2026, 3, 1), End: billing.NewDate(2027, 3, 1)}
	got := billing.Recognize(usd(120000), p, p.Start)
	if len(got) != 12 {
		t.Fatalf("%d months, want 12: %+v", len(got), got)
	}
	if got[0].Month != (billing.YearMonth{Year: 2026, Month: 3}) || got[0].Amount != usd(31*328) {
		t.Errorf("March = %+v, want 10168", got[0])
	}
	if got[11].Month != (billing.YearMonth{Year: 2027, Month: 2}) || got[11].Amount != usd(27*328+608) {
		t.Errorf("February = %+v, want 9464", got[11])
	}
}

func TestRecognize_CreditMirrorsItsCharge(t *testing.T) {
	p := billing.Period{Start: billing.NewDate(2026, 1, 15), End: billing.NewDate(2026, 2, 15)}
	charge := billing.Recognize(usd(10000), p, p.Start)
	credit := billing.Recognize(usd(-10000), p, p.Start)
	for i := range charge {
		if charge[i].Amount.Amount != -credit[i].Amount.Amount {
			t.Errorf("month %s: charge %d, credit %d", charge[i].Month, charge[i].Amount.Amount, credit[i].Amount.Amount)
		}
	}
}

func TestRecognize_OneOffAmountOnItsIssueDay(t *testing.T) {
	got := billing.Recognize(usd(500), billing.Period{}, billing.NewDate(2026, 4, 30))
	if len(got) != 1 || got[0].Month != (billing.YearMonth{Year: 2026, Month: 4}) || got[0].Amount != usd(500) {
		t.Fatalf("Recognize = %+v", got)
	}
}

func TestRecognize_TotalsTheLineAndRecognizedPlusDeferredIsTheLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		start := billing.NewDate(2024+rapid.IntRange(0, 3).Draw(t, "y"), time.Month(rapid.IntRange(1, 12).Draw(t, "m")),
			rapid.IntRange(1, 31).Draw(t, "d"))
		p := billing.Period{Start: start, End: start.AddDays(rapid.IntRange(1, 400).Draw(t, "days"))}
		amount := rapid.Int64Range(-10_000_000, 10_000_000).Draw(t, "amount")
		var sum int64
		months := billing.Recognize(usd(amount), p, p.Start)
		for i, m := range months {
			sum += m.Amount.Amount
			if i > 0 && m.Month != months[i-1].Month.Next() {
				t.Fatalf("months not consecutive: %+v", months)
			}
		}
		if sum != amount {
			t.Fatalf("recognized %d of %d over %s", sum, amount, p)
		}
		// Through any day, recognized + deferred = the line, and what is
		// recognized through a month's end is the sum of the months so far.
		cut := p.Start.AddDays(rapid.IntRange(-5, p.Days()+5).Draw(t, "cut"))
		rec := billing.RecognizedThrough(amount, p, cut)
		if (amount >= 0 && (rec < 0 || rec > amount)) || (amount < 0 && (rec > 0 || rec < amount)) {
			t.Fatalf("recognized through %s: %d of %d", cut, rec, amount)
		}
		var through int64
		for _, m := range months {
			if m.Month.Next().Start().After(cut) {
				break
			}
			through += m.Amount.Amount
		}
		if end := billing.MonthOf(cut).Start(); end == cut && through != rec {
			t.Fatalf("through %s: months say %d, RecognizedThrough %d", cut, through, rec)
		}
	})
}

func TestMRR_AnnualIsATwelfthRoundedOncePerSubscription(t *testing.T) {
	for _, c := range []struct {
		name     string
		seats    int64
		unit     int64
		interval billing.Interval
		want     int64
	}{
		{"monthly: seats × price", 6, 1000, billing.Month, 6000},
		// Enterprise $200/user/year, 50 seats: 10000.00 / 12 = 833.333… → $833.33.
		{"annual: a twelfth of the whole", 50, 20000, billing.Year, 83333},
		// 1 seat at $200/year: 1666.67, not 12 × a rounded seat.
		{"annual, one seat", 1, 20000, billing.Year, 1667},
		// 7 seats at $100/year: 700/12 = 58.333… → 58.33, not 7 × 8.33 = 58.31.
		{"rounded once, not per seat", 7, 10000, billing.Year, 5833},
		{"no seats", 0, 1000, billing.Month, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := billing.MRR(c.seats, usd(c.unit), c.interval)
			if err != nil || got != usd(c.want) {
				t.Fatalf("MRR(%d × %d / %s) = %v, %v; want %d", c.seats, c.unit, c.interval, got, err, c.want)
			}
		})
	}
}

func TestClassifyMovement(t *testing.T) {
	for _, c := range []struct {
		before, after int64
		had           bool
		want          billing.Movement
	}{
		{0, 3000, false, billing.MovementNew},
		{0, 3000, true, billing.MovementReactivation},
		{3000, 5000, true, billing.MovementExpansion},
		{5000, 3000, true, billing.MovementContraction},
		{3000, 0, true, billing.MovementChurn},
		{3000, 3000, true, billing.MovementNone},
		{0, 0, true, billing.MovementNone},
	} {
		m, d := billing.ClassifyMovement(c.before, c.after, c.had)
		if m != c.want || d != c.after-c.before {
			t.Errorf("%d → %d (had %v) = %q %d, want %q %d", c.before, c.after, c.had, m, d, c.want, c.after-c.before)
		}
	}
}

func TestAge_Buckets(t *testing.T) {
	due := billing.NewDate(2026, 3, 31)
	for _, c := range []struct {
		today billing.Date
		want  billing.AgingBucket
	}{
		{billing.NewDate(2026, 3, 1), billing.AgingCurrent},
		{due, billing.AgingCurrent},
		{billing.NewDate(2026, 4, 1), billing.Aging1to30},
		{billing.NewDate(2026, 4, 30), billing.Aging1to30},
		{billing.NewDate(2026, 5, 1), billing.Aging31to60},
		{billing.NewDate(2026, 5, 30), billing.Aging31to60},
		{billing.NewDate(2026, 5, 31), billing.Aging61to90},
		{billing.NewDate(2026, 6, 29), billing.Aging61to90},
		{billing.NewDate(2026, 6, 30), billing.AgingOver90},
	} {
		if got := billing.Age(due, c.today); got != c.want {
			t.Errorf("due %s, on %s: %s, want %s", due, c.today, got, c.want)
		}
	}
}
