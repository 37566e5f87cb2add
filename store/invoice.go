package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kore-billing/korebill/billing"
)

// Invoices. DESIGN: "Finalized invoices never change; corrections are
// credit notes." An invoice is inserted as a draft with its lines and then
// finalized in the same transaction; once finalized, the store's code
// refuses any change to its lines and amounts (UpdateInvoice), and triggers
// refuse them in the database too. Only the status, what was paid and is
// due, the payment type and the status times move.

// ErrAlreadyBilled is the reason of the ECONFLICT returned when an invoice
// for the same (subscription, period, kind) exists: DESIGN's exactly-once
// rule, enforced by the invoices_period_key unique index.
const ErrAlreadyBilled = "already_billed"

// InvoiceFilter selects an account's invoices, newest first.
type InvoiceFilter struct {
	AccountID int64
	Offset    int
	Limit     int
}

const invoiceColumns = `i.id, i.number, i.account_id, i.subscription_id, i.kind, i.status, i.currency,
	i.period_start, i.period_end, i.issue_date, i.due_date, i.payment_type, i.account_number, i.account_type,
	i.billed_to, i.subtotal, i.credits_applied, i.tax, i.total, i.amount_paid, i.amount_due, i.tax_rate_bp,
	i.tax_country, i.corrects_invoice_id, i.created_at, i.finalized_at, i.paid_at, i.voided_at,
	i.marked_uncollectible_at`

func scanInvoice(row interface{ Scan(...any) error }) (*billing.Invoice, error) {
	var inv billing.Invoice
	var number sql.NullString
	var subID, corrects sql.NullInt64
	var due billing.Date
	var billedTo string
	err := row.Scan(&inv.ID, &number, &inv.AccountID, &subID, &inv.Kind, &inv.Status, &inv.Currency,
		scanDate(&inv.Period.Start), scanDate(&inv.Period.End), scanDate(&inv.IssueDate), scanDate(&due),
		&inv.PaymentType, &inv.AccountNumber, &inv.AccountType, &billedTo, &inv.Subtotal.Amount,
		&inv.CreditsApplied.Amount, &inv.Tax.Amount, &inv.Total.Amount, &inv.AmountPaid.Amount,
		&inv.AmountDue.Amount, &inv.TaxRateBP, &inv.TaxCountry, &corrects, scanTime(&inv.CreatedAt),
		scanNullTime(&inv.FinalizedAt), scanNullTime(&inv.PaidAt), scanNullTime(&inv.VoidedAt),
		scanNullTime(&inv.MarkedUncollectibleAt))
	if err != nil {
		return nil, err
	}
	inv.Number = number.String
	if subID.Valid {
		inv.SubscriptionID = &subID.Int64
	}
	if corrects.Valid {
		inv.CorrectsInvoiceID = &corrects.Int64
	}
	if !due.IsZero() {
		inv.DueDate = &due
	}
	if err := json.Unmarshal([]byte(billedTo), &inv.BilledTo); err != nil {
		return nil, fmt.Errorf("billed to of invoice %d: %w", inv.ID, err)
	}
	for _, m := range []*billing.Money{&inv.Subtotal, &inv.CreditsApplied, &inv.Tax, &inv.Total, &inv.AmountPaid, &inv.AmountDue} {
		m.Currency = inv.Currency
	}
	return &inv, nil
}

