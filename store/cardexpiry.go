package store

import (
	"context"
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
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM card_expiry_notices
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
	err := tx.tx.QueryRowContext(tx.ctx, `
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

// FindCardExpiryCandidates returns, after afterID, up to limit accounts not
// closed whose default card expires no later than the month after the
// month of through and no earlier than the month before it, with no notice
// of that expiry recorded: the accounts that may have a card expiry notice
// due (callers pass a day past UTC today, the most any zone is ahead; the
// engine decides each with the account's own day). Accounts on a test clock
// are FindBillingCandidates'.
func (db *DB) FindCardExpiryCandidates(ctx context.Context, through billing.Date, afterID int64, limit int) ([]int64, error) {
	month := through.Year*12 + int(through.Month) - 1
	rows, err := db.db.QueryContext(ctx, `
		SELECT a.id FROM accounts a JOIN payment_methods m ON m.account_id = a.id
		WHERE a.id > $1 AND a.status <> 'closed' AND m.kind = 'card' AND m.is_default = $2 AND m.removed_at IS NULL
			AND m.exp_year * 12 + m.exp_month - 1 BETWEEN $3 AND $4
			AND NOT EXISTS (SELECT 1 FROM card_expiry_notices n WHERE n.payment_method_id = m.id
				AND n.exp_year = m.exp_year AND n.exp_month = m.exp_month)
		ORDER BY a.id LIMIT $5`,
		afterID, true, month-1, month+1, limit)
	if err != nil {
		return nil, dbError(err, "find card expiry candidates", "")
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(err, "find card expiry candidates", "")
		}
		ids = append(ids, id)
	}
	return ids, dbError(rows.Err(), "find card expiry candidates", "")
}
