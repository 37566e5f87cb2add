package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// An account's invoices as an operator sees them, and what an operator
// does to one: record a bank transfer, refund, issue a credit note, retry
// the card. Each change that moves money is reviewed on a page of its own
// and confirmed with a one-time key, so a double submit does it once.

const operatorInvoicesPageSize = 25

type operatorInvoicesPage struct {
	Invoices []*billing.Invoice
	Total    int
	Page     int
	Pages    int
}

func (s *Server) handleOperatorInvoices(w http.ResponseWriter, r *http.Request) {
	a, ok := s.operatorAccount(w, r)
	if !ok {
		return
	}
	data := operatorInvoicesPage{Page: 1}
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 1 {
		data.Page = n
	}
	invs, total, err := s.Engine.FindInvoices(r.Context(), a.ID, operatorInvoicesPageSize, (data.Page-1)*operatorInvoicesPageSize)
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Invoices, data.Total = invs, total
	data.Pages = max(1, (total+operatorInvoicesPageSize-1)/operatorInvoicesPageSize)
	s.render(w, r, http.StatusOK, "operator_invoices", &view{Title: "Invoices · " + a.Name, Section: "invoices", Account: a, Data: data})
}

// invoicePage is one invoice with the operator's actions.
type invoicePage struct {
	Inv      *billing.Invoice
	Payments []*store.Payment
	Card     string // the default card, for Retry; "" without one
	RetryKey string

	Transfer transferForm
	Refund   reasonForm
	Credit   reasonForm
	Errors   map[string]string
	Order    []string
}

type transferForm struct{ Amount, Reference, ReceivedOn string }

type reasonForm struct{ Amount, Reason string }

// Payable: an open invoice that owes something takes a bank transfer or a
// card payment.
func (p invoicePage) Payable() bool {
	inv := p.Inv
	return inv.Kind != billing.InvoiceCreditNote && (inv.Status == billing.InvoiceOpen || inv.Status == billing.InvoiceUncollectible) &&
		inv.AmountDue.Amount > 0
}

// Refundable is what the invoice's payments have left to refund.
func (p invoicePage) Refundable() billing.Money {
	left := billing.Zero(p.Inv.Currency)
	for _, pay := range p.Payments {
		if pay.Status == store.PaymentSucceeded || pay.Status == store.PaymentRefunded {
			left.Amount += pay.Amount.Amount - pay.AmountRefunded.Amount
		}
	}
	return left
}

// Creditable: a finalized invoice that is not void or a credit note.
func (p invoicePage) Creditable() bool {
	return p.Inv.Kind != billing.InvoiceCreditNote && p.Inv.Status.Finalized() && p.Inv.Status != billing.InvoiceVoid
}

var invoiceFieldOrder = []string{"transfer_amount", "transfer_reference", "transfer_received_on", "retry",
	"refund_amount", "refund_reason", "credit_amount", "credit_reason"}

// operatorInvoice loads the account and its invoice the path names.
func (s *Server) operatorInvoice(w http.ResponseWriter, r *http.Request) (*billing.Account, *billing.Invoice, bool) {
	a, ok := s.operatorAccount(w, r)
	if !ok {
		return nil, nil, false
	}
	inv, err := s.Engine.FindInvoiceByNumber(r.Context(), r.PathValue("invoice"))
	if err != nil {
		s.error(w, r, err)
		return nil, nil, false
	}
	if inv.AccountID != a.ID {
		s.notFound(w, r)
		return nil, nil, false
	}
	return a, inv, true
}

func (s *Server) manageURL(a *billing.Account, inv *billing.Invoice) string {
	return "/accounts/" + a.Number + "/invoices/" + inv.Number + "/manage"
}

func (s *Server) handleManageInvoice(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.operatorInvoice(w, r)
	if !ok {
		return
	}
	s.renderInvoice(w, r, http.StatusOK, a, inv, invoicePage{})
}

