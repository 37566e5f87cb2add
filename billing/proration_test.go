package billing_test

import (
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
)

func usd(cents int64) billing.Money { return billing.NewMoney(cents, "USD") }

func TestDivRound_HalfAwayFromZero(t *testing.T) {
	tests := []struct{ num, den, want int64 }{
		{5, 2, 3},
		{-5, 2, -3},
		{5, -2, -3},
		{-5, -2, 3},
		{7, 2, 4},
		{4, 3, 1},
		{-4, 3, -1},
		{2, 3, 1},
		{1, 3, 0},
		{-1, 3, 0},
		{0, 7, 0},
		{1, 2, 1},
		{-1, 2, -1},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MinInt64, 1, math.MinInt64},
		{math.MaxInt64, math.MaxInt64, 1},
		{math.MinInt64, math.MinInt64, 1},
		{math.MaxInt64, 2, 1 << 62}, // (2^63−1)/2 = 2^62 − ½ → 2^62
		{math.MinInt64, 2, -(1 << 62)},
		{math.MinInt64, 3, -3074457345618258603}, // −3074457345618258602.67
		{1, math.MinInt64, 0},
		{math.MaxInt64, math.MinInt64, -1}, // −(1 − 2^-63)
	}
	for _, tt := range tests {
		if got := billing.DivRound(tt.num, tt.den); got != tt.want {
			t.Errorf("DivRound(%d, %d) = %d, want %d", tt.num, tt.den, got, tt.want)
		}
	}
}

func TestDivRound_PanicsLikeDivision(t *testing.T) {
	for _, c := range [][2]int64{{1, 0}, {math.MinInt64, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("DivRound(%d, %d) did not panic", c[0], c[1])
				}
			}()
			billing.DivRound(c[0], c[1])
		}()
	}
}

// roundRef is round half away from zero of n/d by the definition:
// sign × floor((2|n| + |d|) / 2|d|), in big integers.
func roundRef(n, d *big.Int) *big.Int {
	an, ad := new(big.Int).Abs(n), new(big.Int).Abs(d)
	num := new(big.Int).Add(new(big.Int).Lsh(an, 1), ad)
	q := new(big.Int).Quo(num, new(big.Int).Lsh(ad, 1))
	if n.Sign()*d.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

func TestDivRound_MatchesDefinition(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		num := rapid.Int64().Draw(t, "num")
		den := rapid.Int64().Filter(func(d int64) bool { return d != 0 }).Draw(t, "den")
		if num == math.MinInt64 && den == -1 {
			t.Skip("overflows, as num / den does")
		}
		want := roundRef(big.NewInt(num), big.NewInt(den))
		if got := billing.DivRound(num, den); got != want.Int64() {
			t.Fatalf("DivRound(%d, %d) = %d, want %s", num, den, got, want)
		}
	})
}

func TestProrate_SeatAddedMidMonth(t *testing.T) {
	// DESIGN.md: "A $10 seat added with 20 of 30 days left costs $6.67."
	got, err := billing.Prorate(usd(1000), 1, 20, 30)
	if err != nil || got != usd(667) {
		t.Errorf("Prorate($10, 1, 20, 30) = %v, %v; want $6.67", got, err)
	}
}

func TestProrate_LineIsRoundedOnce(t *testing.T) {
	// DESIGN.md: "7 seats for 13 of 31 days at $10 is $29.35, not 7 × $4.19."
	got, err := billing.Prorate(usd(1000), 7, 13, 31)
	if err != nil || got != usd(2935) {
		t.Errorf("Prorate($10, 7, 13, 31) = %v, %v; want $29.35", got, err)
	}
	one, _ := billing.Prorate(usd(1000), 1, 13, 31)
	if one != usd(419) || 7*one.Amount == got.Amount {
		t.Errorf("one seat = %v; 7 × one must differ from the line ($29.33 ≠ $29.35)", one)
	}
}

