package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// accountSnapshot is what the audit trail records of an account.
type accountSnapshot struct {
	Number        string                `json:"number"`
	Name          string                `json:"name"`
	Domain        string                `json:"domain"`
	BillingType   billing.BillingType   `json:"billing_type"`
	AccountType   billing.AccountType   `json:"account_type"`
	Currency      string                `json:"currency"`
	TimeZone      string                `json:"time_zone"`
	Status        billing.AccountStatus `json:"status"`
	CreditBalance billing.Money         `json:"credit_balance"`
	PayByInvoice  bool                  `json:"pay_by_invoice,omitempty"`
}

func snapshotAccount(a *billing.Account) accountSnapshot {
	return accountSnapshot{
		Number: a.Number, Name: a.Name, Domain: a.Domain, BillingType: a.BillingType,
		AccountType: a.AccountType, Currency: a.Currency, TimeZone: a.TimeZone,
		Status: a.Status, CreditBalance: a.CreditBalance, PayByInvoice: a.PayByInvoice,
	}
}

const accountColumns = `a.id, a.number, a.name, a.domain, a.billing_type, a.account_type, a.currency,
	a.time_zone, a.status, a.credit_balance, a.pay_by_invoice, a.created_at, a.updated_at`

func scanAccount(row interface{ Scan(...any) error }) (*billing.Account, error) {
	var a billing.Account
	err := row.Scan(&a.ID, &a.Number, &a.Name, &a.Domain, &a.BillingType, &a.AccountType, &a.Currency,
		&a.TimeZone, &a.Status, &a.CreditBalance.Amount, &a.PayByInvoice, scanTime(&a.CreatedAt), scanTime(&a.UpdatedAt))
	if err != nil {
		return nil, err
	}
	a.CreditBalance.Currency = a.Currency
	return &a, nil
}

// CreateAccount validates a, gives it the next account number and stores it
// active with no credit. DESIGN: "an account number (KB- + 6 digits,
// sequential, never reused)".
func (db *DB) CreateAccount(ctx context.Context, a *billing.Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	created := *a
	created.Status = billing.StatusActive
	created.CreditBalance = billing.Zero(created.Currency)
	err := db.inTx(ctx, "create account", func(tx *sql.Tx, now time.Time) error {
		n, err := db.nextAccountNumber(ctx, tx)
		if err != nil {
			return err
		}
		created.Number = billing.FormatAccountNumber(n)
		created.CreatedAt, created.UpdatedAt = now, now
		err = tx.QueryRowContext(ctx, `
			INSERT INTO accounts (number, name, domain, billing_type, account_type, currency, time_zone,
				status, credit_balance, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			RETURNING id`,
			created.Number, created.Name, created.Domain, created.BillingType, created.AccountType,
			created.Currency, created.TimeZone, created.Status, created.CreditBalance.Amount,
			db.timeArg(now), db.timeArg(now)).Scan(&created.ID)
		if err != nil {
			return dbError(err, "create account", "")
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "account.create", targetType: "account", targetID: created.Number,
			accountID: created.ID, after: snapshotAccount(&created),
		})
	})
	if err != nil {
		return err
	}
	*a = created
	return nil
}

// nextAccountNumber takes the next number: from a sequence on PostgreSQL,
// which never hands a number out twice even across rolled-back
// transactions; from a one-row counter on SQLite, where the transaction
// holds the write lock, so a number is only reused if the account that took
// it was never committed.
func (db *DB) nextAccountNumber(ctx context.Context, q querier) (int64, error) {
	query := `UPDATE account_number_counter SET last_value = last_value + 1 WHERE id = 1 RETURNING last_value`
	if db.dialect == DialectPostgres {
		query = `SELECT nextval('account_number_seq')`
	}
	var n int64
	if err := q.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, dbError(err, "next account number", "")
	}
	return n, nil
}

// FindAccountByNumber returns the account with the number, or ENOTFOUND.
func (db *DB) FindAccountByNumber(ctx context.Context, number string) (*billing.Account, error) {
	return db.findAccount(ctx, db.read, "a.number = $1", number, "Account "+number, false)
}

// FindAccountByID returns the account with the internal id, or ENOTFOUND.
func (db *DB) FindAccountByID(ctx context.Context, id int64) (*billing.Account, error) {
	return db.findAccount(ctx, db.read, "a.id = $1", id, "Account", false)
}

