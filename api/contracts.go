package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// ContractBody is a sales contract as an operator enters it.
type ContractBody struct {
	Number            string `json:"number" minLength:"1" maxLength:"64" example:"C-2027-001"`
	Plan              string `json:"plan,omitempty" maxLength:"40" default:"enterprise" example:"enterprise"`
	TermStart         string `json:"term_start" format:"date" example:"2027-09-01" doc:"The first period starts here and is billed in advance when it starts."`
	TermEnd           string `json:"term_end" format:"date" example:"2028-09-01" doc:"Exclusive: the first day after the term; a whole number of periods from the start."`
	Prepaid           int64  `json:"prepaid" example:"100" doc:"Prepaid subscriptions (\"By Count\")."`
	UnitAmount        int64  `json:"unit_amount" example:"1500" doc:"Negotiated price per user per interval, minor units of the account's currency."`
	Interval          string `json:"interval" maxLength:"10" example:"month" doc:"Payment plan: month or year."`
	NetDays           int    `json:"net_days,omitempty" example:"30" doc:"Payment terms: invoices are due this many days after issue."`
	OverageUnitAmount *int64 `json:"overage_unit_amount,omitempty" example:"1800" doc:"Per user above the prepaid, per period; defaults to the unit amount."`
	AutoRenew         bool   `json:"auto_renew,omitempty"`
	OnEnd             string `json:"on_end,omitempty" enum:"convert_free,auto_increase" default:"convert_free" doc:"Without renewal: convert users to free, or renew with every managed user."`
	PayByInvoice      bool   `json:"pay_by_invoice,omitempty" doc:"ACH / bank transfer rather than card."`
	OnJoin            string `json:"on_join,omitempty" enum:"auto_increase,leave_free,refuse" default:"leave_free" doc:"Above the prepaid: buy add-ons, count as overage, or refuse."`
}

type createContractInput struct {
	AccountParam
	Body ContractBody
}

// ContractCreated is a new contract's subscription and the billing it ran
// (the first period's invoice when the term has started).
type ContractCreated struct {
	Subscription Subscription `json:"subscription"`
	Billed       BillResult   `json:"billed"`
}

type contractCreatedOutput struct{ Body ContractCreated }

type contractOutput struct{ Body Contract }

type addSubscriptionsInput struct {
	AccountParam
	Body struct {
		Count int64 `json:"count" example:"10" doc:"How many subscriptions to buy; prorated at the contract price to the end of the current period."`
	}
}

type preferencesInput struct {
	AccountParam
	Body struct {
		OnJoin    *string `json:"on_join,omitempty" enum:"auto_increase,leave_free,refuse" doc:"When a user joins and no subscription is free."`
		OnEnd     *string `json:"on_end,omitempty" enum:"convert_free,auto_increase" doc:"When the contract ends without renewal."`
		AutoRenew *bool   `json:"auto_renew,omitempty" doc:"Contracts only."`
	}
}

func (b ContractBody) request(currency string) (engine.ContractRequest, error) {
	var v billing.Validation
	start, err := billing.ParseDate(b.TermStart)
	if err != nil {
		v.Add("term_start", "%s", billing.ErrorMessage(err))
	}
	end, err := billing.ParseDate(b.TermEnd)
	if err != nil {
		v.Add("term_end", "%s", billing.ErrorMessage(err))
	}
	if err := v.Err(); err != nil {
		return engine.ContractRequest{}, err
	}
	plan := b.Plan
	if plan == "" {
		plan = engine.PlanEnterprise
	}
	overage := b.UnitAmount
	if b.OverageUnitAmount != nil {
		overage = *b.OverageUnitAmount
	}
	return engine.ContractRequest{Number: b.Number, PlanCode: plan, TermStart: start, TermEnd: end, Prepaid: b.Prepaid,
		UnitPrice: billing.NewMoney(b.UnitAmount, currency), Interval: billing.Interval(b.Interval), NetDays: b.NetDays,
		OverageUnitPrice: billing.NewMoney(overage, currency), AutoRenew: b.AutoRenew, OnEnd: billing.EndPolicy(b.OnEnd),
		PayByInvoice: b.PayByInvoice, OnJoin: billing.JoinPolicy(b.OnJoin)}, nil
}