func TestProrate_Table(t *testing.T) {
	tests := []struct {
		name            string
		unit            billing.Money
		quantity        int64
		daysLeft, total int
		want            billing.Money
	}{
		{"credit of the seat added mid-month", usd(-1000), 1, 20, 30, usd(-667)},
		{"credit of seven seats", usd(-1000), 7, 13, 31, usd(-2935)},
		{"whole period is quantity × unit", usd(1000), 7, 31, 31, usd(7000)},
		{"no day left is nothing", usd(1000), 7, 0, 31, usd(0)},
		{"no seats is nothing", usd(1000), 0, 10, 31, usd(0)},
		{"last day of a month", usd(1000), 1, 1, 31, usd(32)}, // 32.26
		{"exact half rounds up", usd(1), 1, 15, 30, usd(1)},
		{"exact negative half rounds down", usd(-1), 1, 15, 30, usd(-1)},
		{"exact half of 3 cents", usd(3), 1, 1, 2, usd(2)},
		{"JPY has no minor digits", billing.NewMoney(1000, "JPY"), 1, 1, 3, billing.NewMoney(333, "JPY")},
		{"JPY rounds up past a half", billing.NewMoney(1000, "JPY"), 1, 2, 3, billing.NewMoney(667, "JPY")},
		{"JPY exact half", billing.NewMoney(5, "JPY"), 1, 1, 2, billing.NewMoney(3, "JPY")},
		{"JPY negative exact half", billing.NewMoney(-5, "JPY"), 1, 1, 2, billing.NewMoney(-3, "JPY")},
		{"KWD has three", billing.NewMoney(10000, "KWD"), 1, 20, 30, billing.NewMoney(6667, "KWD")},
		{"KWD annual seat for 100 of 365 days", billing.NewMoney(30000, "KWD"), 3, 100, 365, billing.NewMoney(24658, "KWD")}, // 24657.53
		{"annual Enterprise, leap year", usd(20000), 12, 183, 366, usd(120000)},
		{"product past 2^63", billing.NewMoney(math.MaxInt64/2, "USD"), 3, 1, 3, billing.NewMoney(math.MaxInt64/2, "USD")},
		{"largest price for a whole leap year", billing.NewMoney(math.MaxInt64, "USD"), 1, 366, 366, billing.NewMoney(math.MaxInt64, "USD")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := billing.Prorate(tt.unit, tt.quantity, tt.daysLeft, tt.total)
			if err != nil || got != tt.want {
				t.Errorf("Prorate(%v, %d, %d, %d) = %v, %v; want %v", tt.unit, tt.quantity, tt.daysLeft, tt.total, got, err, tt.want)
			}
		})
	}
}

func TestProrate_RejectsWhatItCannotBill(t *testing.T) {
	tests := []struct {
		name            string
		unit            billing.Money
		quantity        int64
		daysLeft, total int
	}{
		{"period without days", usd(1000), 1, 0, 0},
		{"negative period", usd(1000), 1, 0, -30},
		{"more days left than the period has", usd(1000), 1, 31, 30},
		{"negative days left", usd(1000), 1, -1, 30},
		{"negative quantity", usd(1000), -1, 10, 30},
		{"overflow", billing.NewMoney(math.MaxInt64, "USD"), 2, 30, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := billing.Prorate(tt.unit, tt.quantity, tt.daysLeft, tt.total)
			if billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("error = %v, want EINVALID", err)
			}
		})
	}
}

func TestExtend(t *testing.T) {
	if got, err := billing.Extend(usd(2000), 12); err != nil || got != usd(24000) {
		t.Errorf("Extend = %v, %v", got, err)
	}
	if _, err := billing.Extend(usd(math.MaxInt64), 2); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("overflow error = %v", err)
	}
	if _, err := billing.Extend(usd(1), -1); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("negative quantity error = %v", err)
	}
}

type prorationCase struct {
	unit       billing.Money
	quantity   int64
	periodDays int
	daysLeft   int
}

