package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/testclock"
	"github.com/kore-billing/korebill/webhook"
)

// The operator console: the pages only Kore's operators see (to anyone else
// they do not exist). One file per page group: operator_catalog.go (plans
// and versions), operator_tax.go, operator_contract.go, operator_invoices.go
// (bank transfers, refunds, credit notes, retries), operator_payments.go
// (failed payments, suspended accounts), operator_runs.go (billing runs),
// operator_webhooks.go (endpoints, deliveries, the email outbox) and
// operator_clocks.go (test clocks, in test mode only).

// Operations is what the operator pages need of the billing engine beyond
// Engine; *engine.Engine has both.
type Operations interface {
	CreateAccount(ctx context.Context, a *billing.Account) error
	CreateAccountOnClock(ctx context.Context, a *billing.Account, clockID int64) error
	CreateContract(ctx context.Context, accountID int64, req engine.ContractRequest) (*engine.ContractResult, error)
	RecordBankTransfer(ctx context.Context, invoiceID int64, t engine.BankTransfer) (*engine.PaymentResult, error)
	RefundInvoice(ctx context.Context, invoiceID int64, req engine.RefundRequest) (*engine.RefundResult, error)
	IssueCreditNote(ctx context.Context, invoiceID int64, req engine.CreditNoteRequest) (*billing.Invoice, error)
	Payments(ctx context.Context, f store.PaymentFilter) ([]*store.Payment, int, error)
	DueAccounts(ctx context.Context, limit int) ([]int64, error)
	BillAccount(ctx context.Context, accountID int64) (engine.BillResult, error)
	SetTaxRate(ctx context.Context, r *billing.TaxRate) error
	DeleteTaxRate(ctx context.Context, country string) error
	FindTaxRates(ctx context.Context) ([]*billing.TaxRate, error)
	Reconcile(ctx context.Context, opts engine.ReconcileOptions) (*engine.ReconcileReport, error)
	SetSignupCredit(ctx context.Context, amount billing.Money) error
	SignupCredits(ctx context.Context) ([]store.SignupCredit, error)
}

var _ Operations = (*engine.Engine)(nil)

// Webhooks is the webhook service as operators use it (*webhook.Service).
type Webhooks interface {
	Endpoints(ctx context.Context) ([]*webhook.Endpoint, error)
	CreateEndpoint(ctx context.Context, e *webhook.Endpoint) error
	Deliveries(ctx context.Context, f webhook.DeliveryFilter) ([]*webhook.Delivery, int, error)
	Delivery(ctx context.Context, id int64) (*webhook.Delivery, error)
	ReplayDelivery(ctx context.Context, id int64) (*webhook.Delivery, error)
}

var _ Webhooks = (*webhook.Service)(nil)

// Emails is the email outbox (*mail.Service).
type Emails interface {
	Emails(ctx context.Context, f mail.Filter) ([]*mail.Message, int, error)
	Email(ctx context.Context, id int64) (*mail.Message, error)
}

var _ Emails = (*mail.Service)(nil)

// Clocks advances test clocks, running what falls due (*testclock.Clocks):
// Start marks the clock advancing and leaves the work to a job.
type Clocks interface {
	Start(ctx context.Context, id int64, to time.Time) (*billing.TestClock, error)
}

var _ Clocks = (*testclock.Clocks)(nil)

// BillJobs lists the job queue's recent bill jobs, newest first.
type BillJobs interface {
	RecentBillJobs(ctx context.Context, limit int) ([]BillJob, error)
}

// BillingRuns starts billing runs as jobs and lists them with their
// progress (cmd/korebill: the job runner's run jobs).
type BillingRuns interface {
	// StartRun enqueues a run; dueAtStart is shown as its total.
	StartRun(ctx context.Context, dueAtStart int) (int64, error)
	// RecentRuns lists the latest runs, newest first.
	RecentRuns(ctx context.Context, limit int) ([]BillingRun, error)
}

// BillingRun is a billing run job and how far it got.
type BillingRun struct {
	ID         int64
	State      string // River's: available, running, completed, retryable, discarded…
	DueAtStart int
	// Due is the accounts the run took up so far; Billed and Failed of
	// them; the rest is what they did.
	Due, Billed, Failed, Invoices, Renewals, Payments, Credits int
	Seconds                                                    float64
	CreatedAt                                                  time.Time
	FinishedAt                                                 *time.Time
	LastError                                                  string
}

