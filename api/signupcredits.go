package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// SignupCredit is the operator-wide signup credit of one currency of the
// plan catalog.
type SignupCredit struct {
	Amount    Amount    `json:"amount" doc:"Granted once to each new online account in this currency, unless its creation names another amount."`
	UpdatedAt time.Time `json:"updated_at"`
}

type signupCreditsOutput struct {
	Body struct {
		Items []SignupCredit `json:"items"`
	}
}

type signupCreditOutput struct{ Body SignupCredit }

type setSignupCreditInput struct {
	Currency string `path:"currency" pattern:"^[A-Za-z]{3}$" example:"USD"`
	Body     struct {
		Amount int64 `json:"amount" minimum:"0" example:"2500" doc:"Minor units; 0 grants none."`
	}
}

func (s *Server) registerSignupCredits() {
	tags := []string{"Catalog"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-signup-credits", Method: http.MethodGet, Path: "/v1/signup-credits",
		Summary: "List the signup credits (operator)", Tags: tags,
		Description: "The signup credit of each currency the catalog is priced in; a currency not listed grants none.",
	}, func(ctx context.Context, _ *struct{}) (*signupCreditsOutput, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		list, err := s.Engine.SignupCredits(ctx)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &signupCreditsOutput{}
		out.Body.Items = make([]SignupCredit, 0, len(list))
		for _, c := range list {
			out.Body.Items = append(out.Body.Items, SignupCredit{Amount: toAmount(c.Amount), UpdatedAt: c.UpdatedAt})
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "set-signup-credit", Method: http.MethodPut, Path: "/v1/signup-credits/{currency}",
		Summary: "Set a currency's signup credit (operator)", Tags: tags,
		Description: "Each online account created from now on in this currency is granted it once, at creation, unless " +
			"the creation names another `signup_credit`; it shows in Billing History as \"Signup credit\" and is applied " +
			"to the first invoices before the card is charged. Accounts that exist keep what they were granted.",
	}, func(ctx context.Context, in *setSignupCreditInput) (*signupCreditOutput, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		amount := billing.NewMoney(in.Body.Amount, strings.ToUpper(in.Currency))
		if err := s.Engine.SetSignupCredit(ctx, amount); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &signupCreditOutput{Body: SignupCredit{Amount: toAmount(amount), UpdatedAt: time.Now().UTC()}}, nil
	})
}