func (s *Server) renderInvoice(w http.ResponseWriter, r *http.Request, status int, a *billing.Account, inv *billing.Invoice, data invoicePage) {
	ctx := r.Context()
	pays, _, err := s.ops().Payments(ctx, store.PaymentFilter{AccountID: a.ID, InvoiceID: &inv.ID, Limit: 100})
	if err != nil {
		s.error(w, r, err)
		return
	}
	methods, err := s.Engine.PaymentMethods(ctx, a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, m := range methods {
		if m.Default && m.Kind == store.MethodCard {
			data.Card = m.Label()
		}
	}
	data.Inv, data.Payments, data.RetryKey = inv, pays, randomToken()
	if data.Errors == nil {
		data.Errors = map[string]string{}
		data.Transfer.Amount = inv.AmountDue.Decimal()
		data.Transfer.ReceivedOn = s.accountToday(r, a).String()
	}
	data.Order = invoiceFieldOrder
	s.render(w, r, status, "operator_invoice", &view{Title: inv.Number + " · " + a.Name, Section: "invoices", Account: a, Data: data})
}

// accountToday is the account's today (its test clock's, if it has one).
func (s *Server) accountToday(r *http.Request, a *billing.Account) billing.Date {
	if ov, err := s.Engine.Subscription(r.Context(), a.ID); err == nil {
		return ov.Today
	}
	return billing.DateOf(s.now(), a.Location())
}

// invoiceAction is what each action's handler shares: parse the form, show
// the review, confirm once, and put an error beside its field.
type invoiceAction struct {
	name    string // "bank_transfer": the idempotency scope's action
	first   string // the field an error without a field goes beside
	rename  map[string]string
	page    func(p *invoicePage) // puts the typed form back on the page
	review  func() confirmPage
	do      func() (string, error) // makes the change; the message to show
	params  url.Values             // the form, for the key's request hash
	errs    map[string]string
	payment bool // a declined card is a result to show, not a form error
	direct  bool // no review: the button said what it does
}

func (s *Server) runInvoiceAction(w http.ResponseWriter, r *http.Request, a *billing.Account, inv *billing.Invoice, act invoiceAction) {
	back := func(status int, errs map[string]string) {
		p := invoicePage{Errors: errs}
		act.page(&p)
		s.renderInvoice(w, r, status, a, inv, p)
	}
	if len(act.errs) > 0 {
		back(http.StatusUnprocessableEntity, act.errs)
		return
	}
	if r.PostFormValue("edit") == "1" {
		back(http.StatusOK, map[string]string{})
		return
	}
	if !act.direct && r.PostFormValue("confirm") != "1" {
		page := act.review()
		page.Key = randomToken()
		page.Action = r.URL.Path
		page.Edit = "Change"
		for k, vs := range act.params {
			page.Fields = append(page.Fields, hiddenField{k, vs[0]})
		}
		sortFields(page.Fields)
		s.render(w, r, http.StatusOK, "operator_confirm", &view{Title: page.Heading, Section: "invoices", Account: a, Data: page})
		return
	}
	res, err := s.once(r.Context(), a, "operator."+act.name+":"+inv.Number, r.PostFormValue("idempotency_key"), act.params.Encode(),
		func(ctx context.Context) (onceResult, error) {
			msg, err := act.do()
			if err != nil && !(act.payment && billing.ErrorCode(err) == billing.EPAYMENT && msg != "") {
				return onceResult{}, err
			}
			return onceResult{Location: s.manageURL(a, inv), Flash: msg}, nil
		})
	if err != nil {
		if !isUserError(err) {
			s.error(w, r, err)
			return
		}
		// Read the invoice again: it may have changed since the form.
		if fresh, ferr := s.Engine.FindInvoiceByNumber(r.Context(), inv.Number); ferr == nil {
			inv = fresh
		}
		back(http.StatusUnprocessableEntity, userErrors(err, act.first, act.rename))
		return
	}
	s.flash(r, res.Flash)
	http.Redirect(w, r, res.Location, http.StatusSeeOther)
}

func sortFields(f []hiddenField) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].Name < f[j-1].Name; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

