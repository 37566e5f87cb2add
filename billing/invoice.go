package billing

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DESIGN.md: "Invoice (the statement): number INV- + year + gapless sequence;
// billed to, issue date, payment type (card, ACH/EFT, credit redeem, refund),
// account ID and type; lines that say the users and the days charged or
// credited (description, quantity, unit amount, days, amount, service period,
// proration flag); subtotal, discount credits, tax, total, amount paid, amount
// due; status draft → open → paid | void | uncollectible. Finalized invoices
// never change; corrections are credit notes."

// InvoiceStatus is where an invoice is in its life.
type InvoiceStatus string

const (
	// InvoiceDraft is being built; it has no number yet and may still change.
	InvoiceDraft InvoiceStatus = "draft"
	// InvoiceOpen is finalized and awaits payment.
	InvoiceOpen InvoiceStatus = "open"
	// InvoicePaid is settled.
	InvoicePaid InvoiceStatus = "paid"
	// InvoiceVoid was cancelled and is owed by nobody.
	InvoiceVoid InvoiceStatus = "void"
	// InvoiceUncollectible is given up on, though it may still be paid.
	InvoiceUncollectible InvoiceStatus = "uncollectible"
)

// Valid reports whether s is a known status.
func (s InvoiceStatus) Valid() bool {
	switch s {
	case InvoiceDraft, InvoiceOpen, InvoicePaid, InvoiceVoid, InvoiceUncollectible:
		return true
	}
	return false
}

// Finalized reports whether the invoice has left draft: its lines and amounts
// never change again, only its status. The empty status is a draft not yet
// validated.
func (s InvoiceStatus) Finalized() bool { return s != InvoiceDraft && s != "" }

var invoiceTransitions = map[InvoiceStatus][]InvoiceStatus{
	InvoiceDraft:         {InvoiceOpen, InvoiceVoid},
	InvoiceOpen:          {InvoicePaid, InvoiceVoid, InvoiceUncollectible},
	InvoiceUncollectible: {InvoicePaid},
}

