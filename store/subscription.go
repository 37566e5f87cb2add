package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Tx is one write transaction that the engine drives: the engine's
// exported method owns it (DB.InTx), decides the rules, and calls these
// methods for the SQL. The time is fixed for the transaction; the engine
// moves it to the account's own time (its test clock) with SetNow once it
// has locked the account.
type Tx struct {
	db  *DB
	tx  *sql.Tx
	q   querier // tx, with SQLite's prepared statements (stmtcache.go)
	ctx context.Context
	now time.Time
	// saved is called after each subscription write (OnSubscriptionSaved).
	saved func(*billing.Subscription) error
	// beforeCommit runs after fn succeeded, before the commit (BeforeCommit).
	beforeCommit []func() error
	commitKeys   map[any]bool
	// readOnly marks a transaction of ReadTx.
	readOnly bool
}

// ReadOnly reports whether tx is a read (ReadTx): it can lock nothing and
// write nothing.
func (tx *Tx) ReadOnly() bool { return tx.readOnly }

// SQL returns the database/sql transaction, for work that must commit with
// the change: a River job inserted with InsertTx.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// OnSubscriptionSaved has fn called, in the transaction, after every write
// of a subscription: the engine schedules the account's next billing there,
// so that the job commits with the state it follows from.
func (tx *Tx) OnSubscriptionSaved(fn func(*billing.Subscription) error) { tx.saved = fn }

func (tx *Tx) subscriptionSaved(s *billing.Subscription) error {
	if tx.saved == nil {
		return nil
	}
	return tx.saved(s)
}

// InTx runs fn in one write transaction and commits when it returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.inTx(ctx, "engine", func(stx *sql.Tx, now time.Time) error {
		tx := &Tx{db: db, tx: stx, q: cachedTx{stx, db.stmts}, ctx: ctx, now: now}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.runBeforeCommit()
	})
}

// ReadTx runs fn in a read-only transaction: one snapshot, no row lock,
// nothing written — on SQLite a deferred BEGIN on the read pool's
// query_only connections (never the write lock), on PostgreSQL BEGIN READ
// ONLY. Pages, GETs and previews read through it, so that no reader waits
// for a writer or holds one up. A write in fn fails.
func (db *DB) ReadTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.inReadTx(ctx, "engine read", func(stx *sql.Tx) error {
		return fn(&Tx{db: db, tx: stx, q: stx, ctx: ctx, now: db.now(), readOnly: true})
	})
}

// Now returns the transaction's time.
func (tx *Tx) Now() time.Time { return tx.now }

// SetNow fixes the transaction's time to t (an account's test clock).
func (tx *Tx) SetNow(t time.Time) { tx.now = normTime(t) }

// Dialect returns the store's dialect.
func (tx *Tx) Dialect() string { return tx.db.dialect }

// Audit writes the one audit event of the engine operation running in tx.
func (tx *Tx) Audit(action, targetType, targetID string, accountID int64, before, after any) error {
	return tx.db.writeAudit(tx.ctx, tx.q, tx.now, change{action: action, targetType: targetType,
		targetID: targetID, accountID: accountID, before: before, after: after})
}

// LockAccount reads the account and, on PostgreSQL, locks its row until the
// transaction ends: every state change of an account takes this lock first,
// so that changes to one account run one after the other. (SQLite's write
// transaction holds the database's one write lock from BEGIN.)
func (tx *Tx) LockAccount(id int64) (*billing.Account, error) {
	if tx.readOnly {
		return nil, billing.Errorf(billing.EINTERNAL, "store: LockAccount in a read transaction; use FindAccount")
	}
	return tx.db.findAccount(tx.ctx, tx.q, "a.id = $1", id, "Account", true)
}

// FindAccount reads the account without locking it, for reads (ReadTx).
func (tx *Tx) FindAccount(id int64) (*billing.Account, error) {
	return tx.db.findAccount(tx.ctx, tx.tx, "a.id = $1", id, "Account", false)
}

// TestClockNow returns the time of the account's test clock, nil when it
// has none.
func (tx *Tx) TestClockNow(accountID int64) (*time.Time, error) {
	return tx.db.testClockNow(tx.ctx, tx.q, accountID)
}

// AccountTestClockNow returns the time of the account's test clock, nil
// when it has none.
func (db *DB) AccountTestClockNow(ctx context.Context, accountID int64) (*time.Time, error) {
	return db.testClockNow(ctx, db.read, accountID)
}

