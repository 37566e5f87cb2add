package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// Defect 1 of issue 9: one invoice paid twice. Every way of paying goes
// through one decision per invoice that sees attempts in flight; money that
// arrives anyway is a visible overpayment.

// mustHold fails the test when any invariant of the books is broken.
func mustHold(t testing.TB, eng *engine.Engine) {
	t.Helper()
	breaks, err := eng.CheckInvariants(context.Background())
	if err != nil {
		t.Fatalf("check invariants: %v", err)
	}
	if len(breaks) > 0 {
		t.Fatalf("invariants broken:\n%s", engine.FormatBreaks(breaks))
	}
}

func wantReason(t *testing.T, err error, code, reason string) {
	t.Helper()
	var e *billing.Error
	if !errors.As(err, &e) || e.Code != code || e.Reason != reason {
		t.Fatalf("err = %v, want %s %s", err, code, reason)
	}
}

// TestPayOnce_TransferWhileCardInFlightIsRefusedAndTheCardPaysOnce: the card
// charge's answer is lost (unknown). A full and a partial bank transfer,
// Pay now and a new card are all refused or skip the invoice while it is in
// flight; the card's outcome then pays it once: $30 for $30.
func TestPayOnce_TransferWhileCardInFlightIsRefusedAndTheCardPaysOnce(t *testing.T) {
	forEachPayStore(t, "2026-02-02T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Initech")
		p.addCard(t, a, "4242424242424242")
		p.gw.TimeoutAfterCharge(1)
		inv := p.upgrade(t, a, 3)
		if got := p.payments(t, a); len(got) != 1 || got[0].Status != store.PaymentUnknown {
			t.Fatalf("attempts = %+v", got)
		}
		for _, amount := range []int64{inv.AmountDue.Amount, 1000} {
			_, err := p.eng.RecordBankTransfer(p.ctx, inv.ID, engine.BankTransfer{Amount: amount, Reference: "WIRE-1", ReceivedOn: d("2026-02-02")})
			wantReason(t, err, billing.ESTATE, "payment_in_progress")
		}
		_, err := p.eng.PayInvoice(p.ctx, inv.ID)
		wantReason(t, err, billing.ESTATE, "payment_in_progress")
		if res := p.addCard(t, a, "5555555555554444"); len(res.Retried) != 0 {
			t.Fatalf("a new card charged the invoice in flight: %+v", res.Retried)
		}
		p.clock.Advance(11 * time.Minute)
		p.billNow(t, a)
		paid := p.invoice(t, inv.ID)
		if paid.Status != billing.InvoicePaid || paid.AmountPaid != paid.Total || paid.AmountDue.Amount != 0 {
			t.Fatalf("invoice = %s paid %s of %s", paid.Status, paid.AmountPaid, paid.Total)
		}
		if n := len(p.gw.Charges()); n != 1 {
			t.Fatalf("gateway charges = %d, want 1", n)
		}
		_, err = p.eng.RecordBankTransfer(p.ctx, inv.ID, engine.BankTransfer{Amount: 1000, Reference: "WIRE-2", ReceivedOn: d("2026-02-02")})
		wantReason(t, err, billing.ESTATE, "invoice_paid")
		var collected int64
		for _, x := range p.payments(t, a) {
			if x.Status == store.PaymentSucceeded {
				collected += x.Amount.Amount
			}
		}
		if collected != paid.Total.Amount {
			t.Fatalf("collected %d for a total of %d", collected, paid.Total.Amount)
		}
		mustHold(t, p.eng)
	})
}

