package billing

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Money is an amount in a currency's minor units (cents for USD, yen for JPY)
// together with its ISO 4217 code. Amounts are never floats.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// NewMoney returns amount minor units of currency.
func NewMoney(amount int64, currency string) Money {
	return Money{Amount: amount, Currency: currency}
}

// Zero returns zero in currency.
func Zero(currency string) Money { return Money{Currency: currency} }

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Amount == 0 }

// Neg returns -m.
func (m Money) Neg() Money { return Money{Amount: -m.Amount, Currency: m.Currency} }

// Add returns m+o. Adding different currencies is a programming error in the
// caller and panics: amounts are checked at the boundary with SameCurrency.
func (m Money) Add(o Money) Money {
	m.mustMatch(o)
	return Money{Amount: m.Amount + o.Amount, Currency: m.Currency}
}

// Sub returns m-o; it panics on a currency mismatch like Add.
func (m Money) Sub(o Money) Money {
	m.mustMatch(o)
	return Money{Amount: m.Amount - o.Amount, Currency: m.Currency}
}

// Min returns the smaller of m and o.
func (m Money) Min(o Money) Money {
	m.mustMatch(o)
	if o.Amount < m.Amount {
		return o
	}
	return m
}

func (m Money) mustMatch(o Money) {
	if m.Currency != o.Currency {
		panic(fmt.Sprintf("billing: currency mismatch: %s and %s", m.Currency, o.Currency))
	}
}

// SameCurrency returns an EINVALID error unless m and o share a currency.
func (m Money) SameCurrency(o Money) error {
	if m.Currency != o.Currency {
		return ReasonErrorf(EINVALID, "currency_mismatch", "Currency %s does not match %s.", o.Currency, m.Currency)
	}
	return nil
}

// String formats m for people in English, e.g. "$1,234.56", "-€0.50", "¥1,200".
func (m Money) String() string {
	digits, err := MinorUnits(m.Currency)
	if err != nil {
		return fmt.Sprintf("%d %s", m.Amount, m.Currency)
	}
	neg := m.Amount < 0
	abs := uint64(m.Amount)
	if neg {
		abs = uint64(-m.Amount)
	}
	s := strconv.FormatUint(abs, 10)
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	whole, frac := s[:len(s)-digits], s[len(s)-digits:]
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(currencySymbol(m.Currency))
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if digits > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// Decimal formats m's amount without a symbol, as in "1234.56" (for CSV).
func (m Money) Decimal() string {
	digits, err := MinorUnits(m.Currency)
	if err != nil || digits == 0 {
		return strconv.FormatInt(m.Amount, 10)
	}
	sign := ""
	abs := m.Amount
	if abs < 0 {
		sign, abs = "-", -abs
	}
	s := strconv.FormatInt(abs, 10)
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}

var symbolPrinter = message.NewPrinter(language.English)

func currencySymbol(code string) string {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return code + " "
	}
	sym := symbolPrinter.Sprint(currency.NarrowSymbol(unit))
	if sym == code {
		return code + " "
	}
	return sym
}

// ValidateCurrency returns an EINVALID error unless code is an ISO 4217
// currency code in upper case.
func ValidateCurrency(code string) error {
	if _, err := MinorUnits(code); err != nil {
		return err
	}
	return nil
}

// MinorUnits returns the number of decimal digits of code's minor unit (2 for
// USD, 0 for JPY, 3 for KWD), as ISO 4217 defines them.
func MinorUnits(code string) (int, error) {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return 0, Errorf(EINVALID, "Currency %q is not an ISO 4217 code.", code)
	}
	unit, err := currency.ParseISO(code)
	if err != nil {
		return 0, Errorf(EINVALID, "Currency %q is not an ISO 4217 code.", code)
	}
	scale, _ := currency.Standard.Rounding(unit)
	return scale, nil
}
