// Package engine holds the services that change billing state: it creates
// accounts with their subscription, previews and confirms changes, buys
// contract subscriptions, applies the seat rules to the managed-user
// roster, issues invoices and credit notes, and runs everything due for an
// account (BillAccount) — renewals, period invoices, overage true-ups and
// inactivity credits.
//
// The rules are pure functions in billing; the SQL is in store. Each
// exported method that changes state owns one transaction (store.DB.InTx),
// locks the account row first so that changes to one account run one after
// another, and writes one audit event. It must not import api, console,
// jobs or net/http.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Plan codes of the demo catalog that the engine relies on.
const (
	PlanFree       = "free"
	PlanPremium    = "premium"
	PlanEnterprise = "enterprise"
)

// Config builds an Engine.
type Config struct {
	// DB is the store. Required.
	DB *store.DB
	// Clock is the time of accounts without a test clock; nil means
	// billing.SystemClock.
	Clock billing.Clock
	// Logger receives a line per billing step; nil discards.
	Logger *slog.Logger
	// SignupCredit is given to every new online account, in minor units
	// of its currency (DESIGN: "signup credits … online accounts only").
	// Zero gives none.
	SignupCredit int64
	// Schedule, when set, is called in the transaction of every change
	// that moves an account's next billing (an upgrade, a renewal, a new
	// contract) with the instant it falls due: the job runner enqueues the
	// account's bill job there, so that it commits with the change.
	// Accounts on a test clock are not scheduled: their clock drives them.
	Schedule func(ctx context.Context, tx *store.Tx, accountID int64, at time.Time) error
	// BeforeStep, when set, is called inside each BillAccount step's
	// transaction before the step writes; an error fails the step (and
	// rolls it back). Tests use it to stop a billing run midway.
	BeforeStep func(ctx context.Context, accountID int64, step Step) error

	// Gateway collects payments (engine/collect.go); nil turns collection
	// off: invoices stay open and nothing is charged.
	Gateway billing.Gateway
	// Payments sets the retry schedule, the suspension grace, reminders and
	// gateway timeouts; the zero value is DESIGN's defaults.
	Payments PaymentConfig
	// Notify, when set, is called in the transaction of each payment and
	// dunning change, for webhooks and email.
	Notify NotifyFunc
}

// Validate names every missing dependency.
func (c Config) Validate() error {
	if c.DB == nil {
		return errors.New("engine: Config.DB is required")
	}
	if c.SignupCredit < 0 {
		return errors.New("engine: Config.SignupCredit cannot be negative")
	}
	return c.Payments.validate()
}

// Engine runs the billing services.
type Engine struct {
	db           *store.DB
	clock        billing.Clock
	log          *slog.Logger
	signupCredit int64
	beforeStep   func(ctx context.Context, accountID int64, step Step) error
	schedule     func(ctx context.Context, tx *store.Tx, accountID int64, at time.Time) error
	pay          payments
}

