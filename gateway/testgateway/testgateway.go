// Package testgateway holds the built-in test gateway: a billing.Gateway that
// works offline, in memory or in a ledger file of its own, and answers by card number the way Stripe's test
// cards do (4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined, …).
// It is the default gateway, so that Kore Billing runs and can be tried with no
// account anywhere, and it lets tests make the gateway time out after charging
// or be down, to prove that nothing is charged twice.
//
// It imports only the standard library and billing.
//
// What it keeps, and for how long: the references it hands out for customers
// and cards describe themselves (a card's reference says how the card behaves
// and when it expires), so cards attached before a restart still charge the
// same way after it. Charges, refunds and idempotency keys live in memory, for
// the life of the process, unless OpenLedger keeps them in a file
// (ledger.go): then a retried key is recognised after a restart or a SIGKILL,
// and reconcile can look a charge up. A fault profile (faults.go) makes a
// share of the charges time out, fail or be slow, deterministically by seed.
package testgateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// ErrTimeout is returned by a call that TimeoutAfterCharge or
// TimeoutAfterRefund made time out after acting: the outcome is unknown to the
// caller, who must retry with the same idempotency key. It wraps
// context.DeadlineExceeded.
var ErrTimeout = fmt.Errorf("testgateway: no answer in time; the gateway may have acted: %w", context.DeadlineExceeded)

// ErrUnavailable is returned by every call while the gateway is made
// Unavailable; nothing was done.
var ErrUnavailable = errors.New("testgateway: the payment gateway is unavailable")

// behaviour is what a test card does when charged; it is part of the card's
// reference.
type behaviour string

const (
	succeeds       behaviour = "ok"
	declines       behaviour = "declined"
	noFunds        behaviour = "nofunds"
	processing     behaviour = "processing"
	customerFail   behaviour = "customerfail"
	authentication behaviour = "auth"
	expiredCard    behaviour = "expired"
)

// testCards are Stripe's test card numbers that do something other than
// succeed. Every other Luhn-valid number succeeds.
var testCards = map[string]behaviour{
	"4000000000000002": declines,
	"4000000000009995": noFunds,
	"4000000000000119": processing,
	"4000000000000341": customerFail,
	"4000002760003184": authentication,
	"4000000000000069": expiredCard,
}

// stripeTestMethods are Stripe's test PaymentMethod ids, accepted as tokens so
// that the same test tokens work with both gateways.
var stripeTestMethods = map[string]string{
	"pm_card_visa":                "4242424242424242",
	"pm_card_mastercard":          "5555555555554444",
	"pm_card_amex":                "378282246310005",
	"pm_card_discover":            "6011111111111117",
	"pm_card_visa_chargeDeclined": "4000000000000002",
	"pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
	"pm_card_chargeDeclinedProcessingError":        "4000000000000119",
	"pm_card_chargeCustomerFail":                   "4000000000000341",
	"pm_card_authenticationRequired":               "4000002760003184",
	"pm_card_chargeDeclinedExpiredCard":            "4000000000000069",
}

func behaviourOf(number string) behaviour {
	if b, ok := testCards[number]; ok {
		return b
	}
	return succeeds
}

// outcome is what charging a card that behaves as b does, at now.
func (b behaviour) outcome(expMonth, expYear int, now time.Time) (status billing.ChargeStatus, code, message string, retryable bool) {
	if (billing.Card{ExpMonth: expMonth, ExpYear: expYear}).Expired(now) {
		b = expiredCard
	}
	switch b {
	case declines, customerFail:
		return billing.ChargeFailed, billing.FailureCardDeclined, "Your card was declined.", false
	case noFunds:
		return billing.ChargeFailed, billing.FailureInsufficientFunds, "Your card has insufficient funds.", false
	case processing:
		return billing.ChargeFailed, billing.FailureProcessingError, "An error occurred while processing your card. Try again in a little bit.", true
	case authentication:
		return billing.ChargeFailed, billing.FailureAuthenticationRequired, "Your card was declined. This transaction requires authentication.", false
	case expiredCard:
		return billing.ChargeFailed, billing.FailureExpiredCard, "Your card has expired.", false
	}
	return billing.ChargeSucceeded, "", "", false
}

// ChargeRecord is one charge the gateway made, succeeded or failed: what a
// test counts to prove that nothing was charged twice.
type ChargeRecord struct {
	Ref              string
	CustomerRef      string
	PaymentMethodRef string
	Amount           billing.Money
	Refunded         billing.Money
	Status           billing.ChargeStatus
	FailureCode      string
	IdempotencyKey   string
	Description      string
	InvoiceNumber    string
	CreatedAt        time.Time
}

