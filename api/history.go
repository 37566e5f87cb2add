package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// HistoryEntry is one row of the Billing History.
type HistoryEntry struct {
	Date               string    `json:"date" format:"date" doc:"In the account's time zone."`
	At                 time.Time `json:"at"`
	Type               string    `json:"type" enum:"invoice,payment,refund,credit,credit_note"`
	ID                 int64     `json:"id" doc:"The row's id among its type's (an invoice id, a payment id…)."`
	Summary            string    `json:"summary" example:"Invoice INV-2026-000012 — Premium, 3 users"`
	Statement          string    `json:"statement,omitempty" example:"INV-2026-000012" doc:"The invoice or credit note to link to."`
	ChargeType         string    `json:"charge_type" enum:"card,ach_eft,credit_redeem,refund"`
	Amount             Amount    `json:"amount" doc:"Signed: an invoice or refund adds to what is owed, a payment or credit note takes from it; a credit moves the credit balance (granted positive, used negative)."`
	CreditBalanceAfter Amount    `json:"credit_balance_after"`
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

// maxHistoryCSVRows bounds one export.
const maxHistoryCSVRows = 100000

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

func toHistoryEntry(e engine.HistoryEntry) HistoryEntry {
	return HistoryEntry{Date: e.Date.String(), At: e.At, Type: string(e.Type), ID: e.ID, Summary: e.Summary,
		Statement: e.Statement, ChargeType: e.ChargeType, Amount: toAmount(e.Amount),
		CreditBalanceAfter: toAmount(e.CreditBalanceAfter)}
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
			out.Body.Items = append(out.Body.Items, toHistoryEntry(e))
		}
		out.Body.NextCursor = page.NextCursor
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "export-billing-history", Method: http.MethodGet, Path: "/v1/accounts/{number}/history.csv",
		Summary: "Export the billing history as CSV", Tags: tags,
		Description: "The same rows as the history, with the same filters, all of them, as CSV with a header row; amounts " +
			"are decimals in the currency's unit (-25.00).",
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
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"date", "type", "summary", "statement", "charge_type", "amount", "currency", "credit_balance_after"})
		q.Limit = 1000
		for rows := 0; ; {
			page, err := s.Engine.History(ctx, a.ID, q)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			for _, e := range page.Entries {
				_ = w.Write([]string{e.Date.String(), string(e.Type), e.Summary, e.Statement, e.ChargeType, e.Amount.Decimal(),
					e.Amount.Currency, e.CreditBalanceAfter.Decimal()})
			}
			rows += len(page.Entries)
			if page.NextCursor == "" {
				break
			}
			if rows >= maxHistoryCSVRows {
				return nil, s.problem(ctx, billing.ReasonErrorf(billing.EINVALID, "export_too_large",
					"More than %s rows; export a shorter range of days.", strconv.Itoa(maxHistoryCSVRows)))
			}
			q.Cursor = page.NextCursor
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &historyCSVOutput{ContentType: "text/csv; charset=utf-8",
			ContentDisposition: `attachment; filename="` + a.Number + `-history.csv"`, Body: buf.Bytes()}, nil
	})
}
