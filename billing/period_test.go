package billing_test

import (
	"encoding/json"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, even where the system has no tz database

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
)

// day parses "2026-01-31" or panics: test data only.
func day(s string) billing.Date {
	d, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func period(start, end string) billing.Period {
	return billing.Period{Start: day(start), End: day(end)}
}

func daysInMonth(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// schedule returns the first n periods from an anchor.
func schedule(anchor billing.Date, interval billing.Interval, n int) []billing.Period {
	ps := []billing.Period{billing.FirstPeriod(anchor, interval)}
	for len(ps) < n {
		ps = append(ps, billing.NextPeriod(anchor, ps[len(ps)-1], interval))
	}
	return ps
}

func checkSchedule(t *testing.T, anchor string, interval billing.Interval, want []billing.Period) {
	t.Helper()
	got := schedule(day(anchor), interval, len(want))
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("period %d from anchor %s (%s) = %s, want %s", i, anchor, interval, got[i], want[i])
		}
	}
}

func TestPeriod_Anchor31stThroughFebruary(t *testing.T) {
	t.Run("non-leap year", func(t *testing.T) {
		checkSchedule(t, "2027-01-31", billing.Month, []billing.Period{
			period("2027-01-31", "2027-02-28"),
			period("2027-02-28", "2027-03-31"), // the anchor day comes back
			period("2027-03-31", "2027-04-30"),
			period("2027-04-30", "2027-05-31"),
			period("2027-05-31", "2027-06-30"),
		})
	})
	t.Run("leap year", func(t *testing.T) {
		checkSchedule(t, "2028-01-31", billing.Month, []billing.Period{
			period("2028-01-31", "2028-02-29"),
			period("2028-02-29", "2028-03-31"),
			period("2028-03-31", "2028-04-30"),
		})
	})
	t.Run("across the new year", func(t *testing.T) {
		checkSchedule(t, "2027-10-31", billing.Month, []billing.Period{
			period("2027-10-31", "2027-11-30"),
			period("2027-11-30", "2027-12-31"),
			period("2027-12-31", "2028-01-31"),
			period("2028-01-31", "2028-02-29"),
			period("2028-02-29", "2028-03-31"),
		})
	})
}

func TestPeriod_Anchor30th(t *testing.T) {
	checkSchedule(t, "2026-01-30", billing.Month, []billing.Period{
		period("2026-01-30", "2026-02-28"),
		period("2026-02-28", "2026-03-30"),
		period("2026-03-30", "2026-04-30"),
		period("2026-04-30", "2026-05-30"),
	})
}

func TestPeriod_AnnualAnchor29February(t *testing.T) {
	checkSchedule(t, "2024-02-29", billing.Year, []billing.Period{
		period("2024-02-29", "2025-02-28"),
		period("2025-02-28", "2026-02-28"),
		period("2026-02-28", "2027-02-28"),
		period("2027-02-28", "2028-02-29"), // back to the 29th in a leap year
		period("2028-02-29", "2029-02-28"),
	})
	if got := billing.FirstPeriod(day("2024-02-29"), billing.Year).Days(); got != 365 {
		t.Errorf("first annual period has %d days, want 365", got)
	}
}

func TestPeriodContaining(t *testing.T) {
	anchor := day("2026-01-31")
	tests := []struct {
		interval billing.Interval
		d        string
		want     billing.Period
	}{
		{billing.Month, "2026-01-31", period("2026-01-31", "2026-02-28")},
		{billing.Month, "2026-02-27", period("2026-01-31", "2026-02-28")},
		{billing.Month, "2026-02-28", period("2026-02-28", "2026-03-31")},
		{billing.Month, "2026-03-30", period("2026-02-28", "2026-03-31")},
		{billing.Month, "2026-03-31", period("2026-03-31", "2026-04-30")},
		{billing.Month, "2025-12-31", period("2025-12-31", "2026-01-31")}, // before the anchor
		{billing.Month, "2025-12-30", period("2025-11-30", "2025-12-31")},
		{billing.Year, "2026-06-15", period("2026-01-31", "2027-01-31")},
		{billing.Year, "2027-01-30", period("2026-01-31", "2027-01-31")},
		{billing.Year, "2027-01-31", period("2027-01-31", "2028-01-31")},
	}
	for _, tt := range tests {
		if got := billing.PeriodContaining(anchor, tt.interval, day(tt.d)); got != tt.want {
			t.Errorf("PeriodContaining(%s, %s, %s) = %s, want %s", anchor, tt.interval, tt.d, got, tt.want)
		}
	}
}

