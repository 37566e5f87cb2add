// Package stripegateway holds the Stripe gateway: a billing.Gateway on
// Stripe's API through stripe-go. Customers are Stripe Customers, cards are
// PaymentMethods, a charge is a PaymentIntent created and confirmed off
// session, a refund is a Refund. Every request carries the caller's
// idempotency key as Stripe's Idempotency-Key header, which is what makes a
// retried charge safe: Stripe answers a repeated key with the first answer.
//
// Its tests run against stripe-mock. It imports billing and stripe-go, and
// nothing else of this module.
package stripegateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/stripe/stripe-go/v82"
)

// Config configures the Stripe gateway.
type Config struct {
	// SecretKey is the account's secret API key ("sk_test_…", "sk_live_…").
	// It is never logged.
	SecretKey string
	// BaseURL is the API's address: empty for Stripe itself, the address of
	// stripe-mock (http://127.0.0.1:12111) in tests.
	BaseURL string
	// Timeout bounds one HTTP request; 0 means DefaultTimeout. A request that
	// times out leaves the outcome unknown and must be retried with the same
	// key.
	Timeout time.Duration
	// NetworkRetries is how many times stripe-go itself retries a request that
	// failed on the network or with a 409 or 5xx, with the same idempotency
	// key; 0 means none, and the caller retries.
	NetworkRetries int
	// HTTPClient, when set, makes the requests; Timeout is then its business.
	HTTPClient *http.Client
	// Logger receives stripe-go's log lines; nil discards them.
	Logger *slog.Logger
}

// DefaultTimeout bounds one request when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Validate names every setting that is missing or wrong.
func (c Config) Validate() error {
	var v billing.Validation
	switch {
	case c.SecretKey == "":
		v.Add("stripe_key", "A Stripe secret key is required (--stripe-key or KOREBILL_STRIPE_KEY).")
	case !strings.HasPrefix(c.SecretKey, "sk_") && !strings.HasPrefix(c.SecretKey, "rk_"):
		v.Add("stripe_key", "A Stripe secret key starts with sk_ (or rk_ for a restricted key).")
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		v.Add("stripe_url", "The Stripe URL must start with http:// or https://.")
	}
	if c.Timeout < 0 {
		v.Add("stripe_timeout", "The timeout cannot be negative.")
	}
	if c.NetworkRetries < 0 {
		v.Add("stripe_retries", "Network retries cannot be negative.")
	}
	return v.Err()
}

// LogValue shows the configuration without the secret key.
func (c Config) LogValue() slog.Value {
	key := "(none)"
	if len(c.SecretKey) > 8 {
		key = c.SecretKey[:8] + "…"
	}
	return slog.GroupValue(slog.String("key", key), slog.String("url", c.BaseURL), slog.Duration("timeout", c.Timeout))
}

// Gateway is the Stripe gateway. It is safe for concurrent use.
type Gateway struct {
	client *stripe.Client
}

var _ billing.Gateway = (*Gateway)(nil)

// New returns a Stripe gateway, or an EINVALID error naming what is missing
// from cfg.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		timeout := cfg.Timeout
		if timeout == 0 {
			timeout = DefaultTimeout
		}
		httpClient = &http.Client{Timeout: timeout}
	}
	backend := &stripe.BackendConfig{
		HTTPClient:        httpClient,
		LeveledLogger:     leveledLogger{cfg.Logger},
		MaxNetworkRetries: stripe.Int64(int64(cfg.NetworkRetries)),
	}
	if cfg.BaseURL != "" {
		backend.URL = stripe.String(strings.TrimRight(cfg.BaseURL, "/"))
	}
	return &Gateway{client: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(backend)))}, nil
}

// CreateCustomer creates a Stripe Customer, with the account number in its
// metadata.
func (g *Gateway) CreateCustomer(ctx context.Context, req billing.CustomerRequest) (string, error) {
	if err := req.Validate(); err != nil {
		return "", err
	}
	params := &stripe.CustomerCreateParams{
		Metadata: map[string]string{"account_number": req.AccountNumber},
	}
	if req.Name != "" {
		params.Name = stripe.String(req.Name)
	}
	if req.Email != "" {
		params.Email = stripe.String(req.Email)
	}
	params.IdempotencyKey = stripe.String(req.IdempotencyKey)
	c, err := g.client.V1Customers.Create(ctx, params)
	if err != nil {
		return "", refusalOrUnknown("create customer", err)
	}
	return c.ID, nil
}

