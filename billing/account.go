package billing

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// BillingType says how an account pays: online by card per managed user, or
// by a sales contract ("Fixed Subscriptions").
type BillingType string

const (
	BillingOnline       BillingType = "online"
	BillingSubscription BillingType = "subscription"
)

// AccountType is the kind of customer.
type AccountType string

const (
	AccountEnterprise AccountType = "enterprise"
	AccountIndividual AccountType = "individual"
)

// AccountStatus is where an account stands with its payments.
type AccountStatus string

const (
	StatusActive    AccountStatus = "active"
	StatusPastDue   AccountStatus = "past_due"
	StatusSuspended AccountStatus = "suspended"
	StatusClosed    AccountStatus = "closed"
)

// Account is one company's billing account.
type Account struct {
	ID            int64 // internal key; never shown
	Number        string
	Name          string
	Domain        string
	BillingType   BillingType
	AccountType   AccountType
	Currency      string
	TimeZone      string
	Status        AccountStatus
	CreditBalance Money // discount credits applied to the next invoices
	// PayByInvoice is set by an operator for an online account that pays
	// its invoices by bank transfer (ACH / EFT) rather than by card: its
	// invoices are due OnlineInvoiceNetDays after issue, and it may be on a
	// paid plan with no card on file. Contracts say how they pay in their
	// own terms (Contract.PayByInvoice).
	PayByInvoice bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// SignupCredit is read at creation only: the signup credit to grant,
	// in minor units, instead of the operator's default for the currency;
	// nil for the default. It is granted once, as a ledger entry, and not
	// stored on the account.
	SignupCredit *int64
}

// FormatAccountNumber returns the account number for sequence n: "KB-" and
// six digits, growing past six digits rather than wrapping.
func FormatAccountNumber(n int64) string { return fmt.Sprintf("KB-%06d", n) }

var accountNumberRE = regexp.MustCompile(`^KB-[0-9]{6,}$`)

// ValidAccountNumber reports whether s has the form of an account number.
func ValidAccountNumber(s string) bool { return accountNumberRE.MatchString(s) }

// domainRE accepts a DNS name of at least two labels.
var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// Validate checks the fields a caller sets; it normalises the domain to lower
// case and fills the defaults of empty optional fields.
func (a *Account) Validate() error {
	var v Validation
	a.Name = strings.TrimSpace(a.Name)
	a.Domain = strings.ToLower(strings.TrimSpace(a.Domain))
	if a.Name == "" {
		v.Add("name", "Name is required.")
	} else if len(a.Name) > 200 {
		v.Add("name", "Name must be at most 200 characters.")
	}
	if a.Domain == "" {
		v.Add("domain", "Domain is required.")
	} else if !domainRE.MatchString(a.Domain) {
		v.Add("domain", "Domain %q is not a valid domain name.", a.Domain)
	}
	switch a.BillingType {
	case BillingOnline, BillingSubscription:
	case "":
		a.BillingType = BillingOnline
	default:
		v.Add("billing_type", "Billing type must be online or subscription.")
	}
	if a.PayByInvoice && a.BillingType == BillingSubscription {
		v.Add("pay_by_invoice", "A contract says how it pays in its own terms; pay by invoice is for online accounts.")
	}
	switch a.AccountType {
	case AccountEnterprise, AccountIndividual:
	case "":
		a.AccountType = AccountEnterprise
	default:
		v.Add("account_type", "Account type must be enterprise or individual.")
	}
	if a.Currency == "" {
		a.Currency = "USD"
	}
	if err := ValidateCurrency(a.Currency); err != nil {
		v.Add("currency", "%s", ErrorMessage(err))
	}
	if a.TimeZone == "" {
		a.TimeZone = "UTC"
	}
	if _, err := LoadLocation(a.TimeZone); err != nil {
		v.Add("time_zone", "%s", ErrorMessage(err))
	}
	switch a.Status {
	case StatusActive, StatusPastDue, StatusSuspended, StatusClosed:
	case "":
		a.Status = StatusActive
	default:
		v.Add("status", "Status must be active, past_due, suspended or closed.")
	}
	return v.Err()
}

// Location returns the account's time zone; Validate has checked it.
func (a *Account) Location() *time.Location {
	loc, err := LoadLocation(a.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// LoadLocation loads an IANA time zone, with an EINVALID error for an unknown
// name. "Local" is refused: an account's zone must mean the same everywhere.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, Errorf(EINVALID, "Time zone %q is not an IANA time zone name.", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Errorf(EINVALID, "Time zone %q is not an IANA time zone name.", name)
	}
	return loc, nil
}

// AccountFilter selects accounts. Query matches the number, name, domain or
// billing email; nil fields match everything.
type AccountFilter struct {
	Query       string
	Status      *AccountStatus
	BillingType *BillingType
	Offset      int
	Limit       int
}

// AccountUpdate holds the fields an operator may change; nil means unchanged.
type AccountUpdate struct {
	Name        *string
	Domain      *string
	AccountType *AccountType
	TimeZone    *string
	Status      *AccountStatus
	// PayByInvoice: an online account pays by bank transfer (operators).
	PayByInvoice *bool
}

// OnlineInvoiceNetDays is when the invoice of an online account that pays
// by invoice is due: this many days after it is issued.
const OnlineInvoiceNetDays = 30

// Apply returns a copy of a with the update applied, validated.
func (u AccountUpdate) Apply(a Account) (Account, error) {
	if u.Name != nil {
		a.Name = *u.Name
	}
	if u.Domain != nil {
		a.Domain = *u.Domain
	}
	if u.AccountType != nil {
		a.AccountType = *u.AccountType
	}
	if u.TimeZone != nil {
		a.TimeZone = *u.TimeZone
	}
	if u.Status != nil {
		a.Status = *u.Status
	}
	if u.PayByInvoice != nil {
		a.PayByInvoice = *u.PayByInvoice
	}
	return a, a.Validate()
}
