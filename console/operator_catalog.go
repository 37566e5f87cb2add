package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// The plan catalog: plans with their current version, a plan's versions,
// a new plan, and new prices as a new version. DESIGN: "A price change is
// a new version: existing subscriptions keep theirs until renewal."

type catalogPage struct {
	Plans  []*billing.Plan
	Form   planForm
	Errors map[string]string
	Order  []string

	// The signup credit of each currency, and the form that sets one.
	SignupCredits []store.SignupCredit
	Credit        signupCreditForm
	CreditErrors  map[string]string
	CreditOrder   []string
}

// signupCreditForm is "Signup credit": the amount new online accounts in
// a currency are granted once, at creation.
type signupCreditForm struct{ Currency, Amount string }

var signupCreditFieldOrder = []string{"credit_currency", "credit_amount"}

// planForm is "Create a plan": its first version has a monthly and an
// annual price in one currency.
type planForm struct {
	Code, Name, Description, Currency, Month, Year, Features string
}

var planFieldOrder = []string{"code", "name", "description", "currency", "price_month", "price_year", "features"}

func (s *Server) handleCatalog(w http.ResponseWriter, r *http.Request) {
	s.renderCatalog(w, r, http.StatusOK, catalogPage{Form: planForm{Currency: "USD"}})
}