// RefundRecord is one refund the gateway made.
type RefundRecord struct {
	Ref            string
	ChargeRef      string
	Amount         billing.Money
	IdempotencyKey string
	CreatedAt      time.Time
}

// keyed is what an idempotency key did: the request it was first used with
// and the result it got.
type keyed struct {
	request string
	result  any
}

// Gateway is the test gateway. The zero value is not usable; call New. It is
// safe for concurrent use.
type Gateway struct {
	clock billing.Clock

	mu        sync.Mutex
	customers map[string]billing.CustomerRequest
	attached  map[string]string // card ref → customer ref
	keys      map[string]keyed
	charges   []*ChargeRecord
	byRef     map[string]*ChargeRecord
	byKey     map[string]*ChargeRecord
	refunds   []RefundRecord

	ledger       *os.File // OpenLedger's file; nil keeps everything in memory
	ledgerOffset int64    // how much of it is loaded

	faults    Faults
	faultSeed int64
	calls     map[string]int // Charge calls per key, for the fault profile

	unavailable        bool
	latency            time.Duration
	timeoutAfterCharge int
	timeoutAfterRefund int
}

var (
	_ billing.Gateway       = (*Gateway)(nil)
	_ billing.CardTokenizer = (*Gateway)(nil)
)

// New returns a test gateway that reads "now" (for card expiry) from clock;
// nil means the system clock.
func New(clock billing.Clock) *Gateway {
	if clock == nil {
		clock = billing.SystemClock{}
	}
	return &Gateway{
		clock:     clock,
		customers: make(map[string]billing.CustomerRequest),
		attached:  make(map[string]string),
		keys:      make(map[string]keyed),
		byRef:     make(map[string]*ChargeRecord),
		byKey:     make(map[string]*ChargeRecord),
		calls:     make(map[string]int),
	}
}

// TimeoutAfterCharge makes the next n Charge calls that get a result (a new
// charge, or the replay of an earlier one) record it and then return
// ErrTimeout, as if the answer were lost on the way back.
func (g *Gateway) TimeoutAfterCharge(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.timeoutAfterCharge = n
}

// TimeoutAfterRefund does for Refund what TimeoutAfterCharge does for Charge.
func (g *Gateway) TimeoutAfterRefund(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.timeoutAfterRefund = n
}

// Unavailable makes every call fail with ErrUnavailable, before doing
// anything, until it is called again with false.
func (g *Gateway) Unavailable(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.unavailable = down
}

// Latency makes every call wait d before it does anything, as a slow gateway
// would; a call whose context ends while it waits does nothing and returns
// the context's error.
func (g *Gateway) Latency(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.latency = d
}

// Charges returns a copy of every charge made, in order, failed ones
// included.
func (g *Gateway) Charges() []ChargeRecord {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]ChargeRecord, len(g.charges))
	for i, c := range g.charges {
		out[i] = *c
	}
	return out
}

// Refunds returns a copy of every refund made, in order.
func (g *Gateway) Refunds() []RefundRecord {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]RefundRecord(nil), g.refunds...)
}

// begin waits out the latency, takes the lock and refuses when the gateway is
// down. On success the caller holds g.mu and must unlock it.
func (g *Gateway) begin(ctx context.Context) error {
	g.mu.Lock()
	latency := g.latency
	g.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	if g.unavailable {
		g.mu.Unlock()
		return ErrUnavailable
	}
	if err := g.catchUp(); err != nil {
		g.mu.Unlock()
		return err
	}
	return nil
}

// replay looks key up. It returns the earlier result when key was used with
// the same request, ECONFLICT when it was used with another, and ok false when
// it is new. The caller holds g.mu.
func (g *Gateway) replay(key, request string) (result any, ok bool, err error) {
	k, found := g.keys[key]
	if !found {
		return nil, false, nil
	}
	if k.request != request {
		return nil, false, billing.ReasonErrorf(billing.ECONFLICT, "idempotency_key_reused",
			"Idempotency key %q was already used for a different request; a key names one attempt.", key)
	}
	return k.result, true, nil
}