// Active reports whether the run is waiting or working.
func (r BillingRun) Active() bool {
	switch r.State {
	case "available", "pending", "running", "scheduled", "retryable":
		return true
	}
	return false
}

// Total is what the progress bar counts to: the accounts due when the run
// was asked for, or as many as it took up when more fell due meanwhile.
func (r BillingRun) Total() int { return max(r.DueAtStart, r.Due) }

// BillJob is one of the job queue's bill jobs, as the billing runs page
// shows it.
type BillJob struct {
	ID          int64
	AccountID   int64
	State       string // River's: scheduled, available, running, completed, retryable, discarded…
	Attempt     int
	ScheduledAt time.Time
	FinishedAt  *time.Time
	LastError   string
}

// ops is the engine's operator side; the engine the console is given
// always has it.
func (s *Server) ops() Operations {
	o, _ := s.Engine.(Operations)
	return o
}

func (s *Server) registerOperator(mux *http.ServeMux) {
	// The nav shows Test clocks only in test mode: each page's templates
	// ask this server.
	for _, t := range s.pages.sets {
		t.Funcs(template.FuncMap{"opTestMode": func() bool { return s.testMode }})
	}
	op := s.operator
	mux.Handle("GET /catalog", op(s.handleCatalog))
	mux.Handle("POST /catalog", op(s.handleCreatePlan))
	mux.Handle("POST /catalog/signup-credit", op(s.handleSetSignupCredit))
	mux.Handle("GET /catalog/{code}", op(s.handlePlan))
	mux.Handle("POST /catalog/{code}/versions", op(s.handleCreatePlanVersion))

	mux.Handle("GET /tax-rates", op(s.handleTaxRates))
	mux.Handle("POST /tax-rates", op(s.handleSetTaxRate))
	mux.Handle("POST /tax-rates/{country}/delete", op(s.handleDeleteTaxRate))

	mux.Handle("GET /accounts/{number}/contract", op(s.handleContract))
	mux.Handle("POST /accounts/{number}/contract", op(s.handleCreateContract))
	mux.Handle("POST /accounts/{number}/contract/preferences", op(s.handleContractPreferences))

	mux.Handle("GET /accounts/{number}/invoices", op(s.handleOperatorInvoices))
	mux.Handle("GET /accounts/{number}/invoices/{invoice}/manage", op(s.handleManageInvoice))
	mux.Handle("POST /accounts/{number}/invoices/{invoice}/bank-transfer", op(s.handleBankTransfer))
	mux.Handle("POST /accounts/{number}/invoices/{invoice}/refund", op(s.handleRefund))
	mux.Handle("POST /accounts/{number}/invoices/{invoice}/credit-note", op(s.handleCreditNote))
	mux.Handle("POST /accounts/{number}/invoices/{invoice}/retry", op(s.handleRetryPayment))

	mux.Handle("GET /payments", op(s.handleFailedPayments))
	mux.Handle("POST /payments/reconcile", op(s.handleReconcile))

	mux.Handle("GET /billing-runs", op(s.handleBillingRuns))
	mux.Handle("POST /billing-runs", op(s.handleRunBilling))

	mux.Handle("GET /webhooks", op(s.handleWebhooks))
	mux.Handle("POST /webhooks/endpoints", op(s.handleCreateEndpoint))
	mux.Handle("GET /webhooks/deliveries/{id}", op(s.handleDelivery))
	mux.Handle("POST /webhooks/deliveries/{id}/replay", op(s.handleReplayDelivery))
	mux.Handle("GET /emails", op(s.handleEmails))
	mux.Handle("GET /emails/{id}", op(s.handleEmail))

	clocks := func(h http.HandlerFunc) http.Handler {
		return op(func(w http.ResponseWriter, r *http.Request) {
			if !s.testMode {
				s.notFound(w, r) // test clocks exist only in test mode
				return
			}
			h(w, r)
		})
	}
	mux.Handle("GET /test-clocks", clocks(s.handleTestClocks))
	mux.Handle("POST /test-clocks", clocks(s.handleCreateTestClock))
	mux.Handle("GET /test-clocks/{id}", clocks(s.handleTestClock))
	mux.Handle("POST /test-clocks/{id}/advance", clocks(s.handleAdvanceTestClock))
	mux.Handle("POST /test-clocks/{id}/accounts", clocks(s.handleTestClockAccount))
}

