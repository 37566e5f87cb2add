-- The billing run works in sets: each account keeps the instant its next
-- step falls due (a period to invoice, a renewal, a credit, a charge, a
-- retry, a reminder, a card expiry notice…), kept by every change that
-- moves it, so that finding due work is one index range scan. NULL: nothing
-- is due ever (the Free plan with nothing open). For an account on a test
-- clock the instant is compared with its clock's time.

-- +goose Up
ALTER TABLE accounts ADD COLUMN next_due_at timestamptz;
-- Backfill: every open account is looked at once by the next run, which
-- stores its exact instant (or NULL); from then on the changes keep it.
UPDATE accounts SET next_due_at = created_at WHERE status <> 'closed';
CREATE INDEX accounts_next_due_at_idx ON accounts (next_due_at) WHERE next_due_at IS NOT NULL;

-- +goose Down
DROP INDEX accounts_next_due_at_idx;
ALTER TABLE accounts DROP COLUMN next_due_at;
