package engine_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// TestModel_RandomActionsKeepTheBooksWhole is the model-based test: random
// sequences of what accounts and operators do — seat changes, plan and
// interval changes, cancel, card changes (good and declining cards),
// gateway timeouts, bank transfers, refunds, credit notes, Pay now, clock
// jumps that run the billing and reconcile — over several accounts in
// several time zones, with reconcile's invariants checked after every step.
// A refusal (invalid, state, conflict, a decline) is an answer; anything
// else, or a broken invariant, fails, and rapid shrinks the sequence to the
// shortest that does. -rapid.checks and -rapid.steps set how many sequences and
// steps (4 and 15 by default here, to keep CI short).
func TestModel_RandomActionsKeepTheBooksWhole(t *testing.T) {
	for name, short := range map[string]string{"rapid.checks": "4", "rapid.steps": "15"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() == f.DefValue {
			_ = f.Value.Set(short)
			defer func() { _ = f.Value.Set(f.DefValue) }()
		}
	}
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		p := newPayEnv(t, db, "2026-01-05T15:00:00Z")
		seq := 0
		rapid.Check(t, func(rt *rapid.T) {
			seq++
			m := &model{p: p, rt: rt}
			zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Pacific/Auckland"}
			for i := range rapid.IntRange(1, 3).Draw(rt, "accounts") {
				zone := rapid.SampledFrom(zones).Draw(rt, "zone")
				a := &billing.Account{Name: fmt.Sprintf("Model %d-%d", seq, i), Domain: fmt.Sprintf("m%d-%d.example.com", seq, i), TimeZone: zone}
				m.check(p.eng.CreateAccount(p.ctx, a), "create account")
				m.accounts = append(m.accounts, a)
				m.card(a, "4242424242424242")
			}
			rt.Repeat(map[string]func(*rapid.T){
				"seats": func(rt *rapid.T) {
					a := m.pick()
					m.check(m.change(a, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: m.interval(a),
						Seats: int64(rapid.IntRange(1, 12).Draw(rt, "seats"))}), "seats")
				},
				"plan_interval": func(rt *rapid.T) {
					a := m.pick()
					plan := rapid.SampledFrom([]string{engine.PlanPremium, engine.PlanEnterprise, engine.PlanFree}).Draw(rt, "plan")
					req := engine.ChangeRequest{Plan: plan, Interval: rapid.SampledFrom([]billing.Interval{billing.Month, billing.Year}).Draw(rt, "interval"),
						Seats: int64(rapid.IntRange(1, 8).Draw(rt, "seats"))}
					if plan == engine.PlanFree {
						req = engine.ChangeRequest{Plan: plan}
					}
					m.check(m.change(a, req), "plan")
				},
				"cancel": func(rt *rapid.T) {
					_, err := p.eng.Cancel(p.ctx, m.pick().ID)
					m.check(err, "cancel")
				},
				"card": func(rt *rapid.T) {
					m.card(m.pick(), rapid.SampledFrom([]string{"4242424242424242", "5555555555554444", "4000000000000002",
						"4000000000009995", "4000000000000119"}).Draw(rt, "card"))
				},
				"gateway_timeout": func(rt *rapid.T) { p.gw.TimeoutAfterCharge(1) },
				"pay_now": func(rt *rapid.T) {
					if inv := m.invoice(billing.InvoiceOpen); inv != nil {
						_, err := p.eng.PayInvoice(p.ctx, inv.ID)
						m.check(err, "pay now")
					}
				},
				"transfer": func(rt *rapid.T) {
					if inv := m.invoice(billing.InvoiceOpen); inv != nil && inv.AmountDue.Amount > 0 {
						amount := rapid.Int64Range(1, inv.AmountDue.Amount+100).Draw(rt, "amount")
						_, err := p.eng.RecordBankTransfer(p.ctx, inv.ID, engine.BankTransfer{Amount: amount, Reference: "WIRE",
							ReceivedOn: billing.DateOf(p.clock.Now(), time.UTC).AddDays(-1)})
						m.check(err, "transfer")
					}
				},
				"refund": func(rt *rapid.T) {
					if inv := m.invoice(billing.InvoicePaid); inv != nil && inv.AmountPaid.Amount > 0 {
						_, err := p.eng.RefundInvoice(p.ctx, inv.ID, engine.RefundRequest{
							Amount: rapid.Int64Range(1, inv.AmountPaid.Amount).Draw(rt, "refund"), Reason: "model"})
						m.check(err, "refund")
					}
				},
				"credit_note": func(rt *rapid.T) {
					if inv := m.invoice(""); inv != nil && inv.Total.Amount > 0 {
						_, err := p.eng.IssueCreditNote(p.ctx, inv.ID, engine.CreditNoteRequest{
							Amount: rapid.Int64Range(1, inv.Total.Amount).Draw(rt, "credit"), Reason: "model"})
						m.check(err, "credit note")
					}
				},
				"clock_jump": func(rt *rapid.T) {
					p.clock.Advance(time.Duration(rapid.IntRange(1, 24*40).Draw(rt, "hours")) * time.Hour)
					for _, a := range m.accounts {
						_, err := p.eng.BillAccount(p.ctx, a.ID)
						m.check(err, "bill")
					}
					if rapid.Bool().Draw(rt, "reconcile") {
						_, err := p.eng.Reconcile(p.ctx, engine.ReconcileOptions{SkipInvariants: true})
						m.check(err, "reconcile")
					}
				},
				"": func(rt *rapid.T) {
					breaks, err := p.eng.CheckInvariants(context.Background())
					if err != nil {
						rt.Fatalf("check invariants: %v", err)
					}
					if len(breaks) > 0 {
						rt.Fatalf("invariants broken:\n%s", engine.FormatBreaks(breaks))
					}
				},
			})
		})
	})
}

