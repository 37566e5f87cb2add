-- Reliability: overpayments made visible, and test clocks advanced by a
-- job. SQLite dialect, as 00001.

-- +goose Up
-- The part of a succeeded payment that its invoice no longer owed when the
-- money arrived (a card charge confirmed after the invoice was settled):
-- it is put on the account's credit balance (reason 'overpayment'), never
-- on the invoice, so amount_paid never exceeds the total.
ALTER TABLE payments ADD COLUMN amount_overpaid INTEGER NOT NULL DEFAULT 0 CHECK (amount_overpaid >= 0);

-- SQLite cannot change a CHECK: the ledger is rebuilt with 'overpayment'
-- among its reasons (nothing references it).
CREATE TABLE credit_transactions_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    amount        INTEGER NOT NULL,
    currency      TEXT    NOT NULL CHECK (length(currency) = 3),
    reason        TEXT    NOT NULL CHECK (reason IN ('signup', 'inactivity', 'applied', 'change_credit', 'refund', 'adjustment', 'overpayment')),
    invoice_id    INTEGER REFERENCES invoices (id),
    user_id       TEXT,
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    description   TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL
) STRICT;
INSERT INTO credit_transactions_new SELECT id, account_id, amount, currency, reason, invoice_id, user_id, balance_after,
    description, created_at FROM credit_transactions;
DROP TABLE credit_transactions;
ALTER TABLE credit_transactions_new RENAME TO credit_transactions;
CREATE INDEX credit_transactions_account_id_idx ON credit_transactions (account_id, id);

-- A test clock is advanced by a job: 'advancing' from the request until the
-- job has run every stop up to advance_to, then 'ready'; the job's last
-- error, if any, is kept for the operator.
ALTER TABLE test_clocks ADD COLUMN status TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'advancing'));
ALTER TABLE test_clocks ADD COLUMN advance_to TEXT;
ALTER TABLE test_clocks ADD COLUMN advance_error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE test_clocks DROP COLUMN advance_error;
ALTER TABLE test_clocks DROP COLUMN advance_to;
ALTER TABLE test_clocks DROP COLUMN status;
ALTER TABLE payments DROP COLUMN amount_overpaid;
