package billing

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Gateway is a payment gateway: it keeps customers' cards and moves money.
// The gateway package holds two: a built-in test gateway (the default, works
// offline) and one on Stripe.
//
// "Every gateway call carries an idempotency key derived from the payment
// attempt, so a timeout and retry never charge twice." Each method that
// changes state therefore takes an IdempotencyKey, and a Gateway guarantees
// that one key does one thing once: a second call with the same key and the
// same request returns the first call's result (a decline included) without
// acting again, and the same key with a different request is refused with
// ECONFLICT (reason "idempotency_key_reused"). A key names one attempt: to
// try again after a decline, make a new attempt with a new key.
//
// Every method ends in one of three ways:
//
//   - A result: the gateway acted. A declined charge is a result (Status
//     ChargeFailed with a FailureCode), not an error.
//   - A refusal: a *Error with a code other than EINTERNAL (EINVALID,
//     ENOTFOUND, ECONFLICT, EPAYMENT). The gateway did nothing, and the same
//     request will be refused again; its message is safe to show.
//   - An unknown outcome: any other error (a timeout, a broken connection,
//     a gateway that is down or answers 5xx). The gateway may or may not have
//     acted. The caller MUST retry with the same idempotency key and the same
//     request until it gets a result or a refusal; it must never make a new
//     key for the same attempt. GatewayOutcomeUnknown tells this case apart.
//
// Implementations are safe for concurrent use. Concurrent calls with the same
// key act at most once.
type Gateway interface {
	// CreateCustomer creates the gateway's customer for an account and returns
	// its reference (Stripe: "cus_…"), which the caller stores on the account.
	CreateCustomer(ctx context.Context, req CustomerRequest) (customerRef string, err error)

	// AttachCard attaches the card that Token stands for to a customer and
	// returns what may be kept of it. Token is made by the gateway from the
	// card details, never by us: on Stripe a PaymentMethod id ("pm_…", made by
	// Stripe.js in the browser; "pm_card_visa" and the like in test mode) or
	// a card token ("tok_…"); on the test gateway what its TokenizeCard
	// returns, or one of Stripe's test PaymentMethod ids. A card the gateway
	// refuses to attach is a refusal: EINVALID for bad or expired details,
	// EPAYMENT when the issuer declines it.
	AttachCard(ctx context.Context, req AttachCardRequest) (Card, error)

	// Charge takes Amount from the customer's card, off session (the customer
	// is not there to authenticate). A decline is a result with Status
	// ChargeFailed; ChargePending means the gateway has not decided yet and
	// the charge must be looked at again later, not charged again.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)

	// Refund returns Amount of a succeeded charge (ChargeResult.GatewayRef) to
	// the card. Refunding more than is left of the charge is refused
	// (EINVALID), as is refunding a charge that did not succeed (ESTATE).
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)

	// LookupCharge asks what became of a charge, by its gateway reference
	// when the caller has one, else by the idempotency key it was sent with
	// (Stripe: the PaymentIntent, or a search of PaymentIntents by the key
	// kept in their metadata). It never charges. found is false when the
	// gateway has no charge for the key: nothing was taken. An error leaves
	// the question open (ask again later).
	LookupCharge(ctx context.Context, q ChargeLookup) (res ChargeResult, found bool, err error)
}

// ChargeLookup names a charge to look up: GatewayRef when known, else
// IdempotencyKey (and CustomerRef, which narrows a search).
type ChargeLookup struct {
	IdempotencyKey string
	GatewayRef     string
	CustomerRef    string
}

// CardTokenizer is implemented by gateways that turn card details into a
// token on our server: only the test gateway. A real gateway never lets card
// numbers reach us; the browser sends them to the gateway and posts us the
// token. The console asks for card details only when the gateway is a
// CardTokenizer.
type CardTokenizer interface {
	// TokenizeCard validates card (see CardInput.Validate) and returns a token
	// for AttachCard. It keeps neither the number nor the CVC.
	TokenizeCard(ctx context.Context, card CardInput) (token string, err error)
}

// GatewayOutcomeUnknown reports whether err, returned by a Gateway, leaves the
// outcome unknown: the gateway may have acted, and the call must be retried
// with the same idempotency key. It is false for nil and for refusals.
func GatewayOutcomeUnknown(err error) bool {
	return err != nil && ErrorCode(err) == EINTERNAL
}

