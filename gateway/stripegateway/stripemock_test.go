package stripegateway_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/gateway/stripegateway"
)

// These tests run every method end to end against stripe-mock. It answers
// with canned objects and keeps nothing, so they check what reached it (the
// path, the parameters, the Idempotency-Key header) and what could be read
// back, not Stripe's behaviour.

func setupMock(t *testing.T, retries int) (*stripegateway.Gateway, *recorder) {
	t.Helper()
	u := needMock(t)
	rec := newRecorder()
	g, err := stripegateway.New(stripegateway.Config{SecretKey: "sk_test_korebill", BaseURL: u, HTTPClient: rec.client(), NetworkRetries: retries})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g, rec
}

func only(t *testing.T, rec *recorder) recorded {
	t.Helper()
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

func wantForm(t *testing.T, r recorded, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Form.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.Path, k, got, v)
		}
	}
}

func TestStripeMock_CreateCustomer(t *testing.T) {
	g, rec := setupMock(t, 0)
	ref, err := g.CreateCustomer(context.Background(), billing.CustomerRequest{
		AccountNumber: "KB-000001", Name: "Acme Corp", Email: "ap@acme.example.com", IdempotencyKey: "customer:KB-000001",
	})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	if !strings.HasPrefix(ref, "cus_") {
		t.Errorf("ref = %q, want cus_…", ref)
	}
	r := only(t, rec)
	if r.Method != "POST" || r.Path != "/v1/customers" || r.IdempotencyKey != "customer:KB-000001" {
		t.Errorf("request = %s %s key %q", r.Method, r.Path, r.IdempotencyKey)
	}
	wantForm(t, r, map[string]string{"name": "Acme Corp", "email": "ap@acme.example.com", "metadata[account_number]": "KB-000001"})
}

func TestStripeMock_AttachPaymentMethod(t *testing.T) {
	g, rec := setupMock(t, 0)
	card, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: "cus_123", Token: "pm_card_visa", IdempotencyKey: "attach:1"})
	if err != nil {
		t.Fatalf("AttachCard: %v", err)
	}
	if card.GatewayRef != "pm_card_visa" || card.Brand != billing.CardVisa || card.Last4 != "4242" || card.ExpMonth < 1 || card.ExpMonth > 12 || card.ExpYear < 2000 {
		t.Errorf("card = %+v", card)
	}
	r := only(t, rec)
	if r.Path != "/v1/payment_methods/pm_card_visa/attach" || r.IdempotencyKey != "attach:1" {
		t.Errorf("request = %s %s key %q", r.Method, r.Path, r.IdempotencyKey)
	}
	wantForm(t, r, map[string]string{"customer": "cus_123"})
}

func TestStripeMock_AttachCardToken(t *testing.T) {
	g, rec := setupMock(t, 0)
	card, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: "cus_123", Token: "tok_visa", IdempotencyKey: "attach:2"})
	if err != nil {
		t.Fatalf("AttachCard: %v", err)
	}
	if !strings.HasPrefix(card.GatewayRef, "pm_") || card.Last4 == "" {
		t.Errorf("card = %+v", card)
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want create then attach: %+v", len(reqs), reqs)
	}
	if reqs[0].Path != "/v1/payment_methods" || reqs[0].IdempotencyKey != "attach:2/payment_method" {
		t.Errorf("first = %s key %q", reqs[0].Path, reqs[0].IdempotencyKey)
	}
	wantForm(t, reqs[0], map[string]string{"type": "card", "card[token]": "tok_visa"})
	if !strings.HasSuffix(reqs[1].Path, "/attach") || reqs[1].IdempotencyKey != "attach:2" {
		t.Errorf("second = %s key %q", reqs[1].Path, reqs[1].IdempotencyKey)
	}
}

func chargeRequest() billing.ChargeRequest {
	return billing.ChargeRequest{
		CustomerRef: "cus_123", PaymentMethodRef: "pm_card_visa", Amount: billing.NewMoney(1999, "USD"),
		IdempotencyKey: "payment-attempt:42", Description: "Kore Premium, 2 users", InvoiceNumber: "INV-2026-000007",
	}
}

func TestStripeMock_Charge(t *testing.T) {
	g, rec := setupMock(t, 0)
	res, err := g.Charge(context.Background(), chargeRequest())
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	if !strings.HasPrefix(res.GatewayRef, "pi_") {
		t.Errorf("ref = %q, want pi_…", res.GatewayRef)
	}
	switch res.Status {
	case billing.ChargeSucceeded, billing.ChargeFailed, billing.ChargePending:
	default:
		t.Errorf("status = %q", res.Status)
	}
	r := only(t, rec)
	if r.Method != "POST" || r.Path != "/v1/payment_intents" || r.IdempotencyKey != "payment-attempt:42" {
		t.Errorf("request = %s %s key %q", r.Method, r.Path, r.IdempotencyKey)
	}
	wantForm(t, r, map[string]string{
		"amount": "1999", "currency": "usd", "customer": "cus_123", "payment_method": "pm_card_visa",
		"confirm": "true", "off_session": "true", "payment_method_types[0]": "card",
		"description": "Kore Premium, 2 users", "metadata[invoice_number]": "INV-2026-000007",
		"metadata[idempotency_key]": "payment-attempt:42",
	})
}

