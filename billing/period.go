package billing

import (
	"fmt"
	"time"
)

// Date is a calendar date without a time of day or a zone: a day as the
// account's time zone names it. Billing periods are ranges of Dates, so that
// a period is the same days however far the account is from UTC.
//
// The zero Date is "no date". A Date built by hand may be out of range
// (31 Feb); NewDate normalises and Valid tells.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d, normalising an out-of-range month or day as
// time.Date does: NewDate(2026, 2, 31) is 2026-03-03.
func NewDate(y int, m time.Month, d int) Date {
	return dateOfUTC(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the local date of the instant t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{Year: y, Month: m, Day: d}
}

func dateOfUTC(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses "2026-01-31"; anything else is an EINVALID error.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, Errorf(EINVALID, "Date %q is not a date of the form 2026-01-31.", s)
	}
	return dateOfUTC(t), nil
}

// String formats d as "2026-01-31".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText formats d as String does; the zero Date is "".
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses what MarshalText writes.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d names a real calendar day.
func (d Date) Valid() bool {
	return d.Month >= time.January && d.Month <= time.December && d.Day >= 1 &&
		NewDate(d.Year, d.Month, d.Day) == d
}

// AddDays returns the date n days after d (before, for negative n).
func (d Date) AddDays(n int) Date { return NewDate(d.Year, d.Month, d.Day+n) }

// days counts days from 1970-01-01; dates are days in UTC, which has no DST,
// so the division is exact.
func (d Date) days() int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// DaysUntil returns the number of days from d to o: positive when o is
// later, so d.DaysUntil(d.AddDays(n)) == n.
func (d Date) DaysUntil(o Date) int { return int(o.days() - d.days()) }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	default:
		return cmpInt(d.Day, o.Day)
	}
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	} else if a > b {
		return 1
	}
	return 0
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Equal reports whether d and o are the same day.
func (d Date) Equal(o Date) bool { return d == o }

// Midnight returns the instant the local date d begins in loc: the renewal
// instant of a period that ends on d.
//
// Usually that is time.Date(y, m, d, 0, 0, 0, 0, loc). Where a zone skips
// midnight (clocks jump from 00:00 to 01:00, as in America/Santiago on
// 2026-09-06), time.Date normalises the missing time and may return 23:00 of
// the day before, which would renew a period a day early; Midnight then
// returns the first instant whose local date is d, the end of the gap (01:00).
// Where midnight happens twice, it returns the first. Where a zone skipped
// the whole day (Pacific/Apia, 2011-12-30), it returns the start of the next
// day that exists.
func (d Date) Midnight(loc *time.Location) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	if DateOf(t, loc) == d && DateOf(t.Add(-time.Second), loc).Before(d) {
		return t
	}
	// Search the earliest second whose local date is d or later. Zone
	// changes are whole seconds and, but for a skipped day, under a day.
	lo, hi := t.Add(-48*time.Hour).Unix(), t.Add(48*time.Hour).Unix()
	for lo < hi {
		mid := lo + (hi-lo)/2
		if DateOf(time.Unix(mid, 0), loc).Before(d) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return time.Unix(lo, 0).In(loc)
}

// Period is a billing period: the local dates [Start, End) in the account's
// time zone.
//
// DESIGN.md: "Periods are ranges of local dates [start, end) in the account's
// time zone: the first day is charged, renewal happens at local midnight of
// the end date."
type Period struct {
	Start Date `json:"start"`
	End   Date `json:"end"`
}

// String formats p as "2026-01-31 – 2026-02-28" (Start and End, exclusive).
func (p Period) String() string { return p.Start.String() + " – " + p.End.String() }

// IsZero reports whether p is the zero Period (a line with no service period).
func (p Period) IsZero() bool { return p == Period{} }

// Validate returns an EINVALID error unless both dates are real days and End
// is after Start.
func (p Period) Validate() error {
	if !p.Start.Valid() || !p.End.Valid() || !p.Start.Before(p.End) {
		return ReasonErrorf(EINVALID, "invalid_period", "Period %s is not a range of days.", p)
	}
	return nil
}

