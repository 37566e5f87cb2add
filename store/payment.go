package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Payments: the gateway's customer of each account, payment methods,
// payment attempts and bank transfers, refunds and dunning events. The
// engine decides the rules (engine/collect.go); these are the SQL.

// PaymentMethodKind is how a method pays: a card at the gateway, or bank
// transfer (ACH / EFT) against an invoice, for contracts.
type PaymentMethodKind string

const (
	MethodCard PaymentMethodKind = "card"
	MethodACH  PaymentMethodKind = "ach"
)

// PaymentMethod is one way an account pays. A card is the gateway's token
// (GatewayRef) and what may be shown of it: never the number or the CVC.
type PaymentMethod struct {
	ID          int64
	AccountID   int64
	Kind        PaymentMethodKind
	Default     bool
	Gateway     string // the gateway that holds the card
	GatewayRef  string // Stripe: "pm_…"
	CustomerRef string // the gateway customer the card is attached to
	Brand       billing.CardBrand
	Last4       string
	ExpMonth    int
	ExpYear     int
	BillingName string
	// Bank transfer details, as an operator enters them.
	BankName      string
	AccountHolder string
	AccountLast4  string
	RemittanceRef string // what the customer quotes on the transfer
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// brandNames are how statements name card brands.
var brandNames = map[billing.CardBrand]string{
	billing.CardVisa: "Visa", billing.CardMastercard: "Mastercard", billing.CardAmex: "American Express",
	billing.CardDiscover: "Discover",
}

// Label is the method as statements show it: "Visa •••• 4242", "Bank
// transfer (First Bank •••• 6789)".
func (m *PaymentMethod) Label() string {
	if m.Kind == MethodCard {
		name, ok := brandNames[m.Brand]
		if !ok {
			name = "Card"
		}
		return name + " •••• " + m.Last4
	}
	var parts []string
	if m.BankName != "" {
		parts = append(parts, m.BankName)
	}
	if m.AccountLast4 != "" {
		parts = append(parts, "•••• "+m.AccountLast4)
	}
	if len(parts) == 0 {
		return "Bank transfer"
	}
	return "Bank transfer (" + strings.Join(parts, " ") + ")"
}

// PaymentMethodSnapshot is what the audit trail records of a method.
type PaymentMethodSnapshot struct {
	ID            int64             `json:"id"`
	Kind          PaymentMethodKind `json:"kind"`
	Default       bool              `json:"default"`
	Label         string            `json:"label"`
	ExpMonth      int               `json:"exp_month,omitempty"`
	ExpYear       int               `json:"exp_year,omitempty"`
	BillingName   string            `json:"billing_name,omitempty"`
	AccountHolder string            `json:"account_holder,omitempty"`
	RemittanceRef string            `json:"remittance_ref,omitempty"`
}

// Snapshot returns the audit trail's view of the method.
func (m *PaymentMethod) Snapshot() PaymentMethodSnapshot {
	return PaymentMethodSnapshot{ID: m.ID, Kind: m.Kind, Default: m.Default, Label: m.Label(), ExpMonth: m.ExpMonth,
		ExpYear: m.ExpYear, BillingName: m.BillingName, AccountHolder: m.AccountHolder, RemittanceRef: m.RemittanceRef}
}

const paymentMethodColumns = `id, account_id, kind, is_default, gateway, gateway_ref, customer_ref, brand, last4,
	exp_month, exp_year, billing_name, bank_name, account_holder, account_last4, remittance_ref, created_at, updated_at`

func scanPaymentMethod(row interface{ Scan(...any) error }) (*PaymentMethod, error) {
	var m PaymentMethod
	err := row.Scan(&m.ID, &m.AccountID, &m.Kind, &m.Default, &m.Gateway, &m.GatewayRef, &m.CustomerRef, &m.Brand,
		&m.Last4, &m.ExpMonth, &m.ExpYear, &m.BillingName, &m.BankName, &m.AccountHolder, &m.AccountLast4,
		&m.RemittanceRef, scanTime(&m.CreatedAt), scanTime(&m.UpdatedAt))
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// GatewayCustomer returns the account's customer reference at gateway, ""
// when it has none yet.
func (db *DB) GatewayCustomer(ctx context.Context, accountID int64, gateway string) (string, error) {
	return db.gatewayCustomer(ctx, db.read, accountID, gateway)
}

// GatewayCustomer is DB.GatewayCustomer in the transaction.
func (tx *Tx) GatewayCustomer(accountID int64, gateway string) (string, error) {
	return tx.db.gatewayCustomer(tx.ctx, tx.q, accountID, gateway)
}

func (db *DB) gatewayCustomer(ctx context.Context, q querier, accountID int64, gateway string) (string, error) {
	var ref string
	err := q.QueryRowContext(ctx, `SELECT customer_ref FROM gateway_customers WHERE account_id = $1 AND gateway = $2`,
		accountID, gateway).Scan(&ref)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return ref, dbError(err, "find gateway customer", "")
}

// SaveGatewayCustomer records the account's customer at gateway, keeping
// the one recorded first.
func (tx *Tx) SaveGatewayCustomer(accountID int64, gateway, ref string) error {
	_, err := tx.q.ExecContext(tx.ctx, `
		INSERT INTO gateway_customers (account_id, gateway, customer_ref, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, gateway) DO NOTHING`, accountID, gateway, ref, tx.db.timeArg(tx.now))
	return dbError(err, "save gateway customer", "")
}

// CreatePaymentMethod stores m, setting its ID and timestamps. A card
// already on file (the same gateway reference) is an ECONFLICT.
func (tx *Tx) CreatePaymentMethod(m *PaymentMethod) error {
	now := tx.db.timeArg(tx.now)
	err := tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO payment_methods (account_id, kind, is_default, gateway, gateway_ref, customer_ref, brand, last4,
			exp_month, exp_year, billing_name, bank_name, account_holder, account_last4, remittance_ref, created_at,
			updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
		RETURNING id`,
		m.AccountID, m.Kind, m.Default, m.Gateway, m.GatewayRef, m.CustomerRef, m.Brand, m.Last4, m.ExpMonth,
		m.ExpYear, m.BillingName, m.BankName, m.AccountHolder, m.AccountLast4, m.RemittanceRef, now).Scan(&m.ID)
	if err != nil {
		return paymentError(err, "create payment method")
	}
	m.CreatedAt, m.UpdatedAt = tx.now, tx.now
	return nil
}

// UpdatePaymentMethod stores the bank details of a method (the only ones
// that change) and its default flag.
func (tx *Tx) UpdatePaymentMethod(m *PaymentMethod) error {
	_, err := tx.q.ExecContext(tx.ctx, `
		UPDATE payment_methods SET is_default = $1, bank_name = $2, account_holder = $3, account_last4 = $4,
			remittance_ref = $5, billing_name = $6, updated_at = $7
		WHERE id = $8 AND removed_at IS NULL`,
		m.Default, m.BankName, m.AccountHolder, m.AccountLast4, m.RemittanceRef, m.BillingName, tx.db.timeArg(tx.now), m.ID)
	if err != nil {
		return paymentError(err, "update payment method")
	}
	m.UpdatedAt = tx.now
	return nil
}

// ClearDefaultPaymentMethod makes none of the account's methods the
// default, so that another can become it.
func (tx *Tx) ClearDefaultPaymentMethod(accountID int64) error {
	_, err := tx.q.ExecContext(tx.ctx, `UPDATE payment_methods SET is_default = $1, updated_at = $2
		WHERE account_id = $3 AND is_default = $4 AND removed_at IS NULL`, false, tx.db.timeArg(tx.now), accountID, true)
	return dbError(err, "clear default payment method", "")
}

// RemovePaymentMethod takes a method off file. The row stays, for the
// payments that name it.
func (tx *Tx) RemovePaymentMethod(id int64) error {
	_, err := tx.q.ExecContext(tx.ctx, `UPDATE payment_methods SET removed_at = $1, is_default = $2, updated_at = $1
		WHERE id = $3`, tx.db.timeArg(tx.now), false, id)
	return dbError(err, "remove payment method", "")
}

// FindPaymentMethod returns one of the account's methods on file, or
// ENOTFOUND.
func (tx *Tx) FindPaymentMethod(accountID, id int64) (*PaymentMethod, error) {
	m, err := scanPaymentMethod(tx.q.QueryRowContext(tx.ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
		WHERE account_id = $1 AND id = $2 AND removed_at IS NULL`, accountID, id))
	if err != nil {
		return nil, dbError(err, "find payment method", "Payment method")
	}
	return m, nil
}

// DefaultPaymentMethod returns the account's default method, nil when it
// has none.
func (tx *Tx) DefaultPaymentMethod(accountID int64) (*PaymentMethod, error) {
	m, err := scanPaymentMethod(tx.q.QueryRowContext(tx.ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
		WHERE account_id = $1 AND is_default = $2 AND removed_at IS NULL`, accountID, true))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, dbError(err, "find default payment method", "")
	}
	return m, nil
}

// PaymentMethods returns the account's methods on file, the default first,
// then oldest first.
func (tx *Tx) PaymentMethods(accountID int64) ([]*PaymentMethod, error) {
	return tx.db.paymentMethods(tx.ctx, tx.q, accountID)
}

// FindPaymentMethods is Tx.PaymentMethods outside a transaction.
func (db *DB) FindPaymentMethods(ctx context.Context, accountID int64) ([]*PaymentMethod, error) {
	return db.paymentMethods(ctx, db.read, accountID)
}

func (db *DB) paymentMethods(ctx context.Context, q querier, accountID int64) ([]*PaymentMethod, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
		WHERE account_id = $1 AND removed_at IS NULL ORDER BY is_default DESC, id`, accountID)
	if err != nil {
		return nil, dbError(err, "find payment methods", "")
	}
	defer rows.Close()
	out := []*PaymentMethod{}
	for rows.Next() {
		m, err := scanPaymentMethod(rows)
		if err != nil {
			return nil, dbError(err, "find payment methods", "")
		}
		out = append(out, m)
	}
	return out, dbError(rows.Err(), "find payment methods", "")
}

// PaymentStatus is where a payment stands. DESIGN: "status (succeeded,
// failed, pending, refunded)"; unknown is a pending attempt whose gateway
// call ended without an answer, to be asked again with the same key.
type PaymentStatus string

const (
	PaymentPending   PaymentStatus = "pending"
	PaymentUnknown   PaymentStatus = "unknown"
	PaymentSucceeded PaymentStatus = "succeeded"
	PaymentFailed    PaymentStatus = "failed"
	PaymentRefunded  PaymentStatus = "refunded"
)

// InFlight reports whether the gateway may still act on the attempt.
func (s PaymentStatus) InFlight() bool { return s == PaymentPending || s == PaymentUnknown }

// PaymentTrigger says why an attempt was made.
type PaymentTrigger string

const (
	TriggerInitial      PaymentTrigger = "initial"    // charged when issued
	TriggerRetry        PaymentTrigger = "retry"      // the retry schedule
	TriggerManual       PaymentTrigger = "manual"     // someone asked to pay now
	TriggerNewMethod    PaymentTrigger = "new_method" // a new default card
	TriggerBankTransfer PaymentTrigger = "bank_transfer"
)

// Payment is one attempt to collect an invoice: a card charge, or a bank
// transfer an operator recorded.
type Payment struct {
	ID              int64
	AccountID       int64
	InvoiceID       int64
	InvoiceNumber   string // read with the payment
	PaymentMethodID *int64
	Method          PaymentMethodKind
	Trigger         PaymentTrigger
	Amount          billing.Money
	AmountRefunded  billing.Money
	// AmountOverpaid is the part of a succeeded payment its invoice no
	// longer owed when the money arrived; it went to the credit balance.
	AmountOverpaid billing.Money
	Status         PaymentStatus
	IdempotencyKey string // "charge:<id>" for a card; "" for a bank transfer
	// The request the gateway got, kept to send it again identically.
	CustomerRef    string
	MethodRef      string
	MethodLabel    string // "Visa •••• 4242", "Bank transfer"
	GatewayRef     string
	FailureCode    string
	FailureMessage string
	Retryable      bool
	Reference      string        // a bank transfer's reference
	ReceivedOn     *billing.Date // when a bank transfer arrived
	AttemptedAt    time.Time     // the account's time
	FirstCalledAt  *time.Time    // the engine's time of the first gateway call
	ResolvedAt     *time.Time
	NextCheckAt    *time.Time // when an attempt in flight is asked again
	Checks         int
	CreatedBy      string
}

const paymentColumns = `p.id, p.account_id, p.invoice_id, coalesce(i.number, ''), p.payment_method_id, p.method,
	p.trigger, p.amount, p.currency, p.amount_refunded, p.status, coalesce(p.idempotency_key, ''), p.customer_ref,
	p.method_ref, p.method_label, p.gateway_ref, p.failure_code, p.failure_message, p.retryable, p.reference,
	p.received_on, p.attempted_at, p.first_called_at, p.resolved_at, p.next_check_at, p.checks, p.created_by,
	p.amount_overpaid`

const paymentFrom = ` FROM payments p JOIN invoices i ON i.id = p.invoice_id`

func scanPayment(row interface{ Scan(...any) error }) (*Payment, error) {
	var p Payment
	var methodID sql.NullInt64
	var received billing.Date
	err := row.Scan(&p.ID, &p.AccountID, &p.InvoiceID, &p.InvoiceNumber, &methodID, &p.Method, &p.Trigger,
		&p.Amount.Amount, &p.Amount.Currency, &p.AmountRefunded.Amount, &p.Status, &p.IdempotencyKey, &p.CustomerRef,
		&p.MethodRef, &p.MethodLabel, &p.GatewayRef, &p.FailureCode, &p.FailureMessage, &p.Retryable, &p.Reference,
		scanDate(&received), scanTime(&p.AttemptedAt), scanNullTime(&p.FirstCalledAt), scanNullTime(&p.ResolvedAt),
		scanNullTime(&p.NextCheckAt), &p.Checks, &p.CreatedBy, &p.AmountOverpaid.Amount)
	if err != nil {
		return nil, err
	}
	p.AmountRefunded.Currency = p.Amount.Currency
	p.AmountOverpaid.Currency = p.Amount.Currency
	if methodID.Valid {
		p.PaymentMethodID = &methodID.Int64
	}
	if !received.IsZero() {
		p.ReceivedOn = &received
	}
	return &p, nil
}

// CreatePayment stores p, setting its ID, and for a card attempt its
// idempotency key, "charge:<id>": the key names the attempt, so every call
// for it — the first and each retry after an unknown outcome — carries the
// same key.
func (tx *Tx) CreatePayment(p *Payment) error {
	if p.Amount.Amount <= 0 {
		return billing.Errorf(billing.EINVALID, "A payment is of a positive amount.")
	}
	var received any
	if p.ReceivedOn != nil {
		received = p.ReceivedOn.String()
	}
	p.AttemptedAt = tx.now
	err := tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO payments (account_id, invoice_id, payment_method_id, method, trigger, amount, currency, status,
			customer_ref, method_ref, method_label, gateway_ref, failure_code, failure_message, retryable, reference,
			received_on, attempted_at, resolved_at, next_check_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		RETURNING id`,
		p.AccountID, p.InvoiceID, p.PaymentMethodID, p.Method, p.Trigger, p.Amount.Amount, p.Amount.Currency, p.Status,
		p.CustomerRef, p.MethodRef, p.MethodLabel, p.GatewayRef, p.FailureCode, p.FailureMessage, p.Retryable,
		p.Reference, received, tx.db.timeArg(tx.now), tx.db.nullTimeArg(p.ResolvedAt), tx.db.nullTimeArg(p.NextCheckAt),
		p.CreatedBy).Scan(&p.ID)
	if err != nil {
		return paymentError(err, "create payment")
	}
	p.AmountRefunded = billing.Zero(p.Amount.Currency)
	p.AmountOverpaid = billing.Zero(p.Amount.Currency)
	if p.Method == MethodCard && p.Status.InFlight() {
		p.IdempotencyKey = "charge:" + strconv.FormatInt(p.ID, 10)
		if _, err := tx.q.ExecContext(tx.ctx, `UPDATE payments SET idempotency_key = $1 WHERE id = $2`,
			p.IdempotencyKey, p.ID); err != nil {
			return paymentError(err, "create payment")
		}
	}
	return nil
}

// UpdatePayment stores what a payment came to: its status, the gateway's
// answer, the times and how much was refunded.
func (tx *Tx) UpdatePayment(p *Payment) error {
	_, err := tx.q.ExecContext(tx.ctx, `
		UPDATE payments SET status = $1, gateway_ref = $2, failure_code = $3, failure_message = $4, retryable = $5,
			first_called_at = $6, resolved_at = $7, next_check_at = $8, checks = $9, amount_refunded = $10,
			amount_overpaid = $11
		WHERE id = $12`,
		p.Status, p.GatewayRef, p.FailureCode, p.FailureMessage, p.Retryable, tx.db.nullTimeArg(p.FirstCalledAt),
		tx.db.nullTimeArg(p.ResolvedAt), tx.db.nullTimeArg(p.NextCheckAt), p.Checks, p.AmountRefunded.Amount,
		p.AmountOverpaid.Amount, p.ID)
	return paymentError(err, "update payment")
}

// FindPayment returns one payment, in the transaction.
func (tx *Tx) FindPayment(id int64) (*Payment, error) {
	p, err := scanPayment(tx.q.QueryRowContext(tx.ctx, `SELECT `+paymentColumns+paymentFrom+` WHERE p.id = $1`, id))
	if err != nil {
		return nil, dbError(err, "find payment", "Payment")
	}
	return p, nil
}

// InvoicePayments returns the payments of an invoice, oldest first.
func (tx *Tx) InvoicePayments(invoiceID int64) ([]*Payment, error) {
	return tx.db.payments(tx.ctx, tx.q, `p.invoice_id = $1 ORDER BY p.id`, invoiceID)
}

// InFlightPayments returns the account's attempts whose outcome is not
// known yet, oldest first.
func (tx *Tx) InFlightPayments(accountID int64) ([]*Payment, error) {
	return tx.db.payments(tx.ctx, tx.q, `p.account_id = $1 AND p.status IN ('pending', 'unknown') ORDER BY p.id`, accountID)
}

// PaymentFilter selects an account's payments, newest first.
type PaymentFilter struct {
	AccountID int64
	InvoiceID *int64
	Status    *PaymentStatus
	Limit     int
	Offset    int
}

// FindPayments returns a page of payments and how many match.
func (db *DB) FindPayments(ctx context.Context, f PaymentFilter) ([]*Payment, int, error) {
	limit, offset := pageLimit(f.Limit, f.Offset)
	var a args
	where := "p.account_id = " + a.add(f.AccountID)
	if f.InvoiceID != nil {
		where += " AND p.invoice_id = " + a.add(*f.InvoiceID)
	}
	if f.Status != nil {
		where += " AND p.status = " + a.add(*f.Status)
	}
	var out []*Payment
	var total int
	err := db.inReadTx(ctx, "find payments", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+paymentFrom+` WHERE `+where, a...).Scan(&total); err != nil {
			return dbError(err, "count payments", "")
		}
		var err error
		page := append(args{}, a...)
		out, err = db.payments(ctx, tx, where+" ORDER BY p.id DESC LIMIT "+page.add(limit)+" OFFSET "+page.add(offset), page...)
		return err
	})
	return out, total, err
}

func (db *DB) payments(ctx context.Context, q querier, where string, arg ...any) ([]*Payment, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+paymentColumns+paymentFrom+` WHERE `+where, arg...)
	if err != nil {
		return nil, dbError(err, "find payments", "")
	}
	defer rows.Close()
	out := []*Payment{}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, dbError(err, "find payments", "")
		}
		out = append(out, p)
	}
	return out, dbError(rows.Err(), "find payments", "")
}

// RefundStatus is where a refund stands; unknown, as for payments, is a
// gateway call that ended without an answer.
type RefundStatus string

const (
	RefundPending   RefundStatus = "pending"
	RefundUnknown   RefundStatus = "unknown"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// InFlight reports whether the gateway may still act on the refund.
func (s RefundStatus) InFlight() bool { return s == RefundPending || s == RefundUnknown }

// Refund gives back part or all of a payment: at the gateway for a card
// ("refund:<id>" is its key), recorded for a bank transfer; with the credit
// note that corrects the invoice.
type Refund struct {
	ID             int64
	AccountID      int64
	InvoiceID      int64
	InvoiceNumber  string
	PaymentID      int64
	CreditNoteID   *int64
	CreditNote     string // the credit note's number, read with the refund
	Amount         billing.Money
	Reason         string
	Status         RefundStatus
	IdempotencyKey string
	ChargeRef      string
	GatewayRef     string
	FailureMessage string
	MethodLabel    string // of the payment refunded, read with the refund
	CreatedAt      time.Time
	FirstCalledAt  *time.Time
	ResolvedAt     *time.Time
	NextCheckAt    *time.Time
	Checks         int
	CreatedBy      string
}

const refundColumns = `r.id, r.account_id, r.invoice_id, coalesce(i.number, ''), r.payment_id, r.credit_note_id,
	coalesce(n.number, ''), r.amount, r.currency, r.reason, r.status, coalesce(r.idempotency_key, ''), r.charge_ref,
	r.gateway_ref, r.failure_message, p.method_label, r.created_at, r.first_called_at, r.resolved_at, r.next_check_at,
	r.checks, r.created_by`

const refundFrom = ` FROM refunds r JOIN invoices i ON i.id = r.invoice_id JOIN payments p ON p.id = r.payment_id
	LEFT JOIN invoices n ON n.id = r.credit_note_id`

func scanRefund(row interface{ Scan(...any) error }) (*Refund, error) {
	var r Refund
	var note sql.NullInt64
	err := row.Scan(&r.ID, &r.AccountID, &r.InvoiceID, &r.InvoiceNumber, &r.PaymentID, &note, &r.CreditNote,
		&r.Amount.Amount, &r.Amount.Currency, &r.Reason, &r.Status, &r.IdempotencyKey, &r.ChargeRef, &r.GatewayRef,
		&r.FailureMessage, &r.MethodLabel, scanTime(&r.CreatedAt), scanNullTime(&r.FirstCalledAt),
		scanNullTime(&r.ResolvedAt), scanNullTime(&r.NextCheckAt), &r.Checks, &r.CreatedBy)
	if err != nil {
		return nil, err
	}
	if note.Valid {
		r.CreditNoteID = &note.Int64
	}
	return &r, nil
}

// CreateRefund stores r, setting its ID and, when it goes to the gateway
// (ChargeRef set), its idempotency key "refund:<id>".
func (tx *Tx) CreateRefund(r *Refund) error {
	r.CreatedAt = tx.now
	err := tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO refunds (account_id, invoice_id, payment_id, amount, currency, reason, status, charge_ref,
			created_at, next_check_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		r.AccountID, r.InvoiceID, r.PaymentID, r.Amount.Amount, r.Amount.Currency, r.Reason, r.Status, r.ChargeRef,
		tx.db.timeArg(tx.now), tx.db.nullTimeArg(r.NextCheckAt), r.CreatedBy).Scan(&r.ID)
	if err != nil {
		return paymentError(err, "create refund")
	}
	if r.ChargeRef != "" {
		r.IdempotencyKey = "refund:" + strconv.FormatInt(r.ID, 10)
		if _, err := tx.q.ExecContext(tx.ctx, `UPDATE refunds SET idempotency_key = $1 WHERE id = $2`,
			r.IdempotencyKey, r.ID); err != nil {
			return paymentError(err, "create refund")
		}
	}
	return nil
}

// UpdateRefund stores what a refund came to.
func (tx *Tx) UpdateRefund(r *Refund) error {
	_, err := tx.q.ExecContext(tx.ctx, `
		UPDATE refunds SET status = $1, gateway_ref = $2, failure_message = $3, credit_note_id = $4,
			first_called_at = $5, resolved_at = $6, next_check_at = $7, checks = $8
		WHERE id = $9`,
		r.Status, r.GatewayRef, r.FailureMessage, r.CreditNoteID, tx.db.nullTimeArg(r.FirstCalledAt),
		tx.db.nullTimeArg(r.ResolvedAt), tx.db.nullTimeArg(r.NextCheckAt), r.Checks, r.ID)
	return paymentError(err, "update refund")
}

// FindRefund returns one refund, in the transaction.
func (tx *Tx) FindRefund(id int64) (*Refund, error) {
	list, err := tx.db.refunds(tx.ctx, tx.q, `r.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, billing.Errorf(billing.ENOTFOUND, "Refund not found.")
	}
	return list[0], nil
}

// InvoiceRefunds returns the refunds of an invoice, oldest first.
func (tx *Tx) InvoiceRefunds(invoiceID int64) ([]*Refund, error) {
	return tx.db.refunds(tx.ctx, tx.q, `r.invoice_id = $1 ORDER BY r.id`, invoiceID)
}

// InFlightRefunds returns the account's refunds whose outcome is not known
// yet, oldest first.
func (tx *Tx) InFlightRefunds(accountID int64) ([]*Refund, error) {
	return tx.db.refunds(tx.ctx, tx.q, `r.account_id = $1 AND r.status IN ('pending', 'unknown') ORDER BY r.id`, accountID)
}

// FindRefunds returns the account's refunds, newest first.
func (db *DB) FindRefunds(ctx context.Context, accountID int64, limit, offset int) ([]*Refund, error) {
	limit, offset = pageLimit(limit, offset)
	return db.refunds(ctx, db.read, `r.account_id = $1 ORDER BY r.id DESC LIMIT $2 OFFSET $3`, accountID, limit, offset)
}

func (db *DB) refunds(ctx context.Context, q querier, where string, arg ...any) ([]*Refund, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+refundColumns+refundFrom+` WHERE `+where, arg...)
	if err != nil {
		return nil, dbError(err, "find refunds", "")
	}
	defer rows.Close()
	out := []*Refund{}
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, dbError(err, "find refunds", "")
		}
		out = append(out, r)
	}
	return out, dbError(rows.Err(), "find refunds", "")
}

