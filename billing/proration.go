package billing

import (
	"math"
	"math/big"
	"math/bits"
)

// Error policy of the rules in period.go, proration.go, invoice.go, credit.go
// and tax.go: every rule whose inputs come from data (prices, quantities,
// days, balances, rates) returns an EINVALID error for input it cannot bill,
// rather than panicking, so that a bad row or request fails one invoice, not
// the billing run. Only the arithmetic primitive DivRound panics, on a zero
// divisor, exactly as the / operator does, and the period functions panic on
// an invalid anchor or interval, which are validated where they enter.

// DESIGN.md: "Rounding: half away from zero to the currency's minor unit, once
// per line."
//
// Amounts are already integers of the minor unit (cents, yen, fils), so
// rounding to the minor unit is rounding a quotient to an integer, whatever
// the currency's number of decimals.

// DivRound returns num/den rounded half away from zero: 5/2 = 3, -5/2 = -3,
// 4/3 = 1. It is exact (no floating point) for every int64 input. It panics
// when den is zero, and on the one overflow, MinInt64 / -1, as / would.
func DivRound(num, den int64) int64 {
	if den == 0 {
		panic("billing: DivRound by zero")
	}
	an, ad := absU64(num), absU64(den)
	q, r := an/ad, an%ad
	// r >= ad-r is 2r >= ad without overflowing.
	if r >= ad-r {
		q++
	}
	if (num < 0) != (den < 0) {
		if q > 1<<63 {
			panic("billing: DivRound overflow")
		}
		return int64(-q) // -(1<<63) wraps to MinInt64, as wanted
	}
	if q > math.MaxInt64 {
		panic("billing: DivRound overflow")
	}
	return int64(q)
}

func absU64(x int64) uint64 {
	if x < 0 {
		return uint64(-x) // MinInt64 wraps to 1<<63, its magnitude
	}
	return uint64(x)
}

// mulDivRound returns round(f1 × f2 × … / den), half away from zero, and
// false when the result does not fit in int64. The product of a quantity, a
// price and a number of days can pass 2^63 (and even 2^128) before the
// division brings it back, so products that do not fit in int64 are computed
// with math/big: exact for any input and simple to read, and only taken on
// amounts no real invoice reaches; 128-bit math/bits arithmetic would need a
// third word for three factors and buy nothing here.
func mulDivRound(den int64, factors ...int64) (int64, bool) {
	if den == 0 {
		return 0, false
	}
	p, fits := int64(1), true
	for _, f := range factors {
		hi, lo := bits.Mul64(absU64(p), absU64(f))
		if hi != 0 || lo > math.MaxInt64 {
			fits = false
			break
		}
		p *= f
	}
	if fits { // |p| < 2^63, so DivRound cannot overflow
		return DivRound(p, den), true
	}
	n := big.NewInt(1)
	for _, f := range factors {
		n.Mul(n, big.NewInt(f))
	}
	d := big.NewInt(den)
	q, r := new(big.Int).QuoRem(n, d, new(big.Int)) // truncated toward zero
	if r.Lsh(r.Abs(r), 1).CmpAbs(d) >= 0 {
		if n.Sign()*d.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// Prorate returns the amount of quantity seats at unit per period for
// daysLeft of the daysInPeriod days of a period.
//
// DESIGN.md: "Proration is daily, as Kore's statements say it: days left in
// the period (the day of the change counts) / days in the period. A $10 seat
// added with 20 of 30 days left costs $6.67. A line is rounded once:
// round(quantity × unit price × days left / days in period) — 7 seats for 13
// of 31 days at $10 is $29.35, not 7 × $4.19."
//
// The line is rounded once, half away from zero, so a negative unit (a
// credit) gives exactly the negation of the positive one. With daysLeft ==
// daysInPeriod it is quantity × unit exactly. It returns an EINVALID error
// unless 0 ≤ daysLeft ≤ daysInPeriod, daysInPeriod > 0 and quantity ≥ 0, and
// when the amount does not fit in int64.
func Prorate(unit Money, quantity int64, daysLeft, daysInPeriod int) (Money, error) {
	switch {
	case daysInPeriod <= 0:
		return Money{}, ReasonErrorf(EINVALID, "invalid_proration", "A period must have at least one day, not %d.", daysInPeriod)
	case daysLeft < 0 || daysLeft > daysInPeriod:
		return Money{}, ReasonErrorf(EINVALID, "invalid_proration", "Days left must be between 0 and %d, not %d.", daysInPeriod, daysLeft)
	case quantity < 0:
		return Money{}, ReasonErrorf(EINVALID, "invalid_proration", "Quantity cannot be negative (%d).", quantity)
	}
	amount, ok := mulDivRound(int64(daysInPeriod), quantity, unit.Amount, int64(daysLeft))
	if !ok {
		return Money{}, amountOverflow()
	}
	return Money{Amount: amount, Currency: unit.Currency}, nil
}

// Extend returns quantity × unit, the amount of a line that is not prorated,
// with an EINVALID error for a negative quantity or an overflow.
func Extend(unit Money, quantity int64) (Money, error) {
	if quantity < 0 {
		return Money{}, ReasonErrorf(EINVALID, "invalid_quantity", "Quantity cannot be negative (%d).", quantity)
	}
	amount, ok := mulDivRound(1, quantity, unit.Amount)
	if !ok {
		return Money{}, amountOverflow()
	}
	return Money{Amount: amount, Currency: unit.Currency}, nil
}

func amountOverflow() error {
	return ReasonErrorf(EINVALID, "amount_overflow", "The amount is too large to bill.")
}

// addMoney returns a+b, false on a currency mismatch or an overflow.
func addMoney(a, b Money) (Money, bool) {
	if a.Currency != b.Currency {
		return Money{}, false
	}
	s := a.Amount + b.Amount
	if (b.Amount > 0 && s < a.Amount) || (b.Amount < 0 && s > a.Amount) {
		return Money{}, false
	}
	return Money{Amount: s, Currency: a.Currency}, true
}