func (db *DB) testClockNow(ctx context.Context, q querier, accountID int64) (*time.Time, error) {
	var now *time.Time
	err := q.QueryRowContext(ctx, `
		SELECT c.now FROM accounts a LEFT JOIN test_clocks c ON c.id = a.test_clock_id WHERE a.id = $1`,
		accountID).Scan(scanNullTime(&now))
	if err != nil {
		return nil, dbError(err, "find test clock", "Account")
	}
	return now, nil
}

// FindProfile returns the account's billing profile, nil when it has none.
func (tx *Tx) FindProfile(accountID int64) (*billing.BillingProfile, error) {
	return tx.db.findProfile(tx.ctx, tx.q, accountID)
}

// FindPlanByCode returns the plan with its current version, ENOTFOUND for an
// unknown code.
func (tx *Tx) FindPlanByCode(code string) (*billing.Plan, error) {
	p, err := tx.db.findPlan(tx.ctx, tx.q, code)
	if err != nil {
		return nil, err
	}
	current, err := tx.db.findVersions(tx.ctx, tx.q, `v.plan_id = $1 ORDER BY v.version DESC LIMIT 1`, p.ID)
	if err != nil {
		return nil, err
	}
	if len(current) > 0 {
		p.Current = current[0]
	}
	return p, nil
}

