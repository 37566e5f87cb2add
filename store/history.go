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

// historyRank orders the kinds of rows at the same instant: a credit
// granted before the invoice that may use it, an invoice before its
// payment, a payment before its refund.
var historyRank = map[HistoryKind]int{
	HistoryCredit: 0, HistoryInvoice: 1, HistoryCreditNote: 2, HistoryPayment: 3, HistoryRefund: 4,
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
//
// Amount is what the row adds to what the account owes (an invoice's
// total, a refund) or takes from it (a payment, a refund's credit note);
// Credit is how it moved the credit balance. An invoice's row carries the
// credits it applied (negative) and, when its total is negative, the credit
// that went to the balance; a credit note to the credit balance owes
// nothing back and moves the balance by its amount; a credit row (a signup
// or inactivity credit, an operator's adjustment) moves only the balance.
// So the amounts of an account's rows sum to what it owes, and the credit
// balance moves only on rows with a Credit.
type HistoryRow struct {
	At        time.Time
	Kind      HistoryKind
	ID        int64 // of the row in its own table
	Amount    billing.Money
	Credit    billing.Money
	Statement string // the invoice (or credit note) number it belongs to
	// ChargeType: card, ach_eft, credit_redeem or refund; for a credit row
	// its reason (signup, inactivity, adjustment, …).
	ChargeType string
	// Detail: an invoice's first charge line, a credit's description, a
	// payment's method ("Visa •••• 4242"), a credit note's corrected
	// invoice, a refund's method.
	Detail string
	// Extra: an invoice's kind, a bank transfer's reference, a refund's
	// credit note, a payment's trigger.
	Extra string
	// Status: an invoice's (draft, open, paid, void, uncollectible) or
	// failed when its last payment attempt failed; a payment's or refund's.
	Status       string
	CreditAfter  billing.Money // the credit balance after the row
	InvoiceKind  billing.InvoiceKind
	PaymentState PaymentStatus
}

// historyUnion reads every row of the account's history. Each movement of
// the credit balance belongs to exactly one row: the credits an invoice
// applied, the credit a negative invoice or a credit note gave, to that
// invoice's row ("folded"); every other movement to a credit row of its
// own. The balance after a row is the running sum of the credit over the
// rows in order, so it moves only on a row that moved it.
const historyUnion = `
	WITH folded AS (
		SELECT c.invoice_id, CAST(sum(c.amount) AS bigint) AS credit,
			CAST(sum(CASE WHEN c.amount > 0 THEN c.amount ELSE 0 END) AS bigint) AS granted
		FROM credit_transactions c
		WHERE c.account_id = $1 AND c.invoice_id IS NOT NULL AND c.reason IN ('applied', 'change_credit', 'refund')
		GROUP BY c.invoice_id
	), hist AS (
		SELECT i.finalized_at AS at, 1 AS rank, 'invoice' AS kind, i.id AS id,
			CASE WHEN i.status = 'void' THEN 0 ELSE i.total + coalesce(f.granted, 0) END AS amount,
			coalesce(f.credit, 0) AS credit, i.currency AS currency,
			coalesce(i.number, '') AS statement, i.payment_type AS charge_type,
			coalesce((SELECT l.description FROM invoice_lines l WHERE l.invoice_id = i.id AND l.kind = 'charge'
				ORDER BY l.position LIMIT 1), '') AS detail,
			i.kind AS extra,
			CASE WHEN i.status = 'uncollectible' OR (i.status = 'open' AND (SELECT p.status FROM payments p
				WHERE p.invoice_id = i.id ORDER BY p.id DESC LIMIT 1) = 'failed') THEN 'failed' ELSE i.status END AS state
		FROM invoices i LEFT JOIN folded f ON f.invoice_id = i.id
		WHERE i.account_id = $1 AND i.kind <> 'credit_note' AND i.status IN ('open', 'paid', 'uncollectible', 'void')
			AND i.finalized_at IS NOT NULL
		UNION ALL
		SELECT n.finalized_at, 2, 'credit_note', n.id, n.total + coalesce(f.granted, 0), coalesce(f.credit, 0), n.currency,
			coalesce(n.number, ''), n.payment_type, coalesce(c.number, ''),
			CASE WHEN f.granted > 0 THEN 'credit_balance' ELSE '' END, n.status
		FROM invoices n LEFT JOIN invoices c ON c.id = n.corrects_invoice_id LEFT JOIN folded f ON f.invoice_id = n.id
		WHERE n.account_id = $1 AND n.kind = 'credit_note' AND n.status IN ('open', 'paid') AND n.finalized_at IS NOT NULL
		UNION ALL
		SELECT t.created_at, 0, 'credit', t.id, 0, t.amount, t.currency, coalesce(i.number, ''), t.reason,
			t.description, t.reason, ''
		FROM credit_transactions t LEFT JOIN invoices i ON i.id = t.invoice_id
		WHERE t.account_id = $1 AND NOT (t.invoice_id IS NOT NULL AND t.reason IN ('applied', 'change_credit', 'refund'))
		UNION ALL
		SELECT p.resolved_at, 3, 'payment', p.id, -p.amount, 0, p.currency, i.number,
			CASE p.method WHEN 'ach' THEN 'ach_eft' ELSE 'card' END, p.method_label, p.reference, p.status
		FROM payments p JOIN invoices i ON i.id = p.invoice_id
		WHERE p.account_id = $1 AND p.status IN ('succeeded', 'refunded') AND p.resolved_at IS NOT NULL
		UNION ALL
		SELECT r.resolved_at, 4, 'refund', r.id, r.amount, 0, r.currency, i.number, 'refund', p.method_label,
			coalesce(n.number, ''), r.status
		FROM refunds r JOIN invoices i ON i.id = r.invoice_id JOIN payments p ON p.id = r.payment_id
			LEFT JOIN invoices n ON n.id = r.credit_note_id
		WHERE r.account_id = $1 AND r.status = 'succeeded' AND r.resolved_at IS NOT NULL
	)
	SELECT hist.*, CAST(sum(hist.credit) OVER (ORDER BY hist.at, hist.rank, hist.id ROWS UNBOUNDED PRECEDING) AS bigint)
		AS balance
	FROM hist`

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
	q := `SELECT h.at, h.kind, h.id, h.amount, h.credit, h.currency, h.statement, h.charge_type, h.detail, h.extra,
			h.state, h.balance
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
			if err := rows.Scan(scanTime(&r.At), &r.Kind, &r.ID, &r.Amount.Amount, &r.Credit.Amount, &r.Amount.Currency,
				&r.Statement, &r.ChargeType, &r.Detail, &r.Extra, &state, &r.CreditAfter.Amount); err != nil {
				return dbError(err, "find history", "")
			}
			r.Credit.Currency, r.CreditAfter.Currency = r.Amount.Currency, r.Amount.Currency
			r.Status = state
			if r.Kind == HistoryPayment || r.Kind == HistoryRefund {
				r.PaymentState = PaymentStatus(state)
			}
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
