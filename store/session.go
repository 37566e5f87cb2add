package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SessionStore keeps the console's sessions in the store's database, on
// either engine: it is an scs.Store, scs.CtxStore and scs.IterableCtxStore
// (github.com/alexedwards/scs/v2), written against database/sql so that the
// store package needs no scs import.
//
// The session manager computes each expiry from the wall clock, so Find
// compares against the wall clock too (Now), not the store's clock, which
// may be an account's test clock or a test's fixed time.
type SessionStore struct {
	db *DB
	// Now is the wall clock that expiries are compared with; time.Now by
	// default.
	Now func() time.Time
}

// Sessions returns the session store over db.
func (db *DB) Sessions() *SessionStore {
	return &SessionStore{db: db, Now: time.Now}
}

// FindCtx returns the data of an unexpired session; found is false, with no
// error, for an unknown or expired token.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := s.db.read.QueryRowContext(ctx, `SELECT data FROM console_sessions WHERE token = $1 AND expiry > $2`,
		token, s.db.timeArg(s.Now())).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, dbError(err, "find session", "")
	}
	return data, true, nil
}

// CommitCtx adds the session, or replaces its data and expiry.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	_, err := s.db.db.ExecContext(ctx, `
		INSERT INTO console_sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		token, data, s.db.timeArg(expiry))
	return dbError(err, "commit session", "")
}

// DeleteCtx removes the session; an unknown token is no error.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.db.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE token = $1`, token)
	return dbError(err, "delete session", "")
}

// AllCtx returns every unexpired session's data by token.
func (s *SessionStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT token, data FROM console_sessions WHERE expiry > $1`, s.db.timeArg(s.Now()))
	if err != nil {
		return nil, dbError(err, "all sessions", "")
	}
	defer rows.Close()
	all := map[string][]byte{}
	for rows.Next() {
		var token string
		var data []byte
		if err := rows.Scan(&token, &data); err != nil {
			return nil, dbError(err, "all sessions", "")
		}
		all[token] = data
	}
	return all, dbError(rows.Err(), "all sessions", "")
}

// DeleteExpired removes expired sessions and returns how many; the console
// calls it now and then, as scs's own stores do.
func (s *SessionStore) DeleteExpired(ctx context.Context) (int64, error) {
	res, err := s.db.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE expiry <= $1`, s.db.timeArg(s.Now()))
	if err != nil {
		return 0, dbError(err, "delete expired sessions", "")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError(err, "delete expired sessions", "")
	}
	return n, nil
}

// Find, Commit and Delete are the context-free scs.Store methods; scs calls
// the Ctx ones when a store has them.

func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *SessionStore) Commit(token string, data []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, data, expiry)
}

func (s *SessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// All is the context-free scs.IterableStore method.
func (s *SessionStore) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}