// TestPayOnce_LateChargeIsAVisibleOverpayment: the gateway was down, the
// attempt's key was forgotten, reconcile found no charge and settled it as
// never charged; the invoice was then paid by a retry. The first request
// reaches the gateway after all: the next reconcile finds the charge and
// records it — the excess on the credit balance, in Billing History and the
// audit trail — and the invoice stays paid at its total.
func TestPayOnce_LateChargeIsAVisibleOverpayment(t *testing.T) {
	forEachPayStore(t, "2026-02-02T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Vandelay")
		p.addCard(t, a, "4242424242424242")
		p.gw.Unavailable(true)
		inv := p.upgrade(t, a, 3)
		first := p.payments(t, a)[0]
		p.clock.Advance(24 * time.Hour)
		p.gw.Unavailable(false)
		rep, err := p.eng.Reconcile(p.ctx, engine.ReconcileOptions{})
		if err != nil || rep.NotCharged != 1 || !rep.OK() {
			t.Fatalf("reconcile = %+v, %v", rep, err)
		}
		if _, err := p.eng.PayInvoice(p.ctx, inv.ID); err != nil {
			t.Fatalf("pay now after reconcile: %v", err)
		}
		// The first request, delayed somewhere, arrives.
		if _, err := p.gw.Charge(p.ctx, billing.ChargeRequest{CustomerRef: first.CustomerRef, PaymentMethodRef: first.MethodRef,
			Amount: first.Amount, IdempotencyKey: first.IdempotencyKey, Description: "Kore Billing invoice " + inv.Number,
			InvoiceNumber: inv.Number}); err != nil {
			t.Fatal(err)
		}
		rep, err = p.eng.Reconcile(p.ctx, engine.ReconcileOptions{})
		if err != nil || rep.LateCharges != 1 || !rep.OK() {
			t.Fatalf("second reconcile = %+v, %v", rep, err)
		}
		got := p.invoice(t, inv.ID)
		if got.Status != billing.InvoicePaid || got.AmountPaid != got.Total {
			t.Fatalf("invoice = %s paid %s of %s", got.Status, got.AmountPaid, got.Total)
		}
		late, _, err := p.db.FindPayments(p.ctx, store.PaymentFilter{AccountID: a.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var over *store.Payment
		for _, x := range late {
			if x.ID == first.ID {
				over = x
			}
		}
		if over.Status != store.PaymentSucceeded || over.AmountOverpaid != inv.Total {
			t.Fatalf("late payment = %s overpaid %s", over.Status, over.AmountOverpaid)
		}
		if acc, err := p.db.FindAccountByID(p.ctx, a.ID); err != nil || acc.CreditBalance != inv.Total {
			t.Fatalf("credit balance = %v, want the overpayment %s (%v)", acc.CreditBalance, inv.Total, err)
		}
		page, err := p.eng.History(p.ctx, a.ID, engine.HistoryQuery{Types: []string{"credit"}})
		if err != nil {
			t.Fatal(err)
		}
		var seen bool
		for _, e := range page.Entries {
			seen = seen || (strings.Contains(e.Summary, "Overpayment of "+inv.Number) && e.Credit == inv.Total)
		}
		if !seen {
			t.Fatalf("Billing History has no overpayment credit: %+v", page.Entries)
		}
		audit, err := p.db.FindAuditEvents(p.ctx, billing.AuditFilter{AccountID: &a.ID, Action: "payment.overpaid"})
		if err != nil || len(audit) != 1 {
			t.Fatalf("payment.overpaid audit = %v, %v", audit, err)
		}
		mustHold(t, p.eng)
	})
}

// Defect 2 of issue 9: stuck for ever. An attempt without an answer whose
// key the gateway has forgotten used to wait for an operator for good: Pay
// now refused, a new card not charged, no dunning.

