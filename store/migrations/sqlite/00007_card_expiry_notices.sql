-- Card expiry notices: that the billing contact was told the default card
-- expires, once per card and expiry month, so that a billing run repeated
-- or run again after a crash does not email twice. SQLite dialect, as 00001.

-- +goose Up
CREATE TABLE card_expiry_notices (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    payment_method_id INTEGER NOT NULL REFERENCES payment_methods (id),
    exp_year          INTEGER NOT NULL,
    exp_month         INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    due_on            TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    CONSTRAINT card_expiry_notices_method_expiry_key UNIQUE (payment_method_id, exp_year, exp_month)
) STRICT;
CREATE INDEX card_expiry_notices_account_id_idx ON card_expiry_notices (account_id, id);

-- +goose Down
DROP TABLE card_expiry_notices;
