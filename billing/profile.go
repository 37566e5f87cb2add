package billing

import (
	"net/mail"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Address is a postal address; Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country"`
}

// BillingProfile is an account's billing contact: who receives invoices and
// whose details are printed on them. The contact need not be an admin.
type BillingProfile struct {
	AccountID     int64
	CompanyName   string
	ContactName   string
	Address       Address
	Phone         string // E.164 once validated
	Email         string
	InvoiceEmails []string // extra addresses that receive invoices
	TaxID         string
	UpdatedAt     time.Time
}

// MaxInvoiceEmails bounds the extra invoice recipients.
const MaxInvoiceEmails = 10

// Validate checks every field, naming each one that is wrong, and normalises
// what it accepts: trimmed strings, lower-case emails, upper-case country,
// and the telephone in E.164 (parsed in the address's country when it has no
// international prefix).
func (p *BillingProfile) Validate() error {
	var v Validation
	trim := func(s *string) { *s = strings.TrimSpace(*s) }
	for _, s := range []*string{&p.CompanyName, &p.ContactName, &p.Phone, &p.Email, &p.TaxID,
		&p.Address.Line1, &p.Address.Line2, &p.Address.City, &p.Address.Region,
		&p.Address.PostalCode, &p.Address.Country} {
		trim(s)
	}
	required := func(field, value, label string) {
		if value == "" {
			v.Add(field, "%s is required.", label)
		} else if len(value) > 200 {
			v.Add(field, "%s must be at most 200 characters.", label)
		}
	}
	required("company_name", p.CompanyName, "Company name")
	required("contact_name", p.ContactName, "Contact name")
	required("address.line1", p.Address.Line1, "Address")
	required("address.city", p.Address.City, "City")
	if len(p.Address.Line2) > 200 || len(p.Address.Region) > 200 || len(p.Address.PostalCode) > 40 || len(p.TaxID) > 64 {
		v.Add("address", "Address fields are too long.")
	}

	p.Address.Country = strings.ToUpper(p.Address.Country)
	countryOK := false
	if p.Address.Country == "" {
		v.Add("address.country", "Country is required.")
	} else if !ValidCountry(p.Address.Country) {
		v.Add("address.country", "Country %q is not an ISO 3166 country code.", p.Address.Country)
	} else {
		countryOK = true
	}

	if email, err := normalizeEmail(p.Email); p.Email == "" {
		v.Add("email", "Email is required.")
	} else if err != nil {
		v.Add("email", "Email %q is not a valid email address.", p.Email)
	} else {
		p.Email = email
	}

	if p.Phone == "" {
		v.Add("phone", "Telephone is required.")
	} else if e164, err := normalizePhone(p.Phone, p.Address.Country, countryOK); err != nil {
		v.Add("phone", "Telephone %q is not a valid phone number; include the country code, as in +1 415 555 0100.", p.Phone)
	} else {
		p.Phone = e164
	}

	if len(p.InvoiceEmails) > MaxInvoiceEmails {
		v.Add("invoice_emails", "At most %d extra invoice emails.", MaxInvoiceEmails)
	}
	seen := map[string]bool{}
	emails := make([]string, 0, len(p.InvoiceEmails))
	for _, raw := range p.InvoiceEmails {
		e, err := normalizeEmail(raw)
		if err != nil {
			v.Add("invoice_emails", "Email %q is not a valid email address.", strings.TrimSpace(raw))
			continue
		}
		if !seen[e] {
			seen[e] = true
			emails = append(emails, e)
		}
	}
	p.InvoiceEmails = emails
	return v.Err()
}

// normalizeEmail accepts a bare address (no display name) and lower-cases it.
func normalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
		return "", Errorf(EINVALID, "Email %q is not a valid email address.", s)
	}
	return strings.ToLower(addr.Address), nil
}

func normalizePhone(s, country string, countryOK bool) (string, error) {
	region := "ZZ" // unknown: the number must carry its own +country code
	if countryOK {
		region = country
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", Errorf(EINVALID, "Telephone %q is not a valid phone number.", s)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// Country is an ISO 3166-1 alpha-2 code with its English name.
type Country struct {
	Code string
	Name string
}

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 country code.
func ValidCountry(code string) bool {
	_, ok := countryIndex()[code]
	return ok
}

// CountryName returns the English name of a country code, or the code.
func CountryName(code string) string {
	if name, ok := countryIndex()[code]; ok {
		return name
	}
	return code
}

// Countries lists every ISO 3166-1 country, sorted by name.
func Countries() []Country {
	idx := countryIndex()
	out := make([]Country, 0, len(idx))
	for code, name := range idx {
		out = append(out, Country{Code: code, Name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// countryIndex is built once from CLDR's region data (golang.org/x/text): the
// two-letter regions that are countries, without deprecated or private-use
// codes and without the grouping codes CLDR also lists (EU, UN, EZ, QO, XK…).
var countryIndex = sync.OnceValue(func() map[string]string {
	names := display.English.Regions()
	idx := map[string]string{}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || r.String() != code || !r.IsCountry() || r.IsPrivateUse() {
				continue
			}
			if r.Canonicalize() != r {
				continue
			}
			switch code { // CLDR lists these; ISO 3166-1 does not assign them
			case "XK", "ZZ", "EU", "EZ", "UN", "QO", "AC", "CP", "DG", "EA", "IC", "TA", "CQ":
				continue
			}
			name := names.Name(r)
			if name == "" {
				continue
			}
			idx[code] = name
		}
	}
	return idx
})
