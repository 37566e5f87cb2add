-- Security: the shared sign-in limit, leases on idempotency keys, and the
-- indexes retention pruning reads. PostgreSQL dialect.

-- +goose Up
-- Failed sign-ins per (email, address), counted before the password is
-- checked, shared by every node.
CREATE TABLE sign_in_attempts (
    key          text        PRIMARY KEY,
    attempts     integer     NOT NULL,
    window_start timestamptz NOT NULL
);
CREATE INDEX sign_in_attempts_window_idx ON sign_in_attempts (window_start);

-- The request that holds an unfinished key: its owner renews the lease while
-- it runs; once the lease has expired the owner is gone and a retry may take
-- the key over. changed records that a write transaction committed under
-- the key (the request must then not run again).
ALTER TABLE idempotency_keys ADD COLUMN lease_owner text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN lease_expires_at timestamptz;
ALTER TABLE idempotency_keys ADD COLUMN changed boolean NOT NULL DEFAULT false;

-- Retention pruning (store.PruneSent) finds old events and emails by age.
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);
CREATE INDEX emails_created_idx ON emails (created_at);

-- +goose Down
DROP INDEX emails_created_idx;
DROP INDEX webhook_events_created_idx;
ALTER TABLE idempotency_keys DROP COLUMN changed;
ALTER TABLE idempotency_keys DROP COLUMN lease_expires_at;
ALTER TABLE idempotency_keys DROP COLUMN lease_owner;
DROP TABLE sign_in_attempts;
