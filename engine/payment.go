package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// PaymentConfig configures collection. The zero value is DESIGN's rules:
// "a failure is retried on days 1, 3, 5 and 7", suspension right after the
// last retry, reminders a week before, on and a week after the due date.
type PaymentConfig struct {
	// RetryDays are the days after the first failure on which a failed
	// charge is tried again; nil means 1, 3, 5, 7. An empty, non-nil slice
	// means no retries: the first failure is the last.
	RetryDays []int
	// SuspendAfterDays is the grace, in days after the last failed retry,
	// before the account is suspended; 0 suspends on the day of the last
	// retry.
	SuspendAfterDays int
	// ReminderDays are the days, relative to a bank-transfer invoice's due
	// date, on which a reminder is recorded; nil means -7, 0, 7.
	ReminderDays []int
	// RecheckAfter is how long after a gateway call with no answer (a
	// timeout) the same attempt is asked again, with the same key; 0 means
	// 10 minutes.
	RecheckAfter time.Duration
	// GatewayTimeout bounds one gateway call; 0 means 30 seconds.
	GatewayTimeout time.Duration
	// KeyLifetime is how long the gateway remembers an idempotency key
	// (Stripe: 24 hours). An attempt still without an answer after it is
	// left for an operator to reconcile rather than sent again, since a
	// forgotten key could charge twice; 0 means 23 hours.
	KeyLifetime time.Duration
	// GatewayName tells the gateway's customers and cards apart from
	// another gateway's ("test", "stripe"); "" means "default".
	GatewayName string
}

// DefaultRetryDays and DefaultReminderDays are DESIGN's schedule.
var (
	DefaultRetryDays    = []int{1, 3, 5, 7}
	DefaultReminderDays = []int{-7, 0, 7}
)

func (c PaymentConfig) validate() error {
	var problems []string
	for i, d := range c.RetryDays {
		if d < 1 || (i > 0 && d <= c.RetryDays[i-1]) {
			problems = append(problems, "Payments.RetryDays must be increasing days of 1 or more")
			break
		}
	}
	if c.SuspendAfterDays < 0 {
		problems = append(problems, "Payments.SuspendAfterDays cannot be negative")
	}
	for i, d := range c.ReminderDays {
		if i > 0 && d <= c.ReminderDays[i-1] {
			problems = append(problems, "Payments.ReminderDays must be increasing")
			break
		}
	}
	if c.RecheckAfter < 0 || c.GatewayTimeout < 0 || c.KeyLifetime < 0 {
		problems = append(problems, "Payments durations cannot be negative")
	}
	if len(problems) > 0 {
		return errors.New("engine: " + strings.Join(problems, "; "))
	}
	return nil
}

// Notification is a payment or dunning change, for the webhooks and email
// the platform and billing contacts get. Type is the webhook event type
// where there is one.
type Notification struct {
	Type          string // invoice.finalized, invoice.paid, payment.failed, subscription.updated, account.suspended, account.reactivated, invoice.payment_reminder, invoice.overdue, refund.succeeded, managed_users.limit_reached, payment_method.card_expiring
	AccountID     int64
	AccountNumber string
	Invoice       *billing.Invoice
	Payment       *store.Payment
	Refund        *store.Refund
	// Method is the card of payment_method.card_expiring.
	Method *store.PaymentMethod
	// Limit is what managed_users.limit_reached says (engine/notify_limit.go).
	Limit *LimitReached
	// NextRetry is the day of the next scheduled retry of a failed payment;
	// zero when none is left.
	NextRetry billing.Date
	// OffsetDays is a reminder's distance from the due date.
	OffsetDays int
}

// Notification types.
const (
	NotifyInvoiceFinalized    = "invoice.finalized"
	NotifyInvoicePaid         = "invoice.paid"
	NotifyPaymentFailed       = "payment.failed"
	NotifySubscriptionUpdated = "subscription.updated"
	NotifyAccountSuspended    = "account.suspended"
	NotifyAccountReactivated  = "account.reactivated"
	NotifyPaymentReminder     = "invoice.payment_reminder"
	NotifyInvoiceOverdue      = "invoice.overdue"
	NotifyRefundSucceeded     = "refund.succeeded"
)

// NotifyFunc receives each notification in the transaction of its change,
// so that an event is written if and only if the change is (an outbox). An
// error rolls the change back.
//
// TODO(webhooks, email): cmd wires this to webhook.PublishTx and
// mail.QueueTx once they take a *store.Tx.
type NotifyFunc func(ctx context.Context, tx *store.Tx, n Notification) error

// payments is the engine's collection settings, defaults filled in.
type payments struct {
	gateway        billing.Gateway
	name           string
	retryDays      []int
	suspendAfter   int
	reminderDays   []int
	recheckAfter   time.Duration
	gatewayTimeout time.Duration
	keyLifetime    time.Duration
	notify         NotifyFunc
}

