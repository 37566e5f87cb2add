-- The console: the people who sign in to it, and their sessions. SQLite
-- dialect, as 00001: STRICT tables, timestamps as fixed-width UTC TEXT.

-- +goose Up
CREATE TABLE console_users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    role            TEXT    NOT NULL CHECK (role IN ('operator', 'owner', 'billing_admin', 'viewer')),
    account_id      INTEGER REFERENCES accounts (id),
    password_hash   TEXT    NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    last_sign_in_at TEXT,
    -- account roles belong to exactly one account, operators to none
    CONSTRAINT console_users_account_scope_check
        CHECK ((role IN ('owner', 'billing_admin', 'viewer')) = (account_id IS NOT NULL))
) STRICT;
-- Emails are stored lower-case, so this is a case-insensitive unique key.
CREATE UNIQUE INDEX console_users_email_key ON console_users (email);
CREATE INDEX console_users_account_id_idx ON console_users (account_id);

-- Console sessions (alexedwards/scs): token is the SHA-256 of the cookie's
-- token, so a copy of this table signs nobody in.
CREATE TABLE console_sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry TEXT NOT NULL
) STRICT;
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expiry);

-- +goose Down
DROP TABLE console_sessions;
DROP TABLE console_users;
