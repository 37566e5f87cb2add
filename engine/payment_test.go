package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/gateway/testgateway"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/testclock"
)

// payEnv is one store with an engine that collects through the test
// gateway, a fixed engine clock, and the notifications the engine sent.
type payEnv struct {
	db    *store.DB
	eng   *engine.Engine
	gw    *testgateway.Gateway
	clock *billing.FixedClock
	ctx   context.Context

	mu      sync.Mutex
	notices []string
}

// forEachPayStore runs fn on both stores, each with its own engine clock
// stopped at start.
func forEachPayStore(t *testing.T, start string, fn func(t *testing.T, p *payEnv), cfg ...func(*engine.Config)) {
	t.Helper()
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		fn(t, newPayEnv(t, db, start, cfg...))
	})
}

func newPayEnv(t testing.TB, db *store.DB, start string, cfg ...func(*engine.Config)) *payEnv {
	t.Helper()
	at, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	clock := billing.NewFixedClock(at)
	p := &payEnv{db: db.WithClock(clock), clock: clock, gw: testgateway.New(clock),
		ctx: billing.NewContextWithActor(context.Background(), billing.Actor{Name: "user:ops@kore.test", Role: billing.RoleOperator})}
	c := engine.Config{DB: p.db, Clock: clock, Gateway: p.gw, Payments: engine.PaymentConfig{GatewayName: "test"},
		Notify: func(_ context.Context, _ *store.Tx, n engine.Notification) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.notices = append(p.notices, n.Type)
			return nil
		}}
	for _, f := range cfg {
		f(&c)
	}
	if p.eng, err = engine.New(c); err != nil {
		t.Fatal(err)
	}
	// Every scenario ends by checking reconcile's invariants of the books.
	t.Cleanup(func() {
		if !t.Failed() {
			mustHold(t, p.eng)
		}
	})
	if err := p.eng.SeedCatalog(p.ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *payEnv) noticesSoFar() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.notices...)
}

