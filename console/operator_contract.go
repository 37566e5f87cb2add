package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// An account's sales contract, as an operator enters it (Fixed
// Subscriptions): its terms, created once with a review step, and its
// preferences afterwards.

type contractPage struct {
	Ov     *engine.Overview
	Plans  []*billing.Plan // those with a version to sell
	Form   contractForm
	Errors map[string]string
	Order  []string
	Prefs  contractPrefs
}

// contractForm is the sales contract as typed.
type contractForm struct {
	Number, Plan, TermStart, TermEnd, Prepaid, UnitPrice, Interval, NetDays, Overage, OnEnd, OnJoin string
	AutoRenew, PayByInvoice                                                                         bool
}

// contractPrefs is the preferences form of a contract.
type contractPrefs struct {
	OnJoin, OnEnd string
	AutoRenew     bool
}

var contractFieldOrder = []string{"number", "plan", "term_start", "term_end", "prepaid", "unit_price", "interval",
	"net_days", "overage", "on_end", "on_join"}

// operatorAccount loads the account the path names for an operator page.
func (s *Server) operatorAccount(w http.ResponseWriter, r *http.Request) (*billing.Account, bool) {
	return s.account(w, r)
}

func (s *Server) handleContract(w http.ResponseWriter, r *http.Request) {
	a, ok := s.operatorAccount(w, r)
	if !ok {
		return
	}
	ov, err := s.Engine.Subscription(r.Context(), a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	form := contractForm{Plan: "enterprise", Interval: string(billing.Year), NetDays: "30", OnEnd: string(billing.EndConvertFree),
		OnJoin: string(billing.JoinLeaveFree), AutoRenew: true, PayByInvoice: true}
	if !ov.Today.IsZero() {
		form.TermStart = ov.Today.String()
		form.TermEnd = billing.FirstPeriod(ov.Today, billing.Year).End.String()
	}
	s.renderContract(w, r, http.StatusOK, a, ov, contractPage{Form: form})
}

func (s *Server) renderContract(w http.ResponseWriter, r *http.Request, status int, a *billing.Account, ov *engine.Overview, data contractPage) {
	if ov == nil {
		var err error
		if ov, err = s.Engine.Subscription(r.Context(), a.ID); err != nil {
			s.error(w, r, err)
			return
		}
	}
	data.Ov = ov
	if c := ov.Subscription.Contract; c != nil && data.Prefs == (contractPrefs{}) {
		data.Prefs = contractPrefs{OnJoin: string(ov.Subscription.OnJoin), OnEnd: string(c.OnEnd), AutoRenew: c.AutoRenew}
	}
	plans, err := s.Engine.DB().FindPlans(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, p := range plans {
		if p.Current != nil && !p.Current.IsFree() {
			data.Plans = append(data.Plans, p)
		}
	}
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	data.Order = contractFieldOrder
	s.render(w, r, status, "operator_contract", &view{Title: "Contract · " + a.Name, Section: "contract", Account: a, Data: data})
}

// parse reads the form into a request for the account, or the messages
// for its fields.
func (f contractForm) parse(a *billing.Account) (engine.ContractRequest, map[string]string) {
	errs := map[string]string{}
	req := engine.ContractRequest{Number: strings.TrimSpace(f.Number), PlanCode: f.Plan, Interval: billing.Interval(f.Interval),
		AutoRenew: f.AutoRenew, PayByInvoice: f.PayByInvoice, OnEnd: billing.EndPolicy(f.OnEnd), OnJoin: billing.JoinPolicy(f.OnJoin)}
	if req.Number == "" {
		errs["number"] = "Enter the contract number, as in C-2027-001."
	}
	if req.PlanCode == "" {
		errs["plan"] = "Choose a plan."
	}
	var ok bool
	if req.TermStart, ok = parseDay(f.TermStart); !ok {
		errs["term_start"] = "Enter the first day of the term."
	}
	if req.TermEnd, ok = parseDay(f.TermEnd); !ok {
		errs["term_end"] = "Enter the first day after the term."
	} else if _, bad := errs["term_start"]; !bad && req.Interval.Valid() {
		// The engine's rule, checked before the review: a term is a whole
		// number of periods (at most 120) from its start.
		p := billing.FirstPeriod(req.TermStart, req.Interval)
		for i := 0; i < 120 && p.End.Before(req.TermEnd); i++ {
			p = billing.NextPeriod(req.TermStart, p, req.Interval)
		}
		if !req.TermStart.Before(req.TermEnd) {
			errs["term_end"] = "The term must end after it starts."
		} else if p.End != req.TermEnd {
			errs["term_end"] = "Term end must end a whole " + string(req.Interval) +
				" period counted from the term start: " + formatDay(p.End) + " is the next that does."
		}
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(f.Prepaid), 10, 64); err != nil || n < 1 || n > 1_000_000 {
		errs["prepaid"] = "Enter the number of prepaid subscriptions, 1 or more."
	} else {
		req.Prepaid = n
	}
	if n, msg := parseAmount(f.UnitPrice, a.Currency, true); msg != "" {
		errs["unit_price"] = msg
	} else {
		req.UnitPrice = billing.NewMoney(n, a.Currency)
	}
	if strings.TrimSpace(f.Overage) == "" {
		req.OverageUnitPrice = billing.Zero(a.Currency)
	} else if n, msg := parseAmount(f.Overage, a.Currency, true); msg != "" {
		errs["overage"] = msg
	} else {
		req.OverageUnitPrice = billing.NewMoney(n, a.Currency)
	}
	if !req.Interval.Valid() {
		errs["interval"] = "Choose monthly or annual."
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f.NetDays)); err != nil || n < 0 || n > 365 {
		errs["net_days"] = "Enter the payment terms in days, 0 to 365."
	} else {
		req.NetDays = n
	}
	if !req.OnEnd.Valid() {
		errs["on_end"] = "Choose what happens when the contract ends."
	}
	if !req.OnJoin.Valid() {
		errs["on_join"] = "Choose what happens when a user joins and no subscription is free."
	}
	return req, errs
}

func contractFormOf(r *http.Request) contractForm {
	v := r.PostFormValue
	return contractForm{Number: strings.TrimSpace(v("number")), Plan: v("plan"), TermStart: v("term_start"), TermEnd: v("term_end"),
		Prepaid: strings.TrimSpace(v("prepaid")), UnitPrice: strings.TrimSpace(v("unit_price")), Interval: v("interval"),
		NetDays: strings.TrimSpace(v("net_days")), Overage: strings.TrimSpace(v("overage")), OnEnd: v("on_end"), OnJoin: v("on_join"),
		AutoRenew: v("auto_renew") == "1", PayByInvoice: v("pay_by_invoice") == "1"}
}

// fields are the form's values as hidden fields, for the review page.
func (f contractForm) fields() []hiddenField {
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	return []hiddenField{{"number", f.Number}, {"plan", f.Plan}, {"term_start", f.TermStart}, {"term_end", f.TermEnd},
		{"prepaid", f.Prepaid}, {"unit_price", f.UnitPrice}, {"interval", f.Interval}, {"net_days", f.NetDays},
		{"overage", f.Overage}, {"on_end", f.OnEnd}, {"on_join", f.OnJoin}, {"auto_renew", b(f.AutoRenew)},
		{"pay_by_invoice", b(f.PayByInvoice)}}
}

func (s *Server) handleCreateContract(w http.ResponseWriter, r *http.Request) {
	a, ok := s.operatorAccount(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ov, err := s.Engine.Subscription(ctx, a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	form := contractFormOf(r)
	if r.PostFormValue("edit") == "1" { // back from the review, to change something
		s.renderContract(w, r, http.StatusOK, a, ov, contractPage{Form: form})
		return
	}
	req, errs := form.parse(a)
	var plan *billing.Plan
	if req.PlanCode != "" {
		p, err := s.Engine.DB().FindPlanByCode(ctx, req.PlanCode)
		if err != nil || p.Current == nil {
			errs["plan"] = "Choose a plan from the list."
		}
		plan = p
	}
	if len(errs) > 0 {
		s.renderContract(w, r, http.StatusUnprocessableEntity, a, ov, contractPage{Form: form, Errors: errs})
		return
	}
	if r.PostFormValue("confirm") != "1" {
		s.render(w, r, http.StatusOK, "operator_confirm", &view{Title: "Review the contract", Section: "contract", Account: a,
			Data: contractReview(a, ov, plan, form, req)})
		return
	}
	res, err := s.ops().CreateContract(ctx, a.ID, req)
	if err != nil && res == nil {
		if isUserError(err) {
			s.renderContract(w, r, http.StatusUnprocessableEntity, a, ov, contractPage{Form: form,
				Errors: userErrors(err, "number", map[string]string{"overage_unit_price": "overage"})})
			return
		}
		s.error(w, r, err)
		return
	}
	msg := "Contract " + req.Number + " created for " + a.Number + "."
	for _, st := range res.Bill.Steps {
		if st.Invoice != nil {
			msg += " Invoice " + st.Invoice.Number + " for " + st.Invoice.Total.String() + " issued"
			if st.Invoice.DueDate != nil {
				msg += ", due " + formatDay(*st.Invoice.DueDate)
			}
			msg += "."
		}
	}
	if err != nil { // the contract is made; its first billing failed and will run again
		s.logger(r).ErrorContext(ctx, "bill new contract", "account", a.Number, "err", err)
		msg += " Its first invoice could not be issued yet; the next billing run will issue it."
	}
	s.flash(r, msg)
	http.Redirect(w, r, "/accounts/"+a.Number+"/contract", http.StatusSeeOther)
}

// contractReview is the review of a contract before it is created: its
// terms, and the first invoice it issues.
func contractReview(a *billing.Account, ov *engine.Overview, plan *billing.Plan, f contractForm, req engine.ContractRequest) confirmPage {
	first := billing.FirstPeriod(req.TermStart, req.Interval)
	amount := billing.NewMoney(req.Prepaid*req.UnitPrice.Amount, a.Currency)
	when := "on " + formatDay(req.TermStart) + ", when the term starts"
	if !req.TermStart.After(ov.Today) {
		when = "now, as the term has started"
	}
	payBy := "by card"
	if req.PayByInvoice {
		payBy = "by invoice (bank transfer)"
	}
	yesNo := map[bool]string{true: "Yes", false: "No"}
	return confirmPage{
		Heading: "Review contract " + req.Number,
		Lede:    "Check the terms against the signed contract. Nothing is created until you confirm.",
		Rows: []confirmRow{
			{"Account", a.Name + " (" + a.Number + ")"},
			{"Plan", plan.Name + ", version " + strconv.Itoa(plan.Current.Version)},
			{"Term", formatDay(req.TermStart) + " – " + formatDay(req.TermEnd.AddDays(-1))},
			{"Prepaid subscriptions", strconv.FormatInt(req.Prepaid, 10)},
			{"Price", req.UnitPrice.String() + " " + perInterval(req.Interval)},
			{"Payment plan", intervalLabel(req.Interval)},
			{"Payment terms", "Net " + strconv.Itoa(req.NetDays) + " days, " + payBy},
			{"Overage price", req.OverageUnitPrice.String() + " " + perInterval(req.Interval) + " above the prepaid"},
			{"Auto-renew", yesNo[req.AutoRenew]},
			{"When the contract ends", endPolicyLabel(req.OnEnd)},
			{"When a user joins and none is free", joinPolicyLabel(req.OnJoin)},
		},
		Notes: []string{
			"The first invoice, for " + formatPeriod(first) + ", is issued " + when + ": " +
				strconv.FormatInt(req.Prepaid, 10) + " × " + req.UnitPrice.String() + " = " + amount.String() +
				" before tax and credits, due " + strconv.Itoa(req.NetDays) + " days after it is issued.",
			"Later periods are invoiced as each one starts; overage is invoiced at each period's end.",
		},
		Action: "/accounts/" + a.Number + "/contract",
		Fields: f.fields(),
		Button: "Create contract",
		Edit:   "Change the terms",
	}
}

func endPolicyLabel(p billing.EndPolicy) string {
	if p == billing.EndAutoIncrease {
		return "Keep every user (auto-increase)"
	}
	return "Convert users to free"
}

func joinPolicyLabel(p billing.JoinPolicy) string {
	switch p {
	case billing.JoinAutoIncrease:
		return "Buy one more subscription (auto-increase)"
	case billing.JoinRefuse:
		return "Refuse the join"
	}
	return "Leave the user free (counts toward overage)"
}

func (s *Server) handleContractPreferences(w http.ResponseWriter, r *http.Request) {
	a, ok := s.operatorAccount(w, r)
	if !ok {
		return
	}
	prefs := contractPrefs{OnJoin: r.PostFormValue("on_join"), OnEnd: r.PostFormValue("on_end"), AutoRenew: r.PostFormValue("auto_renew") == "1"}
	join, end, renew := billing.JoinPolicy(prefs.OnJoin), billing.EndPolicy(prefs.OnEnd), prefs.AutoRenew
	_, err := s.Engine.SetPreferences(r.Context(), a.ID, engine.Preferences{OnJoin: &join, OnEnd: &end, AutoRenew: &renew})
	switch {
	case err == nil:
		s.flash(r, "Preferences saved.")
		http.Redirect(w, r, "/accounts/"+a.Number+"/contract#preferences", http.StatusSeeOther)
	case isUserError(err):
		s.renderContract(w, r, http.StatusUnprocessableEntity, a, nil, contractPage{Prefs: prefs,
			Errors: userErrors(err, "pref_on_join", map[string]string{"on_join": "pref_on_join", "on_end": "pref_on_end"})})
	default:
		s.error(w, r, err)
	}
}

// confirmPage is the review of a change before it is made: what it is,
// what it does, the form again as hidden fields, and Confirm.
type confirmPage struct {
	Heading string
	Lede    string
	Rows    []confirmRow
	Notes   []string
	Action  string
	Fields  []hiddenField
	Key     string // the idempotency key of a change that moves money
	Button  string
	Danger  bool
	Edit    string // the label of the button back to the form
	Cancel  string // where Cancel goes, when there is no Edit
}

type confirmRow struct{ Label, Value string }

type hiddenField struct{ Name, Value string }
