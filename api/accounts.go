package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// Account is an account as the API shows it.
type Account struct {
	Number        string        `json:"number" example:"KB-000001" doc:"Account number: KB- and six digits, sequential, never reused."`
	Name          string        `json:"name" example:"Acme Corp"`
	Domain        string        `json:"domain" example:"acme.example.com"`
	BillingType   string        `json:"billing_type" enum:"online,subscription"`
	AccountType   string        `json:"account_type" enum:"enterprise,individual"`
	Currency      string        `json:"currency" example:"USD" doc:"ISO 4217 code."`
	TimeZone      string        `json:"time_zone" example:"America/New_York" doc:"IANA time zone; billing periods are local dates in it."`
	Status        string        `json:"status" enum:"active,past_due,suspended,closed"`
	CreditBalance billing.Money `json:"credit_balance" doc:"Discount credits applied to the next invoices, in minor units."`
	PayByInvoice  bool          `json:"pay_by_invoice" doc:"Online accounts: an operator set the account to pay its invoices by bank transfer (due 30 days after issue), so a paid plan needs no card on file."`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
}

func toAccount(a *billing.Account) Account {
	return Account{
		Number: a.Number, Name: a.Name, Domain: a.Domain,
		BillingType: string(a.BillingType), AccountType: string(a.AccountType),
		Currency: a.Currency, TimeZone: a.TimeZone, Status: string(a.Status),
		CreditBalance: a.CreditBalance, PayByInvoice: a.PayByInvoice, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

type accountOutput struct {
	Body Account
}

type AccountParam struct {
	Number string `path:"number" pattern:"^KB-[0-9]{6,}$" example:"KB-000001" doc:"Account number."`
}

type createAccountInput struct {
	Body struct {
		Name        string `json:"name" minLength:"1" maxLength:"200" example:"Acme Corp" doc:"Company name."`
		Domain      string `json:"domain" minLength:"1" maxLength:"253" example:"acme.example.com" doc:"The company's domain; one account per company."`
		BillingType string `json:"billing_type,omitempty" enum:"online,subscription" default:"online" doc:"online: paid by card per managed user; subscription: a sales contract."`
		AccountType string `json:"account_type,omitempty" enum:"enterprise,individual" default:"enterprise"`
		Currency    string `json:"currency,omitempty" default:"USD" example:"USD" doc:"ISO 4217 code; fixed once invoices exist."`
		TimeZone    string `json:"time_zone,omitempty" default:"UTC" example:"America/New_York"`
		// SignupCredit is set by operators only.
		SignupCredit *int64 `json:"signup_credit,omitempty" minimum:"0" example:"2500" doc:"Operators: the signup credit to grant this online account once, in minor units, instead of the default for its currency (PUT /v1/signup-credits/{currency}); 0 grants none."`
	}
}

type listAccountsInput struct {
	Query       string `query:"q" maxLength:"200" doc:"Matches account number, name, domain or billing email."`
	Status      string `query:"status" enum:"active,past_due,suspended,closed"`
	BillingType string `query:"billing_type" enum:"online,subscription"`
	Limit       int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Offset      int    `query:"offset" minimum:"0" default:"0"`
}

type listAccountsOutput struct {
	Body struct {
		Items  []Account `json:"items"`
		Total  int       `json:"total" doc:"How many accounts match the filter."`
		Limit  int       `json:"limit"`
		Offset int       `json:"offset"`
	}
}

type updateAccountInput struct {
	AccountParam
	Body struct {
		Name        *string `json:"name,omitempty" minLength:"1" maxLength:"200"`
		Domain      *string `json:"domain,omitempty" minLength:"1" maxLength:"253"`
		AccountType *string `json:"account_type,omitempty" enum:"enterprise,individual"`
		TimeZone    *string `json:"time_zone,omitempty"`
		Status      *string `json:"status,omitempty" enum:"active,past_due,suspended,closed"`
		// PayByInvoice lets an online account be on a paid plan with no
		// card: without it an upgrade with no payment method is refused
		// (payment_method_required).
		PayByInvoice *bool `json:"pay_by_invoice,omitempty" doc:"Online accounts: pay invoices by bank transfer (due 30 days after issue) rather than by card; a paid plan then needs no card on file."`
	}
}

func (s *Server) registerAccounts() {
	huma.Register(s.api, huma.Operation{
		OperationID: "create-account", Method: http.MethodPost, Path: "/v1/accounts",
		Summary: "Create an account", Tags: []string{"Accounts"}, DefaultStatus: http.StatusCreated,
		Description: "Operators and the platform create an account when a company signs up. " +
			"Online accounts start on the Free plan.",
	}, func(ctx context.Context, in *createAccountInput) (*accountOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator, billing.RolePlatform); err != nil {
			return nil, s.problem(ctx, err)
		}
		a := &billing.Account{
			Name: in.Body.Name, Domain: in.Body.Domain,
			BillingType: billing.BillingType(in.Body.BillingType), AccountType: billing.AccountType(in.Body.AccountType),
			Currency: in.Body.Currency, TimeZone: in.Body.TimeZone, SignupCredit: in.Body.SignupCredit,
		}
		if a.SignupCredit != nil {
			if err := requireRole(ctx, billing.RoleOperator); err != nil {
				return nil, s.problem(ctx, err)
			}
		}
		if err := s.Accounts.CreateAccount(ctx, a); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &accountOutput{Body: toAccount(a)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-accounts", Method: http.MethodGet, Path: "/v1/accounts",
		Summary: "List and search accounts", Tags: []string{"Accounts"},
	}, func(ctx context.Context, in *listAccountsInput) (*listAccountsOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator, billing.RolePlatform); err != nil {
			return nil, s.problem(ctx, err)
		}
		f := billing.AccountFilter{Query: in.Query, Limit: in.Limit, Offset: in.Offset}
		if in.Status != "" {
			st := billing.AccountStatus(in.Status)
			f.Status = &st
		}
		if in.BillingType != "" {
			bt := billing.BillingType(in.BillingType)
			f.BillingType = &bt
		}
		accounts, total, err := s.Accounts.FindAccounts(ctx, f)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &listAccountsOutput{}
		out.Body.Items = make([]Account, 0, len(accounts))
		for _, a := range accounts {
			out.Body.Items = append(out.Body.Items, toAccount(a))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-account", Method: http.MethodGet, Path: "/v1/accounts/{number}",
		Summary: "Get an account", Tags: []string{"Accounts"},
	}, func(ctx context.Context, in *AccountParam) (*accountOutput, error) {
		a, err := s.account(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &accountOutput{Body: toAccount(a)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-account", Method: http.MethodPatch, Path: "/v1/accounts/{number}",
		Summary: "Update an account (operator)", Tags: []string{"Accounts"},
		Description: "Only the fields sent change. Billing type and currency are fixed once set.",
	}, func(ctx context.Context, in *updateAccountInput) (*accountOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.account(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		upd := billing.AccountUpdate{Name: in.Body.Name, Domain: in.Body.Domain, TimeZone: in.Body.TimeZone,
			PayByInvoice: in.Body.PayByInvoice}
		if in.Body.AccountType != nil {
			t := billing.AccountType(*in.Body.AccountType)
			upd.AccountType = &t
		}
		if in.Body.Status != nil {
			st := billing.AccountStatus(*in.Body.Status)
			upd.Status = &st
		}
		a, err = s.Accounts.UpdateAccount(ctx, a.ID, upd)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &accountOutput{Body: toAccount(a)}, nil
	})
}
