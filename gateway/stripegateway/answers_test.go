package stripegateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/gateway/stripegateway"
)

// These tests stand up a server that answers as Stripe does in cases
// stripe-mock cannot play (declines, conflicts, outages), to check how each
// answer is read.

// answering returns a gateway whose every request gets status and body.
func answering(t *testing.T, status int, body string) (*stripegateway.Gateway, *recorder) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_test")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	rec := newRecorder()
	g, err := stripegateway.New(stripegateway.Config{SecretKey: "sk_test_korebill", BaseURL: srv.URL, HTTPClient: rec.client()})
	if err != nil {
		t.Fatal(err)
	}
	return g, rec
}

func stripeError(typ, code, declineCode, message string) string {
	return fmt.Sprintf(`{"error":{"type":%q,"code":%q,"decline_code":%q,"message":%q,"payment_intent":{"id":"pi_declined","object":"payment_intent","status":"requires_payment_method"}}}`,
		typ, code, declineCode, message)
}

func TestCharge_ACardDeclineIsAResultNotAnError(t *testing.T) {
	for _, tt := range []struct {
		name        string
		code        string
		declineCode string
		wantCode    string
		retryable   bool
	}{
		{"generic decline", "card_declined", "generic_decline", billing.FailureCardDeclined, false},
		{"insufficient funds", "card_declined", "insufficient_funds", billing.FailureInsufficientFunds, false},
		{"processing error", "processing_error", "", billing.FailureProcessingError, true},
		{"try again later", "card_declined", "try_again_later", "try_again_later", true},
		{"expired card", "expired_card", "", billing.FailureExpiredCard, false},
		{"authentication required", "authentication_required", "authentication_required", billing.FailureAuthenticationRequired, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := answering(t, http.StatusPaymentRequired, stripeError("card_error", tt.code, tt.declineCode, "Your card was declined."))
			res, err := g.Charge(context.Background(), chargeRequest())
			if err != nil {
				t.Fatalf("Charge: %v; a decline is a result", err)
			}
			want := billing.ChargeResult{GatewayRef: "pi_declined", Status: billing.ChargeFailed, FailureCode: tt.wantCode,
				FailureMessage: "Your card was declined.", Retryable: tt.retryable}
			if res != want {
				t.Errorf("result = %+v\nwant     %+v", res, want)
			}
		})
	}
}

func TestCharge_ReadsThePaymentIntentStatus(t *testing.T) {
	for _, tt := range []struct {
		pi   string
		want billing.ChargeResult
	}{
		{`{"id":"pi_1","object":"payment_intent","status":"succeeded"}`,
			billing.ChargeResult{GatewayRef: "pi_1", Status: billing.ChargeSucceeded}},
		{`{"id":"pi_2","object":"payment_intent","status":"processing"}`,
			billing.ChargeResult{GatewayRef: "pi_2", Status: billing.ChargePending}},
		{`{"id":"pi_3","object":"payment_intent","status":"requires_action"}`,
			billing.ChargeResult{GatewayRef: "pi_3", Status: billing.ChargeFailed, FailureCode: billing.FailureAuthenticationRequired,
				FailureMessage: "Your card was declined. This transaction requires authentication."}},
		{`{"id":"pi_4","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
			billing.ChargeResult{GatewayRef: "pi_4", Status: billing.ChargeFailed, FailureCode: billing.FailureInsufficientFunds,
				FailureMessage: "Your card has insufficient funds."}},
		{`{"id":"pi_5","object":"payment_intent","status":"canceled"}`,
			billing.ChargeResult{GatewayRef: "pi_5", Status: billing.ChargeFailed, FailureCode: "payment_failed", FailureMessage: "The payment failed."}},
	} {
		g, _ := answering(t, http.StatusOK, tt.pi)
		res, err := g.Charge(context.Background(), chargeRequest())
		if err != nil || res != tt.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tt.pi, res, err, tt.want)
		}
	}
}

func TestAnswersThatRefuse(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		code   string
		reason string
	}{
		{"a card declined at attach", 402, stripeError("card_error", "card_declined", "insufficient_funds", "Your card has insufficient funds."),
			billing.EPAYMENT, "insufficient_funds"},
		{"a reused key", 400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`,
			billing.ECONFLICT, "idempotency_key_reused"},
		{"no such customer", 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"customer","message":"No such customer: 'cus_x'"}}`,
			billing.ENOTFOUND, "resource_missing"},
		{"a bad parameter", 400, `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","message":"Invalid integer"}}`,
			billing.EINVALID, "parameter_invalid_integer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := answering(t, tt.status, tt.body)
			_, err := g.AttachCard(context.Background(), billing.AttachCardRequest{CustomerRef: "cus_x", Token: "pm_card_visa", IdempotencyKey: "attach:1"})
			var e *billing.Error
			if !errors.As(err, &e) || e.Code != tt.code || e.Reason != tt.reason {
				t.Fatalf("err = %v, want %s %s", err, tt.code, tt.reason)
			}
			if billing.GatewayOutcomeUnknown(err) {
				t.Error("a refusal must not leave the outcome unknown")
			}
		})
	}
}