// CreateCustomer creates a customer, once per idempotency key.
func (g *Gateway) CreateCustomer(ctx context.Context, req billing.CustomerRequest) (string, error) {
	if err := req.Validate(); err != nil {
		return "", err
	}
	if err := g.begin(ctx); err != nil {
		return "", err
	}
	defer g.mu.Unlock()
	request := fmt.Sprintf("customer %q %q %q", req.AccountNumber, req.Name, req.Email)
	if r, ok, err := g.replay(req.IdempotencyKey, request); err != nil || ok {
		ref, _ := r.(string)
		return ref, err
	}
	ref := "cus_test_" + nonce()
	g.customers[ref] = req
	g.keys[req.IdempotencyKey] = keyed{request: request, result: ref}
	return ref, nil
}

// customerKnown refuses references this gateway cannot have issued. A
// well-formed reference it does not remember was issued before a restart and
// is accepted. The caller holds g.mu.
func (g *Gateway) customerKnown(ref string) error {
	if _, ok := g.customers[ref]; ok {
		return nil
	}
	if id, ok := strings.CutPrefix(ref, "cus_test_"); ok && isHex(id) {
		return nil
	}
	return billing.ReasonErrorf(billing.ENOTFOUND, "no_such_customer", "No such customer %q at the test gateway.", ref)
}

// cardFacts is what a token carries: everything about a card but its number
// and CVC.
type cardFacts struct {
	Behaviour behaviour         `json:"b"`
	Brand     billing.CardBrand `json:"brand"`
	Last4     string            `json:"last4"`
	ExpMonth  int               `json:"m"`
	ExpYear   int               `json:"y"`
	Name      string            `json:"name,omitempty"`
}

const tokenPrefix = "tok_test_"