// AttachCard attaches a PaymentMethod ("pm_…") to a customer. A card token
// ("tok_…") is first made into a PaymentMethod, under a key derived from the
// caller's. A card the issuer declines is an EPAYMENT refusal whose reason is
// the decline code.
func (g *Gateway) AttachCard(ctx context.Context, req billing.AttachCardRequest) (billing.Card, error) {
	if err := req.Validate(); err != nil {
		return billing.Card{}, err
	}
	pmID := strings.TrimSpace(req.Token)
	if strings.HasPrefix(pmID, "tok_") {
		create := &stripe.PaymentMethodCreateParams{
			Type: stripe.String(string(stripe.PaymentMethodTypeCard)),
			Card: &stripe.PaymentMethodCreateCardParams{Token: stripe.String(pmID)},
		}
		create.IdempotencyKey = stripe.String(derivedKey(req.IdempotencyKey, "payment_method"))
		pm, err := g.client.V1PaymentMethods.Create(ctx, create)
		if err != nil {
			return billing.Card{}, refusalOrUnknown("create payment method", err)
		}
		pmID = pm.ID
	}
	params := &stripe.PaymentMethodAttachParams{Customer: stripe.String(req.CustomerRef)}
	params.IdempotencyKey = stripe.String(req.IdempotencyKey)
	pm, err := g.client.V1PaymentMethods.Attach(ctx, pmID, params)
	if err != nil {
		return billing.Card{}, refusalOrUnknown("attach card", err)
	}
	if pm.Card == nil {
		return billing.Card{}, billing.ReasonErrorf(billing.EINVALID, "not_a_card",
			"Payment method %s is a %s, not a card.", pm.ID, pm.Type)
	}
	card := billing.Card{
		GatewayRef: pm.ID,
		Brand:      billing.CardBrand(pm.Card.Brand),
		Last4:      pm.Card.Last4,
		ExpMonth:   int(pm.Card.ExpMonth),
		ExpYear:    int(pm.Card.ExpYear),
	}
	if pm.BillingDetails != nil {
		card.Name = pm.BillingDetails.Name
	}
	return card, nil
}

// derivedKey makes the key of a request that one call makes on the way to
// its own, so that a retry of the call repeats it too.
func derivedKey(key, step string) string {
	k := key + "/" + step
	if len(k) > billing.MaxIdempotencyKeyLen {
		k = k[len(k)-billing.MaxIdempotencyKeyLen:]
	}
	return k
}

// Charge creates and confirms a PaymentIntent off session. Stripe answers a
// decline with a 402 card error, which becomes a ChargeFailed result carrying
// Stripe's decline code.
func (g *Gateway) Charge(ctx context.Context, req billing.ChargeRequest) (billing.ChargeResult, error) {
	if err := req.Validate(); err != nil {
		return billing.ChargeResult{}, err
	}
	amount, err := stripeAmount(req.Amount)
	if err != nil {
		return billing.ChargeResult{}, err
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String(strings.ToLower(req.Amount.Currency)),
		Customer:           stripe.String(req.CustomerRef),
		PaymentMethod:      stripe.String(req.PaymentMethodRef),
		PaymentMethodTypes: []*string{stripe.String(string(stripe.PaymentMethodTypeCard))},
		Confirm:            stripe.Bool(true),
		OffSession:         stripe.Bool(true),
		// The key is in the metadata too, so that a charge can be found in
		// Stripe when reconciling after Stripe has forgotten the key (24 h).
		Metadata: map[string]string{"idempotency_key": req.IdempotencyKey},
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	if req.InvoiceNumber != "" {
		params.Metadata["invoice_number"] = req.InvoiceNumber
	}
	params.IdempotencyKey = stripe.String(req.IdempotencyKey)
	pi, err := g.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
			return declined(se), nil
		}
		return billing.ChargeResult{}, refusalOrUnknown("charge", err)
	}
	return chargeResult(pi), nil
}

