package billing_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
)

var gatewayNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func TestLuhnValid(t *testing.T) {
	for _, tt := range []struct {
		number string
		want   bool
	}{
		{"4242424242424242", true},
		{"4000000000000002", true},
		{"4000000000009995", true},
		{"4000000000000119", true},
		{"4000000000000341", true},
		{"378282246310005", true},
		{"6011111111111117", true},
		{"2223003122003222", true},
		{"4242424242424241", false},
		{"1234567812345678", false},
		{"", false},
		{"4242x24242424242", false},
	} {
		if got := billing.LuhnValid(tt.number); got != tt.want {
			t.Errorf("LuhnValid(%q) = %v, want %v", tt.number, got, tt.want)
		}
	}
}

func TestCardBrandOf(t *testing.T) {
	for _, tt := range []struct {
		number string
		want   billing.CardBrand
	}{
		{"4242 4242 4242 4242", billing.CardVisa},
		{"5555555555554444", billing.CardMastercard},
		{"5105105105105100", billing.CardMastercard},
		{"2221000000000009", billing.CardMastercard},
		{"2720990000000007", billing.CardMastercard},
		{"2220990000000000", billing.CardUnknown},
		{"2721000000000000", billing.CardUnknown},
		{"5600000000000000", billing.CardUnknown},
		{"378282246310005", billing.CardAmex},
		{"371449635398431", billing.CardAmex},
		{"6011111111111117", billing.CardDiscover},
		{"6500000000000002", billing.CardDiscover},
		{"3530111333300000", billing.CardUnknown},
		{"", billing.CardUnknown},
	} {
		if got := billing.CardBrandOf(tt.number); got != tt.want {
			t.Errorf("CardBrandOf(%q) = %q, want %q", tt.number, got, tt.want)
		}
	}
}

func TestCardInput_ValidateNormalises(t *testing.T) {
	c := billing.CardInput{Number: " 4242 4242-4242 4242 ", ExpMonth: 3, ExpYear: 26, CVC: " 123 ", Name: " Ada Lovelace "}
	if err := c.Validate(gatewayNow); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Number != "4242424242424242" || c.ExpYear != 2026 || c.CVC != "123" || c.Name != "Ada Lovelace" {
		t.Errorf("normalised = %+v", []any{c.Number, c.ExpYear, c.CVC, c.Name})
	}
	if c.Brand() != billing.CardVisa || c.Last4() != "4242" {
		t.Errorf("brand, last4 = %s, %s", c.Brand(), c.Last4())
	}
}

func TestCardInput_ValidateNamesTheField(t *testing.T) {
	good := func() billing.CardInput {
		return billing.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"}
	}
	for _, tt := range []struct {
		name   string
		edit   func(*billing.CardInput)
		field  string
		reason string
	}{
		{"luhn", func(c *billing.CardInput) { c.Number = "4242 4242 4242 4241" }, "card_number", ""},
		{"empty number", func(c *billing.CardInput) { c.Number = "" }, "card_number", ""},
		{"letters", func(c *billing.CardInput) { c.Number = "4242abcd42424242" }, "card_number", ""},
		{"too short", func(c *billing.CardInput) { c.Number = "42424242" }, "card_number", ""},
		{"month", func(c *billing.CardInput) { c.ExpMonth = 13 }, "exp_month", ""},
		{"year", func(c *billing.CardInput) { c.ExpYear = 1999 }, "exp_year", ""},
		{"cvc", func(c *billing.CardInput) { c.CVC = "12" }, "cvc", ""},
		{"amex cvc has four digits", func(c *billing.CardInput) { c.Number = "378282246310005" }, "cvc", ""},
		{"expired last month", func(c *billing.CardInput) { c.ExpMonth, c.ExpYear = 2, 2026 }, "exp_year", "expired_card"},
		{"expired last year", func(c *billing.CardInput) { c.ExpMonth, c.ExpYear = 12, 2025 }, "exp_year", "expired_card"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			err := c.Validate(gatewayNow)
			var e *billing.Error
			if !errors.As(err, &e) || e.Code != billing.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if len(e.Fields) == 0 || e.Fields[0].Field != tt.field {
				t.Errorf("fields = %+v, want %s first", e.Fields, tt.field)
			}
			if e.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", e.Reason, tt.reason)
			}
		})
	}
}

func TestCard_ExpiredAtTheEndOfItsMonth(t *testing.T) {
	c := billing.Card{ExpMonth: 3, ExpYear: 2026}
	if c.Expired(time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC)) {
		t.Error("a card is good through the last day of its expiry month")
	}
	if !c.Expired(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("a card has expired on the first day of the next month")
	}
}

func TestCardInput_NeverPrintsTheNumber(t *testing.T) {
	c := billing.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "987"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("card", "card", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), logged.String()} {
		if strings.Contains(s, "424242424242") || strings.Contains(s, "987") {
			t.Errorf("printed %q", s)
		}
		if !strings.Contains(s, "4242") {
			t.Errorf("printed %q, want the last four digits", s)
		}
	}
}

func TestGatewayOutcomeUnknown(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{billing.Errorf(billing.EINVALID, "bad"), false},
		{billing.Errorf(billing.ECONFLICT, "reused"), false},
		{billing.Errorf(billing.EPAYMENT, "declined"), false},
		{fmt.Errorf("charge: %w", billing.Errorf(billing.ENOTFOUND, "no such card")), false},
		{context.DeadlineExceeded, true},
		{errors.New("connection reset"), true},
		{billing.Errorf(billing.EINTERNAL, "gateway answered 500"), true},
	} {
		if got := billing.GatewayOutcomeUnknown(tt.err); got != tt.want {
			t.Errorf("GatewayOutcomeUnknown(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestChargeRequest_Validate(t *testing.T) {
	ok := billing.ChargeRequest{CustomerRef: "cus_1", PaymentMethodRef: "pm_1", Amount: billing.NewMoney(1000, "USD"), IdempotencyKey: "charge:1"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, tt := range []struct {
		name  string
		edit  func(*billing.ChargeRequest)
		field string
	}{
		{"no key", func(r *billing.ChargeRequest) { r.IdempotencyKey = "" }, "idempotency_key"},
		{"key with space", func(r *billing.ChargeRequest) { r.IdempotencyKey = "a b" }, "idempotency_key"},
		{"long key", func(r *billing.ChargeRequest) { r.IdempotencyKey = strings.Repeat("k", 256) }, "idempotency_key"},
		{"zero", func(r *billing.ChargeRequest) { r.Amount.Amount = 0 }, "amount"},
		{"negative", func(r *billing.ChargeRequest) { r.Amount.Amount = -5 }, "amount"},
		{"currency", func(r *billing.ChargeRequest) { r.Amount.Currency = "usd" }, "amount.currency"},
		{"no card", func(r *billing.ChargeRequest) { r.PaymentMethodRef = "" }, "payment_method_ref"},
		{"no customer", func(r *billing.ChargeRequest) { r.CustomerRef = "" }, "customer_ref"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			var e *billing.Error
			if err := r.Validate(); !errors.As(err, &e) || e.Code != billing.EINVALID || e.Fields[0].Field != tt.field {
				t.Errorf("err = %v, want EINVALID on %s", err, tt.field)
			}
		})
	}
}
