package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kore-billing/korebill/billing"
)

// uniqueKeys names each unique constraint, as PostgreSQL reports it
// (constraint name) and as SQLite does ("table.column, …"), with the message
// shown to the person whose change it refused.
var uniqueKeys = []struct{ constraint, columns, message string }{
	{"plans_code_key", "plans.code", "A plan with this code already exists."},
	{"plan_versions_plan_id_version_key", "plan_versions.plan_id, plan_versions.version", "The plan was given a new version at the same time; try again."},
	{"accounts_number_key", "accounts.number", "The account number is taken; try again."},
	{"accounts_domain_key", "accounts.domain", "An account for this domain already exists."},
	{"plan_prices_pkey", "plan_prices.plan_version_id", "A plan version has two prices for the same interval and currency."},
	{"managed_users_pkey", "managed_users.account_id, managed_users.user_id", "The managed user was changed at the same time; try again."},
	{"billing_profiles_pkey", "billing_profiles.account_id", "The billing profile was changed at the same time; try again."},
	{"api_keys_prefix_key", "api_keys.prefix", "An API key with this prefix exists; try again."},
	{"api_keys_hash_key", "api_keys.hash", "An API key with this prefix exists; try again."},
	{"subscriptions_account_id_key", "subscriptions.account_id", "The account's subscription was created at the same time; try again."},
	{"subscriptions_contract_number_key", "subscriptions.contract_number", "A contract with this number exists already."},
	{"invoices_number_key", "invoices.number", "The invoice number is taken; try again."},
	{"invoices_period_key", "invoices.subscription_id, invoices.period_start, invoices.kind", "This period has been billed already."},
	{"tax_rates_pkey", "tax_rates.country", "The tax rate was changed at the same time; try again."},
	{"console_users_email_key", "console_users.email", "A console user with this email already exists."},
}

// dbError is the one place driver errors become billing errors: a unique
// violation is ECONFLICT, a foreign key violation EINVALID, no rows ENOTFOUND
// ("<what> not found."). A *billing.Error passes through untouched; anything
// else is wrapped with op for the logs.
func dbError(err error, op, what string) error {
	if err == nil {
		return nil
	}
	var be *billing.Error
	if errors.As(err, &be) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		if what == "" {
			what = "Record"
		}
		return billing.Errorf(billing.ENOTFOUND, "%s not found.", what)
	}

	var unique, foreignKey bool
	var constraint, detail string
	var pgErr *pgconn.PgError
	var liteErr *sqlite.Error
	switch {
	case errors.As(err, &pgErr):
		unique = pgErr.Code == "23505"
		foreignKey = pgErr.Code == "23503"
		constraint = pgErr.ConstraintName
	case errors.As(err, &liteErr):
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			unique = true
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			foreignKey = true
		}
		detail = liteErr.Error()
	}
	switch {
	case unique:
		for _, k := range uniqueKeys {
			if (constraint != "" && constraint == k.constraint) ||
				(detail != "" && strings.Contains(detail, "constraint failed: "+k.columns)) {
				return &billing.Error{Code: billing.ECONFLICT, Message: k.message}
			}
		}
		return billing.Errorf(billing.ECONFLICT, "The change conflicts with an existing record.")
	case foreignKey:
		return billing.Errorf(billing.EINVALID, "The change refers to a record that does not exist.")
	}
	return fmt.Errorf("%s: %w", op, err)
}
