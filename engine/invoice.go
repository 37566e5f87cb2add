package engine

import (
	"context"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// draft builds the invoice of lines for the account's subscription, issued
// on issue, with its totals: the credit balance applied first, then tax at
// the rate of the billing profile's country (DESIGN: "Tax: exclusive, rate
// per country (operator-configured), computed on the invoice subtotal after
// credits, rounded once"; no profile, no tax). It writes nothing: preview and
// confirm both call it, so the preview is the invoice confirm creates.
// edit, when given, adjusts the invoice before its totals are computed.
func draft(st *state, kind billing.InvoiceKind, period billing.Period, issue billing.Date, lines []billing.InvoiceLine, edit ...func(*billing.Invoice)) (*billing.Invoice, billing.Money, error) {
	inv := &billing.Invoice{
		AccountID: st.a.ID, AccountNumber: st.a.Number, AccountType: st.a.AccountType,
		Kind: kind, Status: billing.InvoiceDraft, Currency: st.a.Currency, Period: period, IssueDate: issue,
		Lines: lines, PaymentType: billing.InvoicePaymentCard,
	}
	if st.sub != nil && st.sub.ID != 0 {
		id := st.sub.ID
		inv.SubscriptionID = &id
	}
	if err := billedTo(st, inv); err != nil {
		return nil, billing.Money{}, err
	}
	if c := st.sub.Contract; c != nil {
		// DESIGN: "Contract invoices are due after the payment terms."
		due := issue.AddDays(c.NetDays)
		inv.DueDate = &due
		if c.PayByInvoice {
			// By bank transfer, unless the contract's admin has
			// switched to a card: the default method is what collects.
			def, err := st.tx.DefaultPaymentMethod(st.a.ID)
			if err != nil {
				return nil, billing.Money{}, err
			}
			if def == nil || def.Kind != store.MethodCard {
				inv.PaymentType = billing.InvoicePaymentACH
			}
		}
	} else if st.a.PayByInvoice {
		// An online account an operator set to pay by invoice: paid by
		// bank transfer, due OnlineInvoiceNetDays after issue, with the
		// reminders of a transfer rather than the card's retries.
		due := issue.AddDays(billing.OnlineInvoiceNetDays)
		inv.DueDate = &due
		inv.PaymentType = billing.InvoicePaymentACH
	}
	for _, f := range edit {
		f(inv)
	}
	after, err := inv.Compute(st.a.CreditBalance)
	if err != nil {
		return nil, billing.Money{}, err
	}
	if err := inv.Validate(); err != nil {
		return nil, billing.Money{}, err
	}
	return inv, after, nil
}

// billedTo copies the billing profile onto the invoice, with the tax rate of
// its country.
func billedTo(st *state, inv *billing.Invoice) error {
	p, err := st.tx.FindProfile(st.a.ID)
	if err != nil {
		return err
	}
	if p == nil {
		inv.BilledTo = billing.BilledTo{CompanyName: st.a.Name}
		return nil
	}
	inv.BilledTo = billing.BilledToProfile(*p)
	inv.TaxCountry = p.Address.Country
	rate, err := st.tx.TaxRate(p.Address.Country)
	if err != nil {
		return err
	}
	if rate != nil {
		inv.TaxRateBP = rate.BasisPoints
	}
	return nil
}

// issue finalizes a draft: it takes its number, stores it, and moves the
// credit balance — the credits the invoice applied, and a negative total,
// which goes back to the balance — with a ledger entry for each movement.
// DESIGN: "online invoices are charged at once, after credits": an online
// invoice stays open for the payments to collect; one that owes nothing is
// paid at once, by credit redeem when credits covered it.
func issue(st *state, inv *billing.Invoice, balanceAfter billing.Money) error {
	status := billing.InvoiceOpen
	if inv.Total.Amount <= 0 {
		status = billing.InvoicePaid
		if inv.CreditsApplied.Amount > 0 {
			inv.PaymentType = billing.InvoicePaymentCredit
		}
	}
	inv.Status = status
	if err := st.tx.CreateInvoice(inv); err != nil {
		return err
	}
	if err := finalized(st, inv); err != nil {
		return err
	}
	if inv.CreditsApplied.Amount > 0 {
		ct := &store.CreditTransaction{AccountID: st.a.ID, Amount: inv.CreditsApplied.Neg(), Reason: store.CreditApplied,
			InvoiceID: &inv.ID, Description: "Applied to " + inv.Number}
		if err := st.tx.AddCredit(ct); err != nil {
			return err
		}
	}
	if inv.Total.Amount < 0 {
		reason, what := store.CreditChangeCredit, "Unused time credited by "
		if inv.Kind == billing.InvoiceCreditNote {
			reason, what = store.CreditRefund, "Credit note "
		}
		ct := &store.CreditTransaction{AccountID: st.a.ID, Amount: inv.Total.Neg(), Reason: reason,
			InvoiceID: &inv.ID, Description: what + inv.Number}
		if err := st.tx.AddCredit(ct); err != nil {
			return err
		}
	}
	st.a.CreditBalance = balanceAfter
	return nil
}

// finalized tells of an invoice just created: every finalized invoice is
// invoice.finalized (its email), and one created paid — by credits, or
// owing nothing — is invoice.paid at once, like one a payment settles,
// whatever paid it.
func finalized(st *state, inv *billing.Invoice) error {
	if st.notify == nil {
		return nil
	}
	n := Notification{Type: NotifyInvoiceFinalized, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: inv}
	if err := st.notify(n); err != nil {
		return err
	}
	if inv.Status != billing.InvoicePaid {
		return nil
	}
	n.Type = NotifyInvoicePaid
	return st.notify(n)
}

// CreditNoteRequest corrects a finalized invoice: Amount (minor units, more
// than zero, at most what the invoice and its earlier credit notes leave)
// goes back to the account's credit balance.
type CreditNoteRequest struct {
	Amount int64
	Reason string
}

// IssueCreditNote issues a credit note for the invoice: DESIGN "Finalized
// invoices never change; corrections are credit notes." The note is an
// invoice of kind credit_note that names the invoice it corrects, with one
// credit line of the amount; its negative total goes to the credit balance
// (ledger reason "refund"). The corrected invoice is left as it is.
func (e *Engine) IssueCreditNote(ctx context.Context, invoiceID int64, req CreditNoteRequest) (*billing.Invoice, error) {
	var v billing.Validation
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Amount < 1 {
		v.Add("amount", "A credit note gives back at least one minor unit.")
	}
	if req.Reason == "" || len(req.Reason) > 400 {
		v.Add("reason", "Say why, in at most 400 characters.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var note *billing.Invoice
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		orig, err := tx.FindInvoice(invoiceID)
		if err != nil {
			return err
		}
		st, err := e.open(ctx, tx, orig.AccountID)
		if err != nil {
			return err
		}
		switch {
		case orig.Kind == billing.InvoiceCreditNote:
			return billing.ReasonErrorf(billing.ESTATE, "not_creditable", "Invoice %s is a credit note itself.", orig.Number)
		case !orig.Status.Finalized() || orig.Status == billing.InvoiceVoid:
			return billing.ReasonErrorf(billing.ESTATE, "not_creditable", "Only an open, paid or uncollectible invoice can be credited; this one is %s.", orig.Status)
		}
		given, err := tx.CreditNotesTotal(orig.ID)
		if err != nil {
			return err
		}
		if left := orig.Total.Amount - given; req.Amount > left {
			return &billing.Error{Code: billing.EINVALID, Reason: "credit_exceeds_invoice",
				Message: "The credit note is more than invoice " + orig.Number + " leaves to credit (" +
					billing.NewMoney(max(left, 0), orig.Currency).String() + ").",
				Fields: []billing.FieldError{{Field: "amount", Message: "At most " + billing.NewMoney(max(left, 0), orig.Currency).String() + "."}}}
		}
		amount := billing.NewMoney(req.Amount, orig.Currency)
		line := billing.InvoiceLine{Description: "Credit for " + orig.Number + ": " + req.Reason, Kind: billing.LineCredit,
			Quantity: 1, UnitAmount: amount, Amount: amount.Neg(), Period: orig.Period}
		inv, after, err := draft(st, billing.InvoiceCreditNote, orig.Period, st.today, []billing.InvoiceLine{line},
			func(inv *billing.Invoice) {
				inv.SubscriptionID, inv.CorrectsInvoiceID = orig.SubscriptionID, &orig.ID
				inv.DueDate, inv.PaymentType = nil, billing.InvoicePaymentCredit
			})
		if err != nil {
			return err
		}
		if err := issue(st, inv, after); err != nil {
			return err
		}
		note = inv
		return tx.Audit("invoice.credit_note", "invoice", inv.Number, st.a.ID, nil, struct {
			Corrects string        `json:"corrects"`
			Amount   billing.Money `json:"amount"`
			Reason   string        `json:"reason"`
			Balance  billing.Money `json:"credit_balance"`
		}{orig.Number, amount, req.Reason, st.a.CreditBalance})
	})
	if err != nil {
		return nil, err
	}
	return note, nil
}

// FindInvoices returns a page of the account's invoices, newest first.
func (e *Engine) FindInvoices(ctx context.Context, accountID int64, limit, offset int) ([]*billing.Invoice, int, error) {
	return e.db.FindInvoices(ctx, store.InvoiceFilter{AccountID: accountID, Limit: limit, Offset: offset})
}

// FindCredits returns a page of the account's credit ledger, newest first.
func (e *Engine) FindCredits(ctx context.Context, accountID int64, limit, offset int) ([]*store.CreditTransaction, int, error) {
	return e.db.FindCreditTransactions(ctx, accountID, limit, offset)
}

// CreditTransaction is one movement of an account's credit balance.
type CreditTransaction = store.CreditTransaction

// FindInvoice returns one invoice with its lines, or ENOTFOUND.
func (e *Engine) FindInvoice(ctx context.Context, id int64) (*billing.Invoice, error) {
	return e.db.FindInvoice(ctx, id)
}

// FindInvoiceByNumber returns the invoice with the number, or ENOTFOUND.
func (e *Engine) FindInvoiceByNumber(ctx context.Context, number string) (*billing.Invoice, error) {
	return e.db.FindInvoiceByNumber(ctx, number)
}

// Tax rates, set by operators per country.

// SetTaxRate makes r its country's rate.
func (e *Engine) SetTaxRate(ctx context.Context, r *billing.TaxRate) error {
	return e.db.SetTaxRate(ctx, r)
}

// DeleteTaxRate removes the country's rate; ENOTFOUND when it has none.
func (e *Engine) DeleteTaxRate(ctx context.Context, country string) error {
	return e.db.DeleteTaxRate(ctx, country)
}

// FindTaxRates returns every rate, ordered by country.
func (e *Engine) FindTaxRates(ctx context.Context) ([]*billing.TaxRate, error) {
	return e.db.FindTaxRates(ctx)
}

// FindTaxRate returns the country's rate, or ENOTFOUND.
func (e *Engine) FindTaxRate(ctx context.Context, country string) (*billing.TaxRate, error) {
	return e.db.FindTaxRate(ctx, country)
}