// New returns an engine for c.
func New(c Config) (*Engine, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{db: c.DB, clock: c.Clock, log: c.Logger, signupCredit: c.SignupCredit, beforeStep: c.BeforeStep,
		schedule: c.Schedule}
	if e.clock == nil {
		e.clock = billing.SystemClock{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.pay = newPayments(c)
	return e, nil
}

// DB returns the engine's store, for reads the engine does not wrap.
func (e *Engine) DB() *store.DB { return e.db }

// SeedCatalog creates the demo catalog's plans that do not exist yet — Free
// ($0), Premium ($10/user/month or $100/user/year) and Enterprise
// ($20/user/month or $200/user/year), in USD — and leaves existing ones as
// they are, so it can run at every start.
func (e *Engine) SeedCatalog(ctx context.Context) error {
	usd := func(month, year int64) []billing.Price {
		return []billing.Price{
			{Interval: billing.Month, UnitPrice: billing.NewMoney(month, "USD")},
			{Interval: billing.Year, UnitPrice: billing.NewMoney(year, "USD")},
		}
	}
	plans := []struct {
		plan    billing.Plan
		version billing.PlanVersion
	}{
		{billing.Plan{Code: PlanFree, Name: "Free", Description: "Kore for everyone, at no cost."},
			billing.PlanVersion{Prices: usd(0, 0), Features: []string{"Core features"}}},
		{billing.Plan{Code: PlanPremium, Name: "Premium", Description: "Per user, billed monthly or annually."},
			billing.PlanVersion{Prices: usd(1000, 10000), Features: []string{"Core features", "Admin console", "Priority support"}}},
		{billing.Plan{Code: PlanEnterprise, Name: "Enterprise", Description: "$16.67 per user per month, billed annually; usually on a contract."},
			billing.PlanVersion{Prices: usd(2000, 20000), Features: []string{"Core features", "Admin console", "Priority support", "SSO", "Audit log"}}},
	}
	for _, p := range plans {
		if _, err := e.db.FindPlanByCode(ctx, p.plan.Code); err == nil {
			continue
		} else if billing.ErrorCode(err) != billing.ENOTFOUND {
			return err
		}
		plan, version := p.plan, p.version
		if err := e.db.CreatePlan(ctx, &plan, &version); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
			return err
		}
	}
	return nil
}

// state is one account inside a transaction: locked, with its time.
type state struct {
	tx    *store.Tx
	a     *billing.Account
	sub   *billing.Subscription
	now   time.Time
	loc   *time.Location
	today billing.Date
	// notify sends a notification in the state's transaction.
	notify func(Notification) error
}

// nextBilling is when a subscription next has billing due: the start of a
// period not billed yet, else the renewal at the end of the period — local
// midnight in the account's zone. A free subscription has none.
func nextBilling(s *billing.Subscription, loc *time.Location) (time.Time, bool) {
	switch {
	case !s.IsPaid():
		return time.Time{}, false
	case !s.PeriodBilled:
		return s.Period.Start.Midnight(loc), true
	}
	return s.Period.RenewsAt(loc), true
}

// open locks the account, fixes the transaction's time to the account's
// (its test clock's when it has one) and reads its subscription, giving it
// the Free plan when it has none yet.
func (e *Engine) open(ctx context.Context, tx *store.Tx, accountID int64) (*state, error) {
	return e.openAccount(ctx, tx, accountID, true)
}

// openAccount is open; watch has the next due instant stored at commit
// (engine/due.go), which a billing run does itself, once per account.
func (e *Engine) openAccount(ctx context.Context, tx *store.Tx, accountID int64, watch bool) (*state, error) {
	a, err := tx.LockAccount(accountID)
	if err != nil {
		return nil, err
	}
	st, clock, err := e.load(ctx, tx, a)
	if err != nil {
		return nil, err
	}
	st.notify = func(n Notification) error { return e.notify(ctx, tx, n) }
	if e.schedule != nil && clock == nil {
		tx.OnSubscriptionSaved(func(s *billing.Subscription) error {
			at, ok := nextBilling(s, st.loc)
			if !ok {
				return nil
			}
			return e.schedule(ctx, tx, s.AccountID, at)
		})
	}
	if watch {
		e.watchNextDue(ctx, tx, accountID, st.now)
	}
	if st.sub == nil {
		sub, err := e.freeSubscription(tx, a)
		if err != nil {
			return nil, err
		}
		if err := tx.CreateSubscription(sub); err != nil {
			return nil, err
		}
		if err := tx.Audit("subscription.create", "subscription", a.Number, a.ID, nil, snapshot(sub, nil)); err != nil {
			return nil, err
		}
		st.sub = sub
	}
	return st, nil
}

// read is open for a read (store.DB.ReadTx): the same state at the same
// time, without locking the account or writing anything — an account
// without a subscription reads as the Free one open would store. Pages,
// GETs and previews use it, so that a reader never waits for a change to
// the account nor holds one up; a preview computes from it exactly what the
// change, under the lock, would write.
func (e *Engine) read(ctx context.Context, tx *store.Tx, accountID int64) (*state, error) {
	a, err := tx.FindAccount(accountID)
	if err != nil {
		return nil, err
	}
	st, _, err := e.load(ctx, tx, a)
	if err != nil {
		return nil, err
	}
	st.notify = func(Notification) error {
		return billing.Errorf(billing.EINTERNAL, "engine: a notification in a read")
	}
	if st.sub == nil {
		if st.sub, err = e.freeSubscription(tx, a); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// load is the account's state in tx at the account's time, and its test
// clock's time (nil without one).
func (e *Engine) load(ctx context.Context, tx *store.Tx, a *billing.Account) (*state, *time.Time, error) {
	clock, err := tx.TestClockNow(a.ID)
	if err != nil {
		return nil, nil, err
	}
	now := e.clock.Now()
	if clock != nil {
		now = *clock
	}
	tx.SetNow(now)
	st := &state{tx: tx, a: a, now: tx.Now(), loc: a.Location()}
	st.today = billing.DateOf(st.now, st.loc)
	if st.sub, err = tx.FindSubscription(a.ID); err != nil {
		return nil, nil, err
	}
	return st, clock, nil
}

// now returns the account's time: its test clock's, or the engine's.
func (e *Engine) accountNow(ctx context.Context, accountID int64) (time.Time, error) {
	clock, err := e.db.AccountTestClockNow(ctx, accountID)
	if err != nil {
		return time.Time{}, err
	}
	if clock != nil {
		return *clock, nil
	}
	return e.clock.Now(), nil
}

// freeSubscription is the subscription of an account on the Free plan: no
// period, no seats, nothing billed.
func (e *Engine) freeSubscription(tx *store.Tx, a *billing.Account) (*billing.Subscription, error) {
	terms, err := freeTerms(tx, a.Currency)
	if err != nil {
		return nil, err
	}
	return &billing.Subscription{AccountID: a.ID, Terms: terms, Status: billing.SubscriptionActive,
		OnJoin: defaultJoinPolicy(a.BillingType)}, nil
}

func freeTerms(tx *store.Tx, currency string) (billing.Terms, error) {
	plan, err := tx.FindPlanByCode(PlanFree)
	if billing.ErrorCode(err) == billing.ENOTFOUND || (err == nil && plan.Current == nil) {
		return billing.Terms{}, fmt.Errorf("engine: the catalog has no %q plan: seed it first (Engine.SeedCatalog)", PlanFree)
	} else if err != nil {
		return billing.Terms{}, err
	}
	return billing.Terms{Plan: planRef(plan, plan.Current), Interval: billing.Month, Seats: 0,
		UnitPrice: billing.Zero(currency)}, nil
}

// defaultJoinPolicy: an online account buys the seat of each user who joins
// (DESIGN: "each new managed user is charged for the rest of the
// period"); a contract lets the user count toward its overage.
func defaultJoinPolicy(bt billing.BillingType) billing.JoinPolicy {
	if bt == billing.BillingSubscription {
		return billing.JoinLeaveFree
	}
	return billing.JoinAutoIncrease
}

func planRef(p *billing.Plan, v *billing.PlanVersion) billing.PlanRef {
	return billing.PlanRef{VersionID: v.ID, Code: p.Code, Name: p.Name, Version: v.Version}
}

// subscriptionSnapshot is what the audit trail records of a subscription.
type subscriptionSnapshot struct {
	Plan              billing.PlanRef            `json:"plan"`
	Interval          billing.Interval           `json:"interval"`
	Seats             int64                      `json:"seats"`
	UnitPrice         billing.Money              `json:"unit_price"`
	Anchor            billing.Date               `json:"anchor"`
	Period            billing.Period             `json:"period"`
	PeriodBilled      bool                       `json:"period_billed"`
	Status            billing.SubscriptionStatus `json:"status"`
	CancelAtPeriodEnd bool                       `json:"cancel_at_period_end"`
	Scheduled         *billing.Terms             `json:"scheduled,omitempty"`
	Contract          *billing.Contract          `json:"contract,omitempty"`
	OnJoin            billing.JoinPolicy         `json:"on_join"`
	PeakUsers         int64                      `json:"peak_users"`
	Invoice           string                     `json:"invoice,omitempty"`
}

func snapshot(s *billing.Subscription, inv *billing.Invoice) subscriptionSnapshot {
	snap := subscriptionSnapshot{Plan: s.Plan, Interval: s.Interval, Seats: s.Seats, UnitPrice: s.UnitPrice,
		Anchor: s.Anchor, Period: s.Period, PeriodBilled: s.PeriodBilled, Status: s.Status,
		CancelAtPeriodEnd: s.CancelAtPeriodEnd, Scheduled: s.Scheduled, Contract: s.Contract, OnJoin: s.OnJoin,
		PeakUsers: s.PeakUsers}
	if inv != nil {
		snap.Invoice = inv.Number
	}
	return snap
}

// Overview is an account's subscription as the console shows it.
type Overview struct {
	Account      billing.Account
	Subscription billing.Subscription
	ManagedUsers int64     // in use
	Now          time.Time // the account's time (its test clock's, if any)
	Today        billing.Date
	RenewsAt     *time.Time // local midnight of the period end; nil on Free
}

// Subscription returns the account's subscription and the figures around
// it. It writes nothing.
func (e *Engine) Subscription(ctx context.Context, accountID int64) (*Overview, error) {
	var out *Overview
	err := e.db.ReadTx(ctx, func(tx *store.Tx) error {
		st, err := e.read(ctx, tx, accountID)
		if err != nil {
			return err
		}
		n, err := tx.CountManagedUsers(accountID)
		if err != nil {
			return err
		}
		out = &Overview{Account: *st.a, Subscription: *st.sub, ManagedUsers: n, Now: st.now, Today: st.today}
		if st.sub.IsPaid() {
			r := st.sub.Period.RenewsAt(st.loc)
			out.RenewsAt = &r
		}
		return nil
	})
	return out, err
}

// CreateAccount validates a and stores it with its subscription — the Free
// plan — and, for an online account, the signup credit, in one
// transaction with one audit event. DESIGN: "every online account begins on
// Free."
//
// The signup credit is a.SignupCredit when the creation names one, else
// the operator's signup credit for the account's currency
// (store.DB.SetSignupCredit), else Config.SignupCredit; it is granted once,
// here, as a ledger entry "Signup credit", and applied to the first
// invoices before the card is charged. DESIGN: "signup credits … online
// accounts only": a contract account given one is refused.
func (e *Engine) CreateAccount(ctx context.Context, a *billing.Account) error {
	return e.createAccount(ctx, a, 0)
}

// CreateAccountOnClock creates an account as CreateAccount does, on the test
// clock clockID: "dates shown come from the account's own clock", so its
// creation ("Customer since"), its signup credit and its audit event are at
// the clock's time, and everything after is the clock's. (An account
// created first and attached afterwards would have been a customer since
// the real day, months after the history its clock then makes.)
func (e *Engine) CreateAccountOnClock(ctx context.Context, a *billing.Account, clockID int64) error {
	if clockID <= 0 {
		return billing.Errorf(billing.EINVALID, "A test clock id is required.")
	}
	return e.createAccount(ctx, a, clockID)
}

func (e *Engine) createAccount(ctx context.Context, a *billing.Account, clockID int64) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if c := a.SignupCredit; c != nil {
		var v billing.Validation
		switch {
		case *c < 0:
			v.Add("signup_credit", "A signup credit cannot be negative.")
		case *c > 0 && a.BillingType != billing.BillingOnline:
			v.Add("signup_credit", "Signup credits are for online accounts; a contract's price is its contract's.")
		}
		if err := v.Err(); err != nil {
			return err
		}
	}
	created := *a
	var granted *billing.Money
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		now := e.clock.Now()
		var clock *billing.TestClock
		if clockID != 0 {
			c, err := tx.LockTestClock(clockID)
			if err != nil {
				return err
			}
			clock, now = c, c.Now
		}
		tx.SetNow(now)
		if err := tx.CreateAccount(&created); err != nil {
			return err
		}
		if clock != nil {
			if err := tx.SetAccountTestClock(created.ID, clock.ID); err != nil {
				return err
			}
		}
		sub, err := e.freeSubscription(tx, &created)
		if err != nil {
			return err
		}
		if err := tx.CreateSubscription(sub); err != nil {
			return err
		}
		amount, err := e.signupCreditOf(tx, &created)
		if err != nil {
			return err
		}
		if amount > 0 {
			ct := &store.CreditTransaction{AccountID: created.ID, Amount: billing.NewMoney(amount, created.Currency),
				Reason: store.CreditSignup, Description: "Signup credit"}
			if err := tx.AddCredit(ct); err != nil {
				return err
			}
			created.CreditBalance, granted = ct.BalanceAfter, &ct.Amount
		}
		return tx.Audit("account.create", "account", created.Number, created.ID, nil, struct {
			store.AccountSnapshot
			Subscription subscriptionSnapshot `json:"subscription"`
			TestClockID  int64                `json:"test_clock_id,omitempty"`
			SignupCredit *billing.Money       `json:"signup_credit,omitempty"`
		}{store.SnapshotAccount(&created), snapshot(sub, nil), clockID, granted})
	})
	if err != nil {
		return err
	}
	created.SignupCredit = nil
	*a = created
	return nil
}

// signupCreditOf is the signup credit a new account is granted, in minor
// units: the one its creation names, else the operator's for its currency,
// else the engine's default; none for a contract account.
func (e *Engine) signupCreditOf(tx *store.Tx, a *billing.Account) (int64, error) {
	switch {
	case a.BillingType != billing.BillingOnline:
		return 0, nil
	case a.SignupCredit != nil:
		return *a.SignupCredit, nil
	}
	set, err := tx.SignupCredit(a.Currency)
	if err != nil || set == nil {
		return e.signupCredit, err
	}
	return set.Amount, nil
}

// SetSignupCredit makes amount the signup credit of new online accounts in
// its currency (operators; zero grants none).
func (e *Engine) SetSignupCredit(ctx context.Context, amount billing.Money) error {
	return e.db.SetSignupCredit(ctx, amount)
}

// SignupCredits returns the operator's signup credit of each currency.
func (e *Engine) SignupCredits(ctx context.Context) ([]store.SignupCredit, error) {
	return e.db.SignupCredits(ctx)
}
