package billing

import (
	"fmt"
	"strings"
)

// MaxTaxBasisPoints is a rate of 100%.
const MaxTaxBasisPoints = 10000

// TaxRate is the rate an operator configures for a country, in basis points
// (825 is 8.25%). Tax is exclusive (added to the amount, not contained in
// it); ComputeTotals applies the rate to an invoice.
type TaxRate struct {
	Country     string `json:"country"` // ISO 3166-1 alpha-2
	BasisPoints int    `json:"basis_points"`
}

// Validate checks the country and the rate (0–100%), normalising the country
// to upper case.
func (r *TaxRate) Validate() error {
	var v Validation
	r.Country = strings.ToUpper(strings.TrimSpace(r.Country))
	if r.Country == "" {
		v.Add("country", "Country is required.")
	} else if !ValidCountry(r.Country) {
		v.Add("country", "Country %q is not an ISO 3166 country code.", r.Country)
	}
	if r.BasisPoints < 0 || r.BasisPoints > MaxTaxBasisPoints {
		v.Add("basis_points", "A tax rate must be between 0%% and 100%%.")
	}
	return v.Err()
}

// String formats the rate as a percentage, e.g. "8.25%".
func (r TaxRate) String() string { return FormatBasisPoints(r.BasisPoints) }

// FormatBasisPoints formats a rate in basis points as a percentage with no
// needless zeros: 825 is "8.25%", 2000 is "20%", 1050 is "10.5%".
func FormatBasisPoints(bp int) string {
	sign := ""
	if bp < 0 {
		sign, bp = "-", -bp
	}
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return sign + s + "%"
}

// Tax returns the exclusive tax on taxable at rateBP basis points, rounded
// once, half away from zero: DivRound(taxable × rateBP, 10000). It is
// symmetric: a negative amount gives the negation of the tax on the positive
// one (ComputeTotals never taxes a negative amount). It returns an EINVALID
// error for a rate outside 0–10000 or an overflow.
func Tax(taxable Money, rateBP int) (Money, error) {
	if rateBP < 0 || rateBP > MaxTaxBasisPoints {
		return Money{}, ReasonErrorf(EINVALID, "invalid_tax_rate", "A tax rate must be between 0 and %d basis points, not %d.", MaxTaxBasisPoints, rateBP)
	}
	amount, ok := mulDivRound(MaxTaxBasisPoints, taxable.Amount, int64(rateBP))
	if !ok {
		return Money{}, amountOverflow()
	}
	return Money{Amount: amount, Currency: taxable.Currency}, nil
}
