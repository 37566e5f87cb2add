package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// Fixed Subscriptions (a sales contract): buy additional subscriptions and
// set the preferences. The contract itself is an operator's.

// addPage is the data of the Add Subscriptions page: the number asked for
// and, when it is a number, the amount to be charged.
type addPage struct {
	Ov      *engine.Overview
	Count   string
	Errors  map[string]string
	Order   []string
	Preview *engine.ChangeResult // nil until the count is valid
	Token   string
	Notice  string
}

// Available is how many prepaid subscriptions no managed user takes.
func (p addPage) Available() int64 { return max(p.Ov.Subscription.Seats-p.Ov.ManagedUsers, 0) }

// CountN is the count asked for, 0 when it is not a number.
func (p addPage) CountN() int64 {
	n, _ := parseCount(p.Count)
	return n
}

var addFieldOrder = []string{"count"}

// contractAccount loads the account and its contract subscription for a
// person who may change it; an online account has its own pages.
func (s *Server) contractAccount(w http.ResponseWriter, r *http.Request) (*billing.Account, *engine.Overview, bool) {
	a, ok := s.manageable(w, r)
	if !ok {
		return nil, nil, false
	}
	ov, err := s.Engine.Subscription(r.Context(), a.ID)
	if err != nil {
		s.error(w, r, err)
		return nil, nil, false
	}
	if ov.Subscription.Contract == nil {
		if a.BillingType == billing.BillingSubscription {
			s.renderError(w, r, http.StatusConflict, "No contract yet",
				"This account is billed by a sales contract, and Kore has not set it up yet. Your Kore contact can help.")
			return nil, nil, false
		}
		http.Redirect(w, r, "/accounts/"+a.Number+"/subscription/change", http.StatusSeeOther)
		return nil, nil, false
	}
	return a, ov, true
}

// parseCount reads the number of additional subscriptions.
func parseCount(raw string) (int64, string) {
	raw = strings.TrimSpace(raw)
	n, err := strconv.ParseInt(raw, 10, 64)
	switch {
	case raw == "":
		return 0, "Enter the number of additional subscriptions."
	case err != nil || n < 1:
		return 0, "Enter a whole number, 1 or more."
	case n > 100_000:
		return 0, "Enter at most 100,000 at a time."
	}
	return n, ""
}

func (s *Server) handleAddForm(w http.ResponseWriter, r *http.Request) {
	a, ov, ok := s.contractAccount(w, r)
	if !ok {
		return
	}
	page := addPage{Ov: ov, Count: strings.TrimSpace(r.URL.Query().Get("count")), Errors: map[string]string{}, Order: addFieldOrder}
	status := http.StatusOK
	if page.Count != "" {
		status = s.previewAdd(w, r, a, &page)
		if status == 0 {
			return
		}
	}
	s.render(w, r, status, "add_subscriptions", &view{Title: "Add Subscriptions", Section: "summary", Account: a, Data: page})
}

// previewAdd fills the page's preview of its count, or its errors; it
// returns the page's status, 0 when it answered already.
func (s *Server) previewAdd(w http.ResponseWriter, r *http.Request, a *billing.Account, page *addPage) int {
	n, msg := parseCount(page.Count)
	if msg != "" {
		page.Errors["count"] = msg
		return http.StatusUnprocessableEntity
	}
	res, err := s.Engine.PreviewAddSubscriptions(r.Context(), a.ID, n)
	if isUserError(err) {
		page.Errors = addErrors(err)
		return http.StatusUnprocessableEntity
	} else if err != nil {
		s.error(w, r, err)
		return 0
	}
	page.Preview, page.Token = res, randomToken()
	return http.StatusOK
}

func addErrors(err error) map[string]string {
	errs := fieldErrors(err)
	if len(errs) == 0 {
		errs["count"] = billing.ErrorMessage(err)
	}
	return errs
}

