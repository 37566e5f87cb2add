package testgateway_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/gateway/testgateway"
)

var start = time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)

type testBundle struct {
	clock    *billing.FixedClock
	customer string
}

func setup(t *testing.T) (*testgateway.Gateway, *testBundle) {
	t.Helper()
	clock := billing.NewFixedClock(start)
	g := testgateway.New(clock)
	ref, err := g.CreateCustomer(context.Background(), billing.CustomerRequest{
		AccountNumber: "KB-000001", Name: "Acme Corp", Email: "ap@acme.example.com", IdempotencyKey: "customer:KB-000001",
	})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	return g, &testBundle{clock: clock, customer: ref}
}

// attach tokenizes number and attaches it to the bundle's customer.
func attach(t *testing.T, g *testgateway.Gateway, b *testBundle, number string) billing.Card {
	t.Helper()
	cvc := "123"
	if billing.CardBrandOf(number) == billing.CardAmex {
		cvc = "1234"
	}
	tok, err := g.TokenizeCard(context.Background(), billing.CardInput{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: cvc, Name: "Ada Lovelace"})
	if err != nil {
		t.Fatalf("TokenizeCard(%s): %v", number, err)
	}
	card, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: b.customer, Token: tok, IdempotencyKey: "attach:" + billing.NormalizeCardNumber(number)})
	if err != nil {
		t.Fatalf("AttachCard(%s): %v", number, err)
	}
	return card
}

func chargeReq(b *testBundle, card billing.Card, key string, cents int64) billing.ChargeRequest {
	return billing.ChargeRequest{
		CustomerRef: b.customer, PaymentMethodRef: card.GatewayRef, Amount: billing.NewMoney(cents, "USD"),
		IdempotencyKey: key, Description: "Kore Premium", InvoiceNumber: "INV-2026-000001",
	}
}

func wantCode(t *testing.T, err error, code, reason string) *billing.Error {
	t.Helper()
	var e *billing.Error
	if !errors.As(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("err = %v, want code %s reason %q", err, code, reason)
	}
	return e
}

func TestTestCards(t *testing.T) {
	for _, tt := range []struct {
		number    string
		brand     billing.CardBrand
		status    billing.ChargeStatus
		code      string
		retryable bool
	}{
		{"4242 4242 4242 4242", billing.CardVisa, billing.ChargeSucceeded, "", false},
		{"4000 0000 0000 0002", billing.CardVisa, billing.ChargeFailed, billing.FailureCardDeclined, false},
		{"4000 0000 0000 9995", billing.CardVisa, billing.ChargeFailed, billing.FailureInsufficientFunds, false},
		{"4000 0000 0000 0119", billing.CardVisa, billing.ChargeFailed, billing.FailureProcessingError, true},
		{"4000 0000 0000 0341", billing.CardVisa, billing.ChargeFailed, billing.FailureCardDeclined, false},
		{"4000 0027 6000 3184", billing.CardVisa, billing.ChargeFailed, billing.FailureAuthenticationRequired, false},
		{"4000 0000 0000 0069", billing.CardVisa, billing.ChargeFailed, billing.FailureExpiredCard, false},
		{"5555 5555 5555 4444", billing.CardMastercard, billing.ChargeSucceeded, "", false},
		{"2223 0031 2200 3222", billing.CardMastercard, billing.ChargeSucceeded, "", false},
		{"3782 822463 10005", billing.CardAmex, billing.ChargeSucceeded, "", false},
		{"6011 1111 1111 1117", billing.CardDiscover, billing.ChargeSucceeded, "", false},
		{"3530 1113 3330 0000", billing.CardUnknown, billing.ChargeSucceeded, "", false},
	} {
		t.Run(tt.number, func(t *testing.T) {
			g, b := setup(t)
			card := attach(t, g, b, tt.number)
			digits := billing.NormalizeCardNumber(tt.number)
			if card.Brand != tt.brand || card.Last4 != digits[len(digits)-4:] || card.ExpMonth != 12 || card.ExpYear != 2030 || card.Name != "Ada Lovelace" {
				t.Errorf("card = %+v", card)
			}
			res, err := g.Charge(context.Background(), chargeReq(b, card, "charge:1", 1000))
			if err != nil {
				t.Fatalf("Charge: %v", err)
			}
			if res.Status != tt.status || res.FailureCode != tt.code || res.Retryable != tt.retryable {
				t.Errorf("result = %+v, want %s %q retryable=%v", res, tt.status, tt.code, tt.retryable)
			}
			if res.GatewayRef == "" || (res.Status == billing.ChargeFailed) != (res.FailureMessage != "") {
				t.Errorf("result = %+v, want a reference and a message for a failure", res)
			}
			if n := len(g.Charges()); n != 1 {
				t.Errorf("%d charges recorded, want 1 (a decline is an attempt too)", n)
			}
		})
	}
}