// MaxIdempotencyKeyLen is the longest idempotency key a gateway accepts
// (Stripe's limit).
const MaxIdempotencyKeyLen = 255

// ValidateIdempotencyKey returns an EINVALID error naming field
// "idempotency_key" unless key is 1 to 255 printable ASCII characters without
// spaces.
func ValidateIdempotencyKey(key string) error {
	var v Validation
	validateIdempotencyKey(&v, key)
	return v.Err()
}

func validateIdempotencyKey(v *Validation, key string) {
	if key == "" {
		v.Add("idempotency_key", "An idempotency key is required.")
		return
	}
	if len(key) > MaxIdempotencyKeyLen {
		v.Add("idempotency_key", "An idempotency key must be at most %d characters.", MaxIdempotencyKeyLen)
		return
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			v.Add("idempotency_key", "An idempotency key must be printable ASCII without spaces.")
			return
		}
	}
}

// CustomerRequest asks a gateway to create a customer for an account.
type CustomerRequest struct {
	AccountNumber  string // stored on the gateway's customer, to find it there
	Name           string // the billing profile's company name
	Email          string // the billing contact, for the gateway's receipts
	IdempotencyKey string
}

// Validate checks that the request names an account and carries a key.
func (r CustomerRequest) Validate() error {
	var v Validation
	if strings.TrimSpace(r.AccountNumber) == "" {
		v.Add("account_number", "An account number is required.")
	}
	if len(r.Name) > 200 {
		v.Add("name", "Name must be at most 200 characters.")
	}
	if len(r.Email) > 254 {
		v.Add("email", "Email must be at most 254 characters.")
	}
	validateIdempotencyKey(&v, r.IdempotencyKey)
	return v.Err()
}

// AttachCardRequest asks a gateway to attach the card Token stands for to a
// customer.
type AttachCardRequest struct {
	CustomerRef    string
	Token          string
	IdempotencyKey string
}

// Validate checks that every field is present.
func (r AttachCardRequest) Validate() error {
	var v Validation
	if r.CustomerRef == "" {
		v.Add("customer_ref", "A customer reference is required.")
	}
	if strings.TrimSpace(r.Token) == "" {
		v.Add("token", "A card token is required.")
	}
	validateIdempotencyKey(&v, r.IdempotencyKey)
	return v.Err()
}

// CardBrand is a card network, as Stripe names it.
type CardBrand string

const (
	CardVisa       CardBrand = "visa"
	CardMastercard CardBrand = "mastercard"
	CardAmex       CardBrand = "amex"
	CardDiscover   CardBrand = "discover"
	CardUnknown    CardBrand = "unknown"
)

// Card is what we keep of a card: the gateway's reference and what is shown
// to people. We never keep the card number or the CVC.
type Card struct {
	GatewayRef string    `json:"gateway_ref"` // Stripe: the PaymentMethod id, "pm_…"
	Brand      CardBrand `json:"brand"`
	Last4      string    `json:"last4"`
	ExpMonth   int       `json:"exp_month"` // 1–12
	ExpYear    int       `json:"exp_year"`  // four digits
	Name       string    `json:"name,omitempty"`
}

// Expired reports whether the card has expired at now: a card is good
// through the last day of its expiry month.
func (c Card) Expired(now time.Time) bool { return cardExpired(c.ExpMonth, c.ExpYear, now) }

func cardExpired(month, year int, now time.Time) bool {
	now = now.UTC()
	return year < now.Year() || (year == now.Year() && month < int(now.Month()))
}

// CardInput is a card as a person types it. Only the test gateway's
// TokenizeCard takes one: with a real gateway the details go from the browser
// straight to the gateway. It must never be stored or logged; its String and
// LogValue show only the brand and last four digits.
type CardInput struct {
	Number   string // spaces and dashes allowed
	ExpMonth int    // 1–12
	ExpYear  int    // four digits, or two (25 means 2025)
	CVC      string
	Name     string // the name on the card; optional
}

// The lengths of a card number this module accepts: payment card numbers
// (ISO/IEC 7812 primary account numbers) issued today have 12 (some
// Maestro) to 19 digits. The console's hint and the validation's message
// are both written from these, so they cannot disagree.
const (
	CardNumberMinDigits = 12
	CardNumberMaxDigits = 19
)

