package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/kore-billing/korebill/billing"
)

// ConsoleUser is a person who signs in to the console: an operator (Kore
// staff), or an owner, billing admin or viewer of one account. A console
// user is not a managed user: a billing contact can sign in without holding
// a seat.
type ConsoleUser struct {
	ID           int64
	Email        string // lower-case; the sign-in name
	Name         string
	Role         billing.Role
	AccountID    int64 // for account roles
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastSignInAt *time.Time
}

// Actor is who the user is in the audit trail and the access rules.
func (u *ConsoleUser) Actor() billing.Actor {
	return billing.Actor{Name: "user:" + u.Email, Role: u.Role, AccountID: u.AccountID}
}

// Password lengths a console user may choose.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// Validate checks the user and normalises the email (trimmed, lower-case).
// Unlike a billing contact's email, a sign-in name may have a host with no
// dot: the first operator is admin@localhost.
func (u *ConsoleUser) Validate() error {
	var v billing.Validation
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.Name = strings.TrimSpace(u.Name)
	if u.Email == "" {
		v.Add("email", "Email is required.")
	} else if addr, err := mail.ParseAddress(u.Email); err != nil || addr.Address != u.Email || len(u.Email) > 254 {
		v.Add("email", "Email %q is not a valid email address.", u.Email)
	}
	if len(u.Name) > 200 {
		v.Add("name", "Name must be at most 200 characters.")
	}
	switch {
	case !u.Role.Valid() || u.Role == billing.RolePlatform:
		v.Add("role", "Role must be operator, owner, billing_admin or viewer.")
	case u.Role.AccountScoped() && u.AccountID == 0:
		v.Add("account", "An %s belongs to an account.", u.Role)
	case !u.Role.AccountScoped() && u.AccountID != 0:
		v.Add("account", "An %s does not belong to an account.", u.Role)
	}
	return v.Err()
}

// validatePassword checks a password chosen for a console user.
func validatePassword(password string) error {
	var v billing.Validation
	switch n := len([]rune(password)); {
	case n < MinPasswordLength:
		v.Add("password", "Password must be at least %d characters.", MinPasswordLength)
	case n > MaxPasswordLength:
		v.Add("password", "Password must be at most %d characters.", MaxPasswordLength)
	}
	return v.Err()
}

// GeneratePassword returns a random password of four groups of five
// characters from an alphabet without look-alikes (about 99 bits), easy to
// copy from a terminal.
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789" // 31 characters
	var b strings.Builder
	buf := make([]byte, 1)
	for i := 0; i < 20; {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		// Reject the top of the byte range so that every character is
		// equally likely.
		if int(buf[0]) >= 256/len(alphabet)*len(alphabet) {
			continue
		}
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(buf[0])%len(alphabet)])
		i++
	}
	return b.String()
}

// Argon2id parameters for new hashes: OWASP's recommendation (19 MiB, two
// passes, one lane). Verification reads the parameters from the stored
// hash, so they can be raised later without invalidating any password.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// passwordSlots bounds the argon2id computations of the process: each
// takes argonMemory (19 MiB) while it runs, so a burst of sign-ins waits
// for a slot instead of taking memory without limit.
var passwordSlots = make(chan struct{}, 4)

// withPasswordSlot runs fn holding one of passwordSlots, or returns ctx's
// error if it ends first.
func withPasswordSlot(ctx context.Context, fn func()) error {
	select {
	case passwordSlots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for a password slot: %w", ctx.Err())
	}
	defer func() { <-passwordSlots }()
	fn()
	return nil
}

// HashPassword returns the argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	var key []byte
	_ = withPasswordSlot(context.Background(), func() {
		key = argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	})
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches a hash from HashPassword,
// comparing in constant time. A malformed hash matches nothing.
func CheckPassword(encoded, password string) bool {
	ok, _ := checkPasswordCtx(context.Background(), encoded, password)
	return ok
}