func TestStripeTestPaymentMethodsWorkAsTokens(t *testing.T) {
	for _, tt := range []struct {
		token  string
		last4  string
		status billing.ChargeStatus
		code   string
	}{
		{"pm_card_visa", "4242", billing.ChargeSucceeded, ""},
		{"pm_card_mastercard", "4444", billing.ChargeSucceeded, ""},
		{"pm_card_visa_chargeDeclined", "0002", billing.ChargeFailed, billing.FailureCardDeclined},
		{"pm_card_visa_chargeDeclinedInsufficientFunds", "9995", billing.ChargeFailed, billing.FailureInsufficientFunds},
		{"pm_card_chargeDeclinedProcessingError", "0119", billing.ChargeFailed, billing.FailureProcessingError},
		{"pm_card_chargeCustomerFail", "0341", billing.ChargeFailed, billing.FailureCardDeclined},
	} {
		t.Run(tt.token, func(t *testing.T) {
			g, b := setup(t)
			card, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: b.customer, Token: tt.token, IdempotencyKey: "attach:1"})
			if err != nil {
				t.Fatalf("AttachCard: %v", err)
			}
			if card.Last4 != tt.last4 {
				t.Errorf("last4 = %s, want %s", card.Last4, tt.last4)
			}
			res, err := g.Charge(context.Background(), chargeReq(b, card, "charge:1", 500))
			if err != nil || res.Status != tt.status || res.FailureCode != tt.code {
				t.Errorf("Charge = %+v, %v; want %s %q", res, err, tt.status, tt.code)
			}
		})
	}
}

func TestTokenizeCard_RefusesALuhnInvalidNumber(t *testing.T) {
	g, _ := setup(t)
	_, err := g.TokenizeCard(context.Background(), billing.CardInput{Number: "4242 4242 4242 4241", ExpMonth: 12, ExpYear: 2030, CVC: "123"})
	e := wantCode(t, err, billing.EINVALID, "")
	if e.Fields[0].Field != "card_number" {
		t.Errorf("fields = %+v, want card_number", e.Fields)
	}
}

func TestTokenizeCard_RefusesAnExpiredCard(t *testing.T) {
	g, _ := setup(t)
	_, err := g.TokenizeCard(context.Background(), billing.CardInput{Number: "4242424242424242", ExpMonth: 2, ExpYear: 2026, CVC: "123"})
	wantCode(t, err, billing.EINVALID, "expired_card")
}

func TestAttachCard_RefusesATokenItDidNotIssue(t *testing.T) {
	g, b := setup(t)
	for i, tok := range []string{"4242424242424242", "tok_test_!!!", "tok_test_" + base64.RawURLEncoding.EncodeToString([]byte(`{"x":1}`)), "pm_card_nope"} {
		_, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: b.customer, Token: tok, IdempotencyKey: fmt.Sprintf("attach:%d", i)})
		e := wantCode(t, err, billing.EINVALID, "invalid_token")
		if e.Fields[0].Field != "token" {
			t.Errorf("%s: fields = %+v", tok, e.Fields)
		}
	}
}

func TestAttachCard_RefusesAnUnknownCustomer(t *testing.T) {
	g, _ := setup(t)
	_, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: "cus_nobody", Token: "pm_card_visa", IdempotencyKey: "attach:1"})
	wantCode(t, err, billing.ENOTFOUND, "no_such_customer")
}

func TestAttachCard_RefusesACardThatExpiredAfterItWasTokenized(t *testing.T) {
	g, b := setup(t)
	tok, err := g.TokenizeCard(context.Background(), billing.CardInput{Number: "4242424242424242", ExpMonth: 3, ExpYear: 2026, CVC: "123"})
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	_, err = g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: b.customer, Token: tok, IdempotencyKey: "attach:1"})
	wantCode(t, err, billing.EINVALID, "expired_card")
}

