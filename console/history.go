package console

import (
	"cmp"
	"encoding/csv"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Billing History: DESIGN "the chronological list of invoices, payments,
// refunds, credits and credit notes: date, transaction details with a link
// to its statement, charge type, amount, credit balance after; filter by
// date and type, export as CSV."
//
// Until the payments work's history lands, the list is built here from the
// invoices and the credit ledger: one row per invoice (and credit note), one
// per credit given that no invoice carries (signup, inactivity,
// adjustments). The credits an invoice applied or gave back are not rows of
// their own: they are in the invoice's amounts and in its Credits Balance,
// the balance just after it.

// historyRow is one line of Billing History.
type historyRow struct {
	Date       billing.Date // in the account's time zone
	at         time.Time
	seq        int64
	Type       string // the filter's value: subscription, change, overage, credit_note, credit
	Details    string
	Invoice    string // the statement's number, "" for a credit
	Status     billing.InvoiceStatus
	ChargeType string
	Amount     billing.Money
	Balance    billing.Money
}

// historyTypes are the filter's choices.
var historyTypes = []policyOption{
	{"", "All transactions"},
	{string(billing.InvoiceSubscription), "Subscription invoices"},
	{string(billing.InvoiceChange), "Changes"},
	{string(billing.InvoiceOverage), "Overage"},
	{string(billing.InvoiceCreditNote), "Credit notes"},
	{"credit", "Credits"},
}

var invoiceKindLabels = map[billing.InvoiceKind]string{
	billing.InvoiceSubscription: "Subscription",
	billing.InvoiceChange:       "Subscription change",
	billing.InvoiceOverage:      "Overage",
	billing.InvoiceCreditNote:   "Credit note",
}

var paymentTypeLabels = map[billing.InvoicePaymentType]string{
	billing.InvoicePaymentCard:   "Card",
	billing.InvoicePaymentACH:    "ACH / EFT",
	billing.InvoicePaymentCredit: "Credit redeem",
	billing.InvoicePaymentRefund: "Refund",
}

var creditReasonLabels = map[store.CreditReason]string{
	store.CreditSignup:       "Signup credit",
	store.CreditInactivity:   "Inactivity credit",
	store.CreditChangeCredit: "Unused time credited",
	store.CreditRefund:       "Credit note",
	store.CreditAdjustment:   "Credit adjustment",
	store.CreditApplied:      "Credits applied",
}

func paymentTypeLabel(t billing.InvoicePaymentType) string {
	if l, ok := paymentTypeLabels[t]; ok {
		return l
	}
	return humanize(string(t))
}

// historyRows returns the account's whole history, newest first.
func (s *Server) historyRows(r *http.Request, a *billing.Account) ([]historyRow, error) {
	ctx := r.Context()
	var invoices []*billing.Invoice
	for offset := 0; ; offset += 500 {
		page, total, err := s.Engine.FindInvoices(ctx, a.ID, 500, offset)
		if err != nil {
			return nil, err
		}
		invoices = append(invoices, page...)
		if len(page) == 0 || offset+len(page) >= total {
			break
		}
	}
	var credits []*store.CreditTransaction
	for offset := 0; ; offset += 500 {
		page, total, err := s.Engine.FindCredits(ctx, a.ID, 500, offset)
		if err != nil {
			return nil, err
		}
		credits = append(credits, page...)
		if len(page) == 0 || offset+len(page) >= total {
			break
		}
	}
	slices.SortFunc(credits, func(x, y *store.CreditTransaction) int { return cmp.Compare(x.ID, y.ID) })

	loc := a.Location()
	// The balance just after each invoice: that of its last credit movement.
	after := map[int64]billing.Money{}
	for _, ct := range credits {
		if ct.InvoiceID != nil {
			after[*ct.InvoiceID] = ct.BalanceAfter
		}
	}
	// balanceAt is the balance after the last movement made at or before t.
	balanceAt := func(t time.Time) billing.Money {
		b := billing.Zero(a.Currency)
		for _, ct := range credits {
			if ct.CreatedAt.After(t) {
				break
			}
			b = ct.BalanceAfter
		}
		return b
	}

	var rows []historyRow
	for _, inv := range invoices {
		if inv.Number == "" { // a draft voided before it was issued: never a statement
			continue
		}
		row := historyRow{Date: inv.IssueDate, at: inv.CreatedAt, seq: inv.ID, Type: string(inv.Kind),
			Invoice: inv.Number, Status: inv.Status, Amount: inv.Total, ChargeType: paymentTypeLabel(inv.PaymentType)}
		if inv.Kind == billing.InvoiceCreditNote {
			row.ChargeType = paymentTypeLabel(billing.InvoicePaymentRefund)
		}
		row.Details = invoiceKindLabels[inv.Kind] + " " + inv.Number
		if len(inv.Lines) > 0 {
			row.Details += ": " + inv.Lines[0].Description
			if n := len(inv.Lines) - 1; n > 0 {
				row.Details += " and " + pluralize(int64(n), "more line")
			}
		}
		if b, ok := after[inv.ID]; ok {
			row.Balance = b
		} else {
			row.Balance = balanceAt(inv.CreatedAt)
		}
		rows = append(rows, row)
	}
	for _, ct := range credits {
		if ct.InvoiceID != nil {
			continue
		}
		label, ok := creditReasonLabels[ct.Reason]
		if !ok {
			label = humanize(string(ct.Reason))
		}
		details := label
		if ct.Description != "" && ct.Description != label {
			details += ": " + ct.Description
		}
		rows = append(rows, historyRow{Date: billing.DateOf(ct.CreatedAt, loc), at: ct.CreatedAt, seq: ct.ID,
			Type: "credit", Details: details, ChargeType: "Credit", Amount: ct.Amount, Balance: ct.BalanceAfter})
	}
	slices.SortStableFunc(rows, func(x, y historyRow) int {
		if c := y.at.Compare(x.at); c != 0 {
			return c
		}
		return cmp.Compare(y.seq, x.seq)
	})
	return rows, nil
}

// historyFilter is the filter form.
type historyFilter struct {
	From, To string // "2026-01-31" as typed
	Type     string
	Page     int
	from, to billing.Date
}

const historyPageSize = 25

func historyFilterFrom(r *http.Request) (historyFilter, map[string]string) {
	q := r.URL.Query()
	f := historyFilter{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Type: q.Get("type")}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	f.Page = max(f.Page, 1)
	errs := map[string]string{}
	if f.From != "" {
		d, err := billing.ParseDate(f.From)
		if err != nil {
			errs["from"] = "Enter a date such as 2026-01-31."
		}
		f.from = d
	}
	if f.To != "" {
		d, err := billing.ParseDate(f.To)
		if err != nil {
			errs["to"] = "Enter a date such as 2026-01-31."
		}
		f.to = d
	}
	if !f.from.IsZero() && !f.to.IsZero() && f.to.Before(f.from) {
		errs["to"] = "The end date is before the start date."
	}
	if !slices.ContainsFunc(historyTypes, func(o policyOption) bool { return o.Value == f.Type }) {
		errs["type"] = "Choose a type from the list."
	}
	return f, errs
}

func (f historyFilter) keep(row historyRow) bool {
	if !f.from.IsZero() && row.Date.Before(f.from) {
		return false
	}
	if !f.to.IsZero() && row.Date.After(f.to) {
		return false
	}
	return f.Type == "" || row.Type == f.Type
}

// historyPage is the Billing History page's data.
type historyPage struct {
	Filter      historyFilter
	Errors      map[string]string
	Order       []string
	Types       []policyOption
	Rows        []historyRow
	Total       int
	First, Last int
	Prev, Next  int // page numbers, 0 for none
	Filtered    bool
}

// PageQuery is the address of another page of the same filter.
func (p historyPage) PageQuery(page int) template.URL {
	return query("from", p.Filter.From, "to", p.Filter.To, "type", p.Filter.Type, "page", page)
}

// handleHistory is Billing History.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	f, errs := historyFilterFrom(r)
	page := historyPage{Filter: f, Errors: errs, Order: []string{"from", "to", "type"}, Types: historyTypes,
		Filtered: f.From != "" || f.To != "" || f.Type != ""}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		rows, err := s.historyRows(r, a)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var kept []historyRow
		for _, row := range rows {
			if f.keep(row) {
				kept = append(kept, row)
			}
		}
		page.Total = len(kept)
		start := (f.Page - 1) * historyPageSize
		if start >= len(kept) && len(kept) > 0 {
			f.Page = (len(kept)-1)/historyPageSize + 1
			page.Filter.Page = f.Page
			start = (f.Page - 1) * historyPageSize
		}
		end := min(start+historyPageSize, len(kept))
		if start < end {
			page.Rows = kept[start:end]
			page.First, page.Last = start+1, end
		}
		if f.Page > 1 {
			page.Prev = f.Page - 1
		}
		if end < len(kept) {
			page.Next = f.Page + 1
		}
	}
	s.render(w, r, status, "history", &view{Title: "Billing History", Section: "history", Account: a, Data: page})
}

// handleHistoryCSV exports the filtered Billing History, newest first.
func (s *Server) handleHistoryCSV(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	f, errs := historyFilterFrom(r)
	if len(errs) > 0 {
		s.renderError(w, r, http.StatusUnprocessableEntity, "This export could not be made", "The filter is not right: correct it on the Billing History page, then export again.")
		return
	}
	rows, err := s.historyRows(r, a)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="billing-history-`+a.Number+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"date", "transaction", "details", "charge_type", "amount", "currency", "credits_balance", "status", "statement"})
	for _, row := range rows {
		if !f.keep(row) {
			continue
		}
		statement := ""
		if row.Invoice != "" {
			statement = "/accounts/" + a.Number + "/invoices/" + row.Invoice
		}
		_ = cw.Write([]string{row.Date.String(), csvText(row.Invoice), csvText(row.Details), csvText(row.ChargeType),
			row.Amount.Decimal(), row.Amount.Currency, row.Balance.Decimal(), string(row.Status), statement})
	}
	cw.Flush()
}

// csvText keeps a spreadsheet from reading a text cell as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