// CanTransition reports whether an invoice may go from one status to
// another: draft → open or void; open → paid, void or uncollectible;
// uncollectible → paid (a late payment). Paid and void are final.
func CanTransition(from, to InvoiceStatus) bool {
	for _, s := range invoiceTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// CheckTransition returns an ESTATE error (reason "invalid_invoice_transition")
// unless CanTransition(from, to).
func CheckTransition(from, to InvoiceStatus) error {
	if !CanTransition(from, to) {
		return ReasonErrorf(ESTATE, "invalid_invoice_transition", "An invoice cannot go from %s to %s.", from, to)
	}
	return nil
}

// InvoiceKind says what an invoice bills. With the subscription and the
// period it is the invoice's identity: DESIGN.md's "at most one invoice per
// (subscription, period, kind)".
type InvoiceKind string

const (
	// InvoiceSubscription bills a period in advance, at renewal.
	InvoiceSubscription InvoiceKind = "subscription"
	// InvoiceChange bills a change during a period: more users, a dearer
	// plan, monthly to annual, contract add-on subscriptions.
	InvoiceChange InvoiceKind = "change"
	// InvoiceOverage bills a contract's peak users above the prepaid ones,
	// at the period end.
	InvoiceOverage InvoiceKind = "overage"
	// InvoiceCreditNote corrects a finalized invoice.
	InvoiceCreditNote InvoiceKind = "credit_note"
)

// Valid reports whether k is a known kind.
func (k InvoiceKind) Valid() bool {
	switch k {
	case InvoiceSubscription, InvoiceChange, InvoiceOverage, InvoiceCreditNote:
		return true
	}
	return false
}

// LineKind says whether a line charges or credits.
type LineKind string

const (
	// LineCharge is an amount owed; its Amount is zero or more.
	LineCharge LineKind = "charge"
	// LineCredit gives back unused time; its Amount is zero or less.
	LineCredit LineKind = "credit"
)

// Valid reports whether k is charge or credit.
func (k LineKind) Valid() bool { return k == LineCharge || k == LineCredit }

// InvoicePaymentType is how an invoice was or will be settled, as the
// statement shows it.
type InvoicePaymentType string

const (
	InvoicePaymentCard   InvoicePaymentType = "card"
	InvoicePaymentACH    InvoicePaymentType = "ach_eft" // ACH / EFT / bank transfer
	InvoicePaymentCredit InvoicePaymentType = "credit_redeem"
	InvoicePaymentRefund InvoicePaymentType = "refund"
)

// Valid reports whether t is a known payment type; "" (not yet known) is not.
func (t InvoicePaymentType) Valid() bool {
	switch t {
	case InvoicePaymentCard, InvoicePaymentACH, InvoicePaymentCredit, InvoicePaymentRefund:
		return true
	}
	return false
}

// InvoiceLine is one line of a statement: the users and days charged or
// credited. Amount is Prorate(UnitAmount, Quantity, Days, PeriodDays) for a
// prorated line and Quantity × UnitAmount for a whole one, negated for a
// credit; UnitAmount is the per-user price for a whole period and never
// negative.
type InvoiceLine struct {
	Description string   `json:"description"`
	Kind        LineKind `json:"kind"`
	Quantity    int64    `json:"quantity"` // users
	UnitAmount  Money    `json:"unit_amount"`
	Days        int      `json:"days"`        // days charged or credited; 0 when not prorated
	PeriodDays  int      `json:"period_days"` // days in the period; 0 when not prorated
	Amount      Money    `json:"amount"`
	Period      Period   `json:"period"` // the service period of the line
	Proration   bool     `json:"proration"`
}

// Validate checks a line on its own: its kind, the sign of its amount, its
// days and currencies. It does not recompute the amount, so that a credit
// note can correct any amount.
func (l *InvoiceLine) Validate() error {
	var v Validation
	l.Description = strings.TrimSpace(l.Description)
	if l.Description == "" || len(l.Description) > 500 {
		v.Add("description", "A line needs a description of at most 500 characters.")
	}
	if !l.Kind.Valid() {
		v.Add("kind", "Line kind must be charge or credit.")
	}
	if l.Quantity < 0 {
		v.Add("quantity", "Quantity cannot be negative.")
	}
	if l.UnitAmount.Amount < 0 {
		v.Add("unit_amount", "Unit amount cannot be negative.")
	}
	if l.UnitAmount.Currency != l.Amount.Currency {
		v.Add("amount", "Amount is in %s but the unit amount in %s.", l.Amount.Currency, l.UnitAmount.Currency)
	}
	if l.Kind == LineCharge && l.Amount.Amount < 0 {
		v.Add("amount", "A charge cannot be negative.")
	}
	if l.Kind == LineCredit && l.Amount.Amount > 0 {
		v.Add("amount", "A credit cannot be positive.")
	}
	if l.Proration {
		if l.PeriodDays <= 0 || l.Days < 0 || l.Days > l.PeriodDays {
			v.Add("days", "A prorated line needs 0 ≤ days ≤ period days and period days > 0.")
		}
	} else if l.Days != 0 || l.PeriodDays != 0 {
		v.Add("days", "A line that is not prorated has no days.")
	}
	if !l.Period.IsZero() && l.Period.Validate() != nil {
		v.Add("period", "Service period %s is not a range of days.", l.Period)
	}
	return v.Err()
}

// SeatLine returns the line that charges (LineCharge) or credits
// (LineCredit) quantity seats of planName at unit per period, for the days of
// period from the day from (counted) to its end. The line's service period is
// [from, period.End); it is prorated unless from is on or before the start.
// It returns an EINVALID error for an invalid period, a from on or after the
// end, a bad kind or quantity, or a negative unit.
func SeatLine(kind LineKind, planName string, unit Money, quantity int64, period Period, from Date) (InvoiceLine, error) {
	if err := period.Validate(); err != nil {
		return InvoiceLine{}, err
	}
	if !kind.Valid() {
		return InvoiceLine{}, ReasonErrorf(EINVALID, "invalid_line_kind", "Line kind %q must be charge or credit.", kind)
	}
	if unit.Amount < 0 {
		return InvoiceLine{}, ReasonErrorf(EINVALID, "invalid_price", "A seat price cannot be negative (%s).", unit)
	}
	if !from.Before(period.End) {
		return InvoiceLine{}, ReasonErrorf(EINVALID, "invalid_proration", "Day %s is not before the end of period %s.", from, period)
	}
	if from.Before(period.Start) {
		from = period.Start
	}
	days, periodDays := period.DaysLeft(from), period.Days()
	amount, err := Prorate(unit, quantity, days, periodDays)
	if err != nil {
		return InvoiceLine{}, err
	}
	line := InvoiceLine{
		Kind:       kind,
		Quantity:   quantity,
		UnitAmount: unit,
		Amount:     amount,
		Period:     Period{Start: from, End: period.End},
		Proration:  days < periodDays,
	}
	if line.Proration {
		line.Days, line.PeriodDays = days, periodDays
	}
	if kind == LineCredit {
		line.Amount = line.Amount.Neg()
		line.Description = CreditLineDescription(planName, quantity, line.Days, line.PeriodDays)
	} else {
		line.Description = ChargeLineDescription(planName, quantity, line.Days, line.PeriodDays)
	}
	return line, nil
}

// ChargeLineDescription says what a charge line bills: "Premium — 3 users ×
// 20 of 30 days", or "Premium — 3 users" for a whole period (periodDays 0,
// as on a line that is not prorated, or days == periodDays).
func ChargeLineDescription(planName string, users int64, days, periodDays int) string {
	return planName + " — " + usersAndDays(users, days, periodDays)
}

// CreditLineDescription says what a credit line gives back: "Unused time on
// Premium — 3 users × 13 of 31 days".
func CreditLineDescription(planName string, users int64, days, periodDays int) string {
	return "Unused time on " + planName + " — " + usersAndDays(users, days, periodDays)
}

// InactivityCreditDescription says why an inactivity credit was given:
// "Inactivity credit — ada@example.com, 15 days without activity — 1 user ×
// 17 of 31 days".
func InactivityCreditDescription(email string, days, periodDays int) string {
	return fmt.Sprintf("Inactivity credit — %s, %d days without activity — %s",
		email, InactivityDays, usersAndDays(1, days, periodDays))
}

// OverageLineDescription says what an overage line bills: "Enterprise
// overage — 12 users above 100 prepaid (peak 112)".
func OverageLineDescription(planName string, peak, prepaid int64) string {
	return fmt.Sprintf("%s overage — %s above %d prepaid (peak %d)",
		planName, plural(peak-prepaid, "user", "users"), prepaid, peak)
}

func usersAndDays(users int64, days, periodDays int) string {
	s := plural(users, "user", "users")
	if periodDays > 0 && days != periodDays {
		s += fmt.Sprintf(" × %d of %d days", days, periodDays)
	}
	return s
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// BilledTo is the billing profile as printed on an invoice, copied when the
// invoice is finalized so that a later profile change does not rewrite it.
type BilledTo struct {
	CompanyName string  `json:"company_name"`
	ContactName string  `json:"contact_name"`
	Address     Address `json:"address"`
	Phone       string  `json:"phone,omitempty"`
	Email       string  `json:"email"`
	TaxID       string  `json:"tax_id,omitempty"`
}

// BilledToProfile returns the snapshot of p printed on an invoice.
func BilledToProfile(p BillingProfile) BilledTo {
	return BilledTo{
		CompanyName: p.CompanyName,
		ContactName: p.ContactName,
		Address:     p.Address,
		Phone:       p.Phone,
		Email:       p.Email,
		TaxID:       p.TaxID,
	}
}

// Invoice is a statement. Its lines and amounts are set while it is a draft
// (Compute) and never change once it is finalized; only Status, AmountPaid,
// AmountDue, PaymentType and the status timestamps move after that.
type Invoice struct {
	ID             int64
	Number         string // "INV-2026-000042", assigned when finalized; "" while draft
	AccountID      int64
	AccountNumber  string      // "KB-000042", as printed
	AccountType    AccountType // as printed
	SubscriptionID *int64      // nil for an invoice of no subscription
	Kind           InvoiceKind
	Status         InvoiceStatus
	Currency       string
	Period         Period // the service period billed
	IssueDate      Date   // in the account's time zone
	DueDate        *Date  // nil when charged at once (online)
	PaymentType    InvoicePaymentType
	BilledTo       BilledTo
	Lines          []InvoiceLine

	Subtotal       Money // Σ line amounts
	CreditsApplied Money // discount credits taken from the balance
	Tax            Money
	Total          Money // Subtotal − CreditsApplied + Tax
	AmountPaid     Money
	AmountDue      Money // what is still owed: max(Total − AmountPaid, 0)

	TaxRateBP  int    // basis points; 825 = 8.25%
	TaxCountry string // the country whose rate was applied; "" for none

	CorrectsInvoiceID *int64 // for a credit note: the invoice it corrects

	CreatedAt             time.Time
	FinalizedAt           *time.Time
	PaidAt                *time.Time
	VoidedAt              *time.Time
	MarkedUncollectibleAt *time.Time
}

// Validate checks an invoice's own fields and each line's, filling a draft
// status and the currency of zero amounts. It does not check the totals:
// Compute sets those.
func (inv *Invoice) Validate() error {
	var v Validation
	if err := ValidateCurrency(inv.Currency); err != nil {
		v.Add("currency", "%s", ErrorMessage(err))
	}
	if !inv.Kind.Valid() {
		v.Add("kind", "Invoice kind must be subscription, change, overage or credit_note.")
	}
	if inv.Status == "" {
		inv.Status = InvoiceDraft
	} else if !inv.Status.Valid() {
		v.Add("status", "Status must be draft, open, paid, void or uncollectible.")
	}
	if inv.Number != "" && !ValidInvoiceNumber(inv.Number) {
		v.Add("number", "Invoice number %q is not of the form INV-2026-000042.", inv.Number)
	}
	// A draft that is voided never had a number: numbers are gapless, so
	// they are given only to invoices that are finalized (draft → open).
	if inv.Status.Finalized() && inv.Status != InvoiceVoid && inv.Number == "" {
		v.Add("number", "A finalized invoice has a number.")
	}
	if !inv.Period.IsZero() && inv.Period.Validate() != nil {
		v.Add("period", "Period %s is not a range of days.", inv.Period)
	}
	if !inv.IssueDate.Valid() {
		v.Add("issue_date", "Issue date is required.")
	} else if inv.DueDate != nil && inv.DueDate.Before(inv.IssueDate) {
		v.Add("due_date", "Due date %s is before the issue date %s.", inv.DueDate, inv.IssueDate)
	}
	if inv.PaymentType != "" && !inv.PaymentType.Valid() {
		v.Add("payment_type", "Payment type must be card, ach_eft, credit_redeem or refund.")
	}
	if inv.TaxRateBP < 0 || inv.TaxRateBP > MaxTaxBasisPoints {
		v.Add("tax_rate", "A tax rate must be between 0%% and 100%%.")
	}
	if inv.TaxCountry != "" && !ValidCountry(inv.TaxCountry) {
		v.Add("tax_country", "Country %q is not an ISO 3166 country code.", inv.TaxCountry)
	}
	if inv.Kind == InvoiceCreditNote && inv.CorrectsInvoiceID == nil {
		v.Add("corrects_invoice", "A credit note names the invoice it corrects.")
	}
	for i := range inv.Lines {
		l := &inv.Lines[i]
		if err := l.Validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				for _, f := range e.Fields {
					v.Add(fmt.Sprintf("lines[%d].%s", i, f.Field), "%s", f.Message)
				}
			}
		}
		if l.Amount.Currency != inv.Currency {
			v.Add(fmt.Sprintf("lines[%d].amount", i), "Line is in %s but the invoice in %s.", l.Amount.Currency, inv.Currency)
		}
	}
	for _, m := range []*Money{&inv.Subtotal, &inv.CreditsApplied, &inv.Tax, &inv.Total, &inv.AmountPaid, &inv.AmountDue} {
		if m.Currency == "" && m.Amount == 0 {
			m.Currency = inv.Currency
		} else if m.Currency != inv.Currency {
			v.Add("currency", "Amounts must be in the invoice currency %s.", inv.Currency)
			break
		}
	}
	return v.Err()
}

