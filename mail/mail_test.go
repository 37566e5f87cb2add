package mail_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/jobs"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

type idleBiller struct{}

func (idleBiller) DueAccounts(context.Context, int) ([]int64, error) { return nil, nil }
func (idleBiller) BillAccount(context.Context, int64) error          { return nil }

var system = billing.NewContextWithActor(context.Background(), billing.SystemActor)

const from = "Kore Billing <billing@kore.test>"

type testBundle struct {
	db      *store.DB
	svc     *mail.Service
	server  *smtpServer // nil without SMTP
	profile *billing.BillingProfile
	account *billing.Account
}

// setup makes an account with a billing profile, and a mail service that
// sends to a real SMTP server started here (when so.smtp) through a River
// runner, with tiny retry delays.
func setup(t *testing.T, db *store.DB, withSMTP bool, so serverOptions, opts mail.Options) *testBundle {
	t.Helper()
	b := &testBundle{db: db}
	b.account, b.profile = accountWithProfile(t, db)
	var sender mail.Sender
	if withSMTP {
		b.server = startSMTP(t, so)
		s, err := mail.NewSMTPSender("smtp://"+b.server.addr, mail.SMTPOptions{From: from, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		sender = s
	}
	if opts.Backoff == nil {
		opts.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	}
	b.svc = mail.New(db, sender, nil, opts)
	runner, err := jobs.New(db, idleBiller{}, nil, jobs.Options{
		PollInterval: 100 * time.Millisecond, FindDueEvery: time.Hour,
		Register: b.svc.Register, Queues: map[string]int{mail.Queue: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.svc.SetJobs(runner)
	ctx := context.Background()
	if err := runner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return b
}

func accountWithProfile(t *testing.T, db *store.DB) (*billing.Account, *billing.BillingProfile) {
	t.Helper()
	a := &billing.Account{Name: "Acme Corp", Domain: "acme.example.com"}
	if err := db.CreateAccount(system, a); err != nil {
		t.Fatal(err)
	}
	p := &billing.BillingProfile{
		AccountID: a.ID, CompanyName: "Acme Corp", ContactName: "Ada Lovelace",
		Address: billing.Address{Line1: "1 Market St", City: "San Francisco", Region: "CA", PostalCode: "94105", Country: "US"},
		Phone:   "+14155550132", Email: "billing@acme.example.com",
		InvoiceEmails: []string{"ap@acme.example.com", "cfo@acme.example.com"},
	}
	if err := db.SetProfile(system, p); err != nil {
		t.Fatal(err)
	}
	p, err := db.FindProfile(system, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

func usd(cents int64) billing.Money { return billing.NewMoney(cents, "USD") }

// anInvoice is an open online invoice: 7 Premium seats for 13 of 31 days,
// less a credit, plus tax.
func anInvoice(number string) *billing.Invoice {
	return &billing.Invoice{
		Number: number, AccountNumber: "KB-000001", Kind: billing.InvoiceChange, Status: billing.InvoiceOpen,
		Currency: "USD", IssueDate: billing.NewDate(2026, 3, 19),
		Period: billing.Period{Start: billing.NewDate(2026, 3, 19), End: billing.NewDate(2026, 4, 1)},
		Lines: []billing.InvoiceLine{{Description: "Premium: 7 users, 13 of 31 days", Kind: billing.LineCharge,
			Quantity: 7, UnitAmount: usd(1000), Amount: usd(2935)}},
		Subtotal: usd(2935), CreditsApplied: usd(500), Tax: usd(201), Total: usd(2636),
		AmountPaid: usd(0), AmountDue: usd(2636),
	}
}

// queue puts m in the outbox in a committed transaction of its own.
func (b *testBundle) queue(t *testing.T, m *mail.Message) {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := b.svc.QueueTx(ctx, tx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func (b *testBundle) waitStatus(t *testing.T, id int64, status mail.Status) *mail.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, err := b.svc.Email(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == status {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("email %d is %s after 20s, want %s (attempts %d, last error %q)", id, m.Status, status, m.Attempts, m.LastError)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestQueue_InvoiceEmailArrivesThroughSMTP(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		pdf := []byte("%PDF-1.4 a statement")
		var rendered []string
		var mu sync.Mutex
		render := func(_ context.Context, a mail.Attachment) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			rendered = append(rendered, a.Invoice)
			if len(rendered) == 1 {
				return nil, errors.New("no font has U+1F680")
			}
			return pdf, nil
		}
		b := setup(t, db, true, serverOptions{}, mail.Options{Render: render})
		m, err := mail.InvoiceIssued(b.profile, anInvoice("INV-2026-000001"), mail.StatementPDF("INV-2026-000001"))
		if err != nil {
			t.Fatal(err)
		}
		b.queue(t, m)
		if m.Status != mail.StatusQueued {
			t.Errorf("queued status = %s", m.Status)
		}
		// The outbox row names the statement and holds no PDF.
		var raw string
		if err := db.SQL().QueryRow(`SELECT attachments FROM emails WHERE id = $1`, m.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "PDF") || strings.Contains(raw, "data") || !strings.Contains(raw, `"invoice":"INV-2026-000001"`) {
			t.Errorf("stored attachments = %s", raw)
		}
		// The first rendering fails: the job records it, keeps the email
		// queued and tries again; the second sends it.
		sent := b.waitStatus(t, m.ID, mail.StatusSent)
		mu.Lock()
		if !slices.Equal(rendered, []string{"INV-2026-000001", "INV-2026-000001"}) {
			t.Errorf("rendered %v; want the invoice rendered by the job, once failing and once for the send", rendered)
		}
		mu.Unlock()
		if sent.Attempts != 2 || b.server.attempts() != 1 {
			t.Errorf("attempts: outbox %d, server %d; want 2 (a failed rendering, a send) and 1", sent.Attempts, b.server.attempts())
		}
		if sent.SentAt == nil || sent.LastError != "" || sent.AccountNumber != b.account.Number {
			t.Errorf("outbox row = %+v", sent)
		}

		got := b.server.messages()
		if len(got) != 1 {
			t.Fatalf("%d messages arrived, want 1", len(got))
		}
		rcpts := slices.Sorted(slices.Values(got[0].to))
		if want := []string{"ap@acme.example.com", "billing@acme.example.com", "cfo@acme.example.com"}; !slices.Equal(rcpts, want) {
			t.Errorf("recipients = %v, want %v", rcpts, want)
		}
		if got[0].from != "billing@kore.test" {
			t.Errorf("envelope from = %q", got[0].from)
		}
		p := parse(t, got[0].data)
		if p.subject != "Invoice INV-2026-000001: $26.36" {
			t.Errorf("subject = %q", p.subject)
		}
		if to := p.header.Get("To"); !strings.Contains(to, "billing@acme.example.com") {
			t.Errorf("To = %q", to)
		}
		if cc := p.header.Get("Cc"); !strings.Contains(cc, "ap@acme.example.com") || !strings.Contains(cc, "cfo@acme.example.com") {
			t.Errorf("Cc = %q", cc)
		}
		for _, want := range []string{
			"Hello Ada Lovelace,",
			"Invoice INV-2026-000001 for Acme Corp (account KB-000001) was issued on March 19, 2026 for the service period March 19, 2026 to March 31, 2026.",
			"  Premium: 7 users, 13 of 31 days: $29.35\n",
			"  Discount credits: -$5.00\n",
			"  Tax: $2.01\n",
			"  Total: $26.36\n",
			"  Amount due: $26.36\n",
			"$26.36 will be charged to your payment method on file.",
			"The invoice is attached as a PDF.",
		} {
			if !strings.Contains(p.text, want) {
				t.Errorf("text lacks %q:\n%s", want, p.text)
			}
		}
		if !strings.Contains(p.html, "<strong>$26.36</strong>") || !strings.Contains(p.html, "Premium: 7 users, 13 of 31 days") {
			t.Errorf("html = %s", p.html)
		}
		if string(p.attachments["INV-2026-000001.pdf"]) != string(pdf) {
			t.Errorf("attachments = %v", p.attachments)
		}
	})
}

func TestQueue_RefusingServerIsRetriedWithBackoffThenSent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, true, serverOptions{refuse: 2}, mail.Options{})
		next := billing.NewDate(2026, 3, 4)
		m, err := mail.PaymentFailed(b.profile, mail.FailedPayment{
			AccountNumber: b.account.Number, InvoiceNumber: "INV-2026-000002", Amount: usd(7000),
			Method: "Visa ending 0002", Reason: "Your card was declined.", NextRetry: &next,
		})
		if err != nil {
			t.Fatal(err)
		}
		b.queue(t, m)
		sent := b.waitStatus(t, m.ID, mail.StatusSent)
		if sent.Attempts != 3 || b.server.attempts() != 3 {
			t.Errorf("attempts: outbox %d, server %d; want 3", sent.Attempts, b.server.attempts())
		}
		got := b.server.messages()
		if len(got) != 1 {
			t.Fatalf("%d messages arrived, want 1", len(got))
		}
		if !slices.Equal(got[0].to, []string{"billing@acme.example.com"}) {
			t.Errorf("recipients = %v: a failed payment goes to the billing contact only", got[0].to)
		}
		p := parse(t, got[0].data)
		if p.subject != "Payment of $70.00 failed; we will try again on March 4, 2026" {
			t.Errorf("subject = %q", p.subject)
		}
		for _, want := range []string{
			"We could not collect $70.00 for invoice INV-2026-000002 from Visa ending 0002.",
			"The reason given: Your card was declined.",
			"We will try again on March 4, 2026.",
		} {
			if !strings.Contains(p.text, want) {
				t.Errorf("text lacks %q:\n%s", want, p.text)
			}
		}
	})
}

func TestQueue_ServerThatAlwaysRefusesFailsAfterTheLastAttempt(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, true, serverOptions{refuse: 1000}, mail.Options{MaxAttempts: 3})
		m, err := mail.CardExpiring(b.profile, b.account.Number, billing.Card{Brand: billing.CardVisa, Last4: "4242", ExpMonth: 4, ExpYear: 2026})
		if err != nil {
			t.Fatal(err)
		}
		b.queue(t, m)
		failed := b.waitStatus(t, m.ID, mail.StatusFailed)
		time.Sleep(300 * time.Millisecond) // nothing after the last attempt
		if failed.Attempts != 3 || b.server.attempts() != 3 || !strings.Contains(failed.LastError, "451") ||
			failed.SentAt != nil {
			t.Errorf("outbox %+v, server attempts %d", failed, b.server.attempts())
		}
		if n := len(b.server.messages()); n != 0 {
			t.Errorf("%d messages arrived", n)
		}
		list, total, err := b.svc.Emails(context.Background(), mail.Filter{Status: mail.StatusFailed})
		if err != nil || total != 1 || list[0].ID != m.ID {
			t.Errorf("failed emails = %v, %d, %v", list, total, err)
		}
	})
}

func TestQueue_WithoutSMTPTheEmailIsRecorded(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, false, serverOptions{}, mail.Options{})
		if b.svc.Sending() {
			t.Fatal("Sending() with no SMTP server")
		}
		m, err := mail.PaymentReceipt(b.profile, mail.Receipt{
			AccountNumber: b.account.Number, InvoiceNumber: "INV-2026-000003", Amount: usd(123456),
			Method: "Visa ending 4242", Reference: "ch_123", PaidOn: billing.NewDate(2026, 3, 1),
		})
		if err != nil {
			t.Fatal(err)
		}
		b.queue(t, m)
		if m.Status != mail.StatusRecorded {
			t.Errorf("status = %s, want recorded", m.Status)
		}
		time.Sleep(300 * time.Millisecond)
		got, err := b.svc.Email(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != mail.StatusRecorded || got.Attempts != 0 || got.LastError != "" || got.Subject != "Payment received: $1,234.56 for invoice INV-2026-000003" ||
			!slices.Equal(got.To, []string{"billing@acme.example.com"}) || len(got.Cc) != 2 ||
			!strings.Contains(got.Text, "Amount paid: $1,234.56") {
			t.Errorf("recorded email = %+v", got)
		}
		list, total, err := b.svc.Emails(context.Background(), mail.Filter{AccountID: &b.account.ID, Kind: mail.KindPaymentReceipt, To: "CFO@acme"})
		if err != nil || total != 1 || list[0].ID != m.ID {
			t.Errorf("filtered list = %v, %d, %v", list, total, err)
		}
	})
}

func TestQueue_RolledBackTransactionQueuesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, true, serverOptions{}, mail.Options{})
		m, err := mail.CardExpiring(b.profile, b.account.Number, billing.Card{Brand: billing.CardAmex, Last4: "0005", ExpMonth: 12, ExpYear: 2026})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.svc.QueueTx(ctx, tx, m); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if _, total, _ := b.svc.Emails(ctx, mail.Filter{}); total != 0 {
			t.Errorf("%d emails in the outbox", total)
		}
		if b.server.attempts() != 0 {
			t.Errorf("the server was called %d times", b.server.attempts())
		}
	})
}

func TestQueue_InvalidMessageIsRefusedAndNothingWritten(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, false, serverOptions{}, mail.Options{})
		ctx := context.Background()
		for _, m := range []*mail.Message{
			{Kind: mail.KindCardExpiring, Subject: "s", Text: "t"},
			{Kind: mail.KindCardExpiring, To: []string{"not an address"}, Subject: "s", Text: "t"},
			{Kind: "newsletter", To: []string{"a@b.example"}, Subject: "s", Text: "t"},
			{Kind: mail.KindCardExpiring, To: []string{"a@b.example"}, Subject: "two\nlines", Text: "t"},
			{Kind: mail.KindCardExpiring, To: []string{"a@b.example"}, Subject: "s"},
		} {
			tx, err := db.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.svc.QueueTx(ctx, tx, m); billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("queue %+v: %v, want EINVALID", m, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if _, total, _ := b.svc.Emails(ctx, mail.Filter{}); total != 0 {
			t.Errorf("%d emails written", total)
		}
	})
}