func TestPeriodEnd_StartBetweenBoundariesEndsOnTheNext(t *testing.T) {
	if got := billing.PeriodEnd(day("2026-01-31"), day("2026-03-15"), billing.Month); got != day("2026-03-31") {
		t.Errorf("PeriodEnd = %s, want 2026-03-31", got)
	}
	if got := billing.PeriodEnd(day("2026-01-31"), day("2026-02-28"), billing.Month); got != day("2026-03-31") {
		t.Errorf("PeriodEnd = %s, want 2026-03-31", got)
	}
}

func TestPeriod_DaysLeftCountsTheDayOfTheChange(t *testing.T) {
	p := period("2026-06-01", "2026-07-01")
	tests := []struct {
		from string
		want int
	}{
		{"2026-05-20", 30}, // before the period: all of it
		{"2026-06-01", 30}, // the first day is charged
		{"2026-06-11", 20},
		{"2026-06-30", 1},
		{"2026-07-01", 0}, // the end date belongs to the next period
		{"2026-08-01", 0},
	}
	if p.Days() != 30 {
		t.Fatalf("Days() = %d, want 30", p.Days())
	}
	for _, tt := range tests {
		if got := p.DaysLeft(day(tt.from)); got != tt.want {
			t.Errorf("DaysLeft(%s) = %d, want %d", tt.from, got, tt.want)
		}
	}
	if !p.Contains(day("2026-06-01")) || !p.Contains(day("2026-06-30")) || p.Contains(day("2026-07-01")) || p.Contains(day("2026-05-31")) {
		t.Error("Contains does not match [start, end)")
	}
}

func TestPeriod_Validate(t *testing.T) {
	for _, p := range []billing.Period{
		period("2026-06-01", "2026-06-01"),
		period("2026-06-02", "2026-06-01"),
		{Start: billing.Date{Year: 2026, Month: 2, Day: 30}, End: day("2026-03-30")},
		{},
	} {
		if err := p.Validate(); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s.Validate() = %v, want EINVALID", p, err)
		}
	}
	if err := period("2026-06-01", "2026-06-02").Validate(); err != nil {
		t.Errorf("one-day period: %v", err)
	}
}

func TestDate(t *testing.T) {
	d := day("2026-12-30")
	if d.String() != "2026-12-30" || d.AddDays(3).String() != "2027-01-02" || d.AddDays(-365).String() != "2025-12-30" {
		t.Errorf("AddDays: %s %s", d.AddDays(3), d.AddDays(-365))
	}
	if n := day("2028-01-01").DaysUntil(day("2029-01-01")); n != 366 {
		t.Errorf("DaysUntil across a leap year = %d", n)
	}
	if n := day("2026-03-01").DaysUntil(day("2026-02-01")); n != -28 {
		t.Errorf("DaysUntil backwards = %d", n)
	}
	if !day("2026-01-31").Before(day("2026-02-01")) || !day("2027-01-01").After(day("2026-12-31")) || !d.Equal(day("2026-12-30")) {
		t.Error("Before/After/Equal")
	}
	if billing.NewDate(2026, time.February, 31) != day("2026-03-03") {
		t.Error("NewDate does not normalise")
	}
	if (billing.Date{Year: 2026, Month: 2, Day: 29}).Valid() || !day("2028-02-29").Valid() || (billing.Date{}).Valid() {
		t.Error("Valid")
	}
	for _, bad := range []string{"", "2026-02-30", "2026-1-31", "31/01/2026", "2026-01-31T00:00:00Z"} {
		if _, err := billing.ParseDate(bad); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("ParseDate(%q) = %v, want EINVALID", bad, err)
		}
	}
	auckland, _ := time.LoadLocation("Pacific/Auckland")
	if got := billing.DateOf(time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC), auckland); got != day("2026-02-01") {
		t.Errorf("DateOf in Auckland = %s, want the next day", got)
	}
}

func TestDate_JSON(t *testing.T) {
	type doc struct {
		P   billing.Period `json:"p"`
		Due *billing.Date  `json:"due"`
	}
	due := day("2026-02-15")
	b, err := json.Marshal(doc{P: period("2026-01-31", "2026-02-28"), Due: &due})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"p":{"start":"2026-01-31","end":"2026-02-28"},"due":"2026-02-15"}` {
		t.Errorf("JSON = %s", b)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil || back.P != period("2026-01-31", "2026-02-28") || *back.Due != due {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"due":"2026-02-30"}`), &back); err == nil {
		t.Error("a date that does not exist was accepted")
	}
}

