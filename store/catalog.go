package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// planSnapshot and versionSnapshot are what the audit trail records of the
// catalog.
type planSnapshot struct {
	Code        string           `json:"code"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Version     *versionSnapshot `json:"version,omitempty"`
}

type versionSnapshot struct {
	PlanCode string          `json:"plan_code"`
	Version  int             `json:"version"`
	Prices   []billing.Price `json:"prices"`
	Features []string        `json:"features"`
}

func snapshotVersion(v *billing.PlanVersion) *versionSnapshot {
	if v == nil {
		return nil
	}
	return &versionSnapshot{PlanCode: v.PlanCode, Version: v.Version, Prices: v.Prices, Features: v.Features}
}

// normalizeVersion puts prices in the order they are read back in (interval,
// then currency) and makes empty features an empty list, so that a version
// reads back equal to what was stored.
func normalizeVersion(v *billing.PlanVersion) {
	slices.SortFunc(v.Prices, comparePrices)
	if v.Features == nil {
		v.Features = []string{}
	}
}

func comparePrices(a, b billing.Price) int {
	return cmp.Or(cmp.Compare(a.Interval, b.Interval), cmp.Compare(a.UnitPrice.Currency, b.UnitPrice.Currency))
}

// CreatePlan stores p and, when first is not nil, its version 1, which
// becomes p.Current. ECONFLICT when the code is taken.
func (db *DB) CreatePlan(ctx context.Context, p *billing.Plan, first *billing.PlanVersion) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if first != nil {
		if err := first.Validate(); err != nil {
			return err
		}
		normalizeVersion(first)
	}
	created := *p
	var v1 *billing.PlanVersion
	if first != nil {
		v := *first
		v1 = &v
	}
	err := db.inTx(ctx, "create plan", func(tx *sql.Tx, now time.Time) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO plans (code, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			created.Code, created.Name, created.Description, db.timeArg(now)).Scan(&created.ID)
		if err != nil {
			return dbError(err, "create plan", "")
		}
		created.CreatedAt = now
		snap := planSnapshot{Code: created.Code, Name: created.Name, Description: created.Description}
		if v1 != nil {
			v1.PlanID, v1.PlanCode, v1.Version = created.ID, created.Code, 1
			if err := db.insertVersion(ctx, tx, now, v1); err != nil {
				return err
			}
			snap.Version = snapshotVersion(v1)
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "plan.create", targetType: "plan", targetID: created.Code, after: snap,
		})
	})
	if err != nil {
		return err
	}
	if first != nil {
		*first = *v1
		created.Current = first
	}
	*p = created
	return nil
}

// CreatePlanVersion adds the next version to the plan with the code; it
// becomes the plan's current version.
func (db *DB) CreatePlanVersion(ctx context.Context, planCode string, v *billing.PlanVersion) error {
	if err := v.Validate(); err != nil {
		return err
	}
	normalizeVersion(v)
	created := *v
	err := db.inTx(ctx, "create plan version", func(tx *sql.Tx, now time.Time) error {
		// The plan row lock serialises versions of one plan on PostgreSQL;
		// the unique (plan_id, version) guards whatever slips past.
		var planID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM plans WHERE code = $1`+db.forUpdate(), planCode).Scan(&planID)
		if err != nil {
			return dbError(err, "create plan version", fmt.Sprintf("Plan %q", planCode))
		}
		var latest int
		err = tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM plan_versions WHERE plan_id = $1`, planID).Scan(&latest)
		if err != nil {
			return dbError(err, "create plan version", "")
		}
		created.PlanID, created.PlanCode, created.Version = planID, planCode, latest+1
		if err := db.insertVersion(ctx, tx, now, &created); err != nil {
			return err
		}
		return db.writeAudit(ctx, tx, now, change{
			action: "plan_version.create", targetType: "plan_version", targetID: strconv.FormatInt(created.ID, 10),
			after: snapshotVersion(&created),
		})
	})
	if err != nil {
		return err
	}
	*v = created
	return nil
}

// insertVersion stores v with its prices and sets its ID and CreatedAt.
func (db *DB) insertVersion(ctx context.Context, q querier, now time.Time, v *billing.PlanVersion) error {
	features, err := json.Marshal(v.Features)
	if err != nil {
		return fmt.Errorf("create plan version: %w", err)
	}
	err = q.QueryRowContext(ctx, `
		INSERT INTO plan_versions (plan_id, version, features, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		v.PlanID, v.Version, string(features), db.timeArg(now)).Scan(&v.ID)
	if err != nil {
		return dbError(err, "create plan version", "")
	}
	v.CreatedAt = now
	for _, p := range v.Prices {
		_, err := q.ExecContext(ctx, `
			INSERT INTO plan_prices (plan_version_id, interval, currency, unit_amount) VALUES ($1, $2, $3, $4)`,
			v.ID, p.Interval, p.UnitPrice.Currency, p.UnitPrice.Amount)
		if err != nil {
			return dbError(err, "create plan price", "")
		}
	}
	return nil
}

const planColumns = `id, code, name, description, created_at`

func scanPlan(row interface{ Scan(...any) error }) (*billing.Plan, error) {
	var p billing.Plan
	if err := row.Scan(&p.ID, &p.Code, &p.Name, &p.Description, scanTime(&p.CreatedAt)); err != nil {
		return nil, err
	}
	return &p, nil
}