func newPayments(c Config) payments {
	p := payments{gateway: c.Gateway, name: c.Payments.GatewayName, retryDays: c.Payments.RetryDays,
		suspendAfter: c.Payments.SuspendAfterDays, reminderDays: c.Payments.ReminderDays,
		recheckAfter: c.Payments.RecheckAfter, gatewayTimeout: c.Payments.GatewayTimeout,
		keyLifetime: c.Payments.KeyLifetime, notify: c.Notify}
	if p.name == "" {
		p.name = "default"
	}
	if p.retryDays == nil {
		p.retryDays = DefaultRetryDays
	}
	if p.reminderDays == nil {
		p.reminderDays = DefaultReminderDays
	}
	if p.recheckAfter == 0 {
		p.recheckAfter = 10 * time.Minute
	}
	if p.gatewayTimeout == 0 {
		p.gatewayTimeout = 30 * time.Second
	}
	if p.keyLifetime == 0 {
		p.keyLifetime = 23 * time.Hour
	}
	p.retryDays = slices.Clone(p.retryDays)
	p.reminderDays = slices.Clone(p.reminderDays)
	return p
}

func (e *Engine) notify(ctx context.Context, tx *store.Tx, n Notification) error {
	if e.pay.notify == nil {
		return nil
	}
	return e.pay.notify(ctx, tx, n)
}

// errNoGateway is what payment operations answer when collection is off.
func errNoGateway() error {
	return billing.ReasonErrorf(billing.ESTATE, "payments_disabled", "Payments are not configured on this server.")
}

// CardTokenizer returns the gateway as a billing.CardTokenizer when it
// turns card details into tokens itself (the test gateway): only then may
// card numbers be sent to us.
func (e *Engine) CardTokenizer() (billing.CardTokenizer, bool) {
	t, ok := e.pay.gateway.(billing.CardTokenizer)
	return t, ok
}

// PaymentMethods returns the account's payment methods, the default first.
func (e *Engine) PaymentMethods(ctx context.Context, accountID int64) ([]*store.PaymentMethod, error) {
	return e.db.FindPaymentMethods(ctx, accountID)
}

// AddCardRequest attaches a card: Token is what the gateway made of the
// card details (Stripe: "pm_…"; the test gateway: TokenizeCard's answer).
type AddCardRequest struct {
	Token string
	// Default makes the card the default method; the first method always
	// is.
	Default bool
}

// MethodResult is a payment method after a change, and the open invoices
// that a new default card was charged for at once.
type MethodResult struct {
	Method  *store.PaymentMethod
	Retried []*store.Payment
}

// gatewayCall runs fn with the gateway timeout.
func (e *Engine) gatewayCall(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, e.pay.gatewayTimeout)
	defer cancel()
	return fn(ctx)
}

// customer returns the account's customer at the gateway, creating it the
// first time ("lazily"), with a key derived from the account so that a
// retried creation makes no second customer. It stores nothing: the caller
// saves the reference with what it attached.
func (e *Engine) customer(ctx context.Context, a *billing.Account) (string, error) {
	ref, err := e.db.GatewayCustomer(ctx, a.ID, e.pay.name)
	if err != nil || ref != "" {
		return ref, err
	}
	err = e.gatewayCall(ctx, func(ctx context.Context) error {
		ref, err = e.pay.gateway.CreateCustomer(ctx, billing.CustomerRequest{AccountNumber: a.Number, Name: a.Name,
			IdempotencyKey: "customer:" + a.Number})
		return err
	})
	if err != nil {
		return "", gatewayRefusal(err, "create the payment customer")
	}
	return ref, nil
}

// gatewayRefusal passes a gateway's refusal on (its message is safe to
// show) and turns an unknown outcome, where nothing is recorded, into a
// plain error: the caller may simply try again.
func gatewayRefusal(err error, what string) error {
	if billing.GatewayOutcomeUnknown(err) {
		return fmt.Errorf("engine: the payment gateway did not answer to %s: %w", what, err)
	}
	return err
}

