package console

import (
	"bytes"
	"context"
	"html/template"
	"net/http"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/statement"
	"github.com/kore-billing/korebill/store"
)

// Statements: each invoice as a page and as a PDF, both from the statement
// package so that what a person reads is what they download. Another
// tenant's invoice is "not found", exactly as one that does not exist.

// statementPage is the statement page's data.
type statementPage struct {
	Invoice *billing.Invoice
	HTML    template.HTML // statement.HTML's fragment
	CanPay  bool          // open, and the account has a card to charge
	Token   string        // the Pay now form's idempotency key
}

// invoice loads the invoice the path names, for a person who may read the
// account it belongs to.
func (s *Server) invoice(w http.ResponseWriter, r *http.Request) (*billing.Account, *billing.Invoice, bool) {
	a, ok := s.account(w, r)
	if !ok {
		return nil, nil, false
	}
	number := r.PathValue("invoice")
	if !billing.ValidInvoiceNumber(number) {
		s.notFound(w, r)
		return nil, nil, false
	}
	inv, err := s.Engine.FindInvoiceByNumber(r.Context(), number)
	if err != nil {
		s.error(w, r, err)
		return nil, nil, false
	}
	if inv.AccountID != a.ID || inv.Number == "" {
		s.notFound(w, r)
		return nil, nil, false
	}
	return a, inv, true
}

func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.invoice(w, r)
	if !ok {
		return
	}
	d, err := s.statementData(r, a, inv)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := statement.HTML(&buf, d); err != nil {
		s.serverError(w, r, err)
		return
	}
	page := statementPage{Invoice: inv, HTML: template.HTML(buf.String())} // statement.HTML escapes what it writes
	if payable(inv) {
		card, err := s.defaultMethod(r, a)
		if err != nil {
			s.error(w, r, err)
			return
		}
		page.CanPay = card != nil && card.Kind == store.MethodCard
		page.Token = randomToken()
	}
	s.render(w, r, http.StatusOK, "statement", &view{Title: inv.Number, Section: "history", Account: a, Data: page})
}

// statementData is the statement of inv, naming the card or account that
// paid it (or will).
func (s *Server) statementData(r *http.Request, a *billing.Account, inv *billing.Invoice) (statement.Data, error) {
	method, err := s.Engine.InvoicePaymentMethod(r.Context(), inv)
	if err != nil {
		return statement.Data{}, err
	}
	return statement.New(inv, a, statement.Options{PaymentMethod: method}), nil
}

// payable reports whether an invoice still owes something.
func payable(inv *billing.Invoice) bool {
	return (inv.Status == billing.InvoiceOpen || inv.Status == billing.InvoiceUncollectible) && inv.AmountDue.Amount > 0
}

// defaultMethod is the account's default payment method, nil without one.
func (s *Server) defaultMethod(r *http.Request, a *billing.Account) (*store.PaymentMethod, error) {
	methods, err := s.Engine.PaymentMethods(r.Context(), a.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range methods {
		if m.Default {
			return m, nil
		}
	}
	return nil, nil
}

// handlePayInvoice charges an open invoice to the default card now: the
// way back for a past-due or suspended account. A double submit pays once.
func (s *Server) handlePayInvoice(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.invoice(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if !billing.ActorFromContext(ctx).CanManage(a.ID) {
		s.forbidden(w, r, "Your role lets you read this account's invoices, not pay them. Nothing was charged.")
		return
	}
	back := "/accounts/" + a.Number + "/invoices/" + inv.Number
	if next := safeNext(r.PostFormValue("next")); next != "" {
		back = next
	}
	res, err := s.once(ctx, a, "invoice.pay", r.PostFormValue("idempotency_key"), inv.Number, func(ctx context.Context) (onceResult, error) {
		out, err := s.Engine.PayInvoice(ctx, inv.ID)
		if err != nil {
			return onceResult{}, err
		}
		msg := "Invoice " + inv.Number + " is paid: " + out.Payment.Amount.String() + " was charged"
		if out.Payment.MethodLabel != "" {
			msg += " to " + out.Payment.MethodLabel
		}
		return onceResult{Location: back, Flash: msg + "."}, nil
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, res.Flash)
	http.Redirect(w, r, res.Location, http.StatusSeeOther)
}

func (s *Server) handleStatementPDF(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.invoice(w, r)
	if !ok {
		return
	}
	d, err := s.statementData(r, a, inv)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := statement.PDF(&buf, d); err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+inv.Number+`.pdf"`)
	_, _ = buf.WriteTo(w)
}

// handleStatementCSS serves the statement's stylesheet; the console's
// Content-Security-Policy allows no inline styles.
func (s *Server) handleStatementCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(statement.CSS))
}
