package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/kore-billing/korebill/billing"
)

type testClockSnapshot struct {
	Name string    `json:"name"`
	Now  time.Time `json:"now"`
}

// CreateTestClock stores a new test clock starting at c.Now.
func (db *DB) CreateTestClock(ctx context.Context, c *billing.TestClock) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.Now = normTime(c.Now)
	return db.inTx(ctx, "create test clock", func(tx *sql.Tx, now time.Time) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO test_clocks (name, now, created_at) VALUES ($1, $2, $3) RETURNING id`,
			c.Name, db.timeArg(c.Now), db.timeArg(now)).Scan(&c.ID)
		if err != nil {
			return dbError(err, "create test clock", "")
		}
		c.CreatedAt, c.Status = now, billing.TestClockReady
		return db.writeAudit(ctx, tx, now, change{action: "test_clock.create", targetType: "test_clock",
			targetID: strconv.FormatInt(c.ID, 10), after: testClockSnapshot{c.Name, c.Now}})
	})
}

// FindTestClock returns ENOTFOUND for an unknown id.
func (db *DB) FindTestClock(ctx context.Context, id int64) (*billing.TestClock, error) {
	c := &billing.TestClock{}
	err := db.read.QueryRowContext(ctx, `SELECT id, name, now, created_at, status, advance_to, advance_error FROM test_clocks WHERE id = $1`, id).
		Scan(&c.ID, &c.Name, scanTime(&c.Now), scanTime(&c.CreatedAt), &c.Status, scanNullTime(&c.AdvanceTo), &c.AdvanceError)
	if err != nil {
		return nil, dbError(err, "find test clock", "Test clock "+strconv.FormatInt(id, 10))
	}
	return c, nil
}

// FindTestClocks lists every test clock, newest first.
func (db *DB) FindTestClocks(ctx context.Context) ([]*billing.TestClock, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, now, created_at, status, advance_to, advance_error FROM test_clocks ORDER BY id DESC`)
	if err != nil {
		return nil, dbError(err, "find test clocks", "")
	}
	defer rows.Close()
	var out []*billing.TestClock
	for rows.Next() {
		c := &billing.TestClock{}
		if err := rows.Scan(&c.ID, &c.Name, scanTime(&c.Now), scanTime(&c.CreatedAt), &c.Status, scanNullTime(&c.AdvanceTo), &c.AdvanceError); err != nil {
			return nil, dbError(err, "find test clocks", "")
		}
		out = append(out, c)
	}
	return out, dbError(rows.Err(), "find test clocks", "")
}

// TestClockAccounts returns the ids of the accounts attached to a clock.
func (db *DB) TestClockAccounts(ctx context.Context, clockID int64) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM accounts WHERE test_clock_id = $1 ORDER BY id`, clockID)
	if err != nil {
		return nil, dbError(err, "test clock accounts", "")
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(err, "test clock accounts", "")
		}
		ids = append(ids, id)
	}
	return ids, dbError(rows.Err(), "test clock accounts", "")
}

// AttachTestClock makes an account read its time from a clock. An account
// is attached before it has billing history, so that its history is made by
// the clock alone: ESTATE when it has invoices already or another clock.
func (db *DB) AttachTestClock(ctx context.Context, clockID, accountID int64) error {
	return db.inTx(ctx, "attach test clock", func(tx *sql.Tx, now time.Time) error {
		clock, err := db.lockTestClock(ctx, tx, clockID)
		if err != nil {
			return err
		}
		var number string
		var current sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT number, test_clock_id FROM accounts WHERE id = $1`+db.forUpdate(), accountID).
			Scan(&number, &current)
		if err != nil {
			return dbError(err, "attach test clock", "Account")
		}
		if current.Valid {
			if current.Int64 == clockID {
				return nil
			}
			return billing.ReasonErrorf(billing.ESTATE, "test_clock_attached", "Account %s is attached to test clock %d already.", number, current.Int64)
		}
		var invoices int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM invoices WHERE account_id = $1`, accountID).Scan(&invoices); err != nil {
			return dbError(err, "attach test clock", "")
		}
		if invoices > 0 {
			return billing.ReasonErrorf(billing.ESTATE, "account_has_history",
				"Account %s has invoices already; attach a test clock to a new account.", number)
		}
		// Due at the clock's time: the next run or advance looks at it once
		// and stores its next step against the clock.
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET test_clock_id = $1, next_due_at = $2 WHERE id = $3`,
			clockID, db.timeArg(clock.Now), accountID); err != nil {
			return dbError(err, "attach test clock", "")
		}
		return db.writeAudit(ctx, tx, now, change{action: "test_clock.attach", targetType: "account", targetID: number,
			accountID: accountID, after: map[string]int64{"test_clock_id": clockID}})
	})
}