func (p *payEnv) newAccount(t *testing.T, name string, edit ...func(*billing.Account)) *billing.Account {
	t.Helper()
	a := &billing.Account{Name: name, Domain: strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example.com"}
	for _, f := range edit {
		f(a)
	}
	if err := p.eng.CreateAccount(p.ctx, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// addCard types a card into the test gateway and attaches it as the
// default.
func (p *payEnv) addCard(t *testing.T, a *billing.Account, number string) *engine.MethodResult {
	t.Helper()
	res, err := p.tryCard(a, number, 12, 2030)
	if err != nil {
		t.Fatalf("add card %s: %v", number, err)
	}
	return res
}

func (p *payEnv) tryCard(a *billing.Account, number string, month, year int) (*engine.MethodResult, error) {
	tok, err := p.gw.TokenizeCard(p.ctx, billing.CardInput{Number: number, ExpMonth: month, ExpYear: year, CVC: "123", Name: "Ada Lovelace"})
	if err != nil {
		return nil, err
	}
	return p.eng.AddCard(p.ctx, a.ID, engine.AddCardRequest{Token: tok, Default: true})
}

func (p *payEnv) upgrade(t *testing.T, a *billing.Account, seats int64) *billing.Invoice {
	t.Helper()
	res, err := p.eng.ConfirmChange(p.ctx, a.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: seats})
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if res.Invoice == nil {
		t.Fatal("upgrade issued no invoice")
	}
	return res.Invoice
}

func (p *payEnv) payments(t *testing.T, a *billing.Account) []*store.Payment {
	t.Helper()
	list, _, err := p.db.FindPayments(p.ctx, store.PaymentFilter{AccountID: a.ID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*store.Payment, len(list))
	for i, x := range list {
		out[len(list)-1-i] = x
	}
	return out
}

func (p *payEnv) invoice(t *testing.T, id int64) *billing.Invoice {
	t.Helper()
	inv, err := p.db.FindInvoice(p.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (p *payEnv) status(t *testing.T, a *billing.Account) (billing.AccountStatus, billing.SubscriptionStatus) {
	t.Helper()
	ov, err := p.eng.Subscription(p.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ov.Account.Status, ov.Subscription.Status
}

func (p *payEnv) billNow(t *testing.T, a *billing.Account) engine.BillResult {
	t.Helper()
	res, err := p.eng.BillAccount(p.ctx, a.ID)
	if err != nil {
		t.Fatalf("bill at %s: %v", p.clock.Now(), err)
	}
	return res
}

func payDate(s string) billing.Date {
	d, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func wantErrCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var got string
	if e, ok := err.(*billing.Error); ok && e.Reason != "" {
		got = e.Reason
	} else {
		got = billing.ErrorCode(err)
	}
	if got != code {
		t.Fatalf("error %v: code %s, want %s", err, got, code)
	}
}

// payTables are the tables a payment operation may write.
var payTables = []string{"accounts", "subscriptions", "invoices", "credit_transactions", "audit_events", "payment_methods",
	"gateway_customers", "payments", "refunds", "dunning_events"}

func (p *payEnv) counts(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, table := range payTables {
		var n int
		if err := p.db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	var paid, due int64
	if err := p.db.SQL().QueryRowContext(context.Background(), "SELECT coalesce(sum(amount_paid), 0), coalesce(sum(amount_due), 0) FROM invoices").Scan(&paid, &due); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "paid=%d due=%d", paid, due)
	return b.String()
}

// TestDunning_DecliningCardRetriesDays1357ThenSuspendsAndANewCardRestores is
// the issue's "Done when": a card that attaches but declines every charge
// goes through the retry schedule on a test clock, to past_due and
// suspension, and a new good card pays the open invoice and restores the
// account.
func TestDunning_DecliningCardRetriesDays1357ThenSuspendsAndANewCardRestores(t *testing.T) {
	forEachPayStore(t, "2026-03-01T12:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Acme Corp", func(a *billing.Account) { a.TimeZone = "America/New_York" })
		clock := &billing.TestClock{Name: "dunning", Now: time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)}
		if err := p.db.CreateTestClock(p.ctx, clock); err != nil {
			t.Fatal(err)
		}
		if err := p.db.AttachTestClock(p.ctx, clock.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		clocks := testclock.New(p.db, p.eng.Jobs())

		added := p.addCard(t, a, "4000 0000 0000 0341") // attaches, declines every charge
		if m := added.Method; !m.Default || m.Brand != billing.CardVisa || m.Last4 != "0341" || m.Label() != "Visa •••• 0341" {
			t.Fatalf("card = %+v", m)
		}
		inv := p.upgrade(t, a, 3)
		if inv.Status != billing.InvoiceOpen || inv.AmountDue != billing.NewMoney(3000, "USD") {
			t.Fatalf("invoice after the declined charge = %s due %s", inv.Status, inv.AmountDue)
		}

		if _, err := clocks.Advance(p.ctx, clock.ID, time.Date(2026, 3, 20, 14, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation("America/New_York")
		want := []struct {
			day     string
			trigger store.PaymentTrigger
			midnite bool
		}{
			{"2026-03-10", store.TriggerInitial, false},
			{"2026-03-11", store.TriggerRetry, true},
			{"2026-03-13", store.TriggerRetry, true},
			{"2026-03-15", store.TriggerRetry, true},
			{"2026-03-17", store.TriggerRetry, true},
		}
		got := p.payments(t, a)
		if len(got) != len(want) {
			t.Fatalf("%d attempts, want %d", len(got), len(want))
		}
		keys := map[string]bool{}
		for i, w := range want {
			g := got[i]
			local := g.AttemptedAt.In(loc)
			if local.Format(time.DateOnly) != w.day || g.Trigger != w.trigger || g.Status != store.PaymentFailed ||
				g.FailureCode != billing.FailureCardDeclined || g.Amount.Amount != 3000 || g.MethodLabel != "Visa •••• 0341" {
				t.Errorf("attempt %d: %s %s %s %s %s, want %s %s failed card_declined", i+1, local.Format(time.RFC3339),
					g.Trigger, g.Status, g.FailureCode, g.MethodLabel, w.day, w.trigger)
			}
			if w.midnite && (local.Hour() != 0 || local.Minute() != 0) {
				t.Errorf("attempt %d at %s, want local midnight", i+1, local.Format(time.RFC3339))
			}
			if g.IdempotencyKey != fmt.Sprintf("charge:%d", g.ID) || keys[g.IdempotencyKey] {
				t.Errorf("attempt %d key %q: want a new charge:<id> key per attempt", i+1, g.IdempotencyKey)
			}
			keys[g.IdempotencyKey] = true
		}
		if n := len(p.gw.Charges()); n != 5 {
			t.Errorf("gateway saw %d charges, want 5", n)
		}
		if as, ss := p.status(t, a); as != billing.StatusSuspended || ss != billing.SubscriptionPastDue {
			t.Fatalf("after the last retry: account %s subscription %s, want suspended past_due", as, ss)
		}
		events, err := p.db.FindDunningEvents(p.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var evs []string
		for _, ev := range events {
			evs = append(evs, string(ev.Kind)+" "+ev.DueOn.String())
		}
		if strings.Join(evs, ", ") != "past_due 2026-03-17, suspended 2026-03-17" {
			t.Errorf("dunning events = %v", evs)
		}
		audit, err := p.db.FindAuditEvents(p.ctx, billing.AuditFilter{AccountID: &a.ID, Action: "account.suspend", Limit: 10})
		if err != nil || len(audit) != 1 || audit[0].At.In(loc).Format(time.DateOnly) != "2026-03-17" {
			t.Errorf("account.suspend audit = %v %v", audit, err)
		}

		// Nothing more is tried after the schedule ran out.
		if _, err := clocks.Advance(p.ctx, clock.ID, time.Date(2026, 3, 25, 14, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if n := len(p.payments(t, a)); n != 5 {
			t.Fatalf("%d attempts after the schedule ran out, want 5", n)
		}

		// A new good card pays the open invoice at once and restores the account.
		res := p.addCard(t, a, "4242 4242 4242 4242")
		if len(res.Retried) != 1 || res.Retried[0].Status != store.PaymentSucceeded || res.Retried[0].Trigger != store.TriggerNewMethod {
			t.Fatalf("retried = %+v", res.Retried)
		}
		paid := p.invoice(t, inv.ID)
		if paid.Status != billing.InvoicePaid || paid.AmountPaid.Amount != 3000 || paid.AmountDue.Amount != 0 ||
			paid.PaidAt == nil || paid.PaymentType != billing.InvoicePaymentCard {
			t.Fatalf("invoice = %s paid %s due %s at %v type %s", paid.Status, paid.AmountPaid, paid.AmountDue, paid.PaidAt, paid.PaymentType)
		}
		if as, ss := p.status(t, a); as != billing.StatusActive || ss != billing.SubscriptionActive {
			t.Fatalf("after paying: account %s subscription %s, want active active", as, ss)
		}
		charges := p.gw.Charges()
		if len(charges) != 6 || charges[5].Status != billing.ChargeSucceeded || !strings.Contains(charges[5].PaymentMethodRef, "_ok_") {
			t.Fatalf("charges = %+v", charges)
		}
		wantNotices := "invoice.finalized payment.failed payment.failed payment.failed payment.failed payment.failed subscription.updated " +
			"account.suspended invoice.paid account.reactivated subscription.updated"
		if got := strings.Join(p.noticesSoFar(), " "); got != wantNotices {
			t.Errorf("notifications:\n got  %s\n want %s", got, wantNotices)
		}
		// Nothing is due any more.
		if _, err := clocks.Advance(p.ctx, clock.ID, time.Date(2026, 3, 28, 14, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if n := len(p.gw.Charges()); n != 6 {
			t.Fatalf("%d charges after paying, want 6", n)
		}
	})
}

// TestCollect_DeclinesAreRetriedWithTheirReason: insufficient funds and a
// processing error (retryable) fail and are tried again the next day, each
// attempt with a new key.
func TestCollect_DeclinesAreRetriedWithTheirReason(t *testing.T) {
	cases := []struct {
		card, code string
		retryable  bool
	}{
		{"4000 0000 0000 9995", billing.FailureInsufficientFunds, false},
		{"4000 0000 0000 0119", billing.FailureProcessingError, true},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			forEachPayStore(t, "2026-05-04T15:00:00Z", func(t *testing.T, p *payEnv) {
				a := p.newAccount(t, "Initech")
				p.addCard(t, a, c.card)
				inv := p.upgrade(t, a, 2)
				p.clock.Set(time.Date(2026, 5, 5, 0, 30, 0, 0, time.UTC))
				res := p.billNow(t, a)
				if len(res.Steps) != 1 || res.Steps[0].Step != engine.StepPaymentRetry || res.Steps[0].Due != payDate("2026-05-05") {
					t.Fatalf("steps = %+v", res.Steps)
				}
				got := p.payments(t, a)
				if len(got) != 2 {
					t.Fatalf("%d attempts, want 2", len(got))
				}
				for i, g := range got {
					if g.Status != store.PaymentFailed || g.FailureCode != c.code || g.Retryable != c.retryable || g.FailureMessage == "" {
						t.Errorf("attempt %d = %s %s retryable %v %q", i+1, g.Status, g.FailureCode, g.Retryable, g.FailureMessage)
					}
				}
				if got[0].IdempotencyKey == got[1].IdempotencyKey {
					t.Error("a retry reused the failed attempt's key")
				}
				if inv := p.invoice(t, inv.ID); inv.Status != billing.InvoiceOpen || inv.AmountPaid.Amount != 0 {
					t.Errorf("invoice %s paid %s", inv.Status, inv.AmountPaid)
				}
				// The next retry is on day 3; nothing before.
				p.clock.Set(time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC))
				if res := p.billNow(t, a); len(res.Steps) != 0 {
					t.Fatalf("steps on day 2 = %+v", res.Steps)
				}
				// A manual retry is outside the schedule and says why it failed.
				pr, err := p.eng.PayInvoice(p.ctx, inv.ID)
				wantErrCode(t, err, c.code)
				if pr == nil || pr.Payment.Trigger != store.TriggerManual || pr.Payment.Status != store.PaymentFailed {
					t.Fatalf("manual retry = %+v", pr)
				}
			})
		})
	}
}

// TestCollect_TimeoutAfterChargeThenRetryChargesOnce: the gateway charges
// but its answer is lost; the attempt stays in flight and is asked again
// with the same key, which returns the first charge: one charge, paid once.
func TestCollect_TimeoutAfterChargeThenRetryChargesOnce(t *testing.T) {
	forEachPayStore(t, "2026-02-02T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Umbrella")
		p.addCard(t, a, "4242424242424242")
		p.gw.TimeoutAfterCharge(1)
		inv := p.upgrade(t, a, 5)
		if inv.Status != billing.InvoiceOpen {
			t.Fatalf("invoice after the timeout = %s, want open", inv.Status)
		}
		got := p.payments(t, a)
		if len(got) != 1 || got[0].Status != store.PaymentUnknown || got[0].NextCheckAt == nil {
			t.Fatalf("attempts after the timeout = %+v", got[0])
		}
		if n := len(p.gw.Charges()); n != 1 {
			t.Fatalf("gateway charges = %d, want 1", n)
		}
		// Not asked again before its time; no new attempt meanwhile.
		if res := p.billNow(t, a); len(res.Steps) != 0 {
			t.Fatalf("steps before the recheck = %+v", res.Steps)
		}
		if _, err := p.eng.PayInvoice(p.ctx, inv.ID); billing.ErrorCode(err) != billing.ESTATE {
			t.Fatalf("manual pay while in flight: %v, want payment_in_progress", err)
		}
		p.clock.Advance(11 * time.Minute)
		res := p.billNow(t, a)
		if len(res.Steps) != 1 || res.Steps[0].Step != engine.StepPaymentCheck {
			t.Fatalf("steps = %+v", res.Steps)
		}
		got = p.payments(t, a)
		if len(got) != 1 || got[0].Status != store.PaymentSucceeded || got[0].IdempotencyKey != "charge:"+fmt.Sprint(got[0].ID) || got[0].Checks != 1 {
			t.Fatalf("attempt after the recheck = %+v", got[0])
		}
		charges := p.gw.Charges()
		if len(charges) != 1 || charges[0].Status != billing.ChargeSucceeded || charges[0].IdempotencyKey != got[0].IdempotencyKey ||
			charges[0].Ref != got[0].GatewayRef {
			t.Fatalf("charges = %+v", charges)
		}
		paid := p.invoice(t, inv.ID)
		if paid.Status != billing.InvoicePaid || paid.AmountPaid != paid.Total || paid.AmountDue.Amount != 0 {
			t.Fatalf("invoice = %s paid %s of %s", paid.Status, paid.AmountPaid, paid.Total)
		}
		if n := strings.Count(strings.Join(p.noticesSoFar(), " "), "invoice.paid"); n != 1 {
			t.Errorf("invoice.paid sent %d times", n)
		}
		p.clock.Advance(time.Hour)
		if res := p.billNow(t, a); len(res.Steps) != 0 {
			t.Fatalf("steps after paid = %+v", res.Steps)
		}
		if len(p.gw.Charges()) != 1 {
			t.Fatal("charged again")
		}
	})
}

// TestBankTransfer_RemindersOverdueThenPartialAndFullPayment: a contract
// paid by invoice is due after its net terms, gets reminders a week before,
// on and a week after the due date, is overdue the day after, and is paid
// by two transfers; the second restores the account.
func TestBankTransfer_RemindersOverdueThenPartialAndFullPayment(t *testing.T) {
	forEachPayStore(t, "2026-01-05T15:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Globex", func(a *billing.Account) { a.BillingType = billing.BillingSubscription })
		if _, err := p.eng.AddBankTransfer(p.ctx, a.ID, engine.BankDetails{BankName: "First Bank", AccountHolder: "Globex Inc",
			AccountLast4: "6789", RemittanceRef: "KB-GLOBEX"}, true); err != nil {
			t.Fatal(err)
		}
		res, err := p.eng.CreateContract(p.ctx, a.ID, engine.ContractRequest{Number: "C-1", PlanCode: engine.PlanEnterprise,
			TermStart: payDate("2026-01-05"), TermEnd: payDate("2027-01-05"), Prepaid: 10, UnitPrice: billing.NewMoney(20000, "USD"),
			Interval: billing.Year, NetDays: 30, PayByInvoice: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Bill.Steps) != 1 || res.Bill.Steps[0].Invoice == nil {
			t.Fatalf("contract bill = %+v", res.Bill.Steps)
		}
		inv := res.Bill.Steps[0].Invoice
		if inv.PaymentType != billing.InvoicePaymentACH || inv.DueDate == nil || *inv.DueDate != payDate("2026-02-04") ||
			inv.AmountDue.Amount != 200000 {
			t.Fatalf("invoice = %s due %v amount %s", inv.PaymentType, inv.DueDate, inv.AmountDue)
		}
		if len(p.gw.Charges()) != 0 {
			t.Fatal("a bank-transfer invoice was charged")
		}
		step := func(day string, want ...engine.Step) {
			t.Helper()
			p.clock.Set(payDate(day).Midnight(time.UTC).Add(time.Hour))
			r := p.billNow(t, a)
			var got []engine.Step
			for _, s := range r.Steps {
				got = append(got, s.Step)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: steps %v, want %v", day, got, want)
			}
		}
		step("2026-01-20")
		step("2026-01-28", engine.StepReminder)
		step("2026-01-29")
		step("2026-02-04", engine.StepReminder)
		if as, ss := p.status(t, a); as != billing.StatusActive || ss != billing.SubscriptionActive {
			t.Fatalf("on the due date: %s %s", as, ss)
		}
		step("2026-02-05", engine.StepOverdue)
		if as, ss := p.status(t, a); as != billing.StatusPastDue || ss != billing.SubscriptionPastDue {
			t.Fatalf("overdue: %s %s", as, ss)
		}
		step("2026-02-11", engine.StepReminder)
		step("2026-02-12")
		events, err := p.db.FindDunningEvents(p.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var evs []string
		for _, ev := range events {
			evs = append(evs, fmt.Sprintf("%s%+d %s", ev.Kind, ev.OffsetDays, ev.DueOn))
		}
		if strings.Join(evs, ", ") != "reminder-7 2026-01-28, reminder+0 2026-02-04, overdue+0 2026-02-05, reminder+7 2026-02-11" {
			t.Fatalf("dunning events = %v", evs)
		}

		// Bad transfers are refused and change nothing.
		before := p.counts(t)
		for _, bad := range []struct {
			tr   engine.BankTransfer
			code string
		}{
			{engine.BankTransfer{Amount: -100, Reference: "W-1", ReceivedOn: payDate("2026-02-10")}, billing.EINVALID},
			{engine.BankTransfer{Amount: 0, Reference: "W-1", ReceivedOn: payDate("2026-02-10")}, billing.EINVALID},
			{engine.BankTransfer{Amount: 200001, Reference: "W-1", ReceivedOn: payDate("2026-02-10")}, "overpayment"},
			{engine.BankTransfer{Amount: 100, Reference: "", ReceivedOn: payDate("2026-02-10")}, billing.EINVALID},
			{engine.BankTransfer{Amount: 100, Reference: "W-1", ReceivedOn: payDate("2026-03-10")}, "received_in_future"},
		} {
			_, err := p.eng.RecordBankTransfer(p.ctx, inv.ID, bad.tr)
			wantErrCode(t, err, bad.code)
		}
		if after := p.counts(t); after != before {
			t.Fatalf("a refused transfer changed something:\n%s\n%s", before, after)
		}

		part, err := p.eng.RecordBankTransfer(p.ctx, inv.ID, engine.BankTransfer{Amount: 50000, Reference: "WIRE-1", ReceivedOn: payDate("2026-02-10")})
		if err != nil {
			t.Fatal(err)
		}
		if part.Invoice.Status != billing.InvoiceOpen || part.Invoice.AmountPaid.Amount != 50000 || part.Invoice.AmountDue.Amount != 150000 ||
			part.Payment.Method != store.MethodACH || part.Payment.MethodLabel != "Bank transfer (First Bank •••• 6789)" {
			t.Fatalf("after the partial transfer: %s paid %s due %s by %s", part.Invoice.Status, part.Invoice.AmountPaid, part.Invoice.AmountDue, part.Payment.MethodLabel)
		}
		if as, _ := p.status(t, a); as != billing.StatusPastDue {
			t.Fatalf("a partial payment restored the account: %s", as)
		}
		_, err = p.eng.RecordBankTransfer(p.ctx, inv.ID, engine.BankTransfer{Amount: 150001, Reference: "WIRE-2", ReceivedOn: payDate("2026-02-12")})
		wantErrCode(t, err, "overpayment")
		full, err := p.eng.RecordBankTransfer(p.ctx, inv.ID, engine.BankTransfer{Amount: 150000, Reference: "WIRE-2", ReceivedOn: payDate("2026-02-12")})
		if err != nil {
			t.Fatal(err)
		}
		if full.Invoice.Status != billing.InvoicePaid || full.Invoice.AmountDue.Amount != 0 || full.Invoice.AmountPaid.Amount != 200000 ||
			full.Invoice.PaymentType != billing.InvoicePaymentACH || full.Invoice.PaidAt == nil {
			t.Fatalf("after the full transfer: %s paid %s due %s", full.Invoice.Status, full.Invoice.AmountPaid, full.Invoice.AmountDue)
		}
		if as, ss := p.status(t, a); as != billing.StatusActive || ss != billing.SubscriptionActive {
			t.Fatalf("paid: %s %s", as, ss)
		}
		_, err = p.eng.RecordBankTransfer(p.ctx, inv.ID, engine.BankTransfer{Amount: 1, Reference: "WIRE-3", ReceivedOn: payDate("2026-02-12")})
		wantErrCode(t, err, "invoice_paid")
	})
}

// TestRefund_CardIssuesCreditNoteRefundAndGatewayRefund: a refund goes to
// the gateway once (even when its answer is lost), and comes with a credit
// note settled by it; refunding more than was paid is refused.
func TestRefund_CardIssuesCreditNoteRefundAndGatewayRefund(t *testing.T) {
	forEachPayStore(t, "2026-04-01T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Stark")
		p.addCard(t, a, "5555 5555 5555 4444")
		inv := p.upgrade(t, a, 3)
		if inv.Status != billing.InvoicePaid {
			t.Fatalf("invoice = %s", inv.Status)
		}
		balance := func() int64 {
			acc, err := p.db.FindAccountByID(p.ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return acc.CreditBalance.Amount
		}
		startBalance := balance()

		before := p.counts(t)
		for _, bad := range []struct {
			req  engine.RefundRequest
			code string
		}{
			{engine.RefundRequest{Amount: 3001, Reason: "too much"}, "refund_exceeds_paid"},
			{engine.RefundRequest{Amount: 0, Reason: "zero"}, billing.EINVALID},
			{engine.RefundRequest{Amount: -5, Reason: "negative"}, billing.EINVALID},
			{engine.RefundRequest{Amount: 100, Reason: " "}, billing.EINVALID},
		} {
			_, err := p.eng.RefundInvoice(p.ctx, inv.ID, bad.req)
			wantErrCode(t, err, bad.code)
		}
		if after := p.counts(t); after != before {
			t.Fatalf("a refused refund changed something:\n%s\n%s", before, after)
		}

		p.gw.TimeoutAfterRefund(1)
		res, err := p.eng.RefundInvoice(p.ctx, inv.ID, engine.RefundRequest{Amount: 1000, Reason: "Goodwill"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Refund.Status != store.RefundUnknown || res.CreditNote != nil {
			t.Fatalf("refund after the timeout = %s note %v", res.Refund.Status, res.CreditNote)
		}
		_, err = p.eng.RefundInvoice(p.ctx, inv.ID, engine.RefundRequest{Amount: 100, Reason: "again"})
		wantErrCode(t, err, "refund_in_progress")
		p.clock.Advance(15 * time.Minute)
		steps := p.billNow(t, a).Steps
		if len(steps) != 1 || steps[0].Step != engine.StepRefundCheck {
			t.Fatalf("steps = %+v", steps)
		}
		refunds := p.gw.Refunds()
		if len(refunds) != 1 || refunds[0].Amount.Amount != 1000 || refunds[0].IdempotencyKey != res.Refund.IdempotencyKey {
			t.Fatalf("gateway refunds = %+v", refunds)
		}
		list, err := p.eng.Refunds(p.ctx, a.ID, 10, 0)
		if err != nil || len(list) != 1 {
			t.Fatal(list, err)
		}
		r := list[0]
		if r.Status != store.RefundSucceeded || r.CreditNote == "" || r.GatewayRef != refunds[0].Ref || r.MethodLabel != "Mastercard •••• 4444" {
			t.Fatalf("refund = %+v", r)
		}
		note, err := p.db.FindInvoiceByNumber(p.ctx, r.CreditNote)
		if err != nil {
			t.Fatal(err)
		}
		if note.Kind != billing.InvoiceCreditNote || note.Total.Amount != -1000 || note.Status != billing.InvoicePaid ||
			note.PaymentType != billing.InvoicePaymentRefund || note.CorrectsInvoiceID == nil || *note.CorrectsInvoiceID != inv.ID {
			t.Fatalf("credit note = %+v", note)
		}
		if b := balance(); b != startBalance {
			t.Errorf("credit balance moved by the refund: %d → %d", startBalance, b)
		}

		// The rest of the payment; then nothing is left.
		res, err = p.eng.RefundInvoice(p.ctx, inv.ID, engine.RefundRequest{Amount: 2000, Reason: "Cancelled"})
		if err != nil {
			t.Fatal(err)
		}
		pays := p.payments(t, a)
		if res.Refund.Status != store.RefundSucceeded || pays[0].Status != store.PaymentRefunded || pays[0].AmountRefunded.Amount != 3000 {
			t.Fatalf("after refunding all: refund %s payment %s refunded %s", res.Refund.Status, pays[0].Status, pays[0].AmountRefunded)
		}
		_, err = p.eng.RefundInvoice(p.ctx, inv.ID, engine.RefundRequest{Amount: 1, Reason: "more"})
		wantErrCode(t, err, "not_refundable")
		if n := len(p.gw.Refunds()); n != 2 {
			t.Fatalf("gateway refunds = %d, want 2", n)
		}
	})
}

// TestPaymentMethods_RulesAndBadCards: an unknown or expired card changes
// nothing; the default switches at once; bank transfer is for contracts;
// the default of a paid subscription stays until another replaces it.
func TestPaymentMethods_RulesAndBadCards(t *testing.T) {
	forEachPayStore(t, "2026-06-01T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Wayne")
		before := p.counts(t)
		_, err := p.tryCard(a, "4242 4242 4242 4241", 12, 2030)
		wantErrCode(t, err, billing.EINVALID)
		_, err = p.tryCard(a, "4242 4242 4242 4242", 1, 2026)
		wantErrCode(t, err, "expired_card")
		_, err = p.eng.AddCard(p.ctx, a.ID, engine.AddCardRequest{Token: "tok_made_up"})
		wantErrCode(t, err, "invalid_token")
		_, err = p.eng.AddBankTransfer(p.ctx, a.ID, engine.BankDetails{AccountHolder: "Wayne"}, true)
		wantErrCode(t, err, "bank_transfer_contracts_only")
		if after := p.counts(t); after != before {
			t.Fatalf("a refused method changed something:\n%s\n%s", before, after)
		}

		first := p.addCard(t, a, "4242424242424242").Method
		second, err := p.eng.AddCard(p.ctx, a.ID, engine.AddCardRequest{Token: "pm_card_mastercard"})
		if err != nil {
			t.Fatal(err)
		}
		if second.Method.Default {
			t.Fatal("a card added without default became the default")
		}
		_, err = p.eng.AddCard(p.ctx, a.ID, engine.AddCardRequest{Token: "pm_card_mastercard"})
		wantErrCode(t, err, "payment_method_exists")
		if _, err := p.eng.SetDefaultMethod(p.ctx, a.ID, second.Method.ID); err != nil {
			t.Fatal(err)
		}
		inv := p.upgrade(t, a, 1)
		pays := p.payments(t, a)
		if inv.Status != billing.InvoicePaid || len(pays) != 1 || pays[0].MethodLabel != "Mastercard •••• 4444" {
			t.Fatalf("the new default was not used: %s %+v", inv.Status, pays)
		}
		wantErrCode(t, p.eng.RemoveMethod(p.ctx, a.ID, second.Method.ID), "default_payment_method")
		if err := p.eng.RemoveMethod(p.ctx, a.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		methods, err := p.eng.PaymentMethods(p.ctx, a.ID)
		if err != nil || len(methods) != 1 || methods[0].ID != second.Method.ID {
			t.Fatalf("methods = %v %v", methods, err)
		}
		wantErrCode(t, p.eng.RemoveMethod(p.ctx, a.ID, first.ID), billing.ENOTFOUND)
	})
}

// TestChange_PaidPlanNeedsAPaymentMethod: an online account with no payment
// method cannot move to a paid plan (payment_method_required, nothing
// written) unless an operator set it to pay by invoice; then its invoice is
// a bank transfer's, due 30 days after issue, and no card is charged.
func TestChange_PaidPlanNeedsAPaymentMethod(t *testing.T) {
	forEachPayStore(t, "2026-06-01T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Initech")
		before := p.counts(t)
		_, err := p.eng.ConfirmChange(p.ctx, a.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 1})
		wantErrCode(t, err, engine.ErrPaymentMethodRequired)
		if after := p.counts(t); after != before {
			t.Fatalf("a refused upgrade wrote: %s → %s", before, after)
		}
		on := true
		if _, err := p.db.UpdateAccount(p.ctx, a.ID, billing.AccountUpdate{PayByInvoice: &on}); err != nil {
			t.Fatal(err)
		}
		inv := p.invoice(t, p.upgrade(t, a, 1).ID)
		if inv.Status != billing.InvoiceOpen || inv.PaymentType != billing.InvoicePaymentACH || inv.DueDate == nil ||
			*inv.DueDate != payDate("2026-07-01") || len(p.payments(t, a)) != 0 || len(p.gw.Charges()) != 0 {
			t.Fatalf("paid by invoice: %s %s due %v, %d attempts", inv.Status, inv.PaymentType, inv.DueDate, len(p.payments(t, a)))
		}
	})
}

// TestCollect_NoCardFailsIntoTheSchedule: an online invoice that finds no
// card on file (here the card was detached behind the engine's back after
// the upgrade, and a user joined) fails at once without a gateway call, and
// is retried like a decline.
func TestCollect_NoCardFailsIntoTheSchedule(t *testing.T) {
	forEachPayStore(t, "2026-06-01T10:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Cyberdyne")
		card := p.addCard(t, a, "4242424242424242")
		p.upgrade(t, a, 1)
		if err := p.db.InTx(p.ctx, func(tx *store.Tx) error { return tx.RemovePaymentMethod(card.Method.ID) }); err != nil {
			t.Fatal(err)
		}
		charges := len(p.gw.Charges())
		for _, id := range []string{"u1", "u2"} {
			if err := p.eng.UpsertManagedUser(p.ctx, &billing.ManagedUser{AccountID: a.ID, UserID: id, Email: id + "@cyberdyne.example.com"}); err != nil {
				t.Fatal(err)
			}
		}
		invs, _, err := p.eng.FindInvoices(p.ctx, a.ID, 1, 0)
		if err != nil || len(invs) != 1 {
			t.Fatalf("invoices = %v %v", invs, err)
		}
		inv := invs[0]
		var pays []*store.Payment
		for _, pay := range p.payments(t, a) {
			if pay.InvoiceID == inv.ID {
				pays = append(pays, pay)
			}
		}
		if inv.Status != billing.InvoiceOpen || len(pays) != 1 || pays[0].FailureCode != engine.FailureNoPaymentMethod || len(p.gw.Charges()) != charges {
			t.Fatalf("invoice %s, attempts %+v", inv.Status, pays)
		}
		_, err = p.eng.PayInvoice(p.ctx, inv.ID)
		wantErrCode(t, err, engine.FailureNoPaymentMethod)
		p.clock.Set(time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC))
		if steps := p.billNow(t, a).Steps; len(steps) != 1 || steps[0].Step != engine.StepPaymentRetry {
			t.Fatalf("steps = %+v", steps)
		}
		due, err := p.eng.DueAccounts(p.ctx, 10)
		if err != nil || len(due) != 0 {
			t.Fatalf("due accounts the day after a retry = %v %v", due, err)
		}
		p.clock.Set(time.Date(2026, 6, 4, 9, 0, 0, 0, time.UTC))
		due, err = p.eng.DueAccounts(p.ctx, 10)
		if err != nil || len(due) != 1 || due[0] != a.ID {
			t.Fatalf("due accounts on day 3 = %v %v", due, err)
		}
	})
}

