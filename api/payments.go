package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// Payments: payment methods, payments and refunds. The rules are the
// engine's (engine/collect.go); docs/payments.md says them for people.

// CardDetails is what we keep of a card: never its number or CVC.
type CardDetails struct {
	Brand    string `json:"brand" enum:"visa,mastercard,amex,discover,unknown"`
	Last4    string `json:"last4" example:"4242"`
	ExpMonth int    `json:"exp_month" example:"12"`
	ExpYear  int    `json:"exp_year" example:"2030"`
	Name     string `json:"name,omitempty" example:"Ada Lovelace"`
}

// BankDetails are an account's bank transfer (ACH / EFT) arrangement.
type BankDetails struct {
	BankName      string `json:"bank_name,omitempty" maxLength:"100" example:"First Bank"`
	AccountHolder string `json:"account_holder" maxLength:"200" example:"Globex Inc"`
	AccountLast4  string `json:"account_last4,omitempty" maxLength:"4" example:"6789" doc:"The last four digits of the account the customer pays from."`
	RemittanceRef string `json:"remittance_ref,omitempty" maxLength:"100" example:"KB-000002" doc:"The reference the customer quotes on a transfer."`
}

// PaymentMethod is one way an account pays.
type PaymentMethod struct {
	ID        int64        `json:"id"`
	Type      string       `json:"type" enum:"card,ach" doc:"card: charged through the gateway; ach: bank transfer against the invoice (contracts)."`
	Default   bool         `json:"default" doc:"The method the next transaction uses."`
	Label     string       `json:"label" example:"Visa •••• 4242"`
	Card      *CardDetails `json:"card,omitempty"`
	Bank      *BankDetails `json:"bank,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

func toPaymentMethod(m *store.PaymentMethod) PaymentMethod {
	out := PaymentMethod{ID: m.ID, Type: string(m.Kind), Default: m.Default, Label: m.Label(), CreatedAt: m.CreatedAt}
	if m.Kind == store.MethodCard {
		out.Card = &CardDetails{Brand: string(m.Brand), Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear, Name: m.BillingName}
	} else {
		out.Bank = &BankDetails{BankName: m.BankName, AccountHolder: m.AccountHolder, AccountLast4: m.AccountLast4,
			RemittanceRef: m.RemittanceRef}
	}
	return out
}

// Payment is an attempt to collect an invoice: a card charge, or a bank
// transfer an operator recorded.
type Payment struct {
	ID             int64      `json:"id"`
	Invoice        string     `json:"invoice" example:"INV-2026-000012"`
	Type           string     `json:"type" enum:"card,ach"`
	Trigger        string     `json:"trigger" enum:"initial,retry,manual,new_method,bank_transfer" doc:"Why it was made: at issue, by the retry schedule, by hand, for a new default card, a transfer received."`
	Method         string     `json:"method,omitempty" example:"Visa •••• 4242"`
	Amount         Amount     `json:"amount"`
	AmountRefunded Amount     `json:"amount_refunded"`
	Status         string     `json:"status" enum:"pending,unknown,succeeded,failed,refunded" doc:"unknown: the gateway gave no answer; the same attempt is asked again with the same key."`
	IdempotencyKey string     `json:"idempotency_key,omitempty" example:"charge:42" doc:"Sent to the gateway on every call of this attempt."`
	GatewayRef     string     `json:"gateway_ref,omitempty"`
	FailureCode    string     `json:"failure_code,omitempty" example:"card_declined"`
	FailureMessage string     `json:"failure_message,omitempty" example:"Your card was declined."`
	Retryable      bool       `json:"retryable,omitempty"`
	Reference      string     `json:"reference,omitempty" doc:"A bank transfer's reference."`
	ReceivedOn     string     `json:"received_on,omitempty" format:"date"`
	AttemptedAt    time.Time  `json:"attempted_at" doc:"The account's time (its test clock's, if any)."`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
}

func toPayment(p *store.Payment) Payment {
	out := Payment{ID: p.ID, Invoice: p.InvoiceNumber, Type: string(p.Method), Trigger: string(p.Trigger), Method: p.MethodLabel,
		Amount: toAmount(p.Amount), AmountRefunded: toAmount(p.AmountRefunded), Status: string(p.Status),
		IdempotencyKey: p.IdempotencyKey, GatewayRef: p.GatewayRef, FailureCode: p.FailureCode,
		FailureMessage: p.FailureMessage, Retryable: p.Retryable, Reference: p.Reference, AttemptedAt: p.AttemptedAt,
		ResolvedAt: p.ResolvedAt}
	if p.ReceivedOn != nil {
		out.ReceivedOn = p.ReceivedOn.String()
	}
	return out
}

// Refund gives back part or all of a payment.
type Refund struct {
	ID             int64      `json:"id"`
	Invoice        string     `json:"invoice"`
	PaymentID      int64      `json:"payment_id"`
	Method         string     `json:"method,omitempty" example:"Visa •••• 4242"`
	Amount         Amount     `json:"amount"`
	Reason         string     `json:"reason"`
	Status         string     `json:"status" enum:"pending,unknown,succeeded,failed"`
	CreditNote     string     `json:"credit_note,omitempty" example:"INV-2026-000013" doc:"The credit note that documents the refund, once it has succeeded."`
	IdempotencyKey string     `json:"idempotency_key,omitempty" example:"refund:7"`
	GatewayRef     string     `json:"gateway_ref,omitempty"`
	FailureMessage string     `json:"failure_message,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
}

