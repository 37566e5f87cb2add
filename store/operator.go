package store

import (
	"context"
	"database/sql"
)

// Queries for the operator console that look across accounts.

// FindFailedPayments returns the newest failed payment attempts of every
// account, newest first: at most limit (50 when limit is 0, 500 at most).
// Each carries its account and invoice ids and the invoice's number; the
// failure code and message say why.
func (db *DB) FindFailedPayments(ctx context.Context, limit int) ([]*Payment, error) {
	limit, _ = pageLimit(limit, 0)
	var out []*Payment
	err := db.inReadTx(ctx, "find failed payments", func(tx *sql.Tx) error {
		var a args
		where := "p.status = " + a.add(PaymentFailed) + " ORDER BY p.id DESC LIMIT " + a.add(limit)
		var err error
		out, err = db.payments(ctx, tx, where, a...)
		return err
	})
	return out, err
}