func init() {
	funcs["opTestMode"] = func() bool { return false } // per server: registerOperator
	funcs["opRate"] = billing.FormatBasisPoints
	funcs["opJSON"] = func(raw json.RawMessage) string { return prettyJSON(raw) }
	funcs["opDecimal"] = func(m billing.Money) string { return m.Decimal() }
	funcs["opUTC"] = func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("Jan 2, 2006 15:04 UTC")
	}
	funcs["opUTCp"] = func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format("Jan 2, 2006 15:04 UTC")
	}
	funcs["opDay"] = func(d *billing.Date) string {
		if d == nil {
			return ""
		}
		return formatDay(*d)
	}
	funcs["opPlural"] = func(n int, one string) string { return pluralize(int64(n), one) }
	funcs["opList"] = func(s ...string) []string { return s }
	// opExtra is an attempt's error when it says more than its status code.
	funcs["opExtra"] = func(code int, msg string) string {
		if msg == fmt.Sprintf("HTTP %d", code) {
			return ""
		}
		return msg
	}
	funcs["opDict"] = func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	}
}

// accountsByID loads accounts once each, for lists that name them.
type accountsByID struct {
	s    *Server
	seen map[int64]*billing.Account
}

func (s *Server) accountCache() *accountsByID {
	return &accountsByID{s: s, seen: map[int64]*billing.Account{}}
}

func (c *accountsByID) get(ctx context.Context, id int64) (*billing.Account, error) {
	if a, ok := c.seen[id]; ok {
		return a, nil
	}
	a, err := c.s.Accounts.FindAccountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c.seen[id] = a
	return a, nil
}

// parseAmount reads an amount of currency as people type it ("1,250.50",
// "$20", "20.5") into minor units. zero allows 0 (a free plan's price).
// The message is "" when raw is good.
func parseAmount(raw, currency string, zero bool) (int64, string) {
	digits, err := billing.MinorUnits(currency)
	if err != nil {
		return 0, "Choose a currency first."
	}
	s := strings.TrimSpace(raw)
	s = strings.TrimLeft(s, "$€£¥ ")
	s = strings.TrimPrefix(s, currency)
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	example := "1250"
	if digits > 0 {
		example = "1250." + strings.Repeat("0", digits)
	}
	if s == "" {
		return 0, "Enter an amount, as in " + example + "."
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, "Enter an amount in figures, as in " + example + "."
			}
		}
	}
	if len(frac) > digits {
		if digits == 0 {
			return 0, currency + " has no minor unit: enter a whole amount."
		}
		return 0, "Enter at most " + strconv.Itoa(digits) + " decimal places."
	}
	if len(strings.TrimLeft(whole, "0")) > 12 {
		return 0, "That amount is too large."
	}
	n, _ := strconv.ParseInt(whole+frac+strings.Repeat("0", digits-len(frac)), 10, 64)
	if n == 0 && !zero {
		return 0, "Enter an amount more than zero."
	}
	return n, ""
}

// parseRate reads a tax rate in percent with at most two decimals ("8.25",
// "20%") into basis points.
func parseRate(raw string) (int, string) {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(raw), "%"))
	if s == "" {
		return 0, "Enter the rate in percent, as in 8.25."
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, "Enter the rate in percent as a number, as in 8.25."
			}
		}
	}
	if len(frac) > 2 {
		return 0, "Enter at most two decimal places, as in 8.25."
	}
	if len(whole) > 3 {
		return 0, "A tax rate must be between 0% and 100%."
	}
	w, _ := strconv.Atoi(whole)
	f, _ := strconv.Atoi(frac + strings.Repeat("0", 2-len(frac)))
	bp := w*100 + f
	if bp > billing.MaxTaxBasisPoints {
		return 0, "A tax rate must be between 0% and 100%."
	}
	return bp, ""
}

// parseDay reads a date field (YYYY-MM-DD, as a date input sends it).
func parseDay(raw string) (billing.Date, bool) {
	d, err := billing.ParseDate(strings.TrimSpace(raw))
	return d, err == nil && d.Valid()
}

// userErrors places an engine error's fields in errs under the form's names
// (rename maps the engine's field names to the form's); an error without
// fields goes to fallback.
func userErrors(err error, fallback string, rename map[string]string) map[string]string {
	errs := map[string]string{}
	for name, msg := range fieldErrors(err) {
		if to, ok := rename[name]; ok {
			name = to
		}
		if prev, ok := errs[name]; ok {
			msg = prev + " " + msg
		}
		errs[name] = msg
	}
	if len(errs) == 0 {
		errs[fallback] = billing.ErrorMessage(err)
	}
	return errs
}
