package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// TaxRate is a country's tax rate. DESIGN: "Tax: exclusive, rate per
// country (operator-configured), computed on the invoice subtotal after
// credits, rounded once."
type TaxRate struct {
	Country     string `json:"country" example:"DE" doc:"ISO 3166-1 alpha-2."`
	BasisPoints int    `json:"basis_points" example:"1900" doc:"1900 is 19%."`
	Rate        string `json:"rate" example:"19%"`
}

func toTaxRate(r *billing.TaxRate) TaxRate {
	return TaxRate{Country: r.Country, BasisPoints: r.BasisPoints, Rate: r.String()}
}

type taxRateOutput struct{ Body TaxRate }

type taxRatesOutput struct {
	Body struct {
		Items []TaxRate `json:"items"`
	}
}

// CountryParam names a country in the path.
type CountryParam struct {
	Country string `path:"country" minLength:"2" maxLength:"2" example:"DE"`
}

type setTaxRateInput struct {
	CountryParam
	Body struct {
		BasisPoints int `json:"basis_points" example:"1900" doc:"0–10000; 825 is 8.25%."`
	}
}

func (s *Server) registerTaxRates() {
	tags := []string{"Tax rates"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-tax-rates", Method: http.MethodGet, Path: "/v1/tax-rates",
		Summary: "List tax rates", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*taxRatesOutput, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		rates, err := s.Engine.FindTaxRates(ctx)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &taxRatesOutput{}
		out.Body.Items = make([]TaxRate, 0, len(rates))
		for _, r := range rates {
			out.Body.Items = append(out.Body.Items, toTaxRate(r))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-tax-rate", Method: http.MethodGet, Path: "/v1/tax-rates/{country}",
		Summary: "Get a country's tax rate", Tags: tags,
	}, func(ctx context.Context, in *CountryParam) (*taxRateOutput, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		r, err := s.Engine.FindTaxRate(ctx, strings.ToUpper(in.Country))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &taxRateOutput{Body: toTaxRate(r)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "set-tax-rate", Method: http.MethodPut, Path: "/v1/tax-rates/{country}",
		Summary: "Set a country's tax rate (operator)", Tags: tags,
		Description: "Applies to invoices finalized from now on; finalized invoices keep the rate they were issued with.",
	}, func(ctx context.Context, in *setTaxRateInput) (*taxRateOutput, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		r := &billing.TaxRate{Country: in.Country, BasisPoints: in.Body.BasisPoints}
		if err := s.Engine.SetTaxRate(ctx, r); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &taxRateOutput{Body: toTaxRate(r)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-tax-rate", Method: http.MethodDelete, Path: "/v1/tax-rates/{country}",
		Summary: "Remove a country's tax rate (operator)", Tags: tags, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *CountryParam) (*struct{}, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.Engine.DeleteTaxRate(ctx, strings.ToUpper(in.Country)); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})
}
