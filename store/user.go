package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// managedUserSnapshot is what the audit trail records of a managed user.
type managedUserSnapshot struct {
	UserID       string                    `json:"user_id"`
	Email        string                    `json:"email"`
	Status       billing.ManagedUserStatus `json:"status"`
	ManagedSince time.Time                 `json:"managed_since"`
	LastActiveAt *time.Time                `json:"last_active_at"`
}

func snapshotManagedUser(u *billing.ManagedUser) *managedUserSnapshot {
	if u == nil {
		return nil
	}
	return &managedUserSnapshot{UserID: u.UserID, Email: u.Email, Status: u.Status,
		ManagedSince: u.ManagedSince, LastActiveAt: u.LastActiveAt}
}

// sameReport reports whether the platform's report r says nothing new about
// the stored user u.
func sameReport(u, r *billing.ManagedUser) bool {
	return u.Email == r.Email && u.Status == r.Status &&
		((u.LastActiveAt == nil && r.LastActiveAt == nil) ||
			(u.LastActiveAt != nil && r.LastActiveAt != nil && u.LastActiveAt.Equal(*r.LastActiveAt)))
}

// prepareReport validates one reported user of the account and puts its
// time in the form the store keeps.
func prepareReport(accountID int64, u *billing.ManagedUser) error {
	if err := u.Validate(); err != nil {
		return err
	}
	u.AccountID = accountID
	if u.LastActiveAt != nil {
		t := normTime(*u.LastActiveAt)
		u.LastActiveAt = &t
	}
	return nil
}

// checkActivityReports applies billing.CheckActivityReport to every
// reported user, against the stored roster current.
func checkActivityReports(ctx context.Context, current []*billing.ManagedUser, reported map[string]*billing.ManagedUser, now time.Time) error {
	actor := billing.ActorFromContext(ctx)
	stored := make(map[string]*billing.ManagedUser, len(current))
	for _, u := range current {
		stored[u.UserID] = u
	}
	for _, r := range reported {
		if err := billing.CheckActivityReport(actor, stored[r.UserID], r, now); err != nil {
			return err
		}
	}
	return nil
}

// ReplaceManagedUsers makes the account's roster exactly users: new users
// are managed from now, missing ones are removed, the others take the
// reported email, status and last activity. It writes one audit event with
// the counts, none when nothing changed.
func (db *DB) ReplaceManagedUsers(ctx context.Context, accountID int64, users []billing.ManagedUser) (billing.RosterChange, error) {
	reported := make(map[string]*billing.ManagedUser, len(users))
	for i := range users {
		u := users[i]
		if err := prepareReport(accountID, &u); err != nil {
			return billing.RosterChange{}, err
		}
		if reported[u.UserID] != nil {
			var v billing.Validation
			v.Add("user_id", "User id %s is listed twice.", u.UserID)
			return billing.RosterChange{}, v.Err()
		}
		reported[u.UserID] = &u
	}

	rc := billing.RosterChange{Added: []string{}, Removed: []string{}, Updated: []string{}}
	err := db.inTx(ctx, "replace managed users", func(tx *sql.Tx, now time.Time) error {
		a, err := db.findAccount(ctx, tx, "a.id = $1", accountID, "Account", true)
		if err != nil {
			return err
		}
		current, err := db.findManagedUsers(ctx, tx, accountID, -1, 0)
		if err != nil {
			return err
		}
		if err := checkActivityReports(ctx, current, reported, now); err != nil {
			return err
		}
		for _, u := range current {
			r, ok := reported[u.UserID]
			switch {
			case !ok:
				rc.Removed = append(rc.Removed, u.UserID)
				if err := db.deleteManagedUser(ctx, tx, accountID, u.UserID); err != nil {
					return err
				}
			case !sameReport(u, r):
				rc.Updated = append(rc.Updated, u.UserID)
				r.ManagedSince = u.ManagedSince
				if err := db.saveManagedUser(ctx, tx, r); err != nil {
					return err
				}
			}
			delete(reported, u.UserID)
		}
		for id, r := range reported {
			rc.Added = append(rc.Added, id)
			r.ManagedSince = now
			if err := db.saveManagedUser(ctx, tx, r); err != nil {
				return err
			}
		}
		slices.Sort(rc.Added)
		slices.Sort(rc.Removed)
		slices.Sort(rc.Updated)
		if len(rc.Added)+len(rc.Removed)+len(rc.Updated) == 0 {
			return nil
		}
		type counts struct {
			Users   int `json:"users"`
			Added   int `json:"added,omitempty"`
			Removed int `json:"removed,omitempty"`
			Updated int `json:"updated,omitempty"`
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "managed_users.replace", targetType: "account", targetID: a.Number, accountID: a.ID,
			before: counts{Users: len(current)},
			after: counts{Users: len(current) - len(rc.Removed) + len(rc.Added),
				Added: len(rc.Added), Removed: len(rc.Removed), Updated: len(rc.Updated)},
		})
	})
	if err != nil {
		return billing.RosterChange{}, err
	}
	return rc, nil
}

