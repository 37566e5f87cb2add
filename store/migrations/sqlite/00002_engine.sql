-- The billing engine: subscriptions, invoices and their lines, invoice
-- numbers, the credit ledger, tax rates and test clocks. SQLite dialect, as
-- 00001: STRICT tables, timestamps as fixed-width UTC TEXT, money as INTEGER
-- minor units, booleans as INTEGER 0/1, JSON as TEXT. Dates of a billing
-- period are local dates of the account's zone, 'YYYY-MM-DD' TEXT on both
-- engines, so that they compare and sort as text.

-- +goose Up
CREATE TABLE test_clocks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL DEFAULT '',
    now        TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- An account attached to a test clock reads its time from the clock.
ALTER TABLE accounts ADD COLUMN test_clock_id INTEGER REFERENCES test_clocks (id);
CREATE INDEX accounts_test_clock_id_idx ON accounts (test_clock_id);

-- Inactivity: the period (by its start) in which the seat's inactivity was
-- settled, by a credit or by not charging it at renewal, and the period in
-- which it was charged again when the user came back.
ALTER TABLE managed_users ADD COLUMN inactive_period_start TEXT;
ALTER TABLE managed_users ADD COLUMN reactivated_period_start TEXT;

CREATE TABLE subscriptions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id           INTEGER NOT NULL REFERENCES accounts (id),
    plan_version_id      INTEGER NOT NULL REFERENCES plan_versions (id),
    interval             TEXT    NOT NULL CHECK (interval IN ('month', 'year')),
    seats                INTEGER NOT NULL CHECK (seats >= 0),
    unit_amount          INTEGER NOT NULL CHECK (unit_amount >= 0),
    currency             TEXT    NOT NULL CHECK (length(currency) = 3),
    anchor               TEXT,
    period_start         TEXT,
    period_end           TEXT,
    period_billed        INTEGER NOT NULL DEFAULT 0 CHECK (period_billed IN (0, 1)),
    status               TEXT    NOT NULL CHECK (status IN ('active', 'past_due', 'canceled')),
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),
    scheduled            TEXT,
    contract_number      TEXT,
    term_start           TEXT,
    term_end             TEXT,
    net_days             INTEGER NOT NULL DEFAULT 0 CHECK (net_days >= 0),
    overage_unit_amount  INTEGER NOT NULL DEFAULT 0 CHECK (overage_unit_amount >= 0),
    auto_renew           INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1)),
    on_end               TEXT    NOT NULL DEFAULT 'convert_free' CHECK (on_end IN ('convert_free', 'auto_increase')),
    pay_by_invoice       INTEGER NOT NULL DEFAULT 0 CHECK (pay_by_invoice IN (0, 1)),
    on_join              TEXT    NOT NULL CHECK (on_join IN ('auto_increase', 'leave_free', 'refuse')),
    peak_users           INTEGER NOT NULL DEFAULT 0 CHECK (peak_users >= 0),
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    CONSTRAINT subscriptions_account_id_key UNIQUE (account_id),
    -- a paid subscription has a whole period; a free one none
    CONSTRAINT subscriptions_period_check CHECK ((period_start IS NULL) = (period_end IS NULL)
        AND (period_start IS NULL OR period_start < period_end))
) STRICT;
CREATE UNIQUE INDEX subscriptions_contract_number_key ON subscriptions (contract_number)
    WHERE contract_number IS NOT NULL;
CREATE INDEX subscriptions_period_end_idx ON subscriptions (period_end);

-- Invoice numbers INV-YYYY-NNNNNN: one counter per year, bumped in the
-- transaction that finalizes the invoice, so a rollback gives the number
-- back and the sequence has no gaps.
CREATE TABLE invoice_number_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE invoices (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    number                  TEXT,
    account_id              INTEGER NOT NULL REFERENCES accounts (id),
    subscription_id         INTEGER REFERENCES subscriptions (id),
    kind                    TEXT    NOT NULL CHECK (kind IN ('subscription', 'change', 'overage', 'credit_note')),
    status                  TEXT    NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    currency                TEXT    NOT NULL CHECK (length(currency) = 3),
    period_start            TEXT,
    period_end              TEXT,
    issue_date              TEXT    NOT NULL,
    due_date                TEXT,
    payment_type            TEXT    NOT NULL DEFAULT '',
    account_number          TEXT    NOT NULL,
    account_type            TEXT    NOT NULL,
    billed_to               TEXT    NOT NULL DEFAULT '{}',
    subtotal                INTEGER NOT NULL,
    credits_applied         INTEGER NOT NULL,
    tax                     INTEGER NOT NULL,
    total                   INTEGER NOT NULL,
    amount_paid             INTEGER NOT NULL,
    amount_due              INTEGER NOT NULL,
    tax_rate_bp             INTEGER NOT NULL DEFAULT 0,
    tax_country             TEXT    NOT NULL DEFAULT '',
    corrects_invoice_id     INTEGER REFERENCES invoices (id),
    created_at              TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL,
    finalized_at            TEXT,
    paid_at                 TEXT,
    voided_at               TEXT,
    marked_uncollectible_at TEXT,
    CONSTRAINT invoices_number_key UNIQUE (number)
) STRICT;
-- DESIGN: "Exactly once: at most one invoice per (subscription, period,
-- kind), enforced by a unique constraint, so a retried or crashed billing
-- run can never bill twice". Change invoices and credit notes are many per
-- period by nature.
CREATE UNIQUE INDEX invoices_period_key ON invoices (subscription_id, period_start, kind)
    WHERE kind IN ('subscription', 'overage');
