package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// Change Payment Method (/accounts/{number}/payment-method): the methods on
// file, a form to add a card that becomes the default, make another method
// the default, remove one. The issue: "A default method; changing it is
// effective immediately and used at the next transaction. ACH accounts can
// switch to card; editing ACH details is an operator action."
//
// Card numbers: with a gateway that tokenizes on our server (the test
// gateway, a billing.CardTokenizer) the form asks for the card's details
// and they are turned into a token at once; they are never logged, stored
// or written into a message, and a form that comes back keeps what was
// typed except the CVC. With Stripe the card's details never reach us: the
// form takes the PaymentMethod id (pm_…) that Stripe.js made.

// paymentMethodEngine is what the page needs of the engine beyond Engine
// (change.go).
type paymentMethodEngine interface {
	CardTokenizer() (billing.CardTokenizer, bool)
	AddCard(ctx context.Context, accountID int64, req engine.AddCardRequest) (*engine.MethodResult, error)
	SetDefaultMethod(ctx context.Context, accountID, methodID int64) (*engine.MethodResult, error)
	RemoveMethod(ctx context.Context, accountID, methodID int64) error
	AddBankTransfer(ctx context.Context, accountID int64, d engine.BankDetails, makeDefault bool) (*engine.MethodResult, error)
	UpdateBankTransfer(ctx context.Context, accountID, methodID int64, d engine.BankDetails) (*store.PaymentMethod, error)
}

var _ paymentMethodEngine = (*engine.Engine)(nil)

func (s *Server) registerPaymentMethod(mux *http.ServeMux) {
	mux.Handle("GET /accounts/{number}/payment-method", s.page(s.handlePaymentMethod))
	mux.Handle("POST /accounts/{number}/payment-method", s.page(s.handleAddCard))
	mux.Handle("POST /accounts/{number}/payment-method/bank", s.operator(s.handleAddBank))
	mux.Handle("POST /accounts/{number}/payment-method/{id}/default", s.page(s.handleSetDefaultMethod))
	mux.Handle("POST /accounts/{number}/payment-method/{id}/remove", s.page(s.handleRemoveMethod))
	mux.Handle("POST /accounts/{number}/payment-method/{id}/bank", s.operator(s.handleUpdateBank))
}

// cardForm is the add-card form as the person typed it, without the CVC,
// which is never sent back.
type cardForm struct {
	Number, ExpMonth, ExpYear, Name string
	Token                           string // Stripe: pm_…
}

// cardFieldOrder is the form's order, for the error summary.
var cardFieldOrder = []string{"card_number", "exp_month", "exp_year", "cvc", "name", "token", "form"}

// cardFields is what the "card-fields" block draws: the card form, on the
// Change Payment Method page and on a purchase's preview.
type cardFields struct {
	Tokenizer bool
	Form      cardForm
	Errors    map[string]string
}

// bankForm is the bank transfer details as an operator typed them.
type bankForm struct {
	BankName, AccountHolder, AccountLast4, RemittanceRef string
}

var bankFieldOrder = []string{"bank_name", "account_holder", "account_last4", "remittance_ref", "form"}

// bankFields is what the "bank-fields" block draws: a bank details form
// and its errors.
type bankFields struct {
	Form   bankForm
	Errors map[string]string
}

func init() {
	funcs["bankFields"] = func(f bankForm, errs map[string]string) bankFields { return bankFields{f, errs} }
	funcs["cardFields"] = func(tokenizer bool, f cardForm, errs map[string]string) cardFields {
		return cardFields{tokenizer, f, errs}
	}
}

func bankFormFrom(r *http.Request) bankForm {
	v := r.PostFormValue
	return bankForm{BankName: v("bank_name"), AccountHolder: v("account_holder"), AccountLast4: v("account_last4"),
		RemittanceRef: v("remittance_ref")}
}

func (f bankForm) details() engine.BankDetails {
	return engine.BankDetails{BankName: f.BankName, AccountHolder: f.AccountHolder, AccountLast4: f.AccountLast4,
		RemittanceRef: f.RemittanceRef}
}

