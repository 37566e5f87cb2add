package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// The operator dashboard, the operator console's home: MRR and its
// movements, revenue invoiced and recognized, receivables by age — each
// drawn as a chart and given as a table whose figures link to the accounts
// behind them — and the reports as CSV. The definitions are the engine's
// (engine/report.go, docs/reports.md).

// Reports is what the dashboard needs of the engine (*engine.Engine).
type Reports interface {
	MRR(ctx context.Context, r engine.ReportRequest) (*engine.MRRReport, error)
	Revenue(ctx context.Context, r engine.ReportRequest) (*engine.RevenueReport, error)
	Receivables(ctx context.Context, r engine.ReportRequest) (*engine.ReceivablesReport, error)
	Collections(ctx context.Context, r engine.ReportRequest) (*engine.CollectionsReport, error)
}

var _ Reports = (*engine.Engine)(nil)

func (s *Server) reports() (Reports, bool) {
	r, ok := s.Engine.(Reports)
	return r, ok
}

func (s *Server) registerReports(mux *http.ServeMux) {
	mux.Handle("GET /dashboard", s.operator(s.handleDashboard))
	mux.Handle("GET /reports/{report}", s.operator(s.handleReportCSV))
}

// topAccounts is how many accounts the dashboard lists by revenue; the CSV
// has them all.
const topAccounts = 10

type dashboardPage struct {
	Currency    string
	MRR         *engine.MRRReport
	Revenue     *engine.RevenueReport
	Receivables *engine.ReceivablesReport
	Collections *engine.CollectionsReport
	Top         []engine.RevenueSeries
	Months      []string // the revenue report's months, as the charts label them

	MRRChart, MovementChart, RevenueChart, AgingChart, CollectedChart, FunnelChart template.HTML
}

// monthLabel turns "2026-05" into "May 26".
func monthLabel(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return m
	}
	return t.Format("Jan 06")
}