// LookupCharge retrieves the PaymentIntent by its id when the caller has it,
// and otherwise searches PaymentIntents for the idempotency key Charge put in
// their metadata (which outlives Stripe's 24 hours of keys). A PaymentIntent
// that a decline left without success reads as the failed charge it was.
// Stripe's search index lags writes by up to a minute: a charge made in the
// last minute may not be found yet, which is why reconcile leaves young
// attempts alone.
func (g *Gateway) LookupCharge(ctx context.Context, q billing.ChargeLookup) (billing.ChargeResult, bool, error) {
	if q.GatewayRef != "" {
		pi, err := g.client.V1PaymentIntents.Retrieve(ctx, q.GatewayRef, nil)
		if err != nil {
			var se *stripe.Error
			if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
				return billing.ChargeResult{}, false, nil
			}
			return billing.ChargeResult{}, false, fmt.Errorf("stripegateway: retrieve %s: %w", q.GatewayRef, err)
		}
		return chargeResult(pi), true, nil
	}
	if err := billing.ValidateIdempotencyKey(q.IdempotencyKey); err != nil {
		return billing.ChargeResult{}, false, err
	}
	query := "metadata['idempotency_key']:'" + strings.ReplaceAll(q.IdempotencyKey, "'", "\\'") + "'"
	if q.CustomerRef != "" {
		query += " AND customer:'" + strings.ReplaceAll(q.CustomerRef, "'", "\\'") + "'"
	}
	params := &stripe.PaymentIntentSearchParams{}
	params.Query = query
	for pi, err := range g.client.V1PaymentIntents.Search(ctx, params) {
		if err != nil {
			return billing.ChargeResult{}, false, fmt.Errorf("stripegateway: search payment intents: %w", err)
		}
		if pi.Metadata["idempotency_key"] != q.IdempotencyKey {
			continue // stripe-mock answers any search with its fixture
		}
		return chargeResult(pi), true, nil
	}
	return billing.ChargeResult{}, false, nil
}

// chargeResult reads a PaymentIntent that Stripe created without an error.
func chargeResult(pi *stripe.PaymentIntent) billing.ChargeResult {
	res := billing.ChargeResult{GatewayRef: pi.ID}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		res.Status = billing.ChargeSucceeded
	case stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		res.Status = billing.ChargePending
	case stripe.PaymentIntentStatusRequiresAction:
		// Off session nobody is there to authenticate.
		res.Status = billing.ChargeFailed
		res.FailureCode = billing.FailureAuthenticationRequired
		res.FailureMessage = "Your card was declined. This transaction requires authentication."
	default: // requires_payment_method, requires_confirmation, canceled
		res.Status = billing.ChargeFailed
		res.FailureCode, res.FailureMessage, res.Retryable = "payment_failed", "The payment failed.", false
		if e := pi.LastPaymentError; e != nil {
			if code := failureCode(e); code != "" {
				res.FailureCode = code
			}
			if e.Msg != "" {
				res.FailureMessage = e.Msg
			}
			res.Retryable = retryable(e)
		}
	}
	return res
}

// declined turns a card error into a failed charge.
func declined(se *stripe.Error) billing.ChargeResult {
	res := billing.ChargeResult{
		Status:         billing.ChargeFailed,
		FailureCode:    failureCode(se),
		FailureMessage: se.Msg,
		Retryable:      retryable(se),
	}
	if res.FailureCode == "" {
		res.FailureCode = billing.FailureCardDeclined
	}
	if se.PaymentIntent != nil {
		res.GatewayRef = se.PaymentIntent.ID
	}
	return res
}

// failureCode is Stripe's decline code when it says more than the error code
// ("insufficient_funds" rather than "card_declined"), else the error code.
func failureCode(se *stripe.Error) string {
	if se.Code == stripe.ErrorCodeCardDeclined && se.DeclineCode != "" && se.DeclineCode != "generic_decline" {
		return string(se.DeclineCode)
	}
	if se.Code != "" {
		return string(se.Code)
	}
	return string(se.DeclineCode)
}

// retryable reports whether a decline was the issuer's or Stripe's passing
// trouble rather than something the customer must fix.
func retryable(se *stripe.Error) bool {
	if se.Code == stripe.ErrorCodeProcessingError {
		return true
	}
	switch se.DeclineCode {
	case "processing_error", "try_again_later", "issuer_not_available", "reenter_transaction", "approve_with_id":
		return true
	}
	return false
}