// TestDunning_ConfiguredScheduleAndGrace: one retry on day 2, then past_due
// (the account too) that day and suspension three days later.
func TestDunning_ConfiguredScheduleAndGrace(t *testing.T) {
	forEachPayStore(t, "2026-07-01T12:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.newAccount(t, "Soylent")
		p.addCard(t, a, "4000000000000002")
		p.upgrade(t, a, 1)
		day := func(d string) []string {
			t.Helper()
			p.clock.Set(payDate(d).Midnight(time.UTC).Add(30 * time.Minute))
			var got []string
			for _, s := range p.billNow(t, a).Steps {
				got = append(got, string(s.Step))
			}
			return got
		}
		if got := day("2026-07-02"); len(got) != 0 {
			t.Fatalf("day 1: %v", got)
		}
		if got := fmt.Sprint(day("2026-07-03")); got != "[payment_retry past_due]" {
			t.Fatalf("day 2: %v", got)
		}
		if as, ss := p.status(t, a); as != billing.StatusPastDue || ss != billing.SubscriptionPastDue {
			t.Fatalf("after the last retry: %s %s", as, ss)
		}
		if got := day("2026-07-05"); len(got) != 0 {
			t.Fatalf("day 4: %v", got)
		}
		if got := fmt.Sprint(day("2026-07-06")); got != "[suspend]" {
			t.Fatalf("day 5: %v", got)
		}
		if as, _ := p.status(t, a); as != billing.StatusSuspended {
			t.Fatalf("after the grace: %s", as)
		}
		if n := len(p.gw.Charges()); n != 2 {
			t.Fatalf("charges = %d, want 2", n)
		}
	}, func(c *engine.Config) { c.Payments.RetryDays, c.Payments.SuspendAfterDays = []int{2}, 3 })
}

func TestPaymentConfig_Validate(t *testing.T) {
	for _, bad := range []engine.PaymentConfig{{RetryDays: []int{0}}, {RetryDays: []int{3, 1}}, {SuspendAfterDays: -1},
		{ReminderDays: []int{7, -7}}, {RecheckAfter: -time.Second}} {
		if _, err := engine.New(engine.Config{DB: &store.DB{}, Payments: bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
