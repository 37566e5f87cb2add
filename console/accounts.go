package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// accountsPageSize is how many accounts the operator's list shows at once.
const accountsPageSize = 25

// accountsPage is the operator's accounts list.
type accountsPage struct {
	Query    string
	Status   string
	Statuses []billing.AccountStatus
	Accounts []*billing.Account
	Total    int
	Page     int
	Pages    int
	First    int // 1-based index of the first row shown
	Last     int
}

func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := accountsPage{
		Query:    strings.TrimSpace(q.Get("q")),
		Status:   q.Get("status"),
		Statuses: []billing.AccountStatus{billing.StatusActive, billing.StatusPastDue, billing.StatusSuspended, billing.StatusClosed},
		Page:     1,
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 {
		data.Page = n
	}
	filter := billing.AccountFilter{Query: data.Query, Limit: accountsPageSize, Offset: (data.Page - 1) * accountsPageSize}
	switch st := billing.AccountStatus(data.Status); st {
	case billing.StatusActive, billing.StatusPastDue, billing.StatusSuspended, billing.StatusClosed:
		filter.Status = &st
	default:
		data.Status = ""
	}
	accounts, total, err := s.Accounts.FindAccounts(r.Context(), filter)
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Accounts, data.Total = accounts, total
	data.Pages = max(1, (total+accountsPageSize-1)/accountsPageSize)
	if len(accounts) > 0 {
		data.First = filter.Offset + 1
		data.Last = filter.Offset + len(accounts)
	}
	s.render(w, r, http.StatusOK, "accounts", &view{Title: "Accounts", Section: "accounts", Data: data})
}

// accountForm is the operator's "Create an account" form.
type accountForm struct {
	Name        string
	Domain      string
	BillingType string
	AccountType string
	Currency    string
	TimeZone    string
	// SignupCredit is an amount as typed; empty grants the default of
	// the currency (the plan catalog page sets it).
	SignupCredit string
}

type newAccountPage struct {
	Form   accountForm
	Errors map[string]string
	Order  []string
}

var accountFieldOrder = []string{"name", "domain", "billing_type", "account_type", "currency", "time_zone", "signup_credit"}

func (s *Server) handleNewAccountForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "account_new", &view{Title: "Create an account", Section: "accounts", Data: newAccountPage{
		Form:   accountForm{BillingType: "online", AccountType: "enterprise", Currency: "USD", TimeZone: "UTC"},
		Errors: map[string]string{}, Order: accountFieldOrder,
	}})
}

func (s *Server) handleCreateAccount(w http.ResponseWriter, r *http.Request) {
	v := r.PostFormValue
	form := accountForm{Name: v("name"), Domain: v("domain"), BillingType: v("billing_type"),
		AccountType: v("account_type"), Currency: strings.ToUpper(strings.TrimSpace(v("currency"))), TimeZone: strings.TrimSpace(v("time_zone"))}
	form.SignupCredit = strings.TrimSpace(v("signup_credit"))
	a := &billing.Account{Name: form.Name, Domain: form.Domain, BillingType: billing.BillingType(form.BillingType),
		AccountType: billing.AccountType(form.AccountType), Currency: form.Currency, TimeZone: form.TimeZone}
	var err error
	if form.SignupCredit != "" {
		n, msg := parseAmount(form.SignupCredit, form.Currency, true)
		if msg != "" {
			err = &billing.Error{Code: billing.EINVALID, Message: msg, Fields: []billing.FieldError{{Field: "signup_credit", Message: msg}}}
		}
		a.SignupCredit = &n
	}
	if err == nil {
		// Through the engine: the account's subscription and its signup
		// credit are made with it.
		create := s.Accounts.CreateAccount
		if o := s.ops(); o != nil {
			create = o.CreateAccount
		}
		err = create(r.Context(), a)
	}
	switch billing.ErrorCode(err) {
	case "":
		s.flash(r, "Account "+a.Number+" created.")
		http.Redirect(w, r, "/accounts/"+a.Number, http.StatusSeeOther)
		return
	case billing.EINVALID, billing.ECONFLICT:
		errs := fieldErrors(err)
		if len(errs) == 0 { // a conflict: the one unique field a person types is the domain
			errs["domain"] = billing.ErrorMessage(err)
		}
		s.render(w, r, http.StatusUnprocessableEntity, "account_new", &view{Title: "Create an account", Section: "accounts",
			Data: newAccountPage{Form: form, Errors: errs, Order: accountFieldOrder}})
	default:
		s.error(w, r, err)
	}
}

