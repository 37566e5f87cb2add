package api

import (
	"bytes"
	"context"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/statement"
)

// PaymentMethodLabeler names the payment method a statement prints, e.g.
// "Visa •••• 4242": the card the invoice was charged to, or the account's
// default card while it is open. "" prints none.
type PaymentMethodLabeler interface {
	InvoicePaymentMethod(ctx context.Context, inv *billing.Invoice) (string, error)
}

type statementOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	Body               []byte
}

// invoiceReaders are the roles that read invoices, as JSON and as
// statements alike: the account's own people and operators. The platform
// reads accounts and reports users; it does not read invoices, in either
// form (docs/security.md).
var invoiceReaders = []billing.Role{billing.RoleOperator, billing.RoleOwner, billing.RoleBillingAdmin, billing.RoleViewer}

func (s *Server) registerStatements() {
	huma.Register(s.api, huma.Operation{
		OperationID: "get-invoice-statement-pdf", Method: http.MethodGet,
		Path:    "/v1/accounts/{number}/invoices/{invoice}/statement.pdf",
		Summary: "Download an invoice's statement as a PDF", Tags: []string{"Invoices"},
		Description: "The statement as Kore's customers receive it: Billed To, issue date, payment type, billing and account ID, " +
			"the transactions with the users and days charged or credited, and the breakdown (subtotal, discount credits, tax, " +
			"total, amount paid, amount due). Letter for a US billing address, A4 otherwise. For the account's owner, billing " +
			"admins and viewers, and operators; another account's invoice is not found.",
		Responses: map[string]*huma.Response{
			"200": {
				Description: "The statement",
				Content:     map[string]*huma.MediaType{"application/pdf": {Schema: &huma.Schema{Type: "string", Format: "binary"}}},
			},
		},
	}, func(ctx context.Context, in *accountInvoiceInput) (*statementOutput, error) {
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
		var opt statement.Options
		if s.PaymentLabels != nil {
			// A statement without its card is better than none: the
			// label is logged and left out when it cannot be read.
			if opt.PaymentMethod, err = s.PaymentLabels.InvoicePaymentMethod(ctx, inv); err != nil {
				s.logger(ctx).WarnContext(ctx, "statement payment method", slog.String("invoice", inv.Number), slog.Any("err", err))
				opt.PaymentMethod = ""
			}
		}
		var buf bytes.Buffer
		if err := statement.PDF(&buf, statement.New(inv, a, opt)); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &statementOutput{
			ContentType:        "application/pdf",
			ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": statementFilename(inv)}),
			CacheControl:       "private, no-store",
			Body:               buf.Bytes(),
		}, nil
	})
}

// statementFilename is "INV-2026-000042.pdf", or the id's for an invoice
// that never had a number (a voided draft).
func statementFilename(inv *billing.Invoice) string {
	if inv.Number != "" {
		return inv.Number + ".pdf"
	}
	return "invoice-" + strconv.FormatInt(inv.ID, 10) + ".pdf"
}