func (s *Server) handleAdd(w http.ResponseWriter, r *http.Request) {
	a, ov, ok := s.contractAccount(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	page := addPage{Ov: ov, Count: strings.TrimSpace(r.PostFormValue("count")), Errors: map[string]string{}, Order: addFieldOrder}
	n, msg := parseCount(page.Count)
	if msg != "" {
		page.Errors["count"] = msg
		s.render(w, r, http.StatusUnprocessableEntity, "add_subscriptions", &view{Title: "Add Subscriptions", Section: "summary", Account: a, Data: page})
		return
	}
	res, err := s.once(ctx, a, "contract.add_subscriptions", r.PostFormValue("idempotency_key"), "count="+strconv.FormatInt(n, 10),
		func(ctx context.Context) (onceResult, error) {
			if want := r.PostFormValue("expected_total"); want != "" {
				p, err := s.Engine.PreviewAddSubscriptions(ctx, a.ID, n)
				if err != nil {
					return onceResult{}, err
				}
				if previewTotal(p) != want {
					return onceResult{}, errPreviewChanged
				}
			}
			out, err := s.Engine.AddSubscriptions(ctx, a.ID, n)
			if err != nil {
				return onceResult{}, err
			}
			msg := "Added " + strconv.FormatInt(n, 10) + " Subscriptions Successfully"
			if n == 1 {
				msg = "Added 1 Subscription Successfully"
			}
			if inv := out.Invoice; inv != nil {
				msg += ". Invoice " + inv.Number + " for " + inv.Total.String() + " was issued."
			}
			return onceResult{Location: "/accounts/" + a.Number + "/summary", Flash: msg}, nil
		})
	switch {
	case errors.Is(err, errPreviewChanged):
		page.Notice = "The amount changed since you saw it. Please check it again."
		if status := s.previewAdd(w, r, a, &page); status != 0 {
			s.render(w, r, status, "add_subscriptions", &view{Title: "Add Subscriptions", Section: "summary", Account: a, Data: page})
		}
		return
	case isUserError(err) && billing.ErrorCode(err) != billing.ECONFLICT:
		page.Errors = addErrors(err)
		s.render(w, r, http.StatusUnprocessableEntity, "add_subscriptions", &view{Title: "Add Subscriptions", Section: "summary", Account: a, Data: page})
		return
	case err != nil:
		s.error(w, r, err)
		return
	}
	s.flash(r, res.Flash)
	http.Redirect(w, r, res.Location, http.StatusSeeOther)
}

// handlePreferences saves what happens when a user joins and no
// subscription is free, and when the contract ends.
func (s *Server) handlePreferences(w http.ResponseWriter, r *http.Request) {
	a, ok := s.manageable(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var prefs engine.Preferences
	if v := r.PostFormValue("on_join"); v != "" {
		p := billing.JoinPolicy(v)
		prefs.OnJoin = &p
	}
	if v := r.PostFormValue("on_end"); v != "" {
		p := billing.EndPolicy(v)
		prefs.OnEnd = &p
	}
	if _, err := s.Engine.SetPreferences(ctx, a.ID, prefs); err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, "Preferences saved.")
	http.Redirect(w, r, "/accounts/"+a.Number+"/summary#preferences-heading", http.StatusSeeOther)
}

// policyOption is one choice of a preference.
type policyOption struct{ Value, Label string }

var (
	joinOptions = []policyOption{
		{string(billing.JoinAutoIncrease), "Assign a subscription automatically: buy one more (auto-increase)"},
		{string(billing.JoinLeaveFree), "Leave the user free, without a subscription (counts toward overage)"},
		{string(billing.JoinRefuse), "Refuse the join"},
	}
	endOptions = []policyOption{
		{string(billing.EndConvertFree), "Convert users to free"},
		{string(billing.EndAutoIncrease), "Keep every managed user: renew with a subscription for each (auto-increase)"},
	}
)

func optionLabel(opts []policyOption, v string) string {
	for _, o := range opts {
		if o.Value == v {
			return o.Label
		}
	}
	return humanize(v)
}

func init() {
	funcs["joinPolicies"] = func() []policyOption { return joinOptions }
	funcs["endPolicies"] = func() []policyOption { return endOptions }
	funcs["joinLabel"] = func(p billing.JoinPolicy) string { return optionLabel(joinOptions, string(p)) }
	funcs["endLabel"] = func(p billing.EndPolicy) string { return optionLabel(endOptions, string(p)) }
	funcs["zero"] = billing.Zero
}
