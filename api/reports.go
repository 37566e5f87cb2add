package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// The operator's reports (docs/reports.md): MRR and its movements, revenue
// recognized and deferred, receivables by age; each as JSON and as CSV.

type reportInput struct {
	From     string `query:"from" pattern:"^[0-9]{4}-[0-9]{2}$" example:"2026-01" doc:"First month (UTC for MRR; service days for revenue). Default: 11 months before to."`
	To       string `query:"to" pattern:"^[0-9]{4}-[0-9]{2}$" example:"2026-12" doc:"Last month, included. Default: this month."`
	Account  string `query:"account" maxLength:"20" example:"KB-000001" doc:"One account's figures only."`
	Currency string `query:"currency" pattern:"^[A-Z]{3}$" default:"USD" doc:"Reports are per currency."`
}

type csvOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

var csvResponse = map[string]*huma.Response{
	"200": {Description: "CSV with a header row; amounts are decimals in the currency's unit.",
		Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}}},
}

func parseMonth(field, s string) (billing.YearMonth, error) {
	if s == "" {
		return billing.YearMonth{}, nil
	}
	t, err := time.Parse("2006-01", s)
	if err != nil {
		var v billing.Validation
		v.Add(field, "A month, YYYY-MM.")
		return billing.YearMonth{}, v.Err()
	}
	return billing.YearMonth{Year: t.Year(), Month: t.Month()}, nil
}

// reportRequest checks the operator role and turns the query into the
// engine's request.
func (s *Server) reportRequest(ctx context.Context, in *reportInput) (engine.ReportRequest, error) {
	var r engine.ReportRequest
	if err := s.engineReady(); err != nil {
		return r, err
	}
	if err := requireRole(ctx, billing.RoleOperator); err != nil {
		return r, err
	}
	var err error
	if r.From, err = parseMonth("from", in.From); err != nil {
		return r, err
	}
	if r.To, err = parseMonth("to", in.To); err != nil {
		return r, err
	}
	if r.From != (billing.YearMonth{}) && r.To != (billing.YearMonth{}) && r.To.Before(r.From) {
		var v billing.Validation
		v.Add("to", "The last month comes on or after the first.")
		return r, v.Err()
	}
	if in.Account != "" {
		a, err := s.account(ctx, in.Account, read)
		if err != nil {
			return r, err
		}
		r.AccountID = a.ID
	}
	r.Currency = in.Currency
	return r, nil
}

func csvBytes(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.WriteAll(rows)
	return buf.Bytes(), w.Error()
}

func csvFile(name string, rows [][]string) (*csvOutput, error) {
	b, err := csvBytes(rows)
	if err != nil {
		return nil, err
	}
	return &csvOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="` + name + `"`, Body: b}, nil
}

type reportOutput[T any] struct{ Body T }

func (s *Server) registerReports() {
	registerReport(s, "mrr", "Monthly recurring revenue and its movements",
		"MRR now and at each month's end (UTC), with the month's movements — new, expansion, contraction, churn, "+
			"reactivation — and the accounts behind each. An annual price counts as a twelfth, rounded once per subscription.",
		func(ctx context.Context, r engine.ReportRequest) (*engine.MRRReport, error) {
			return s.Engine.MRR(ctx, r)
		}, (*engine.MRRReport).Rows)
	registerReport(s, "revenue", "Revenue recognized and deferred",
		"Each month: invoiced, credited, recognized (every line by day over its service period, the rounding "+
			"remainder on the last day) and deferred at the month's end; recognized per plan and per account.",
		func(ctx context.Context, r engine.ReportRequest) (*engine.RevenueReport, error) {
			return s.Engine.Revenue(ctx, r)
		},
		(*engine.RevenueReport).Rows)
	registerReport(s, "receivables", "Receivables by age",
		"Every open invoice's amount due in its bucket: current, 1-30, 31-60, 61-90 or 90+ days past its due date.",
		func(ctx context.Context, r engine.ReportRequest) (*engine.ReceivablesReport, error) {
			return s.Engine.Receivables(ctx, r)
		}, (*engine.ReceivablesReport).Rows)
	registerReport(s, "collections", "Invoiced against collected, the dunning funnel and renewals due",
		"Per month: the totals of the invoices issued and the payments that succeeded, less refunds. What became of the "+
			"invoices whose card payment failed in the months: recovered by a retry, by a new card or otherwise, still "+
			"open, suspended or written off. The paid subscriptions renewing in the next 30 days, at their list price.",
		func(ctx context.Context, r engine.ReportRequest) (*engine.CollectionsReport, error) {
			return s.Engine.Collections(ctx, r)
		}, (*engine.CollectionsReport).Rows)
}

// registerReport registers a report at /v1/reports/{id} (JSON) and
// /v1/reports/{id}.csv.
func registerReport[T any](s *Server, id, summary, description string,
	get func(context.Context, engine.ReportRequest) (T, error), rows func(T) [][]string) {
	run := func(ctx context.Context, in *reportInput) (T, error) {
		var zero T
		r, err := s.reportRequest(ctx, in)
		if err != nil {
			return zero, s.problem(ctx, err)
		}
		v, err := get(ctx, r)
		if err != nil {
			return zero, s.problem(ctx, err)
		}
		return v, nil
	}
	tags := []string{"Reports"}
	huma.Register(s.api, huma.Operation{OperationID: "get-report-" + id, Method: http.MethodGet, Path: "/v1/reports/" + id,
		Summary: summary + " (operator)", Description: description, Tags: tags},
		func(ctx context.Context, in *reportInput) (*reportOutput[T], error) {
			v, err := run(ctx, in)
			if err != nil {
				return nil, err
			}
			return &reportOutput[T]{v}, nil
		})
	huma.Register(s.api, huma.Operation{OperationID: "export-report-" + id, Method: http.MethodGet,
		Path: "/v1/reports/" + id + ".csv", Summary: summary + ", as CSV (operator)", Description: description, Tags: tags,
		Responses: csvResponse},
		func(ctx context.Context, in *reportInput) (*csvOutput, error) {
			v, err := run(ctx, in)
			if err != nil {
				return nil, err
			}
			out, err := csvFile(id+".csv", rows(v))
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return out, nil
		})
}