// paymentMethodPage is the page's data.
type paymentMethodPage struct {
	Ov        *engine.Overview
	Methods   []*store.PaymentMethod
	Default   *store.PaymentMethod
	Tokenizer bool // the gateway takes card details (the test gateway)

	Form   cardForm
	Errors map[string]string
	Order  []string
	Token  string // the add form's idempotency key

	// Bank: an operator's bank details form that came back, for the
	// method BankFor (0: adding).
	Bank       bankForm
	BankFor    int64
	BankErrors map[string]string
	BankOrder  []string
	BankOpen   bool // the form to add bank transfer details is shown open

	Notice string // a decline after the card was added, or a refusal

	// Open invoices of a past-due or suspended account: paying them is the
	// way back.
	Open     []*billing.Invoice
	OpenDue  billing.Money
	PayToken string
}

// Contract reports whether the account is on a contract (Fixed
// Subscriptions): only contracts pay by bank transfer.
func (p paymentMethodPage) Contract() bool {
	return p.Ov != nil && p.Ov.Account.BillingType == billing.BillingSubscription
}

// HasBank reports whether a bank transfer method is on file.
func (p paymentMethodPage) HasBank() bool {
	for _, m := range p.Methods {
		if m.Kind == store.MethodACH {
			return true
		}
	}
	return false
}

// Removable reports whether m may be taken off file: not the default of a
// paid subscription, which stays until another replaces it.
func (p paymentMethodPage) Removable(m *store.PaymentMethod) bool {
	return !m.Default || p.Ov == nil || !p.Ov.Subscription.IsPaid()
}

// BankFormFor is the bank details form of method id: what the operator
// typed when it came back, else the method's details.
func (p paymentMethodPage) BankFormFor(m *store.PaymentMethod) bankForm {
	if p.BankErrors != nil && p.BankFor == m.ID {
		return p.Bank
	}
	return bankForm{BankName: m.BankName, AccountHolder: m.AccountHolder, AccountLast4: m.AccountLast4, RemittanceRef: m.RemittanceRef}
}

// BankErrorsFor is the errors of method id's bank form.
func (p paymentMethodPage) BankErrorsFor(id int64) map[string]string {
	if p.BankFor == id && p.BankErrors != nil {
		return p.BankErrors
	}
	return map[string]string{}
}

// methodsEngine returns the engine as the page needs it; false when the
// server was built with an engine that cannot change payment methods.
func (s *Server) methodsEngine(w http.ResponseWriter, r *http.Request) (paymentMethodEngine, bool) {
	pe, ok := s.Engine.(paymentMethodEngine)
	if !ok {
		s.notFound(w, r)
	}
	return pe, ok
}

// flashSep parts the page's flash into what was done (the green flash) and
// what went wrong after it (a decline: the notice).
const flashSep = "\x1e"

func (s *Server) handlePaymentMethod(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	raw := s.sessions.PopString(r.Context(), keyFlash)
	done, notice, _ := strings.Cut(raw, flashSep)
	s.renderPaymentMethod(w, r, a, http.StatusOK, &paymentMethodPage{Notice: notice}, done)
}

