package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// profileSnapshot is what the audit trail records of a billing profile.
type profileSnapshot struct {
	CompanyName   string          `json:"company_name"`
	ContactName   string          `json:"contact_name"`
	Address       billing.Address `json:"address"`
	Phone         string          `json:"phone"`
	Email         string          `json:"email"`
	InvoiceEmails []string        `json:"invoice_emails"`
	TaxID         string          `json:"tax_id,omitempty"`
}

func snapshotProfile(p *billing.BillingProfile) *profileSnapshot {
	if p == nil {
		return nil
	}
	return &profileSnapshot{
		CompanyName: p.CompanyName, ContactName: p.ContactName, Address: p.Address, Phone: p.Phone,
		Email: p.Email, InvoiceEmails: p.InvoiceEmails, TaxID: p.TaxID,
	}
}

// FindProfile returns the account's billing profile; ENOTFOUND with reason
// "profile_not_set" when it has none yet.
func (db *DB) FindProfile(ctx context.Context, accountID int64) (*billing.BillingProfile, error) {
	p, err := db.findProfile(ctx, db.read, accountID)
	if err != nil {
		return nil, err
	}
	if p == nil {
		a, err := db.FindAccountByID(ctx, accountID)
		if err != nil {
			return nil, err
		}
		return nil, billing.ReasonErrorf(billing.ENOTFOUND, "profile_not_set",
			"Account %s has no billing profile yet.", a.Number)
	}
	return p, nil
}

// findProfile returns the account's profile, or nil when it has none.
func (db *DB) findProfile(ctx context.Context, q querier, accountID int64) (*billing.BillingProfile, error) {
	var p billing.BillingProfile
	var emails string
	err := q.QueryRowContext(ctx, `
		SELECT account_id, company_name, contact_name, address_line1, address_line2, address_city,
			address_region, address_postal_code, address_country, phone, email, invoice_emails, tax_id, updated_at
		FROM billing_profiles WHERE account_id = $1`, accountID).Scan(
		&p.AccountID, &p.CompanyName, &p.ContactName, &p.Address.Line1, &p.Address.Line2, &p.Address.City,
		&p.Address.Region, &p.Address.PostalCode, &p.Address.Country, &p.Phone, &p.Email, &emails, &p.TaxID,
		scanTime(&p.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, dbError(err, "find profile", "")
	}
	if err := json.Unmarshal([]byte(emails), &p.InvoiceEmails); err != nil {
		return nil, fmt.Errorf("find profile: invoice emails: %w", err)
	}
	return &p, nil
}

// SetProfile validates p and makes it the account's profile. Setting the
// profile it already has writes nothing.
func (db *DB) SetProfile(ctx context.Context, p *billing.BillingProfile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.InvoiceEmails == nil {
		p.InvoiceEmails = []string{}
	}
	emails, err := json.Marshal(p.InvoiceEmails)
	if err != nil {
		return fmt.Errorf("set profile: %w", err)
	}
	return db.inTx(ctx, "set profile", func(tx *sql.Tx, now time.Time) error {
		a, err := db.findAccount(ctx, tx, "a.id = $1", p.AccountID, "Account", true)
		if err != nil {
			return err
		}
		if now, err = db.accountTime(ctx, tx, a.ID, now); err != nil {
			return err
		}
		old, err := db.findProfile(ctx, tx, p.AccountID)
		if err != nil {
			return err
		}
		if old != nil && sameSnapshot(snapshotProfile(old), snapshotProfile(p)) {
			p.UpdatedAt = old.UpdatedAt
			return nil
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO billing_profiles (account_id, company_name, contact_name, address_line1, address_line2,
				address_city, address_region, address_postal_code, address_country, phone, email,
				invoice_emails, tax_id, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (account_id) DO UPDATE SET
				company_name = excluded.company_name, contact_name = excluded.contact_name,
				address_line1 = excluded.address_line1, address_line2 = excluded.address_line2,
				address_city = excluded.address_city, address_region = excluded.address_region,
				address_postal_code = excluded.address_postal_code, address_country = excluded.address_country,
				phone = excluded.phone, email = excluded.email, invoice_emails = excluded.invoice_emails,
				tax_id = excluded.tax_id, updated_at = excluded.updated_at`,
			p.AccountID, p.CompanyName, p.ContactName, p.Address.Line1, p.Address.Line2, p.Address.City,
			p.Address.Region, p.Address.PostalCode, p.Address.Country, p.Phone, p.Email, string(emails),
			p.TaxID, db.timeArg(now))
		if err != nil {
			return dbError(err, "set profile", "")
		}
		p.UpdatedAt = now
		return db.writeAudit(ctx, tx, now, change{
			action: "profile.set", targetType: "billing_profile", targetID: a.Number, accountID: a.ID,
			before: snapshotProfile(old), after: snapshotProfile(p),
		})
	})
}