// FindPlans returns every plan, oldest first, each with its current version.
func (db *DB) FindPlans(ctx context.Context) ([]*billing.Plan, error) {
	plans := []*billing.Plan{}
	err := db.inReadTx(ctx, "find plans", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+planColumns+` FROM plans ORDER BY id`)
		if err != nil {
			return dbError(err, "find plans", "")
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPlan(rows)
			if err != nil {
				return dbError(err, "find plans", "")
			}
			plans = append(plans, p)
		}
		if err := rows.Err(); err != nil {
			return dbError(err, "find plans", "")
		}
		current, err := db.findVersions(ctx, tx, `v.version = (SELECT max(version) FROM plan_versions m WHERE m.plan_id = v.plan_id)`)
		if err != nil {
			return err
		}
		byPlan := map[int64]*billing.PlanVersion{}
		for _, v := range current {
			byPlan[v.PlanID] = v
		}
		for _, p := range plans {
			p.Current = byPlan[p.ID]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return plans, nil
}

// FindPlanByCode returns the plan with its current version, or ENOTFOUND.
func (db *DB) FindPlanByCode(ctx context.Context, code string) (*billing.Plan, error) {
	var p *billing.Plan
	err := db.inReadTx(ctx, "find plan", func(tx *sql.Tx) error {
		var err error
		p, err = db.findPlan(ctx, tx, code)
		if err != nil {
			return err
		}
		current, err := db.findVersions(ctx, tx, `v.plan_id = $1 ORDER BY v.version DESC LIMIT 1`, p.ID)
		if err != nil {
			return err
		}
		if len(current) > 0 {
			p.Current = current[0]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (db *DB) findPlan(ctx context.Context, q querier, code string) (*billing.Plan, error) {
	p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans WHERE code = $1`, code))
	if err != nil {
		return nil, dbError(err, "find plan", fmt.Sprintf("Plan %q", code))
	}
	return p, nil
}

// FindPlanVersions returns every version of the plan, oldest first.
func (db *DB) FindPlanVersions(ctx context.Context, planCode string) ([]*billing.PlanVersion, error) {
	var versions []*billing.PlanVersion
	err := db.inReadTx(ctx, "find plan versions", func(tx *sql.Tx) error {
		p, err := db.findPlan(ctx, tx, planCode)
		if err != nil {
			return err
		}
		versions, err = db.findVersions(ctx, tx, `v.plan_id = $1 ORDER BY v.version`, p.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return versions, nil
}

// FindPlanVersionByID returns one version, or ENOTFOUND.
func (db *DB) FindPlanVersionByID(ctx context.Context, id int64) (*billing.PlanVersion, error) {
	var versions []*billing.PlanVersion
	err := db.inReadTx(ctx, "find plan version", func(tx *sql.Tx) error {
		var err error
		versions, err = db.findVersions(ctx, tx, `v.id = $1`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, billing.Errorf(billing.ENOTFOUND, "Plan version %d not found.", id)
	}
	return versions[0], nil
}

// findVersions returns the versions that match where (which may end with
// ORDER BY and LIMIT), each with its prices.
func (db *DB) findVersions(ctx context.Context, q querier, where string, params ...any) ([]*billing.PlanVersion, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT v.id, v.plan_id, p.code, v.version, v.features, v.created_at
		FROM plan_versions v JOIN plans p ON p.id = v.plan_id
		WHERE `+where, params...)
	if err != nil {
		return nil, dbError(err, "find plan versions", "")
	}
	defer rows.Close()
	versions := []*billing.PlanVersion{}
	byID := map[int64]*billing.PlanVersion{}
	for rows.Next() {
		var v billing.PlanVersion
		var features string
		if err := rows.Scan(&v.ID, &v.PlanID, &v.PlanCode, &v.Version, &features, scanTime(&v.CreatedAt)); err != nil {
			return nil, dbError(err, "find plan versions", "")
		}
		if err := json.Unmarshal([]byte(features), &v.Features); err != nil {
			return nil, fmt.Errorf("find plan versions: features of version %d: %w", v.ID, err)
		}
		v.Prices = []billing.Price{}
		versions = append(versions, &v)
		byID[v.ID] = &v
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "find plan versions", "")
	}
	rows.Close()
	if len(versions) == 0 {
		return versions, nil
	}

	var a args
	ids := make([]string, len(versions))
	for i, v := range versions {
		ids[i] = a.add(v.ID)
	}
	prices, err := q.QueryContext(ctx, `
		SELECT plan_version_id, interval, currency, unit_amount FROM plan_prices
		WHERE plan_version_id IN (`+strings.Join(ids, ", ")+`)`, a...)
	if err != nil {
		return nil, dbError(err, "find plan prices", "")
	}
	defer prices.Close()
	for prices.Next() {
		var id int64
		var p billing.Price
		if err := prices.Scan(&id, &p.Interval, &p.UnitPrice.Currency, &p.UnitPrice.Amount); err != nil {
			return nil, dbError(err, "find plan prices", "")
		}
		byID[id].Prices = append(byID[id].Prices, p)
	}
	if err := prices.Err(); err != nil {
		return nil, dbError(err, "find plan prices", "")
	}
	for _, v := range versions {
		slices.SortFunc(v.Prices, comparePrices)
	}
	return versions, nil
}