func toRefund(r *store.Refund) Refund {
	return Refund{ID: r.ID, Invoice: r.InvoiceNumber, PaymentID: r.PaymentID, Method: r.MethodLabel, Amount: toAmount(r.Amount),
		Reason: r.Reason, Status: string(r.Status), CreditNote: r.CreditNote, IdempotencyKey: r.IdempotencyKey,
		GatewayRef: r.GatewayRef, FailureMessage: r.FailureMessage, CreatedAt: r.CreatedAt, ResolvedAt: r.ResolvedAt}
}

type paymentMethodsOutput struct {
	Body struct {
		Items []PaymentMethod `json:"items"`
	}
}

// CardInput is a card as typed, accepted only by the test gateway, which
// turns it into a token on our server. Its fields carry no schema limits,
// so that no validation error ever echoes a card number.
type CardInput struct {
	Number   string `json:"number" example:"4242 4242 4242 4242"`
	ExpMonth int    `json:"exp_month" example:"12"`
	ExpYear  int    `json:"exp_year" example:"2030"`
	CVC      string `json:"cvc" example:"123"`
	Name     string `json:"name,omitempty" example:"Ada Lovelace"`
}

type addPaymentMethodInput struct {
	AccountParam
	Body struct {
		Type    string       `json:"type,omitempty" enum:"card,ach" default:"card"`
		Default *bool        `json:"default,omitempty" doc:"Make it the default method (the first method always is). Default true."`
		Token   string       `json:"token,omitempty" maxLength:"255" example:"pm_card_visa" doc:"A card: the gateway's token (Stripe: a PaymentMethod id from Stripe.js, pm_…)."`
		Card    *CardInput   `json:"card,omitempty" doc:"A card's details, with the test gateway only; never stored."`
		Bank    *BankDetails `json:"bank,omitempty" doc:"Bank transfer details (operator, contracts only)."`
	}
}

type addPaymentMethodOutput struct {
	Body struct {
		Method  PaymentMethod `json:"method"`
		Retried []Payment     `json:"retried" doc:"Open invoices charged at once to the new default card."`
	}
}

// PaymentMethodParam names a method in the path.
type PaymentMethodParam struct {
	AccountParam
	ID int64 `path:"id" minimum:"1"`
}

type updateBankInput struct {
	PaymentMethodParam
	Body BankDetails
}

type paymentMethodOutput struct{ Body PaymentMethod }

type listPaymentsInput struct {
	AccountParam
	Invoice string `query:"invoice" maxLength:"40" doc:"Only this invoice's payments (number or id)."`
	Status  string `query:"status" enum:"pending,unknown,succeeded,failed,refunded"`
	Limit   int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Offset  int    `query:"offset" minimum:"0" default:"0"`
}

type paymentsOutput struct {
	Body struct {
		Items  []Payment `json:"items"`
		Total  int       `json:"total"`
		Limit  int       `json:"limit"`
		Offset int       `json:"offset"`
	}
}

type payResultOutput struct {
	Body struct {
		Payment Payment `json:"payment"`
		Invoice Invoice `json:"invoice"`
	}
}