// Days returns the number of days in p, the first day counted and the end
// date not.
func (p Period) Days() int { return p.Start.DaysUntil(p.End) }

// Contains reports whether d is a day of p.
func (p Period) Contains(d Date) bool { return !d.Before(p.Start) && d.Before(p.End) }

// DaysLeft returns the days of p from the day from to the end, the day from
// itself counted: on the first day every day is left, on the last day one.
// A day before p leaves all of p and a day on or after End leaves none.
func (p Period) DaysLeft(from Date) int {
	switch {
	case from.Before(p.Start):
		return p.Days()
	case !from.Before(p.End):
		return 0
	}
	return from.DaysUntil(p.End)
}

// RenewsAt returns the instant p ends and the next period begins: local
// midnight of End in loc.
func (p Period) RenewsAt(loc *time.Location) time.Time { return p.End.Midnight(loc) }

// Boundaries. DESIGN.md: "monthly periods keep the anchor day; where a month
// is shorter the period ends on its last day (anchor 31 Jan → 28/29 Feb → 31
// Mar). Annual: same date next year (29 Feb → 28 Feb)."
//
// A schedule is therefore the anchor day clamped to each month (monthly) or
// the anchor's month and day clamped to each year (annual). The clamp applies
// to each boundary on its own, so a short month never shifts the ones after
// it: anchor 31 Jan gives 28 Feb and then 31 Mar, not 28 Mar.

func daysInMonth(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// boundary returns the k-th boundary of the anchor's schedule (k = 0 is the
// anchor itself; negative k are the boundaries before it).
func boundary(anchor Date, interval Interval, k int) Date {
	var y int
	var m time.Month
	switch interval {
	case Month:
		// Month arithmetic without time.Date normalising the day.
		idx := anchor.Year*12 + int(anchor.Month-1) + k
		y, m = floorDiv(idx, 12), time.Month(floorMod(idx, 12)+1)
	case Year:
		y, m = anchor.Year+k, anchor.Month
	default:
		panic(fmt.Sprintf("billing: interval %q is not month or year", interval))
	}
	return Date{Year: y, Month: m, Day: min(anchor.Day, daysInMonth(y, m))}
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }

// PeriodContaining returns the period of the anchor's schedule that contains
// d. Dates before the anchor get the period the schedule would have had then.
//
// The anchor must be a valid date and interval month or year; anything else
// is a programming error (both are validated where they enter) and panics.
func PeriodContaining(anchor Date, interval Interval, d Date) Period {
	if !anchor.Valid() {
		panic(fmt.Sprintf("billing: anchor %s is not a valid date", anchor))
	}
	var k int
	switch interval {
	case Month:
		k = (d.Year-anchor.Year)*12 + int(d.Month) - int(anchor.Month)
	case Year:
		k = d.Year - anchor.Year
	}
	// Boundary k falls in d's month (monthly) or year (annual); d is in the
	// period starting there unless it comes before that boundary.
	if d.Before(boundary(anchor, interval, k)) {
		k--
	}
	return Period{Start: boundary(anchor, interval, k), End: boundary(anchor, interval, k+1)}
}

// PeriodEnd returns the end of the period that starts on start: the first
// boundary of the anchor's schedule after start. A start on a boundary (the
// usual case) gives a whole period; a start between boundaries gives the
// shorter period up to the next one.
func PeriodEnd(anchor Date, start Date, interval Interval) Date {
	return PeriodContaining(anchor, interval, start).End
}

// NextPeriod returns the period that follows p: it starts on p.End, so
// consecutive periods neither overlap nor leave a gap.
func NextPeriod(anchor Date, p Period, interval Interval) Period {
	return Period{Start: p.End, End: PeriodEnd(anchor, p.End, interval)}
}

// FirstPeriod returns the period that starts on the anchor.
func FirstPeriod(anchor Date, interval Interval) Period {
	return PeriodContaining(anchor, interval, anchor)
}
