package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Billing History. DESIGN: "the chronological list of invoices, payments,
// refunds, credits and credit notes: date, transaction details with a link
// to its statement, charge type, amount, credit balance after". The rows
// are read from the tables that hold them (one UNION), ordered by (at,
// kind, id): stable, so that a cursor pages through them without skipping
// or repeating a row.

// HistoryKind is the type of a history row.
type HistoryKind string

const (
	HistoryInvoice    HistoryKind = "invoice"
	HistoryCreditNote HistoryKind = "credit_note"
	HistoryCredit     HistoryKind = "credit"
	HistoryPayment    HistoryKind = "payment"
	HistoryRefund     HistoryKind = "refund"
)

// historyRank orders the kinds of rows at the same instant: an invoice
// before the credit it used, a payment after the invoice it pays.
var historyRank = map[HistoryKind]int{
	HistoryInvoice: 0, HistoryCreditNote: 1, HistoryCredit: 2, HistoryPayment: 3, HistoryRefund: 4,
}

// Valid reports whether k is a known kind.
func (k HistoryKind) Valid() bool {
	_, ok := historyRank[k]
	return ok
}

// HistoryCursor is the position after a row: its (at, kind, id).
type HistoryCursor struct {
	At   time.Time
	Kind HistoryKind
	ID   int64
}

// HistoryFilter selects an account's history rows.
type HistoryFilter struct {
	AccountID int64
	From, To  *time.Time // [From, To)
	Kinds     []HistoryKind
	After     *HistoryCursor
	Limit     int
}

// HistoryRow is one line of the billing history, as stored; the engine
// words its summary.
type HistoryRow struct {
	At        time.Time
	Kind      HistoryKind
	ID        int64 // of the row in its own table
	Amount    billing.Money
	Statement string // the invoice (or credit note) number it belongs to
	// ChargeType: card, ach_eft, credit_redeem or refund.
	ChargeType string
	// Detail: an invoice's first charge line, a credit's description, a
	// payment's method ("Visa •••• 4242"), a credit note's corrected
	// invoice, a refund's method.
	Detail string
	// Extra: an invoice's kind, a bank transfer's reference, a refund's
	// credit note, a payment's trigger.
	Extra        string
	CreditAfter  billing.Money // the credit balance after the row
	InvoiceKind  billing.InvoiceKind
	PaymentState PaymentStatus
}

const historyUnion = `
	SELECT i.finalized_at AS at, 0 AS rank, 'invoice' AS kind, i.id AS id, i.total AS amount, i.currency AS currency,
		coalesce(i.number, '') AS statement, i.payment_type AS charge_type,
		coalesce((SELECT l.description FROM invoice_lines l WHERE l.invoice_id = i.id AND l.kind = 'charge'
			ORDER BY l.position LIMIT 1), '') AS detail,
		i.kind AS extra, CAST(NULL AS bigint) AS balance, '' AS state
	FROM invoices i
	WHERE i.account_id = $1 AND i.kind <> 'credit_note' AND i.status IN ('open', 'paid', 'uncollectible')
		AND i.finalized_at IS NOT NULL
	UNION ALL
	SELECT n.finalized_at, 1, 'credit_note', n.id, n.total, n.currency, coalesce(n.number, ''), n.payment_type,
		coalesce(c.number, ''), '', CAST(NULL AS bigint), ''
	FROM invoices n LEFT JOIN invoices c ON c.id = n.corrects_invoice_id
	WHERE n.account_id = $1 AND n.kind = 'credit_note' AND n.status IN ('open', 'paid') AND n.finalized_at IS NOT NULL
	UNION ALL
	SELECT t.created_at, 2, 'credit', t.id, t.amount, t.currency, coalesce(i.number, ''), 'credit_redeem',
		t.description, t.reason, t.balance_after, ''
	FROM credit_transactions t LEFT JOIN invoices i ON i.id = t.invoice_id
	WHERE t.account_id = $1
	UNION ALL
	SELECT p.resolved_at, 3, 'payment', p.id, -p.amount, p.currency, i.number,
		CASE p.method WHEN 'ach' THEN 'ach_eft' ELSE 'card' END, p.method_label, p.reference, CAST(NULL AS bigint), p.status
	FROM payments p JOIN invoices i ON i.id = p.invoice_id
	WHERE p.account_id = $1 AND p.status IN ('succeeded', 'refunded') AND p.resolved_at IS NOT NULL
	UNION ALL
	SELECT r.resolved_at, 4, 'refund', r.id, r.amount, r.currency, i.number, 'refund', p.method_label,
		coalesce(n.number, ''), CAST(NULL AS bigint), r.status
	FROM refunds r JOIN invoices i ON i.id = r.invoice_id JOIN payments p ON p.id = r.payment_id
		LEFT JOIN invoices n ON n.id = r.credit_note_id
	WHERE r.account_id = $1 AND r.status = 'succeeded' AND r.resolved_at IS NOT NULL`

// FindHistory returns up to Limit history rows after the cursor, oldest
// first, and whether more follow.
func (db *DB) FindHistory(ctx context.Context, f HistoryFilter) ([]*HistoryRow, bool, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 1000:
		limit = 1000
	}
	var a args
	a.add(f.AccountID)
	var where []string
	if f.From != nil {
		where = append(where, "h.at >= "+a.add(db.timeArg(*f.From)))
	}
	if f.To != nil {
		where = append(where, "h.at < "+a.add(db.timeArg(*f.To)))
	}
	if len(f.Kinds) > 0 {
		var in []string
		for _, k := range f.Kinds {
			in = append(in, a.add(string(k)))
		}
		where = append(where, "h.kind IN ("+strings.Join(in, ", ")+")")
	}
	if c := f.After; c != nil {
		at, rank, id := a.add(db.timeArg(c.At)), a.add(historyRank[c.Kind]), a.add(c.ID)
		where = append(where, "(h.at > "+at+" OR (h.at = "+at+" AND (h.rank > "+rank+" OR (h.rank = "+rank+" AND h.id > "+id+"))))")
	}
	q := `SELECT h.at, h.kind, h.id, h.amount, h.currency, h.statement, h.charge_type, h.detail, h.extra, h.state,
			coalesce(h.balance, (SELECT c.balance_after FROM credit_transactions c
				WHERE c.account_id = $1 AND c.created_at <= h.at ORDER BY c.created_at DESC, c.id DESC LIMIT 1), 0)
		FROM (` + historyUnion + `) h`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY h.at, h.rank, h.id LIMIT " + a.add(limit+1)
	var out []*HistoryRow
	err := db.inReadTx(ctx, "find history", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, a...)
		if err != nil {
			return dbError(err, "find history", "")
		}
		defer rows.Close()
		out = []*HistoryRow{}
		for rows.Next() {
			var r HistoryRow
			var state string
			if err := rows.Scan(scanTime(&r.At), &r.Kind, &r.ID, &r.Amount.Amount, &r.Amount.Currency, &r.Statement,
				&r.ChargeType, &r.Detail, &r.Extra, &state, &r.CreditAfter.Amount); err != nil {
				return dbError(err, "find history", "")
			}
			r.CreditAfter.Currency = r.Amount.Currency
			r.PaymentState = PaymentStatus(state)
			if r.Kind == HistoryInvoice {
				r.InvoiceKind = billing.InvoiceKind(r.Extra)
			}
			out = append(out, &r)
		}
		return dbError(rows.Err(), "find history", "")
	})
	if err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
