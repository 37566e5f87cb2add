-- The console's issue-12 settings. accounts.pay_by_invoice: an operator has
-- set an online account to pay its invoices by bank transfer, so a paid plan
-- needs no card on file (billing.Account.PayByInvoice). SQLite dialect.

-- +goose Up
ALTER TABLE accounts ADD COLUMN pay_by_invoice INTEGER NOT NULL DEFAULT 0 CHECK (pay_by_invoice IN (0, 1));

-- +goose Down
ALTER TABLE accounts DROP COLUMN pay_by_invoice;