type bankTransferInput struct {
	InvoiceParam
	Body struct {
		Amount     int64  `json:"amount" example:"50000" doc:"Minor units received; at most what the invoice still owes."`
		Reference  string `json:"reference" maxLength:"100" example:"WIRE-2026-0042"`
		ReceivedOn string `json:"received_on" format:"date" example:"2026-02-10" doc:"The day the transfer arrived, in the account's time zone."`
	}
}

type refundInput struct {
	InvoiceParam
	Body struct {
		Amount int64  `json:"amount" example:"1000" doc:"Minor units to give back, from one payment of the invoice."`
		Reason string `json:"reason" maxLength:"400" example:"Charged for a seat never used."`
	}
}

type refundOutput struct {
	Body struct {
		Refund     Refund   `json:"refund"`
		CreditNote *Invoice `json:"credit_note,omitempty"`
		Invoice    Invoice  `json:"invoice"`
	}
}

type refundsOutput struct {
	Body struct {
		Items []Refund `json:"items"`
	}
}

// invoiceAccess reads an invoice by number or id and checks the actor's
// access to its account; another tenant's invoice is not found.
func (s *Server) invoiceAccess(ctx context.Context, ref string, need access) (*billing.Invoice, error) {
	if err := s.engineReady(); err != nil {
		return nil, err
	}
	inv, err := s.findInvoice(ctx, ref)
	if err != nil {
		return nil, err
	}
	actor := billing.ActorFromContext(ctx)
	if !actor.CanRead(inv.AccountID) {
		return nil, billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", ref)
	}
	if need == manage && !actor.CanManage(inv.AccountID) {
		return nil, billing.Errorf(billing.EFORBIDDEN, "Role %s may not pay or change invoice %s.", actor.Role, ref)
	}
	return inv, nil
}