CREATE INDEX invoices_account_id_idx ON invoices (account_id, id);

CREATE TABLE invoice_lines (
    invoice_id   INTEGER NOT NULL REFERENCES invoices (id),
    position     INTEGER NOT NULL,
    description  TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('charge', 'credit')),
    quantity     INTEGER NOT NULL,
    unit_amount  INTEGER NOT NULL,
    days         INTEGER NOT NULL DEFAULT 0,
    period_days  INTEGER NOT NULL DEFAULT 0,
    amount       INTEGER NOT NULL,
    period_start TEXT,
    period_end   TEXT,
    proration    INTEGER NOT NULL DEFAULT 0 CHECK (proration IN (0, 1)),
    PRIMARY KEY (invoice_id, position)
) STRICT;

-- Finalized invoices never change: their lines and amounts are refused by
-- the database too, not only by the store's code.
-- +goose StatementBegin
CREATE TRIGGER invoices_finalized_immutable BEFORE UPDATE ON invoices
WHEN OLD.status <> 'draft' AND (
    NEW.subtotal <> OLD.subtotal OR NEW.credits_applied <> OLD.credits_applied OR NEW.tax <> OLD.tax
    OR NEW.total <> OLD.total OR NEW.currency <> OLD.currency OR NEW.kind <> OLD.kind
    OR NEW.number IS NOT OLD.number OR NEW.account_id <> OLD.account_id
    OR NEW.tax_rate_bp <> OLD.tax_rate_bp OR NEW.issue_date <> OLD.issue_date
    OR NEW.period_start IS NOT OLD.period_start OR NEW.period_end IS NOT OLD.period_end
    OR NEW.billed_to <> OLD.billed_to)
BEGIN
    SELECT RAISE(ABORT, 'invoice_not_editable: a finalized invoice never changes');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_lines_finalized_insert BEFORE INSERT ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'invoice_not_editable: a finalized invoice never changes');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_lines_finalized_update BEFORE UPDATE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'invoice_not_editable: a finalized invoice never changes');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_lines_finalized_delete BEFORE DELETE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'invoice_not_editable: a finalized invoice never changes');
END;
-- +goose StatementEnd

-- The credit ledger: every movement of an account's credit balance, with
-- the balance after it; accounts.credit_balance is kept in step in the same
-- transaction.
CREATE TABLE credit_transactions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    amount        INTEGER NOT NULL,
    currency      TEXT    NOT NULL CHECK (length(currency) = 3),
    reason        TEXT    NOT NULL CHECK (reason IN ('signup', 'inactivity', 'applied', 'change_credit', 'refund', 'adjustment')),
    invoice_id    INTEGER REFERENCES invoices (id),
    user_id       TEXT,
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    description   TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL
) STRICT;
CREATE INDEX credit_transactions_account_id_idx ON credit_transactions (account_id, id);

CREATE TABLE tax_rates (
    country      TEXT    PRIMARY KEY CHECK (length(country) = 2),
    basis_points INTEGER NOT NULL CHECK (basis_points BETWEEN 0 AND 10000),
    updated_at   TEXT    NOT NULL
) STRICT;

-- +goose Down
DROP TABLE tax_rates;
DROP TABLE credit_transactions;
DROP TRIGGER invoice_lines_finalized_delete;
DROP TRIGGER invoice_lines_finalized_update;
DROP TRIGGER invoice_lines_finalized_insert;
DROP TRIGGER invoices_finalized_immutable;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE invoice_number_counters;
DROP TABLE subscriptions;
ALTER TABLE managed_users DROP COLUMN reactivated_period_start;
ALTER TABLE managed_users DROP COLUMN inactive_period_start;
DROP INDEX accounts_test_clock_id_idx;
ALTER TABLE accounts DROP COLUMN test_clock_id;
DROP TABLE test_clocks;