// UpsertManagedUser adds u to its account's roster (managed from now) or
// updates its email, status and last activity; u.ManagedSince is set to the
// stored value. A report that changes nothing writes nothing.
func (db *DB) UpsertManagedUser(ctx context.Context, u *billing.ManagedUser) error {
	if err := prepareReport(u.AccountID, u); err != nil {
		return err
	}
	r := *u
	err := db.inTx(ctx, "upsert managed user", func(tx *sql.Tx, now time.Time) error {
		a, err := db.findAccount(ctx, tx, "a.id = $1", r.AccountID, "Account", true)
		if err != nil {
			return err
		}
		old, err := db.findManagedUser(ctx, tx, r.AccountID, r.UserID)
		if err != nil {
			return err
		}
		if err := billing.CheckActivityReport(billing.ActorFromContext(ctx), old, &r, now); err != nil {
			return err
		}
		if old != nil {
			r.ManagedSince = old.ManagedSince
			if sameReport(old, &r) {
				return nil
			}
		} else {
			r.ManagedSince = now
		}
		if err := db.saveManagedUser(ctx, tx, &r); err != nil {
			return err
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "managed_user.upsert", targetType: "managed_user", targetID: r.UserID, accountID: a.ID,
			before: snapshotManagedUser(old), after: snapshotManagedUser(&r),
		})
	})
	if err != nil {
		return err
	}
	*u = r
	return nil
}

// RemoveManagedUser takes the user off the roster; ENOTFOUND when it is not
// on it.
func (db *DB) RemoveManagedUser(ctx context.Context, accountID int64, userID string) error {
	return db.inTx(ctx, "remove managed user", func(tx *sql.Tx, now time.Time) error {
		a, err := db.findAccount(ctx, tx, "a.id = $1", accountID, "Account", true)
		if err != nil {
			return err
		}
		old, err := db.findManagedUser(ctx, tx, accountID, userID)
		if err != nil {
			return err
		}
		if old == nil {
			return billing.Errorf(billing.ENOTFOUND, "User %s is not a managed user of account %s.", userID, a.Number)
		}
		if err := db.deleteManagedUser(ctx, tx, accountID, userID); err != nil {
			return err
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "managed_user.remove", targetType: "managed_user", targetID: userID, accountID: a.ID,
			before: snapshotManagedUser(old),
		})
	})
}

// FindManagedUsers returns a page of the account's roster ordered by user id
// (default 50, at most 500) and the size of the roster.
func (db *DB) FindManagedUsers(ctx context.Context, filter billing.ManagedUserFilter) ([]*billing.ManagedUser, int, error) {
	limit, offset := pageLimit(filter.Limit, filter.Offset)
	var users []*billing.ManagedUser
	var total int
	err := db.inReadTx(ctx, "find managed users", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM managed_users WHERE account_id = $1`, filter.AccountID).Scan(&total)
		if err != nil {
			return dbError(err, "count managed users", "")
		}
		users, err = db.findManagedUsers(ctx, tx, filter.AccountID, limit, offset)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return users, total, nil
}

const managedUserColumns = `account_id, user_id, email, status, managed_since, last_active_at`

func scanManagedUser(row interface{ Scan(...any) error }) (*billing.ManagedUser, error) {
	var u billing.ManagedUser
	err := row.Scan(&u.AccountID, &u.UserID, &u.Email, &u.Status, scanTime(&u.ManagedSince), scanNullTime(&u.LastActiveAt))
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// findManagedUsers returns a page of the roster, the whole roster when limit
// is negative.
func (db *DB) findManagedUsers(ctx context.Context, q querier, accountID int64, limit, offset int) ([]*billing.ManagedUser, error) {
	var a args
	query := `SELECT ` + managedUserColumns + ` FROM managed_users WHERE account_id = ` + a.add(accountID) + ` ORDER BY user_id`
	if limit >= 0 {
		query += ` LIMIT ` + a.add(limit) + ` OFFSET ` + a.add(offset)
	}
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, dbError(err, "find managed users", "")
	}
	defer rows.Close()
	users := []*billing.ManagedUser{}
	for rows.Next() {
		u, err := scanManagedUser(rows)
		if err != nil {
			return nil, dbError(err, "find managed users", "")
		}
		users = append(users, u)
	}
	return users, dbError(rows.Err(), "find managed users", "")
}

// findManagedUser returns one user of the roster, or nil.
func (db *DB) findManagedUser(ctx context.Context, q querier, accountID int64, userID string) (*billing.ManagedUser, error) {
	u, err := scanManagedUser(q.QueryRowContext(ctx,
		`SELECT `+managedUserColumns+` FROM managed_users WHERE account_id = $1 AND user_id = $2`, accountID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, dbError(err, "find managed user", "")
	}
	return u, nil
}

func (db *DB) saveManagedUser(ctx context.Context, q querier, u *billing.ManagedUser) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO managed_users (account_id, user_id, email, status, managed_since, last_active_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (account_id, user_id) DO UPDATE SET
			email = excluded.email, status = excluded.status, last_active_at = excluded.last_active_at`,
		u.AccountID, u.UserID, u.Email, u.Status, db.timeArg(u.ManagedSince), db.nullTimeArg(u.LastActiveAt))
	return dbError(err, "save managed user", "")
}

func (db *DB) deleteManagedUser(ctx context.Context, q querier, accountID int64, userID string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM managed_users WHERE account_id = $1 AND user_id = $2`, accountID, userID)
	return dbError(err, "remove managed user", "")
}