func TestStripeMock_LostAnswerThenRetrySendsTheSameKey(t *testing.T) {
	g, rec := setupMock(t, 0)
	rec.loseAnswers(1)
	_, err := g.Charge(context.Background(), chargeRequest())
	if !errors.Is(err, errLostAnswer) || !billing.GatewayOutcomeUnknown(err) {
		t.Fatalf("err = %v, want a lost answer with an unknown outcome", err)
	}
	res, err := g.Charge(context.Background(), chargeRequest())
	if err != nil || res.GatewayRef == "" {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || reqs[0].IdempotencyKey != "payment-attempt:42" || reqs[1].IdempotencyKey != reqs[0].IdempotencyKey {
		t.Errorf("requests = %+v, want two with the same key", reqs)
	}
	if reqs[0].Form.Encode() != reqs[1].Form.Encode() {
		t.Errorf("the retry sent other parameters:\n%s\n%s", reqs[0].Form.Encode(), reqs[1].Form.Encode())
	}
}

func TestStripeMock_NetworkRetriesReuseTheKey(t *testing.T) {
	g, rec := setupMock(t, 2)
	rec.loseAnswers(1)
	if _, err := g.Charge(context.Background(), chargeRequest()); err != nil {
		t.Fatalf("Charge: %v (stripe-go should have retried)", err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || reqs[1].IdempotencyKey != "payment-attempt:42" || reqs[0].IdempotencyKey != reqs[1].IdempotencyKey {
		t.Errorf("requests = %+v, want stripe-go's retry with the same key", reqs)
	}
}

func TestStripeMock_RefundPaymentIntent(t *testing.T) {
	g, rec := setupMock(t, 0)
	res, err := g.Refund(context.Background(), billing.RefundRequest{ChargeRef: "pi_123", Amount: billing.NewMoney(500, "USD"), IdempotencyKey: "refund:1"})
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if !strings.HasPrefix(res.GatewayRef, "re_") || res.Status != billing.RefundSucceeded {
		t.Errorf("result = %+v", res)
	}
	r := only(t, rec)
	if r.Path != "/v1/refunds" || r.IdempotencyKey != "refund:1" {
		t.Errorf("request = %s key %q", r.Path, r.IdempotencyKey)
	}
	wantForm(t, r, map[string]string{"payment_intent": "pi_123", "amount": "500", "charge": ""})
}

func TestStripeMock_RefundCharge(t *testing.T) {
	g, rec := setupMock(t, 0)
	if _, err := g.Refund(context.Background(), billing.RefundRequest{ChargeRef: "ch_123", Amount: billing.NewMoney(500, "USD"), IdempotencyKey: "refund:2"}); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	wantForm(t, only(t, rec), map[string]string{"charge": "ch_123", "payment_intent": ""})
}

func TestCharge_RefusesAnInvalidRequestWithoutCallingStripe(t *testing.T) {
	g, rec := answering(t, http.StatusOK, `{"id":"pi_1","object":"payment_intent","status":"succeeded"}`)
	req := chargeRequest()
	req.IdempotencyKey = ""
	_, err := g.Charge(context.Background(), req)
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("err = %v, want EINVALID", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

// TestStripeMock_LookupCharge: by reference it retrieves the PaymentIntent;
// by key it searches PaymentIntents for the key kept in their metadata, and
// only a PaymentIntent whose metadata holds the key counts (stripe-mock
// answers every search with its fixture, which does not).
func TestStripeMock_LookupCharge(t *testing.T) {
	g, rec := setupMock(t, 0)
	res, found, err := g.LookupCharge(context.Background(), billing.ChargeLookup{GatewayRef: "pi_123"})
	if err != nil || !found || res.GatewayRef == "" {
		t.Fatalf("LookupCharge by ref = %+v, %v, %v", res, found, err)
	}
	if r := only(t, rec); r.Method != "GET" || r.Path != "/v1/payment_intents/pi_123" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	g, rec = setupMock(t, 0)
	_, found, err = g.LookupCharge(context.Background(), billing.ChargeLookup{IdempotencyKey: "charge:42", CustomerRef: "cus_1"})
	if err != nil || found {
		t.Fatalf("LookupCharge by key = %v, %v; want not found", found, err)
	}
	r := only(t, rec)
	if r.Method != "GET" || r.Path != "/v1/payment_intents/search" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	wantForm(t, r, map[string]string{"query": "metadata['idempotency_key']:'charge:42' AND customer:'cus_1'"})
}