// FindPlanVersion returns one version with its prices, ENOTFOUND when there
// is none.
func (tx *Tx) FindPlanVersion(id int64) (*billing.PlanVersion, error) {
	versions, err := tx.db.findVersions(tx.ctx, tx.q, `v.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, billing.Errorf(billing.ENOTFOUND, "Plan version %d not found.", id)
	}
	return versions[0], nil
}

// Subscriptions. Periods and contract terms are local dates stored as
// 'YYYY-MM-DD' text on both engines; scheduled terms are JSON.

const subscriptionColumns = `s.id, s.account_id, s.plan_version_id, p.code, p.name, v.version, s.interval,
	s.seats, s.unit_amount, s.currency, s.anchor, s.period_start, s.period_end, s.period_billed, s.status,
	s.cancel_at_period_end, s.scheduled, s.contract_number, s.term_start, s.term_end, s.net_days,
	s.overage_unit_amount, s.auto_renew, s.on_end, s.pay_by_invoice, s.on_join, s.peak_users,
	s.created_at, s.updated_at`

const subscriptionFrom = ` FROM subscriptions s
	JOIN plan_versions v ON v.id = s.plan_version_id
	JOIN plans p ON p.id = v.plan_id`

// dateScanner scans a nullable 'YYYY-MM-DD' column into a Date (zero for
// NULL).
type dateScanner struct{ dst *billing.Date }

func scanDate(dst *billing.Date) dateScanner { return dateScanner{dst} }

func (s dateScanner) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case nil:
		*s.dst = billing.Date{}
		return nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("scan date: unsupported type %T", src)
	}
	d, err := billing.ParseDate(text)
	if err != nil {
		return fmt.Errorf("scan date %q: %w", text, err)
	}
	*s.dst = d
	return nil
}

// dateArg is a date column's argument: NULL for the zero Date.
func dateArg(d billing.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func scanSubscription(row interface{ Scan(...any) error }) (*billing.Subscription, error) {
	var s billing.Subscription
	var scheduled, contractNumber sql.NullString
	var c billing.Contract
	var overage int64
	err := row.Scan(&s.ID, &s.AccountID, &s.Plan.VersionID, &s.Plan.Code, &s.Plan.Name, &s.Plan.Version,
		&s.Interval, &s.Seats, &s.UnitPrice.Amount, &s.UnitPrice.Currency, scanDate(&s.Anchor),
		scanDate(&s.Period.Start), scanDate(&s.Period.End), &s.PeriodBilled, &s.Status, &s.CancelAtPeriodEnd,
		&scheduled, &contractNumber, scanDate(&c.TermStart), scanDate(&c.TermEnd), &c.NetDays, &overage,
		&c.AutoRenew, &c.OnEnd, &c.PayByInvoice, &s.OnJoin, &s.PeakUsers, scanTime(&s.CreatedAt), scanTime(&s.UpdatedAt))
	if err != nil {
		return nil, err
	}
	if scheduled.Valid {
		var t billing.Terms
		if err := json.Unmarshal([]byte(scheduled.String), &t); err != nil {
			return nil, fmt.Errorf("scheduled terms of subscription %d: %w", s.ID, err)
		}
		s.Scheduled = &t
	}
	if contractNumber.Valid {
		c.Number = contractNumber.String
		c.OverageUnitPrice = billing.Money{Amount: overage, Currency: s.UnitPrice.Currency}
		s.Contract = &c
	}
	return &s, nil
}

// FindSubscription returns the account's subscription, nil when it has none
// yet (the engine gives it the Free plan).
func (tx *Tx) FindSubscription(accountID int64) (*billing.Subscription, error) {
	return tx.db.findSubscription(tx.ctx, tx.q, accountID)
}

// FindSubscription returns the account's subscription, ENOTFOUND (reason
// "no_subscription") when it has none yet.
func (db *DB) FindSubscription(ctx context.Context, accountID int64) (*billing.Subscription, error) {
	s, err := db.findSubscription(ctx, db.read, accountID)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, billing.ReasonErrorf(billing.ENOTFOUND, "no_subscription", "The account has no subscription yet.")
	}
	return s, nil
}

func (db *DB) findSubscription(ctx context.Context, q querier, accountID int64) (*billing.Subscription, error) {
	s, err := scanSubscription(q.QueryRowContext(ctx,
		`SELECT `+subscriptionColumns+subscriptionFrom+` WHERE s.account_id = $1`, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, dbError(err, "find subscription", "")
	}
	return s, nil
}

// subscriptionArgs are the columns a subscription writes, in the order of
// subscriptionWriteColumns.
func (db *DB) subscriptionArgs(s *billing.Subscription) ([]any, error) {
	var scheduled any
	if s.Scheduled != nil {
		b, err := json.Marshal(s.Scheduled)
		if err != nil {
			return nil, fmt.Errorf("scheduled terms: %w", err)
		}
		scheduled = string(b)
	}
	var contractNumber, termStart, termEnd any
	netDays, overage, autoRenew, onEnd, payByInvoice := 0, int64(0), false, billing.EndConvertFree, false
	if c := s.Contract; c != nil {
		contractNumber, termStart, termEnd = c.Number, dateArg(c.TermStart), dateArg(c.TermEnd)
		netDays, overage, autoRenew, payByInvoice = c.NetDays, c.OverageUnitPrice.Amount, c.AutoRenew, c.PayByInvoice
		if c.OnEnd != "" {
			onEnd = c.OnEnd
		}
	}
	return []any{s.Plan.VersionID, s.Interval, s.Seats, s.UnitPrice.Amount, s.UnitPrice.Currency,
		dateArg(s.Anchor), dateArg(s.Period.Start), dateArg(s.Period.End), s.PeriodBilled, s.Status,
		s.CancelAtPeriodEnd, scheduled, contractNumber, termStart, termEnd, netDays, overage, autoRenew,
		onEnd, payByInvoice, s.OnJoin, s.PeakUsers}, nil
}

const subscriptionWriteColumns = `plan_version_id, interval, seats, unit_amount, currency, anchor,
	period_start, period_end, period_billed, status, cancel_at_period_end, scheduled, contract_number,
	term_start, term_end, net_days, overage_unit_amount, auto_renew, on_end, pay_by_invoice, on_join, peak_users`

// CreateSubscription stores the account's subscription and sets its ID and
// timestamps. ECONFLICT when the account has one.
func (tx *Tx) CreateSubscription(s *billing.Subscription) error {
	a, err := tx.db.subscriptionArgs(s)
	if err != nil {
		return err
	}
	a = append(a, s.AccountID, tx.db.timeArg(tx.now), tx.db.timeArg(tx.now))
	placeholders := ""
	for i := range a {
		if i > 0 {
			placeholders += ", "
		}
		placeholders += fmt.Sprintf("$%d", i+1)
	}
	err = tx.q.QueryRowContext(tx.ctx, `INSERT INTO subscriptions (`+subscriptionWriteColumns+`,
		account_id, created_at, updated_at) VALUES (`+placeholders+`) RETURNING id`, a...).Scan(&s.ID)
	if err != nil {
		return dbError(err, "create subscription", "")
	}
	s.CreatedAt, s.UpdatedAt = tx.now, tx.now
	return tx.subscriptionSaved(s)
}

// UpdateSubscription writes every mutable field of s.
func (tx *Tx) UpdateSubscription(s *billing.Subscription) error {
	a, err := tx.db.subscriptionArgs(s)
	if err != nil {
		return err
	}
	cols := []string{"plan_version_id", "interval", "seats", "unit_amount", "currency", "anchor",
		"period_start", "period_end", "period_billed", "status", "cancel_at_period_end", "scheduled",
		"contract_number", "term_start", "term_end", "net_days", "overage_unit_amount", "auto_renew",
		"on_end", "pay_by_invoice", "on_join", "peak_users"}
	set := ""
	for i, c := range cols {
		if i > 0 {
			set += ", "
		}
		set += fmt.Sprintf("%s = $%d", c, i+1)
	}
	a = append(a, tx.db.timeArg(tx.now), s.ID)
	res, err := tx.q.ExecContext(tx.ctx, `UPDATE subscriptions SET `+set+
		fmt.Sprintf(`, updated_at = $%d WHERE id = $%d`, len(a)-1, len(a)), a...)
	if err != nil {
		return dbError(err, "update subscription", "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err, "update subscription", "")
	} else if n != 1 {
		return billing.Errorf(billing.ENOTFOUND, "Subscription %d not found.", s.ID)
	}
	s.UpdatedAt = tx.now
	return tx.subscriptionSaved(s)
}

// The roster inside an engine transaction: the engine applies the seat
// rules to what these write, and a refusal rolls all of it back.

// RosterUser is a managed user with the inactivity bookkeeping the engine
// keeps: the period (by its start) whose seat was settled for inactivity —
// credited, or not charged at renewal — and the period in which the seat was
// charged again when the user came back.
type RosterUser struct {
	billing.ManagedUser
	InactivePeriodStart    billing.Date
	ReactivatedPeriodStart billing.Date
}

// RosterUsers returns the account's whole roster, ordered by user id.
func (tx *Tx) RosterUsers(accountID int64) ([]*RosterUser, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `
		SELECT `+managedUserColumns+`, inactive_period_start, reactivated_period_start
		FROM managed_users WHERE account_id = $1 ORDER BY user_id`, accountID)
	if err != nil {
		return nil, dbError(err, "find roster", "")
	}
	defer rows.Close()
	users := []*RosterUser{}
	for rows.Next() {
		var u RosterUser
		if err := rows.Scan(&u.AccountID, &u.UserID, &u.Email, &u.Status, scanTime(&u.ManagedSince),
			scanNullTime(&u.LastActiveAt), scanDate(&u.InactivePeriodStart), scanDate(&u.ReactivatedPeriodStart)); err != nil {
			return nil, dbError(err, "find roster", "")
		}
		users = append(users, &u)
	}
	return users, dbError(rows.Err(), "find roster", "")
}

// CountManagedUsers returns the size of the account's roster.
func (tx *Tx) CountManagedUsers(accountID int64) (int64, error) {
	var n int64
	err := tx.q.QueryRowContext(tx.ctx, `SELECT count(*) FROM managed_users WHERE account_id = $1`, accountID).Scan(&n)
	return n, dbError(err, "count managed users", "")
}

// UpsertManagedUser adds u to the roster (managed from the transaction's
// time) or updates its email, status and last activity, as the store's
// UpsertManagedUser does but without its own transaction or audit event.
// It returns the user as it was (nil when new) and whether anything
// changed; u.ManagedSince is set.
func (tx *Tx) UpsertManagedUser(u *billing.ManagedUser) (old *billing.ManagedUser, changed bool, err error) {
	if err := prepareReport(u.AccountID, u); err != nil {
		return nil, false, err
	}
	old, err = tx.db.findManagedUser(tx.ctx, tx.q, u.AccountID, u.UserID)
	if err != nil {
		return nil, false, err
	}
	if err := billing.CheckActivityReport(billing.ActorFromContext(tx.ctx), old, u, tx.now); err != nil {
		return nil, false, err
	}
	if old != nil {
		u.ManagedSince = old.ManagedSince
		if sameReport(old, u) {
			return old, false, nil
		}
	} else {
		u.ManagedSince = tx.now
	}
	return old, true, tx.db.saveManagedUser(tx.ctx, tx.q, u)
}

// ReplaceManagedUsers makes the roster exactly users, as the store's
// ReplaceManagedUsers does but without its own transaction or audit event,
// and returns what changed and the size of the roster before.
func (tx *Tx) ReplaceManagedUsers(accountID int64, users []billing.ManagedUser) (billing.RosterChange, int, error) {
	rc := billing.RosterChange{Added: []string{}, Removed: []string{}, Updated: []string{}}
	reported := make(map[string]*billing.ManagedUser, len(users))
	for i := range users {
		u := users[i]
		if err := prepareReport(accountID, &u); err != nil {
			return rc, 0, err
		}
		if reported[u.UserID] != nil {
			var v billing.Validation
			v.Add("user_id", "User id %s is listed twice.", u.UserID)
			return rc, 0, v.Err()
		}
		reported[u.UserID] = &u
	}
	current, err := tx.db.findManagedUsers(tx.ctx, tx.q, accountID, -1, 0)
	if err != nil {
		return rc, 0, err
	}
	if err := checkActivityReports(tx.ctx, current, reported, tx.now); err != nil {
		return rc, 0, err
	}
	for _, u := range current {
		r, ok := reported[u.UserID]
		switch {
		case !ok:
			rc.Removed = append(rc.Removed, u.UserID)
			if err := tx.db.deleteManagedUser(tx.ctx, tx.q, accountID, u.UserID); err != nil {
				return rc, 0, err
			}
		case !sameReport(u, r):
			rc.Updated = append(rc.Updated, u.UserID)
			r.ManagedSince = u.ManagedSince
			if err := tx.db.saveManagedUser(tx.ctx, tx.q, r); err != nil {
				return rc, 0, err
			}
		}
		delete(reported, u.UserID)
	}
	for id, r := range reported {
		rc.Added = append(rc.Added, id)
		r.ManagedSince = tx.now
		if err := tx.db.saveManagedUser(tx.ctx, tx.q, r); err != nil {
			return rc, 0, err
		}
	}
	slices.Sort(rc.Added)
	slices.Sort(rc.Removed)
	slices.Sort(rc.Updated)
	return rc, len(current), nil
}

// RemoveManagedUser takes the user off the roster and returns it; ENOTFOUND
// when it is not on it.
func (tx *Tx) RemoveManagedUser(accountID int64, userID string) (*billing.ManagedUser, error) {
	old, err := tx.db.findManagedUser(tx.ctx, tx.q, accountID, userID)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, billing.Errorf(billing.ENOTFOUND, "User %s is not a managed user of the account.", userID)
	}
	return old, tx.db.deleteManagedUser(tx.ctx, tx.q, accountID, userID)
}

// ClearManagedUsers empties the roster and returns how many users it had.
func (tx *Tx) ClearManagedUsers(accountID int64) (int64, error) {
	res, err := tx.q.ExecContext(tx.ctx, `DELETE FROM managed_users WHERE account_id = $1`, accountID)
	if err != nil {
		return 0, dbError(err, "clear managed users", "")
	}
	n, err := res.RowsAffected()
	return n, dbError(err, "clear managed users", "")
}

// SetUserInactivePeriod records that the user's seat was settled for
// inactivity in the period that starts on start.
func (tx *Tx) SetUserInactivePeriod(accountID int64, userID string, start billing.Date) error {
	_, err := tx.q.ExecContext(tx.ctx, `UPDATE managed_users SET inactive_period_start = $1
		WHERE account_id = $2 AND user_id = $3`, dateArg(start), accountID, userID)
	return dbError(err, "mark inactive user", "")
}

// SetUserReactivatedPeriod records that the user's seat was charged again,
// in the period that starts on start, when the user came back.
func (tx *Tx) SetUserReactivatedPeriod(accountID int64, userID string, start billing.Date) error {
	_, err := tx.q.ExecContext(tx.ctx, `UPDATE managed_users SET reactivated_period_start = $1
		WHERE account_id = $2 AND user_id = $3`, dateArg(start), accountID, userID)
	return dbError(err, "mark reactivated user", "")
}

// AccountSnapshot is what the audit trail records of an account, for
// engine events that create one.
type AccountSnapshot = accountSnapshot

// SnapshotAccount returns the audit snapshot of a.
func SnapshotAccount(a *billing.Account) AccountSnapshot { return snapshotAccount(a) }

// CreateAccount validates a, gives it the next account number and stores it
// active with no credit, as DB.CreateAccount does but in the engine's
// transaction and without an audit event of its own (the engine writes one
// for the account and its subscription).
func (tx *Tx) CreateAccount(a *billing.Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.Status = billing.StatusActive
	a.CreditBalance = billing.Zero(a.Currency)
	n, err := tx.db.nextAccountNumber(tx.ctx, tx.tx)
	if err != nil {
		return err
	}
	a.Number = billing.FormatAccountNumber(n)
	a.CreatedAt, a.UpdatedAt = tx.now, tx.now
	err = tx.q.QueryRowContext(tx.ctx, `
		INSERT INTO accounts (number, name, domain, billing_type, account_type, currency, time_zone,
			status, credit_balance, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		RETURNING id`,
		a.Number, a.Name, a.Domain, a.BillingType, a.AccountType, a.Currency, a.TimeZone, a.Status,
		a.CreditBalance.Amount, tx.db.timeArg(tx.now), tx.db.timeArg(tx.now)).Scan(&a.ID)
	return dbError(err, "create account", "")
}