func TestCardNumberAndCVCAreNeverKept(t *testing.T) {
	g, b := setup(t)
	tok, err := g.TokenizeCard(context.Background(), billing.CardInput{Number: "4000 0000 0000 9995", ExpMonth: 12, ExpYear: 2030, CVC: "987"})
	if err != nil {
		t.Fatal(err)
	}
	decoded, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "tok_test_"))
	card, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: b.customer, Token: tok, IdempotencyKey: "attach:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{tok, string(decoded), card.GatewayRef, fmt.Sprintf("%+v", card)} {
		if strings.Contains(s, "400000000000") || strings.Contains(s, "987") {
			t.Errorf("%q holds the card number or the CVC", s)
		}
	}
}

func TestCharge_TimeoutAfterChargingThenRetryWithTheSameKeyChargesOnce(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	req := chargeReq(b, card, "payment-attempt:42", 1999)

	g.TimeoutAfterCharge(1)
	_, err := g.Charge(context.Background(), req)
	if !errors.Is(err, testgateway.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first call: err = %v, want ErrTimeout", err)
	}
	if !billing.GatewayOutcomeUnknown(err) {
		t.Fatal("a timeout must leave the outcome unknown, so that the caller retries")
	}
	charges := g.Charges()
	if len(charges) != 1 || charges[0].Status != billing.ChargeSucceeded {
		t.Fatalf("after the timeout: charges = %+v, want the one charge made before it", charges)
	}

	res, err := g.Charge(context.Background(), req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if res.GatewayRef != charges[0].Ref || res.Status != billing.ChargeSucceeded {
		t.Errorf("retry = %+v, want the original charge %s", res, charges[0].Ref)
	}
	if n := len(g.Charges()); n != 1 {
		t.Errorf("%d charges after the retry, want exactly 1", n)
	}
}

func TestCharge_RepeatedTimeoutsStillChargeOnce(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	req := chargeReq(b, card, "payment-attempt:7", 500)
	g.TimeoutAfterCharge(3)
	var res billing.ChargeResult
	var err error
	tries := 0
	for tries = 1; tries <= 10; tries++ {
		if res, err = g.Charge(context.Background(), req); !billing.GatewayOutcomeUnknown(err) {
			break
		}
	}
	if err != nil || tries != 4 || res.Status != billing.ChargeSucceeded {
		t.Fatalf("after %d tries: %+v, %v", tries, res, err)
	}
	if n := len(g.Charges()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

func TestCharge_SameKeyReturnsTheFirstDecline(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4000000000000002")
	req := chargeReq(b, card, "payment-attempt:1", 1000)
	first, err := g.Charge(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := g.Charge(context.Background(), req)
	if err != nil || again != first {
		t.Errorf("again = %+v, %v; want the first result %+v", again, err, first)
	}
	if n := len(g.Charges()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

func TestCharge_SameKeyWithAnotherAmountIsRefused(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	if _, err := g.Charge(context.Background(), chargeReq(b, card, "payment-attempt:1", 1000)); err != nil {
		t.Fatal(err)
	}
	_, err := g.Charge(context.Background(), chargeReq(b, card, "payment-attempt:1", 2000))
	wantCode(t, err, billing.ECONFLICT, "idempotency_key_reused")
	if billing.GatewayOutcomeUnknown(err) {
		t.Error("a reused key is a refusal, not an unknown outcome")
	}
	if n := len(g.Charges()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

func TestCharge_KeyOfAnotherOperationIsRefused(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	_, err := g.Charge(context.Background(), chargeReq(b, card, "customer:KB-000001", 1000))
	wantCode(t, err, billing.ECONFLICT, "idempotency_key_reused")
}

func TestCharge_ConcurrentCallsWithTheSameKeyChargeOnce(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	req := chargeReq(b, card, "payment-attempt:1", 1000)
	const n = 32
	results := make([]billing.ChargeResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = g.Charge(context.Background(), req) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i] != results[0] {
			t.Errorf("call %d: %+v, %v; want %+v", i, results[i], errs[i], results[0])
		}
	}
	if got := len(g.Charges()); got != 1 {
		t.Errorf("%d charges, want 1", got)
	}
}

func TestCharge_ConcurrentCallsWithDifferentKeysChargeEach(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := g.Charge(context.Background(), chargeReq(b, card, fmt.Sprintf("payment-attempt:%d", i), 1000)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(g.Charges()); got != n {
		t.Errorf("%d charges, want %d", got, n)
	}
}

func TestUnavailable_FailsBeforeCharging(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	req := chargeReq(b, card, "payment-attempt:1", 1000)
	g.Unavailable(true)
	_, err := g.Charge(context.Background(), req)
	if !errors.Is(err, testgateway.ErrUnavailable) || !billing.GatewayOutcomeUnknown(err) {
		t.Fatalf("err = %v, want ErrUnavailable with an unknown outcome", err)
	}
	if _, err := g.CreateCustomer(context.Background(), billing.CustomerRequest{AccountNumber: "KB-000002", IdempotencyKey: "customer:KB-000002"}); !errors.Is(err, testgateway.ErrUnavailable) {
		t.Errorf("CreateCustomer: err = %v, want ErrUnavailable", err)
	}
	if n := len(g.Charges()); n != 0 {
		t.Fatalf("%d charges while down, want 0", n)
	}
	g.Unavailable(false)
	if res, err := g.Charge(context.Background(), req); err != nil || res.Status != billing.ChargeSucceeded {
		t.Fatalf("retry when back: %+v, %v", res, err)
	}
	if n := len(g.Charges()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

func TestLatency_ACallerThatGivesUpChargesNothing(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	g.Latency(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := g.Charge(ctx, chargeReq(b, card, "payment-attempt:1", 1000))
	if !errors.Is(err, context.DeadlineExceeded) || !billing.GatewayOutcomeUnknown(err) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if n := len(g.Charges()); n != 0 {
		t.Errorf("%d charges, want 0", n)
	}
}

func TestCharge_ACardThatExpiresOnFileIsDeclinedAsExpired(t *testing.T) {
	g, b := setup(t)
	tok, err := g.TokenizeCard(context.Background(), billing.CardInput{Number: "4242424242424242", ExpMonth: 4, ExpYear: 2026, CVC: "123"})
	if err != nil {
		t.Fatal(err)
	}
	card, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: b.customer, Token: tok, IdempotencyKey: "attach:1"})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := g.Charge(context.Background(), chargeReq(b, card, "april", 100)); res.Status != billing.ChargeSucceeded {
		t.Errorf("in March: %+v", res)
	}
	b.clock.Set(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	res, err := g.Charge(context.Background(), chargeReq(b, card, "may", 100))
	if err != nil || res.Status != billing.ChargeFailed || res.FailureCode != billing.FailureExpiredCard || res.Retryable {
		t.Errorf("in May: %+v, %v; want expired_card", res, err)
	}
}

func TestCharge_RefusesUnknownOrForeignCards(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	req := chargeReq(b, card, "k1", 100)
	req.PaymentMethodRef = "pm_somewhere_else"
	_, err := g.Charge(context.Background(), req)
	wantCode(t, err, billing.ENOTFOUND, "no_such_payment_method")

	other, err := g.CreateCustomer(context.Background(), billing.CustomerRequest{AccountNumber: "KB-000002", IdempotencyKey: "customer:KB-000002"})
	if err != nil {
		t.Fatal(err)
	}
	req = chargeReq(b, card, "k2", 100)
	req.CustomerRef = other
	_, err = g.Charge(context.Background(), req)
	wantCode(t, err, billing.EINVALID, "payment_method_not_attached")
	if n := len(g.Charges()); n != 0 {
		t.Errorf("%d charges, want 0", n)
	}
}

func TestCharge_RefusesAnInvalidRequest(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	_, err := g.Charge(context.Background(), chargeReq(b, card, "", 100))
	wantCode(t, err, billing.EINVALID, "")
	_, err = g.Charge(context.Background(), chargeReq(b, card, "k", 0))
	wantCode(t, err, billing.EINVALID, "")
}

func TestRefsSurviveARestart(t *testing.T) {
	g, b := setup(t)
	ok := attach(t, g, b, "4242424242424242")
	declined := attach(t, g, b, "4000000000009995")

	restarted := testgateway.New(b.clock)
	if res, err := restarted.Charge(context.Background(), chargeReq(b, ok, "k1", 100)); err != nil || res.Status != billing.ChargeSucceeded {
		t.Errorf("good card after a restart: %+v, %v", res, err)
	}
	if res, err := restarted.Charge(context.Background(), chargeReq(b, declined, "k2", 100)); err != nil || res.FailureCode != billing.FailureInsufficientFunds {
		t.Errorf("insufficient-funds card after a restart: %+v, %v", res, err)
	}
}

func TestCreateCustomer_SameKeySameCustomer(t *testing.T) {
	g, _ := setup(t)
	req := billing.CustomerRequest{AccountNumber: "KB-000009", Name: "Initech", IdempotencyKey: "customer:KB-000009"}
	a, err := g.CreateCustomer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if bb, err := g.CreateCustomer(context.Background(), req); err != nil || bb != a {
		t.Errorf("again = %q, %v; want %q", bb, err, a)
	}
	req.Name = "Initrode"
	_, err = g.CreateCustomer(context.Background(), req)
	wantCode(t, err, billing.ECONFLICT, "idempotency_key_reused")
	_, err = g.CreateCustomer(context.Background(), billing.CustomerRequest{IdempotencyKey: "x"})
	wantCode(t, err, billing.EINVALID, "")
}

func TestAttachCard_SameKeySameCard(t *testing.T) {
	g, b := setup(t)
	req := billing.AttachCardRequest{CustomerRef: b.customer, Token: "pm_card_visa", IdempotencyKey: "attach:1"}
	first, err := g.AttachCard(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := g.AttachCard(context.Background(), req); err != nil || again != first {
		t.Errorf("again = %+v, %v; want %+v", again, err, first)
	}
	req.Token = "pm_card_mastercard"
	_, err = g.AttachCard(context.Background(), req)
	wantCode(t, err, billing.ECONFLICT, "idempotency_key_reused")
}

func TestRefund(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	ch, err := g.Charge(context.Background(), chargeReq(b, card, "charge:1", 1000))
	if err != nil {
		t.Fatal(err)
	}
	refund := func(key string, cents int64) (billing.RefundResult, error) {
		return g.Refund(context.Background(), billing.RefundRequest{ChargeRef: ch.GatewayRef, Amount: billing.NewMoney(cents, "USD"), IdempotencyKey: key})
	}

	part, err := refund("refund:1", 400)
	if err != nil || part.Status != billing.RefundSucceeded || part.GatewayRef == "" {
		t.Fatalf("partial refund: %+v, %v", part, err)
	}
	if again, err := refund("refund:1", 400); err != nil || again != part {
		t.Errorf("same key: %+v, %v; want %+v", again, err, part)
	}
	_, err = refund("refund:1", 500)
	wantCode(t, err, billing.ECONFLICT, "idempotency_key_reused")
	_, err = refund("refund:2", 601)
	wantCode(t, err, billing.EINVALID, "refund_exceeds_charge")
	_, err = g.Refund(context.Background(), billing.RefundRequest{ChargeRef: ch.GatewayRef, Amount: billing.NewMoney(100, "EUR"), IdempotencyKey: "refund:3"})
	wantCode(t, err, billing.EINVALID, "currency_mismatch")
	if _, err := refund("refund:4", 600); err != nil {
		t.Errorf("the rest: %v", err)
	}
	if got := g.Charges()[0].Refunded; got != billing.NewMoney(1000, "USD") {
		t.Errorf("refunded = %s, want all of it", got)
	}
	if n := len(g.Refunds()); n != 2 {
		t.Errorf("%d refunds, want 2", n)
	}
}

func TestRefund_RefusesWhatCannotBeRefunded(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4000000000000002")
	ch, err := g.Charge(context.Background(), chargeReq(b, card, "charge:1", 1000))
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Refund(context.Background(), billing.RefundRequest{ChargeRef: ch.GatewayRef, Amount: billing.NewMoney(100, "USD"), IdempotencyKey: "r1"})
	wantCode(t, err, billing.ESTATE, "charge_not_refundable")
	_, err = g.Refund(context.Background(), billing.RefundRequest{ChargeRef: "ch_test_0000", Amount: billing.NewMoney(100, "USD"), IdempotencyKey: "r2"})
	wantCode(t, err, billing.ENOTFOUND, "no_such_charge")
}

func TestRefund_TimeoutThenRetryRefundsOnce(t *testing.T) {
	g, b := setup(t)
	card := attach(t, g, b, "4242424242424242")
	ch, err := g.Charge(context.Background(), chargeReq(b, card, "charge:1", 1000))
	if err != nil {
		t.Fatal(err)
	}
	req := billing.RefundRequest{ChargeRef: ch.GatewayRef, Amount: billing.NewMoney(1000, "USD"), IdempotencyKey: "refund:1"}
	g.TimeoutAfterRefund(1)
	if _, err := g.Refund(context.Background(), req); !errors.Is(err, testgateway.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	res, err := g.Refund(context.Background(), req)
	if err != nil || res.GatewayRef != g.Refunds()[0].Ref {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	if n := len(g.Refunds()); n != 1 {
		t.Errorf("%d refunds, want 1", n)
	}
}
