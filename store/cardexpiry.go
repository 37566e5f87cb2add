package store

import (
	"time"

	"github.com/kore-billing/korebill/billing"
)

// CardExpiryNotice records that an account's billing contact was told that
// its default card expires: once per card and expiry month (a unique key),
// so that a billing run that is repeated emails once.
type CardExpiryNotice struct {
	ID              int64
	AccountID       int64
	PaymentMethodID int64
	ExpYear         int
	ExpMonth        int
	DueOn           billing.Date // the local day the notice fell due
	CreatedAt       time.Time
}

// CardExpiryNoticeSent reports whether the notice of the method's expiry
// in (year, month) was recorded.
func (tx *Tx) CardExpiryNoticeSent(methodID int64, year, month int) (bool, error) {
	var n int
	err := tx.q.QueryRowContext(tx.ctx, `SELECT count(*) FROM card_expiry_notices
		WHERE payment_method_id = $1 AND exp_year = $2 AND exp_month = $3`, methodID, year, month).Scan(&n)
	if err != nil {
		return false, dbError(err, "find card expiry notice", "")
	}
	return n > 0, nil
}

// RecordCardExpiryNotice records a notice; a second one of the same card
// and expiry is a conflict (card_expiry_notice_exists).
func (tx *Tx) RecordCardExpiryNotice(n *CardExpiryNotice) error {
	n.CreatedAt = tx.now
	err := tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO card_expiry_notices (account_id, payment_method_id, exp_year, exp_month, due_on, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		n.AccountID, n.PaymentMethodID, n.ExpYear, n.ExpMonth, n.DueOn.String(), tx.db.timeArg(tx.now)).Scan(&n.ID)
	if err != nil {
		e := dbError(err, "record card expiry notice", "")
		if billing.ErrorCode(e) == billing.ECONFLICT {
			return billing.ReasonErrorf(billing.ECONFLICT, "card_expiry_notice_exists", "The card's expiry notice was sent already.")
		}
		return e
	}
	return nil
}
