package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// Engine is what the console needs of the billing engine (*engine.Engine).
// The plan catalog and the idempotency keys are read through its store
// (DB), which the engine writes in the same database.
type Engine interface {
	Subscription(ctx context.Context, accountID int64) (*engine.Overview, error)
	UpcomingInvoice(ctx context.Context, accountID int64) (*engine.Upcoming, error)
	PreviewChange(ctx context.Context, accountID int64, req engine.ChangeRequest) (*engine.ChangeResult, error)
	ConfirmChange(ctx context.Context, accountID int64, req engine.ChangeRequest) (*engine.ChangeResult, error)
	Cancel(ctx context.Context, accountID int64) (*billing.Subscription, error)
	PreviewAddSubscriptions(ctx context.Context, accountID int64, n int64) (*engine.ChangeResult, error)
	AddSubscriptions(ctx context.Context, accountID int64, n int64) (*engine.ChangeResult, error)
	SetPreferences(ctx context.Context, accountID int64, prefs engine.Preferences) (*billing.Subscription, error)
	FindInvoices(ctx context.Context, accountID int64, limit, offset int) ([]*billing.Invoice, int, error)
	FindCredits(ctx context.Context, accountID int64, limit, offset int) ([]*engine.CreditTransaction, int, error)
	FindInvoiceByNumber(ctx context.Context, number string) (*billing.Invoice, error)
	History(ctx context.Context, accountID int64, q engine.HistoryQuery) (*engine.HistoryPage, error)
	WriteHistoryCSV(ctx context.Context, w io.Writer, accountID int64, q engine.HistoryQuery) error
	PaymentMethods(ctx context.Context, accountID int64) ([]*store.PaymentMethod, error)
	InvoicePaymentMethod(ctx context.Context, inv *billing.Invoice) (string, error)
	PayInvoice(ctx context.Context, invoiceID int64) (*engine.PaymentResult, error)
	DB() *store.DB
}

var _ Engine = (*engine.Engine)(nil)

// registerBilling adds the pages of the subscription, Billing History and
// statements: every change is a GET that shows its preview and a POST that
// confirms it.
func (s *Server) registerBilling(mux *http.ServeMux) {
	s.mux = mux
	// Online: modify, purchase from Free, cancel.
	mux.Handle("GET /accounts/{number}/subscription/change", s.page(s.handleChangeForm))
	mux.Handle("GET /accounts/{number}/subscription/preview", s.page(s.handleChangePreview))
	mux.Handle("POST /accounts/{number}/subscription/confirm", s.page(s.handleChangeConfirm))
	mux.Handle("GET /accounts/{number}/subscription/cancel", s.page(s.handleCancelForm))
	mux.Handle("POST /accounts/{number}/subscription/cancel", s.page(s.handleCancel))
	// Fixed Subscriptions: add subscriptions, preferences.
	mux.Handle("GET /accounts/{number}/subscriptions/add", s.page(s.handleAddForm))
	mux.Handle("POST /accounts/{number}/subscriptions/add", s.page(s.handleAdd))
	mux.Handle("POST /accounts/{number}/preferences", s.page(s.handlePreferences))
	// Billing History as CSV, and statements.
	mux.Handle("GET /accounts/{number}/history.csv", s.page(s.handleHistoryCSV))
	mux.Handle("GET /accounts/{number}/invoices/{invoice}", s.page(s.handleStatement))
	mux.Handle("GET /accounts/{number}/invoices/{invoice}/pdf", s.page(s.handleStatementPDF))
	mux.Handle("POST /accounts/{number}/invoices/{invoice}/pay", s.page(s.handlePayInvoice))
	mux.HandleFunc("GET /static/statement.css", s.handleStatementCSS)
}

func init() {
	funcs["day"] = formatDay
	funcs["lastDay"] = func(d billing.Date) string { return formatDay(d.AddDays(-1)) }
	funcs["dayISO"] = func(d billing.Date) string { return d.String() }
	funcs["period"] = formatPeriod
	funcs["intervalLabel"] = intervalLabel
	funcs["perInterval"] = perInterval
	funcs["terms"] = termsSentence
	funcs["plural"] = pluralize
	funcs["neg"] = func(m billing.Money) billing.Money { return m.Neg() }
	funcs["isNeg"] = func(m billing.Money) bool { return m.Amount < 0 }
	funcs["expectedTotal"] = previewTotal
	funcs["chargeType"] = chargeTypeLabel
	funcs["cardBrand"] = cardBrand
	funcs["cardDigits"] = billing.CardNumberDigits
	funcs["payByInvoiceDays"] = func() int { return billing.OnlineInvoiceNetDays }
	funcs["maxInt"] = func(a, b int64) int64 { return max(a, b) }
	funcs["add64"] = func(a, b int64) int64 { return a + b }
	funcs["percent"] = func(bp int) string { return strconv.FormatFloat(float64(bp)/100, 'f', -1, 64) + "%" }
}