// checkPasswordCtx is CheckPassword in the bounded pool, giving up when ctx
// ends while it waits for a slot.
func checkPasswordCtx(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, nil
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, nil
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, nil
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, nil
	}
	var got []byte
	if err := withPasswordSlot(ctx, func() { got = argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when no user has the email, so that a
// sign-in for an unknown email takes as long as one for a known email.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a password anybody has") })

// consoleUserSnapshot is what the audit trail records of a console user:
// never the password hash.
type consoleUserSnapshot struct {
	Email     string       `json:"email"`
	Name      string       `json:"name"`
	Role      billing.Role `json:"role"`
	AccountID int64        `json:"account_id,omitempty"`
	Disabled  bool         `json:"disabled"`
}

func snapshotConsoleUser(u *ConsoleUser) consoleUserSnapshot {
	return consoleUserSnapshot{Email: u.Email, Name: u.Name, Role: u.Role, AccountID: u.AccountID, Disabled: u.Disabled}
}

const consoleUserColumns = `id, email, name, role, account_id, password_hash, disabled, created_at, updated_at, last_sign_in_at`

func scanConsoleUser(row interface{ Scan(...any) error }) (*ConsoleUser, error) {
	var u ConsoleUser
	var accountID sql.NullInt64
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &accountID, &u.PasswordHash, &u.Disabled,
		scanTime(&u.CreatedAt), scanTime(&u.UpdatedAt), scanNullTime(&u.LastSignInAt))
	if err != nil {
		return nil, err
	}
	u.AccountID = accountID.Int64
	return &u, nil
}

// CreateConsoleUser validates u and password, stores u with the password's
// argon2id hash and sets u's ID, PasswordHash and timestamps. An email that
// is taken is ECONFLICT.
func (db *DB) CreateConsoleUser(ctx context.Context, u *ConsoleUser, password string) error {
	err := u.Validate()
	if perr := validatePassword(password); perr != nil {
		var v billing.Validation
		for _, e := range []error{err, perr} {
			var be *billing.Error
			if errors.As(e, &be) {
				for _, f := range be.Fields {
					v.Add(f.Field, "%s", f.Message)
				}
			}
		}
		err = v.Err()
	}
	if err != nil {
		return err
	}
	created := *u
	created.PasswordHash = HashPassword(password)
	created.LastSignInAt = nil
	err = db.inTx(ctx, "create console user", func(tx *sql.Tx, now time.Time) error {
		var accountID any
		if created.AccountID != 0 {
			accountID = created.AccountID
			if _, err := db.findAccount(ctx, tx, "a.id = $1", created.AccountID, "Account", false); err != nil {
				if billing.ErrorCode(err) == billing.ENOTFOUND {
					var v billing.Validation
					v.Add("account", "The account does not exist.")
					return v.Err()
				}
				return err
			}
		}
		created.CreatedAt, created.UpdatedAt = now, now
		err := tx.QueryRowContext(ctx, `
			INSERT INTO console_users (email, name, role, account_id, password_hash, disabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			created.Email, created.Name, created.Role, accountID, created.PasswordHash, created.Disabled,
			db.timeArg(now), db.timeArg(now)).Scan(&created.ID)
		if err != nil {
			return dbError(err, "create console user", "")
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "console_user.create", targetType: "console_user", targetID: created.Email,
			accountID: created.AccountID, after: snapshotConsoleUser(&created),
		})
	})
	if err != nil {
		return err
	}
	*u = created
	return nil
}

// FindConsoleUserByID returns the user, or ENOTFOUND.
func (db *DB) FindConsoleUserByID(ctx context.Context, id int64) (*ConsoleUser, error) {
	u, err := scanConsoleUser(db.read.QueryRowContext(ctx, `SELECT `+consoleUserColumns+` FROM console_users WHERE id = $1`, id))
	if err != nil {
		return nil, dbError(err, "find console user", "Console user")
	}
	return u, nil
}

// FindConsoleUserByEmail returns the user with the email (any case), or
// ENOTFOUND.
func (db *DB) FindConsoleUserByEmail(ctx context.Context, email string) (*ConsoleUser, error) {
	u, err := scanConsoleUser(db.read.QueryRowContext(ctx, `SELECT `+consoleUserColumns+` FROM console_users WHERE email = $1`,
		strings.ToLower(strings.TrimSpace(email))))
	if err != nil {
		return nil, dbError(err, "find console user", "Console user")
	}
	return u, nil
}

// ConsoleUserFilter selects console users; a zero AccountID matches all.
type ConsoleUserFilter struct {
	AccountID int64
	Offset    int
	Limit     int
}

// FindConsoleUsers returns a page of users ordered by email.
func (db *DB) FindConsoleUsers(ctx context.Context, filter ConsoleUserFilter) ([]*ConsoleUser, error) {
	limit, offset := pageLimit(filter.Limit, filter.Offset)
	var a args
	query := `SELECT ` + consoleUserColumns + ` FROM console_users`
	if filter.AccountID != 0 {
		query += ` WHERE account_id = ` + a.add(filter.AccountID)
	}
	query += ` ORDER BY email LIMIT ` + a.add(limit) + ` OFFSET ` + a.add(offset)
	rows, err := db.read.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, dbError(err, "find console users", "")
	}
	defer rows.Close()
	users := []*ConsoleUser{}
	for rows.Next() {
		u, err := scanConsoleUser(rows)
		if err != nil {
			return nil, dbError(err, "find console users", "")
		}
		users = append(users, u)
	}
	return users, dbError(rows.Err(), "find console users", "")
}

// CountConsoleUsers returns how many console users exist (serve makes the
// first operator when there are none).
func (db *DB) CountConsoleUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM console_users`).Scan(&n); err != nil {
		return 0, dbError(err, "count console users", "")
	}
	return n, nil
}

// ErrSignInFailed is what a wrong email, a wrong password and a disabled
// user all get, so that the answer does not tell which emails exist.
var ErrSignInFailed = billing.ReasonErrorf(billing.EUNAUTHORIZED, "sign_in_failed", "The email or password is not right.")

// The sign-in limit: at most SignInLimit attempts per (email, address)
// within SignInWindow of the first; a successful sign-in starts again.
const (
	SignInLimit  = 5
	SignInWindow = 15 * time.Minute
)

// SignInThrottledError is returned when the sign-in limit is reached; no
// password was checked.
type SignInThrottledError struct {
	RetryAfter time.Duration // until the window ends
}

func (e *SignInThrottledError) Error() string {
	return fmt.Sprintf("too many sign-ins; retry after %s", e.RetryAfter)
}

// AuthenticateConsoleUser returns the enabled user with this email and
// password and records the sign-in (not audited: nobody changed anything);
// ErrSignInFailed otherwise, and *SignInThrottledError when the email has
// had SignInLimit attempts from this address (from) within SignInWindow.
//
// The attempt is taken from the limit, in the database and atomically,
// before the password is checked: simultaneous attempts on any number of
// nodes check at most SignInLimit passwords. The check itself waits for a
// slot of the process's bounded password pool (passwordSlots), so that no
// burst can hold more than a few argon2id computations in memory.
func (db *DB) AuthenticateConsoleUser(ctx context.Context, email, password, from string) (*ConsoleUser, error) {
	limitKey := strings.ToLower(strings.TrimSpace(email)) + "|" + from
	if wait, err := db.takeSignInAttempt(ctx, limitKey); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, &SignInThrottledError{RetryAfter: wait}
	}
	u, err := db.FindConsoleUserByEmail(ctx, email)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		if _, err := checkPasswordCtx(ctx, dummyHash(), password); err != nil {
			return nil, err
		}
		return nil, ErrSignInFailed
	} else if err != nil {
		return nil, err
	}
	ok, err := checkPasswordCtx(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok || u.Disabled {
		return nil, ErrSignInFailed
	}
	now := db.now()
	err = db.inTx(ctx, "record sign-in", func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `UPDATE console_users SET last_sign_in_at = $1 WHERE id = $2`,
			db.timeArg(now), u.ID); err != nil {
			return dbError(err, "record sign-in", "")
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sign_in_attempts WHERE key = $1`, limitKey)
		return dbError(err, "record sign-in: reset the limit", "")
	})
	if err != nil {
		return nil, err
	}
	u.LastSignInAt = &now
	return u, nil
}

// takeSignInAttempt counts one attempt for key in one statement (an
// upsert: concurrent attempts queue on the row) and returns how long to wait
// when the attempt is over the limit, 0 when it may go ahead.
func (db *DB) takeSignInAttempt(ctx context.Context, key string) (time.Duration, error) {
	var attempts int
	var start time.Time
	err := db.inTx(ctx, "take a sign-in attempt", func(tx *sql.Tx, now time.Time) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO sign_in_attempts (key, attempts, window_start) VALUES ($1, 1, $2)
			ON CONFLICT (key) DO UPDATE SET
				attempts = CASE WHEN sign_in_attempts.window_start <= $3 THEN 1 ELSE sign_in_attempts.attempts + 1 END,
				window_start = CASE WHEN sign_in_attempts.window_start <= $3 THEN excluded.window_start ELSE sign_in_attempts.window_start END
			RETURNING attempts, window_start`,
			key, db.timeArg(now), db.timeArg(now.Add(-SignInWindow))).Scan(&attempts, scanTime(&start))
		return dbError(err, "take a sign-in attempt", "")
	})
	if err != nil {
		return 0, err
	}
	if attempts <= SignInLimit {
		return 0, nil
	}
	return max(start.Add(SignInWindow).Sub(db.now()), time.Second), nil
}