// DunningKind is what dunning did to an open invoice.
type DunningKind string

const (
	DunningReminder  DunningKind = "reminder"  // a payment reminder, OffsetDays from the due date
	DunningOverdue   DunningKind = "overdue"   // a bank-transfer invoice passed its due date
	DunningPastDue   DunningKind = "past_due"  // the card retry schedule ran out
	DunningSuspended DunningKind = "suspended" // the account was suspended for it
)

// DunningEvent records one dunning step for an invoice, once.
type DunningEvent struct {
	ID         int64
	AccountID  int64
	InvoiceID  int64
	Kind       DunningKind
	OffsetDays int
	DueOn      billing.Date
	CreatedAt  time.Time
}

// RecordDunningEvent stores ev, setting its ID; the same (invoice, kind,
// offset) twice is an ECONFLICT.
func (tx *Tx) RecordDunningEvent(ev *DunningEvent) error {
	ev.CreatedAt = tx.now
	err := tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO dunning_events (account_id, invoice_id, kind, offset_days, due_on, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		ev.AccountID, ev.InvoiceID, ev.Kind, ev.OffsetDays, ev.DueOn.String(), tx.db.timeArg(tx.now)).Scan(&ev.ID)
	return paymentError(err, "record dunning event")
}

// DunningEvents returns the dunning events of the account's invoices, by
// invoice, oldest first.
func (tx *Tx) DunningEvents(accountID int64) (map[int64][]*DunningEvent, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT id, account_id, invoice_id, kind, offset_days, due_on, created_at
		FROM dunning_events WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, dbError(err, "find dunning events", "")
	}
	list, err := scanDunningEvents(rows)
	if err != nil {
		return nil, err
	}
	out := map[int64][]*DunningEvent{}
	for _, ev := range list {
		out[ev.InvoiceID] = append(out[ev.InvoiceID], ev)
	}
	return out, nil
}