// CreateInvoice validates inv and stores it with its lines: as a draft, then,
// when inv.Status is not draft, finalized in the same transaction with the
// next number of its issue year (a void invoice gets none). It sets inv's
// ID, Number and timestamps. An invoice of a subscription's period that
// exists already is an ECONFLICT with reason ErrAlreadyBilled.
func (tx *Tx) CreateInvoice(inv *billing.Invoice) error {
	status := inv.Status
	if status == "" {
		status = billing.InvoiceDraft
	}
	if inv.Number != "" {
		return billing.Errorf(billing.EINVALID, "An invoice gets its number when it is finalized.")
	}
	// Validate as the draft it is first stored as.
	inv.Status = billing.InvoiceDraft
	if err := inv.Validate(); err != nil {
		inv.Status = status
		return err
	}
	billedTo, err := json.Marshal(inv.BilledTo)
	if err != nil {
		return fmt.Errorf("create invoice: %w", err)
	}
	var due any
	if inv.DueDate != nil {
		due = inv.DueDate.String()
	}
	now := tx.db.timeArg(tx.now)
	err = tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO invoices (account_id, subscription_id, kind, status, currency, period_start, period_end,
			issue_date, due_date, payment_type, account_number, account_type, billed_to, subtotal,
			credits_applied, tax, total, amount_paid, amount_due, tax_rate_bp, tax_country,
			corrects_invoice_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
			$21, $22, $23, $24)
		RETURNING id`,
		inv.AccountID, inv.SubscriptionID, inv.Kind, billing.InvoiceDraft, inv.Currency,
		dateArg(inv.Period.Start), dateArg(inv.Period.End), inv.IssueDate.String(), due, inv.PaymentType,
		inv.AccountNumber, inv.AccountType, string(billedTo), inv.Subtotal.Amount, inv.CreditsApplied.Amount,
		inv.Tax.Amount, inv.Total.Amount, inv.AmountPaid.Amount, inv.AmountDue.Amount, inv.TaxRateBP,
		inv.TaxCountry, inv.CorrectsInvoiceID, now, now).Scan(&inv.ID)
	if err != nil {
		inv.Status = status
		return invoiceError(err, "create invoice")
	}
	inv.CreatedAt = tx.now
	if err := tx.insertLines(inv.ID, inv.Lines); err != nil {
		return err
	}
	if status == billing.InvoiceDraft {
		return nil
	}
	return tx.finalize(inv, status)
}

func (tx *Tx) insertLines(invoiceID int64, lines []billing.InvoiceLine) error {
	for i, l := range lines {
		_, err := tx.q.ExecContext(tx.ctx, `
			INSERT INTO invoice_lines (invoice_id, position, description, kind, quantity, unit_amount, days,
				period_days, amount, period_start, period_end, proration)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			invoiceID, i+1, l.Description, l.Kind, l.Quantity, l.UnitAmount.Amount, l.Days, l.PeriodDays,
			l.Amount.Amount, dateArg(l.Period.Start), dateArg(l.Period.End), l.Proration)
		if err != nil {
			return invoiceError(err, "create invoice line")
		}
	}
	return nil
}

// finalize moves a stored draft to status: it takes the next number of the
// issue year (none for a void draft) and records the status times.
func (tx *Tx) finalize(inv *billing.Invoice, status billing.InvoiceStatus) error {
	if status != billing.InvoiceOpen && status != billing.InvoicePaid && status != billing.InvoiceVoid {
		return billing.ReasonErrorf(billing.ESTATE, "invalid_invoice_transition", "A draft is finalized as open, paid or void, not %s.", status)
	}
	var number any
	if status != billing.InvoiceVoid {
		n, err := tx.nextInvoiceNumber(inv.IssueDate.Year)
		if err != nil {
			return err
		}
		inv.Number, number = n, n
	}
	now := tx.now
	inv.Status = status
	inv.FinalizedAt = &now
	switch status {
	case billing.InvoicePaid:
		inv.PaidAt = &now
	case billing.InvoiceVoid:
		inv.VoidedAt = &now
	}
	_, err := tx.q.ExecContext(tx.ctx, `
		UPDATE invoices SET status = $1, number = $2, finalized_at = $3, paid_at = $4, voided_at = $5,
			amount_paid = $6, amount_due = $7, payment_type = $8, updated_at = $3
		WHERE id = $9`,
		status, number, tx.db.timeArg(now), tx.db.nullTimeArg(inv.PaidAt), tx.db.nullTimeArg(inv.VoidedAt),
		inv.AmountPaid.Amount, inv.AmountDue.Amount, inv.PaymentType, inv.ID)
	return invoiceError(err, "finalize invoice")
}

