package console

import (
	"net/http"
	"strings"

	"github.com/kore-billing/korebill/billing"
)

// Tax rates, one per country. DESIGN: "Tax: exclusive, rate per country
// (operator-configured), computed on the invoice subtotal after credits,
// rounded once." A rate applies to invoices issued after it is set; an
// issued invoice keeps the rate it was issued with.

type taxPage struct {
	Rates  []*billing.TaxRate
	Form   taxForm
	Errors map[string]string
	Order  []string
}

type taxForm struct {
	Country, Rate string
}

var taxFieldOrder = []string{"country", "rate"}

func (s *Server) handleTaxRates(w http.ResponseWriter, r *http.Request) {
	s.renderTaxRates(w, r, http.StatusOK, taxPage{})
}

func (s *Server) renderTaxRates(w http.ResponseWriter, r *http.Request, status int, data taxPage) {
	rates, err := s.ops().FindTaxRates(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Rates = rates
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	data.Order = taxFieldOrder
	s.render(w, r, status, "operator_tax", &view{Title: "Tax rates", Section: "tax", Data: data})
}

func (s *Server) handleSetTaxRate(w http.ResponseWriter, r *http.Request) {
	form := taxForm{Country: strings.ToUpper(strings.TrimSpace(r.PostFormValue("country"))), Rate: strings.TrimSpace(r.PostFormValue("rate"))}
	errs := map[string]string{}
	if form.Country == "" {
		errs["country"] = "Choose a country."
	} else if !billing.ValidCountry(form.Country) {
		errs["country"] = "Choose a country from the list."
	}
	bp, msg := parseRate(form.Rate)
	if msg != "" {
		errs["rate"] = msg
	}
	if len(errs) > 0 {
		s.renderTaxRates(w, r, http.StatusUnprocessableEntity, taxPage{Form: form, Errors: errs})
		return
	}
	rate := &billing.TaxRate{Country: form.Country, BasisPoints: bp}
	err := s.ops().SetTaxRate(r.Context(), rate)
	switch billing.ErrorCode(err) {
	case "":
		s.flash(r, "Tax in "+billing.CountryName(rate.Country)+" is now "+billing.FormatBasisPoints(rate.BasisPoints)+
			". It applies to invoices issued from now on; issued invoices keep their tax.")
		http.Redirect(w, r, "/tax-rates", http.StatusSeeOther)
	case billing.EINVALID:
		s.renderTaxRates(w, r, http.StatusUnprocessableEntity, taxPage{Form: form,
			Errors: userErrors(err, "rate", map[string]string{"basis_points": "rate"})})
	default:
		s.error(w, r, err)
	}
}

func (s *Server) handleDeleteTaxRate(w http.ResponseWriter, r *http.Request) {
	country := strings.ToUpper(r.PathValue("country"))
	if err := s.ops().DeleteTaxRate(r.Context(), country); err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, "The tax rate for "+billing.CountryName(country)+" is deleted: invoices issued from now on there carry no tax.")
	http.Redirect(w, r, "/tax-rates", http.StatusSeeOther)
}