// DeleteStaleSignInAttempts forgets attempts whose window has ended; the
// hourly prune job calls it.
func (db *DB) DeleteStaleSignInAttempts(ctx context.Context) (int64, error) {
	var n int64
	err := db.inTx(ctx, "prune sign-in attempts", func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sign_in_attempts WHERE window_start <= $1`, db.timeArg(now.Add(-SignInWindow)))
		if err != nil {
			return dbError(err, "prune sign-in attempts", "")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// SetConsoleUserPassword replaces the user's password.
func (db *DB) SetConsoleUserPassword(ctx context.Context, id int64, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	return db.inTx(ctx, "set console user password", func(tx *sql.Tx, now time.Time) error {
		u, err := scanConsoleUser(tx.QueryRowContext(ctx, `SELECT `+consoleUserColumns+` FROM console_users WHERE id = $1`+db.forUpdate(), id))
		if err != nil {
			return dbError(err, "set console user password", "Console user")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE console_users SET password_hash = $1, updated_at = $2 WHERE id = $3`,
			hash, db.timeArg(now), id); err != nil {
			return dbError(err, "set console user password", "")
		}
		// The snapshots are equal (the hash is never recorded); the action
		// says what happened.
		return db.writeAudit(ctx, tx, now, change{
			action: "console_user.password", targetType: "console_user", targetID: u.Email,
			accountID: u.AccountID, before: snapshotConsoleUser(u), after: snapshotConsoleUser(u),
		})
	})
}

// SetConsoleUserDisabled disables or re-enables a user; a disabled user's
// sessions stop working at their next request.
func (db *DB) SetConsoleUserDisabled(ctx context.Context, id int64, disabled bool) (*ConsoleUser, error) {
	var updated ConsoleUser
	err := db.inTx(ctx, "disable console user", func(tx *sql.Tx, now time.Time) error {
		u, err := scanConsoleUser(tx.QueryRowContext(ctx, `SELECT `+consoleUserColumns+` FROM console_users WHERE id = $1`+db.forUpdate(), id))
		if err != nil {
			return dbError(err, "disable console user", "Console user")
		}
		updated = *u
		if u.Disabled == disabled {
			return nil
		}
		updated.Disabled, updated.UpdatedAt = disabled, now
		if _, err := tx.ExecContext(ctx, `UPDATE console_users SET disabled = $1, updated_at = $2 WHERE id = $3`,
			disabled, db.timeArg(now), id); err != nil {
			return dbError(err, "disable console user", "")
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "console_user.update", targetType: "console_user", targetID: u.Email,
			accountID: u.AccountID, before: snapshotConsoleUser(u), after: snapshotConsoleUser(&updated),
		})
	})
	if err != nil {
		return nil, err
	}
	return &updated, nil
}