func (s *Server) registerContracts() {
	tags := []string{"Contracts"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-contract", Method: http.MethodPost, Path: "/v1/accounts/{number}/contract",
		Summary: "Put an account on a sales contract (operator)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "For subscription-billed accounts (\"Fixed Subscriptions\"). Prices are in the account's currency.",
	}, func(ctx context.Context, in *createContractInput) (*contractCreatedOutput, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.account(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		req, err := in.Body.request(a.Currency)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		res, err := s.Engine.CreateContract(ctx, a.ID, req)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		ov, err := s.Engine.Subscription(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &contractCreatedOutput{Body: ContractCreated{Subscription: toSubscription(ov, ov.Subscription),
			Billed: toBillResult(a.Number, res.Bill)}}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-contract", Method: http.MethodGet, Path: "/v1/accounts/{number}/contract",
		Summary: "Get the contract: prepaid, in use, available", Tags: tags,
	}, func(ctx context.Context, in *AccountParam) (*contractOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		ov, err := s.Engine.Subscription(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		sub := toSubscription(ov, ov.Subscription)
		if sub.Contract == nil {
			return nil, s.problem(ctx, billing.ReasonErrorf(billing.ENOTFOUND, "no_contract", "Account %s has no contract.", a.Number))
		}
		return &contractOutput{Body: *sub.Contract}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "preview-contract-subscriptions", Method: http.MethodPost, Path: "/v1/accounts/{number}/contract/subscriptions/preview",
		Summary: "Preview buying additional subscriptions", Tags: tags,
		Description: "The count and the amount to be charged before purchase; writes nothing.",
	}, s.addSubscriptionsHandler(func(e *engine.Engine) addFunc { return e.PreviewAddSubscriptions }))

	huma.Register(s.api, huma.Operation{
		OperationID: "buy-contract-subscriptions", Method: http.MethodPost, Path: "/v1/accounts/{number}/contract/subscriptions",
		Summary: "Buy additional subscriptions", Tags: tags,
		Description: "Prorated at the contract price to the end of the current period (co-terminous); due after the payment terms.",
	}, s.addSubscriptionsHandler(func(e *engine.Engine) addFunc { return e.AddSubscriptions }))

	huma.Register(s.api, huma.Operation{
		OperationID: "set-preferences", Method: http.MethodPut, Path: "/v1/accounts/{number}/preferences",
		Summary: "Set the join and contract-end preferences", Tags: tags,
		Description: "When a user joins and no subscription is free: auto_increase buys one, leave_free lets the user join " +
			"(counted as overage on a contract; refused online), refuse refuses. When a contract ends without renewal: " +
			"convert_free or auto_increase. Fields not sent are kept.",
	}, func(ctx context.Context, in *preferencesInput) (*subscriptionOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		var prefs engine.Preferences
		if in.Body.OnJoin != nil {
			p := billing.JoinPolicy(*in.Body.OnJoin)
			prefs.OnJoin = &p
		}
		if in.Body.OnEnd != nil {
			p := billing.EndPolicy(*in.Body.OnEnd)
			prefs.OnEnd = &p
		}
		prefs.AutoRenew = in.Body.AutoRenew
		if _, err := s.Engine.SetPreferences(ctx, a.ID, prefs); err != nil {
			return nil, s.problem(ctx, err)
		}
		ov, err := s.Engine.Subscription(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &subscriptionOutput{Body: toSubscription(ov, ov.Subscription)}, nil
	})
}

// addFunc buys (or previews buying) additional contract subscriptions.
type addFunc func(ctx context.Context, accountID, count int64) (*engine.ChangeResult, error)

// addSubscriptionsHandler serves the preview and the purchase of additional
// subscriptions, which differ only in the engine method they call.
func (s *Server) addSubscriptionsHandler(pick func(*engine.Engine) addFunc) func(context.Context, *addSubscriptionsInput) (*changeOutput, error) {
	return func(ctx context.Context, in *addSubscriptionsInput) (*changeOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		res, err := pick(s.Engine)(ctx, a.ID, in.Body.Count)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.changeOutput(ctx, a, res)
	}
}
