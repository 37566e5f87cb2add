-- What unused time and signup credits need. SQLite dialect, as 00001.
--
-- An inactivity credit gives back one seat's price for the days of a
-- period from its credit day: its service days and the seat's price are
-- kept beside it (credit_service_periods, keyed by the ledger row's id),
-- so that a later change credits unused time only of what is
-- still charged (billing.UnusedTime); other credits have none there.
--
-- signup_credits is the operator-wide signup credit of each currency the
-- plan catalog is priced in: what a new online account is granted unless
-- its creation names another amount.

-- +goose Up
CREATE TABLE credit_service_periods (
    credit_id     INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL,
    service_start TEXT NOT NULL,
    service_end   TEXT NOT NULL,
    unit_amount   INTEGER NOT NULL CHECK (unit_amount >= 0)
) STRICT;
CREATE INDEX credit_service_periods_account_end_idx ON credit_service_periods (account_id, service_end);

CREATE TABLE signup_credits (
    currency   TEXT    PRIMARY KEY CHECK (length(currency) = 3),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    updated_at TEXT    NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signup_credits;
DROP TABLE credit_service_periods;
