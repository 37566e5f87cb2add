package store

import (
	"context"
	"database/sql"
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

// ReportData is what the reports read, for every account or one.
type ReportData struct {
	Changes     []SubscriptionChange // by account, then in the order recorded
	Lines       []RevenueLine        // by invoice, then position
	Grants      []CreditGrant
	Receivables []Receivable // by due date
}

// ReportQuery chooses the rows: one account (AccountID > 0) or all, in one
// currency, and what happened up to Through (included).
type ReportQuery struct {
	AccountID int64
	Currency  string
	Through   time.Time
}

// ReportData reads the rows of the reports in one read-only transaction.
func (db *DB) ReportData(ctx context.Context, q ReportQuery) (*ReportData, error) {
	out := &ReportData{}
	err := db.inReadTx(ctx, "report data", func(tx *sql.Tx) error {
		var err error
		if out.Changes, err = db.reportChanges(ctx, tx, q); err != nil {
			return err
		}
		if out.Lines, err = db.reportLines(ctx, tx, q); err != nil {
			return err
		}
		if out.Grants, err = db.reportGrants(ctx, tx, q); err != nil {
			return err
		}
		out.Receivables, err = db.reportReceivables(ctx, tx, q)
		return err
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