// AddCard attaches a card to the account at the gateway and keeps what may
// be kept of it (brand, last four digits, expiry, name). A default card is
// used at the next transaction, and at once: the account's open invoices
// are charged to it ("paying the open invoice … a new card … restores
// it"). A card the gateway refuses (unknown or expired) changes nothing.
func (e *Engine) AddCard(ctx context.Context, accountID int64, req AddCardRequest) (*MethodResult, error) {
	if e.pay.gateway == nil {
		return nil, errNoGateway()
	}
	req.Token = strings.TrimSpace(req.Token)
	if req.Token == "" {
		return nil, &billing.Error{Code: billing.EINVALID, Message: "A card token is required.",
			Fields: []billing.FieldError{{Field: "token", Message: "Required."}}}
	}
	a, err := e.db.FindAccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.Status == billing.StatusClosed {
		return nil, billing.ReasonErrorf(billing.ESTATE, "account_closed", "Account %s is closed.", a.Number)
	}
	customer, err := e.customer(ctx, a)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(req.Token))
	var card billing.Card
	err = e.gatewayCall(ctx, func(ctx context.Context) error {
		card, err = e.pay.gateway.AttachCard(ctx, billing.AttachCardRequest{CustomerRef: customer, Token: req.Token,
			IdempotencyKey: "attach:" + a.Number + ":" + hex.EncodeToString(sum[:16])})
		return err
	})
	if err != nil {
		return nil, gatewayRefusal(err, "attach the card")
	}
	m := &store.PaymentMethod{AccountID: accountID, Kind: store.MethodCard, Gateway: e.pay.name,
		GatewayRef: card.GatewayRef, CustomerRef: customer, Brand: card.Brand, Last4: card.Last4,
		ExpMonth: card.ExpMonth, ExpYear: card.ExpYear, BillingName: card.Name}
	if err := e.saveMethod(ctx, m, req.Default, customer); err != nil {
		return nil, err
	}
	return e.afterMethodChange(ctx, m)
}

// BankDetails are what an operator records of an account's bank transfer
// arrangement (ACH / EFT), shown on its invoices.
type BankDetails struct {
	BankName      string
	AccountHolder string
	AccountLast4  string // the last four digits of the account the customer pays from
	RemittanceRef string // the reference the customer quotes
}

func (d *BankDetails) validate() error {
	var v billing.Validation
	d.BankName = strings.TrimSpace(d.BankName)
	d.AccountHolder = strings.TrimSpace(d.AccountHolder)
	d.AccountLast4 = strings.TrimSpace(d.AccountLast4)
	d.RemittanceRef = strings.TrimSpace(d.RemittanceRef)
	if len(d.BankName) > 100 {
		v.Add("bank_name", "At most 100 characters.")
	}
	if d.AccountHolder == "" || len(d.AccountHolder) > 200 {
		v.Add("account_holder", "The account holder is required, in at most 200 characters.")
	}
	if d.AccountLast4 != "" && (len(d.AccountLast4) != 4 || strings.Trim(d.AccountLast4, "0123456789") != "") {
		v.Add("account_last4", "The last four digits of the bank account, or nothing.")
	}
	if len(d.RemittanceRef) > 100 {
		v.Add("remittance_ref", "At most 100 characters.")
	}
	return v.Err()
}

// AddBankTransfer records that the account pays by bank transfer (ACH /
// EFT) against its invoices. Only contracts pay so ("ACH / bank transfer
// (invoice) for contracts"); the API lets only operators call it.
func (e *Engine) AddBankTransfer(ctx context.Context, accountID int64, d BankDetails, makeDefault bool) (*MethodResult, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	a, err := e.db.FindAccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.BillingType != billing.BillingSubscription {
		return nil, billing.ReasonErrorf(billing.ESTATE, "bank_transfer_contracts_only",
			"Account %s is billed online, by card; bank transfer is for contracts.", a.Number)
	}
	m := &store.PaymentMethod{AccountID: accountID, Kind: store.MethodACH, BankName: d.BankName,
		AccountHolder: d.AccountHolder, AccountLast4: d.AccountLast4, RemittanceRef: d.RemittanceRef}
	if err := e.saveMethod(ctx, m, makeDefault, ""); err != nil {
		return nil, err
	}
	return &MethodResult{Method: m, Retried: []*store.Payment{}}, nil
}

// saveMethod stores a new method, making it the default when asked or
// when the account has none, with the gateway customer on first use.
func (e *Engine) saveMethod(ctx context.Context, m *store.PaymentMethod, makeDefault bool, customer string) error {
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, m.AccountID)
		if err != nil {
			return err
		}
		if customer != "" {
			if err := tx.SaveGatewayCustomer(st.a.ID, e.pay.name, customer); err != nil {
				return err
			}
		}
		current, err := tx.DefaultPaymentMethod(st.a.ID)
		if err != nil {
			return err
		}
		m.Default = makeDefault || current == nil
		if m.Default && current != nil {
			if err := tx.ClearDefaultPaymentMethod(st.a.ID); err != nil {
				return err
			}
		}
		if err := tx.CreatePaymentMethod(m); err != nil {
			return err
		}
		return tx.Audit("payment_method.create", "payment_method", st.a.Number, st.a.ID, nil, m.Snapshot())
	})
}