// Refund refunds a PaymentIntent ("pi_…") or a Charge ("ch_…").
func (g *Gateway) Refund(ctx context.Context, req billing.RefundRequest) (billing.RefundResult, error) {
	if err := req.Validate(); err != nil {
		return billing.RefundResult{}, err
	}
	amount, err := stripeAmount(req.Amount)
	if err != nil {
		return billing.RefundResult{}, err
	}
	params := &stripe.RefundCreateParams{Amount: stripe.Int64(amount)}
	if strings.HasPrefix(req.ChargeRef, "ch_") {
		params.Charge = stripe.String(req.ChargeRef)
	} else {
		params.PaymentIntent = stripe.String(req.ChargeRef)
	}
	params.IdempotencyKey = stripe.String(req.IdempotencyKey)
	r, err := g.client.V1Refunds.Create(ctx, params)
	if err != nil {
		return billing.RefundResult{}, refusalOrUnknown("refund", err)
	}
	res := billing.RefundResult{GatewayRef: r.ID}
	switch r.Status {
	case stripe.RefundStatusSucceeded:
		res.Status = billing.RefundSucceeded
	case stripe.RefundStatusFailed, stripe.RefundStatusCanceled:
		res.Status = billing.RefundFailed
	default: // pending, requires_action
		res.Status = billing.RefundPending
	}
	return res, nil
}

// refusalOrUnknown sorts an error from Stripe into the two kinds the Gateway
// contract knows. Stripe refused, and did nothing, when it answered 400, 402
// or 404: a *billing.Error. Anything else (no answer, a timeout, 401, 409 for
// a key in use by a request still running, 429, 5xx) leaves the outcome
// unknown and the caller retries with the same key: a plain error.
func refusalOrUnknown(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("stripegateway: %s: no answer from Stripe, the outcome is unknown: %w", op, err)
	}
	switch {
	case se.Type == stripe.ErrorTypeCard, se.HTTPStatusCode == http.StatusPaymentRequired:
		code := failureCode(se)
		return billing.ReasonErrorf(billing.EPAYMENT, code, "%s", cardMessage(se))
	case se.HTTPStatusCode == http.StatusConflict:
		// Another request with this key is still running.
		return fmt.Errorf("stripegateway: %s: Stripe is still working on a request with this key: %w", op, err)
	case se.Type == stripe.ErrorTypeIdempotency:
		return billing.ReasonErrorf(billing.ECONFLICT, "idempotency_key_reused",
			"The idempotency key was already used for a different request; a key names one attempt.")
	case se.HTTPStatusCode == http.StatusNotFound:
		return billing.ReasonErrorf(billing.ENOTFOUND, string(se.Code), "The payment gateway has no such object: %s", se.Msg)
	case se.Code == stripe.ErrorCodeChargeAlreadyRefunded:
		return billing.ReasonErrorf(billing.ESTATE, "charge_not_refundable", "The payment gateway refused: %s", se.Msg)
	case se.HTTPStatusCode == http.StatusBadRequest:
		return billing.ReasonErrorf(billing.EINVALID, string(se.Code), "The payment gateway refused the request: %s", se.Msg)
	}
	return fmt.Errorf("stripegateway: %s: Stripe answered %d %s: %w", op, se.HTTPStatusCode, se.Type, err)
}

func cardMessage(se *stripe.Error) string {
	if se.Msg != "" {
		return se.Msg
	}
	return "Your card was declined."
}

// stripeAmount converts an amount in ISO 4217 minor units to Stripe's.
// They agree but for ISK, which ISO gives no decimals and Stripe two.
func stripeAmount(m billing.Money) (int64, error) {
	if m.Currency == "ISK" {
		const limit = 1 << 62 / 100
		if m.Amount > limit {
			return 0, billing.Errorf(billing.EINVALID, "Amount %s is too large.", m)
		}
		return m.Amount * 100, nil
	}
	return m.Amount, nil
}

// leveledLogger passes stripe-go's log lines to slog; its informational lines
// (one per request) are debug lines here.
type leveledLogger struct{ l *slog.Logger }

func (l leveledLogger) log(level slog.Level, format string, v ...any) {
	if l.l != nil {
		l.l.Log(context.Background(), level, "stripe: "+fmt.Sprintf(format, v...))
	}
}

func (l leveledLogger) Debugf(format string, v ...any) { l.log(slog.LevelDebug, format, v...) }
func (l leveledLogger) Infof(format string, v ...any)  { l.log(slog.LevelDebug, format, v...) }
func (l leveledLogger) Warnf(format string, v ...any)  { l.log(slog.LevelWarn, format, v...) }
func (l leveledLogger) Errorf(format string, v ...any) { l.log(slog.LevelError, format, v...) }