func TestSMTP_STARTTLSWithAuthentication(t *testing.T) {
	srv := startSMTP(t, serverOptions{tls: true, user: "kore", pass: "s3cret/+"})
	tlsConfig := tlsTrusting(srv)
	m := &mail.Message{ID: 7, Kind: mail.KindCardExpiring, To: []string{"a@acme.example"}, Subject: "Hello", Text: "Body text",
		CreatedAt: time.Now()}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good, err := mail.NewSMTPSender("smtp://kore:s3cret%2F%2B@"+srv.addr+"?starttls=required",
		mail.SMTPOptions{From: from, TLSConfig: tlsConfig, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(good.String(), "s3cret") {
		t.Errorf("String() shows the password: %s", good)
	}
	if err := good.Send(ctx, m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.messages()
	if len(got) != 1 || parse(t, got[0].data).subject != "Hello" || !strings.Contains(parse(t, got[0].data).text, "Body text") {
		t.Fatalf("arrived = %v", got)
	}
	bad, err := mail.NewSMTPSender("smtp://kore:wrong@"+srv.addr, mail.SMTPOptions{From: from, TLSConfig: tlsConfig})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Send(ctx, m); err == nil {
		t.Error("a wrong password was accepted")
	}
	// Without TLS, credentials are not sent in the clear: the send fails.
	plain := startSMTP(t, serverOptions{user: "kore", pass: "s3cret"})
	clear, err := mail.NewSMTPSender("smtp://kore:s3cret@"+plain.addr, mail.SMTPOptions{From: from})
	if err != nil {
		t.Fatal(err)
	}
	if err := clear.Send(ctx, m); err == nil {
		t.Error("credentials were sent without TLS")
	}
	if n := len(plain.messages()); n != 0 {
		t.Errorf("%d messages arrived without TLS", n)
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // SMTPConfig as "host port user pass ssl starttls", or "error"
	}{
		{"smtp://mail.example.com", "mail.example.com 587   false opportunistic"},
		{"smtp://u%40x:p%3Aw@mail.example.com:2525", "mail.example.com 2525 u@x p:w false opportunistic"},
		{"smtps://u:p@mail.example.com", "mail.example.com 465 u p true opportunistic"},
		{"smtp://mail.example.com:25?starttls=required", "mail.example.com 25   false required"},
		{"smtp://127.0.0.1:1025?starttls=off", "127.0.0.1 1025   false off"},
		{"http://mail.example.com", "error"},
		{"smtp://", "error"},
		{"smtp://mail.example.com:0", "error"},
		{"smtp://mail.example.com:smtp", "error"},
		{"smtp://mail.example.com?starttls=maybe", "error"},
		{"smtps://mail.example.com?starttls=off", "error"},
		{"smtp://mail.example.com?tls=1", "error"},
		{"mail.example.com:25", "error"},
	}
	for _, tt := range tests {
		c, err := mail.ParseSMTPURL(tt.url)
		got := "error"
		if err == nil {
			got = fmt.Sprintf("%s %d %s %s %t %s", c.Host, c.Port, c.Username, c.Password, c.SSL, c.StartTLS)
		} else if billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: %v, want EINVALID", tt.url, err)
		}
		if got != tt.want {
			t.Errorf("ParseSMTPURL(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
	if _, err := mail.NewSMTPSender("smtp://mail.example.com", mail.SMTPOptions{}); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("a sender without From: %v", err)
	}
}

// A statement that cannot be rendered is the send job's failure, recorded on
// the email and retried until the last attempt, and nothing is sent without
// it.
func TestQueue_StatementThatCannotBeRenderedFailsTheEmailNotTheChange(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		render := func(context.Context, mail.Attachment) ([]byte, error) {
			return nil, errors.New("character outside the supported range")
		}
		b := setup(t, db, true, serverOptions{}, mail.Options{MaxAttempts: 2, Render: render})
		m, err := mail.InvoiceIssued(b.profile, anInvoice("INV-2026-000009"), mail.StatementPDF("INV-2026-000009"))
		if err != nil {
			t.Fatal(err)
		}
		b.queue(t, m)
		failed := b.waitStatus(t, m.ID, mail.StatusFailed)
		if failed.Attempts != 2 || !strings.Contains(failed.LastError, "render INV-2026-000009.pdf: character outside the supported range") {
			t.Errorf("failed email = attempts %d, last error %q", failed.Attempts, failed.LastError)
		}
		if b.server.attempts() != 0 {
			t.Errorf("the server was called %d times without the statement", b.server.attempts())
		}
	})
}