// TestReconcile_ForgottenKeyNeverChargedIsSettledAndDunningGoesOn: the
// gateway was down for the whole first day; when its key is forgotten the
// check asks the gateway (never charging), learns nothing was taken, settles
// the attempt as failed, and the retry schedule takes over from that day:
// the next day's retry pays the invoice, once.
func TestReconcile_ForgottenKeyNeverChargedIsSettledAndDunningGoesOn(t *testing.T) {
	forEachPayStore(t, "2026-02-02T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Hooli")
		p.addCard(t, a, "4242424242424242")
		p.gw.Unavailable(true)
		inv := p.upgrade(t, a, 1)
		p.clock.Advance(24 * time.Hour)
		p.gw.Unavailable(false)
		p.billNow(t, a)
		got := p.payments(t, a)
		if len(got) != 1 || got[0].Status != store.PaymentFailed || got[0].FailureCode != engine.FailureNotCharged {
			t.Fatalf("attempt = %+v", got[0])
		}
		if n := len(p.gw.Charges()); n != 0 {
			t.Fatalf("charged %d times with a forgotten key", n)
		}
		p.clock.Advance(24 * time.Hour)
		res := p.billNow(t, a)
		if len(res.Steps) != 1 || res.Steps[0].Step != engine.StepPaymentRetry {
			t.Fatalf("steps the next day = %+v", res.Steps)
		}
		if paid := p.invoice(t, inv.ID); paid.Status != billing.InvoicePaid {
			t.Fatalf("invoice after the retry = %s", paid.Status)
		}
		if n := len(p.gw.Charges()); n != 1 {
			t.Fatalf("gateway charges = %d, want 1", n)
		}
		mustHold(t, p.eng)
	})
}

// TestReconcile_ChargedButUnansweredIsFoundAndPaysOnce: the gateway charged
// and its answer was lost; a day later (key forgotten) reconcile finds the
// charge by its key and pays the invoice with it; nothing is charged again,
// and Pay now then finds nothing owed.
func TestReconcile_ChargedButUnansweredIsFoundAndPaysOnce(t *testing.T) {
	forEachPayStore(t, "2026-02-02T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Pied Piper")
		p.addCard(t, a, "4242424242424242")
		p.gw.TimeoutAfterCharge(1)
		inv := p.upgrade(t, a, 2)
		p.clock.Advance(25 * time.Hour)
		rep, err := p.eng.Reconcile(p.ctx, engine.ReconcileOptions{MinAge: time.Hour})
		if err != nil || rep.Asked != 1 || rep.Succeeded != 1 || !rep.OK() {
			t.Fatalf("reconcile = %+v, %v", rep, err)
		}
		if paid := p.invoice(t, inv.ID); paid.Status != billing.InvoicePaid || paid.AmountPaid != paid.Total {
			t.Fatalf("invoice = %s paid %s", paid.Status, paid.AmountPaid)
		}
		if n := len(p.gw.Charges()); n != 1 {
			t.Fatalf("gateway charges = %d, want 1", n)
		}
		_, err = p.eng.PayInvoice(p.ctx, inv.ID)
		wantReason(t, err, billing.ESTATE, "invoice_paid")
		// Nothing left: a second pass asks nothing.
		if rep, err := p.eng.Reconcile(p.ctx, engine.ReconcileOptions{}); err != nil || rep.Asked != 0 || !rep.OK() {
			t.Fatalf("second reconcile = %+v, %v", rep, err)
		}
	})
}

// TestReconcile_YoungAttemptsAreLeftAlone: MinAge keeps reconcile away from
// an attempt whose call may still be under way in another process.
func TestReconcile_YoungAttemptsAreLeftAlone(t *testing.T) {
	forEachPayStore(t, "2026-02-02T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Dunder")
		p.addCard(t, a, "4242424242424242")
		p.gw.Unavailable(true)
		p.upgrade(t, a, 1)
		p.gw.Unavailable(false)
		rep, err := p.eng.Reconcile(p.ctx, engine.ReconcileOptions{MinAge: time.Minute})
		if err != nil || rep.Asked != 0 {
			t.Fatalf("reconcile = %+v, %v", rep, err)
		}
		p.clock.Advance(2 * time.Minute)
		rep, err = p.eng.Reconcile(p.ctx, engine.ReconcileOptions{MinAge: time.Minute})
		if err != nil || rep.Asked != 1 || rep.Succeeded != 1 {
			t.Fatalf("reconcile = %+v, %v", rep, err)
		}
		if n := len(p.gw.Charges()); n != 1 {
			t.Fatalf("gateway charges = %d, want 1", n)
		}
	})
}
