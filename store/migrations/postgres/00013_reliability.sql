-- Reliability: overpayments made visible, and test clocks advanced by a
-- job. PostgreSQL dialect; see the SQLite file for the reasons.

-- +goose Up
ALTER TABLE payments ADD COLUMN amount_overpaid bigint NOT NULL DEFAULT 0 CHECK (amount_overpaid >= 0);

ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_reason_check;
ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_reason_check
    CHECK (reason IN ('signup', 'inactivity', 'applied', 'change_credit', 'refund', 'adjustment', 'overpayment'));

ALTER TABLE test_clocks ADD COLUMN status text NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'advancing'));
ALTER TABLE test_clocks ADD COLUMN advance_to timestamptz;
ALTER TABLE test_clocks ADD COLUMN advance_error text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE test_clocks DROP COLUMN advance_error;
ALTER TABLE test_clocks DROP COLUMN advance_to;
ALTER TABLE test_clocks DROP COLUMN status;
ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_reason_check;
ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_reason_check
    CHECK (reason IN ('signup', 'inactivity', 'applied', 'change_credit', 'refund', 'adjustment'));
ALTER TABLE payments DROP COLUMN amount_overpaid;
