package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// InvoiceLine is one line of a statement: the users and the days charged or
// credited.
type InvoiceLine struct {
	Description string `json:"description" example:"Premium — 7 users × 13 of 31 days"`
	Kind        string `json:"kind" enum:"charge,credit"`
	Quantity    int64  `json:"quantity" doc:"Users."`
	UnitAmount  Amount `json:"unit_amount" doc:"Per user for a whole period."`
	Days        int    `json:"days" doc:"Days charged or credited; 0 when the line is not prorated."`
	PeriodDays  int    `json:"period_days" doc:"Days in the period; 0 when the line is not prorated."`
	Amount      Amount `json:"amount" doc:"round(quantity × unit amount × days / period days), once; negative for a credit."`
	Period      Period `json:"period" doc:"The service period of the line."`
	Proration   bool   `json:"proration"`
}

// Invoice is a statement.
type Invoice struct {
	ID             int64            `json:"id"`
	Number         string           `json:"number,omitempty" example:"INV-2026-000042" doc:"Given at finalization; absent on a preview."`
	AccountNumber  string           `json:"account_number"`
	AccountType    string           `json:"account_type"`
	Kind           string           `json:"kind" enum:"subscription,change,overage,credit_note"`
	Status         string           `json:"status" enum:"draft,open,paid,void,uncollectible"`
	Currency       string           `json:"currency"`
	Period         *Period          `json:"period,omitempty"`
	IssueDate      string           `json:"issue_date" format:"date"`
	DueDate        string           `json:"due_date,omitempty" format:"date" doc:"Contract invoices: issue date + payment terms."`
	PaymentType    string           `json:"payment_type,omitempty" enum:"card,ach_eft,credit_redeem,refund"`
	BilledTo       billing.BilledTo `json:"billed_to"`
	Lines          []InvoiceLine    `json:"lines"`
	Subtotal       Amount           `json:"subtotal"`
	CreditsApplied Amount           `json:"credits_applied" doc:"Discount credits taken from the balance, before tax."`
	Tax            Amount           `json:"tax" doc:"On the subtotal after credits, rounded once."`
	TaxRate        string           `json:"tax_rate" example:"19%"`
	TaxCountry     string           `json:"tax_country,omitempty"`
	Total          Amount           `json:"total"`
	AmountPaid     Amount           `json:"amount_paid"`
	AmountDue      Amount           `json:"amount_due"`
	CorrectsID     *int64           `json:"corrects_invoice_id,omitempty" doc:"For a credit note: the invoice it corrects."`
	CreatedAt      time.Time        `json:"created_at"`
	FinalizedAt    *time.Time       `json:"finalized_at,omitempty"`
	PaidAt         *time.Time       `json:"paid_at,omitempty"`
}

