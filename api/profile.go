package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// Profile is an account's billing contact.
type Profile struct {
	AccountNumber string          `json:"account_number" readOnly:"true" example:"KB-000001"`
	CompanyName   string          `json:"company_name" example:"Acme Corp"`
	ContactName   string          `json:"contact_name" example:"Ada Lovelace"`
	Address       billing.Address `json:"address"`
	Phone         string          `json:"phone" example:"+14155550132" doc:"E.164."`
	Email         string          `json:"email" example:"billing@acme.example.com"`
	InvoiceEmails []string        `json:"invoice_emails" doc:"Extra addresses that receive invoices."`
	TaxID         string          `json:"tax_id,omitempty" doc:"Shown on invoices."`
	UpdatedAt     time.Time       `json:"updated_at"`
}

type profileOutput struct {
	Body Profile
}

// ProfileBody is what a client sends to set the billing profile.
type ProfileBody struct {
	CompanyName   string          `json:"company_name" maxLength:"200" example:"Acme Corp"`
	ContactName   string          `json:"contact_name" maxLength:"200" example:"Ada Lovelace"`
	Address       billing.Address `json:"address"`
	Phone         string          `json:"phone" maxLength:"40" example:"+1 415 555 0132" doc:"Any common format; stored as E.164. Without a + it is read in the address's country."`
	Email         string          `json:"email" maxLength:"254" example:"billing@acme.example.com"`
	InvoiceEmails []string        `json:"invoice_emails,omitempty" maxItems:"10"`
	TaxID         string          `json:"tax_id,omitempty" maxLength:"64"`
}

type setProfileInput struct {
	AccountParam
	Body ProfileBody
}

func toProfile(number string, p *billing.BillingProfile) Profile {
	emails := p.InvoiceEmails
	if emails == nil {
		emails = []string{}
	}
	return Profile{
		AccountNumber: number, CompanyName: p.CompanyName, ContactName: p.ContactName,
		Address: p.Address, Phone: p.Phone, Email: p.Email, InvoiceEmails: emails,
		TaxID: p.TaxID, UpdatedAt: p.UpdatedAt,
	}
}

func (s *Server) registerProfile() {
	huma.Register(s.api, huma.Operation{
		OperationID: "get-billing-profile", Method: http.MethodGet, Path: "/v1/accounts/{number}/profile",
		Summary: "Get the billing profile", Tags: []string{"Billing profile"},
	}, func(ctx context.Context, in *AccountParam) (*profileOutput, error) {
		a, err := s.account(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		p, err := s.Profiles.FindProfile(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &profileOutput{Body: toProfile(a.Number, p)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "set-billing-profile", Method: http.MethodPut, Path: "/v1/accounts/{number}/profile",
		Summary: "Set the billing profile", Tags: []string{"Billing profile"},
		Description: "Replaces the billing contact. Email, telephone and country are validated; " +
			"every rejected field is named in `errors`.",
	}, func(ctx context.Context, in *setProfileInput) (*profileOutput, error) {
		a, err := s.account(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		b := in.Body
		p := &billing.BillingProfile{
			AccountID: a.ID, CompanyName: b.CompanyName, ContactName: b.ContactName, Address: b.Address,
			Phone: b.Phone, Email: b.Email, InvoiceEmails: b.InvoiceEmails, TaxID: b.TaxID,
		}
		if err := s.Profiles.SetProfile(ctx, p); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &profileOutput{Body: toProfile(a.Number, p)}, nil
	})
}
