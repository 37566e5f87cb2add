package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// PlanVersion is one immutable set of a plan's prices and features.
type PlanVersion struct {
	ID        int64           `json:"id"`
	Version   int             `json:"version" doc:"1, 2, … per plan; a price change is a new version."`
	Prices    []billing.Price `json:"prices" doc:"Per-user price for each interval and currency."`
	Features  []string        `json:"features"`
	CreatedAt time.Time       `json:"created_at"`
}

// Plan is an entry of the catalog with its current version.
type Plan struct {
	Code        string      `json:"code" example:"premium"`
	Name        string      `json:"name" example:"Premium"`
	Description string      `json:"description"`
	Current     PlanVersion `json:"current" doc:"The version new subscriptions get."`
	CreatedAt   time.Time   `json:"created_at"`
}

func toPlanVersion(v *billing.PlanVersion) PlanVersion {
	out := PlanVersion{ID: v.ID, Version: v.Version, Prices: v.Prices, Features: v.Features, CreatedAt: v.CreatedAt}
	if out.Prices == nil {
		out.Prices = []billing.Price{}
	}
	if out.Features == nil {
		out.Features = []string{}
	}
	return out
}

func toPlan(p *billing.Plan) Plan {
	out := Plan{Code: p.Code, Name: p.Name, Description: p.Description, CreatedAt: p.CreatedAt}
	if p.Current != nil {
		out.Current = toPlanVersion(p.Current)
	}
	return out
}

// PriceBody is one price of a new plan version.
type PriceBody struct {
	Interval   string `json:"interval" enum:"month,year"`
	Currency   string `json:"currency" example:"USD"`
	UnitAmount int64  `json:"unit_amount" minimum:"0" example:"1000" doc:"Per user per interval, in minor units."`
}

// VersionBody is the content of a new plan version.
type VersionBody struct {
	Prices   []PriceBody `json:"prices" minItems:"1" maxItems:"20"`
	Features []string    `json:"features,omitempty" maxItems:"50"`
}

func (b VersionBody) version() *billing.PlanVersion {
	v := &billing.PlanVersion{Features: b.Features}
	for _, p := range b.Prices {
		v.Prices = append(v.Prices, billing.Price{
			Interval:  billing.Interval(p.Interval),
			UnitPrice: billing.NewMoney(p.UnitAmount, p.Currency),
		})
	}
	return v
}

type planOutput struct{ Body Plan }

type PlanParam struct {
	Code string `path:"code" maxLength:"40" example:"premium"`
}

type createPlanInput struct {
	Body struct {
		Code        string `json:"code" pattern:"^[a-z][a-z0-9_-]{0,39}$" example:"premium"`
		Name        string `json:"name" minLength:"1" maxLength:"100" example:"Premium"`
		Description string `json:"description,omitempty" maxLength:"1000"`
		VersionBody
	}
}

type createVersionInput struct {
	PlanParam
	Body VersionBody
}

type versionsOutput struct {
	Body struct {
		Items []PlanVersion `json:"items"`
	}
}

type plansOutput struct {
	Body struct {
		Items []Plan `json:"items"`
	}
}

func (s *Server) registerCatalog() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-plans", Method: http.MethodGet, Path: "/v1/plans",
		Summary: "List the plan catalog", Tags: []string{"Catalog"},
	}, func(ctx context.Context, _ *struct{}) (*plansOutput, error) {
		plans, err := s.Catalog.FindPlans(ctx)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &plansOutput{}
		out.Body.Items = make([]Plan, 0, len(plans))
		for _, p := range plans {
			out.Body.Items = append(out.Body.Items, toPlan(p))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-plan", Method: http.MethodGet, Path: "/v1/plans/{code}",
		Summary: "Get a plan", Tags: []string{"Catalog"},
	}, func(ctx context.Context, in *PlanParam) (*planOutput, error) {
		p, err := s.Catalog.FindPlanByCode(ctx, in.Code)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &planOutput{Body: toPlan(p)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-plan", Method: http.MethodPost, Path: "/v1/plans",
		Summary: "Create a plan with its first version (operator)", Tags: []string{"Catalog"},
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *createPlanInput) (*planOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		p := &billing.Plan{Code: in.Body.Code, Name: in.Body.Name, Description: in.Body.Description}
		if err := s.Catalog.CreatePlan(ctx, p, in.Body.version()); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &planOutput{Body: toPlan(p)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-plan-versions", Method: http.MethodGet, Path: "/v1/plans/{code}/versions",
		Summary: "List a plan's versions", Tags: []string{"Catalog"},
	}, func(ctx context.Context, in *PlanParam) (*versionsOutput, error) {
		vs, err := s.Catalog.FindPlanVersions(ctx, in.Code)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &versionsOutput{}
		out.Body.Items = make([]PlanVersion, 0, len(vs))
		for _, v := range vs {
			out.Body.Items = append(out.Body.Items, toPlanVersion(v))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-plan-version", Method: http.MethodPost, Path: "/v1/plans/{code}/versions",
		Summary: "Change a plan's prices or features (operator)", Tags: []string{"Catalog"},
		DefaultStatus: http.StatusCreated,
		Description:   "A price change is a new version: new subscriptions get it; existing ones keep theirs until renewal.",
	}, func(ctx context.Context, in *createVersionInput) (*planOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.Catalog.CreatePlanVersion(ctx, in.Code, in.Body.version()); err != nil {
			return nil, s.problem(ctx, err)
		}
		p, err := s.Catalog.FindPlanByCode(ctx, in.Code)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &planOutput{Body: toPlan(p)}, nil
	})
}
