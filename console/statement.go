package console

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/statement"
)

// Statements: each invoice as a page and as a PDF, both from the statement
// package so that what a person reads is what they download. Another
// tenant's invoice is "not found", exactly as one that does not exist.

// statementPage is the statement page's data.
type statementPage struct {
	Invoice *billing.Invoice
	HTML    template.HTML // statement.HTML's fragment
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
	var buf bytes.Buffer
	if err := statement.HTML(&buf, statement.New(inv, a, statement.Options{})); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "statement", &view{Title: inv.Number, Section: "history", Account: a,
		Data: statementPage{Invoice: inv, HTML: template.HTML(buf.String())}}) // statement.HTML escapes what it writes
}

func (s *Server) handleStatementPDF(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.invoice(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := statement.PDF(&buf, statement.New(inv, a, statement.Options{})); err != nil {
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
