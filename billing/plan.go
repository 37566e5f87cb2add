package billing

import (
	"regexp"
	"strings"
	"time"
)

// Interval is how often a subscription is billed.
type Interval string

const (
	Month Interval = "month"
	Year  Interval = "year"
)

// Valid reports whether i is month or year.
func (i Interval) Valid() bool { return i == Month || i == Year }

// Plan is an entry of the catalog (Free, Premium, Enterprise). Its prices and
// features live in versions: a price change is a new version, and existing
// subscriptions keep theirs until renewal.
type Plan struct {
	ID          int64
	Code        string // stable, URL-safe: "premium"
	Name        string
	Description string
	Current     *PlanVersion // the newest version, the one new subscriptions get
	CreatedAt   time.Time
}

// PlanVersion is one immutable set of prices and features of a plan.
type PlanVersion struct {
	ID        int64
	PlanID    int64
	PlanCode  string
	Version   int // 1, 2, … per plan
	Prices    []Price
	Features  []string
	CreatedAt time.Time
}

// Price is the per-user price of a plan version for one interval and currency.
type Price struct {
	Interval  Interval `json:"interval"`
	UnitPrice Money    `json:"unit_price"`
}

// PriceFor returns the per-user price for an interval and currency.
func (v *PlanVersion) PriceFor(interval Interval, currency string) (Money, error) {
	for _, p := range v.Prices {
		if p.Interval == interval && p.UnitPrice.Currency == currency {
			return p.UnitPrice, nil
		}
	}
	return Money{}, ReasonErrorf(EINVALID, "price_not_found",
		"Plan %s version %d has no %s price in %s.", v.PlanCode, v.Version, interval, currency)
}

// IsFree reports whether every price of the version is zero.
func (v *PlanVersion) IsFree() bool {
	for _, p := range v.Prices {
		if p.UnitPrice.Amount != 0 {
			return false
		}
	}
	return true
}

var planCodeRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// Validate checks a new plan's code and name.
func (p *Plan) Validate() error {
	var v Validation
	p.Code = strings.TrimSpace(p.Code)
	p.Name = strings.TrimSpace(p.Name)
	if !planCodeRE.MatchString(p.Code) {
		v.Add("code", "Code must be 1–40 lower-case letters, digits, '-' or '_', starting with a letter.")
	}
	if p.Name == "" {
		v.Add("name", "Name is required.")
	} else if len(p.Name) > 100 {
		v.Add("name", "Name must be at most 100 characters.")
	}
	if len(p.Description) > 1000 {
		v.Add("description", "Description must be at most 1000 characters.")
	}
	return v.Err()
}

// Validate checks a version's prices: at least one, each with a valid
// interval and currency, not negative, one per (interval, currency).
func (pv *PlanVersion) Validate() error {
	var v Validation
	if len(pv.Prices) == 0 {
		v.Add("prices", "At least one price is required.")
	}
	seen := map[[2]string]bool{}
	for _, p := range pv.Prices {
		if !p.Interval.Valid() {
			v.Add("prices.interval", "Interval %q must be month or year.", p.Interval)
		}
		if err := ValidateCurrency(p.UnitPrice.Currency); err != nil {
			v.Add("prices.unit_price.currency", "%s", ErrorMessage(err))
		}
		if p.UnitPrice.Amount < 0 {
			v.Add("prices.unit_price.amount", "A price cannot be negative.")
		}
		key := [2]string{string(p.Interval), p.UnitPrice.Currency}
		if seen[key] {
			v.Add("prices", "Two prices for %s in %s.", p.Interval, p.UnitPrice.Currency)
		}
		seen[key] = true
	}
	for i, f := range pv.Features {
		pv.Features[i] = strings.TrimSpace(f)
		if pv.Features[i] == "" || len(pv.Features[i]) > 200 {
			v.Add("features", "Each feature must be 1–200 characters.")
			break
		}
	}
	return v.Err()
}