// afterMethodChange charges the open invoices to a new default card.
func (e *Engine) afterMethodChange(ctx context.Context, m *store.PaymentMethod) (*MethodResult, error) {
	out := &MethodResult{Method: m, Retried: []*store.Payment{}}
	if !m.Default || m.Kind != store.MethodCard {
		return out, nil
	}
	paid, err := e.chargeOpenInvoices(ctx, m.AccountID, store.TriggerNewMethod)
	out.Retried = paid
	return out, err
}

// UpdateBankTransfer changes the bank details of an account's bank transfer
// method (an operator's action).
func (e *Engine) UpdateBankTransfer(ctx context.Context, accountID, methodID int64, d BankDetails) (*store.PaymentMethod, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	var out *store.PaymentMethod
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		m, err := tx.FindPaymentMethod(st.a.ID, methodID)
		if err != nil {
			return err
		}
		if m.Kind != store.MethodACH {
			return billing.ReasonErrorf(billing.ESTATE, "card_details_fixed",
				"A card's details belong to the gateway; add the new card instead.")
		}
		before := m.Snapshot()
		m.BankName, m.AccountHolder, m.AccountLast4, m.RemittanceRef = d.BankName, d.AccountHolder, d.AccountLast4, d.RemittanceRef
		if err := tx.UpdatePaymentMethod(m); err != nil {
			return err
		}
		out = m
		return tx.Audit("payment_method.update", "payment_method", st.a.Number, st.a.ID, before, m.Snapshot())
	})
	return out, err
}

// SetDefaultMethod makes the method the account's default, effective at
// once: the next charge uses it. A card made the default is charged the
// open invoices at once, as a new card is.
func (e *Engine) SetDefaultMethod(ctx context.Context, accountID, methodID int64) (*MethodResult, error) {
	var m *store.PaymentMethod
	changed := false
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if m, err = tx.FindPaymentMethod(st.a.ID, methodID); err != nil {
			return err
		}
		if m.Default {
			return nil
		}
		if m.Kind == store.MethodACH && billing.ActorFromContext(ctx).Role != billing.RoleOperator {
			// A contract admin may switch to a card; back to bank
			// transfer is Kore's decision (its terms were agreed).
			return billing.ReasonErrorf(billing.EFORBIDDEN, "bank_transfer_by_operator",
				"Only Kore can move the account back to paying by bank transfer; contact Kore support.")
		}
		current, err := tx.DefaultPaymentMethod(st.a.ID)
		if err != nil {
			return err
		}
		var before any
		if current != nil {
			before = current.Snapshot()
		}
		if err := tx.ClearDefaultPaymentMethod(st.a.ID); err != nil {
			return err
		}
		m.Default = true
		if err := tx.UpdatePaymentMethod(m); err != nil {
			return err
		}
		changed = true
		return tx.Audit("payment_method.default", "payment_method", st.a.Number, st.a.ID, before, m.Snapshot())
	})
	if err != nil {
		return nil, err
	}
	if !changed {
		return &MethodResult{Method: m, Retried: []*store.Payment{}}, nil
	}
	return e.afterMethodChange(ctx, m)
}

// RemoveMethod takes a method off file. The default method of a paid
// subscription stays until another is made the default, so that the next
// charge has a method.
func (e *Engine) RemoveMethod(ctx context.Context, accountID, methodID int64) error {
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		m, err := tx.FindPaymentMethod(st.a.ID, methodID)
		if err != nil {
			return err
		}
		if m.Default && st.sub.IsPaid() {
			return billing.ReasonErrorf(billing.ESTATE, "default_payment_method",
				"%s is the default payment method of a paid subscription; make another method the default first.", m.Label())
		}
		if err := tx.RemovePaymentMethod(m.ID); err != nil {
			return err
		}
		return tx.Audit("payment_method.delete", "payment_method", st.a.Number, st.a.ID, m.Snapshot(), nil)
	})
}

// InvoicePaymentMethod names the payment method a statement prints: the
// method of the invoice's last succeeded payment, or, while it is open,
// the account's default method; "" when there is none.
func (e *Engine) InvoicePaymentMethod(ctx context.Context, inv *billing.Invoice) (string, error) {
	id := inv.ID
	list, _, err := e.db.FindPayments(ctx, store.PaymentFilter{AccountID: inv.AccountID, InvoiceID: &id, Limit: 100})
	if err != nil {
		return "", err
	}
	for _, p := range list { // newest first
		if p.Status == store.PaymentSucceeded || p.Status == store.PaymentRefunded {
			return p.MethodLabel, nil
		}
	}
	if inv.Status != billing.InvoiceOpen {
		return "", nil
	}
	methods, err := e.db.FindPaymentMethods(ctx, inv.AccountID)
	if err != nil {
		return "", err
	}
	for _, m := range methods {
		if m.Default {
			return m.Label(), nil
		}
	}
	return "", nil
}