// nextInvoiceNumber takes the next number of the year in the caller's
// transaction: "INV-2026-000042". DESIGN: "number INV- + year + gapless
// sequence". The counter row is written, not read from a sequence, so a
// rolled-back transaction gives its number back; on PostgreSQL the row lock
// makes concurrent finalizations of one year take their numbers in turn.
func (tx *Tx) nextInvoiceNumber(year int) (string, error) {
	var n int64
	err := tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO invoice_number_counters (year, last) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last = invoice_number_counters.last + 1
		RETURNING last`, year).Scan(&n)
	if err != nil {
		return "", dbError(err, "next invoice number", "")
	}
	return billing.FormatInvoiceNumber(year, n), nil
}

// UpdateInvoice stores inv's changes. A draft may change anything and is
// finalized (numbered) when inv.Status leaves draft. A finalized invoice
// may only move its status (along billing.CanTransition), amount paid and
// due, payment type and status times: any other difference is an ESTATE
// error with reason "invoice_not_editable" and nothing is written.
func (tx *Tx) UpdateInvoice(inv *billing.Invoice) error {
	cur, err := tx.findInvoice("i.id = $1", inv.ID)
	if err != nil {
		return err
	}
	if cur.Status.Finalized() {
		if !sameInvoiceContent(cur, inv) {
			return billing.ReasonErrorf(billing.ESTATE, "invoice_not_editable",
				"Invoice %s is %s; finalized invoices never change. Issue a credit note instead.", cur.Number, cur.Status)
		}
		if inv.Status != cur.Status {
			if err := billing.CheckTransition(cur.Status, inv.Status); err != nil {
				return err
			}
		}
		_, err := tx.q.ExecContext(tx.ctx, `
			UPDATE invoices SET status = $1, amount_paid = $2, amount_due = $3, payment_type = $4, paid_at = $5,
				voided_at = $6, marked_uncollectible_at = $7, updated_at = $8
			WHERE id = $9`,
			inv.Status, inv.AmountPaid.Amount, inv.AmountDue.Amount, inv.PaymentType, tx.db.nullTimeArg(inv.PaidAt),
			tx.db.nullTimeArg(inv.VoidedAt), tx.db.nullTimeArg(inv.MarkedUncollectibleAt), tx.db.timeArg(tx.now), inv.ID)
		return invoiceError(err, "update invoice")
	}

	// A draft: replace it, then finalize it if asked.
	status := inv.Status
	inv.Status, inv.Number = billing.InvoiceDraft, ""
	if err := inv.Validate(); err != nil {
		inv.Status = status
		return err
	}
	billedTo, err := json.Marshal(inv.BilledTo)
	if err != nil {
		return fmt.Errorf("update invoice: %w", err)
	}
	var due any
	if inv.DueDate != nil {
		due = inv.DueDate.String()
	}
	_, err = tx.q.ExecContext(tx.ctx, `
		UPDATE invoices SET kind = $1, currency = $2, period_start = $3, period_end = $4, issue_date = $5,
			due_date = $6, payment_type = $7, billed_to = $8, subtotal = $9, credits_applied = $10, tax = $11,
			total = $12, amount_paid = $13, amount_due = $14, tax_rate_bp = $15, tax_country = $16,
			updated_at = $17
		WHERE id = $18`,
		inv.Kind, inv.Currency, dateArg(inv.Period.Start), dateArg(inv.Period.End), inv.IssueDate.String(), due,
		inv.PaymentType, string(billedTo), inv.Subtotal.Amount, inv.CreditsApplied.Amount, inv.Tax.Amount,
		inv.Total.Amount, inv.AmountPaid.Amount, inv.AmountDue.Amount, inv.TaxRateBP, inv.TaxCountry,
		tx.db.timeArg(tx.now), inv.ID)
	if err != nil {
		inv.Status = status
		return invoiceError(err, "update invoice")
	}
	if _, err := tx.q.ExecContext(tx.ctx, `DELETE FROM invoice_lines WHERE invoice_id = $1`, inv.ID); err != nil {
		return invoiceError(err, "update invoice")
	}
	if err := tx.insertLines(inv.ID, inv.Lines); err != nil {
		return err
	}
	if status == billing.InvoiceDraft || status == "" {
		return nil
	}
	return tx.finalize(inv, status)
}

// sameInvoiceContent reports whether b has a's lines and amounts: what a
// finalized invoice may never change.
func sameInvoiceContent(a, b *billing.Invoice) bool {
	same := func(x, y *billing.Date) bool {
		return (x == nil && y == nil) || (x != nil && y != nil && *x == *y)
	}
	sameID := func(x, y *int64) bool {
		return (x == nil && y == nil) || (x != nil && y != nil && *x == *y)
	}
	linesA, linesB := a.Lines, b.Lines
	if len(linesA) == 0 {
		linesA = nil
	}
	if len(linesB) == 0 {
		linesB = nil
	}
	return a.Number == b.Number && a.AccountID == b.AccountID && sameID(a.SubscriptionID, b.SubscriptionID) &&
		a.Kind == b.Kind && a.Currency == b.Currency && a.Period == b.Period && a.IssueDate == b.IssueDate &&
		same(a.DueDate, b.DueDate) && a.BilledTo == b.BilledTo && reflect.DeepEqual(linesA, linesB) &&
		a.Subtotal == b.Subtotal && a.CreditsApplied == b.CreditsApplied && a.Tax == b.Tax && a.Total == b.Total &&
		a.TaxRateBP == b.TaxRateBP && a.TaxCountry == b.TaxCountry && sameID(a.CorrectsInvoiceID, b.CorrectsInvoiceID)
}

// InvoiceExists reports whether the subscription has an invoice of kind for
// the period that starts on start.
func (tx *Tx) InvoiceExists(subscriptionID int64, start billing.Date, kind billing.InvoiceKind) (bool, error) {
	var n int
	err := tx.q.QueryRowContext(tx.ctx, `SELECT count(*) FROM invoices
		WHERE subscription_id = $1 AND period_start = $2 AND kind = $3`, subscriptionID, start.String(), kind).Scan(&n)
	return n > 0, dbError(err, "find invoice", "")
}

// CreditNotesTotal returns how much the credit notes of an invoice have
// given back so far, as a positive amount.
func (tx *Tx) CreditNotesTotal(invoiceID int64) (int64, error) {
	var n int64
	err := tx.q.QueryRowContext(tx.ctx, `SELECT coalesce(sum(-total), 0) FROM invoices
		WHERE corrects_invoice_id = $1 AND kind = 'credit_note'`, invoiceID).Scan(&n)
	return n, dbError(err, "sum credit notes", "")
}

// FindInvoice returns one invoice with its lines, in the transaction.
func (tx *Tx) FindInvoice(id int64) (*billing.Invoice, error) {
	return tx.findInvoice("i.id = $1", id)
}

func (tx *Tx) findInvoice(where string, arg any) (*billing.Invoice, error) {
	return tx.db.findInvoice(tx.ctx, tx.q, where, arg)
}

// FindInvoice returns one invoice with its lines, or ENOTFOUND.
func (db *DB) FindInvoice(ctx context.Context, id int64) (*billing.Invoice, error) {
	return db.findInvoice(ctx, db.read, "i.id = $1", id)
}

// FindInvoiceByNumber returns the invoice with the number, or ENOTFOUND.
func (db *DB) FindInvoiceByNumber(ctx context.Context, number string) (*billing.Invoice, error) {
	return db.findInvoice(ctx, db.read, "i.number = $1", number)
}

func (db *DB) findInvoice(ctx context.Context, q querier, where string, arg any) (*billing.Invoice, error) {
	inv, err := scanInvoice(q.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices i WHERE `+where, arg))
	if err != nil {
		return nil, dbError(err, "find invoice", "Invoice")
	}
	lines, err := db.findLines(ctx, q, []*billing.Invoice{inv})
	if err != nil {
		return nil, err
	}
	inv.Lines = lines[inv.ID]
	return inv, nil
}

