package billing

import (
	"time"
)

// The reporting rules: revenue recognition, monthly recurring revenue and
// its movements, and receivables aging. Each is a pure function of values
// so that every figure a report shows can be recomputed by hand.

// YearMonth is a calendar month, the unit every report groups by.
type YearMonth struct {
	Year  int
	Month time.Month
}

// MonthOf returns the month of d.
func MonthOf(d Date) YearMonth { return YearMonth{d.Year, d.Month} }

// String formats m as "2026-05".
func (m YearMonth) String() string { return NewDate(m.Year, m.Month, 1).String()[:7] }

// Start returns the first day of m.
func (m YearMonth) Start() Date { return NewDate(m.Year, m.Month, 1) }

// Next returns the month after m.
func (m YearMonth) Next() YearMonth { return MonthOf(NewDate(m.Year, m.Month+1, 1)) }

// Before reports whether m comes before o.
func (m YearMonth) Before(o YearMonth) bool {
	return m.Year < o.Year || (m.Year == o.Year && m.Month < o.Month)
}

// MonthAmount is what falls in one month.
type MonthAmount struct {
	Month  YearMonth
	Amount Money
}

// DailyShare returns what one line recognizes on each day of its service
// period: "revenue is recognized by day over it (a remainder of rounding
// goes to the last day, so a line's recognized total equals the line to the
// cent)". Each day gets amount ÷ days truncated toward zero, so a credit is
// the exact mirror of the charge it reverses, and the last day gets the
// rest. A line with no service period (a one-off amount) is recognized
// whole on day, the day it was issued.
func DailyShare(amount int64, p Period) (perDay, lastDay int64) {
	days := int64(p.Days())
	if days <= 0 {
		return 0, amount
	}
	perDay = amount / days
	return perDay, amount - perDay*(days-1)
}

// Recognize spreads amount over the service period p by day (DailyShare)
// and returns what falls in each month, in order, with no month left out
// between the first and the last. A zero-length period puts the whole
// amount in issued's month.
func Recognize(amount Money, p Period, issued Date) []MonthAmount {
	if p.Days() <= 0 {
		return []MonthAmount{{MonthOf(issued), amount}}
	}
	perDay, lastDay := DailyShare(amount.Amount, p)
	last := p.End.AddDays(-1)
	var out []MonthAmount
	for m := MonthOf(p.Start); !MonthOf(last).Before(m); m = m.Next() {
		from, to := m.Start(), m.Next().Start()
		if from.Before(p.Start) {
			from = p.Start
		}
		if to.After(p.End) {
			to = p.End
		}
		days := int64(from.DaysUntil(to))
		v := perDay * days
		if !last.Before(from) && last.Before(to) { // the last day is in this month
			v += lastDay - perDay
		}
		out = append(out, MonthAmount{m, NewMoney(v, amount.Currency)})
	}
	return out
}

// RecognizedThrough returns what of amount over p is recognized on the days
// before end (end excluded): the rest is deferred.
func RecognizedThrough(amount int64, p Period, end Date) int64 {
	days := p.Days()
	if days <= 0 {
		if end.After(p.Start) {
			return amount
		}
		return 0
	}
	n := p.Start.DaysUntil(end)
	switch {
	case n <= 0:
		return 0
	case n >= days:
		return amount
	}
	perDay, _ := DailyShare(amount, p)
	return perDay * int64(n)
}

// MRR is a subscription's monthly recurring revenue: "an annual price
// counts as a twelfth, rounded once per subscription" — seats × unit price
// for a monthly interval, round(seats × unit price ÷ 12) half away from zero
// for an annual one. It is what the subscription bills, before credits,
// discounts and tax, for the seats it has.
func MRR(seats int64, unit Money, interval Interval) (Money, error) {
	den := int64(1)
	if interval == Year {
		den = 12
	}
	v, ok := mulDivRound(den, seats, unit.Amount)
	if !ok {
		return Money{}, Errorf(EINVALID, "MRR of %d seats at %s does not fit.", seats, unit)
	}
	return NewMoney(v, unit.Currency), nil
}

// Movement names how an account's MRR moved from one month end to the next.
type Movement string

// The MRR movements: new (from nothing, for the first time), reactivation
// (from nothing, after having had MRR before), expansion (up), contraction
// (down, not to nothing) and churn (to nothing).
const (
	MovementNone         Movement = ""
	MovementNew          Movement = "new"
	MovementExpansion    Movement = "expansion"
	MovementContraction  Movement = "contraction"
	MovementChurn        Movement = "churn"
	MovementReactivation Movement = "reactivation"
)

// Movements lists the movements in the order reports show them.
var Movements = []Movement{MovementNew, MovementExpansion, MovementContraction, MovementChurn, MovementReactivation}

// ClassifyMovement says how one account's MRR moved from before to after,
// and by how much (after − before). hadBefore says whether the account had
// MRR at any earlier month end, which tells a reactivation from a new
// account.
func ClassifyMovement(before, after int64, hadBefore bool) (Movement, int64) {
	delta := after - before
	switch {
	case delta == 0:
		return MovementNone, 0
	case before == 0 && hadBefore:
		return MovementReactivation, delta
	case before == 0:
		return MovementNew, delta
	case after == 0:
		return MovementChurn, delta
	case delta > 0:
		return MovementExpansion, delta
	default:
		return MovementContraction, delta
	}
}

// AgingBucket is a receivables bucket by days past due.
type AgingBucket string

// The aging buckets: current (not yet due, or due today), then 1–30, 31–60,
// 61–90 and over 90 days past the due date.
const (
	AgingCurrent AgingBucket = "current"
	Aging1to30   AgingBucket = "1-30"
	Aging31to60  AgingBucket = "31-60"
	Aging61to90  AgingBucket = "61-90"
	AgingOver90  AgingBucket = "90+"
)

// AgingBuckets lists the buckets in order.
var AgingBuckets = []AgingBucket{AgingCurrent, Aging1to30, Aging31to60, Aging61to90, AgingOver90}

// Age puts an open amount due on due into its bucket on day today.
func Age(due, today Date) AgingBucket {
	switch late := due.DaysUntil(today); {
	case late <= 0:
		return AgingCurrent
	case late <= 30:
		return Aging1to30
	case late <= 60:
		return Aging31to60
	case late <= 90:
		return Aging61to90
	default:
		return AgingOver90
	}
}
