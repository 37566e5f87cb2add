package console

import (
	"net/http"
	"strings"

	"github.com/kore-billing/korebill/billing"
)

// profileForm is the Billing Profile form as the person typed it; field
// names are those billing.BillingProfile.Validate reports.
type profileForm struct {
	ContactName   string
	CompanyName   string
	Line1         string
	Line2         string
	City          string
	Region        string
	PostalCode    string
	Country       string
	Phone         string
	Email         string
	InvoiceEmails string // one per line, or separated by commas
	TaxID         string
}

// profileFieldOrder is the form's order, for the error summary.
var profileFieldOrder = []string{"contact_name", "company_name", "address.line1", "address.line2", "address.city",
	"address.region", "address.postal_code", "address.country", "address", "phone", "email", "invoice_emails", "tax_id"}

func profileFormOf(p *billing.BillingProfile) profileForm {
	return profileForm{
		ContactName: p.ContactName, CompanyName: p.CompanyName, Line1: p.Address.Line1, Line2: p.Address.Line2,
		City: p.Address.City, Region: p.Address.Region, PostalCode: p.Address.PostalCode, Country: p.Address.Country,
		Phone: p.Phone, Email: p.Email, InvoiceEmails: strings.Join(p.InvoiceEmails, "\n"), TaxID: p.TaxID,
	}
}

func profileFormFrom(r *http.Request) profileForm {
	v := r.PostFormValue
	return profileForm{
		ContactName: v("contact_name"), CompanyName: v("company_name"), Line1: v("address.line1"),
		Line2: v("address.line2"), City: v("address.city"), Region: v("address.region"),
		PostalCode: v("address.postal_code"), Country: v("address.country"), Phone: v("phone"),
		Email: v("email"), InvoiceEmails: v("invoice_emails"), TaxID: v("tax_id"),
	}
}

// profile returns the billing profile the form describes.
func (f profileForm) profile(accountID int64) *billing.BillingProfile {
	var emails []string
	for _, e := range strings.FieldsFunc(f.InvoiceEmails, func(r rune) bool {
		return r == ',' || r == ';' || r == '\n' || r == '\r'
	}) {
		if e = strings.TrimSpace(e); e != "" {
			emails = append(emails, e)
		}
	}
	return &billing.BillingProfile{
		AccountID: accountID, CompanyName: f.CompanyName, ContactName: f.ContactName,
		Address: billing.Address{Line1: f.Line1, Line2: f.Line2, City: f.City, Region: f.Region,
			PostalCode: f.PostalCode, Country: f.Country},
		Phone: f.Phone, Email: f.Email, InvoiceEmails: emails, TaxID: f.TaxID,
	}
}

// profilePage is the Billing Profile page's data.
type profilePage struct {
	Form    profileForm
	Profile *billing.BillingProfile // as saved; nil before the first save
	Errors  map[string]string
	Order   []string
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	p, err := s.Profiles.FindProfile(r.Context(), a.ID)
	if err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
		s.error(w, r, err)
		return
	}
	data := profilePage{Profile: p, Errors: map[string]string{}, Order: profileFieldOrder}
	if p != nil {
		data.Form = profileFormOf(p)
	}
	s.render(w, r, http.StatusOK, "profile", &view{Title: "Billing Profile", Section: "profile", Account: a, Data: data})
}

func (s *Server) handleUpdateProfile(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if !billing.ActorFromContext(ctx).CanManage(a.ID) {
		s.forbidden(w, r, "Your role lets you read this account's billing profile, not change it. Nothing was changed.")
		return
	}
	form := profileFormFrom(r)
	err := s.Profiles.SetProfile(ctx, form.profile(a.ID))
	if billing.ErrorCode(err) == billing.EINVALID {
		p, _ := s.Profiles.FindProfile(ctx, a.ID)
		errs := fieldErrors(err)
		if len(errs) == 0 {
			errs["form"] = billing.ErrorMessage(err)
		}
		s.render(w, r, http.StatusUnprocessableEntity, "profile", &view{
			Title: "Billing Profile", Section: "profile", Account: a,
			Data: profilePage{Form: form, Profile: p, Errors: errs, Order: profileFieldOrder},
		})
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, "Billing profile saved.")
	http.Redirect(w, r, "/accounts/"+a.Number+"/profile", http.StatusSeeOther)
}