// SetTestClockNow moves a clock forward to t; a clock never goes back.
func (db *DB) SetTestClockNow(ctx context.Context, clockID int64, t time.Time) error {
	t = normTime(t)
	return db.inTx(ctx, "advance test clock", func(tx *sql.Tx, now time.Time) error {
		c, err := db.lockTestClock(ctx, tx, clockID)
		if err != nil {
			return err
		}
		if t.Before(c.Now) {
			return billing.ReasonErrorf(billing.EINVALID, "test_clock_backwards",
				"Test clock %d is at %s; it only moves forward.", clockID, c.Now.Format(time.RFC3339))
		}
		if t.Equal(c.Now) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE test_clocks SET now = $1 WHERE id = $2`, db.timeArg(t), clockID); err != nil {
			return dbError(err, "advance test clock", "")
		}
		return db.writeAudit(ctx, tx, now, change{action: "test_clock.advance", targetType: "test_clock",
			targetID: strconv.FormatInt(clockID, 10), before: testClockSnapshot{c.Name, c.Now}, after: testClockSnapshot{c.Name, t}})
	})
}

func (db *DB) lockTestClock(ctx context.Context, tx *sql.Tx, id int64) (*billing.TestClock, error) {
	c := &billing.TestClock{}
	err := tx.QueryRowContext(ctx, `SELECT id, name, now, created_at, status, advance_to, advance_error FROM test_clocks WHERE id = $1`+db.forUpdate(), id).
		Scan(&c.ID, &c.Name, scanTime(&c.Now), scanTime(&c.CreatedAt), &c.Status, scanNullTime(&c.AdvanceTo), &c.AdvanceError)
	if err != nil {
		return nil, dbError(err, "find test clock", "Test clock "+strconv.FormatInt(id, 10))
	}
	return c, nil
}

// LockTestClock reads a test clock and, on PostgreSQL, locks it until the
// transaction ends, so that it does not move while an account is created on
// it.
func (tx *Tx) LockTestClock(id int64) (*billing.TestClock, error) {
	return tx.db.lockTestClock(tx.ctx, tx.tx, id)
}

// SetAccountTestClock attaches the account, made in this transaction, to
// the clock: an account created on a clock reads its time from it from its
// first moment (DB.AttachTestClock attaches an existing one).
func (tx *Tx) SetAccountTestClock(accountID, clockID int64) error {
	_, err := tx.q.ExecContext(tx.ctx, `UPDATE accounts SET test_clock_id = $1 WHERE id = $2`, clockID, accountID)
	return dbError(err, "attach test clock", "")
}

// StartTestClockAdvance marks the clock advancing to t and, in the same
// transaction, calls enqueue (which inserts the job that moves it), so that
// the job exists if and only if the clock says it is advancing. A clock
// already advancing, or asked to go back, is refused.
func (db *DB) StartTestClockAdvance(ctx context.Context, clockID int64, t time.Time, enqueue func(tx *sql.Tx) error) (*billing.TestClock, error) {
	t = normTime(t)
	var out *billing.TestClock
	err := db.inTx(ctx, "advance test clock", func(tx *sql.Tx, now time.Time) error {
		c, err := db.lockTestClock(ctx, tx, clockID)
		if err != nil {
			return err
		}
		if c.Status == billing.TestClockAdvancing {
			return billing.ReasonErrorf(billing.ECONFLICT, "test_clock_advancing",
				"Test clock %d is being advanced to %s; wait until it is ready.", clockID, c.AdvanceTo.Format(time.RFC3339))
		}
		if t.Before(c.Now) {
			return billing.ReasonErrorf(billing.EINVALID, "test_clock_backwards",
				"Test clock %d is at %s; it only moves forward.", clockID, c.Now.Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE test_clocks SET status = 'advancing', advance_to = $1, advance_error = ''
			WHERE id = $2`, db.timeArg(t), clockID); err != nil {
			return dbError(err, "advance test clock", "")
		}
		if enqueue != nil {
			if err := enqueue(tx); err != nil {
				return err
			}
		}
		c.Status, c.AdvanceTo, c.AdvanceError = billing.TestClockAdvancing, &t, ""
		out = c
		return nil
	})
	return out, err
}

// FinishTestClockAdvance marks the clock ready, with why the advance
// stopped short ("" when it reached its time).
func (db *DB) FinishTestClockAdvance(ctx context.Context, clockID int64, advanceErr string) error {
	_, err := db.db.ExecContext(ctx, `UPDATE test_clocks SET status = 'ready', advance_to = NULL, advance_error = $1 WHERE id = $2`,
		advanceErr, clockID)
	return dbError(err, "finish test clock advance", "")
}

// accountTime is the time of a change to an account: its test clock's when
// it has one, so that every date the account shows (a profile's "Last
// updated", its audit log) is its own clock's; now otherwise.
func (db *DB) accountTime(ctx context.Context, q querier, accountID int64, now time.Time) (time.Time, error) {
	clock, err := db.testClockNow(ctx, q, accountID)
	if err != nil || clock == nil {
		return now, err
	}
	return *clock, nil
}