// formatDay writes a calendar day as people read it: "Dec 25, 2026". A
// billing.Date is already the account's local day.
func formatDay(d billing.Date) string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format("Jan 2, 2006")
}

// formatPeriod writes the days of [start, end) with the last day included:
// "Nov 25, 2026 – Dec 24, 2026".
func formatPeriod(p billing.Period) string {
	if p.IsZero() {
		return ""
	}
	return formatDay(p.Start) + " – " + formatDay(p.End.AddDays(-1))
}

func intervalLabel(i billing.Interval) string {
	if i == billing.Year {
		return "Annually"
	}
	return "Monthly"
}

// perInterval is "per user per month" or "per user per year".
func perInterval(i billing.Interval) string {
	if i == billing.Year {
		return "per user per year"
	}
	return "per user per month"
}

// termsSentence says what terms buy: "Premium, billed monthly, 5 users".
func termsSentence(t billing.Terms) string {
	return t.Plan.Name + ", billed " + strings.ToLower(intervalLabel(t.Interval)) + ", " + pluralize(t.Seats, "user")
}

func pluralize(n int64, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + one + "s"
}

// manageable loads the account for a person who may change it; a viewer
// (or an operator page's reader) is refused with 403 and nothing changes.
func (s *Server) manageable(w http.ResponseWriter, r *http.Request) (*billing.Account, bool) {
	a, ok := s.account(w, r)
	if !ok {
		return nil, false
	}
	if !billing.ActorFromContext(r.Context()).CanManage(a.ID) {
		s.forbidden(w, r, "Your role lets you read this account's subscription and billing, not change them. Nothing was changed.")
		return nil, false
	}
	return a, true
}

// routeExists reports whether the console or the API has a route for a GET
// of path other than the catch-all "not found" of /accounts/: the Change
// Payment Method link appears once its page is there.
func (s *Server) routeExists(path string) bool {
	if s.mux == nil {
		return false
	}
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return false
	}
	_, pattern := s.mux.Handler(req)
	return pattern != "" && pattern != "/accounts/" && pattern != "/"
}

// paymentMethodPath is the page where an admin changes the card, built by
// the payments work; the summary links to it when it exists.
func paymentMethodPath(a *billing.Account) string { return "/accounts/" + a.Number + "/payment-method" }

// planOption is a paid plan of the catalog with its prices in the
// account's currency.
type planOption struct {
	Code, Name, Description string
	Features                []string
	Month, Year             *billing.Money // nil when not offered in the currency
}

// PerMonthOfYear is the annual price as a monthly figure, rounded as the
// engine rounds (half away from zero, to the minor unit).
func (p planOption) PerMonthOfYear() billing.Money {
	if p.Year == nil {
		return billing.Money{}
	}
	return perMonth(*p.Year, billing.Year)
}

// perMonth is a per-period unit price as a per-month figure: the annual
// price ÷ 12, rounded once, half away from zero to the minor unit, exactly
// as the engine rounds an invoice line (billing.DivRound): $200.00 a year is
// $16.67 a month.
func perMonth(unit billing.Money, interval billing.Interval) billing.Money {
	if interval == billing.Year {
		return billing.NewMoney(billing.DivRound(unit.Amount, 12), unit.Currency)
	}
	return unit
}

// paidPlans lists the catalog's paid plans offered in the currency.
func (s *Server) paidPlans(ctx context.Context, currency string) ([]planOption, error) {
	plans, err := s.Engine.DB().FindPlans(ctx)
	if err != nil {
		return nil, err
	}
	var out []planOption
	for _, p := range plans {
		if p.Current == nil || p.Current.IsFree() {
			continue
		}
		o := planOption{Code: p.Code, Name: p.Name, Description: p.Description, Features: p.Current.Features}
		if m, err := p.Current.PriceFor(billing.Month, currency); err == nil {
			o.Month = &m
		}
		if y, err := p.Current.PriceFor(billing.Year, currency); err == nil {
			o.Year = &y
		}
		if o.Month != nil || o.Year != nil {
			out = append(out, o)
		}
	}
	return out, nil
}