func toInvoice(inv *billing.Invoice) Invoice {
	out := Invoice{ID: inv.ID, Number: inv.Number, AccountNumber: inv.AccountNumber, AccountType: string(inv.AccountType),
		Kind: string(inv.Kind), Status: string(inv.Status), Currency: inv.Currency, Period: toPeriod(inv.Period),
		IssueDate: inv.IssueDate.String(), PaymentType: string(inv.PaymentType), BilledTo: inv.BilledTo,
		Lines: make([]InvoiceLine, 0, len(inv.Lines)), Subtotal: toAmount(inv.Subtotal),
		CreditsApplied: toAmount(inv.CreditsApplied), Tax: toAmount(inv.Tax), TaxRate: billing.FormatBasisPoints(inv.TaxRateBP),
		TaxCountry: inv.TaxCountry, Total: toAmount(inv.Total), AmountPaid: toAmount(inv.AmountPaid),
		AmountDue: toAmount(inv.AmountDue), CorrectsID: inv.CorrectsInvoiceID, CreatedAt: inv.CreatedAt,
		FinalizedAt: inv.FinalizedAt, PaidAt: inv.PaidAt}
	if inv.DueDate != nil {
		out.DueDate = inv.DueDate.String()
	}
	for _, l := range inv.Lines {
		line := InvoiceLine{Description: l.Description, Kind: string(l.Kind), Quantity: l.Quantity,
			UnitAmount: toAmount(l.UnitAmount), Days: l.Days, PeriodDays: l.PeriodDays, Amount: toAmount(l.Amount),
			Proration: l.Proration}
		if p := toPeriod(l.Period); p != nil {
			line.Period = *p
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}

type invoiceOutput struct{ Body Invoice }

type upcomingOutput struct {
	Body struct {
		Invoice  Invoice             `json:"invoice" doc:"The next period's invoice, a draft without a number."`
		IssuedAt time.Time           `json:"issued_at" doc:"When the billing run issues it: local midnight of the period's first day, or now when that is past."`
		Overage  *Invoice            `json:"overage,omitempty" doc:"A contract's overage invoice for the period that ends, issued just before."`
		Credits  []CreditTransaction `json:"credits" doc:"Inactivity credits to be granted before it; its credits applied include them."`
	}
}

type listInvoicesInput struct {
	AccountParam
	Limit  int `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Offset int `query:"offset" minimum:"0" default:"0"`
}

type invoicesOutput struct {
	Body struct {
		Items  []Invoice `json:"items"`
		Total  int       `json:"total"`
		Limit  int       `json:"limit"`
		Offset int       `json:"offset"`
	}
}

type accountInvoiceInput struct {
	AccountParam
	Invoice string `path:"invoice" maxLength:"40" example:"INV-2026-000042" doc:"The invoice number, or its id."`
}

// InvoiceParam names an invoice in the path.
type InvoiceParam struct {
	Invoice string `path:"invoice" maxLength:"40" example:"INV-2026-000042" doc:"The invoice number, or its id."`
}

type creditNoteInput struct {
	InvoiceParam
	Body struct {
		Amount int64  `json:"amount" example:"1000" doc:"Minor units to give back, at most what the invoice and its earlier credit notes leave."`
		Reason string `json:"reason" maxLength:"400" example:"One seat was never used."`
	}
}

// CreditTransaction is one movement of the credit balance.
type CreditTransaction struct {
	ID           int64     `json:"id"`
	Amount       Amount    `json:"amount" doc:"Positive: credit given; negative: credit used."`
	Reason       string    `json:"reason" enum:"signup,inactivity,applied,change_credit,refund,adjustment"`
	InvoiceID    *int64    `json:"invoice_id,omitempty"`
	UserID       string    `json:"user_id,omitempty" doc:"The managed user of an inactivity credit."`
	BalanceAfter Amount    `json:"balance_after"`
	Description  string    `json:"description"`
	CreatedAt    time.Time `json:"created_at"`
}

type creditsOutput struct {
	Body struct {
		Balance Amount              `json:"balance"`
		Items   []CreditTransaction `json:"items"`
		Total   int                 `json:"total"`
		Limit   int                 `json:"limit"`
		Offset  int                 `json:"offset"`
	}
}

// BillStep is one piece of billing a run did.
type BillStep struct {
	Step     string              `json:"step" enum:"period_invoice,inactivity_credits,overage_invoice,renewal,charge,payment_retry,payment_check,refund_check,past_due,suspend,payment_reminder,invoice_overdue"`
	Due      string              `json:"due" format:"date" doc:"The local day it fell due."`
	Invoice  *Invoice            `json:"invoice,omitempty"`
	Credits  []CreditTransaction `json:"credits,omitempty"`
	From     *Period             `json:"from,omitempty" doc:"A renewal's old period."`
	To       *Period             `json:"to,omitempty" doc:"A renewal's new period (absent when it went to Free)."`
	PlanCode string              `json:"plan,omitempty" doc:"The plan after a renewal."`
}

// BillResult is what a billing run did, in order.
type BillResult struct {
	AccountNumber string     `json:"account_number"`
	Now           time.Time  `json:"now" doc:"The account's time the run billed up to."`
	Steps         []BillStep `json:"steps"`
}

type billOutput struct{ Body BillResult }

func toCredit(ct *engine.CreditTransaction) CreditTransaction {
	return CreditTransaction{ID: ct.ID, Amount: toAmount(ct.Amount), Reason: string(ct.Reason), InvoiceID: ct.InvoiceID,
		UserID: ct.UserID, BalanceAfter: toAmount(ct.BalanceAfter), Description: ct.Description, CreatedAt: ct.CreatedAt}
}

func toBillResult(number string, r engine.BillResult) BillResult {
	out := BillResult{AccountNumber: number, Now: r.Now, Steps: []BillStep{}}
	for _, st := range r.Steps {
		bs := BillStep{Step: string(st.Step), Due: st.Due.String()}
		if st.Invoice != nil {
			inv := toInvoice(st.Invoice)
			bs.Invoice = &inv
		}
		for _, ct := range st.Credits {
			bs.Credits = append(bs.Credits, toCredit(ct))
		}
		if st.Step == engine.StepRenewal {
			bs.From, bs.To, bs.PlanCode = toPeriod(st.From), toPeriod(st.To), st.Plan.Code
		}
		out.Steps = append(out.Steps, bs)
	}
	return out
}

// findInvoice reads an invoice by number ("INV-…") or id.
func (s *Server) findInvoice(ctx context.Context, ref string) (*billing.Invoice, error) {
	if strings.HasPrefix(ref, "INV-") {
		return s.Engine.FindInvoiceByNumber(ctx, ref)
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id < 1 {
		return nil, billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", ref)
	}
	return s.Engine.FindInvoice(ctx, id)
}

func (s *Server) registerInvoices() {
	tags := []string{"Invoices"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-invoices", Method: http.MethodGet, Path: "/v1/accounts/{number}/invoices",
		Summary: "List invoices, newest first", Tags: tags,
		Description: "For the account's owner, billing admins and viewers, and operators.",
	}, func(ctx context.Context, in *listInvoicesInput) (*invoicesOutput, error) {
		if err := requireRole(ctx, invoiceReaders...); err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		list, total, err := s.Engine.FindInvoices(ctx, a.ID, in.Limit, in.Offset)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &invoicesOutput{}
		out.Body.Items = make([]Invoice, 0, len(list))
		for _, inv := range list {
			out.Body.Items = append(out.Body.Items, toInvoice(inv))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-upcoming-invoice", Method: http.MethodGet, Path: "/v1/accounts/{number}/upcoming-invoice",
		Summary: "Get the upcoming invoice", Tags: tags,
		Description: "The next period's invoice as the renewal will issue it if nothing changes meanwhile, computed by the " +
			"billing run's own code and writing nothing: the seats charged (inactive users' seats are not), the inactivity " +
			"credits granted before it and the credit balance it applies, the tax and the total. A draft, without a number. " +
			"A contract whose period ends with an overage invoice has it in `overage`. 404 with code `no_upcoming_invoice` " +
			"when no invoice is coming: the Free plan, a cancellation, a contract that ends without renewal.",
	}, func(ctx context.Context, in *AccountParam) (*upcomingOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		up, err := s.Engine.UpcomingInvoice(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &upcomingOutput{}
		out.Body.Invoice, out.Body.IssuedAt = toInvoice(up.Invoice), up.At
		out.Body.Credits = make([]CreditTransaction, 0, len(up.Credits))
		for _, ct := range up.Credits {
			c := toCredit(ct)
			c.ID = 0
			out.Body.Credits = append(out.Body.Credits, c)
		}
		if up.Overage != nil {
			inv := toInvoice(up.Overage)
			out.Body.Overage = &inv
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-invoice", Method: http.MethodGet, Path: "/v1/accounts/{number}/invoices/{invoice}",
		Summary: "Get an invoice", Tags: tags,
		Description: "For the account's owner, billing admins and viewers, and operators, like its statement PDF.",
	}, func(ctx context.Context, in *accountInvoiceInput) (*invoiceOutput, error) {
		if err := requireRole(ctx, invoiceReaders...); err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		inv, err := s.findInvoice(ctx, in.Invoice)
		if err == nil && inv.AccountID != a.ID {
			err = billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", in.Invoice)
		}
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &invoiceOutput{Body: toInvoice(inv)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-credit-note", Method: http.MethodPost, Path: "/v1/invoices/{invoice}/credit-notes",
		Summary: "Issue a credit note (operator)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "Finalized invoices never change; a credit note corrects one. Its amount goes to the account's credit balance, " +
			"applied to the next invoices.",
	}, func(ctx context.Context, in *creditNoteInput) (*invoiceOutput, error) {
		if err := s.engineReady(); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		inv, err := s.findInvoice(ctx, in.Invoice)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		note, err := s.Engine.IssueCreditNote(ctx, inv.ID, engine.CreditNoteRequest{Amount: in.Body.Amount, Reason: in.Body.Reason})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &invoiceOutput{Body: toInvoice(note)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-credits", Method: http.MethodGet, Path: "/v1/accounts/{number}/credits",
		Summary: "The credit ledger, newest first", Tags: tags,
		Description: "Every movement of the discount credit balance — signup and inactivity credits, credits applied to invoices, " +
			"credit notes — with the balance after it.",
	}, func(ctx context.Context, in *listInvoicesInput) (*creditsOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		list, total, err := s.Engine.FindCredits(ctx, a.ID, in.Limit, in.Offset)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &creditsOutput{}
		out.Body.Balance = toAmount(a.CreditBalance)
		out.Body.Items = make([]CreditTransaction, 0, len(list))
		for _, ct := range list {
			out.Body.Items = append(out.Body.Items, toCredit(ct))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "bill-account", Method: http.MethodPost, Path: "/v1/accounts/{number}/bill",
		Summary: "Run what is due now (operator)", Tags: tags,
		Description: "Runs everything due for the account at its time, in date order — period invoices, inactivity credits, " +
			"overage true-ups, renewals — and says what it did. Billing is idempotent: a second run bills nothing twice.",
	}, func(ctx context.Context, in *AccountParam) (*billOutput, error) {
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
		res, err := s.Engine.BillAccount(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &billOutput{Body: toBillResult(a.Number, res)}, nil
	})
}
