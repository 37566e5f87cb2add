package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// The reads behind the operator's reports (engine/report.go): the history
// of every subscription's recurring terms, the lines of finalized invoices
// with their service periods, the credits granted, and what is still owed.
// Each is one set query; all four run in one read-only transaction so that
// the figures of one report agree with each other.

// SubscriptionChange is a subscription's recurring terms from At on, as the
// subscription_changes trigger recorded them.
type SubscriptionChange struct {
	AccountID     int64
	AccountNumber string
	AccountName   string
	At            time.Time
	PlanCode      string
	Interval      billing.Interval
	Seats         int64
	UnitAmount    billing.Money
	// Recurring is false on the Free plan and once canceled.
	Recurring bool
}

// RevenueLine is one line of a finalized invoice that was not voided.
type RevenueLine struct {
	InvoiceID     int64
	InvoiceNumber string
	AccountID     int64
	AccountNumber string
	Kind          billing.InvoiceKind
	CreatedAt     time.Time
	Issued        billing.Date
	Period        billing.Period // zero for a line with no service period
	Amount        billing.Money
}

// CreditGrant is a credit given to an account that is not money coming
// back from an invoice: a signup or inactivity credit, or an operator's
// adjustment. On is the local day it was granted.
type CreditGrant struct {
	AccountID     int64
	AccountNumber string
	Reason        CreditReason
	On            billing.Date
	Amount        billing.Money
}

// Receivable is an invoice with an amount still due.
type Receivable struct {
	InvoiceID     int64
	InvoiceNumber string
	AccountID     int64
	AccountNumber string
	AccountName   string
	Issued        billing.Date
	Due           billing.Date // the due date, or the issue date of an invoice due at once
	AmountDue     billing.Money
}

// Issued is the total of an invoice issued (a credit note's is negative).
type Issued struct {
	On    billing.Date
	Total billing.Money
}

// Collection is money that came in: a payment that succeeded, less what
// of it was refunded.
type Collection struct {
	AccountID int64
	At        time.Time // when it succeeded
	Amount    billing.Money
}

// FailedInvoice is an invoice a card payment failed for, and how it ended.
type FailedInvoice struct {
	InvoiceID     int64
	AccountID     int64
	AccountNumber string
	AccountName   string
	AccountStatus billing.AccountStatus
	FirstFailedAt time.Time
	Status        billing.InvoiceStatus
	// PaidBy is the trigger of the payment that paid it ("" while unpaid):
	// retry, new_method, manual, bank_transfer or initial.
	PaidBy PaymentTrigger
}

// Renewal is a paid subscription whose period ends soon, with the terms it
// renews on.
type Renewal struct {
	AccountID     int64
	AccountNumber string
	AccountName   string
	On            billing.Date
	Terms         billing.Terms
}

// ReportData is what the reports read, for every account or one.
type ReportData struct {
	Changes     []SubscriptionChange // by account, then in the order recorded
	Lines       []RevenueLine        // by invoice, then position
	Grants      []CreditGrant
	Receivables []Receivable // by due date
	Issued      []Issued     // issued on or after ReportQuery.Since's day
	Collections []Collection
	Failed      []FailedInvoice // failed on or after ReportQuery.Since
	Renewals    []Renewal       // from ReportQuery.RenewFrom to RenewTo, excluded
}

// ReportPart names one set of rows ReportData reads.
type ReportPart uint

// The parts of ReportData.
const (
	ReportChanges ReportPart = 1 << iota
	ReportLines
	ReportGrants
	ReportReceivables
	ReportIssued
	ReportCollections
	ReportFailed
	ReportRenewals
)

// ReportQuery chooses the rows: one account (AccountID > 0) or all, in one
// currency, and what happened up to Through (included).
type ReportQuery struct {
	Parts     ReportPart // which rows to read
	AccountID int64
	Currency  string
	Through   time.Time
	// Since bounds the payments read (collections, failed payments).
	Since time.Time
	// RenewFrom and RenewTo choose the renewals read: periods ending on a
	// day in [RenewFrom, RenewTo).
	RenewFrom, RenewTo billing.Date
}

