package console

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// Billing History: DESIGN "the chronological list of invoices, payments,
// refunds, credits and credit notes: date, transaction details with a link
// to its statement, charge type, amount, credit balance after; filter by
// date and type, export as CSV." The rows are the engine's (History); the
// page shows them newest first, 25 to a page.

// historyTypes are the filter's choices: the engine's row types.
var historyTypes = []policyOption{
	{"", "All transactions"},
	{string(store.HistoryInvoice), "Invoices"},
	{string(store.HistoryPayment), "Payments"},
	{string(store.HistoryRefund), "Refunds"},
	{string(store.HistoryCredit), "Credits"},
	{string(store.HistoryCreditNote), "Credit notes"},
}

var chargeTypeLabels = map[string]string{
	string(billing.InvoicePaymentCard):   "Card",
	string(billing.InvoicePaymentACH):    "ACH / EFT",
	string(billing.InvoicePaymentCredit): "Credit redeem",
	string(billing.InvoicePaymentRefund): "Refund",
	engine.ChargeSignupCredit:            "Signup credit",
	engine.ChargeInactivityCredit:        "Inactivity credit",
	engine.ChargeCreditAdjustment:        "Credit adjustment",
	engine.ChargeCreditNote:              "Credit note",
}

func chargeTypeLabel(t string) string {
	if l, ok := chargeTypeLabels[t]; ok {
		return l
	}
	return humanize(t)
}

// historyRows returns the account's history that the filter keeps, newest
// first.
func (s *Server) historyRows(r *http.Request, a *billing.Account, f historyFilter) ([]engine.HistoryEntry, error) {
	q := f.query()
	q.Limit = 1000
	var rows []engine.HistoryEntry
	for {
		page, err := s.Engine.History(r.Context(), a.ID, q)
		if err != nil {
			return nil, err
		}
		rows = append(rows, page.Entries...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	slices.Reverse(rows)
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

// query is the engine's query for the filter.
func (f historyFilter) query() engine.HistoryQuery {
	var q engine.HistoryQuery
	if !f.from.IsZero() {
		q.From = &f.from
	}
	if !f.to.IsZero() {
		q.To = &f.to
	}
	if f.Type != "" {
		q.Types = []string{f.Type}
	}
	return q
}

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

// historyPage is the Billing History page's data.
type historyPage struct {
	Filter      historyFilter
	Errors      map[string]string
	Order       []string
	Types       []policyOption
	Rows        []engine.HistoryEntry
	Total       int
	First, Last int
	Prev, Next  int // page numbers, 0 for none
	Filtered    bool
	// Spend is what the account was invoiced and paid each month of the
	// last 12, as a chart and a table (nil without the reports).
	Spend *accountSpend
}

// accountSpend is the Billing History's chart of spend per month.
type accountSpend struct {
	Currency string
	Months   []engine.CollectionMonth
	Chart    template.HTML
}

// spend reads the account's last 12 months of invoiced and paid amounts,
// in its own currency and as of its own time.
func (s *Server) spend(r *http.Request, a *billing.Account) (*accountSpend, error) {
	rep, ok := s.reports()
	if !ok {
		return nil, nil
	}
	c, err := rep.Collections(r.Context(), engine.ReportRequest{AccountID: a.ID, Currency: a.Currency})
	if err != nil {
		return nil, err
	}
	sp := &accountSpend{Currency: c.Currency, Months: c.Months}
	billed := chartSeries{Name: "Invoiced", Class: "s-invoiced"}
	paid := chartSeries{Name: "Paid", Class: "s-collected"}
	var labels []string
	for _, m := range c.Months {
		labels = append(labels, monthLabel(m.Month))
		billed.Values = append(billed.Values, m.Invoiced.Amount)
		paid.Values = append(paid.Values, m.Collected.Amount)
	}
	sp.Chart = barChart{ID: "spend-chart", Title: "Invoiced and paid per month, last 12 months", Labels: labels,
		Series: []chartSeries{billed, paid}, Format: tickFormat(c.Currency)}.SVG()
	return sp, nil
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
		kept, err := s.historyRows(r, a, f)
		if err != nil {
			s.error(w, r, err)
			return
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
		if page.Spend, err = s.spend(r, a); err != nil {
			s.error(w, r, err)
			return
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
	var buf bytes.Buffer
	if err := s.Engine.WriteHistoryCSV(r.Context(), &buf, a.ID, f.query()); err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+engine.HistoryCSVFilename(a.Number)+`"`)
	_, _ = w.Write(buf.Bytes())
}
