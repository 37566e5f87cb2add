package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Test clocks, in test mode only. DESIGN: "In test mode an account can have
// a test clock that an operator advances; advancing it runs every renewal,
// invoice, payment and retry that falls due, exactly as the real scheduler
// would." An account is attached when it is made, so that its whole
// history is the clock's.

type clocksPage struct {
	Clocks []clockRow
	Form   clockForm
	Errors map[string]string
	Order  []string
}

type clockRow struct {
	*billing.TestClock
	Accounts []*billing.Account
}

type clockForm struct{ Name, Date, Time string }

var clockFieldOrder = []string{"name", "date", "time"}

func (s *Server) handleTestClocks(w http.ResponseWriter, r *http.Request) {
	now := s.now().UTC()
	s.renderTestClocks(w, r, http.StatusOK, clocksPage{Form: clockForm{Date: now.Format(time.DateOnly), Time: now.Format("15:04")}})
}

func (s *Server) renderTestClocks(w http.ResponseWriter, r *http.Request, status int, data clocksPage) {
	ctx := r.Context()
	clocks, err := s.Engine.DB().FindTestClocks(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, c := range clocks {
		row := clockRow{TestClock: c}
		if row.Accounts, err = s.clockAccounts(r, c.ID); err != nil {
			s.error(w, r, err)
			return
		}
		data.Clocks = append(data.Clocks, row)
	}
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	data.Order = clockFieldOrder
	s.render(w, r, status, "operator_clocks", &view{Title: "Test clocks", Section: "clocks", Data: data})
}

func (s *Server) clockAccounts(r *http.Request, clockID int64) ([]*billing.Account, error) {
	ids, err := s.Engine.DB().TestClockAccounts(r.Context(), clockID)
	if err != nil {
		return nil, err
	}
	out := make([]*billing.Account, 0, len(ids))
	for _, id := range ids {
		a, err := s.Accounts.FindAccountByID(r.Context(), id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// parseClockTime reads a date and a time of day (HH:MM, UTC).
func parseClockTime(date, clock string) (time.Time, map[string]string) {
	errs := map[string]string{}
	d, ok := parseDay(date)
	if !ok {
		errs["date"] = "Enter the day the clock starts on."
	}
	hm, err := time.Parse("15:04", strings.TrimSpace(clock))
	if err != nil {
		errs["time"] = "Enter a time of day as HH:MM, in UTC, as in 09:00."
	}
	if len(errs) > 0 {
		return time.Time{}, errs
	}
	return time.Date(d.Year, d.Month, d.Day, hm.Hour(), hm.Minute(), 0, 0, time.UTC), errs
}

func (s *Server) handleCreateTestClock(w http.ResponseWriter, r *http.Request) {
	form := clockForm{Name: strings.TrimSpace(r.PostFormValue("name")), Date: strings.TrimSpace(r.PostFormValue("date")),
		Time: strings.TrimSpace(r.PostFormValue("time"))}
	at, errs := parseClockTime(form.Date, form.Time)
	if len(errs) == 0 {
		c := &billing.TestClock{Name: form.Name, Now: at}
		err := s.Engine.DB().CreateTestClock(r.Context(), c)
		switch billing.ErrorCode(err) {
		case "":
			s.flash(r, "Test clock "+clockName(c)+" created at "+at.Format("Jan 2, 2006 15:04 UTC")+". Add an account to it, then advance it.")
			http.Redirect(w, r, "/test-clocks/"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
			return
		case billing.EINVALID:
			errs = userErrors(err, "name", map[string]string{"now": "date"})
		default:
			s.error(w, r, err)
			return
		}
	}
	s.renderTestClocks(w, r, http.StatusUnprocessableEntity, clocksPage{Form: form, Errors: errs})
}

func clockName(c *billing.TestClock) string {
	if c.Name != "" {
		return "“" + c.Name + "”"
	}
	return "#" + strconv.FormatInt(c.ID, 10)
}

// clockPage is one clock: its accounts, Advance, a new account, and what
// the last advance issued.
type clockPage struct {
	Clock    *billing.TestClock
	Name     string
	Accounts []*billing.Account
	Advance  advanceForm
	Account  accountForm
	Errors   map[string]string
	Order    []string
	Issued   []issuedInvoice // by the advance just made
	Advanced bool
	Since    int64 // the newest invoice before the advance
}

type advanceForm struct{ Days, To string }

type issuedInvoice struct {
	Account *billing.Account
	Invoice *billing.Invoice
}

var clockPageFieldOrder = []string{"days", "to", "name", "domain", "billing_type", "account_type", "currency", "time_zone"}

// testClock loads the clock the path names.
func (s *Server) testClock(w http.ResponseWriter, r *http.Request) (*billing.TestClock, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.notFound(w, r)
		return nil, false
	}
	c, err := s.Engine.DB().FindTestClock(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return nil, false
	}
	return c, true
}

func (s *Server) handleTestClock(w http.ResponseWriter, r *http.Request) {
	c, ok := s.testClock(w, r)
	if !ok {
		return
	}
	data := clockPage{Advance: advanceForm{Days: "1"},
		Account: accountForm{BillingType: "online", AccountType: "enterprise", Currency: "USD", TimeZone: "UTC"}}
	// After an advance: the invoices it issued, those numbered after the
	// newest one before it.
	if since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64); err == nil && since >= 0 {
		data.Advanced, data.Since = true, since
		accounts, err := s.clockAccounts(r, c.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, a := range accounts {
			invs, _, err := s.Engine.FindInvoices(r.Context(), a.ID, 500, 0)
			if err != nil {
				s.error(w, r, err)
				return
			}
			for _, inv := range invs {
				if inv.ID > since {
					data.Issued = append(data.Issued, issuedInvoice{Account: a, Invoice: inv})
				}
			}
		}
		slices.SortFunc(data.Issued, func(a, b issuedInvoice) int { return int(a.Invoice.ID - b.Invoice.ID) })
	}
	s.renderTestClock(w, r, http.StatusOK, c, data)
}

func (s *Server) renderTestClock(w http.ResponseWriter, r *http.Request, status int, c *billing.TestClock, data clockPage) {
	accounts, err := s.clockAccounts(r, c.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Clock, data.Name, data.Accounts = c, clockName(c), accounts
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	data.Order = clockPageFieldOrder
	s.render(w, r, status, "operator_clock", &view{Title: "Test clock " + data.Name, Section: "clocks", Data: data})
}

func (s *Server) handleAdvanceTestClock(w http.ResponseWriter, r *http.Request) {
	c, ok := s.testClock(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	form := advanceForm{Days: strings.TrimSpace(r.PostFormValue("days")), To: strings.TrimSpace(r.PostFormValue("to"))}
	errs := map[string]string{}
	var to time.Time
	switch {
	case form.Days != "" && form.To != "":
		errs["days"] = "Enter a number of days or a date, not both."
	case form.Days != "":
		n, err := strconv.Atoi(form.Days)
		if err != nil || n < 1 || n > 5*366 {
			errs["days"] = "Enter a whole number of days, 1 to 1830."
		}
		to = c.Now.AddDate(0, 0, n)
	case form.To != "":
		d, ok := parseDay(form.To)
		now := c.Now.UTC()
		if !ok {
			errs["to"] = "Enter the day to move the clock to."
		} else if to = time.Date(d.Year, d.Month, d.Day, now.Hour(), now.Minute(), now.Second(), 0, time.UTC); !to.After(now) {
			errs["to"] = "A test clock only moves forward: enter a day after " + now.Format("Jan 2, 2006") + "."
		}
	default:
		errs["days"] = "Enter a number of days, or a date below."
	}
	if len(errs) > 0 {
		s.renderTestClock(w, r, http.StatusUnprocessableEntity, c, clockPage{Advance: form, Errors: errs,
			Account: accountForm{BillingType: "online", AccountType: "enterprise", Currency: "USD", TimeZone: "UTC"}})
		return
	}
	// The newest invoice of the clock's accounts before the advance: every
	// one after it was issued on the way.
	var since int64
	accounts, err := s.clockAccounts(r, c.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, a := range accounts {
		invs, _, err := s.Engine.FindInvoices(ctx, a.ID, 1, 0)
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, inv := range invs {
			since = max(since, inv.ID)
		}
	}
	if s.Clocks == nil {
		s.error(w, r, billing.Errorf(billing.EINTERNAL, "console: no test clocks service"))
		return
	}
	res, err := s.Clocks.Start(ctx, c.ID, to)
	if err != nil {
		if isUserError(err) {
			s.renderTestClock(w, r, http.StatusUnprocessableEntity, c, clockPage{Advance: form, Errors: userErrors(err, "days", nil),
				Account: accountForm{BillingType: "online", AccountType: "enterprise", Currency: "USD", TimeZone: "UTC"}})
			return
		}
		s.error(w, r, err)
		return
	}
	s.flash(r, "Advancing "+clockName(c)+" from "+c.Now.UTC().Format("Jan 2, 2006 15:04")+" to "+res.AdvanceTo.UTC().Format("Jan 2, 2006 15:04 UTC")+
		": a job runs everything that falls due for "+pluralize(int64(len(accounts)), "account")+" on the way, at every local midnight.")
	http.Redirect(w, r, "/test-clocks/"+strconv.FormatInt(c.ID, 10)+"?since="+strconv.FormatInt(since, 10), http.StatusSeeOther)
}

func (s *Server) handleTestClockAccount(w http.ResponseWriter, r *http.Request) {
	c, ok := s.testClock(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v := r.PostFormValue
	form := accountForm{Name: strings.TrimSpace(v("name")), Domain: strings.TrimSpace(v("domain")), BillingType: v("billing_type"),
		AccountType: v("account_type"), Currency: strings.ToUpper(strings.TrimSpace(v("currency"))), TimeZone: strings.TrimSpace(v("time_zone"))}
	a := &billing.Account{Name: form.Name, Domain: form.Domain, BillingType: billing.BillingType(form.BillingType),
		AccountType: billing.AccountType(form.AccountType), Currency: form.Currency, TimeZone: form.TimeZone}
	err := s.ops().CreateAccountOnClock(ctx, a, c.ID)
	if err == nil {
		s.flash(r, "Account "+a.Number+" ("+a.Name+") created on test clock "+clockName(c)+": its time is the clock's.")
		http.Redirect(w, r, "/test-clocks/"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
		return
	}
	switch billing.ErrorCode(err) {
	case billing.EINVALID, billing.ECONFLICT:
		s.renderTestClock(w, r, http.StatusUnprocessableEntity, c, clockPage{Advance: advanceForm{Days: "1"}, Account: form,
			Errors: userErrors(err, "domain", nil)})
	default:
		s.error(w, r, err)
	}
}
