-- Payments: the gateway's customer of each account, payment methods (cards
-- kept as the gateway's token, bank transfer for contracts), payment
-- attempts and bank transfers, refunds, and the dunning events of open
-- invoices (reminders, past due, suspension). SQLite dialect, as 00001.
--
-- DESIGN: "Every gateway call carries an idempotency key derived from the
-- payment attempt, so a timeout and retry never charge twice." An attempt
-- is written and committed, with its key, before the gateway is called.

-- +goose Up
CREATE TABLE gateway_customers (
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    gateway      TEXT    NOT NULL,
    customer_ref TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (account_id, gateway)
) STRICT;

-- A card is the gateway's token and what may be shown of it; never its
-- number or CVC. Bank transfer (ach) holds what the operator enters.
CREATE TABLE payment_methods (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('card', 'ach')),
    is_default     INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    gateway        TEXT    NOT NULL DEFAULT '',
    gateway_ref    TEXT    NOT NULL DEFAULT '',
    customer_ref   TEXT    NOT NULL DEFAULT '',
    brand          TEXT    NOT NULL DEFAULT '',
    last4          TEXT    NOT NULL DEFAULT '',
    exp_month      INTEGER NOT NULL DEFAULT 0,
    exp_year       INTEGER NOT NULL DEFAULT 0,
    billing_name   TEXT    NOT NULL DEFAULT '',
    bank_name      TEXT    NOT NULL DEFAULT '',
    account_holder TEXT    NOT NULL DEFAULT '',
    account_last4  TEXT    NOT NULL DEFAULT '',
    remittance_ref TEXT    NOT NULL DEFAULT '',
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    removed_at     TEXT,
    CONSTRAINT payment_methods_card_check CHECK (kind <> 'card' OR (gateway_ref <> '' AND length(last4) = 4))
) STRICT;
-- One default method per account.
CREATE UNIQUE INDEX payment_methods_default_key ON payment_methods (account_id)
    WHERE is_default = 1 AND removed_at IS NULL;
CREATE UNIQUE INDEX payment_methods_gateway_ref_key ON payment_methods (account_id, gateway_ref)
    WHERE gateway_ref <> '' AND removed_at IS NULL;

-- A payment attempt (card) or a bank transfer received (ach).
CREATE TABLE payments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    invoice_id        INTEGER NOT NULL REFERENCES invoices (id),
    payment_method_id INTEGER REFERENCES payment_methods (id),
    method            TEXT    NOT NULL CHECK (method IN ('card', 'ach')),
    trigger           TEXT    NOT NULL CHECK (trigger IN ('initial', 'retry', 'manual', 'new_method', 'bank_transfer')),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT    NOT NULL CHECK (length(currency) = 3),
    amount_refunded   INTEGER NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'unknown', 'succeeded', 'failed', 'refunded')),
    idempotency_key   TEXT,
    customer_ref      TEXT    NOT NULL DEFAULT '',
    method_ref        TEXT    NOT NULL DEFAULT '',
    method_label      TEXT    NOT NULL DEFAULT '',
    gateway_ref       TEXT    NOT NULL DEFAULT '',
    failure_code      TEXT    NOT NULL DEFAULT '',
    failure_message   TEXT    NOT NULL DEFAULT '',
    retryable         INTEGER NOT NULL DEFAULT 0 CHECK (retryable IN (0, 1)),
    reference         TEXT    NOT NULL DEFAULT '',
    received_on       TEXT,
    attempted_at      TEXT    NOT NULL,
    first_called_at   TEXT,
    resolved_at       TEXT,
    next_check_at     TEXT,
    checks            INTEGER NOT NULL DEFAULT 0,
    created_by        TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX payments_idempotency_key ON payments (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- At most one attempt in flight per invoice: nothing is charged twice.
CREATE UNIQUE INDEX payments_in_flight_key ON payments (invoice_id) WHERE status IN ('pending', 'unknown');
CREATE INDEX payments_account_id_idx ON payments (account_id, id);
CREATE INDEX payments_invoice_id_idx ON payments (invoice_id, id);

CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    invoice_id      INTEGER NOT NULL REFERENCES invoices (id),
    payment_id      INTEGER NOT NULL REFERENCES payments (id),
    credit_note_id  INTEGER REFERENCES invoices (id),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT    NOT NULL CHECK (length(currency) = 3),
    reason          TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'unknown', 'succeeded', 'failed')),
    idempotency_key TEXT,
    charge_ref      TEXT    NOT NULL DEFAULT '',
    gateway_ref     TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    first_called_at TEXT,
    resolved_at     TEXT,
    next_check_at   TEXT,
    checks          INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX refunds_idempotency_key ON refunds (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX refunds_in_flight_key ON refunds (payment_id) WHERE status IN ('pending', 'unknown');
CREATE INDEX refunds_account_id_idx ON refunds (account_id, id);

-- What dunning did to an open invoice, once each: reminders (offset_days
-- from the due date), past_due, suspended, overdue.
CREATE TABLE dunning_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    invoice_id  INTEGER NOT NULL REFERENCES invoices (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('reminder', 'overdue', 'past_due', 'suspended')),
    offset_days INTEGER NOT NULL DEFAULT 0,
    due_on      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    CONSTRAINT dunning_events_invoice_kind_key UNIQUE (invoice_id, kind, offset_days)
) STRICT;
CREATE INDEX dunning_events_account_id_idx ON dunning_events (account_id, id);

-- +goose Down
DROP TABLE dunning_events;
DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE payment_methods;
DROP TABLE gateway_customers;
