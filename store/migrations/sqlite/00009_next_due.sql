-- The billing run works in sets: each account keeps the instant its next
-- step falls due, kept by every change that moves it, so that finding due
-- work is one index range scan. SQLite dialect, as 00001; see the
-- PostgreSQL file for the rest.

-- +goose Up
ALTER TABLE accounts ADD COLUMN next_due_at TEXT;
UPDATE accounts SET next_due_at = created_at WHERE status <> 'closed';
CREATE INDEX accounts_next_due_at_idx ON accounts (next_due_at) WHERE next_due_at IS NOT NULL;

-- +goose Down
DROP INDEX accounts_next_due_at_idx;
ALTER TABLE accounts DROP COLUMN next_due_at;
