package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// Amount is money in minor units with its currency and how people read it.
type Amount struct {
	Amount   int64  `json:"amount" example:"2935" doc:"Minor units (cents)."`
	Currency string `json:"currency" example:"USD"`
	Display  string `json:"display" example:"$29.35"`
}

func toAmount(m billing.Money) Amount {
	return Amount{Amount: m.Amount, Currency: m.Currency, Display: m.String()}
}

// Period is a range of local dates in the account's time zone: the first day
// is charged, the end is the day the next period starts.
type Period struct {
	Start string `json:"start" format:"date" example:"2026-01-31"`
	End   string `json:"end" format:"date" example:"2026-02-28" doc:"Exclusive: renewal happens at local midnight of this day."`
}

func toPeriod(p billing.Period) *Period {
	if p.IsZero() {
		return nil
	}
	return &Period{Start: p.Start.String(), End: p.End.String()}
}

// PlanRef names a plan version.
type PlanRef struct {
	Code    string `json:"code" example:"premium"`
	Name    string `json:"name" example:"Premium"`
	Version int    `json:"version" example:"1"`
}

// Terms are what a subscription bills each period.
type Terms struct {
	Plan      PlanRef `json:"plan"`
	Interval  string  `json:"interval" enum:"month,year"`
	Seats     int64   `json:"seats"`
	UnitPrice Amount  `json:"unit_price" doc:"Per user per interval."`
}

func toTerms(t billing.Terms) Terms {
	return Terms{Plan: PlanRef{Code: t.Plan.Code, Name: t.Plan.Name, Version: t.Plan.Version},
		Interval: string(t.Interval), Seats: t.Seats, UnitPrice: toAmount(t.UnitPrice)}
}

// Contract is a sales contract's terms, with the summary figures the page
// shows: prepaid, in use and available.
type Contract struct {
	Number           string `json:"number" example:"C-2027-001"`
	TermStart        string `json:"term_start" format:"date"`
	TermEnd          string `json:"term_end" format:"date" doc:"Exclusive: the first day after the term."`
	Prepaid          int64  `json:"prepaid" doc:"Prepaid subscriptions, add-ons included."`
	InUse            int64  `json:"in_use" doc:"Managed users now."`
	Available        int64  `json:"available"`
	PeakUsers        int64  `json:"peak_users" doc:"Most managed users this period: the overage counts from it."`
	UnitPrice        Amount `json:"unit_price" doc:"Negotiated price per user per interval."`
	Interval         string `json:"interval" enum:"month,year" doc:"Payment plan."`
	NetDays          int    `json:"net_days" doc:"Payment terms: invoices are due this many days after issue."`
	OverageUnitPrice Amount `json:"overage_unit_price"`
	AutoRenew        bool   `json:"auto_renew"`
	OnEnd            string `json:"on_end" enum:"convert_free,auto_increase"`
	PayByInvoice     bool   `json:"pay_by_invoice" doc:"ACH / bank transfer rather than card."`
	OnJoin           string `json:"on_join" enum:"auto_increase,leave_free,refuse"`
}