// changeForm is the Modify Subscription / Purchase Subscription form as
// the person sent it.
type changeForm struct {
	Plan     string // a plan code
	Interval string // month | year
	Users    string // all | admin: buying from Free
	Seats    string // as typed: modifying a paid plan
}

var changeFieldOrder = []string{"plan", "interval", "users", "seats"}

func changeFormFrom(r *http.Request) changeForm {
	return changeForm{Plan: r.FormValue("plan"), Interval: r.FormValue("interval"),
		Users: r.FormValue("users"), Seats: strings.TrimSpace(r.FormValue("seats"))}
}

// request is the engine's request for the form, or the form's errors.
func (f changeForm) request(purchase bool) (engine.ChangeRequest, map[string]string) {
	errs := map[string]string{}
	req := engine.ChangeRequest{Plan: f.Plan, Interval: billing.Interval(f.Interval)}
	if f.Plan == "" {
		errs["plan"] = "Choose a plan."
	}
	if !req.Interval.Valid() {
		errs["interval"] = "Choose monthly or annual billing."
	}
	if purchase {
		switch f.Users {
		case engine.UsersAll, engine.UsersAdmin:
			req.Users = f.Users
		default:
			errs["users"] = "Choose all current users or just your admin account."
		}
	} else {
		n, err := strconv.ParseInt(f.Seats, 10, 64)
		switch {
		case f.Seats == "":
			errs["seats"] = "Enter the number of users."
		case err != nil || n < 1:
			errs["seats"] = "Enter a whole number of users, 1 or more."
		case n > 1_000_000:
			errs["seats"] = "Enter at most 1,000,000 users."
		default:
			req.Seats = n
		}
	}
	return req, errs
}

// query is the form as the address of its preview.
func (f changeForm) query() string {
	v := url.Values{}
	for k, val := range map[string]string{"plan": f.Plan, "interval": f.Interval, "users": f.Users, "seats": f.Seats} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v.Encode()
}

// changePage is the data of the Modify / Purchase Subscription form.
type changePage struct {
	Form     changeForm
	Errors   map[string]string
	Order    []string
	Purchase bool // from Free: "All current users" or "Just your admin account"
	Ov       *engine.Overview
	Plans    []planOption
	// Amount is the preview of the form as it is, when it is complete: the
	// page shows what would be charged without a round trip (and htmx
	// refreshes it as the choices change).
	Amount *engine.ChangeResult
	Pay    payment // how the paid plan is paid
}

// payment says how a paid plan of an online account is paid: by the
// default payment method, by invoice (an operator's setting), or — with
// neither — by a card the person adds on the preview, in the same flow,
// before confirming (the engine refuses a paid plan with no way to pay:
// payment_method_required).
type payment struct {
	Default   *store.PaymentMethod
	ByInvoice bool
	NeedsCard bool
	Tokenizer bool // the gateway takes the card's details (the test gateway)
	NetDays   int  // by invoice: due this many days after issue
}

// paymentFor reads how the account pays.
func (s *Server) paymentFor(ctx context.Context, a *billing.Account) (payment, error) {
	p := payment{ByInvoice: a.PayByInvoice, NetDays: billing.OnlineInvoiceNetDays}
	methods, err := s.Engine.PaymentMethods(ctx, a.ID)
	if err != nil {
		return p, err
	}
	for _, m := range methods {
		if m.Default {
			p.Default = m
		}
	}
	if pe, ok := s.Engine.(paymentMethodEngine); ok {
		_, p.Tokenizer = pe.CardTokenizer()
		p.NeedsCard = p.Default == nil && !p.ByInvoice
	}
	return p, nil
}

