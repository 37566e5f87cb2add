package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// The operator sets the signup credit of a currency on the plan catalog
// page, and may name another amount on the new-account form; the new
// account is granted it once and its Billing History says "Signup credit".
// Bad amounts are refused beside their field and change nothing.
func TestOperator_SignupCreditPerCurrencyAndPerAccount(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/catalog")
		says(t, body, "Signup credit", "No signup credit is set: new accounts get none.")

		status, body := ops.post("/catalog/signup-credit", url.Values{"credit_currency": {"USD"}, "credit_amount": {"-5"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="credit_amount-error"`) {
			t.Fatalf("a negative credit: %d", status)
		}
		says(t, body, "Enter an amount in figures")
		if n := rows(t, db, "signup_credits"); n != 0 {
			t.Fatalf("%d signup credits after bad input", n)
		}
		status, body = ops.post("/catalog/signup-credit", url.Values{"credit_currency": {"usd"}, "credit_amount": {"$25.00"}})
		if status != http.StatusOK {
			t.Fatalf("set: %d", status)
		}
		says(t, body, "New online accounts in USD get a signup credit of $25.00.", "USD $25.00")

		create := func(name, credit string) (int, string, *billing.Account) {
			t.Helper()
			ops.get("/accounts/new")
			status, body := ops.post("/accounts", url.Values{"name": {name}, "domain": {strings.ToLower(name) + ".test"},
				"billing_type": {"online"}, "account_type": {"enterprise"}, "currency": {"USD"}, "time_zone": {"UTC"},
				"signup_credit": {credit}})
			number, _ := strings.CutPrefix(ops.last.Request.URL.Path, "/accounts/")
			if status != http.StatusOK {
				return status, body, nil
			}
			a, err := db.FindAccountByNumber(context.Background(), number)
			if err != nil {
				t.Fatal(err)
			}
			return status, body, a
		}
		status, body, _ = create("Hooli", "ten")
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="signup_credit-error"`) || !strings.Contains(body, `value="ten"`) {
			t.Fatalf("a bad signup credit: %d", status)
		}
		_, _, hooli := create("Hooli", "")
		_, _, piper := create("Piper", "40")
		_, _, nobody := create("Nobody", "0")
		for _, c := range []struct {
			a    *billing.Account
			want int64
		}{{hooli, 2500}, {piper, 4000}, {nobody, 0}} {
			if c.a.CreditBalance.Amount != c.want {
				t.Errorf("%s: credit balance %s, want %d¢", c.a.Name, c.a.CreditBalance, c.want)
			}
		}
		_, body = ops.get("/accounts/" + piper.Number + "/history")
		says(t, body, "Signup credit", "$40.00")
	})
}