// accountPage is an account's overview as an operator sees it.
type accountPage struct {
	Users   []*store.ConsoleUser
	Form    userForm
	Errors  map[string]string
	Created *createdUser // a user just added with a generated password
}

// userForm is the operator's "Add a console user" form.
type userForm struct {
	Email, Name, Role, Password string
}

// createdUser is shown once, on the page that answers the form: a
// generated password never goes into the session or a redirect.
type createdUser struct {
	Email, Password string
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	if billing.ActorFromContext(r.Context()).Role != billing.RoleOperator {
		// An account's own people start from its summary.
		http.Redirect(w, r, "/accounts/"+a.Number+"/summary", http.StatusSeeOther)
		return
	}
	s.renderAccount(w, r, http.StatusOK, a, accountPage{Form: userForm{Role: string(billing.RoleOwner)}})
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, a *billing.Account, data accountPage) {
	users, err := s.Users.FindConsoleUsers(r.Context(), store.ConsoleUserFilter{AccountID: a.ID, Limit: 100})
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Users = users
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	s.render(w, r, status, "account", &view{Title: a.Name, Section: "account", Account: a, Data: data})
}

// handlePayByInvoice sets whether an online account pays by invoice (bank
// transfer) rather than by card (operators): with it, a paid plan needs no
// card on file.
func (s *Server) handlePayByInvoice(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	on := r.PostFormValue("pay_by_invoice") == "true"
	updated, err := s.Accounts.UpdateAccount(r.Context(), a.ID, billing.AccountUpdate{PayByInvoice: &on})
	if err != nil {
		s.error(w, r, err)
		return
	}
	msg := updated.Number + " pays by card: a paid plan needs a card on file."
	if updated.PayByInvoice {
		msg = updated.Number + " pays by invoice: its invoices are paid by bank transfer, due " +
			strconv.Itoa(billing.OnlineInvoiceNetDays) + " days after issue, and a paid plan needs no card on file."
	}
	s.flash(r, msg)
	http.Redirect(w, r, "/accounts/"+updated.Number, http.StatusSeeOther)
}

// handleCreateUser adds a person who can sign in to the account.
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	v := r.PostFormValue
	form := userForm{Email: strings.TrimSpace(v("email")), Name: v("name"), Role: v("role"), Password: v("password")}
	role := billing.Role(form.Role)
	if !role.AccountScoped() {
		var val billing.Validation
		val.Add("role", "Choose owner, billing admin or viewer.")
		s.renderAccount(w, r, http.StatusUnprocessableEntity, a, accountPage{Form: form, Errors: fieldErrors(val.Err())})
		return
	}
	password, generated := form.Password, form.Password == ""
	if generated {
		password = store.GeneratePassword()
	}
	u := &store.ConsoleUser{Email: form.Email, Name: form.Name, Role: role, AccountID: a.ID}
	err := s.Users.CreateConsoleUser(r.Context(), u, password)
	switch billing.ErrorCode(err) {
	case "":
	case billing.EINVALID, billing.ECONFLICT:
		errs := fieldErrors(err)
		if len(errs) == 0 { // a conflict: the email is taken
			errs["email"] = billing.ErrorMessage(err)
		}
		form.Password = "" // never sent back
		s.renderAccount(w, r, http.StatusUnprocessableEntity, a, accountPage{Form: form, Errors: errs})
		return
	default:
		s.error(w, r, err)
		return
	}
	if !generated {
		s.flash(r, u.Email+" can now sign in to "+a.Number+".")
		http.Redirect(w, r, "/accounts/"+a.Number, http.StatusSeeOther)
		return
	}
	s.renderAccount(w, r, http.StatusOK, a, accountPage{
		Form:    userForm{Role: string(billing.RoleOwner)},
		Created: &createdUser{Email: u.Email, Password: password},
	})
}