// Summary is the form's error summary. Each item links to something that
// takes focus: a radio group's error to its chosen (or first) radio, whose
// group is marked invalid and described by the error; the form's own error
// to its message.
func (p changePage) Summary() []errorItem {
	items := errorSummary(p.Errors, p.Order)
	for i, it := range items {
		switch it.ID {
		case "plan":
			items[i].ID = "plan-" + p.chosenPlan()
		case "interval":
			items[i].ID = "interval-month"
			if p.Form.Interval == string(billing.Year) {
				items[i].ID = "interval-year"
			}
		case "users":
			items[i].ID = "users-all"
			if p.Form.Users == engine.UsersAdmin {
				items[i].ID = "users-admin"
			}
		case "form":
			items[i].ID = "form-error"
		}
	}
	return items
}

// chosenPlan is the code of the plan radio that is checked, or of the
// first one when none is.
func (p changePage) chosenPlan() string {
	for _, o := range p.Plans {
		if o.Code == p.Form.Plan {
			return o.Code
		}
	}
	if len(p.Plans) > 0 {
		return p.Plans[0].Code
	}
	return ""
}

func (p changePage) Title() string {
	if p.Purchase {
		return "Purchase Subscription"
	}
	return "Modify Subscription"
}

// defaultForm fills the form from the subscription: its plan, interval and
// seats, or for Free the plan the person chose and all current users.
func defaultForm(r *http.Request, ov *engine.Overview, purchase bool) changeForm {
	f := changeFormFrom(r)
	sub := ov.Subscription
	if f.Plan == "" {
		if purchase {
			f.Plan = engine.PlanPremium
		} else {
			f.Plan = sub.Plan.Code
		}
	}
	if f.Interval == "" {
		if purchase || sub.Interval == "" {
			f.Interval = string(billing.Month)
		} else {
			f.Interval = string(sub.Interval)
		}
	}
	if purchase && f.Users == "" {
		f.Users = engine.UsersAll
	}
	if !purchase && f.Seats == "" {
		seats := sub.Seats
		if sub.Scheduled != nil {
			seats = sub.Scheduled.Seats
		}
		f.Seats = strconv.FormatInt(seats, 10)
	}
	return f
}

// changeable loads the account and its subscription for an online change:
// a contract has its own page.
func (s *Server) changeable(w http.ResponseWriter, r *http.Request) (*billing.Account, *engine.Overview, bool) {
	a, ok := s.manageable(w, r)
	if !ok {
		return nil, nil, false
	}
	ov, err := s.Engine.Subscription(r.Context(), a.ID)
	if err != nil {
		s.error(w, r, err)
		return nil, nil, false
	}
	if a.BillingType == billing.BillingSubscription || ov.Subscription.Contract != nil {
		http.Redirect(w, r, "/accounts/"+a.Number+"/subscriptions/add", http.StatusSeeOther)
		return nil, nil, false
	}
	return a, ov, true
}

func (s *Server) handleChangeForm(w http.ResponseWriter, r *http.Request) {
	a, ov, ok := s.changeable(w, r)
	if !ok {
		return
	}
	purchase := !ov.Subscription.IsPaid()
	page := changePage{Form: defaultForm(r, ov, purchase), Errors: map[string]string{}, Order: changeFieldOrder,
		Purchase: purchase, Ov: ov}
	s.renderChangeForm(w, r, a, http.StatusOK, page)
}

func (s *Server) renderChangeForm(w http.ResponseWriter, r *http.Request, a *billing.Account, status int, page changePage) {
	ctx := r.Context()
	plans, err := s.paidPlans(ctx, a.Currency)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page.Plans = plans
	if page.Pay, err = s.paymentFor(ctx, a); err != nil {
		s.error(w, r, err)
		return
	}
	if len(page.Errors) == 0 {
		if req, errs := page.Form.request(page.Purchase); len(errs) == 0 {
			res, err := s.Engine.PreviewChange(ctx, a.ID, req)
			switch {
			case err == nil:
				page.Amount = res
			case isUserError(err):
				page.Errors = changeErrors(err, page.Purchase)
			default:
				s.error(w, r, err)
				return
			}
		}
	}
	s.render(w, r, status, "change", &view{Title: page.Title(), Section: "summary", Account: a, Data: page})
}

// isUserError reports whether err is the person's to fix (or a state to
// explain), not an internal error.
func isUserError(err error) bool {
	switch billing.ErrorCode(err) {
	case billing.EINVALID, billing.ESTATE, billing.ECONFLICT, billing.EPAYMENT:
		return true
	}
	return false
}

