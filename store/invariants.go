package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Invariants: what must hold of the books whatever happened (crashes,
// retries, timeouts, two nodes), each checked by one statement over every
// row at once. The engine names them (engine/invariants.go); these are the
// SQL.

// Break is one row that breaks an invariant.
type Break struct {
	Rule    string `json:"rule"`
	Subject string `json:"subject"` // the invoice number, account number, subscription or year
	Detail  string `json:"detail"`
}

// invariantQueries are the checks: each selects the rule's subject and a
// detail for every row that breaks it. Dates are ISO text in both stores,
// so they compare as text.
var invariantQueries = []struct{ rule, sql string }{
	{"invoice_total", `
		SELECT coalesce(i.number, 'draft ' || CAST(i.id AS text)),
			'subtotal ' || CAST(i.subtotal AS text) || ' lines ' || CAST(coalesce(l.sum, 0) AS text) ||
			' credits ' || CAST(i.credits_applied AS text) || ' tax ' || CAST(i.tax AS text) || ' total ' || CAST(i.total AS text)
		FROM invoices i LEFT JOIN (SELECT invoice_id, sum(amount) AS sum FROM invoice_lines GROUP BY invoice_id) l
			ON l.invoice_id = i.id
		WHERE i.subtotal <> coalesce(l.sum, 0) OR i.total <> i.subtotal - i.credits_applied + i.tax`},
	{"invoice_collected", `
		SELECT i.number,
			'total ' || CAST(i.total AS text) || ' amount_paid ' || CAST(i.amount_paid AS text) ||
			' amount_due ' || CAST(i.amount_due AS text) || ' payments applied ' || CAST(coalesce(p.applied, 0) AS text) ||
			' status ' || i.status
		FROM invoices i LEFT JOIN (
			SELECT invoice_id, sum(amount - amount_overpaid) AS applied FROM payments
			WHERE status IN ('succeeded', 'refunded') GROUP BY invoice_id) p ON p.invoice_id = i.id
		WHERE i.kind <> 'credit_note' AND i.status <> 'draft' AND (
			i.amount_paid <> coalesce(p.applied, 0)
			OR i.amount_paid > (CASE WHEN i.total > 0 THEN i.total ELSE 0 END)
			OR (i.status <> 'void' AND i.amount_due <> (CASE WHEN i.total - i.amount_paid > 0 THEN i.total - i.amount_paid ELSE 0 END))
			OR (i.status = 'paid' AND i.amount_due <> 0))`},
	{"payment_amounts", `
		SELECT coalesce(i.number, '') || ' payment ' || CAST(p.id AS text),
			'status ' || p.status || ' amount ' || CAST(p.amount AS text) || ' refunded ' || CAST(p.amount_refunded AS text) ||
			' overpaid ' || CAST(p.amount_overpaid AS text)
		FROM payments p JOIN invoices i ON i.id = p.invoice_id
		WHERE p.amount_refunded > p.amount OR p.amount_overpaid > p.amount
			OR (p.status = 'refunded' AND p.amount_refunded <> p.amount)
			OR (p.status NOT IN ('succeeded', 'refunded') AND (p.amount_refunded <> 0 OR p.amount_overpaid <> 0))`},
	{"credit_balance", `
		SELECT a.number, 'credit_balance ' || CAST(a.credit_balance AS text) || ' ledger ' || CAST(coalesce(c.sum, 0) AS text)
		FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) AS sum FROM credit_transactions GROUP BY account_id) c
			ON c.account_id = a.id
		WHERE a.credit_balance <> coalesce(c.sum, 0)`},
	{"invoice_once_per_period", `
		SELECT 'subscription ' || CAST(subscription_id AS text),
			kind || ' invoices for the period from ' || period_start || ': ' || CAST(count(*) AS text)
		FROM invoices WHERE kind IN ('subscription', 'overage')
		GROUP BY subscription_id, period_start, kind HAVING count(*) > 1`},
	{"invoice_numbers_gapless", `
		SELECT substr(number, 5, 4),
			CAST(count(*) AS text) || ' numbers from ' || CAST(min(CAST(substr(number, 10) AS integer)) AS text) ||
			' to ' || CAST(max(CAST(substr(number, 10) AS integer)) AS text) || ', counter at ' ||
			CAST(coalesce(max(c.last), 0) AS text)
		FROM invoices i LEFT JOIN invoice_number_counters c ON CAST(c.year AS text) = substr(i.number, 5, 4)
		WHERE i.number IS NOT NULL
		GROUP BY substr(number, 5, 4)
		HAVING min(CAST(substr(number, 10) AS integer)) <> 1
			OR max(CAST(substr(number, 10) AS integer)) <> count(*)
			OR count(DISTINCT number) <> count(*)
			OR coalesce(max(c.last), 0) <> count(*)`},
	// A subscription's periods: its renewal invoices never overlap, and
	// its current period, once billed, has its invoice (a renewal, or the
	// change that began it: an upgrade, monthly → annual). Free time
	// between paid periods has no invoice, so a gap is told by the period
	// the subscription is in, not by the distance between invoices.
	{"periods_overlap", `
		SELECT 'subscription ' || CAST(subscription_id AS text),
			'period from ' || period_start || ' begins before the one before it ends (' || prev_end || ')'
		FROM (SELECT subscription_id, period_start,
				lag(period_end) OVER (PARTITION BY subscription_id ORDER BY period_start) AS prev_end
			FROM invoices WHERE kind = 'subscription' AND status <> 'void' AND period_start IS NOT NULL) s
		WHERE prev_end IS NOT NULL AND period_start < prev_end`},
	{"periods_gap", `
		SELECT 'subscription ' || CAST(s.id AS text),
			'the period from ' || s.period_start || ' to ' || s.period_end || ' is marked billed and has no invoice'
		FROM subscriptions s
		WHERE s.period_start IS NOT NULL AND s.period_billed = TRUE
			AND NOT EXISTS (SELECT 1 FROM invoices x WHERE x.subscription_id = s.id
				AND x.kind IN ('subscription', 'change') AND x.period_start = s.period_start)`},
}

// CheckInvariants runs every check in one read-only transaction (one
// snapshot on PostgreSQL) and returns up to limit breaks of each rule.
func (db *DB) CheckInvariants(ctx context.Context, limit int) ([]Break, error) {
	if limit <= 0 {
		limit = 100
	}
	out := []Break{}
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == DialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, dbError(err, "check invariants", "")
	}
	defer tx.Rollback()
	for _, q := range invariantQueries {
		rows, err := tx.QueryContext(ctx, q.sql+fmt.Sprintf(" LIMIT %d", limit))
		if err != nil {
			return nil, fmt.Errorf("check invariant %s: %w", q.rule, err)
		}
		for rows.Next() {
			b := Break{Rule: q.rule}
			if err := rows.Scan(&b.Subject, &b.Detail); err != nil {
				rows.Close()
				return nil, fmt.Errorf("check invariant %s: %w", q.rule, err)
			}
			out = append(out, b)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("check invariant %s: %w", q.rule, err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("check invariant %s: %w", q.rule, err)
		}
	}
	return out, tx.Commit()
}

// UnsettledPayments returns up to limit card attempts still in flight whose
// first gateway call began at or before calledBefore (the engine's time),
// with ids above after, in id order: what reconcile asks the gateway about.
func (db *DB) UnsettledPayments(ctx context.Context, calledBefore time.Time, after int64, limit int) ([]*Payment, error) {
	return db.payments(ctx, db.db, `p.status IN ('pending', 'unknown') AND p.id > $1
		AND (p.first_called_at IS NULL OR p.first_called_at <= $2) ORDER BY p.id LIMIT $3`,
		after, db.timeArg(calledBefore), limit)
}

// NotChargedPayments returns up to limit attempts that reconcile settled as
// never charged and that were first called at or after since, with ids
// above after: they are looked up again for a while, in case the gateway's
// record of the charge was late.
func (db *DB) NotChargedPayments(ctx context.Context, code string, since time.Time, after int64, limit int) ([]*Payment, error) {
	return db.payments(ctx, db.db, `p.status = 'failed' AND p.failure_code = $1 AND p.id > $2
		AND p.first_called_at >= $3 ORDER BY p.id LIMIT $4`, code, after, db.timeArg(since), limit)
}

// UnsettledRefunds returns up to limit refunds still in flight whose first
// gateway call began at or before calledBefore, with ids above after.
func (db *DB) UnsettledRefunds(ctx context.Context, calledBefore time.Time, after int64, limit int) ([]*Refund, error) {
	return db.refunds(ctx, db.db, `r.status IN ('pending', 'unknown') AND r.id > $1
		AND (r.first_called_at IS NULL OR r.first_called_at <= $2) ORDER BY r.id LIMIT $3`,
		after, db.timeArg(calledBefore), limit)
}