func (s *Server) handleBankTransfer(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.operatorInvoice(w, r)
	if !ok {
		return
	}
	form := transferForm{Amount: strings.TrimSpace(r.PostFormValue("transfer_amount")),
		Reference: strings.TrimSpace(r.PostFormValue("transfer_reference")), ReceivedOn: strings.TrimSpace(r.PostFormValue("transfer_received_on"))}
	errs := map[string]string{}
	amount, msg := parseAmount(form.Amount, inv.Currency, false)
	if msg != "" {
		errs["transfer_amount"] = msg
	} else if amount > inv.AmountDue.Amount {
		// DESIGN (payments): a transfer may be partial; overpaying is refused.
		errs["transfer_amount"] = "Invoice " + inv.Number + " owes " + inv.AmountDue.String() + "; a transfer of " +
			billing.NewMoney(amount, inv.Currency).String() + " would overpay it."
	}
	if form.Reference == "" {
		errs["transfer_reference"] = "Enter the transfer's reference, as on the bank statement."
	} else if len(form.Reference) > 100 {
		errs["transfer_reference"] = "Enter at most 100 characters."
	}
	received, ok := parseDay(form.ReceivedOn)
	if !ok {
		errs["transfer_received_on"] = "Enter the day the transfer arrived."
	} else if today := s.accountToday(r, a); received.After(today) {
		errs["transfer_received_on"] = "A transfer cannot arrive after today (" + formatDay(today) + ")."
	}
	money := billing.NewMoney(amount, inv.Currency)
	left := billing.NewMoney(inv.AmountDue.Amount-amount, inv.Currency)
	s.runInvoiceAction(w, r, a, inv, invoiceAction{
		name: "bank_transfer", first: "transfer_amount", errs: errs,
		rename: map[string]string{"amount": "transfer_amount", "reference": "transfer_reference", "received_on": "transfer_received_on"},
		params: url.Values{"transfer_amount": {form.Amount}, "transfer_reference": {form.Reference}, "transfer_received_on": {form.ReceivedOn}},
		page:   func(p *invoicePage) { p.Transfer = form },
		review: func() confirmPage {
			after := inv.Number + " still owes " + left.String() + " after it, due " + dueText(inv) + "."
			if left.Amount == 0 {
				after = inv.Number + " is paid in full by it."
			}
			return confirmPage{Heading: "Record a bank transfer of " + money.String(),
				Lede: "Check it against the bank statement. Nothing is recorded until you confirm.",
				Rows: []confirmRow{{"Invoice", inv.Number + " (" + a.Name + ", " + a.Number + ")"}, {"Amount due now", inv.AmountDue.String()},
					{"Transfer received", money.String()}, {"Reference", form.Reference}, {"Received on", formatDay(received)}},
				Notes:  []string{after, "The payment shows in the account's Billing History and on the statement."},
				Button: "Record " + money.String() + " received"}
		},
		do: func() (string, error) {
			res, err := s.ops().RecordBankTransfer(r.Context(), inv.ID, engine.BankTransfer{Amount: amount, Reference: form.Reference, ReceivedOn: received})
			if err != nil {
				return "", err
			}
			msg := "Recorded a bank transfer of " + money.String() + " (" + form.Reference + ") against " + inv.Number + ". "
			if res.Invoice.AmountDue.Amount == 0 {
				return msg + inv.Number + " is paid.", nil
			}
			return msg + inv.Number + " still owes " + res.Invoice.AmountDue.String() + ".", nil
		},
	})
}

func dueText(inv *billing.Invoice) string {
	if inv.DueDate == nil {
		return "now"
	}
	return formatDay(*inv.DueDate)
}

func reasonFormOf(r *http.Request, prefix string) reasonForm {
	return reasonForm{Amount: strings.TrimSpace(r.PostFormValue(prefix + "_amount")), Reason: strings.TrimSpace(r.PostFormValue(prefix + "_reason"))}
}

func (f reasonForm) check(prefix, currency string) (int64, map[string]string) {
	errs := map[string]string{}
	amount, msg := parseAmount(f.Amount, currency, false)
	if msg != "" {
		errs[prefix+"_amount"] = msg
	}
	if f.Reason == "" {
		errs[prefix+"_reason"] = "Say why, for the audit log and the credit note."
	} else if len(f.Reason) > 400 {
		errs[prefix+"_reason"] = "Say why in at most 400 characters."
	}
	return amount, errs
}