// findAccount reads one account, locked for the rest of the transaction when
// lock is set (PostgreSQL).
func (db *DB) findAccount(ctx context.Context, q querier, where string, arg any, what string, lock bool) (*billing.Account, error) {
	query := `SELECT ` + accountColumns + ` FROM accounts a WHERE ` + where
	if lock {
		query += db.forUpdate()
	}
	a, err := scanAccount(q.QueryRowContext(ctx, query, arg))
	if err != nil {
		return nil, dbError(err, "find account", what)
	}
	return a, nil
}

// FindAccounts returns a page of accounts ordered by number and how many
// match. Query matches, case-insensitively, part of the number, name,
// domain or billing profile email.
func (db *DB) FindAccounts(ctx context.Context, filter billing.AccountFilter) ([]*billing.Account, int, error) {
	limit, offset := pageLimit(filter.Limit, filter.Offset)
	var a args
	var where []string
	from := ` FROM accounts a`
	if q := strings.ToLower(strings.TrimSpace(filter.Query)); q != "" {
		from += ` LEFT JOIN billing_profiles p ON p.account_id = a.id`
		p := a.add("%" + escapeLike(q) + "%")
		where = append(where, fmt.Sprintf(`(lower(a.number) LIKE %[1]s ESCAPE '\' OR lower(a.name) LIKE %[1]s ESCAPE '\'
			OR lower(a.domain) LIKE %[1]s ESCAPE '\' OR lower(p.email) LIKE %[1]s ESCAPE '\')`, p))
	}
	if filter.Status != nil {
		where = append(where, "a.status = "+a.add(*filter.Status))
	}
	if filter.BillingType != nil {
		where = append(where, "a.billing_type = "+a.add(*filter.BillingType))
	}
	if len(where) > 0 {
		from += " WHERE " + strings.Join(where, " AND ")
	}

	var total int
	accounts := []*billing.Account{}
	err := db.inReadTx(ctx, "find accounts", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from, a...).Scan(&total); err != nil {
			return dbError(err, "count accounts", "")
		}
		// Numbers grow past six digits rather than wrapping, so order by
		// length first for numeric order.
		query := `SELECT ` + accountColumns + from + ` ORDER BY length(a.number), a.number LIMIT ` +
			a.add(limit) + ` OFFSET ` + a.add(offset)
		rows, err := tx.QueryContext(ctx, query, a...)
		if err != nil {
			return dbError(err, "find accounts", "")
		}
		defer rows.Close()
		for rows.Next() {
			acc, err := scanAccount(rows)
			if err != nil {
				return dbError(err, "find accounts", "")
			}
			accounts = append(accounts, acc)
		}
		return dbError(rows.Err(), "find accounts", "")
	})
	if err != nil {
		return nil, 0, err
	}
	return accounts, total, nil
}

// UpdateAccount applies upd to the account. An update that changes nothing
// writes nothing and returns the account as it is.
func (db *DB) UpdateAccount(ctx context.Context, id int64, upd billing.AccountUpdate) (*billing.Account, error) {
	var updated billing.Account
	err := db.inTx(ctx, "update account", func(tx *sql.Tx, now time.Time) error {
		before, err := db.findAccount(ctx, tx, "a.id = $1", id, "Account", true)
		if err != nil {
			return err
		}
		if now, err = db.accountTime(ctx, tx, id, now); err != nil {
			return err
		}
		updated, err = upd.Apply(*before)
		if err != nil {
			return err
		}
		if snapshotAccount(&updated) == snapshotAccount(before) {
			return nil
		}
		updated.UpdatedAt = now
		_, err = tx.ExecContext(ctx, `
			UPDATE accounts SET name = $1, domain = $2, account_type = $3, time_zone = $4, status = $5, updated_at = $6,
				pay_by_invoice = $8
			WHERE id = $7`,
			updated.Name, updated.Domain, updated.AccountType, updated.TimeZone, updated.Status, db.timeArg(now), id,
			updated.PayByInvoice)
		if err != nil {
			return dbError(err, "update account", "")
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "account.update", targetType: "account", targetID: updated.Number, accountID: id,
			before: snapshotAccount(before), after: snapshotAccount(&updated),
		})
	})
	if err != nil {
		return nil, err
	}
	return &updated, nil
}
