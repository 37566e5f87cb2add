-- The console's issue-12 settings. accounts.pay_by_invoice: an operator has
-- set an online account to pay its invoices by bank transfer, so a paid plan
-- needs no card on file (billing.Account.PayByInvoice). PostgreSQL dialect,
-- as the SQLite file.

-- +goose Up
ALTER TABLE accounts ADD COLUMN pay_by_invoice boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE accounts DROP COLUMN pay_by_invoice;