func TestDate_MidnightIsTheRenewalInstant(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		zone string
		end  string
		want time.Time
	}{
		// NZ daylight time ends 2026-04-05 03:00 NZDT (+13) → 02:00 NZST (+12)
		// and begins 2026-09-27 02:00 NZST → 03:00 NZDT, as Go's tz database
		// says.
		{"Pacific/Auckland", "2026-04-04", utc("2026-04-03T11:00:00Z")}, // NZDT
		{"Pacific/Auckland", "2026-04-05", utc("2026-04-04T11:00:00Z")}, // still NZDT at midnight
		{"Pacific/Auckland", "2026-04-06", utc("2026-04-05T12:00:00Z")}, // NZST
		{"Pacific/Auckland", "2026-09-27", utc("2026-09-26T12:00:00Z")}, // NZST
		{"Pacific/Auckland", "2026-09-28", utc("2026-09-27T11:00:00Z")}, // NZDT
		// US daylight time: 2026-03-08 and 2026-11-01, at 02:00.
		{"America/New_York", "2026-03-08", utc("2026-03-08T05:00:00Z")}, // EST
		{"America/New_York", "2026-03-09", utc("2026-03-09T04:00:00Z")}, // EDT
		{"America/New_York", "2026-11-01", utc("2026-11-01T04:00:00Z")}, // EDT
		{"America/New_York", "2026-11-02", utc("2026-11-02T05:00:00Z")}, // EST
		{"UTC", "2026-01-31", utc("2026-01-31T00:00:00Z")},
		// Chile skips 00:00–01:00 on 2026-09-06: the day begins at 01:00 -03.
		// time.Date alone gives 23:00 of the 5th, a day early.
		{"America/Santiago", "2026-09-06", utc("2026-09-06T04:00:00Z")},
		// Samoa skipped 2011-12-30: the first instant on or after it is the
		// start of the 31st, +14.
		{"Pacific/Apia", "2011-12-30", utc("2011-12-30T10:00:00Z")},
	}
	for _, tt := range tests {
		loc, err := time.LoadLocation(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		got := day(tt.end).Midnight(loc)
		if !got.Equal(tt.want) {
			t.Errorf("%s midnight of %s = %s (%s), want %s", tt.zone, tt.end, got.UTC(), got, tt.want)
		}
		if p := (billing.Period{Start: day(tt.end).AddDays(-30), End: day(tt.end)}); !p.RenewsAt(loc).Equal(tt.want) {
			t.Errorf("%s RenewsAt = %s", tt.zone, p.RenewsAt(loc))
		}
	}
}

func TestPeriod_AucklandPeriodAcrossDSTHasWholeDays(t *testing.T) {
	auckland, _ := time.LoadLocation("Pacific/Auckland")
	anchor := day("2026-03-15")
	p := billing.PeriodContaining(anchor, billing.Month, day("2026-04-05"))
	if p != period("2026-03-15", "2026-04-15") || p.Days() != 31 {
		t.Fatalf("period = %s (%d days)", p, p.Days())
	}
	// The period is 31 local days but 31 days and an hour of real time: the
	// clock went back an hour.
	if d := p.End.Midnight(auckland).Sub(p.Start.Midnight(auckland)); d != 31*24*time.Hour+time.Hour {
		t.Errorf("real length = %s", d)
	}
}

// Property tests.

func drawDate(t *rapid.T, label string) billing.Date {
	y := rapid.IntRange(1990, 2100).Draw(t, label+".year")
	m := time.Month(rapid.IntRange(1, 12).Draw(t, label+".month"))
	// Days 28–31 are where the rules bite; draw them often.
	d := rapid.OneOf(rapid.IntRange(1, 31), rapid.IntRange(28, 31)).Draw(t, label+".day")
	return billing.Date{Year: y, Month: m, Day: min(d, daysInMonth(y, m))}
}

func drawInterval(t *rapid.T) billing.Interval {
	return rapid.SampledFrom([]billing.Interval{billing.Month, billing.Year}).Draw(t, "interval")
}