// FindInvoices returns a page of the account's invoices, newest first, with
// their lines, and how many the account has.
func (db *DB) FindInvoices(ctx context.Context, filter InvoiceFilter) ([]*billing.Invoice, int, error) {
	limit, offset := pageLimit(filter.Limit, filter.Offset)
	var invoices []*billing.Invoice
	var total int
	err := db.inReadTx(ctx, "find invoices", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM invoices WHERE account_id = $1`, filter.AccountID).Scan(&total); err != nil {
			return dbError(err, "count invoices", "")
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+invoiceColumns+` FROM invoices i WHERE i.account_id = $1
			ORDER BY i.id DESC LIMIT $2 OFFSET $3`, filter.AccountID, limit, offset)
		if err != nil {
			return dbError(err, "find invoices", "")
		}
		defer rows.Close()
		invoices = []*billing.Invoice{}
		for rows.Next() {
			inv, err := scanInvoice(rows)
			if err != nil {
				return dbError(err, "find invoices", "")
			}
			invoices = append(invoices, inv)
		}
		if err := rows.Err(); err != nil {
			return dbError(err, "find invoices", "")
		}
		rows.Close()
		lines, err := db.findLines(ctx, tx, invoices)
		if err != nil {
			return err
		}
		for _, inv := range invoices {
			inv.Lines = lines[inv.ID]
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return invoices, total, nil
}

// findLines returns the lines of the invoices by invoice id, in order.
func (db *DB) findLines(ctx context.Context, q querier, invoices []*billing.Invoice) (map[int64][]billing.InvoiceLine, error) {
	out := map[int64][]billing.InvoiceLine{}
	if len(invoices) == 0 {
		return out, nil
	}
	var a args
	ids := make([]string, len(invoices))
	currency := map[int64]string{}
	for i, inv := range invoices {
		ids[i] = a.add(inv.ID)
		currency[inv.ID] = inv.Currency
		out[inv.ID] = []billing.InvoiceLine{}
	}
	rows, err := q.QueryContext(ctx, `
		SELECT invoice_id, description, kind, quantity, unit_amount, days, period_days, amount, period_start,
			period_end, proration
		FROM invoice_lines WHERE invoice_id IN (`+strings.Join(ids, ", ")+`) ORDER BY invoice_id, position`, a...)
	if err != nil {
		return nil, dbError(err, "find invoice lines", "")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var l billing.InvoiceLine
		if err := rows.Scan(&id, &l.Description, &l.Kind, &l.Quantity, &l.UnitAmount.Amount, &l.Days, &l.PeriodDays,
			&l.Amount.Amount, scanDate(&l.Period.Start), scanDate(&l.Period.End), &l.Proration); err != nil {
			return nil, dbError(err, "find invoice lines", "")
		}
		l.UnitAmount.Currency, l.Amount.Currency = currency[id], currency[id]
		out[id] = append(out[id], l)
	}
	return out, dbError(rows.Err(), "find invoice lines", "")
}

// invoiceError translates the errors particular to invoices — the
// exactly-once index and the immutability triggers — and passes the rest to
// dbError.
func invoiceError(err error, op string) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	var liteErr *sqlite.Error
	switch {
	case errors.As(err, &pgErr):
		if pgErr.Code == "23505" && pgErr.ConstraintName == "invoices_period_key" {
			return alreadyBilled()
		}
		if strings.Contains(pgErr.Message, "invoice_not_editable") {
			return notEditable()
		}
	case errors.As(err, &liteErr):
		msg := liteErr.Error()
		if liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE &&
			strings.Contains(msg, "invoices.subscription_id, invoices.period_start, invoices.kind") {
			return alreadyBilled()
		}
		if strings.Contains(msg, "invoice_not_editable") {
			return notEditable()
		}
	}
	return dbError(err, op, "")
}

func alreadyBilled() error {
	return billing.ReasonErrorf(billing.ECONFLICT, ErrAlreadyBilled, "This period has been billed already.")
}

func notEditable() error {
	return billing.ReasonErrorf(billing.ESTATE, "invoice_not_editable", "Finalized invoices never change; issue a credit note instead.")
}

// PeriodLines returns the lines of the subscription's invoices that bill
// seats in period — its period and change invoices that are not void, the
// lines whose service period ends with the period — in the order they
// were issued: what the period charged and credited, seat by seat
// (billing.SeatRunsOf). The account's invoices index finds them.
func (tx *Tx) PeriodLines(accountID, subscriptionID int64, period billing.Period) ([]billing.InvoiceLine, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `
		SELECT l.description, l.kind, l.quantity, l.unit_amount, l.days, l.period_days, l.amount, l.period_start,
			l.period_end, l.proration, i.currency
		FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
		WHERE i.account_id = $1 AND i.subscription_id = $2 AND i.kind IN ('subscription', 'change')
			AND i.status NOT IN ('draft', 'void') AND l.period_end = $3 AND l.period_start >= $4
		ORDER BY i.id, l.position`, accountID, subscriptionID, period.End.String(), period.Start.String())
	if err != nil {
		return nil, dbError(err, "find period lines", "")
	}
	defer rows.Close()
	var lines []billing.InvoiceLine
	for rows.Next() {
		var l billing.InvoiceLine
		if err := rows.Scan(&l.Description, &l.Kind, &l.Quantity, &l.UnitAmount.Amount, &l.Days, &l.PeriodDays,
			&l.Amount.Amount, scanDate(&l.Period.Start), scanDate(&l.Period.End), &l.Proration, &l.Amount.Currency); err != nil {
			return nil, dbError(err, "find period lines", "")
		}
		l.UnitAmount.Currency = l.Amount.Currency
		lines = append(lines, l)
	}
	return lines, dbError(rows.Err(), "find period lines", "")
}
