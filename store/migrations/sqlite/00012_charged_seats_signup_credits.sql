-- What unused time and signup credits need. SQLite dialect, as 00001.
--
-- An inactivity credit gives back one seat's price for the days of a
-- period from its credit day: its service days and the seat's price are
-- kept with it, so that a later change credits unused time only of what is
-- still charged (billing.UnusedTime). Rows of other reasons leave them
-- NULL.
--
-- signup_credits is the operator-wide signup credit of each currency the
-- plan catalog is priced in: what a new online account is granted unless
-- its creation names another amount.

-- +goose Up
ALTER TABLE credit_transactions ADD COLUMN service_start TEXT;
ALTER TABLE credit_transactions ADD COLUMN service_end TEXT;
ALTER TABLE credit_transactions ADD COLUMN unit_amount INTEGER CHECK (unit_amount IS NULL OR unit_amount >= 0);
CREATE INDEX credit_transactions_service_end_idx ON credit_transactions (account_id, service_end)
    WHERE service_end IS NOT NULL;

CREATE TABLE signup_credits (
    currency   TEXT    PRIMARY KEY CHECK (length(currency) = 3),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    updated_at TEXT    NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signup_credits;
DROP INDEX credit_transactions_service_end_idx;
ALTER TABLE credit_transactions DROP COLUMN unit_amount;
ALTER TABLE credit_transactions DROP COLUMN service_end;
ALTER TABLE credit_transactions DROP COLUMN service_start;