func TestPeriod_Properties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		anchor := drawDate(t, "anchor")
		interval := drawInterval(t)
		n := rapid.IntRange(1, 40).Draw(t, "n")
		ps := schedule(anchor, interval, n)
		for i, p := range ps {
			if i > 0 && p.Start != ps[i-1].End {
				t.Fatalf("gap or overlap: %s then %s", ps[i-1], p)
			}
			days := p.Days()
			switch interval {
			case billing.Month:
				if days < 28 || days > 31 {
					t.Fatalf("monthly period %s has %d days", p, days)
				}
			case billing.Year:
				if days < 365 || days > 366 {
					t.Fatalf("annual period %s has %d days", p, days)
				}
				if p.Start.Month != anchor.Month {
					t.Fatalf("annual period %s does not start in the anchor's month", p)
				}
			}
			// The start is the anchor day clamped to its month.
			if want := min(anchor.Day, daysInMonth(p.Start.Year, p.Start.Month)); p.Start.Day != want {
				t.Fatalf("period %s starts on day %d, want %d (anchor %s)", p, p.Start.Day, want, anchor)
			}
			// Every day of the period maps back to it.
			if got := billing.PeriodContaining(anchor, interval, p.Start); got != p {
				t.Fatalf("PeriodContaining(start of %s) = %s", p, got)
			}
			if got := billing.PeriodContaining(anchor, interval, p.End.AddDays(-1)); got != p {
				t.Fatalf("PeriodContaining(last day of %s) = %s", p, got)
			}
		}
		// n periods cover exactly n months (or years).
		end := ps[n-1].End
		months := (end.Year-anchor.Year)*12 + int(end.Month) - int(anchor.Month)
		if interval == billing.Year {
			months /= 12
		}
		if months != n {
			t.Fatalf("%d periods from %s end on %s: %d intervals", n, anchor, end, months)
		}
	})
}

func TestPeriodContaining_Properties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		anchor := drawDate(t, "anchor")
		interval := drawInterval(t)
		d := drawDate(t, "d")
		p := billing.PeriodContaining(anchor, interval, d)
		if !p.Contains(d) {
			t.Fatalf("PeriodContaining(%s, %s, %s) = %s does not contain it", anchor, interval, d, p)
		}
		if next := billing.NextPeriod(anchor, p, interval); next != billing.PeriodContaining(anchor, interval, p.End) {
			t.Fatalf("NextPeriod(%s) = %s, not the period of its end", p, next)
		}
		if left := p.DaysLeft(d); left < 1 || left > p.Days() || d.AddDays(left) != p.End {
			t.Fatalf("DaysLeft(%s) in %s = %d", d, p, left)
		}
	})
}

func TestDate_Properties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := drawDate(t, "d")
		n := rapid.IntRange(-1000, 1000).Draw(t, "n")
		if got := d.DaysUntil(d.AddDays(n)); got != n {
			t.Fatalf("%s.DaysUntil(AddDays(%d)) = %d", d, n, got)
		}
		if back, err := billing.ParseDate(d.String()); err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %s, %v", d, back, err)
		}
		if (n > 0) != d.AddDays(n).After(d) || (n < 0) != d.AddDays(n).Before(d) {
			t.Fatalf("order of %s and %s", d, d.AddDays(n))
		}
	})
}

func TestDate_MidnightProperties(t *testing.T) {
	var zones []*time.Location
	for _, name := range []string{"UTC", "Pacific/Auckland", "America/New_York", "America/Santiago",
		"America/Havana", "Asia/Beirut", "America/Asuncion", "Australia/Lord_Howe", "Europe/London", "Asia/Tehran"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, loc)
	}
	rapid.Check(t, func(t *rapid.T) {
		loc := rapid.SampledFrom(zones).Draw(t, "zone")
		d := drawDate(t, "d")
		m := d.Midnight(loc)
		if got := billing.DateOf(m, loc); got != d {
			t.Fatalf("%s midnight of %s is on %s (%s)", loc, d, got, m)
		}
		if got := billing.DateOf(m.Add(-time.Second), loc); !got.Before(d) {
			t.Fatalf("%s: a second before midnight of %s is %s, still that day", loc, d, got)
		}
	})
}

// Random dates seldom land on a zone change, so walk every day of 40 years
// in zones that move their clocks at or near midnight.
func TestDate_MidnightEveryDayOfFortyYears(t *testing.T) {
	for _, name := range []string{"Pacific/Auckland", "America/New_York", "America/Santiago",
		"America/Havana", "Asia/Beirut", "America/Asuncion", "America/Sao_Paulo", "Asia/Tehran"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for d := day("2000-01-01"); d.Before(day("2040-01-01")); d = d.AddDays(1) {
			m := d.Midnight(loc)
			if billing.DateOf(m, loc) != d || !billing.DateOf(m.Add(-time.Second), loc).Before(d) {
				t.Fatalf("%s: midnight of %s = %s", name, d, m)
			}
		}
	}
}