// model is one sequence's accounts.
type model struct {
	p        *payEnv
	rt       *rapid.T
	accounts []*billing.Account
}

func (m *model) pick() *billing.Account {
	return rapid.SampledFrom(m.accounts).Draw(m.rt, "account")
}

func (m *model) interval(a *billing.Account) billing.Interval {
	ov, err := m.p.eng.Subscription(m.p.ctx, a.ID)
	if err != nil || ov.Subscription.Interval == "" {
		return billing.Month
	}
	return ov.Subscription.Interval
}

func (m *model) change(a *billing.Account, req engine.ChangeRequest) error {
	_, err := m.p.eng.ConfirmChange(m.p.ctx, a.ID, req)
	return err
}

func (m *model) card(a *billing.Account, number string) {
	tok, err := m.p.gw.TokenizeCard(m.p.ctx, billing.CardInput{Number: number, ExpMonth: 12, ExpYear: 2035, CVC: "123"})
	if err != nil {
		m.rt.Fatalf("tokenize: %v", err)
	}
	_, err = m.p.eng.AddCard(m.p.ctx, a.ID, engine.AddCardRequest{Token: tok, Default: true})
	m.check(err, "add card")
}

// invoice draws one of the sequence's invoices in status ("" for any
// finalized one), nil when there is none.
func (m *model) invoice(status billing.InvoiceStatus) *billing.Invoice {
	var list []*billing.Invoice
	for _, a := range m.accounts {
		invs, _, err := m.p.eng.FindInvoices(m.p.ctx, a.ID, 100, 0)
		if err != nil {
			m.rt.Fatal(err)
		}
		for _, inv := range invs {
			if inv.Kind != billing.InvoiceCreditNote && inv.Status != billing.InvoiceDraft && (status == "" || inv.Status == status) {
				list = append(list, inv)
			}
		}
	}
	if len(list) == 0 {
		return nil
	}
	return rapid.SampledFrom(list).Draw(m.rt, "invoice")
}

// check accepts a refusal and fails on anything else.
func (m *model) check(err error, what string) {
	switch billing.ErrorCode(err) {
	case "", billing.EINVALID, billing.ESTATE, billing.ECONFLICT, billing.EPAYMENT:
		return
	}
	m.rt.Fatalf("%s: %v", what, err)
}
