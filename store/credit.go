package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// CreditReason says why an account's credit balance moved.
type CreditReason string

const (
	CreditSignup       CreditReason = "signup"        // the signup credit
	CreditInactivity   CreditReason = "inactivity"    // a seat inactive 15 days
	CreditApplied      CreditReason = "applied"       // taken by an invoice (negative)
	CreditChangeCredit CreditReason = "change_credit" // a change whose credit exceeded its charge
	CreditRefund       CreditReason = "refund"        // given back by a credit note
	CreditAdjustment   CreditReason = "adjustment"    // an operator's correction
	CreditOverpayment  CreditReason = "overpayment"   // money that arrived for an invoice that no longer owed it
)

// CreditTransaction is one movement of an account's credit balance, with
// the balance after it. DESIGN: "credits never expire unless stated and are
// applied to invoices before the card is charged."
type CreditTransaction struct {
	ID        int64
	AccountID int64
	Amount    billing.Money // positive: credit given; negative: credit used
	Reason    CreditReason
	InvoiceID *int64
	UserID    string // the managed user of an inactivity credit
	// Service and Unit are what an inactivity credit gave back: one seat
	// at Unit per period for the Service days, the credit day to the
	// period end. Zero on other credits.
	Service      billing.Period
	Unit         billing.Money
	BalanceAfter billing.Money
	Description  string
	CreatedAt    time.Time
}

// AddCredit records ct and moves the account's credit balance by ct.Amount
// in the same transaction, setting ct's ID, BalanceAfter and CreatedAt. The
// caller has locked the account (LockAccount). A movement that would make
// the balance negative is an EINVALID error.
func (tx *Tx) AddCredit(ct *CreditTransaction) error {
	var balance int64
	var currency string
	err := tx.q.QueryRowContext(tx.ctx, `SELECT credit_balance, currency FROM accounts WHERE id = $1`, ct.AccountID).
		Scan(&balance, &currency)
	if err != nil {
		return dbError(err, "add credit", "Account")
	}
	if ct.Amount.Currency != currency {
		return billing.ReasonErrorf(billing.EINVALID, "currency_mismatch", "Credit in %s on an account in %s.", ct.Amount.Currency, currency)
	}
	after := balance + ct.Amount.Amount
	if after < 0 {
		return billing.ReasonErrorf(billing.EINVALID, "negative_credit_balance", "The credit balance cannot go below zero.")
	}
	var invoiceID, userID, unit any
	if ct.InvoiceID != nil {
		invoiceID = *ct.InvoiceID
	}
	if ct.UserID != "" {
		userID = ct.UserID
	}
	if !ct.Service.IsZero() {
		unit = ct.Unit.Amount
	}
	err = tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO credit_transactions (account_id, amount, currency, reason, invoice_id, user_id, balance_after,
			description, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		ct.AccountID, ct.Amount.Amount, currency, ct.Reason, invoiceID, userID, after, ct.Description,
		tx.db.timeArg(tx.now)).Scan(&ct.ID)
	if err != nil {
		return dbError(err, "add credit", "")
	}
	if unit != nil {
		if _, err := tx.q.ExecContext(tx.ctx, `INSERT INTO credit_service_periods (credit_id, account_id, service_start,
			service_end, unit_amount) VALUES ($1, $2, $3, $4, $5)`, ct.ID, ct.AccountID, ct.Service.Start.String(),
			ct.Service.End.String(), unit); err != nil {
			return dbError(err, "add credit", "")
		}
	}
	if _, err := tx.q.ExecContext(tx.ctx, `UPDATE accounts SET credit_balance = $1, updated_at = $2 WHERE id = $3`,
		after, tx.db.timeArg(tx.now), ct.AccountID); err != nil {
		return dbError(err, "add credit", "")
	}
	ct.BalanceAfter = billing.Money{Amount: after, Currency: currency}
	ct.CreatedAt = tx.now
	return nil
}

// FindCreditTransactions returns a page of the account's credit ledger,
// newest first, and its length.
func (db *DB) FindCreditTransactions(ctx context.Context, accountID int64, limit, offset int) ([]*CreditTransaction, int, error) {
	limit, offset = pageLimit(limit, offset)
	var out []*CreditTransaction
	var total int
	err := db.inReadTx(ctx, "find credit transactions", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM credit_transactions WHERE account_id = $1`, accountID).Scan(&total); err != nil {
			return dbError(err, "count credit transactions", "")
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT id, account_id, amount, currency, reason, invoice_id, user_id, balance_after, description, created_at
			FROM credit_transactions WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`, accountID, limit, offset)
		if err != nil {
			return dbError(err, "find credit transactions", "")
		}
		defer rows.Close()
		out = []*CreditTransaction{}
		for rows.Next() {
			var ct CreditTransaction
			var invoiceID sql.NullInt64
			var userID sql.NullString
			if err := rows.Scan(&ct.ID, &ct.AccountID, &ct.Amount.Amount, &ct.Amount.Currency, &ct.Reason, &invoiceID,
				&userID, &ct.BalanceAfter.Amount, &ct.Description, scanTime(&ct.CreatedAt)); err != nil {
				return dbError(err, "find credit transactions", "")
			}
			ct.BalanceAfter.Currency = ct.Amount.Currency
			if invoiceID.Valid {
				ct.InvoiceID = &invoiceID.Int64
			}
			ct.UserID = userID.String
			out = append(out, &ct)
		}
		return dbError(rows.Err(), "find credit transactions", "")
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// InactivityRuns returns the seats the account's inactivity credits gave
// back in period: one seat each, from its credit day to the period end
// (billing.SeatRun, for billing.UnusedTime).
func (tx *Tx) InactivityRuns(accountID int64, period billing.Period) ([]billing.SeatRun, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `
		SELECT t.amount, t.currency, s.unit_amount, s.service_start
		FROM credit_service_periods s JOIN credit_transactions t ON t.id = s.credit_id
		WHERE s.account_id = $1 AND s.service_end = $2 AND s.service_start >= $3 AND t.reason = 'inactivity'
		ORDER BY t.id`, accountID, period.End.String(), period.Start.String())
	if err != nil {
		return nil, dbError(err, "find inactivity credits", "")
	}
	defer rows.Close()
	var runs []billing.SeatRun
	for rows.Next() {
		var r billing.SeatRun
		if err := rows.Scan(&r.Amount.Amount, &r.Amount.Currency, &r.Unit.Amount, scanDate(&r.From)); err != nil {
			return nil, dbError(err, "find inactivity credits", "")
		}
		r.Seats, r.Amount.Amount, r.Unit.Currency = -1, -r.Amount.Amount, r.Amount.Currency
		runs = append(runs, r)
	}
	return runs, dbError(rows.Err(), "find inactivity credits", "")
}
