package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Tax rates, one per country, set by operators. DESIGN: "Tax: exclusive,
// rate per country (operator-configured)".

// SetTaxRate validates r and makes it the country's rate. Setting the rate
// a country has writes nothing.
func (db *DB) SetTaxRate(ctx context.Context, r *billing.TaxRate) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, "set tax rate", func(tx *sql.Tx, now time.Time) error {
		old, err := db.findTaxRate(ctx, tx, r.Country, true)
		if err != nil {
			return err
		}
		if old != nil && *old == *r {
			return nil
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO tax_rates (country, basis_points, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (country) DO UPDATE SET basis_points = excluded.basis_points, updated_at = excluded.updated_at`,
			r.Country, r.BasisPoints, db.timeArg(now))
		if err != nil {
			return dbError(err, "set tax rate", "")
		}
		return db.writeAudit(ctx, tx, now, change{action: "tax_rate.set", targetType: "tax_rate", targetID: r.Country,
			before: old, after: r})
	})
}

// DeleteTaxRate removes the country's rate; ENOTFOUND when it has none.
func (db *DB) DeleteTaxRate(ctx context.Context, country string) error {
	return db.inTx(ctx, "delete tax rate", func(tx *sql.Tx, now time.Time) error {
		old, err := db.findTaxRate(ctx, tx, country, true)
		if err != nil {
			return err
		}
		if old == nil {
			return billing.Errorf(billing.ENOTFOUND, "Country %s has no tax rate.", country)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tax_rates WHERE country = $1`, country); err != nil {
			return dbError(err, "delete tax rate", "")
		}
		return db.writeAudit(ctx, tx, now, change{action: "tax_rate.delete", targetType: "tax_rate", targetID: country,
			before: old})
	})
}

// FindTaxRates returns every rate, ordered by country.
func (db *DB) FindTaxRates(ctx context.Context) ([]*billing.TaxRate, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT country, basis_points FROM tax_rates ORDER BY country`)
	if err != nil {
		return nil, dbError(err, "find tax rates", "")
	}
	defer rows.Close()
	rates := []*billing.TaxRate{}
	for rows.Next() {
		var r billing.TaxRate
		if err := rows.Scan(&r.Country, &r.BasisPoints); err != nil {
			return nil, dbError(err, "find tax rates", "")
		}
		rates = append(rates, &r)
	}
	return rates, dbError(rows.Err(), "find tax rates", "")
}

// FindTaxRate returns the country's rate, or ENOTFOUND.
func (db *DB) FindTaxRate(ctx context.Context, country string) (*billing.TaxRate, error) {
	r, err := db.findTaxRate(ctx, db.read, country, false)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, billing.Errorf(billing.ENOTFOUND, "Country %s has no tax rate.", country)
	}
	return r, nil
}

// TaxRate returns the country's rate in the transaction, nil when it has
// none.
func (tx *Tx) TaxRate(country string) (*billing.TaxRate, error) {
	return tx.db.findTaxRate(tx.ctx, tx.q, country, false)
}

func (db *DB) findTaxRate(ctx context.Context, q querier, country string, lock bool) (*billing.TaxRate, error) {
	var r billing.TaxRate
	query := `SELECT country, basis_points FROM tax_rates WHERE country = $1`
	if lock {
		query += db.forUpdate()
	}
	err := q.QueryRowContext(ctx, query, country).Scan(&r.Country, &r.BasisPoints)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, dbError(err, "find tax rate", "")
	}
	return &r, nil
}