// changeErrors places an engine error beside its field: too few seats for
// the managed users beside the number of users (or, buying from Free,
// beside "who it covers"); anything else goes at the top of the form.
func changeErrors(err error, purchase bool) map[string]string {
	var be *billing.Error
	if errors.As(err, &be) && be.Reason == "seats_below_users" {
		if purchase {
			return map[string]string{"users": be.Message}
		}
		return map[string]string{"seats": be.Message}
	}
	errs := fieldErrors(err)
	if len(errs) == 0 {
		errs["form"] = billing.ErrorMessage(err)
	}
	return errs
}

// previewPage shows exactly what the engine's PreviewChange returns, and
// the form that confirms it.
type previewPage struct {
	Form changeForm
	// ChangeURL is the form with the person's choices, for "← Change your
	// choices" and "Back": a whole address, so that html/template keeps its
	// query as a query rather than escaping it as one value.
	ChangeURL string
	Purchase  bool
	Ov        *engine.Overview
	Result    *engine.ChangeResult
	// After are the terms once the change is in effect; AfterTotal their
	// price per period.
	After      billing.Terms
	AfterTotal billing.Money
	Token      string // the idempotency key of this confirmation
	Notice     string // why the preview is shown again
	// Pay is how it is paid; with no way to pay, the confirmation asks
	// for a card (Card, as typed but the CVC, and CardErrors beside it).
	Pay        payment
	Card       cardForm
	CardErrors map[string]string
}

// CardSummary is the card form's error summary, its items linked to the
// fields.
func (p previewPage) CardSummary() []errorItem {
	items := errorSummary(p.CardErrors, cardFieldOrder)
	for i := range items {
		if items[i].ID == "form" {
			items[i].ID = "card-form-error"
		}
	}
	return items
}

func (s *Server) handleChangePreview(w http.ResponseWriter, r *http.Request) {
	a, ov, ok := s.changeable(w, r)
	if !ok {
		return
	}
	purchase := !ov.Subscription.IsPaid()
	form := changeFormFrom(r)
	s.preview(w, r, a, ov, purchase, form, "")
}

// cardAgain is a card form that comes back on the preview, with its
// problems and the status to answer.
type cardAgain struct {
	form   cardForm
	errs   map[string]string
	status int
}