// CardNumberDigits says the accepted lengths: "12 to 19".
func CardNumberDigits() string {
	return strconv.Itoa(CardNumberMinDigits) + " to " + strconv.Itoa(CardNumberMaxDigits)
}

// Validate checks the card at now and normalises it: the number without
// spaces or dashes, a four-digit year, a trimmed name. Field names in its
// EINVALID error are card_number, exp_month, exp_year, cvc, name; an expired
// card has reason "expired_card".
func (c *CardInput) Validate(now time.Time) error {
	var v Validation
	c.Number = NormalizeCardNumber(c.Number)
	c.CVC = strings.TrimSpace(c.CVC)
	c.Name = strings.TrimSpace(c.Name)
	if c.ExpYear >= 0 && c.ExpYear < 100 {
		c.ExpYear += 2000
	}

	switch {
	case c.Number == "":
		v.Add("card_number", "A card number is required.")
	case !allDigits(c.Number):
		v.Add("card_number", "A card number has only digits.")
	case len(c.Number) < CardNumberMinDigits || len(c.Number) > CardNumberMaxDigits:
		v.Add("card_number", "A card number has %s digits.", CardNumberDigits())
	case !LuhnValid(c.Number):
		v.Add("card_number", "The card number is not valid; check it for a typing mistake.")
	}
	monthOK := c.ExpMonth >= 1 && c.ExpMonth <= 12
	if !monthOK {
		v.Add("exp_month", "The expiry month must be 1 to 12.")
	}
	yearOK := c.ExpYear >= 2000 && c.ExpYear <= 2099
	if !yearOK {
		v.Add("exp_year", "The expiry year must be between 2000 and 2099.")
	}
	wantCVC := 3
	if CardBrandOf(c.Number) == CardAmex {
		wantCVC = 4
	}
	if len(c.CVC) != wantCVC || !allDigits(c.CVC) {
		v.Add("cvc", "The security code (CVC) has %d digits.", wantCVC)
	}
	if len(c.Name) > 200 {
		v.Add("name", "The name on the card must be at most 200 characters.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if cardExpired(c.ExpMonth, c.ExpYear, now) {
		return &Error{
			Code:    EINVALID,
			Reason:  "expired_card",
			Message: fmt.Sprintf("The card expired at the end of %02d/%d.", c.ExpMonth, c.ExpYear),
			Fields:  []FieldError{{Field: "exp_year", Message: "The card has expired."}},
		}
	}
	return nil
}

// Brand returns the card's network, known from its first digits.
func (c CardInput) Brand() CardBrand { return CardBrandOf(c.Number) }

// Last4 returns the last four digits of the number.
func (c CardInput) Last4() string {
	n := NormalizeCardNumber(c.Number)
	if len(n) < 4 {
		return ""
	}
	return n[len(n)-4:]
}

// String shows the card as "visa •••• 4242": never the number or the CVC.
func (c CardInput) String() string { return fmt.Sprintf("%s •••• %s", c.Brand(), c.Last4()) }

// GoString is String, so that %#v does not print the number either.
func (c CardInput) GoString() string { return c.String() }

// LogValue is String, so that slog does not log the number either.
func (c CardInput) LogValue() slog.Value { return slog.StringValue(c.String()) }

// NormalizeCardNumber removes the spaces and dashes people type in card
// numbers.
func NormalizeCardNumber(number string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(number))
}