// InvoiceTotals are the amounts at the foot of an invoice and the credit
// balance it leaves.
type InvoiceTotals struct {
	Subtotal           Money // Σ line amounts
	CreditsApplied     Money // taken from the credit balance; never negative
	Tax                Money // on Subtotal − CreditsApplied; never negative
	Total              Money // Subtotal − CreditsApplied + Tax
	AmountDue          Money // max(Total, 0)
	CreditBalanceAfter Money // the balance − CreditsApplied, plus −Total when Total < 0
}

// ComputeTotals returns the totals of an invoice of lines for an account with
// creditBalance, taxed at taxRateBP basis points. All amounts are in the
// balance's currency.
//
// DESIGN.md: "Tax: exclusive, rate per country (operator-configured),
// computed on the invoice subtotal after credits, rounded once." Total = Σ
// lines − credits applied + tax.
//
// Credits cover at most the subtotal. When the subtotal is negative — a
// change whose credit line is larger than its charge line — no credits are
// applied and no tax is computed on the negative amount; the total is that
// negative amount, nothing is due, and it goes back to the credit balance, to
// be applied to the next invoices like any other credit (DESIGN.md has no
// refunds for changes). A credit note that must also return tax is not
// computed here.
//
// It returns an EINVALID error for a negative balance, a line in another
// currency, a rate outside 0–10000 or an overflow.
func ComputeTotals(lines []InvoiceLine, creditBalance Money, taxRateBP int) (InvoiceTotals, error) {
	cur := creditBalance.Currency
	if err := ValidateCurrency(cur); err != nil {
		return InvoiceTotals{}, err
	}
	if _, err := Tax(Zero(cur), taxRateBP); err != nil { // the rate, even when nothing is taxed
		return InvoiceTotals{}, err
	}
	if creditBalance.Amount < 0 {
		return InvoiceTotals{}, ReasonErrorf(EINVALID, "negative_credit_balance", "A credit balance cannot be negative (%s).", creditBalance)
	}
	subtotal := Zero(cur)
	for _, l := range lines {
		if err := creditBalance.SameCurrency(l.Amount); err != nil {
			return InvoiceTotals{}, err
		}
		var ok bool
		if subtotal, ok = addMoney(subtotal, l.Amount); !ok {
			return InvoiceTotals{}, amountOverflow()
		}
	}
	applied, remaining, err := ApplyCredit(creditBalance, subtotal)
	if err != nil {
		return InvoiceTotals{}, err
	}
	t := InvoiceTotals{Subtotal: subtotal, CreditsApplied: applied, Tax: Zero(cur), AmountDue: Zero(cur)}
	taxable := subtotal.Sub(applied)
	if taxable.Amount > 0 {
		if t.Tax, err = Tax(taxable, taxRateBP); err != nil {
			return InvoiceTotals{}, err
		}
	}
	var ok bool
	if t.Total, ok = addMoney(taxable, t.Tax); !ok {
		return InvoiceTotals{}, amountOverflow()
	}
	t.CreditBalanceAfter = remaining
	if t.Total.Amount > 0 {
		t.AmountDue = t.Total
	} else if t.CreditBalanceAfter, ok = addMoney(remaining, t.Total.Neg()); !ok {
		return InvoiceTotals{}, amountOverflow()
	}
	return t, nil
}

