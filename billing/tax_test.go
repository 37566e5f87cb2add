package billing_test

import (
	"math"
	"testing"

	"github.com/kore-billing/korebill/billing"
)

func TestTaxRate_Validate(t *testing.T) {
	r := billing.TaxRate{Country: " us ", BasisPoints: 825}
	if err := r.Validate(); err != nil || r.Country != "US" {
		t.Errorf("Validate = %v, country %q", err, r.Country)
	}
	if r.String() != "8.25%" {
		t.Errorf("String = %q", r.String())
	}
	for _, bad := range []billing.TaxRate{
		{Country: "US", BasisPoints: -1},
		{Country: "US", BasisPoints: 10001},
		{Country: "XX", BasisPoints: 100},
		{Country: "EU", BasisPoints: 100},
		{Country: "", BasisPoints: 100},
	} {
		if err := bad.Validate(); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%+v.Validate() = %v, want EINVALID", bad, err)
		}
	}
	for _, ok := range []billing.TaxRate{{Country: "NZ", BasisPoints: 1500}, {Country: "DE", BasisPoints: 0}, {Country: "GB", BasisPoints: 10000}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v", ok, err)
		}
	}
}

func TestFormatBasisPoints(t *testing.T) {
	for bp, want := range map[int]string{825: "8.25%", 2000: "20%", 1050: "10.5%", 0: "0%", 5: "0.05%", 10000: "100%", 1500: "15%"} {
		if got := billing.FormatBasisPoints(bp); got != want {
			t.Errorf("FormatBasisPoints(%d) = %q, want %q", bp, got, want)
		}
	}
}

func TestTax_IsRoundedOnce(t *testing.T) {
	tests := []struct {
		taxable billing.Money
		bp      int
		want    billing.Money
	}{
		{usd(10000), 825, usd(825)},
		{usd(2935), 825, usd(242)},  // 242.1375
		{usd(3334), 1500, usd(500)}, // 500.1
		{usd(50), 100, usd(1)},      // exactly half a cent
		{usd(49), 100, usd(0)},
		{usd(-50), 100, usd(-1)}, // symmetric
		{usd(12345), 0, usd(0)},
		{usd(12345), 10000, usd(12345)},
		{billing.NewMoney(1000, "JPY"), 1000, billing.NewMoney(100, "JPY")},
		{billing.NewMoney(1005, "JPY"), 1000, billing.NewMoney(101, "JPY")}, // 100.5
		{billing.NewMoney(math.MaxInt64, "USD"), 10000, billing.NewMoney(math.MaxInt64, "USD")},
	}
	for _, tt := range tests {
		got, err := billing.Tax(tt.taxable, tt.bp)
		if err != nil || got != tt.want {
			t.Errorf("Tax(%v, %d) = %v, %v; want %v", tt.taxable, tt.bp, got, err, tt.want)
		}
	}
	for _, bp := range []int{-1, 10001} {
		if _, err := billing.Tax(usd(100), bp); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("Tax at %d bp: %v, want EINVALID", bp, err)
		}
	}
}