// LuhnValid reports whether number (digits only) passes the Luhn check that
// every card number carries in its last digit.
func LuhnValid(number string) bool {
	if number == "" || !allDigits(number) {
		return false
	}
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// CardBrandOf returns the network of a card number from its prefix: Visa 4;
// Mastercard 51–55 and 2221–2720; American Express 34 and 37; Discover 6011
// and 65.
func CardBrandOf(number string) CardBrand {
	n := NormalizeCardNumber(number)
	prefix := func(k int) int {
		if len(n) < k || !allDigits(n[:k]) {
			return -1
		}
		p := 0
		for i := 0; i < k; i++ {
			p = p*10 + int(n[i]-'0')
		}
		return p
	}
	switch p2, p4 := prefix(2), prefix(4); {
	case prefix(1) == 4:
		return CardVisa
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return CardMastercard
	case p2 == 34 || p2 == 37:
		return CardAmex
	case p4 == 6011 || p2 == 65:
		return CardDiscover
	}
	return CardUnknown
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ChargeRequest asks a gateway to charge a customer's card off session.
type ChargeRequest struct {
	CustomerRef      string
	PaymentMethodRef string // Card.GatewayRef
	Amount           Money  // positive, in the currency's minor units
	IdempotencyKey   string // derived from the payment attempt
	Description      string // shown on the gateway's dashboard and receipts
	InvoiceNumber    string // stored with the charge, to find it there
}

// Validate checks that the request names a customer and a card, charges a
// positive amount in an ISO 4217 currency and carries a key.
func (r ChargeRequest) Validate() error {
	var v Validation
	if r.CustomerRef == "" {
		v.Add("customer_ref", "A customer reference is required.")
	}
	if r.PaymentMethodRef == "" {
		v.Add("payment_method_ref", "A payment method reference is required.")
	}
	validateAmount(&v, r.Amount)
	validateIdempotencyKey(&v, r.IdempotencyKey)
	if len(r.Description) > 1000 {
		v.Add("description", "A description must be at most 1000 characters.")
	}
	if len(r.InvoiceNumber) > 100 {
		v.Add("invoice_number", "An invoice number must be at most 100 characters.")
	}
	return v.Err()
}

func validateAmount(v *Validation, m Money) {
	if err := ValidateCurrency(m.Currency); err != nil {
		v.Add("amount.currency", "%s", ErrorMessage(err))
	}
	if m.Amount <= 0 {
		v.Add("amount", "The amount must be positive, not %s.", m)
	}
}

// ChargeStatus is how a charge ended.
type ChargeStatus string

const (
	ChargeSucceeded ChargeStatus = "succeeded"
	ChargeFailed    ChargeStatus = "failed"
	// ChargePending: the gateway has not decided yet; look again later and
	// do not charge again.
	ChargePending ChargeStatus = "pending"
)

// Failure codes of declined charges, as Stripe names them. A gateway may
// return others; these are the ones the test gateway produces.
const (
	FailureCardDeclined           = "card_declined"
	FailureInsufficientFunds      = "insufficient_funds"
	FailureProcessingError        = "processing_error"
	FailureExpiredCard            = "expired_card"
	FailureAuthenticationRequired = "authentication_required"
)

// ChargeResult is what a gateway did with a charge.
type ChargeResult struct {
	// GatewayRef identifies the charge at the gateway (Stripe: the
	// PaymentIntent id, "pi_…"); failed charges have one too when the gateway
	// recorded the attempt.
	GatewayRef     string       `json:"gateway_ref"`
	Status         ChargeStatus `json:"status"`
	FailureCode    string       `json:"failure_code,omitempty"`    // for ChargeFailed, e.g. "card_declined"
	FailureMessage string       `json:"failure_message,omitempty"` // safe to show to the customer
	// Retryable: the failure was on the gateway's or the issuer's side
	// (processing_error, try_again_later), so a new attempt soon, with a new
	// key, may succeed without the customer doing anything. Declines that need
	// the customer (card_declined, insufficient_funds, expired_card) are not
	// Retryable; the retry schedule still tries them again.
	Retryable bool `json:"retryable,omitempty"`
}

// RefundRequest asks a gateway to refund part or all of a succeeded charge.
type RefundRequest struct {
	ChargeRef      string // ChargeResult.GatewayRef
	Amount         Money  // positive; at most what is left of the charge
	IdempotencyKey string
}

// Validate checks that the request names a charge, refunds a positive amount
// and carries a key.
func (r RefundRequest) Validate() error {
	var v Validation
	if r.ChargeRef == "" {
		v.Add("charge_ref", "A charge reference is required.")
	}
	validateAmount(&v, r.Amount)
	validateIdempotencyKey(&v, r.IdempotencyKey)
	return v.Err()
}

// RefundStatus is how a refund stands.
type RefundStatus string

const (
	RefundSucceeded RefundStatus = "succeeded"
	RefundPending   RefundStatus = "pending" // the gateway will finish it later
	RefundFailed    RefundStatus = "failed"
)

// RefundResult is what a gateway did with a refund.
type RefundResult struct {
	GatewayRef string       `json:"gateway_ref"` // Stripe: "re_…"
	Status     RefundStatus `json:"status"`
}
