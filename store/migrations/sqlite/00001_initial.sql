-- The first schema: accounts, billing profiles, the plan catalog, managed
-- users, the audit trail and API keys. SQLite dialect: STRICT tables,
-- timestamps as TEXT in UTC RFC 3339 with nine fractional digits (fixed width,
-- so they sort as text), money as INTEGER minor units, JSON as TEXT.

-- +goose Up
CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    number         TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    domain         TEXT    NOT NULL,
    billing_type   TEXT    NOT NULL CHECK (billing_type IN ('online', 'subscription')),
    account_type   TEXT    NOT NULL CHECK (account_type IN ('enterprise', 'individual')),
    currency       TEXT    NOT NULL CHECK (length(currency) = 3),
    time_zone      TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'past_due', 'suspended', 'closed')),
    credit_balance INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    CONSTRAINT accounts_number_key UNIQUE (number)
) STRICT;
-- One account per company: a repeated signup is a conflict, not a second account.
CREATE UNIQUE INDEX accounts_domain_key ON accounts (domain);

-- Account numbers come from this one-row counter, bumped inside the
-- transaction that creates the account (PostgreSQL uses a sequence).
CREATE TABLE account_number_counter (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    last_value INTEGER NOT NULL
) STRICT;
INSERT INTO account_number_counter (id, last_value) VALUES (1, 0);

CREATE TABLE billing_profiles (
    account_id          INTEGER PRIMARY KEY REFERENCES accounts (id),
    company_name        TEXT NOT NULL,
    contact_name        TEXT NOT NULL,
    address_line1       TEXT NOT NULL,
    address_line2       TEXT NOT NULL DEFAULT '',
    address_city        TEXT NOT NULL,
    address_region      TEXT NOT NULL DEFAULT '',
    address_postal_code TEXT NOT NULL DEFAULT '',
    address_country     TEXT NOT NULL CHECK (length(address_country) = 2),
    phone               TEXT NOT NULL,
    email               TEXT NOT NULL,
    invoice_emails      TEXT NOT NULL DEFAULT '[]',
    tax_id              TEXT NOT NULL DEFAULT '',
    updated_at          TEXT NOT NULL
) STRICT;

CREATE TABLE plans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    CONSTRAINT plans_code_key UNIQUE (code)
) STRICT;

CREATE TABLE plan_versions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id    INTEGER NOT NULL REFERENCES plans (id),
    version    INTEGER NOT NULL CHECK (version > 0),
    features   TEXT    NOT NULL DEFAULT '[]',
    created_at TEXT    NOT NULL,
    CONSTRAINT plan_versions_plan_id_version_key UNIQUE (plan_id, version)
) STRICT;

CREATE TABLE plan_prices (
    plan_version_id INTEGER NOT NULL REFERENCES plan_versions (id),
    interval        TEXT    NOT NULL CHECK (interval IN ('month', 'year')),
    currency        TEXT    NOT NULL CHECK (length(currency) = 3),
    unit_amount     INTEGER NOT NULL CHECK (unit_amount >= 0),
    PRIMARY KEY (plan_version_id, interval, currency)
) STRICT;

CREATE TABLE managed_users (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    user_id        TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    managed_since  TEXT    NOT NULL,
    last_active_at TEXT,
    PRIMARY KEY (account_id, user_id)
) STRICT;

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    account_id  INTEGER REFERENCES accounts (id),
    before      TEXT,
    after       TEXT
) STRICT;
CREATE INDEX audit_events_account_id_id_idx ON audit_events (account_id, id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix       TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    role         TEXT    NOT NULL CHECK (role IN ('operator', 'platform', 'owner', 'billing_admin', 'viewer')),
    account_id   INTEGER REFERENCES accounts (id),
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
    CONSTRAINT api_keys_hash_key UNIQUE (hash),
    -- account roles belong to exactly one account, the others to none
    CONSTRAINT api_keys_account_scope_check
        CHECK ((role IN ('owner', 'billing_admin', 'viewer')) = (account_id IS NOT NULL))
) STRICT;

-- +goose Down
DROP TABLE api_keys;
DROP TABLE audit_events;
DROP TABLE managed_users;
DROP TABLE plan_prices;
DROP TABLE plan_versions;
DROP TABLE plans;
DROP TABLE billing_profiles;
DROP TABLE account_number_counter;
DROP TABLE accounts;