func TestRefund_AlreadyRefundedIsAStateError(t *testing.T) {
	g, _ := answering(t, 400, `{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"Charge ch_1 has already been refunded."}}`)
	_, err := g.Refund(context.Background(), billing.RefundRequest{ChargeRef: "pi_1", Amount: billing.NewMoney(100, "USD"), IdempotencyKey: "refund:1"})
	var e *billing.Error
	if !errors.As(err, &e) || e.Code != billing.ESTATE || e.Reason != "charge_not_refundable" {
		t.Fatalf("err = %v", err)
	}
}

func TestAnswersThatLeaveTheOutcomeUnknown(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
	}{
		{"a key in use by a request still running", 409, `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key."}}`},
		{"a server error", 500, `{"error":{"type":"api_error","message":"Something went wrong."}}`},
		{"rate limited", 429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests."}}`},
		{"a bad key", 401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided."}}`},
		{"not JSON", 502, `<html>Bad gateway</html>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := answering(t, tt.status, tt.body)
			_, err := g.Charge(context.Background(), chargeRequest())
			if !billing.GatewayOutcomeUnknown(err) {
				t.Fatalf("err = %v (%s), want an unknown outcome", err, billing.ErrorCode(err))
			}
			if strings.Contains(err.Error(), "sk_test_korebill") {
				t.Errorf("the error shows the secret key: %v", err)
			}
		})
	}
}

func TestCharge_NoAnswerLeavesTheOutcomeUnknown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there any more
	g, err := stripegateway.New(stripegateway.Config{SecretKey: "sk_test_korebill", BaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Charge(context.Background(), chargeRequest())
	if !billing.GatewayOutcomeUnknown(err) {
		t.Fatalf("err = %v, want an unknown outcome", err)
	}
}

func TestCharge_ASlowStripeTimesOutWithAnUnknownOutcome(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	g, err := stripegateway.New(stripegateway.Config{SecretKey: "sk_test_korebill", BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = g.Charge(context.Background(), chargeRequest())
	if !billing.GatewayOutcomeUnknown(err) || time.Since(began) > 3*time.Second {
		t.Fatalf("err = %v after %s, want an unknown outcome soon", err, time.Since(began))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	g, _ = stripegateway.New(stripegateway.Config{SecretKey: "sk_test_korebill", BaseURL: srv.URL})
	if _, err = g.Charge(ctx, chargeRequest()); !errors.Is(err, context.DeadlineExceeded) || !billing.GatewayOutcomeUnknown(err) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestCharge_ISKIsSentInStripesTwoDecimalUnits(t *testing.T) {
	g, rec := answering(t, http.StatusOK, `{"id":"pi_1","object":"payment_intent","status":"succeeded"}`)
	req := chargeRequest()
	req.Amount = billing.NewMoney(4900, "ISK") // ISO 4217 has no decimals for ISK
	if _, err := g.Charge(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	req.Amount = billing.NewMoney(500, "JPY")
	req.IdempotencyKey = "payment-attempt:43"
	if _, err := g.Charge(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if got := reqs[0].Form.Get("amount") + " " + reqs[0].Form.Get("currency"); got != "490000 isk" {
		t.Errorf("ISK sent as %s, want 490000 isk", got)
	}
	if got := reqs[1].Form.Get("amount") + " " + reqs[1].Form.Get("currency"); got != "500 jpy" {
		t.Errorf("JPY sent as %s, want 500 jpy", got)
	}
}

func TestConfig_Validate(t *testing.T) {
	_, err := stripegateway.New(stripegateway.Config{BaseURL: "127.0.0.1:12111"})
	var e *billing.Error
	if !errors.As(err, &e) || e.Code != billing.EINVALID || len(e.Fields) != 2 || e.Fields[0].Field != "stripe_key" || e.Fields[1].Field != "stripe_url" {
		t.Fatalf("err = %#v, want stripe_key and stripe_url named", err)
	}
	if _, err := stripegateway.New(stripegateway.Config{SecretKey: "pk_test_123"}); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("a publishable key: err = %v, want EINVALID", err)
	}
}

func TestConfig_NeverLogsTheSecretKey(t *testing.T) {
	var out strings.Builder
	slog.New(slog.NewTextHandler(&out, nil)).Info("gateway", "stripe", stripegateway.Config{SecretKey: "sk_test_supersecretvalue", BaseURL: "http://127.0.0.1:12111"})
	if strings.Contains(out.String(), "supersecret") {
		t.Errorf("logged %q", out.String())
	}
}