func (s *Server) handleRefund(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.operatorInvoice(w, r)
	if !ok {
		return
	}
	form := reasonFormOf(r, "refund")
	amount, errs := form.check("refund", inv.Currency)
	pays, _, err := s.ops().Payments(r.Context(), store.PaymentFilter{AccountID: a.ID, InvoiceID: &inv.ID, Limit: 100})
	if err != nil {
		s.error(w, r, err)
		return
	}
	left := invoicePage{Inv: inv, Payments: pays}.Refundable()
	if _, bad := errs["refund_amount"]; !bad && amount > left.Amount {
		errs["refund_amount"] = "At most " + left.String() + ": what " + inv.Number + "'s payments have left to refund."
	}
	money := billing.NewMoney(amount, inv.Currency)
	s.runInvoiceAction(w, r, a, inv, invoiceAction{
		name: "refund", first: "refund_amount", errs: errs,
		rename: map[string]string{"amount": "refund_amount", "reason": "refund_reason"},
		params: url.Values{"refund_amount": {form.Amount}, "refund_reason": {form.Reason}},
		page:   func(p *invoicePage) { p.Refund = form },
		review: func() confirmPage {
			return confirmPage{Heading: "Refund " + money.String() + " of " + inv.Number,
				Lede: "The money goes back the way it came: a card payment through the payment gateway; a bank transfer is returned by you, outside Kore Billing, and only recorded here.",
				Rows: []confirmRow{{"Invoice", inv.Number + " (" + a.Name + ", " + a.Number + ")"}, {"Paid", inv.AmountPaid.String()},
					{"Left to refund", left.String()}, {"Refund", money.String()}, {"Reason", form.Reason}},
				Notes:  []string{"A credit note of " + money.String() + " documents the refund. It does not go to the account's credit balance."},
				Button: "Refund " + money.String(), Danger: true}
		},
		do: func() (string, error) {
			res, err := s.ops().RefundInvoice(r.Context(), inv.ID, engine.RefundRequest{Amount: amount, Reason: form.Reason})
			if err != nil {
				return "", err
			}
			switch res.Refund.Status {
			case store.RefundSucceeded:
				msg := "Refunded " + money.String() + " of " + inv.Number + " to " + res.Refund.MethodLabel + "."
				if res.CreditNote != nil {
					msg += " Credit note " + res.CreditNote.Number + " documents it."
				}
				return msg, nil
			case store.RefundFailed:
				return "", billing.Errorf(billing.EPAYMENT, "The refund failed: %s", res.Refund.FailureMessage)
			}
			return "The refund of " + money.String() + " is on its way; the gateway has not answered yet. It is asked again shortly.", nil
		},
	})
}

func (s *Server) handleCreditNote(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.operatorInvoice(w, r)
	if !ok {
		return
	}
	form := reasonFormOf(r, "credit")
	amount, errs := form.check("credit", inv.Currency)
	money := billing.NewMoney(amount, inv.Currency)
	s.runInvoiceAction(w, r, a, inv, invoiceAction{
		name: "credit_note", first: "credit_amount", errs: errs,
		rename: map[string]string{"amount": "credit_amount", "reason": "credit_reason"},
		params: url.Values{"credit_amount": {form.Amount}, "credit_reason": {form.Reason}},
		page:   func(p *invoicePage) { p.Credit = form },
		review: func() confirmPage {
			after := billing.NewMoney(a.CreditBalance.Amount+amount, a.CreditBalance.Currency)
			return confirmPage{Heading: "Issue a credit note of " + money.String() + " for " + inv.Number,
				Lede: "Finalized invoices never change; a credit note corrects one.",
				Rows: []confirmRow{{"Invoice", inv.Number + " (" + a.Name + ", " + a.Number + ")"}, {"Invoice total", inv.Total.String()},
					{"Credit note", money.String()}, {"Reason", form.Reason}},
				Notes: []string{"The " + money.String() + " goes to the account's discount credits (" + a.CreditBalance.String() + " now, " +
					after.String() + " after), taken off its next invoices. No money is paid out."},
				Button: "Issue credit note"}
		},
		do: func() (string, error) {
			note, err := s.ops().IssueCreditNote(r.Context(), inv.ID, engine.CreditNoteRequest{Amount: amount, Reason: form.Reason})
			if err != nil {
				return "", err
			}
			return "Credit note " + note.Number + " for " + money.String() + " issued; the account's discount credits have it.", nil
		},
	})
}

func (s *Server) handleRetryPayment(w http.ResponseWriter, r *http.Request) {
	a, inv, ok := s.operatorInvoice(w, r)
	if !ok {
		return
	}
	// The button names the amount and the card: pressing it is the
	// confirmation.
	s.runInvoiceAction(w, r, a, inv, invoiceAction{
		name: "retry", first: "retry", payment: true, direct: true,
		rename: map[string]string{},
		params: url.Values{"retry": {inv.AmountDue.Decimal()}},
		page:   func(*invoicePage) {},
		review: func() confirmPage { return confirmPage{} },
		do: func() (string, error) {
			res, err := s.Engine.PayInvoice(r.Context(), inv.ID)
			var be *billing.Error
			if errors.As(err, &be) && be.Code == billing.EPAYMENT && res != nil {
				return "The charge of " + res.Payment.Amount.String() + " to " + res.Payment.MethodLabel + " was declined: " +
					be.Message + " The attempt is recorded.", err
			}
			if err != nil {
				return "", err
			}
			return "Charged " + res.Payment.Amount.String() + " to " + res.Payment.MethodLabel + ": " + inv.Number + " is paid.", nil
		},
	})
}
