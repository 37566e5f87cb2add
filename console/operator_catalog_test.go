package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func TestOperator_CatalogCreatesAPlanAndChangesPricesAsANewVersion(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/catalog")
		says(t, body, "Premium", "Enterprise", "Version 1", "$10.00 per month", "$100.00 per year", "$200.00 per year")
		plans, versions := rows(t, db, "plans"), rows(t, db, "plan_versions")
		unchanged := func() {
			t.Helper()
			if p, v := rows(t, db, "plans"), rows(t, db, "plan_versions"); p != plans || v != versions {
				t.Fatalf("plans %d→%d, versions %d→%d after bad input", plans, p, versions, v)
			}
		}

		// Bad input: each message beside its field, what was typed kept.
		status, body := ops.post("/catalog", url.Values{"code": {"Team Plan"}, "name": {"Team"}, "currency": {"USD"},
			"price_month": {"12.345"}, "features": {"SSO\nAudit log"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad plan: %d", status)
		}
		says(t, body, "Please correct these", "Code must be 1–40 lower-case letters", "Enter at most 2 decimal places")
		for _, kept := range []string{`value="Team Plan"`, `value="12.345"`, ">SSO\nAudit log</textarea>", `id="price_month-error"`, `id="code-error"`} {
			if !strings.Contains(body, kept) {
				t.Fatalf("the form lost %q", kept)
			}
		}
		unchanged()
		status, body = ops.post("/catalog", url.Values{"code": {"premium"}, "name": {"Premium again"}, "currency": {"USD"}, "price_month": {"9"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("taken code: %d", status)
		}
		says(t, body, "A plan with the code premium exists already.")
		status, body = ops.post("/catalog", url.Values{"code": {"team"}, "name": {"Team"}, "currency": {"usdx"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad currency: %d", status)
		}
		says(t, body, "Enter an ISO 4217 currency code")
		unchanged()

		// A new plan.
		status, body = ops.post("/catalog", url.Values{"code": {"team"}, "name": {"Team"}, "currency": {"USD"},
			"price_month": {"12"}, "price_year": {"$1,200.00"}, "features": {"SSO\n\nAudit log\n"}})
		if status != http.StatusOK || ops.last.Request.URL.Path != "/catalog/team" {
			t.Fatalf("create plan: %d at %s\n%s", status, ops.last.Request.URL, text(body))
		}
		says(t, body, "Plan Team created, at version 1.", "$12.00 per month", "$1,200.00 per year", "SSO", "Audit log",
			"Changing prices makes version 2 of Team")
		p, err := db.FindPlanByCode(context.Background(), "team")
		if err != nil || p.Current.Version != 1 || len(p.Current.Prices) != 2 || len(p.Current.Features) != 2 {
			t.Fatalf("team = %+v %v", p, err)
		}
		plans, versions = plans+1, versions+1

		// Change Premium's prices: bad rows first.
		_, body = ops.get("/catalog/premium")
		says(t, body, "Changing prices makes version 2 of Premium.", "Existing subscriptions keep their price until their renewal",
			"Prices in USD", "Add a currency")
		if !strings.Contains(body, `name="month_0" type="text" value="10.00"`) {
			t.Fatal("the form does not start from the current prices")
		}
		for _, bad := range []struct {
			form url.Values
			want string
		}{
			{url.Values{"rows": {"2"}, "currency_0": {"USD"}, "month_0": {"ten"}}, "Enter an amount in figures"},
			{url.Values{"rows": {"2"}, "currency_0": {""}}, "Enter at least one price."},
			{url.Values{"rows": {"2"}, "currency_0": {"USD"}, "month_0": {"12"}, "currency_1": {"USD"}, "year_1": {"5"}}, "USD has prices in another row already."},
			{url.Values{"rows": {"2"}, "currency_0": {"USD"}, "month_0": {"12"}, "month_1": {"5"}}, "Enter the currency of these prices"},
			{url.Values{"rows": {"2"}, "currency_0": {"EUR"}}, "Enter a monthly or an annual price per user in EUR"},
		} {
			status, body := ops.post("/catalog/premium/versions", bad.form)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%v: %d", bad.form, status)
			}
			says(t, body, bad.want)
		}
		unchanged()
		status, body = ops.post("/catalog/premium/versions", url.Values{"rows": {"2"}, "currency_0": {"USD"}, "month_0": {"12"},
			"year_0": {"120"}, "currency_1": {"eur"}, "month_1": {"11.50"}, "features": {"Core features\nAdmin console"}})
		if status != http.StatusOK || ops.last.Request.URL.Path != "/catalog/premium" {
			t.Fatalf("new version: %d at %s\n%s", status, ops.last.Request.URL, text(body))
		}
		says(t, body, "Version 2 of Premium is now current.", "existing subscriptions keep their price until their renewal",
			"Contracts keep their negotiated price.", "Version 2 Current", "$12.00 per month", "€11.50 per month", "Version 1")
		if v := rows(t, db, "plan_versions"); v != versions+1 {
			t.Fatalf("versions %d, want %d", v, versions+1)
		}
	})
}

func TestOperator_TaxRatesSetInPercentAndDeleted(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/tax-rates")
		says(t, body, "No rates: no invoice is taxed.", "United States")
		for _, bad := range []struct {
			form       url.Values
			field, msg string
		}{
			{url.Values{"country": {"US"}, "rate": {"8.255"}}, "rate", "Enter at most two decimal places"},
			{url.Values{"country": {"US"}, "rate": {"101"}}, "rate", "A tax rate must be between 0% and 100%."},
			{url.Values{"country": {"US"}, "rate": {"eight"}}, "rate", "Enter the rate in percent as a number"},
			{url.Values{"country": {""}, "rate": {"8"}}, "country", "Choose a country."},
			{url.Values{"country": {"XX"}, "rate": {"8"}}, "country", "Choose a country from the list."},
		} {
			status, body := ops.post("/tax-rates", bad.form)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%v: %d", bad.form, status)
			}
			says(t, body, bad.msg)
			if !strings.Contains(body, `id="`+bad.field+`-error"`) {
				t.Fatalf("%v: no message beside %s", bad.form, bad.field)
			}
			if !strings.Contains(body, `value="`+bad.form.Get("rate")+`"`) {
				t.Fatalf("%v: the rate typed was lost", bad.form)
			}
		}
		if n := rows(t, db, "tax_rates"); n != 0 {
			t.Fatalf("bad input set %d rates", n)
		}

		status, body := ops.post("/tax-rates", url.Values{"country": {"US"}, "rate": {"8.25%"}})
		if status != http.StatusOK || ops.last.Request.URL.Path != "/tax-rates" {
			t.Fatalf("set: %d at %s", status, ops.last.Request.URL)
		}
		says(t, body, "Tax in United States is now 8.25%.", "issued invoices keep their tax", "United States US 8.25%")
		ops.post("/tax-rates", url.Values{"country": {"DE"}, "rate": {"19"}})
		r, err := db.FindTaxRate(context.Background(), "US")
		if err != nil || r.BasisPoints != 825 {
			t.Fatalf("US rate = %+v %v", r, err)
		}
		status, body = ops.post("/tax-rates/US/delete", nil)
		if status != http.StatusOK {
			t.Fatalf("delete: %d", status)
		}
		says(t, body, "The tax rate for United States is deleted", "Germany DE 19%")
		if n := rows(t, db, "tax_rates"); n != 1 {
			t.Fatalf("rates after delete = %d", n)
		}
		if status, _ := ops.post("/tax-rates/FR/delete", nil); status != http.StatusNotFound {
			t.Fatalf("delete a rate that is not there: %d", status)
		}
	})
}