// Subscription is an account's subscription as the Account Summary shows it.
type Subscription struct {
	AccountNumber     string     `json:"account_number" example:"KB-000001"`
	Plan              PlanRef    `json:"plan"`
	Interval          string     `json:"interval" enum:"month,year"`
	Seats             int64      `json:"seats" doc:"Seats paid for (0 on Free, which has no seats)."`
	UnitPrice         Amount     `json:"unit_price" doc:"Per user per interval."`
	PeriodAmount      Amount     `json:"period_amount" doc:"Seats × unit price: what a whole period costs."`
	Paid              bool       `json:"paid" doc:"False on the Free plan, which has no period."`
	Period            *Period    `json:"period,omitempty"`
	RenewsAt          *time.Time `json:"renews_at,omitempty" doc:"Local midnight of the period end, as an instant."`
	Status            string     `json:"status" enum:"active,past_due,canceled"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	Scheduled         *Terms     `json:"scheduled,omitempty" doc:"Terms that start at the period end."`
	OnJoin            string     `json:"on_join" enum:"auto_increase,leave_free,refuse" doc:"When a user joins and no seat is free."`
	ManagedUsers      int64      `json:"managed_users" doc:"In use."`
	Available         int64      `json:"available" doc:"Seats not taken."`
	Contract          *Contract  `json:"contract,omitempty"`
	Today             string     `json:"today" format:"date" doc:"The account's local date (its test clock's, if any)."`
}

func toSubscription(ov *engine.Overview, s billing.Subscription) Subscription {
	amount, _ := s.PeriodAmount()
	if amount.Currency == "" {
		amount = billing.Zero(s.UnitPrice.Currency)
	}
	t := toTerms(s.Terms)
	out := Subscription{AccountNumber: ov.Account.Number, Plan: t.Plan, Interval: t.Interval, Seats: t.Seats,
		UnitPrice: t.UnitPrice, PeriodAmount: toAmount(amount),
		Paid: s.IsPaid(), Period: toPeriod(s.Period), Status: string(s.Status), CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		OnJoin: string(s.OnJoin), ManagedUsers: ov.ManagedUsers, Available: max(s.Seats-ov.ManagedUsers, 0),
		Today: ov.Today.String()}
	if s.IsPaid() {
		r := s.Period.RenewsAt(ov.Account.Location())
		out.RenewsAt = &r
	}
	if s.Scheduled != nil {
		t := toTerms(*s.Scheduled)
		out.Scheduled = &t
	}
	if c := s.Contract; c != nil {
		out.Contract = &Contract{Number: c.Number, TermStart: c.TermStart.String(), TermEnd: c.TermEnd.String(),
			Prepaid: s.Seats, InUse: ov.ManagedUsers, Available: out.Available, PeakUsers: s.PeakUsers,
			UnitPrice: toAmount(s.UnitPrice), Interval: string(s.Interval), NetDays: c.NetDays,
			OverageUnitPrice: toAmount(c.OverageUnitPrice), AutoRenew: c.AutoRenew, OnEnd: string(c.OnEnd),
			PayByInvoice: c.PayByInvoice, OnJoin: string(s.OnJoin)}
	}
	return out
}

type subscriptionOutput struct{ Body Subscription }

// ChangeBody asks for new terms: a plan, an interval and either seats or
// users ("all" current managed users, or just the "admin").
type ChangeBody struct {
	Plan     string `json:"plan" maxLength:"40" example:"premium"`
	Interval string `json:"interval" maxLength:"10" example:"month" doc:"month or year; anything else is refused with code unknown_interval."`
	Seats    *int64 `json:"seats,omitempty" example:"10" doc:"The number of seats; or send users."`
	Users    string `json:"users,omitempty" enum:"all,admin" doc:"all: a seat for every managed user; admin: one seat."`
}

type changeInput struct {
	AccountParam
	Body ChangeBody
}

func (b ChangeBody) request() (engine.ChangeRequest, error) {
	req := engine.ChangeRequest{Plan: b.Plan, Interval: billing.Interval(b.Interval), Users: b.Users}
	switch {
	case b.Seats != nil && b.Users != "":
		return req, &billing.Error{Code: billing.EINVALID, Message: "Send seats or users, not both.",
			Fields: []billing.FieldError{{Field: "seats", Message: "Send seats or users, not both."}}}
	case b.Seats != nil:
		req.Seats = *b.Seats
	case b.Users == "":
		return req, &billing.Error{Code: billing.EINVALID, Message: "Send seats, or users: all or admin.",
			Fields: []billing.FieldError{{Field: "seats", Message: "Required unless users is sent."}}}
	}
	return req, nil
}

// Change is what a change does — or, previewed, would do: the exact invoice
// it creates now, when it takes effect and the subscription after it.
type Change struct {
	Timing        string       `json:"timing" enum:"now,period_end" doc:"now: effective today; period_end: scheduled for the renewal."`
	EffectiveDate string       `json:"effective_date" format:"date"`
	Invoice       *Invoice     `json:"invoice,omitempty" doc:"The invoice created now (a draft without a number in a preview); absent when nothing is billed now."`
	CreditBalance Amount       `json:"credit_balance" doc:"The credit balance after the invoice."`
	Subscription  Subscription `json:"subscription" doc:"The subscription after the change."`
}

type changeOutput struct{ Body Change }

// changeFunc is a change the engine previews or makes.
type changeFunc func(ctx context.Context, accountID int64, req engine.ChangeRequest) (*engine.ChangeResult, error)

// changeHandler serves a subscription change: preview and confirm differ
// only in the engine method they call (pick, given the engine at request
// time, so that a server built without one answers engine_not_configured).
func (s *Server) changeHandler(pick func(*engine.Engine) changeFunc) func(context.Context, *changeInput) (*changeOutput, error) {
	return func(ctx context.Context, in *changeInput) (*changeOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		req, err := in.Body.request()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		res, err := pick(s.Engine)(ctx, a.ID, req)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.changeOutput(ctx, a, res)
	}
}

// changeOutput is toChange with its error as a problem.
func (s *Server) changeOutput(ctx context.Context, a *billing.Account, res *engine.ChangeResult) (*changeOutput, error) {
	out, err := s.toChange(ctx, a, res)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return out, nil
}

func (s *Server) toChange(ctx context.Context, a *billing.Account, res *engine.ChangeResult) (*changeOutput, error) {
	ov, err := s.Engine.Subscription(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	out := Change{Timing: string(res.Timing), EffectiveDate: res.EffectiveDate.String(),
		CreditBalance: toAmount(res.CreditBalance), Subscription: toSubscription(ov, res.Subscription)}
	if res.Invoice != nil {
		inv := toInvoice(res.Invoice)
		out.Invoice = &inv
	}
	return &changeOutput{Body: out}, nil
}

// Admission answers "may a user be added?".
type Admission struct {
	Allowed   bool    `json:"allowed"`
	Reason    string  `json:"reason,omitempty" enum:"auto_increase,overage,seats_exhausted" doc:"auto_increase: allowed by buying a seat now; overage: allowed above the prepaid subscriptions; seats_exhausted: refused."`
	Policy    string  `json:"policy" enum:"auto_increase,leave_free,refuse"`
	Seats     int64   `json:"seats" doc:"0 on the Free plan, which has no seats and no limit."`
	InUse     int64   `json:"in_use"`
	Available int64   `json:"available"`
	Charge    *Amount `json:"charge,omitempty" doc:"What the added seat costs now, prorated (auto_increase)."`
}

type admissionOutput struct{ Body Admission }

// engineAccounts creates accounts through the engine, so that each gets its
// subscription (and its signup credit) in the same transaction.
type engineAccounts struct {
	billing.AccountService
	eng *engine.Engine
}

func (a engineAccounts) CreateAccount(ctx context.Context, acc *billing.Account) error {
	return a.eng.CreateAccount(ctx, acc)
}

// withEngine routes account creation and the managed-user roster through the
// engine, where the seat rules apply.
func (s *Server) withEngine() {
	if s.Engine == nil {
		return
	}
	if s.Accounts != nil {
		s.Accounts = engineAccounts{AccountService: s.Accounts, eng: s.Engine}
	}
	s.Users = s.Engine
}

// engineReady refuses billing requests on a server built without the engine.
func (s *Server) engineReady() error {
	if s.Engine == nil {
		return billing.Errorf(billing.EINTERNAL, "The billing engine is not configured.")
	}
	return nil
}

func (s *Server) registerSubscriptions() {
	tags := []string{"Subscription"}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-subscription", Method: http.MethodGet, Path: "/v1/accounts/{number}/subscription",
		Summary: "Get the subscription", Tags: tags,
		Description: "The plan, seats, period and renewal, scheduled changes, and the contract's prepaid, in use and available.",
	}, func(ctx context.Context, in *AccountParam) (*subscriptionOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		ov, err := s.Engine.Subscription(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &subscriptionOutput{Body: toSubscription(ov, ov.Subscription)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "preview-subscription-change", Method: http.MethodPost, Path: "/v1/accounts/{number}/subscription/preview",
		Summary: "Preview a change", Tags: tags,
		Description: "Returns exactly the invoice the change would create now — lines, days, amounts, credits, tax, total — " +
			"and its effective date, writing nothing.",
	}, s.changeHandler(func(e *engine.Engine) changeFunc { return e.PreviewChange }))

	huma.Register(s.api, huma.Operation{
		OperationID: "change-subscription", Method: http.MethodPost, Path: "/v1/accounts/{number}/subscription",
		Summary: "Change the plan, users or interval", Tags: tags,
		Description: "Upgrades from Free, or changes a paid plan. More users or a dearer plan take effect now " +
			"(a credit line for the unused old price and a charge line for the rest at the new price); fewer users, a " +
			"cheaper plan and annual → monthly are scheduled for the period end without refund; monthly → annual starts " +
			"a new annual period today. A request with the current terms lifts a pending cancellation.",
	}, s.changeHandler(func(e *engine.Engine) changeFunc { return e.ConfirmChange }))

	huma.Register(s.api, huma.Operation{
		OperationID: "cancel-subscription", Method: http.MethodPost, Path: "/v1/accounts/{number}/subscription/cancel",
		Summary: "Cancel at the period end", Tags: tags,
		Description: "The paid plan runs to the period end; then the account is Free and has no managed users.",
	}, func(ctx context.Context, in *AccountParam) (*subscriptionOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if _, err := s.Engine.Cancel(ctx, a.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		ov, err := s.Engine.Subscription(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &subscriptionOutput{Body: toSubscription(ov, ov.Subscription)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "can-add-user", Method: http.MethodGet, Path: "/v1/accounts/{number}/subscription/can-add-user",
		Summary: "May a user be added?", Tags: tags,
		Description: "The platform asks before it adds a managed user: allowed, allowed by buying a seat now (and for how much), " +
			"allowed as overage, or refused.",
	}, func(ctx context.Context, in *AccountParam) (*admissionOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		ad, err := s.Engine.CanAddUser(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := Admission{Allowed: ad.Allowed, Reason: ad.Reason, Policy: string(ad.Policy), Seats: ad.Seats,
			InUse: ad.InUse, Available: ad.Available}
		if ad.Charge != nil {
			c := toAmount(*ad.Charge)
			out.Charge = &c
		}
		return &admissionOutput{Body: out}, nil
	})
}

// billingAccount is account() for the billing routes, which need the engine.
func (s *Server) billingAccount(ctx context.Context, number string, need access) (*billing.Account, error) {
	if err := s.engineReady(); err != nil {
		return nil, err
	}
	return s.account(ctx, number, need)
}
