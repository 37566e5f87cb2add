package store

import (
	"context"
	"slices"
	"time"
)

// Each account keeps the instant its next billing step falls due
// (accounts.next_due_at): the engine computes it from the account's state in
// the transaction of every change that opens the account (Tx.BeforeCommit),
// so that finding due work is one range scan of an index, not a scan of
// every account. NULL means nothing will fall due until something changes.
// For an account on a test clock the instant is read against the clock's
// time.

// BeforeCommit has fn called once, keyed by key, after the transaction's
// work succeeded and before it commits; an error rolls it back. The engine
// stores each opened account's next due instant there, from the state the
// change left.
func (tx *Tx) BeforeCommit(key any, fn func() error) {
	if tx.commitKeys == nil {
		tx.commitKeys = map[any]bool{}
	}
	if tx.commitKeys[key] {
		return
	}
	tx.commitKeys[key] = true
	tx.beforeCommit = append(tx.beforeCommit, fn)
}

func (tx *Tx) runBeforeCommit() error {
	for i := 0; i < len(tx.beforeCommit); i++ {
		if err := tx.beforeCommit[i](); err != nil {
			return err
		}
	}
	return nil
}

// SetNextDue stores the instant the account's next step falls due; nil
// for none.
func (tx *Tx) SetNextDue(accountID int64, at *time.Time) error {
	_, err := tx.q.ExecContext(tx.ctx, `UPDATE accounts SET next_due_at = $1 WHERE id = $2`,
		tx.db.nullTimeArg(at), accountID)
	return dbError(err, "set next due", "")
}

// FindDueAccounts returns, in id order, up to limit accounts whose next step
// falls due at or before now (the earliest first when more are due), and
// the accounts on a test clock whose step falls due at or before the
// clock's time. It reads the index on next_due_at and takes no lock.
func (db *DB) FindDueAccounts(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id FROM (SELECT id FROM accounts WHERE next_due_at <= $1 AND test_clock_id IS NULL
			ORDER BY next_due_at LIMIT $2) due
		UNION ALL
		SELECT id FROM (SELECT a.id FROM accounts a JOIN test_clocks c ON c.id = a.test_clock_id
			WHERE a.next_due_at <= c.now ORDER BY a.next_due_at LIMIT $2) clocked`,
		db.timeArg(now), limit)
	if err != nil {
		return nil, dbError(err, "find due accounts", "")
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(err, "find due accounts", "")
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "find due accounts", "")
	}
	slices.Sort(ids)
	return ids[:min(len(ids), limit)], nil
}

// Savepoint marks a point in the transaction that RollbackTo returns to:
// a billing run keeps the steps (or accounts) that succeeded when a later
// one fails. name is an SQL identifier of the caller's.
func (tx *Tx) Savepoint(name string) error {
	_, err := tx.q.ExecContext(tx.ctx, `SAVEPOINT `+name)
	return dbError(err, "savepoint", "")
}

// RollbackTo undoes what the transaction did since the savepoint, which
// stays; a failed statement on PostgreSQL no longer aborts the transaction.
func (tx *Tx) RollbackTo(name string) error {
	_, err := tx.q.ExecContext(tx.ctx, `ROLLBACK TO SAVEPOINT `+name)
	return dbError(err, "rollback to savepoint", "")
}

// Release forgets the savepoint, keeping what was done since.
func (tx *Tx) Release(name string) error {
	_, err := tx.q.ExecContext(tx.ctx, `RELEASE SAVEPOINT `+name)
	return dbError(err, "release savepoint", "")
}

// AccountNextDue returns the account's stored next due instant, nil when
// none.
func (db *DB) AccountNextDue(ctx context.Context, accountID int64) (*time.Time, error) {
	var at *time.Time
	err := db.db.QueryRowContext(ctx, `SELECT next_due_at FROM accounts WHERE id = $1`, accountID).Scan(scanNullTime(&at))
	return at, dbError(err, "find next due", "Account")
}

// ClaimDueAccounts returns, in id order, up to limit accounts whose next
// step has fallen due at now (or at their test clock's time), except those
// in skip, and locks them for the transaction. On PostgreSQL the lock is
// FOR UPDATE SKIP LOCKED: accounts another run holds are passed over, so
// runs on several nodes take disjoint batches and add up. On SQLite the
// write transaction holds the database's one write lock already.
func (tx *Tx) ClaimDueAccounts(now time.Time, limit int, skip []int64) ([]int64, error) {
	lock, lockA := "", ""
	if tx.db.dialect == DialectPostgres {
		lock, lockA = " FOR UPDATE SKIP LOCKED", " FOR UPDATE OF a SKIP LOCKED"
	}
	var ids []int64
	for _, clocked := range []bool{false, true} {
		if len(ids) >= limit {
			break
		}
		var a args
		query := `SELECT a.id FROM accounts a WHERE a.next_due_at <= ` + a.add(tx.db.timeArg(now)) + ` AND a.test_clock_id IS NULL`
		qlock := lock
		if clocked {
			a = nil
			query = `SELECT a.id FROM accounts a JOIN test_clocks c ON c.id = a.test_clock_id WHERE a.next_due_at <= c.now`
			qlock = lockA
		}
		if len(skip) > 0 {
			query += " AND a.id NOT IN ("
			for i, id := range skip {
				if i > 0 {
					query += ", "
				}
				query += a.add(id)
			}
			query += ")"
		}
		query += " ORDER BY a.next_due_at LIMIT " + a.add(limit-len(ids)) + qlock
		rows, err := tx.q.QueryContext(tx.ctx, query, a...)
		if err != nil {
			return nil, dbError(err, "claim due accounts", "")
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, dbError(err, "claim due accounts", "")
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbError(err, "claim due accounts", "")
		}
	}
	slices.Sort(ids)
	return ids, nil
}
