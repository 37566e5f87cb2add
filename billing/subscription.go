package billing

import "time"

// SubscriptionStatus is where a subscription stands.
type SubscriptionStatus string

const (
	SubscriptionActive   SubscriptionStatus = "active"
	SubscriptionPastDue  SubscriptionStatus = "past_due"
	SubscriptionCanceled SubscriptionStatus = "canceled"
)

// JoinPolicy says what happens when a user joins and no seat is free.
type JoinPolicy string

const (
	// JoinAutoIncrease buys the seat, prorated to the period end.
	JoinAutoIncrease JoinPolicy = "auto_increase"
	// JoinLeaveFree lets the user join unmanaged (free, no seat).
	JoinLeaveFree JoinPolicy = "leave_free"
	// JoinRefuse refuses the join.
	JoinRefuse JoinPolicy = "refuse"
)

// Valid reports whether p is a known policy.
func (p JoinPolicy) Valid() bool {
	return p == JoinAutoIncrease || p == JoinLeaveFree || p == JoinRefuse
}

// EndPolicy says what happens when a contract's term ends and it does not
// auto-renew.
type EndPolicy string

const (
	// EndConvertFree ends the contract: its users become free.
	EndConvertFree EndPolicy = "convert_free"
	// EndAutoIncrease keeps every managed user: the contract renews for the
	// same term with as many prepaid subscriptions as there are managed
	// users, when that is more than it had.
	EndAutoIncrease EndPolicy = "auto_increase"
)

// Valid reports whether p is a known policy.
func (p EndPolicy) Valid() bool { return p == EndConvertFree || p == EndAutoIncrease }

// PlanRef names the plan version a subscription is on.
type PlanRef struct {
	VersionID int64  `json:"version_id"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	Version   int    `json:"version"`
}

// Terms are what a subscription bills each period: a plan version, an
// interval, a number of seats and the per-seat price for that interval (the
// plan's price, or a contract's negotiated one).
type Terms struct {
	Plan      PlanRef  `json:"plan"`
	Interval  Interval `json:"interval"`
	Seats     int64    `json:"seats"`
	UnitPrice Money    `json:"unit_price"`
}

// PeriodAmount is what the terms cost for a whole period.
func (t Terms) PeriodAmount() (Money, error) { return Extend(t.UnitPrice, t.Seats) }

// IsFree reports whether the terms cost nothing.
func (t Terms) IsFree() bool { return t.UnitPrice.Amount == 0 }

// Contract is a sales contract's terms for a subscription-billed account.
type Contract struct {
	Number           string    `json:"number"`
	TermStart        Date      `json:"term_start"`
	TermEnd          Date      `json:"term_end"` // exclusive: the first day after the term
	NetDays          int       `json:"net_days"` // payment terms: due NetDays after issue
	OverageUnitPrice Money     `json:"overage_unit_price"`
	AutoRenew        bool      `json:"auto_renew"`
	OnEnd            EndPolicy `json:"on_end"`
	PayByInvoice     bool      `json:"pay_by_invoice"` // ACH / bank transfer rather than card
}

// Subscription is what an account is billed for. Every account has one:
// online accounts start on the Free plan, with no period.
type Subscription struct {
	ID        int64
	AccountID int64
	Terms
	Anchor            Date   // the day periods are anchored to
	Period            Period // the current period; zero on a free plan
	PeriodBilled      bool   // the current period's invoice has been issued
	Status            SubscriptionStatus
	CancelAtPeriodEnd bool
	Scheduled         *Terms    // terms that start at the period end
	Contract          *Contract // nil for online subscriptions
	OnJoin            JoinPolicy
	PeakUsers         int64 // most managed users this period (contract overage)
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// IsPaid reports whether the subscription bills periods.
func (s *Subscription) IsPaid() bool { return !s.Period.IsZero() }
