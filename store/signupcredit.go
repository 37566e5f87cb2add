package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// SignupCredit is the operator-wide signup credit of one currency: what a
// new online account in that currency is granted unless its creation names
// another amount.
type SignupCredit struct {
	Amount    billing.Money
	UpdatedAt time.Time
}

// SetSignupCredit makes amount its currency's signup credit (zero grants
// none), with one audit event.
func (db *DB) SetSignupCredit(ctx context.Context, amount billing.Money) error {
	var v billing.Validation
	if billing.ValidateCurrency(amount.Currency) != nil {
		v.Add("currency", "Currency must be an ISO 4217 code, such as USD.")
	}
	if amount.Amount < 0 {
		v.Add("amount", "A signup credit cannot be negative.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	return db.inTx(ctx, "set signup credit", func(tx *sql.Tx, now time.Time) error {
		old, err := signupCredit(ctx, tx, amount.Currency)
		if err != nil {
			return err
		}
		if old != nil && *old == amount {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO signup_credits (currency, amount, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (currency) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at`,
			amount.Currency, amount.Amount, db.timeArg(now)); err != nil {
			return dbError(err, "set signup credit", "")
		}
		return db.writeAudit(ctx, tx, now, change{action: "signup_credit.set", targetType: "signup_credit",
			targetID: amount.Currency, before: old, after: amount})
	})
}

// SignupCredits returns every currency's signup credit, by currency.
func (db *DB) SignupCredits(ctx context.Context) ([]SignupCredit, error) {
	out := []SignupCredit{}
	err := db.inReadTx(ctx, "find signup credits", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT currency, amount, updated_at FROM signup_credits ORDER BY currency`)
		if err != nil {
			return dbError(err, "find signup credits", "")
		}
		defer rows.Close()
		for rows.Next() {
			var c SignupCredit
			if err := rows.Scan(&c.Amount.Currency, &c.Amount.Amount, scanTime(&c.UpdatedAt)); err != nil {
				return dbError(err, "find signup credits", "")
			}
			out = append(out, c)
		}
		return dbError(rows.Err(), "find signup credits", "")
	})
	return out, err
}

// SignupCredit returns the currency's signup credit, nil when the operator
// has set none.
func (tx *Tx) SignupCredit(currency string) (*billing.Money, error) {
	return signupCredit(tx.ctx, tx.tx, currency)
}

func signupCredit(ctx context.Context, q querier, currency string) (*billing.Money, error) {
	m := billing.Money{Currency: currency}
	err := q.QueryRowContext(ctx, `SELECT amount FROM signup_credits WHERE currency = $1`, currency).Scan(&m.Amount)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbError(err, "find signup credit", "")
	}
	return &m, nil
}
