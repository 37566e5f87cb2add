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
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// bundle is one store with an engine whose clock the test moves.
type bundle struct {
	db    *store.DB
	eng   *engine.Engine
	clock *billing.FixedClock
	ctx   context.Context

	mu   sync.Mutex
	fail func(step engine.Step) error // BeforeStep hook, nil for none
}

// option adjusts the engine's configuration.
type option func(*engine.Config)

func signupCredit(amount int64) option { return func(c *engine.Config) { c.SignupCredit = amount } }

// forEachStore runs fn on SQLite and on PostgreSQL, each with its own clock
// stopped at start (UTC) and a seeded catalog.
func forEachStore(t *testing.T, start string, fn func(t *testing.T, b *bundle), opts ...option) {
	t.Helper()
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		fn(t, newBundle(t, db, start, opts...))
	})
}

func newBundle(t testing.TB, db *store.DB, start string, opts ...option) *bundle {
	t.Helper()
	clock := billing.NewFixedClock(mustTime(start))
	b := &bundle{db: db.WithClock(clock), clock: clock,
		ctx: billing.NewContextWithActor(context.Background(), billing.Actor{Name: "user:ops@kore.test", Role: billing.RoleOperator})}
	cfg := engine.Config{DB: b.db, Clock: clock, BeforeStep: func(_ context.Context, _ int64, s engine.Step) error {
		b.mu.Lock()
		f := b.fail
		b.mu.Unlock()
		if f != nil {
			return f(s)
		}
		return nil
	}}
	for _, o := range opts {
		o(&cfg)
	}
	eng, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	// Every scenario ends by checking reconcile's invariants of the books.
	t.Cleanup(func() {
		if !t.Failed() {
			mustHold(t, eng)
		}
	})
	if err := eng.SeedCatalog(b.ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.SeedCatalog(b.ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	return b
}

func mustTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	panic("bad time " + s)
}

func d(s string) billing.Date {
	dt, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return dt
}

func usd(n int64) billing.Money { return billing.NewMoney(n, "USD") }

// at moves the clock to the local time s ("2026-01-31 10:00") in zone.
func (b *bundle) at(t *testing.T, s, zone string) {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Set(tm)
}

// account creates an account through the engine.
func (b *bundle) account(t *testing.T, name string, edit ...func(*billing.Account)) *billing.Account {
	t.Helper()
	a := &billing.Account{Name: name, Domain: strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example.com"}
	for _, f := range edit {
		f(a)
	}
	if err := b.eng.CreateAccount(b.ctx, a); err != nil {
		t.Fatal(err)
	}
	return a
}

func inZone(zone string) func(*billing.Account) {
	return func(a *billing.Account) { a.TimeZone = zone }
}

func contractAccount(a *billing.Account) { a.BillingType = billing.BillingSubscription }

func (b *bundle) confirm(t *testing.T, a *billing.Account, req engine.ChangeRequest) *engine.ChangeResult {
	t.Helper()
	res, err := b.eng.ConfirmChange(b.ctx, a.ID, req)
	if err != nil {
		t.Fatalf("confirm %+v on %s: %v", req, b.clock.Now(), err)
	}
	return res
}

func premium(interval billing.Interval, seats int64) engine.ChangeRequest {
	return engine.ChangeRequest{Plan: engine.PlanPremium, Interval: interval, Seats: seats}
}

// bill runs BillAccount and returns what it did.
func (b *bundle) bill(t *testing.T, a *billing.Account) engine.BillResult {
	t.Helper()
	res, err := b.eng.BillAccount(b.ctx, a.ID)
	if err != nil {
		t.Fatalf("bill %s at %s: %v", a.Number, b.clock.Now(), err)
	}
	return res
}

// invoices returns the account's invoices, oldest first, as stored.
func (b *bundle) invoices(t *testing.T, a *billing.Account) []*billing.Invoice {
	t.Helper()
	list, _, err := b.db.FindInvoices(b.ctx, store.InvoiceFilter{AccountID: a.ID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*billing.Invoice, len(list))
	for i, inv := range list {
		out[len(list)-1-i] = inv
	}
	return out
}

func (b *bundle) sub(t *testing.T, a *billing.Account) billing.Subscription {
	t.Helper()
	ov, err := b.eng.Subscription(b.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ov.Subscription
}

func (b *bundle) balance(t *testing.T, a *billing.Account) int64 {
	t.Helper()
	acc, err := b.db.FindAccountByID(b.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return acc.CreditBalance.Amount
}

// users makes the roster u1…un, all active at the clock's time.
func (b *bundle) users(t *testing.T, a *billing.Account, n int) error {
	t.Helper()
	now := b.clock.Now()
	var list []billing.ManagedUser
	for i := 1; i <= n; i++ {
		list = append(list, billing.ManagedUser{UserID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), LastActiveAt: &now})
	}
	_, err := b.eng.ReplaceManagedUsers(b.ctx, a.ID, list)
	return err
}

// L is an expected invoice line; Days and Of are 0 for a whole period, and
// a negative Amount is a credit line.
type L struct {
	Desc     string
	Qty      int64
	Unit     int64
	Days, Of int
	Amount   int64
	Period   string // "2026-01-31/2026-02-28"
}

// I is an expected invoice.
type I struct {
	Number   string
	Kind     billing.InvoiceKind
	Status   billing.InvoiceStatus
	Issue    string
	Due      string // "" when none
	Period   string
	Lines    []L
	Subtotal int64
	Credits  int64
	Tax      int64
	Total    int64
	Payment  billing.InvoicePaymentType
}

func period(s string) billing.Period {
	a, z, ok := strings.Cut(s, "/")
	if !ok {
		panic("bad period " + s)
	}
	return billing.Period{Start: d(a), End: d(z)}
}

// checkInvoice asserts every field of every line and the totals.
func checkInvoice(t *testing.T, got *billing.Invoice, want I) {
	t.Helper()
	if got == nil {
		t.Fatalf("no invoice, want %s", want.Number)
	}
	name := got.Number
	if want.Number != "" && got.Number != want.Number {
		t.Errorf("number = %s, want %s", got.Number, want.Number)
	}
	if want.Status == "" {
		want.Status = billing.InvoiceOpen
		if want.Total <= 0 {
			want.Status = billing.InvoicePaid
		}
	}
	if want.Payment == "" {
		want.Payment = billing.InvoicePaymentCard
	}
	if got.Kind != want.Kind || got.Status != want.Status || got.IssueDate != d(want.Issue) || got.Period != period(want.Period) ||
		got.PaymentType != want.Payment || got.Currency != "USD" {
		t.Errorf("%s: kind %s status %s issue %s period %s payment %s, want %s %s %s %s %s", name, got.Kind, got.Status, got.IssueDate,
			got.Period, got.PaymentType, want.Kind, want.Status, want.Issue, want.Period, want.Payment)
	}
	switch {
	case want.Due == "" && got.DueDate != nil:
		t.Errorf("%s: due %s, want none", name, got.DueDate)
	case want.Due != "" && (got.DueDate == nil || *got.DueDate != d(want.Due)):
		t.Errorf("%s: due %v, want %s", name, got.DueDate, want.Due)
	}
	if len(got.Lines) != len(want.Lines) {
		t.Fatalf("%s: %d lines %+v, want %d", name, len(got.Lines), got.Lines, len(want.Lines))
	}
	for i, w := range want.Lines {
		g := got.Lines[i]
		kind := billing.LineCharge
		if w.Amount < 0 {
			kind = billing.LineCredit
		}
		ok := g.Description == w.Desc && g.Kind == kind && g.Quantity == w.Qty && g.UnitAmount == usd(w.Unit) &&
			g.Days == w.Days && g.PeriodDays == w.Of && g.Amount == usd(w.Amount) && g.Period == period(w.Period) &&
			g.Proration == (w.Of != 0)
		if !ok {
			t.Errorf("%s line %d:\n got  %q %s qty %d unit %d days %d/%d amount %d period %s proration %v\n want %q %s qty %d unit %d days %d/%d amount %d period %s",
				name, i+1, g.Description, g.Kind, g.Quantity, g.UnitAmount.Amount, g.Days, g.PeriodDays, g.Amount.Amount, g.Period, g.Proration,
				w.Desc, kind, w.Qty, w.Unit, w.Days, w.Of, w.Amount, w.Period)
		}
	}
	due := max(want.Total, 0)
	if got.Subtotal != usd(want.Subtotal) || got.CreditsApplied != usd(want.Credits) || got.Tax != usd(want.Tax) ||
		got.Total != usd(want.Total) || got.AmountDue != usd(due) {
		t.Errorf("%s: subtotal %d credits %d tax %d total %d due %d, want %d %d %d %d %d", name, got.Subtotal.Amount,
			got.CreditsApplied.Amount, got.Tax.Amount, got.Total.Amount, got.AmountDue.Amount,
			want.Subtotal, want.Credits, want.Tax, want.Total, due)
	}
}

// checkInvoices asserts the account's whole invoice history.
func (b *bundle) checkInvoices(t *testing.T, a *billing.Account, want ...I) {
	t.Helper()
	got := b.invoices(t, a)
	if len(got) != len(want) {
		var nums []string
		for _, inv := range got {
			nums = append(nums, fmt.Sprintf("%s %s %s %d", inv.Number, inv.Kind, inv.Period, inv.Total.Amount))
		}
		t.Fatalf("%d invoices %v, want %d", len(got), nums, len(want))
	}
	for i := range want {
		checkInvoice(t, got[i], want[i])
	}
}

// steps lists the steps of a run as "step due".
func steps(r engine.BillResult) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, string(s.Step)+" "+s.Due.String())
	}
	return out
}

func wantSteps(t *testing.T, r engine.BillResult, want ...string) {
	t.Helper()
	got := steps(r)
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("steps = %v, want %v", got, want)
	}
}