// ReportData reads the rows of the reports in one read-only transaction.
func (db *DB) ReportData(ctx context.Context, q ReportQuery) (*ReportData, error) {
	out := &ReportData{}
	err := db.inReadTx(ctx, "report data", func(tx *sql.Tx) error {
		var err error
		for _, part := range []struct {
			part ReportPart
			read func() error
		}{
			{ReportChanges, func() (err error) { out.Changes, err = db.reportChanges(ctx, tx, q); return }},
			{ReportLines, func() (err error) { out.Lines, err = db.reportLines(ctx, tx, q); return }},
			{ReportGrants, func() (err error) { out.Grants, err = db.reportGrants(ctx, tx, q); return }},
			{ReportReceivables, func() (err error) { out.Receivables, err = db.reportReceivables(ctx, tx, q); return }},
			{ReportIssued, func() (err error) { out.Issued, err = db.reportIssued(ctx, tx, q); return }},
			{ReportCollections, func() (err error) { out.Collections, err = db.reportCollections(ctx, tx, q); return }},
			{ReportFailed, func() (err error) { out.Failed, err = db.reportFailed(ctx, tx, q); return }},
			{ReportRenewals, func() (err error) { out.Renewals, err = db.reportRenewals(ctx, tx, q); return }},
		} {
			if q.Parts&part.part == 0 {
				continue
			}
			if err = part.read(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// accountFilter restricts a query on alias's account_id to q's account.
func accountFilter(a *args, alias string, q ReportQuery) string {
	if q.AccountID <= 0 {
		return ""
	}
	return " AND " + alias + ".account_id = " + a.add(q.AccountID)
}

func (db *DB) reportChanges(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]SubscriptionChange, error) {
	a := args{}
	rows, err := tx.QueryContext(ctx, `
		SELECT c.account_id, ac.number, ac.name, c.at, c.plan_code, c.interval, c.seats, c.unit_amount,
			c.currency, c.recurring
		FROM subscription_changes c JOIN accounts ac ON ac.id = c.account_id
		WHERE c.currency = `+a.add(q.Currency)+` AND c.at <= `+a.add(db.timeArg(q.Through))+
		accountFilter(&a, "c", q)+`
		ORDER BY c.account_id, c.id`, a...)
	if err != nil {
		return nil, dbError(err, "report subscription changes", "")
	}
	defer rows.Close()
	var out []SubscriptionChange
	for rows.Next() {
		var c SubscriptionChange
		if err := rows.Scan(&c.AccountID, &c.AccountNumber, &c.AccountName, scanTime(&c.At), &c.PlanCode, &c.Interval,
			&c.Seats, &c.UnitAmount.Amount, &c.UnitAmount.Currency, &c.Recurring); err != nil {
			return nil, dbError(err, "report subscription changes", "")
		}
		out = append(out, c)
	}
	return out, dbError(rows.Err(), "report subscription changes", "")
}

func (db *DB) reportLines(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]RevenueLine, error) {
	a := args{}
	rows, err := tx.QueryContext(ctx, `
		SELECT i.id, i.number, i.account_id, i.account_number, i.kind, i.created_at, i.issue_date,
			l.period_start, l.period_end, l.amount, i.currency
		FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
		WHERE i.status IN ('open', 'paid', 'uncollectible') AND i.currency = `+a.add(q.Currency)+`
			AND i.created_at <= `+a.add(db.timeArg(q.Through))+accountFilter(&a, "i", q)+`
		ORDER BY i.id, l.position`, a...)
	if err != nil {
		return nil, dbError(err, "report lines", "")
	}
	defer rows.Close()
	var out []RevenueLine
	for rows.Next() {
		var l RevenueLine
		var number, start, end sql.NullString
		var issued string
		if err := rows.Scan(&l.InvoiceID, &number, &l.AccountID, &l.AccountNumber, &l.Kind, scanTime(&l.CreatedAt), &issued,
			&start, &end, &l.Amount.Amount, &l.Amount.Currency); err != nil {
			return nil, dbError(err, "report lines", "")
		}
		l.InvoiceNumber = number.String
		if l.Issued, err = billing.ParseDate(issued); err != nil {
			return nil, err
		}
		if start.Valid && end.Valid {
			if l.Period.Start, err = billing.ParseDate(start.String); err != nil {
				return nil, err
			}
			if l.Period.End, err = billing.ParseDate(end.String); err != nil {
				return nil, err
			}
		}
		out = append(out, l)
	}
	return out, dbError(rows.Err(), "report lines", "")
}

func (db *DB) reportGrants(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]CreditGrant, error) {
	a := args{}
	rows, err := tx.QueryContext(ctx, `
		SELECT t.account_id, ac.number, ac.time_zone, t.reason, t.created_at, t.amount, t.currency
		FROM credit_transactions t JOIN accounts ac ON ac.id = t.account_id
		WHERE t.reason IN ('signup', 'inactivity', 'adjustment') AND t.currency = `+a.add(q.Currency)+`
			AND t.created_at <= `+a.add(db.timeArg(q.Through))+accountFilter(&a, "t", q)+`
		ORDER BY t.id`, a...)
	if err != nil {
		return nil, dbError(err, "report credits", "")
	}
	defer rows.Close()
	var out []CreditGrant
	for rows.Next() {
		var g CreditGrant
		var zone string
		var at time.Time
		if err := rows.Scan(&g.AccountID, &g.AccountNumber, &zone, &g.Reason, scanTime(&at), &g.Amount.Amount,
			&g.Amount.Currency); err != nil {
			return nil, dbError(err, "report credits", "")
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		g.On = billing.DateOf(at, loc)
		out = append(out, g)
	}
	return out, dbError(rows.Err(), "report credits", "")
}

func (db *DB) reportReceivables(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]Receivable, error) {
	a := args{}
	rows, err := tx.QueryContext(ctx, `
		SELECT i.id, i.number, i.account_id, i.account_number, ac.name, i.issue_date,
			coalesce(i.due_date, i.issue_date), i.amount_due, i.currency
		FROM invoices i JOIN accounts ac ON ac.id = i.account_id
		WHERE i.status = 'open' AND i.amount_due > 0 AND i.currency = `+a.add(q.Currency)+
		accountFilter(&a, "i", q)+`
		ORDER BY coalesce(i.due_date, i.issue_date), i.id`, a...)
	if err != nil {
		return nil, dbError(err, "report receivables", "")
	}
	defer rows.Close()
	var out []Receivable
	for rows.Next() {
		var r Receivable
		var number sql.NullString
		var issued, due string
		if err := rows.Scan(&r.InvoiceID, &number, &r.AccountID, &r.AccountNumber, &r.AccountName, &issued, &due,
			&r.AmountDue.Amount, &r.AmountDue.Currency); err != nil {
			return nil, dbError(err, "report receivables", "")
		}
		r.InvoiceNumber = number.String
		var err error
		if r.Issued, err = billing.ParseDate(issued); err != nil {
			return nil, err
		}
		if r.Due, err = billing.ParseDate(due); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, dbError(rows.Err(), "report receivables", "")
}

func (db *DB) reportCollections(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]Collection, error) {
	a := args{}
	rows, err := tx.QueryContext(ctx, `
		SELECT p.account_id, coalesce(p.resolved_at, p.attempted_at), p.amount - p.amount_refunded, p.currency
		FROM payments p
		WHERE p.status IN ('succeeded', 'refunded') AND p.currency = `+a.add(q.Currency)+`
			AND coalesce(p.resolved_at, p.attempted_at) >= `+a.add(db.timeArg(q.Since))+`
			AND coalesce(p.resolved_at, p.attempted_at) <= `+a.add(db.timeArg(q.Through))+accountFilter(&a, "p", q), a...)
	if err != nil {
		return nil, dbError(err, "report collections", "")
	}
	defer rows.Close()
	var out []Collection
	for rows.Next() {
		var c Collection
		if err := rows.Scan(&c.AccountID, scanTime(&c.At), &c.Amount.Amount, &c.Amount.Currency); err != nil {
			return nil, dbError(err, "report collections", "")
		}
		out = append(out, c)
	}
	return out, dbError(rows.Err(), "report collections", "")
}

func (db *DB) reportFailed(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]FailedInvoice, error) {
	a := args{}
	since, through := a.add(db.timeArg(q.Since)), a.add(db.timeArg(q.Through))
	rows, err := tx.QueryContext(ctx, `
		SELECT i.id, i.account_id, ac.number, ac.name, ac.status, f.first_failed, i.status,
			coalesce((SELECT p.trigger FROM payments p WHERE p.invoice_id = i.id AND p.status IN ('succeeded', 'refunded')
				ORDER BY p.id DESC LIMIT 1), '')
		FROM (SELECT invoice_id, min(attempted_at) AS first_failed FROM payments
			WHERE status = 'failed' AND method = 'card' AND attempted_at >= `+since+` AND attempted_at <= `+through+`
			GROUP BY invoice_id) f
		JOIN invoices i ON i.id = f.invoice_id JOIN accounts ac ON ac.id = i.account_id
		WHERE i.currency = `+a.add(q.Currency)+accountFilter(&a, "i", q)+`
		ORDER BY f.first_failed, i.id`, a...)
	if err != nil {
		return nil, dbError(err, "report failed payments", "")
	}
	defer rows.Close()
	var out []FailedInvoice
	for rows.Next() {
		var f FailedInvoice
		if err := rows.Scan(&f.InvoiceID, &f.AccountID, &f.AccountNumber, &f.AccountName, &f.AccountStatus,
			scanTime(&f.FirstFailedAt), &f.Status, &f.PaidBy); err != nil {
			return nil, dbError(err, "report failed payments", "")
		}
		out = append(out, f)
	}
	return out, dbError(rows.Err(), "report failed payments", "")
}

func (db *DB) reportRenewals(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]Renewal, error) {
	if q.RenewFrom.IsZero() {
		return nil, nil
	}
	a := args{}
	rows, err := tx.QueryContext(ctx, `
		SELECT s.account_id, ac.number, ac.name, s.period_end, p.code, p.name, v.version, s.interval, s.seats,
			s.unit_amount, s.currency, s.scheduled
		FROM subscriptions s JOIN accounts ac ON ac.id = s.account_id
			JOIN plan_versions v ON v.id = s.plan_version_id JOIN plans p ON p.id = v.plan_id
		WHERE s.period_end >= `+a.add(q.RenewFrom.String())+` AND s.period_end < `+a.add(q.RenewTo.String())+`
			AND s.status <> 'canceled' AND NOT s.cancel_at_period_end AND ac.status <> 'closed'
			AND s.currency = `+a.add(q.Currency)+accountFilter(&a, "s", q)+`
		ORDER BY s.period_end, s.account_id`, a...)
	if err != nil {
		return nil, dbError(err, "report renewals", "")
	}
	defer rows.Close()
	var out []Renewal
	for rows.Next() {
		var r Renewal
		var end string
		var scheduled sql.NullString
		t := &r.Terms
		if err := rows.Scan(&r.AccountID, &r.AccountNumber, &r.AccountName, &end, &t.Plan.Code, &t.Plan.Name,
			&t.Plan.Version, &t.Interval, &t.Seats, &t.UnitPrice.Amount, &t.UnitPrice.Currency, &scheduled); err != nil {
			return nil, dbError(err, "report renewals", "")
		}
		var err error
		if r.On, err = billing.ParseDate(end); err != nil {
			return nil, err
		}
		if scheduled.Valid && scheduled.String != "" {
			if err := json.Unmarshal([]byte(scheduled.String), t); err != nil {
				return nil, fmt.Errorf("scheduled terms of account %d: %w", r.AccountID, err)
			}
		}
		out = append(out, r)
	}
	return out, dbError(rows.Err(), "report renewals", "")
}

func (db *DB) reportIssued(ctx context.Context, tx *sql.Tx, q ReportQuery) ([]Issued, error) {
	a := args{}
	rows, err := tx.QueryContext(ctx, `
		SELECT i.issue_date, i.total, i.currency FROM invoices i
		WHERE i.status IN ('open', 'paid', 'uncollectible') AND i.currency = `+a.add(q.Currency)+`
			AND i.issue_date >= `+a.add(billing.DateOf(q.Since, time.UTC).String())+`
			AND i.created_at <= `+a.add(db.timeArg(q.Through))+accountFilter(&a, "i", q), a...)
	if err != nil {
		return nil, dbError(err, "report invoices issued", "")
	}
	defer rows.Close()
	var out []Issued
	for rows.Next() {
		var i Issued
		var on string
		if err := rows.Scan(&on, &i.Total.Amount, &i.Total.Currency); err != nil {
			return nil, dbError(err, "report invoices issued", "")
		}
		var err error
		if i.On, err = billing.ParseDate(on); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, dbError(rows.Err(), "report invoices issued", "")
}