// Compute sets a draft invoice's totals from its lines, an account's credit
// balance and the invoice's TaxRateBP, and returns the credit balance left.
// It returns an ESTATE error (reason "invoice_not_editable") for a finalized
// invoice, which never changes, and ComputeTotals's errors.
func (inv *Invoice) Compute(creditBalance Money) (Money, error) {
	if inv.Status.Finalized() {
		return Money{}, ReasonErrorf(ESTATE, "invoice_not_editable", "Invoice %s is %s; finalized invoices never change.", inv.Number, inv.Status)
	}
	if err := creditBalance.SameCurrency(Zero(inv.Currency)); err != nil {
		return Money{}, err
	}
	t, err := ComputeTotals(inv.Lines, creditBalance, inv.TaxRateBP)
	if err != nil {
		return Money{}, err
	}
	inv.Subtotal, inv.CreditsApplied, inv.Tax, inv.Total = t.Subtotal, t.CreditsApplied, t.Tax, t.Total
	if inv.AmountPaid.Currency == "" {
		inv.AmountPaid = Zero(inv.Currency)
	}
	inv.AmountDue = Zero(inv.Currency)
	if due := inv.Total.Amount - inv.AmountPaid.Amount; due > 0 {
		inv.AmountDue.Amount = due
	}
	return t.CreditBalanceAfter, nil
}

// FormatInvoiceNumber returns the number of the seq-th invoice of a year:
// "INV-2026-000042", growing past six digits rather than wrapping.
func FormatInvoiceNumber(year int, seq int64) string {
	return fmt.Sprintf("INV-%04d-%06d", year, seq)
}

var invoiceNumberRE = regexp.MustCompile(`^INV-[0-9]{4}-[0-9]{6,}$`)

// ValidInvoiceNumber reports whether s has the form of an invoice number.
func ValidInvoiceNumber(s string) bool { return invoiceNumberRE.MatchString(s) }