// tables are every table an engine operation may write.
var tables = []string{"accounts", "subscriptions", "invoices", "invoice_lines", "invoice_number_counters",
	"credit_transactions", "managed_users", "audit_events", "tax_rates", "plans", "plan_versions"}

func (b *bundle) rowCounts(t *testing.T) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, table := range tables {
		var n int
		if err := b.db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		m[table] = n
	}
	// The subscriptions' state, not only their count.
	var state string
	rows, err := b.db.SQL().QueryContext(context.Background(), `SELECT seats, coalesce(period_start, ''), period_billed,
		cancel_at_period_end, coalesce(scheduled, '') FROM subscriptions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seats int64
		var start, sched string
		var billed, cancel bool
		if err := rows.Scan(&seats, &start, &billed, &cancel, &sched); err != nil {
			t.Fatal(err)
		}
		state += fmt.Sprintf("%d|%s|%v|%v|%s;", seats, start, billed, cancel, sched)
	}
	m["state:"+state]++
	return m
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var e *billing.Error
	got := billing.ErrorCode(err)
	if be, ok := err.(*billing.Error); ok {
		e = be
	}
	if e != nil && e.Reason != "" {
		got = e.Reason
	}
	if got != code {
		t.Fatalf("error %v: code %s, want %s", err, got, code)
	}
}