func (s *Server) renderCatalog(w http.ResponseWriter, r *http.Request, status int, data catalogPage) {
	plans, err := s.Engine.DB().FindPlans(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Plans = plans
	if data.SignupCredits, err = s.ops().SignupCredits(r.Context()); err != nil {
		s.error(w, r, err)
		return
	}
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	if data.CreditErrors == nil {
		data.CreditErrors = map[string]string{}
	}
	if data.Credit.Currency == "" {
		data.Credit.Currency = "USD"
	}
	data.Order, data.CreditOrder = planFieldOrder, signupCreditFieldOrder
	s.render(w, r, status, "operator_catalog", &view{Title: "Plan catalog", Section: "catalog", Data: data})
}

// features reads one feature a line.
func features(raw string) []string {
	out := []string{}
	for _, line := range strings.Split(raw, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// handleSetSignupCredit sets the signup credit of a currency: each online
// account created from then on in it is granted the amount once, unless
// its creation names another.
func (s *Server) handleSetSignupCredit(w http.ResponseWriter, r *http.Request) {
	form := signupCreditForm{Currency: strings.ToUpper(strings.TrimSpace(r.PostFormValue("credit_currency"))),
		Amount: strings.TrimSpace(r.PostFormValue("credit_amount"))}
	errs := map[string]string{}
	if billing.ValidateCurrency(form.Currency) != nil {
		errs["credit_currency"] = "Enter an ISO 4217 code, as in USD."
	}
	var n int64
	if len(errs) == 0 {
		var msg string
		if n, msg = parseAmount(form.Amount, form.Currency, true); msg != "" {
			errs["credit_amount"] = msg
		}
	}
	if len(errs) == 0 {
		err := s.ops().SetSignupCredit(r.Context(), billing.NewMoney(n, form.Currency))
		if billing.ErrorCode(err) == billing.EINVALID {
			errs["credit_amount"] = billing.ErrorMessage(err)
		} else if err != nil {
			s.error(w, r, err)
			return
		}
	}
	if len(errs) > 0 {
		s.renderCatalog(w, r, http.StatusUnprocessableEntity, catalogPage{Form: planForm{Currency: "USD"}, Credit: form, CreditErrors: errs})
		return
	}
	s.flash(r, "New online accounts in "+form.Currency+" get a signup credit of "+billing.NewMoney(n, form.Currency).String()+".")
	http.Redirect(w, r, "/catalog#signup-credit", http.StatusSeeOther)
}

func (s *Server) handleCreatePlan(w http.ResponseWriter, r *http.Request) {
	v := r.PostFormValue
	form := planForm{Code: strings.TrimSpace(v("code")), Name: strings.TrimSpace(v("name")), Description: strings.TrimSpace(v("description")),
		Currency: strings.ToUpper(strings.TrimSpace(v("currency"))), Month: strings.TrimSpace(v("price_month")),
		Year: strings.TrimSpace(v("price_year")), Features: v("features")}
	errs := map[string]string{}
	var prices []billing.Price
	if err := billing.ValidateCurrency(form.Currency); err != nil {
		errs["currency"] = "Enter an ISO 4217 currency code, as in USD or EUR."
	} else {
		for _, p := range []struct {
			name, raw string
			interval  billing.Interval
		}{{"price_month", form.Month, billing.Month}, {"price_year", form.Year, billing.Year}} {
			if p.raw == "" {
				continue
			}
			n, msg := parseAmount(p.raw, form.Currency, true)
			if msg != "" {
				errs[p.name] = msg
				continue
			}
			prices = append(prices, billing.Price{Interval: p.interval, UnitPrice: billing.NewMoney(n, form.Currency)})
		}
		if form.Month == "" && form.Year == "" {
			errs["price_month"] = "Enter a monthly or an annual price per user, or both."
		}
	}
	plan := &billing.Plan{Code: form.Code, Name: form.Name, Description: form.Description}
	if err := plan.Validate(); err != nil {
		for k, m := range fieldErrors(err) {
			errs[k] = m
		}
	}
	if len(errs) > 0 {
		s.renderCatalog(w, r, http.StatusUnprocessableEntity, catalogPage{Form: form, Errors: errs})
		return
	}
	first := &billing.PlanVersion{Prices: prices, Features: features(form.Features)}
	err := s.Engine.DB().CreatePlan(r.Context(), plan, first)
	switch code := billing.ErrorCode(err); {
	case code == "":
		s.flash(r, "Plan "+plan.Name+" created, at version 1. New subscriptions can take it now.")
		http.Redirect(w, r, "/catalog/"+plan.Code, http.StatusSeeOther)
	case code == billing.ECONFLICT:
		errs["code"] = "A plan with the code " + plan.Code + " exists already."
		s.renderCatalog(w, r, http.StatusUnprocessableEntity, catalogPage{Form: form, Errors: errs})
	case code == billing.EINVALID:
		s.renderCatalog(w, r, http.StatusUnprocessableEntity, catalogPage{Form: form,
			Errors: userErrors(err, "features", map[string]string{"prices": "price_month", "prices.unit_price.amount": "price_month",
				"prices.unit_price.currency": "currency", "prices.interval": "price_month"})})
	default:
		s.error(w, r, err)
	}
}

// planPage is one plan: its versions, newest first, and "Change prices".
type planPage struct {
	Plan     *billing.Plan
	Versions []*billing.PlanVersion
	Form     versionForm
	Errors   map[string]string
	Order    []string
}

// versionForm is a new version: a row of prices per currency (the
// current version's, and one more to add a currency) and the features.
type versionForm struct {
	Rows     []priceRow
	Features string
}

type priceRow struct {
	I                     int
	Currency, Month, Year string
}

// maxPriceRows bounds the currencies one version form takes.
const maxPriceRows = 12

func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request) {
	p, ok := s.plan(w, r)
	if !ok {
		return
	}
	form := versionForm{}
	if p.Current != nil {
		form.Features = strings.Join(p.Current.Features, "\n")
		byCurrency := map[string]*priceRow{}
		for _, pr := range p.Current.Prices {
			row, ok := byCurrency[pr.UnitPrice.Currency]
			if !ok {
				form.Rows = append(form.Rows, priceRow{Currency: pr.UnitPrice.Currency})
				row = &form.Rows[len(form.Rows)-1]
				byCurrency[pr.UnitPrice.Currency] = row
			}
			if pr.Interval == billing.Year {
				row.Year = pr.UnitPrice.Decimal()
			} else {
				row.Month = pr.UnitPrice.Decimal()
			}
		}
	}
	form.Rows = append(form.Rows, priceRow{})
	for i := range form.Rows {
		form.Rows[i].I = i
	}
	s.renderPlan(w, r, http.StatusOK, p, planPage{Form: form})
}

// plan loads the plan the path names.
func (s *Server) plan(w http.ResponseWriter, r *http.Request) (*billing.Plan, bool) {
	p, err := s.Engine.DB().FindPlanByCode(r.Context(), r.PathValue("code"))
	if err != nil {
		s.error(w, r, err)
		return nil, false
	}
	return p, true
}

func (s *Server) renderPlan(w http.ResponseWriter, r *http.Request, status int, p *billing.Plan, data planPage) {
	versions, err := s.Engine.DB().FindPlanVersions(r.Context(), p.Code)
	if err != nil {
		s.error(w, r, err)
		return
	}
	slices.Reverse(versions)
	data.Plan, data.Versions = p, versions
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	for _, row := range data.Form.Rows {
		i := strconv.Itoa(row.I)
		data.Order = append(data.Order, "currency_"+i, "month_"+i, "year_"+i)
	}
	data.Order = append(data.Order, "features")
	s.render(w, r, status, "operator_plan", &view{Title: p.Name + " · Plan catalog", Section: "catalog", Data: data})
}

func (s *Server) handleCreatePlanVersion(w http.ResponseWriter, r *http.Request) {
	p, ok := s.plan(w, r)
	if !ok {
		return
	}
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	n = min(max(n, 1), maxPriceRows)
	form := versionForm{Features: r.PostFormValue("features")}
	errs := map[string]string{}
	var prices []billing.Price
	seen := map[string]bool{}
	for i := range n {
		k := strconv.Itoa(i)
		row := priceRow{I: i, Currency: strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency_" + k))),
			Month: strings.TrimSpace(r.PostFormValue("month_" + k)), Year: strings.TrimSpace(r.PostFormValue("year_" + k))}
		form.Rows = append(form.Rows, row)
		switch {
		case row.Currency == "" && row.Month == "" && row.Year == "":
			continue
		case row.Currency == "":
			errs["currency_"+k] = "Enter the currency of these prices, as in USD."
			continue
		case billing.ValidateCurrency(row.Currency) != nil:
			errs["currency_"+k] = "Enter an ISO 4217 currency code, as in USD or EUR."
			continue
		case seen[row.Currency]:
			errs["currency_"+k] = row.Currency + " has prices in another row already."
			continue
		case row.Month == "" && row.Year == "":
			errs["month_"+k] = "Enter a monthly or an annual price per user in " + row.Currency + ", or clear the currency."
			continue
		}
		seen[row.Currency] = true
		for _, f := range []struct {
			name, raw string
			interval  billing.Interval
		}{{"month_" + k, row.Month, billing.Month}, {"year_" + k, row.Year, billing.Year}} {
			if f.raw == "" {
				continue
			}
			amount, msg := parseAmount(f.raw, row.Currency, true)
			if msg != "" {
				errs[f.name] = msg
				continue
			}
			prices = append(prices, billing.Price{Interval: f.interval, UnitPrice: billing.NewMoney(amount, row.Currency)})
		}
	}
	if len(prices) == 0 && len(errs) == 0 {
		errs["month_0"] = "Enter at least one price."
	}
	if len(errs) > 0 {
		s.renderPlan(w, r, http.StatusUnprocessableEntity, p, planPage{Form: form, Errors: errs})
		return
	}
	v := &billing.PlanVersion{Prices: prices, Features: features(form.Features)}
	err := s.Engine.DB().CreatePlanVersion(r.Context(), p.Code, v)
	switch billing.ErrorCode(err) {
	case "":
		s.flash(r, "Version "+strconv.Itoa(v.Version)+" of "+p.Name+" is now current. New subscriptions get its prices now; "+
			"existing subscriptions keep their price until their renewal. Contracts keep their negotiated price.")
		http.Redirect(w, r, "/catalog/"+p.Code, http.StatusSeeOther)
	case billing.EINVALID:
		s.renderPlan(w, r, http.StatusUnprocessableEntity, p, planPage{Form: form,
			Errors: userErrors(err, "features", map[string]string{"prices": "month_0", "prices.unit_price.amount": "month_0",
				"prices.unit_price.currency": "currency_0", "prices.interval": "month_0"})})
	default:
		s.error(w, r, err)
	}
}