func drawProration(t *rapid.T) prorationCase {
	periodDays := rapid.SampledFrom([]int{28, 29, 30, 31, 365, 366}).Draw(t, "periodDays")
	return prorationCase{
		unit:       usd(rapid.Int64Range(0, 10_000_000).Draw(t, "unit")),
		quantity:   rapid.Int64Range(0, 100_000).Draw(t, "quantity"),
		periodDays: periodDays,
		daysLeft:   rapid.IntRange(0, periodDays).Draw(t, "daysLeft"),
	}
}

func mustProrate(t *rapid.T, unit billing.Money, quantity int64, daysLeft, periodDays int) billing.Money {
	m, err := billing.Prorate(unit, quantity, daysLeft, periodDays)
	if err != nil {
		t.Fatalf("Prorate(%v, %d, %d, %d): %v", unit, quantity, daysLeft, periodDays, err)
	}
	return m
}

// A change at the same price credits exactly what it charges, and the part
// used plus the part left differ from the whole by at most the rounding of
// two lines.
func TestProrate_ChangeNeverBillsMoreThanTheFullPrice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawProration(t)
		full := mustProrate(t, c.unit, c.quantity, c.periodDays, c.periodDays)
		if full.Amount != c.quantity*c.unit.Amount {
			t.Fatalf("whole period = %v, want quantity × unit = %d", full, c.quantity*c.unit.Amount)
		}
		left := mustProrate(t, c.unit, c.quantity, c.daysLeft, c.periodDays)
		credit := mustProrate(t, c.unit.Neg(), c.quantity, c.daysLeft, c.periodDays)
		if credit.Amount != -left.Amount {
			t.Fatalf("credit %v is not the negation of the charge %v", credit, left)
		}
		used := mustProrate(t, c.unit, c.quantity, c.periodDays-c.daysLeft, c.periodDays)
		if diff := used.Amount + left.Amount - full.Amount; diff < -1 || diff > 1 {
			t.Fatalf("used %v + left %v = %d, full %v: off by %d", used, left, used.Amount+left.Amount, full, diff)
		}
		// Paid the full period, then changed on a day at the same price:
		// full + credit + charge is the full price exactly.
		if paid := full.Amount + credit.Amount + left.Amount; paid != full.Amount {
			t.Fatalf("paid %d for a change that changed nothing, full %d", paid, full.Amount)
		}
	})
}

func TestProrate_WithinHalfAMinorUnitOfTheExactAmount(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawProration(t)
		got := mustProrate(t, c.unit, c.quantity, c.daysLeft, c.periodDays)
		// |got × days − quantity × unit × left| ≤ days / 2
		exact := new(big.Int).Mul(big.NewInt(c.quantity), big.NewInt(c.unit.Amount))
		exact.Mul(exact, big.NewInt(int64(c.daysLeft)))
		diff := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(got.Amount), big.NewInt(int64(c.periodDays))), exact)
		if diff.Lsh(diff.Abs(diff), 1).Cmp(big.NewInt(int64(c.periodDays))) > 0 {
			t.Fatalf("Prorate = %v is more than half a cent from %s/%d", got, exact, c.periodDays)
		}
	})
}

func TestProrate_MonotonicInDaysLeft(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawProration(t)
		if c.daysLeft == c.periodDays {
			return
		}
		a := mustProrate(t, c.unit, c.quantity, c.daysLeft, c.periodDays)
		b := mustProrate(t, c.unit, c.quantity, c.daysLeft+1, c.periodDays)
		if b.Amount < a.Amount {
			t.Fatalf("one more day costs less: %v then %v", a, b)
		}
		na := mustProrate(t, c.unit.Neg(), c.quantity, c.daysLeft, c.periodDays)
		nb := mustProrate(t, c.unit.Neg(), c.quantity, c.daysLeft+1, c.periodDays)
		if nb.Amount > na.Amount {
			t.Fatalf("one more day credits less: %v then %v", na, nb)
		}
	})
}
