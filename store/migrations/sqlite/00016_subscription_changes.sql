-- Subscription changes: the state of each account's subscription every time
-- one of the terms its recurring revenue depends on changes, written by a
-- trigger so that every writer is recorded without knowing it. SQLite
-- dialect, as the PostgreSQL file explains.

-- +goose Up
CREATE TABLE subscription_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    at          TEXT    NOT NULL,
    plan_code   TEXT    NOT NULL,
    interval    TEXT    NOT NULL,
    seats       INTEGER NOT NULL,
    unit_amount INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    recurring   INTEGER NOT NULL
) STRICT;
CREATE INDEX subscription_changes_account_at_idx ON subscription_changes (account_id, at, id);
CREATE INDEX subscription_changes_at_idx ON subscription_changes (at);

-- +goose StatementBegin
CREATE TRIGGER subscription_changes_insert AFTER INSERT ON subscriptions
BEGIN
    INSERT INTO subscription_changes (account_id, at, plan_code, interval, seats, unit_amount, currency, recurring)
    SELECT NEW.account_id, NEW.updated_at, p.code, NEW.interval, NEW.seats, NEW.unit_amount, NEW.currency,
           NEW.period_start IS NOT NULL AND NEW.status <> 'canceled'
    FROM plan_versions v JOIN plans p ON p.id = v.plan_id
    WHERE v.id = NEW.plan_version_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER subscription_changes_update AFTER UPDATE ON subscriptions
WHEN OLD.seats IS NOT NEW.seats
    OR OLD.unit_amount IS NOT NEW.unit_amount
    OR OLD.interval IS NOT NEW.interval
    OR OLD.status IS NOT NEW.status
    OR OLD.plan_version_id IS NOT NEW.plan_version_id
    OR (OLD.period_start IS NULL) <> (NEW.period_start IS NULL)
BEGIN
    INSERT INTO subscription_changes (account_id, at, plan_code, interval, seats, unit_amount, currency, recurring)
    SELECT NEW.account_id, NEW.updated_at, p.code, NEW.interval, NEW.seats, NEW.unit_amount, NEW.currency,
           NEW.period_start IS NOT NULL AND NEW.status <> 'canceled'
    FROM plan_versions v JOIN plans p ON p.id = v.plan_id
    WHERE v.id = NEW.plan_version_id;
END;
-- +goose StatementEnd

INSERT INTO subscription_changes (account_id, at, plan_code, interval, seats, unit_amount, currency, recurring)
SELECT s.account_id, s.created_at, p.code, s.interval, s.seats, s.unit_amount, s.currency,
       s.period_start IS NOT NULL AND s.status <> 'canceled'
FROM subscriptions s JOIN plan_versions v ON v.id = s.plan_version_id JOIN plans p ON p.id = v.plan_id;

-- +goose Down
DROP TRIGGER subscription_changes_update;
DROP TRIGGER subscription_changes_insert;
DROP TABLE subscription_changes;