// FindDunningEvents returns the account's dunning events, oldest first.
func (db *DB) FindDunningEvents(ctx context.Context, accountID int64) ([]*DunningEvent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, account_id, invoice_id, kind, offset_days, due_on, created_at
		FROM dunning_events WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, dbError(err, "find dunning events", "")
	}
	return scanDunningEvents(rows)
}

func scanDunningEvents(rows *sql.Rows) ([]*DunningEvent, error) {
	defer rows.Close()
	out := []*DunningEvent{}
	for rows.Next() {
		var ev DunningEvent
		if err := rows.Scan(&ev.ID, &ev.AccountID, &ev.InvoiceID, &ev.Kind, &ev.OffsetDays, scanDate(&ev.DueOn),
			scanTime(&ev.CreatedAt)); err != nil {
			return nil, dbError(err, "find dunning events", "")
		}
		out = append(out, &ev)
	}
	return out, dbError(rows.Err(), "find dunning events", "")
}

// OpenInvoices returns the account's finalized invoices that still owe
// something (open, amount due above zero), oldest first, with their lines.
func (tx *Tx) OpenInvoices(accountID int64) ([]*billing.Invoice, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT i.id FROM invoices i
		WHERE i.account_id = $1 AND i.status = 'open' AND i.amount_due > 0 AND i.kind <> 'credit_note'
		ORDER BY i.issue_date, i.id`, accountID)
	if err != nil {
		return nil, dbError(err, "find open invoices", "")
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, dbError(err, "find open invoices", "")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "find open invoices", "")
	}
	out := make([]*billing.Invoice, 0, len(ids))
	for _, id := range ids {
		inv, err := tx.FindInvoice(id)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

// SetAccountStatus moves the account's status (dunning: past_due,
// suspended, and back to active). The caller has locked the account and
// writes the audit event.
func (tx *Tx) SetAccountStatus(accountID int64, status billing.AccountStatus) error {
	_, err := tx.q.ExecContext(tx.ctx, `UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3`,
		status, tx.db.timeArg(tx.now), accountID)
	return dbError(err, "set account status", "")
}

// paymentError is dbError with the payment tables' unique keys named.
func paymentError(err error, op string) error {
	if err == nil {
		return nil
	}
	e := dbError(err, op, "")
	if billing.ErrorCode(e) != billing.ECONFLICT {
		return e
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "payment_methods_gateway_ref_key"), strings.Contains(msg, "payment_methods.account_id, payment_methods.gateway_ref"):
		return billing.ReasonErrorf(billing.ECONFLICT, "payment_method_exists", "This card is on file already.")
	case strings.Contains(msg, "payment_methods_default_key"), strings.Contains(msg, "payment_methods.account_id"):
		return billing.ReasonErrorf(billing.ECONFLICT, "default_changed", "The default payment method was changed at the same time; try again.")
	case strings.Contains(msg, "payments_in_flight_key"), strings.Contains(msg, "payments.invoice_id"):
		return billing.ReasonErrorf(billing.ESTATE, "payment_in_progress", "A payment of this invoice is in progress; wait for its outcome.")
	case strings.Contains(msg, "refunds_in_flight_key"), strings.Contains(msg, "refunds.payment_id"):
		return billing.ReasonErrorf(billing.ESTATE, "refund_in_progress", "A refund of this payment is in progress; wait for its outcome.")
	case strings.Contains(msg, "dunning_events"):
		return billing.ReasonErrorf(billing.ECONFLICT, "dunning_event_exists", "This dunning step was taken already.")
	}
	return e
}
