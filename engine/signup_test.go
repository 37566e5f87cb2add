package engine_test

import (
	"errors"
	"testing"

	"github.com/kore-billing/korebill/billing"
)

// The signup credit: the operator's amount for the currency, or the one an
// account's creation names, granted once at creation as "Signup credit",
// and applied to the first invoice before anything is charged; contract
// accounts get none.
func TestSignupCredit_OperatorDefaultPerAccountAmountAppliedToTheFirstInvoice(t *testing.T) {
	forEachStore(t, "2026-03-01T10:00:00Z", func(t *testing.T, b *bundle) {
		none := b.account(t, "Before") // nothing set: the engine's default, 0
		if err := b.eng.SetSignupCredit(b.ctx, usd(2500)); err != nil {
			t.Fatal(err)
		}
		acme := b.account(t, "Acme")
		ten := int64(1000)
		globex := b.account(t, "Globex", func(a *billing.Account) { a.SignupCredit = &ten })
		zero := int64(0)
		initech := b.account(t, "Initech", func(a *billing.Account) { a.SignupCredit = &zero })
		umbrella := b.account(t, "Umbrella", contractAccount)
		for _, c := range []struct {
			a    *billing.Account
			want int64
		}{{none, 0}, {acme, 2500}, {globex, 1000}, {initech, 0}, {umbrella, 0}} {
			if got := b.balance(t, c.a); got != c.want || c.a.CreditBalance.Amount != c.want {
				t.Errorf("%s: balance %d (account says %d), want %d", c.a.Name, got, c.a.CreditBalance.Amount, c.want)
			}
			credits, _, err := b.eng.FindCredits(b.ctx, c.a.ID, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == 0 && len(credits) != 0 || c.want > 0 && (len(credits) != 1 || credits[0].Amount != usd(c.want) ||
				credits[0].Description != "Signup credit" || credits[0].Reason != "signup") {
				t.Errorf("%s: ledger %+v", c.a.Name, credits)
			}
		}

		// Premium for 3 users, $30.00: the $25.00 credit first, $5.00 owed.
		res := b.confirm(t, acme, premium(billing.Month, 3))
		if inv := res.Invoice; inv.Subtotal != usd(3000) || inv.CreditsApplied != usd(2500) || inv.Total != usd(500) {
			t.Fatalf("first invoice: subtotal %s, credits %s, total %s", inv.Subtotal, inv.CreditsApplied, inv.Total)
		}
		if got := b.balance(t, acme); got != 0 {
			t.Errorf("balance after = %d", got)
		}

		for name, edit := range map[string]func(*billing.Account){
			"negative": func(a *billing.Account) { n := int64(-1); a.SignupCredit = &n },
			"contract": func(a *billing.Account) { contractAccount(a); n := int64(500); a.SignupCredit = &n },
		} {
			a := &billing.Account{Name: name, Domain: name + ".example.com"}
			edit(a)
			err := b.eng.CreateAccount(b.ctx, a)
			wantCode(t, err, billing.EINVALID)
			var be *billing.Error
			if !errors.As(err, &be) || len(be.Fields) != 1 || be.Fields[0].Field != "signup_credit" {
				t.Errorf("%s: %v", name, err)
			}
		}
		wantCode(t, b.eng.SetSignupCredit(b.ctx, usd(-1)), billing.EINVALID)
		list, err := b.eng.SignupCredits(b.ctx)
		if err != nil || len(list) != 1 || list[0].Amount != usd(2500) {
			t.Fatalf("signup credits = %+v, %v", list, err)
		}
	})
}