// renderPaymentMethod fills in the page's account, methods and open
// invoices around what the handler put in page, and renders it.
func (s *Server) renderPaymentMethod(w http.ResponseWriter, r *http.Request, a *billing.Account, status int, page *paymentMethodPage, flash string) {
	pe, ok := s.methodsEngine(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ov, err := s.Engine.Subscription(ctx, a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	a = &ov.Account
	page.Ov = ov
	if page.Methods, err = s.Engine.PaymentMethods(ctx, a.ID); err != nil {
		s.error(w, r, err)
		return
	}
	for _, m := range page.Methods {
		if m.Default {
			page.Default = m
		}
	}
	_, page.Tokenizer = pe.CardTokenizer()
	if page.Errors == nil {
		page.Errors = map[string]string{}
	}
	page.Order, page.BankOrder = cardFieldOrder, bankFieldOrder
	page.Token = randomToken()
	if a.Status != billing.StatusActive || ov.Subscription.Status == billing.SubscriptionPastDue {
		if page.Open, page.OpenDue, err = s.openInvoices(r, a); err != nil {
			s.error(w, r, err)
			return
		}
		page.PayToken = randomToken()
	}
	s.render(w, r, status, "payment_method", &view{Title: "Change Payment Method", Section: "summary", Account: a,
		Flash: flash, Data: page})
}

// cardFormFrom reads the add-card form, without the CVC.
func cardFormFrom(r *http.Request) cardForm {
	v := r.PostFormValue
	return cardForm{Number: v("card_number"), ExpMonth: strings.TrimSpace(v("exp_month")), ExpYear: strings.TrimSpace(v("exp_year")),
		Name: v("name"), Token: strings.TrimSpace(v("token"))}
}

// cardErrors places a refused card's message beside its field: the card
// number's for a card refused as a whole (expired, declined, unknown, on
// file already).
func cardErrors(err error) map[string]string {
	errs := fieldErrors(err)
	reason := reasonOf(err)
	switch {
	case reason == "expired_card":
		delete(errs, "exp_year")
		errs["card_number"] = billing.ErrorMessage(err)
	case reason == "invalid_token":
		errs = map[string]string{"card_number": "The card could not be read; enter it again."}
	case len(errs) == 0:
		errs["card_number"] = billing.ErrorMessage(err)
	}
	return errs
}

func reasonOf(err error) string {
	var be *billing.Error
	if errors.As(err, &be) {
		return be.Reason
	}
	return ""
}

// isCardRefusal reports whether err is the gateway or the engine refusing
// the card (nothing was changed), as opposed to an internal error.
func isCardRefusal(err error) bool {
	switch billing.ErrorCode(err) {
	case billing.EINVALID, billing.EPAYMENT, billing.ECONFLICT, billing.ESTATE, billing.ENOTFOUND:
		return true
	}
	return false
}

// handleAddCard attaches a card and makes it the default; open invoices
// are charged to it at once (engine.AddCard), which is what restores a
// suspended account. A card refused changes nothing; the form comes back
// with the message beside the card number and what was typed, but the CVC.
func (s *Server) handleAddCard(w http.ResponseWriter, r *http.Request) {
	a, ok := s.manageable(w, r)
	if !ok {
		return
	}
	pe, ok := s.methodsEngine(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	form := cardFormFrom(r)
	back := func(status int, errs map[string]string) {
		s.renderPaymentMethod(w, r, a, status, &paymentMethodPage{Form: form, Errors: errs}, "")
	}

	if _, tokenizes := pe.CardTokenizer(); !tokenizes {
		// With Stripe the form has only the token: a refused card's message
		// goes beside it.
		back = func(status int, errs map[string]string) {
			if msg, ok := errs["card_number"]; ok {
				delete(errs, "card_number")
				if _, ok := errs["token"]; !ok {
					errs["token"] = msg
				}
			}
			s.renderPaymentMethod(w, r, a, status, &paymentMethodPage{Form: form, Errors: errs}, "")
		}
	}
	token, status, errs := s.cardToken(r, pe, form)
	if errs != nil {
		back(status, errs)
		return
	}

	sum := sha256.Sum256([]byte(token))
	next := "/accounts/" + a.Number + "/payment-method"
	res, err := s.once(ctx, a, "payment_method.add_card", r.PostFormValue("idempotency_key"), hex.EncodeToString(sum[:]),
		func(ctx context.Context) (onceResult, error) {
			out, err := pe.AddCard(ctx, a.ID, engine.AddCardRequest{Token: token, Default: true})
			if err != nil {
				return onceResult{}, err
			}
			return onceResult{Location: next, Flash: methodMessage(out, " is now the default payment method, effective immediately and used at the next transaction.")}, nil
		})
	switch {
	case err == nil:
	case reasonOf(err) == "payment_method_exists":
		back(http.StatusUnprocessableEntity, map[string]string{"card_number": "This card is on file already: make it the default below."})
		return
	case isCardRefusal(err) && billing.ErrorCode(err) != billing.ESTATE:
		back(http.StatusUnprocessableEntity, cardErrors(err))
		return
	case billing.ErrorCode(err) == billing.ESTATE:
		back(http.StatusUnprocessableEntity, map[string]string{"form": billing.ErrorMessage(err)})
		return
	default:
		// The gateway did not answer, or the card could not be saved:
		// nothing was changed (AddCard attaches before it writes, and
		// writes in one transaction).
		s.logger(r).ErrorContext(ctx, "add card", "account", a.Number, "err", err)
		back(http.StatusServiceUnavailable, map[string]string{"form": "The payment gateway did not answer, or the card could not be saved, so nothing was changed. Please try again in a moment."})
		return
	}
	s.flash(r, res.Flash)
	http.Redirect(w, r, res.Location, http.StatusSeeOther)
}

// cardToken turns the card form into the gateway's token for AddCard:
// with a gateway that tokenizes on our server (the test gateway) the typed
// card is tokenized now; with Stripe the form carries the token Stripe.js
// made. A card refused comes back as the messages to show beside its
// fields, with the status to answer.
func (s *Server) cardToken(r *http.Request, pe paymentMethodEngine, form cardForm) (string, int, map[string]string) {
	ctx := r.Context()
	tok, tokenizes := pe.CardTokenizer()
	if !tokenizes || form.Token != "" {
		if form.Token == "" {
			return "", http.StatusUnprocessableEntity, map[string]string{"token": "The card token (pm_…) from Stripe is required."}
		}
		return form.Token, 0, nil
	}
	month, err := strconv.Atoi(form.ExpMonth)
	if err != nil {
		month = 0 // "The expiry month must be 1 to 12."
	}
	year, err := strconv.Atoi(form.ExpYear)
	if err != nil {
		year = -1 // "The expiry year must be between 2000 and 2099."
	}
	token, err := tok.TokenizeCard(ctx, billing.CardInput{Number: form.Number, ExpMonth: month, ExpYear: year,
		CVC: r.PostFormValue("cvc"), Name: form.Name})
	switch {
	case err != nil && !isCardRefusal(err):
		s.logger(r).ErrorContext(ctx, "tokenize card", "err", err)
		return "", http.StatusServiceUnavailable, map[string]string{"form": "The payment gateway did not answer, so nothing was changed. Please try again in a moment."}
	case err != nil:
		return "", http.StatusUnprocessableEntity, cardErrors(err)
	}
	return token, 0, nil
}

// methodMessage says what a method change did: the method, what it now
// is, and each open invoice charged to it at once — paid, or declined (the
// part after flashSep, shown as a notice).
func methodMessage(res *engine.MethodResult, what string) string {
	label := res.Method.Label()
	done := label + what
	var paid, declined []string
	for _, p := range res.Retried {
		switch p.Status {
		case store.PaymentSucceeded:
			paid = append(paid, p.InvoiceNumber+" ("+p.Amount.String()+")")
		case store.PaymentFailed:
			msg := p.FailureMessage
			if msg == "" {
				msg = "The card was declined."
			}
			declined = append(declined, "Paying "+p.InvoiceNumber+" ("+p.Amount.String()+") with "+label+" was declined: "+msg)
		default:
			declined = append(declined, "The payment of "+p.InvoiceNumber+" ("+p.Amount.String()+") is in progress; its outcome will show in the Billing History.")
		}
	}
	if len(paid) > 0 {
		done += " Paid " + strings.Join(paid, ", ") + " with " + label + "."
	}
	if len(declined) == 0 {
		return done
	}
	return done + flashSep + strings.Join(declined, " ") + " The invoice is still open: add another card, or pay it again."
}

// method loads the method the path names, for a person who may change the
// account; a bank transfer method is an operator's to choose or remove.
func (s *Server) method(w http.ResponseWriter, r *http.Request) (*billing.Account, *store.PaymentMethod, bool) {
	a, ok := s.manageable(w, r)
	if !ok {
		return nil, nil, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return nil, nil, false
	}
	methods, err := s.Engine.PaymentMethods(r.Context(), a.ID)
	if err != nil {
		s.error(w, r, err)
		return nil, nil, false
	}
	for _, m := range methods {
		if m.ID != id {
			continue
		}
		if m.Kind == store.MethodACH && billing.ActorFromContext(r.Context()).Role != billing.RoleOperator {
			s.forbidden(w, r, "Bank transfer details are kept by Kore: ask Kore support to change them. Nothing was changed.")
			return nil, nil, false
		}
		return a, m, true
	}
	s.notFound(w, r) // another account's method, or one taken off file
	return nil, nil, false
}

// handleSetDefaultMethod makes a method the default, effective at once; a
// card made the default is charged the open invoices at once.
func (s *Server) handleSetDefaultMethod(w http.ResponseWriter, r *http.Request) {
	a, m, ok := s.method(w, r)
	if !ok {
		return
	}
	pe, ok := s.methodsEngine(w, r)
	if !ok {
		return
	}
	res, err := pe.SetDefaultMethod(r.Context(), a.ID, m.ID)
	if isCardRefusal(err) {
		s.renderPaymentMethod(w, r, a, http.StatusUnprocessableEntity, &paymentMethodPage{Notice: billing.ErrorMessage(err)}, "")
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, methodMessage(res, " is now the default payment method, effective immediately and used at the next transaction."))
	http.Redirect(w, r, "/accounts/"+a.Number+"/payment-method", http.StatusSeeOther)
}

// handleRemoveMethod takes a method off file. The default of a paid
// subscription stays until another replaces it: the engine refuses, and
// the page says so.
func (s *Server) handleRemoveMethod(w http.ResponseWriter, r *http.Request) {
	a, m, ok := s.method(w, r)
	if !ok {
		return
	}
	pe, ok := s.methodsEngine(w, r)
	if !ok {
		return
	}
	err := pe.RemoveMethod(r.Context(), a.ID, m.ID)
	if isCardRefusal(err) {
		s.renderPaymentMethod(w, r, a, http.StatusUnprocessableEntity, &paymentMethodPage{Notice: billing.ErrorMessage(err)}, "")
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, m.Label()+" was removed.")
	http.Redirect(w, r, "/accounts/"+a.Number+"/payment-method", http.StatusSeeOther)
}

// handleAddBank records that a contract pays by bank transfer (operators):
// the account's default from now on.
func (s *Server) handleAddBank(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	pe, ok := s.methodsEngine(w, r)
	if !ok {
		return
	}
	form := bankFormFrom(r)
	res, err := pe.AddBankTransfer(r.Context(), a.ID, form.details(), true)
	if isCardRefusal(err) {
		errs := fieldErrors(err)
		if len(errs) == 0 {
			errs["form"] = billing.ErrorMessage(err)
		}
		s.renderPaymentMethod(w, r, a, http.StatusUnprocessableEntity, &paymentMethodPage{Bank: form, BankErrors: errs, BankOpen: true}, "")
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, methodMessage(res, " is now the default payment method: invoices are paid by bank transfer."))
	http.Redirect(w, r, "/accounts/"+a.Number+"/payment-method", http.StatusSeeOther)
}

// handleUpdateBank changes bank transfer details (operators).
func (s *Server) handleUpdateBank(w http.ResponseWriter, r *http.Request) {
	a, m, ok := s.method(w, r)
	if !ok {
		return
	}
	pe, ok := s.methodsEngine(w, r)
	if !ok {
		return
	}
	form := bankFormFrom(r)
	updated, err := pe.UpdateBankTransfer(r.Context(), a.ID, m.ID, form.details())
	if isCardRefusal(err) {
		errs := fieldErrors(err)
		if len(errs) == 0 {
			errs["form"] = billing.ErrorMessage(err)
		}
		s.renderPaymentMethod(w, r, a, http.StatusUnprocessableEntity, &paymentMethodPage{Bank: form, BankFor: m.ID, BankErrors: errs}, "")
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, "Bank transfer details saved: "+updated.Label()+".")
	http.Redirect(w, r, "/accounts/"+a.Number+"/payment-method", http.StatusSeeOther)
}
