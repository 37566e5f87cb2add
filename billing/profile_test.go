package billing_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
)

func validProfile() billing.BillingProfile {
	return billing.BillingProfile{
		CompanyName:   "Acme Corp",
		ContactName:   "Ada Lovelace",
		Address:       billing.Address{Line1: "1 Market St", City: "San Francisco", Region: "CA", PostalCode: "94105", Country: "us"},
		Phone:         "(415) 555-0132",
		Email:         " Ada@Acme.Example.com ",
		InvoiceEmails: []string{"ap@acme.example.com", "AP@acme.example.com"},
	}
}

func TestBillingProfile_ValidateNormalises(t *testing.T) {
	p := validProfile()
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if p.Phone != "+14155550132" {
		t.Errorf("phone = %q, want E.164 +14155550132", p.Phone)
	}
	if p.Email != "ada@acme.example.com" {
		t.Errorf("email = %q", p.Email)
	}
	if p.Address.Country != "US" {
		t.Errorf("country = %q", p.Address.Country)
	}
	if len(p.InvoiceEmails) != 1 {
		t.Errorf("invoice emails = %v, want duplicates folded", p.InvoiceEmails)
	}
}

func TestBillingProfile_ValidateInternationalPhone(t *testing.T) {
	p := validProfile()
	p.Address.Country = "GB"
	p.Phone = "+44 20 7946 0958"
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if p.Phone != "+442079460958" {
		t.Errorf("phone = %q", p.Phone)
	}
}

func TestBillingProfile_ValidateNamesEachBadField(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*billing.BillingProfile)
		field string
	}{
		{"bad email", func(p *billing.BillingProfile) { p.Email = "not-an-email" }, "email"},
		{"email with name", func(p *billing.BillingProfile) { p.Email = "Ada <ada@acme.com>" }, "email"},
		{"bad phone", func(p *billing.BillingProfile) { p.Phone = "12345" }, "phone"},
		{"letters phone", func(p *billing.BillingProfile) { p.Phone = "call me" }, "phone"},
		{"bad country", func(p *billing.BillingProfile) { p.Address.Country = "XX" }, "address.country"},
		{"group not country", func(p *billing.BillingProfile) { p.Address.Country = "EU" }, "address.country"},
		{"missing company", func(p *billing.BillingProfile) { p.CompanyName = " " }, "company_name"},
		{"missing city", func(p *billing.BillingProfile) { p.Address.City = "" }, "address.city"},
		{"bad invoice email", func(p *billing.BillingProfile) { p.InvoiceEmails = []string{"x@"} }, "invoice_emails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProfile()
			tt.edit(&p)
			err := p.Validate()
			var e *billing.Error
			if !asError(err, &e) || e.Code != billing.EINVALID {
				t.Fatalf("Validate() = %v, want EINVALID", err)
			}
			found := false
			for _, f := range e.Fields {
				found = found || f.Field == tt.field
			}
			if !found {
				t.Errorf("fields %+v do not name %q", e.Fields, tt.field)
			}
		})
	}
}

func TestCountries(t *testing.T) {
	cs := billing.Countries()
	if len(cs) < 240 || len(cs) > 252 {
		t.Errorf("got %d countries, want about 249 (ISO 3166-1)", len(cs))
	}
	for _, c := range []string{"US", "GB", "DE", "NZ", "JP", "BR"} {
		if !billing.ValidCountry(c) {
			t.Errorf("%s should be a country", c)
		}
	}
	if billing.CountryName("DE") != "Germany" {
		t.Errorf("CountryName(DE) = %q", billing.CountryName("DE"))
	}
}
