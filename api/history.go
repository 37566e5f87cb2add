package api

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// HistoryEntry is one row of the Billing History.
type HistoryEntry struct {
	Date       string    `json:"date" format:"date" doc:"In the account's time zone."`
	At         time.Time `json:"at"`
	Type       string    `json:"type" enum:"invoice,payment,refund,credit,credit_note"`
	ID         int64     `json:"id" doc:"The row's id among its type's (an invoice id, a payment id…)."`
	Summary    string    `json:"summary" example:"Invoice INV-2026-000012 — Premium, 3 users"`
	Statement  string    `json:"statement,omitempty" example:"INV-2026-000012" doc:"The invoice or credit note to link to."`
	PDF        string    `json:"pdf,omitempty" example:"/v1/accounts/KB-000001/invoices/INV-2026-000012/statement.pdf" doc:"The statement's PDF, on every invoice and credit note row."`
	ChargeType string    `json:"charge_type" enum:"card,ach_eft,credit_redeem,refund,credit_note,signup_credit,inactivity_credit,credit_adjustment" doc:"How an invoice was paid, a payment's method, or what a credit is."`
	Status     string    `json:"status,omitempty" enum:"paid,open,failed,void,issued,succeeded,refunded" doc:"An invoice's paid, open, failed (its last payment attempt failed) or void; a credit note's issued; a payment's or refund's. Absent on a credit."`
	Amount     Amount    `json:"amount" doc:"Signed: what the row adds to (an invoice at its total, a refund) or takes from (a payment, a refund's credit note) what the account owes; the amounts of all rows sum to what it owes. Zero on a credit row and on a credit note to the credit balance."`
	Credit     Amount    `json:"credit" doc:"How the row moved the credit balance: the credits an invoice applied (negative), a credit granted or a credit note to the balance (positive); zero otherwise."`
	// CreditBalanceAfter moves only on rows whose credit is not zero.
	CreditBalanceAfter Amount `json:"credit_balance_after" doc:"The credit balance after the row; it moves only on rows with a credit."`
}

type historyInput struct {
	AccountParam
	From   string `query:"from" format:"date" example:"2026-01-01" doc:"First day, in the account's time zone."`
	To     string `query:"to" format:"date" example:"2026-12-31" doc:"Last day, included."`
	Type   string `query:"type" maxLength:"100" example:"invoice,payment" doc:"Comma-separated types: invoice, payment, refund, credit, credit_note."`
	Cursor string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type historyOutput struct {
	Body struct {
		Items      []HistoryEntry `json:"items"`
		NextCursor string         `json:"next_cursor,omitempty" doc:"Absent on the last page."`
	}
}

type historyCSVInput struct {
	AccountParam
	From string `query:"from" format:"date"`
	To   string `query:"to" format:"date"`
	Type string `query:"type" maxLength:"100"`
}

type historyCSVOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func historyQuery(from, to, types string) (engine.HistoryQuery, error) {
	var q engine.HistoryQuery
	var v billing.Validation
	for _, f := range []struct {
		name, value string
		dst         **billing.Date
	}{{"from", from, &q.From}, {"to", to, &q.To}} {
		if f.value == "" {
			continue
		}
		d, err := billing.ParseDate(f.value)
		if err != nil {
			v.Add(f.name, "A date, YYYY-MM-DD.")
			continue
		}
		*f.dst = &d
	}
	if types != "" {
		q.Types = []string{types}
	}
	return q, v.Err()
}

func toHistoryEntry(account string, e engine.HistoryEntry) HistoryEntry {
	out := HistoryEntry{Date: e.Date.String(), At: e.At, Type: string(e.Type), ID: e.ID, Summary: e.Summary,
		Statement: e.Statement, ChargeType: e.ChargeType, Status: e.Status, Amount: toAmount(e.Amount),
		Credit: toAmount(e.Credit), CreditBalanceAfter: toAmount(e.CreditBalanceAfter)}
	if e.Statement != "" && (e.Type == "invoice" || e.Type == "credit_note") {
		out.PDF = "/v1/accounts/" + account + "/invoices/" + e.Statement + "/statement.pdf"
	}
	return out
}

func (s *Server) registerHistory() {
	tags := []string{"Billing history"}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-billing-history", Method: http.MethodGet, Path: "/v1/accounts/{number}/history",
		Summary: "The billing history, oldest first", Tags: tags,
		Description: "The chronological list of invoices, payments, refunds, credits and credit notes: the day, what it was " +
			"(with the statement to link to), the charge type, the signed amount and the credit balance after it. Filter by " +
			"days and types; page with next_cursor (the order, by time, type and id, is stable).",
	}, func(ctx context.Context, in *historyInput) (*historyOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		q, err := historyQuery(in.From, in.To, in.Type)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		q.Cursor, q.Limit = in.Cursor, in.Limit
		page, err := s.Engine.History(ctx, a.ID, q)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &historyOutput{}
		out.Body.Items = make([]HistoryEntry, 0, len(page.Entries))
		for _, e := range page.Entries {
			out.Body.Items = append(out.Body.Items, toHistoryEntry(a.Number, e))
		}
		out.Body.NextCursor = page.NextCursor
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "export-billing-history", Method: http.MethodGet, Path: "/v1/accounts/{number}/history.csv",
		Summary: "Export the billing history as CSV", Tags: tags,
		Description: "The same rows as the history, with the same filters, all of them, oldest first, as CSV with a header " +
			"row — date, type, details, statement, charge_type, status, amount, credit, credit_balance, currency — the same " +
			"file as the console's Export CSV; amounts are decimals in the currency's unit (-25.00).",
		Responses: map[string]*huma.Response{
			"200": {Description: "The history", Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}}},
		},
	}, func(ctx context.Context, in *historyCSVInput) (*historyCSVOutput, error) {
		a, err := s.billingAccount(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		q, err := historyQuery(in.From, in.To, in.Type)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		var buf bytes.Buffer
		if err := s.Engine.WriteHistoryCSV(ctx, &buf, a.ID, q); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &historyCSVOutput{ContentType: "text/csv; charset=utf-8",
			ContentDisposition: `attachment; filename="` + engine.HistoryCSVFilename(a.Number) + `"`, Body: buf.Bytes()}, nil
	})
}