// TokenizeCard validates card at the gateway's now and returns a token for
// AttachCard. A Luhn-invalid number is refused with EINVALID on card_number,
// an expired card with EINVALID reason "expired_card". The token carries the
// brand, the last four digits, the expiry, the name and how the card behaves;
// never the number or the CVC.
func (g *Gateway) TokenizeCard(ctx context.Context, card billing.CardInput) (string, error) {
	if err := g.begin(ctx); err != nil {
		return "", err
	}
	g.mu.Unlock()
	if err := card.Validate(g.clock.Now()); err != nil {
		return "", err
	}
	facts := cardFacts{
		Behaviour: behaviourOf(card.Number),
		Brand:     card.Brand(),
		Last4:     card.Last4(),
		ExpMonth:  card.ExpMonth,
		ExpYear:   card.ExpYear,
		Name:      card.Name,
	}
	b, err := json.Marshal(facts)
	if err != nil {
		return "", err
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// factsOf reads a token: one TokenizeCard issued, or a Stripe test
// PaymentMethod id.
func (g *Gateway) factsOf(token string) (cardFacts, error) {
	token = strings.TrimSpace(token)
	if number, ok := stripeTestMethods[token]; ok {
		now := g.clock.Now()
		return cardFacts{
			Behaviour: behaviourOf(number),
			Brand:     billing.CardBrandOf(number),
			Last4:     number[len(number)-4:],
			ExpMonth:  12,
			ExpYear:   now.Year() + 3,
		}, nil
	}
	invalid := billing.ReasonErrorf(billing.EINVALID, "invalid_token",
		"The card token is not one the test gateway issued; enter the card again.")
	invalid.Fields = []billing.FieldError{{Field: "token", Message: "Unknown card token."}}
	enc, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return cardFacts{}, invalid
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return cardFacts{}, invalid
	}
	var f cardFacts
	if err := json.Unmarshal(b, &f); err != nil || f.Behaviour == "" || len(f.Last4) != 4 {
		return cardFacts{}, invalid
	}
	return f, nil
}

// AttachCard attaches the card a token stands for to a customer, once per
// idempotency key. Every test card attaches, those that decline included:
// they decline when charged, which is what a billing engine needs to try.
func (g *Gateway) AttachCard(ctx context.Context, req billing.AttachCardRequest) (billing.Card, error) {
	if err := req.Validate(); err != nil {
		return billing.Card{}, err
	}
	if err := g.begin(ctx); err != nil {
		return billing.Card{}, err
	}
	defer g.mu.Unlock()
	request := fmt.Sprintf("attach %q %q", req.CustomerRef, req.Token)
	if r, ok, err := g.replay(req.IdempotencyKey, request); err != nil || ok {
		card, _ := r.(billing.Card)
		return card, err
	}
	if err := g.customerKnown(req.CustomerRef); err != nil {
		return billing.Card{}, err
	}
	f, err := g.factsOf(req.Token)
	if err != nil {
		return billing.Card{}, err
	}
	if (billing.Card{ExpMonth: f.ExpMonth, ExpYear: f.ExpYear}).Expired(g.clock.Now()) {
		return billing.Card{}, &billing.Error{
			Code: billing.EINVALID, Reason: "expired_card",
			Message: fmt.Sprintf("The card expired at the end of %02d/%d.", f.ExpMonth, f.ExpYear),
			Fields:  []billing.FieldError{{Field: "exp_year", Message: "The card has expired."}},
		}
	}
	card := billing.Card{
		GatewayRef: fmt.Sprintf("pm_test_%s_%04d%02d_%s", f.Behaviour, f.ExpYear, f.ExpMonth, nonce()),
		Brand:      f.Brand,
		Last4:      f.Last4,
		ExpMonth:   f.ExpMonth,
		ExpYear:    f.ExpYear,
		Name:       f.Name,
	}
	g.attached[card.GatewayRef] = req.CustomerRef
	g.keys[req.IdempotencyKey] = keyed{request: request, result: card}
	return card, nil
}

// parseCardRef reads how a card behaves and when it expires from its
// reference, "pm_test_<behaviour>_<yyyymm>_<nonce>".
func parseCardRef(ref string) (b behaviour, month, year int, ok bool) {
	rest, ok := strings.CutPrefix(ref, "pm_test_")
	if !ok {
		return "", 0, 0, false
	}
	parts := strings.Split(rest, "_")
	if len(parts) != 3 || len(parts[1]) != 6 || !isHex(parts[2]) {
		return "", 0, 0, false
	}
	ym, err := strconv.Atoi(parts[1])
	if err != nil {
		return "", 0, 0, false
	}
	b = behaviour(parts[0])
	switch b {
	case succeeds, declines, noFunds, processing, customerFail, authentication, expiredCard:
	default:
		return "", 0, 0, false
	}
	return b, ym % 100, ym / 100, true
}

// Charge charges a card, once per idempotency key: a second call with the
// same key and request returns the first result, a decline included, and
// charges nothing.
func (g *Gateway) Charge(ctx context.Context, req billing.ChargeRequest) (billing.ChargeResult, error) {
	if err := req.Validate(); err != nil {
		return billing.ChargeResult{}, err
	}
	g.mu.Lock()
	f, slow := g.roll(req.IdempotencyKey)
	slowFor := g.faults.SlowFor
	g.mu.Unlock()
	if slow {
		if slowFor == 0 {
			slowFor = 200 * time.Millisecond
		}
		if err := wait(ctx, slowFor); err != nil {
			return billing.ChargeResult{}, err
		}
	}
	if f == faultTimeoutBefore {
		return billing.ChargeResult{}, ErrTimeout
	}
	if err := g.begin(ctx); err != nil {
		return billing.ChargeResult{}, err
	}
	defer g.mu.Unlock()
	request := fmt.Sprintf("charge %q %q %d %s %q %q",
		req.CustomerRef, req.PaymentMethodRef, req.Amount.Amount, req.Amount.Currency, req.Description, req.InvoiceNumber)
	r, ok, err := g.replay(req.IdempotencyKey, request)
	if err != nil {
		return billing.ChargeResult{}, err
	}
	result, _ := r.(billing.ChargeResult)
	if !ok {
		if result, err = g.charge(req, request, f == faultError); err != nil {
			return billing.ChargeResult{}, err
		}
	}
	if g.timeoutAfterCharge > 0 || f == faultTimeoutAfter {
		if f != faultTimeoutAfter {
			g.timeoutAfterCharge--
		}
		return billing.ChargeResult{}, ErrTimeout
	}
	return result, nil
}

// charge makes a new charge. The caller holds g.mu.
func (g *Gateway) charge(req billing.ChargeRequest, request string, processorFault bool) (billing.ChargeResult, error) {
	if err := g.customerKnown(req.CustomerRef); err != nil {
		return billing.ChargeResult{}, err
	}
	b, month, year, ok := parseCardRef(req.PaymentMethodRef)
	if !ok {
		return billing.ChargeResult{}, billing.ReasonErrorf(billing.ENOTFOUND, "no_such_payment_method",
			"No such payment method %q at the test gateway.", req.PaymentMethodRef)
	}
	if owner, known := g.attached[req.PaymentMethodRef]; known && owner != req.CustomerRef {
		return billing.ChargeResult{}, billing.ReasonErrorf(billing.EINVALID, "payment_method_not_attached",
			"Payment method %q belongs to another customer.", req.PaymentMethodRef)
	}
	now := g.clock.Now()
	status, code, message, retryable := b.outcome(month, year, now)
	if processorFault {
		status, code, message, retryable = processorError()
	}
	rec := &ChargeRecord{
		Ref:              "ch_test_" + nonce(),
		CustomerRef:      req.CustomerRef,
		PaymentMethodRef: req.PaymentMethodRef,
		Amount:           req.Amount,
		Refunded:         billing.Zero(req.Amount.Currency),
		Status:           status,
		FailureCode:      code,
		IdempotencyKey:   req.IdempotencyKey,
		Description:      req.Description,
		InvoiceNumber:    req.InvoiceNumber,
		CreatedAt:        now,
	}
	result := billing.ChargeResult{
		GatewayRef:     rec.Ref,
		Status:         status,
		FailureCode:    code,
		FailureMessage: message,
		Retryable:      retryable,
	}
	if err := g.record(ledgerEntry{Kind: "charge", Request: request, Charge: rec, Result: &result}); err != nil {
		return billing.ChargeResult{}, err
	}
	g.charges = append(g.charges, rec)
	g.byRef[rec.Ref] = rec
	g.byKey[rec.IdempotencyKey] = rec
	g.keys[req.IdempotencyKey] = keyed{request: request, result: result}
	return result, nil
}

// Refund refunds part or all of a succeeded charge, once per idempotency key.
func (g *Gateway) Refund(ctx context.Context, req billing.RefundRequest) (billing.RefundResult, error) {
	if err := req.Validate(); err != nil {
		return billing.RefundResult{}, err
	}
	if err := g.begin(ctx); err != nil {
		return billing.RefundResult{}, err
	}
	defer g.mu.Unlock()
	request := fmt.Sprintf("refund %q %d %s", req.ChargeRef, req.Amount.Amount, req.Amount.Currency)
	r, ok, err := g.replay(req.IdempotencyKey, request)
	if err != nil {
		return billing.RefundResult{}, err
	}
	result, _ := r.(billing.RefundResult)
	if !ok {
		if result, err = g.refund(req, request); err != nil {
			return billing.RefundResult{}, err
		}
	}
	if g.timeoutAfterRefund > 0 {
		g.timeoutAfterRefund--
		return billing.RefundResult{}, ErrTimeout
	}
	return result, nil
}

// refund makes a new refund. The caller holds g.mu.
func (g *Gateway) refund(req billing.RefundRequest, request string) (billing.RefundResult, error) {
	ch, ok := g.byRef[req.ChargeRef]
	if !ok {
		return billing.RefundResult{}, billing.ReasonErrorf(billing.ENOTFOUND, "no_such_charge",
			"No such charge %q at the test gateway (it keeps charges in memory, so charges made before a restart are gone).", req.ChargeRef)
	}
	if ch.Status != billing.ChargeSucceeded {
		return billing.RefundResult{}, billing.ReasonErrorf(billing.ESTATE, "charge_not_refundable",
			"Charge %s %s; only a succeeded charge can be refunded.", ch.Ref, ch.Status)
	}
	if err := ch.Amount.SameCurrency(req.Amount); err != nil {
		return billing.RefundResult{}, err
	}
	if left := ch.Amount.Sub(ch.Refunded); req.Amount.Amount > left.Amount {
		return billing.RefundResult{}, billing.ReasonErrorf(billing.EINVALID, "refund_exceeds_charge",
			"Only %s of charge %s is left to refund, not %s.", left, ch.Ref, req.Amount)
	}
	rec := RefundRecord{
		Ref:            "re_test_" + nonce(),
		ChargeRef:      ch.Ref,
		Amount:         req.Amount,
		IdempotencyKey: req.IdempotencyKey,
		CreatedAt:      g.clock.Now(),
	}
	if err := g.record(ledgerEntry{Kind: "refund", Request: request, Refund: &rec}); err != nil {
		return billing.RefundResult{}, err
	}
	ch.Refunded = ch.Refunded.Add(req.Amount)
	g.refunds = append(g.refunds, rec)
	result := billing.RefundResult{GatewayRef: rec.Ref, Status: billing.RefundSucceeded}
	g.keys[req.IdempotencyKey] = keyed{request: request, result: result}
	return result, nil
}

// nonce returns 16 random hex digits, so that references from different
// processes never collide.
func nonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