// preview shows the preview of form, or the form again with its problems;
// card, when given, is a card that was refused (or is still needed).
func (s *Server) preview(w http.ResponseWriter, r *http.Request, a *billing.Account, ov *engine.Overview, purchase bool, form changeForm, notice string, card ...cardAgain) {
	req, errs := form.request(purchase)
	if len(errs) > 0 {
		s.renderChangeForm(w, r, a, http.StatusUnprocessableEntity,
			changePage{Form: form, Errors: errs, Order: changeFieldOrder, Purchase: purchase, Ov: ov})
		return
	}
	res, err := s.Engine.PreviewChange(r.Context(), a.ID, req)
	if isUserError(err) {
		s.renderChangeForm(w, r, a, http.StatusUnprocessableEntity,
			changePage{Form: form, Errors: changeErrors(err, purchase), Order: changeFieldOrder, Purchase: purchase, Ov: ov})
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	page := previewPage{Form: form, ChangeURL: "/accounts/" + a.Number + "/subscription/change?" + form.query(), Purchase: purchase, Ov: ov, Result: res,
		After: res.Subscription.Terms, Token: randomToken(), Notice: notice, CardErrors: map[string]string{}}
	if page.Pay, err = s.paymentFor(r.Context(), a); err != nil {
		s.error(w, r, err)
		return
	}
	status := http.StatusOK
	if len(card) > 0 {
		page.Card, page.CardErrors, status = card[0].form, card[0].errs, card[0].status
	}
	if res.Subscription.Scheduled != nil && res.Timing == billing.EffectivePeriodEnd {
		page.After = *res.Subscription.Scheduled
	}
	page.AfterTotal, _ = page.After.PeriodAmount()
	title := "Review your change"
	if purchase {
		title = "Review your purchase"
	}
	s.render(w, r, status, "change_preview", &view{Title: title, Section: "summary", Account: a, Data: page})
}

func (s *Server) handleChangeConfirm(w http.ResponseWriter, r *http.Request) {
	a, ov, ok := s.changeable(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	purchase := r.PostFormValue("purchase") == "true"
	form := changeFormFrom(r)
	req, errs := form.request(purchase)
	if len(errs) > 0 {
		s.renderChangeForm(w, r, a, http.StatusUnprocessableEntity,
			changePage{Form: form, Errors: errs, Order: changeFieldOrder, Purchase: purchase, Ov: ov})
		return
	}
	// With no way to pay a paid plan, the preview asked for a card: it is
	// added (and becomes the default) in the same confirmation, before the
	// change, so that the change's invoice is charged to it at once.
	pay, err := s.paymentFor(ctx, a)
	if err != nil {
		s.error(w, r, err)
		return
	}
	card := cardFormFrom(r)
	var token string
	if pay.NeedsCard {
		pe, ok := s.methodsEngine(w, r)
		if !ok {
			return
		}
		var status int
		var errs map[string]string
		if token, status, errs = s.cardToken(r, pe, card); errs != nil {
			s.preview(w, r, a, ov, purchase, form, "", cardAgain{card, errs, status})
			return
		}
	}
	summary := "/accounts/" + a.Number + "/summary"
	res, err := s.once(ctx, a, "subscription.change", r.PostFormValue("idempotency_key"), form.query(), func(ctx context.Context) (onceResult, error) {
		// The amount confirmed is the amount previewed: when the account
		// changed in between (a user joined, a day passed), the new
		// preview is shown instead of charging something else.
		if want := r.PostFormValue("expected_total"); want != "" {
			p, err := s.Engine.PreviewChange(ctx, a.ID, req)
			if err != nil {
				return onceResult{}, err
			}
			if got := previewTotal(p); got != want {
				return onceResult{}, errPreviewChanged
			}
		}
		if token != "" {
			pe, _ := s.Engine.(paymentMethodEngine)
			if _, err := pe.AddCard(ctx, a.ID, engine.AddCardRequest{Token: token, Default: true}); err != nil {
				return onceResult{}, cardRefused{err}
			}
		}
		out, err := s.Engine.ConfirmChange(ctx, a.ID, req)
		if err != nil {
			return onceResult{}, err
		}
		return onceResult{Location: summary, Flash: s.changeMessage(ctx, out)}, nil
	})
	var refused cardRefused
	switch {
	case errors.Is(err, errPreviewChanged):
		s.preview(w, r, a, ov, purchase, form, "The amounts changed since you saw them. Please check them again.")
		return
	case errors.As(err, &refused) && isCardRefusal(refused.err):
		errs := cardErrors(refused.err)
		if reasonOf(refused.err) == "payment_method_exists" {
			errs = map[string]string{"card_number": "This card is on file already: choose it on Change Payment Method."}
		}
		s.preview(w, r, a, ov, purchase, form, "", cardAgain{card, errs, http.StatusUnprocessableEntity})
		return
	case errors.As(err, &refused):
		s.logger(r).ErrorContext(ctx, "add card", "account", a.Number, "err", refused.err)
		s.preview(w, r, a, ov, purchase, form, "", cardAgain{card, map[string]string{"form": "The payment gateway did not answer, or the card could not be saved, so nothing was changed. Please try again in a moment."}, http.StatusServiceUnavailable})
		return
	case reasonOf(err) == engine.ErrPaymentMethodRequired:
		// No card was typed (or the default was removed meanwhile).
		s.preview(w, r, a, ov, purchase, form, "", cardAgain{card, map[string]string{"card_number": billing.ErrorMessage(err)}, http.StatusUnprocessableEntity})
		return
	case isUserError(err) && billing.ErrorCode(err) != billing.ECONFLICT:
		s.renderChangeForm(w, r, a, http.StatusUnprocessableEntity,
			changePage{Form: form, Errors: changeErrors(err, purchase), Order: changeFieldOrder, Purchase: purchase, Ov: ov})
		return
	case err != nil:
		s.error(w, r, err)
		return
	}
	s.flash(r, res.Flash)
	http.Redirect(w, r, res.Location, http.StatusSeeOther)
}

// cardRefused is the gateway or the engine refusing the card added with a
// confirmation: nothing was changed.
type cardRefused struct{ err error }

func (c cardRefused) Error() string { return c.err.Error() }
func (c cardRefused) Unwrap() error { return c.err }

var errPreviewChanged = billing.Errorf(billing.ECONFLICT, "The amounts changed since the preview.")

// previewTotal is what a preview charges now, as the confirm form carries
// it: "0" when nothing is billed now.
func previewTotal(res *engine.ChangeResult) string {
	if res.Invoice == nil {
		return "0"
	}
	return strconv.FormatInt(res.Invoice.Total.Amount, 10)
}

// changeMessage is what the summary says after a change: what the
// subscription is now, and what became of its invoice (the engine charges
// the card at once, after the change commits). A charge that failed is
// not success: the whole message is then the problem (after flashSep),
// with what to do next, and the page shows it as one.
func (s *Server) changeMessage(ctx context.Context, res *engine.ChangeResult) string {
	sub := res.Subscription
	if res.Timing == billing.EffectivePeriodEnd && sub.Scheduled != nil {
		return "Your change is scheduled: from " + formatDay(res.EffectiveDate) + " you will be on " + termsSentence(*sub.Scheduled) + "."
	}
	msg := "Your subscription is now " + termsSentence(sub.Terms) + "."
	later := ""
	if sub.Scheduled != nil {
		later = " From " + formatDay(sub.Period.End) + ": " + termsSentence(*sub.Scheduled) + "."
	}
	if inv := res.Invoice; inv != nil {
		switch {
		case inv.Total.Amount > 0:
			now, err := s.Engine.FindInvoiceByNumber(ctx, inv.Number)
			switch {
			case err == nil && now.Status == billing.InvoicePaid:
				method, _ := s.Engine.InvoicePaymentMethod(ctx, now)
				msg += " " + inv.Total.String() + " was charged"
				if method != "" {
					msg += " to " + method
				}
				msg += " (" + inv.Number + ")."
			case err == nil && now.PaymentType == billing.InvoicePaymentACH && now.DueDate != nil:
				msg += " Invoice " + inv.Number + " for " + inv.Total.String() + " was issued: pay it by bank transfer by " +
					formatDay(*now.DueDate) + ", quoting its number."
			case err == nil:
				return flashSep + msg + " But " + s.chargeProblem(ctx, now) + later
			default:
				msg += " Invoice " + inv.Number + " for " + inv.Total.String() + " was issued."
			}
		case inv.Total.Amount < 0:
			msg += " " + inv.Total.Neg().String() + " was added to your credits balance (" + inv.Number + ")."
		default:
			msg += " Nothing was charged (" + inv.Number + ")."
		}
	}
	return msg + later
}

// chargeProblem says why an invoice the change issued is still open, and
// what to do: its last payment's outcome, then the way to pay it.
func (s *Server) chargeProblem(ctx context.Context, inv *billing.Invoice) string {
	what := "its payment has not gone through"
	if pe, ok := s.Engine.(interface {
		Payments(ctx context.Context, f store.PaymentFilter) ([]*store.Payment, int, error)
	}); ok {
		id := inv.ID
		if ps, _, err := pe.Payments(ctx, store.PaymentFilter{AccountID: inv.AccountID, InvoiceID: &id, Limit: 1}); err == nil && len(ps) > 0 {
			p := ps[0]
			switch {
			case p.Status == store.PaymentFailed:
				why := p.FailureMessage
				if why == "" {
					why = "The card was declined."
				}
				what = "the charge of " + p.Amount.String() + " to " + p.MethodLabel + " was declined: " + why
			case p.Status.InFlight():
				what = "the charge of " + p.Amount.String() + " to " + p.MethodLabel + " is still in progress; its outcome will show in Billing History"
			}
		}
	}
	if !strings.HasSuffix(what, ".") {
		what += "."
	}
	return what + " Invoice " + inv.Number + " for " + inv.AmountDue.String() + " is unpaid: add another card on Change Payment Method, " +
		"or pay the invoice there again. Until it is paid the card is tried again on the retry schedule, and an invoice that stays unpaid " +
		"suspends the account."
}

// onceResult is the answer to a confirmed change: where to go and what to
// say there. A second submission of the same form gets the same answer.
type onceResult struct {
	Location string `json:"location"`
	Flash    string `json:"flash"`
}

// onceTTL is how long a confirmation's key is remembered; onceLease how
// long a submission holds it while it runs: a submission whose process died
// is taken over after that long, unless it had changed something (the
// lease fences its transactions: see billing.IdempotencyLease).
const (
	onceTTL   = 24 * time.Hour
	onceLease = 2 * time.Minute
)

// once runs do at most once for a form's idempotency key, so that a double
// click, a reload of the confirmation or a retry after a timeout charges
// once: the "a double-submitted purchase charges once". The key is
// a random token put in the preview's form; the store's idempotency keys
// (one row per scope and key, under a primary key) make two concurrent
// submissions agree on a single winner, on any node. A change that fails
// changes nothing (the engine runs it in one transaction), so its key is
// released and the form may be sent again.
func (s *Server) once(ctx context.Context, a *billing.Account, action, key, params string, do func(ctx context.Context) (onceResult, error)) (onceResult, error) {
	if key == "" || len(key) > 100 {
		return onceResult{}, billing.Errorf(billing.EINVALID, "This form has no confirmation token. Go back, reload the page and try again.")
	}
	db := s.Engine.DB()
	scope := "console:" + a.Number
	sum := sha256.Sum256([]byte(action + "\n" + params))
	hash := hex.EncodeToString(sum[:])
	lease := billing.IdempotencyLease{Scope: scope, Key: key, Owner: randomToken()}
	prev, reserved, err := db.ReserveIdempotencyKey(ctx, lease, hash, onceTTL, onceLease)
	if err != nil {
		return onceResult{}, err
	}
	if !reserved {
		if prev.RequestHash != hash {
			return onceResult{}, billing.Errorf(billing.ECONFLICT, "This confirmation was already used for another change. Go back, reload the page and try again.")
		}
		// The first submission may still be running: wait for its answer.
		for i := 0; !prev.Done && i < 50; i++ {
			select {
			case <-ctx.Done():
				return onceResult{}, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if prev, err = db.FindIdempotencyKey(ctx, scope, key); billing.ErrorCode(err) == billing.ENOTFOUND {
				return onceResult{}, billing.Errorf(billing.ECONFLICT, "This change failed; go back, reload the page and try again.")
			} else if err != nil {
				return onceResult{}, err
			}
		}
		var res onceResult
		if !prev.Done || json.Unmarshal(prev.Body, &res) != nil {
			return onceResult{Location: "/accounts/" + a.Number + "/summary",
				Flash: "Your change is being made. Reload this page in a moment to see it."}, nil
		}
		return res, nil
	}
	res, err := do(billing.NewContextWithIdempotencyLease(ctx, lease))
	if err != nil {
		if rerr := db.ReleaseIdempotencyKey(context.WithoutCancel(ctx), lease); rerr != nil {
			s.log.WarnContext(ctx, "release idempotency key", "err", rerr)
		}
		return onceResult{}, err
	}
	body, _ := json.Marshal(res)
	if err := db.CompleteIdempotencyKey(context.WithoutCancel(ctx), lease, billing.IdempotentResponse{
		RequestHash: hash, Done: true, Status: http.StatusSeeOther, ContentType: "application/json", Body: body}); err != nil {
		s.log.WarnContext(ctx, "complete idempotency key", "err", err)
	}
	return res, nil
}

// cancelPage is the data of the Cancel Subscription page.
type cancelPage struct {
	Ov *engine.Overview
}

func (s *Server) handleCancelForm(w http.ResponseWriter, r *http.Request) {
	a, ov, ok := s.changeable(w, r)
	if !ok {
		return
	}
	if !ov.Subscription.IsPaid() {
		http.Redirect(w, r, "/accounts/"+a.Number+"/summary", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "cancel", &view{Title: "Cancel Subscription", Section: "summary", Account: a,
		Data: cancelPage{Ov: ov}})
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	a, _, ok := s.changeable(w, r)
	if !ok {
		return
	}
	// Cancelling twice changes nothing (the engine's Cancel is
	// idempotent), so a double submit needs no key.
	sub, err := s.Engine.Cancel(r.Context(), a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, "Your subscription is canceled. "+sub.Plan.Name+" is paid to "+formatDay(sub.Period.End.AddDays(-1))+
		"; from "+formatDay(sub.Period.End)+" the account is on the Free plan.")
	http.Redirect(w, r, "/accounts/"+a.Number+"/summary", http.StatusSeeOther)
}

// cardBrand names a card brand as people write it.
func cardBrand(b billing.CardBrand) string {
	switch b {
	case billing.CardVisa:
		return "Visa"
	case billing.CardMastercard:
		return "Mastercard"
	case billing.CardAmex:
		return "American Express"
	case billing.CardDiscover:
		return "Discover"
	}
	return humanize(string(b))
}