func (s *Server) registerPayments() {
	tags := []string{"Payments"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-payment-methods", Method: http.MethodGet, Path: "/v1/accounts/{number}/payment-methods",
		Summary: "List payment methods, the default first", Tags: tags,
	}, func(ctx context.Context, in *AccountParam) (*paymentMethodsOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		list, err := s.Engine.PaymentMethods(ctx, a.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &paymentMethodsOutput{}
		out.Body.Items = make([]PaymentMethod, 0, len(list))
		for _, m := range list {
			out.Body.Items = append(out.Body.Items, toPaymentMethod(m))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "add-payment-method", Method: http.MethodPost, Path: "/v1/accounts/{number}/payment-methods",
		Summary: "Add a card, or bank transfer (operator)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "A card is attached at the gateway: send its token (Stripe: pm_… from Stripe.js), or, with the test gateway " +
			"only, its details, which are turned into a token and never stored. We keep the brand, last four digits, expiry and " +
			"name. A new default card is used at once: the account's open invoices are charged to it, which restores a " +
			"suspended account. Bank transfer (ACH / EFT) is for contracts and only operators record it. A card the gateway " +
			"refuses (unknown, expired) changes nothing.",
	}, func(ctx context.Context, in *addPaymentMethodInput) (*addPaymentMethodOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		makeDefault := in.Body.Default == nil || *in.Body.Default
		var res *engine.MethodResult
		if in.Body.Type == "ach" {
			if err := requireRole(ctx, billing.RoleOperator); err != nil {
				return nil, s.problem(ctx, err)
			}
			if in.Body.Bank == nil {
				return nil, s.problem(ctx, &billing.Error{Code: billing.EINVALID, Message: "Bank transfer needs its bank details.",
					Fields: []billing.FieldError{{Field: "bank", Message: "Required."}}})
			}
			d := in.Body.Bank
			res, err = s.Engine.AddBankTransfer(ctx, a.ID, engine.BankDetails{BankName: d.BankName, AccountHolder: d.AccountHolder,
				AccountLast4: d.AccountLast4, RemittanceRef: d.RemittanceRef}, makeDefault)
		} else {
			var token string
			if token, err = s.cardToken(ctx, in.Body.Token, in.Body.Card); err == nil {
				res, err = s.Engine.AddCard(ctx, a.ID, engine.AddCardRequest{Token: token, Default: makeDefault})
			}
		}
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return toMethodResult(res), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-bank-transfer", Method: http.MethodPatch, Path: "/v1/accounts/{number}/payment-methods/{id}",
		Summary: "Change bank transfer details (operator)", Tags: tags,
		Description: "Only bank transfer details change; a card's belong to the gateway: add the new card instead.",
	}, func(ctx context.Context, in *updateBankInput) (*paymentMethodOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		m, err := s.Engine.UpdateBankTransfer(ctx, a.ID, in.ID, engine.BankDetails{BankName: in.Body.BankName,
			AccountHolder: in.Body.AccountHolder, AccountLast4: in.Body.AccountLast4, RemittanceRef: in.Body.RemittanceRef})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &paymentMethodOutput{Body: toPaymentMethod(m)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "set-default-payment-method", Method: http.MethodPost, Path: "/v1/accounts/{number}/payment-methods/{id}/default",
		Summary: "Make a payment method the default", Tags: tags,
		Description: "Effective at once: the next transaction uses it. A card made the default is charged the account's open " +
			"invoices now. Accounts that pay by bank transfer may switch to a card; switching to bank transfer is an operator's.",
	}, func(ctx context.Context, in *PaymentMethodParam) (*addPaymentMethodOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.operatorForBank(ctx, a.ID, in.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		res, err := s.Engine.SetDefaultMethod(ctx, a.ID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return toMethodResult(res), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-payment-method", Method: http.MethodDelete, Path: "/v1/accounts/{number}/payment-methods/{id}",
		Summary: "Remove a payment method", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "The default method of a paid subscription stays until another is made the default. Bank transfer is " +
			"removed by operators.",
	}, func(ctx context.Context, in *PaymentMethodParam) (*struct{}, error) {
		a, err := s.billingAccount(ctx, in.Number, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.operatorForBank(ctx, a.ID, in.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.Engine.RemoveMethod(ctx, a.ID, in.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-payments", Method: http.MethodGet, Path: "/v1/accounts/{number}/payments",
		Summary: "List payments and payment attempts, newest first", Tags: tags,
		Description: "Every attempt, failed ones included, with its failure code, and every bank transfer recorded.",
	}, func(ctx context.Context, in *listPaymentsInput) (*paymentsOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		f := store.PaymentFilter{AccountID: a.ID, Limit: in.Limit, Offset: in.Offset}
		if in.Invoice != "" {
			inv, err := s.findInvoice(ctx, in.Invoice)
			if err != nil || inv.AccountID != a.ID {
				return nil, s.problem(ctx, billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", in.Invoice))
			}
			f.InvoiceID = &inv.ID
		}
		if in.Status != "" {
			st := store.PaymentStatus(in.Status)
			f.Status = &st
		}
		list, total, err := s.Engine.Payments(ctx, f)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &paymentsOutput{}
		out.Body.Items = make([]Payment, 0, len(list))
		for _, p := range list {
			out.Body.Items = append(out.Body.Items, toPayment(p))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "pay-invoice", Method: http.MethodPost, Path: "/v1/invoices/{invoice}/pay",
		Summary: "Pay an open invoice now with the default card", Tags: tags,
		Description: "A manual retry, outside the retry schedule, for the account's owner, billing admins and operators. Paid, " +
			"a past-due subscription and a suspended account are active again. A decline answers 402 with the card's failure " +
			"code (card_declined, insufficient_funds, …); the attempt is recorded.",
	}, func(ctx context.Context, in *InvoiceParam) (*payResultOutput, error) {
		inv, err := s.invoiceAccess(ctx, in.Invoice, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		res, err := s.Engine.PayInvoice(ctx, inv.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return toPayResult(res), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "record-bank-transfer", Method: http.MethodPost, Path: "/v1/invoices/{invoice}/payments",
		Summary: "Record a bank transfer received (operator)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "Full or partial: the invoice's amount paid and due move, and it is paid once nothing is due. Overpaying " +
			"is refused.",
	}, func(ctx context.Context, in *bankTransferInput) (*payResultOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		inv, err := s.invoiceAccess(ctx, in.Invoice, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		received, err := billing.ParseDate(in.Body.ReceivedOn)
		if err != nil {
			return nil, s.problem(ctx, &billing.Error{Code: billing.EINVALID, Message: "received_on must be a date, YYYY-MM-DD.",
				Fields: []billing.FieldError{{Field: "received_on", Message: "A date, YYYY-MM-DD."}}})
		}
		res, err := s.Engine.RecordBankTransfer(ctx, inv.ID, engine.BankTransfer{Amount: in.Body.Amount,
			Reference: in.Body.Reference, ReceivedOn: received})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return toPayResult(res), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "refund-invoice", Method: http.MethodPost, Path: "/v1/invoices/{invoice}/refunds",
		Summary: "Refund a payment of an invoice (operator)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "Gives back part or all of one payment: at the gateway for a card (with an idempotency key, so a retry " +
			"never refunds twice), recorded for a bank transfer. A credit note of the amount documents it. More than was " +
			"paid and not refunded is refused.",
	}, func(ctx context.Context, in *refundInput) (*refundOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		inv, err := s.invoiceAccess(ctx, in.Invoice, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		res, err := s.Engine.RefundInvoice(ctx, inv.ID, engine.RefundRequest{Amount: in.Body.Amount, Reason: in.Body.Reason})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &refundOutput{}
		out.Body.Refund, out.Body.Invoice = toRefund(res.Refund), toInvoice(res.Invoice)
		if res.CreditNote != nil {
			note := toInvoice(res.CreditNote)
			out.Body.CreditNote = &note
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-refunds", Method: http.MethodGet, Path: "/v1/accounts/{number}/refunds",
		Summary: "List refunds, newest first", Tags: tags,
	}, func(ctx context.Context, in *listInvoicesInput) (*refundsOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		list, err := s.Engine.Refunds(ctx, a.ID, in.Limit, in.Offset)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &refundsOutput{}
		out.Body.Items = make([]Refund, 0, len(list))
		for _, r := range list {
			out.Body.Items = append(out.Body.Items, toRefund(r))
		}
		return out, nil
	})
}

// cardToken returns the token to attach: the one sent, or, with a gateway
// that tokenizes itself (the test gateway), the one it makes of the card's
// details.
func (s *Server) cardToken(ctx context.Context, token string, card *CardInput) (string, error) {
	switch {
	case token != "" && card != nil:
		return "", &billing.Error{Code: billing.EINVALID, Message: "Send a card token or the card's details, not both.",
			Fields: []billing.FieldError{{Field: "card", Message: "Send token or card."}}}
	case token != "":
		return token, nil
	case card == nil:
		return "", &billing.Error{Code: billing.EINVALID, Message: "A card token (or, with the test gateway, the card's details) is required.",
			Fields: []billing.FieldError{{Field: "token", Message: "Required."}}}
	}
	tok, ok := s.Engine.CardTokenizer()
	if !ok {
		return "", &billing.Error{Code: billing.EINVALID, Reason: "card_details_not_accepted",
			Message: "This gateway takes a token made by its own form (Stripe.js), never card details.",
			Fields:  []billing.FieldError{{Field: "card", Message: "Send a token instead."}}}
	}
	return tok.TokenizeCard(ctx, billing.CardInput{Number: card.Number, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear,
		CVC: card.CVC, Name: card.Name})
}

// operatorForBank lets only operators make bank transfer the default or
// remove it: "editing ACH details is operator-only".
func (s *Server) operatorForBank(ctx context.Context, accountID, methodID int64) error {
	list, err := s.Engine.PaymentMethods(ctx, accountID)
	if err != nil {
		return err
	}
	for _, m := range list {
		if m.ID == methodID && m.Kind == store.MethodACH {
			return requireRole(ctx, billing.RoleOperator)
		}
	}
	return nil
}

// toMethodResult is a payment method after a change with the open invoices
// a new default card was charged for.
func toMethodResult(res *engine.MethodResult) *addPaymentMethodOutput {
	out := &addPaymentMethodOutput{}
	out.Body.Method = toPaymentMethod(res.Method)
	out.Body.Retried = make([]Payment, 0, len(res.Retried))
	for _, p := range res.Retried {
		out.Body.Retried = append(out.Body.Retried, toPayment(p))
	}
	return out
}

// toPayResult is a payment and the invoice it went to.
func toPayResult(res *engine.PaymentResult) *payResultOutput {
	out := &payResultOutput{}
	out.Body.Payment, out.Body.Invoice = toPayment(res.Payment), toInvoice(res.Invoice)
	return out
}