// tickFormat formats a tick in whole units of the currency when it is one.
func tickFormat(currency string) func(int64) string {
	return func(v int64) string {
		return strings.TrimSuffix(billing.NewMoney(v, currency).String(), ".00")
	}
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.reports()
	if !ok {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	req := engine.ReportRequest{Currency: "USD"}
	var d dashboardPage
	var err error
	if d.MRR, err = rep.MRR(ctx, req); err != nil {
		s.error(w, r, err)
		return
	}
	if d.Revenue, err = rep.Revenue(ctx, req); err != nil {
		s.error(w, r, err)
		return
	}
	if d.Receivables, err = rep.Receivables(ctx, req); err != nil {
		s.error(w, r, err)
		return
	}
	if d.Collections, err = rep.Collections(ctx, req); err != nil {
		s.error(w, r, err)
		return
	}
	d.Currency = d.MRR.Currency
	d.Top = d.Revenue.Accounts[:min(len(d.Revenue.Accounts), topAccounts)]
	format := tickFormat(d.Currency)

	var labels []string
	mrr := chartSeries{Name: "MRR", Class: "s-mrr"}
	moves := map[billing.Movement]*chartSeries{}
	var moveSeries []chartSeries
	for _, m := range billing.Movements {
		moveSeries = append(moveSeries, chartSeries{Name: movementLabel(m), Class: "s-" + string(m)})
	}
	for i := range moveSeries {
		moves[billing.Movements[i]] = &moveSeries[i]
	}
	for _, m := range d.MRR.Months {
		labels = append(labels, monthLabel(m.Month))
		mrr.Values = append(mrr.Values, m.MRR.Amount)
		for _, mv := range m.Movements {
			moves[mv.Movement].Values = append(moves[mv.Movement].Values, mv.Amount.Amount)
		}
	}
	d.MRRChart = barChart{ID: "mrr-chart", Title: "MRR at each month's end, last 12 months", Labels: labels,
		Series: []chartSeries{mrr}, Format: format}.SVG()
	d.MovementChart = barChart{ID: "movement-chart", Title: "MRR movements per month: new, expansion and reactivation above the line, contraction and churn below",
		Labels: labels, Series: moveSeries, Stacked: true, Format: format}.SVG()

	labels = nil
	invoiced := chartSeries{Name: "Invoiced", Class: "s-invoiced"}
	recognized := chartSeries{Name: "Recognized", Class: "s-recognized"}
	for _, m := range d.Revenue.Months {
		labels = append(labels, monthLabel(m.Month))
		d.Months = append(d.Months, monthLabel(m.Month))
		invoiced.Values = append(invoiced.Values, m.Invoiced.Amount-m.Credited.Amount)
		recognized.Values = append(recognized.Values, m.Recognized.Amount)
	}
	d.RevenueChart = barChart{ID: "revenue-chart", Title: "Invoiced less credits, and revenue recognized, per month",
		Labels: labels, Series: []chartSeries{invoiced, recognized}, Format: format}.SVG()

	labels = nil
	aging := chartSeries{Name: "Amount due", Class: "s-due"}
	for _, b := range d.Receivables.Buckets {
		labels = append(labels, agingLabel(b.Bucket))
		aging.Values = append(aging.Values, b.Amount.Amount)
	}
	d.AgingChart = barChart{ID: "aging-chart", Title: "Receivables by days past due", Labels: labels,
		Series: []chartSeries{aging}, Format: format}.SVG()

	labels = nil
	billed := chartSeries{Name: "Invoiced", Class: "s-invoiced"}
	collected := chartSeries{Name: "Collected", Class: "s-collected"}
	for _, m := range d.Collections.Months {
		labels = append(labels, monthLabel(m.Month))
		billed.Values = append(billed.Values, m.Invoiced.Amount)
		collected.Values = append(collected.Values, m.Collected.Amount)
	}
	d.CollectedChart = barChart{ID: "collected-chart", Title: "Invoiced and collected per month", Labels: labels,
		Series: []chartSeries{billed, collected}, Format: format}.SVG()
	labels = nil
	funnel := chartSeries{Name: "Invoices", Class: "s-funnel"}
	for _, st := range d.Collections.Dunning {
		labels = append(labels, dunningLabel(st.Stage))
		funnel.Values = append(funnel.Values, int64(st.Invoices))
	}
	d.FunnelChart = barChart{ID: "funnel-chart", Title: "Invoices whose card payment failed, and what became of them",
		Labels: labels, Series: []chartSeries{funnel}, Format: func(v int64) string { return strconv.FormatInt(v, 10) }}.SVG()

	s.render(w, r, http.StatusOK, "operator_dashboard", &view{Title: "Dashboard", Section: "dashboard", Data: d})
}

// handleReportCSV serves /reports/mrr.csv, revenue.csv and receivables.csv:
// the same layout as the API's.
func (s *Server) handleReportCSV(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.reports()
	if !ok {
		s.notFound(w, r)
		return
	}
	ctx, req := r.Context(), engine.ReportRequest{Currency: "USD"}
	var rows [][]string
	name := r.PathValue("report")
	switch name {
	case "mrr.csv":
		v, err := rep.MRR(ctx, req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		rows = v.Rows()
	case "revenue.csv":
		v, err := rep.Revenue(ctx, req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		rows = v.Rows()
	case "collections.csv":
		v, err := rep.Collections(ctx, req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		rows = v.Rows()
	case "receivables.csv":
		v, err := rep.Receivables(ctx, req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		rows = v.Rows()
	default:
		s.notFound(w, r)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll(rows); err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = buf.WriteTo(w)
}

func movementLabel(m billing.Movement) string {
	switch m {
	case billing.MovementNew:
		return "New"
	case billing.MovementExpansion:
		return "Expansion"
	case billing.MovementContraction:
		return "Contraction"
	case billing.MovementChurn:
		return "Churn"
	case billing.MovementReactivation:
		return "Reactivation"
	}
	return string(m)
}

func dunningLabel(stage string) string {
	switch stage {
	case engine.DunningFailed:
		return "Failed"
	case engine.DunningRecoveredRetry:
		return "Paid on a retry"
	case engine.DunningRecoveredCard:
		return "Paid by a new card"
	case engine.DunningRecoveredOther:
		return "Paid otherwise"
	case engine.DunningStillOpen:
		return "Still open"
	case engine.DunningSuspended:
		return "Suspended"
	case engine.DunningWrittenOff:
		return "Written off"
	}
	return stage
}

func agingLabel(b billing.AgingBucket) string {
	if b == billing.AgingCurrent {
		return "Current"
	}
	return string(b) + " days"
}

func init() {
	funcs["movementLabel"] = movementLabel
	funcs["agingLabel"] = agingLabel
	funcs["dunningLabel"] = dunningLabel
	funcs["monthLabel"] = monthLabel
}
