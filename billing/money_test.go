package billing_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
)

func TestMoney_String(t *testing.T) {
	tests := []struct {
		m    billing.Money
		want string
	}{
		{billing.NewMoney(123456, "USD"), "$1,234.56"},
		{billing.NewMoney(-50, "EUR"), "-€0.50"},
		{billing.NewMoney(5, "USD"), "$0.05"},
		{billing.NewMoney(0, "USD"), "$0.00"},
		{billing.NewMoney(1200, "JPY"), "¥1,200"},
		{billing.NewMoney(1234567, "KWD"), "KWD 1,234.567"},
		{billing.NewMoney(1667, "GBP"), "£16.67"},
		{billing.NewMoney(100000000, "USD"), "$1,000,000.00"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestMoney_Decimal(t *testing.T) {
	for m, want := range map[billing.Money]string{
		billing.NewMoney(123456, "USD"): "1234.56",
		billing.NewMoney(-5, "USD"):     "-0.05",
		billing.NewMoney(1200, "JPY"):   "1200",
	} {
		if got := m.Decimal(); got != want {
			t.Errorf("%+v.Decimal() = %q, want %q", m, got, want)
		}
	}
}

func TestMinorUnits(t *testing.T) {
	for code, want := range map[string]int{"USD": 2, "JPY": 0, "KWD": 3, "EUR": 2} {
		got, err := billing.MinorUnits(code)
		if err != nil || got != want {
			t.Errorf("MinorUnits(%q) = %d, %v; want %d", code, got, err, want)
		}
	}
	for _, bad := range []string{"", "usd", "US", "XYZ", "DOLLAR"} {
		if _, err := billing.MinorUnits(bad); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("MinorUnits(%q) error = %v, want EINVALID", bad, err)
		}
	}
}

func TestMoney_AddMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("adding USD to EUR did not panic")
		}
	}()
	billing.NewMoney(1, "USD").Add(billing.NewMoney(1, "EUR"))
}
