package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/gateway/stripegateway"
	"github.com/kore-billing/korebill/gateway/testgateway"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/statement"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/webhook"
)

// PaymentsConfig is the configuration of the payment gateway and the retry
// schedule.
type PaymentsConfig struct {
	Gateway          string // test or stripe
	StripeKey        string
	StripeURL        string
	StripeTimeout    time.Duration
	StripeRetries    int
	RetryDays        string // "1,3,5,7"
	SuspendAfterDays int
	// The test gateway: a fault profile (testgateway.ParseFaults), its seed,
	// and the file that keeps its charges across restarts and kills.
	GatewayFaults string
	GatewaySeed   int64
	GatewayLedger string
}

func (m *Main) paymentsFlags(fs *flag.FlagSet) {
	c := &m.Config.Payments
	str := func(p *string, name, env, help string) {
		if v, ok := os.LookupEnv(env); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, help+" ($"+env+")")
	}
	str(&c.Gateway, "gateway", "KOREBILL_GATEWAY", "payment gateway: test (built in, offline; Stripe's test card numbers) or stripe")
	str(&c.StripeKey, "stripe-key", "KOREBILL_STRIPE_KEY", "Stripe secret key, for --gateway stripe (never logged)")
	str(&c.StripeURL, "stripe-url", "KOREBILL_STRIPE_URL", "Stripe API address; empty for Stripe itself, http://127.0.0.1:12111 for stripe-mock")
	str(&c.RetryDays, "retry-days", "KOREBILL_RETRY_DAYS", "days after a failed payment on which it is retried")
	fs.DurationVar(&c.StripeTimeout, "stripe-timeout", c.StripeTimeout, "timeout of one Stripe request")
	fs.IntVar(&c.StripeRetries, "stripe-retries", c.StripeRetries, "network retries of one Stripe request, with the same idempotency key")
	fs.IntVar(&c.SuspendAfterDays, "suspend-after-days", c.SuspendAfterDays, "grace in days after the last failed retry before the account is suspended")
	str(&c.GatewayFaults, "gateway-faults", "KOREBILL_GATEWAY_FAULTS",
		"test gateway fault profile, e.g. 'timeout_after_charge=0.05,timeout_before_charge=0.05,error=0.05,slow=0.1'")
	fs.Int64Var(&c.GatewaySeed, "gateway-seed", c.GatewaySeed, "seed of the test gateway's fault profile: the same seed, the same faults")
	str(&c.GatewayLedger, "gateway-ledger", "KOREBILL_GATEWAY_LEDGER",
		"file where the test gateway keeps its charges, so that they survive a restart or a kill and reconcile can ask about them")
}

// paymentsConfig turns the flags into the engine's gateway and schedule.
func (m *Main) paymentsConfig() (billing.Gateway, engine.PaymentConfig, error) {
	c := m.Config.Payments
	pc := engine.PaymentConfig{GatewayName: c.Gateway, SuspendAfterDays: c.SuspendAfterDays, RetryDays: []int{}}
	for _, f := range strings.Split(c.RetryDays, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil {
			return nil, pc, fmt.Errorf("--retry-days %q: want days such as 1,3,5,7", c.RetryDays)
		}
		pc.RetryDays = append(pc.RetryDays, d)
	}
	switch c.Gateway {
	case "test":
		gw := testgateway.New(m.Clock)
		faults, err := testgateway.ParseFaults(c.GatewayFaults)
		if err != nil {
			return nil, pc, fmt.Errorf("--gateway-faults: %w", err)
		}
		gw.SetFaults(faults, c.GatewaySeed)
		if c.GatewayLedger != "" {
			if err := gw.OpenLedger(c.GatewayLedger); err != nil {
				return nil, pc, fmt.Errorf("--gateway-ledger: %w", err)
			}
		}
		m.testGateway = gw
		return gw, pc, nil
	case "stripe":
		if c.GatewayFaults != "" || c.GatewayLedger != "" {
			return nil, pc, fmt.Errorf("--gateway-faults and --gateway-ledger are the test gateway's; not for --gateway stripe")
		}
		gw, err := stripegateway.New(stripegateway.Config{SecretKey: c.StripeKey, BaseURL: c.StripeURL,
			Timeout: c.StripeTimeout, NetworkRetries: c.StripeRetries, Logger: m.Logger})
		if err != nil {
			return nil, pc, fmt.Errorf("--gateway stripe: %s", billing.ErrorMessage(err))
		}
		return gw, pc, nil
	}
	return nil, pc, fmt.Errorf("--gateway %q: want test or stripe", c.Gateway)
}

// notify turns the engine's notifications into webhook events and emails,
// written in the transaction of the change (the outbox): they exist if and
// only if the change does. It only writes rows: an email's statement PDF is
// rendered by its send job after commit (renderAttachment).
func (m *Main) notify(ctx context.Context, tx *store.Tx, n engine.Notification) error {
	ev, err := m.webhookEvent(tx, n)
	if err != nil {
		return err
	}
	if ev != nil {
		if _, err := tx.PublishWebhook(m.Webhooks, *ev); err != nil {
			return err
		}
	}
	msg, err := m.email(tx, n)
	if err != nil || msg == nil {
		return err
	}
	return tx.QueueEmail(m.Mailer, msg)
}

func (m *Main) webhookEvent(tx *store.Tx, n engine.Notification) (*webhook.Event, error) {
	var ev webhook.Event
	var err error
	switch n.Type {
	case engine.NotifyInvoiceFinalized:
		ev, err = webhook.InvoiceEvent(webhook.InvoiceFinalized, n.Invoice)
	case engine.NotifyInvoicePaid:
		ev, err = webhook.InvoiceEvent(webhook.InvoicePaid, n.Invoice)
	case engine.NotifyPaymentFailed:
		d := webhook.PaymentFailedData{Attempt: 1}
		if n.Invoice != nil {
			d.InvoiceNumber, d.Amount = n.Invoice.Number, n.Invoice.AmountDue
		}
		if n.Payment != nil {
			d.Amount, d.FailureCode, d.FailureMessage = n.Payment.Amount, n.Payment.FailureCode, n.Payment.FailureMessage
		}
		if !n.NextRetry.IsZero() {
			d.NextRetryOn = &n.NextRetry
		}
		ev, err = webhook.NewEvent(webhook.PaymentFailed, n.AccountNumber, d)
	case engine.NotifySubscriptionUpdated:
		sub, ferr := tx.FindSubscription(n.AccountID)
		if ferr != nil || sub == nil {
			return nil, ferr
		}
		ev, err = webhook.SubscriptionEvent(n.AccountNumber, sub)
	case engine.NotifyAccountSuspended, engine.NotifyAccountReactivated:
		a, ferr := tx.LockAccount(n.AccountID)
		if ferr != nil {
			return nil, ferr
		}
		t := webhook.AccountSuspended
		if n.Type == engine.NotifyAccountReactivated {
			t = webhook.AccountReactivated
		}
		ev, err = webhook.AccountEvent(t, a)
	case engine.NotifyLimitReached:
		if n.Limit == nil {
			return nil, nil
		}
		ev, err = webhook.NewEvent(webhook.ManagedUsersLimitReached, n.AccountNumber, webhook.LimitReachedData{
			Seats: n.Limit.Seats, ManagedUsers: n.Limit.ManagedUsers, UserID: n.Limit.UserID, OnJoin: string(n.Limit.OnJoin)})
	default: // reminders, overdue notices, card expiry and refunds are emails or audit events only
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &ev, nil
}

// email is the message a notification sends to the billing contact, nil
// when it sends none (or the account has no billing profile yet).
func (m *Main) email(tx *store.Tx, n engine.Notification) (*mail.Message, error) {
	switch n.Type {
	case engine.NotifyInvoiceFinalized, engine.NotifyInvoicePaid, engine.NotifyPaymentFailed,
		engine.NotifyPaymentReminder, engine.NotifyInvoiceOverdue, engine.NotifyCardExpiring:
	default:
		return nil, nil
	}
	p, err := tx.FindProfile(n.AccountID)
	if err != nil || p == nil {
		return nil, err
	}
	switch n.Type {
	case engine.NotifyInvoiceFinalized:
		if n.Invoice == nil { // every finalized invoice is emailed, credit notes and invoices paid by credits too
			return nil, nil
		}
		// The statement is rendered by the send job after commit
		// (renderAttachment), never in the change's transaction.
		return mail.InvoiceIssued(p, n.Invoice, mail.StatementPDF(n.Invoice.Number))
	case engine.NotifyInvoicePaid:
		if n.Payment == nil || n.Invoice == nil {
			return nil, nil // paid by credits: the invoice email said so
		}
		return mail.PaymentReceipt(p, mail.Receipt{AccountNumber: n.AccountNumber, InvoiceNumber: n.Invoice.Number,
			Amount: n.Payment.Amount, Method: n.Payment.MethodLabel, Reference: n.Payment.GatewayRef,
			PaidOn: billing.DateOf(n.Payment.AttemptedAt, time.UTC)})
	case engine.NotifyPaymentReminder:
		if n.Invoice == nil {
			return nil, nil
		}
		return mail.PaymentReminder(p, n.Invoice, n.OffsetDays)
	case engine.NotifyInvoiceOverdue:
		if n.Invoice == nil {
			return nil, nil
		}
		return mail.InvoiceOverdue(p, n.Invoice)
	case engine.NotifyCardExpiring:
		if n.Method == nil {
			return nil, nil
		}
		return mail.CardExpiring(p, n.AccountNumber, billing.Card{Brand: n.Method.Brand, Last4: n.Method.Last4,
			ExpMonth: n.Method.ExpMonth, ExpYear: n.Method.ExpYear, Name: n.Method.BillingName})
	default: // payment failed
		f := mail.FailedPayment{AccountNumber: n.AccountNumber}
		if n.Invoice != nil {
			f.InvoiceNumber, f.Amount = n.Invoice.Number, n.Invoice.AmountDue
		}
		if n.Payment != nil {
			f.Amount, f.Method, f.Reason = n.Payment.Amount, n.Payment.MethodLabel, n.Payment.FailureMessage
		}
		if !n.NextRetry.IsZero() {
			f.NextRetry = &n.NextRetry
		}
		return mail.PaymentFailed(p, f)
	}
}

// renderAttachment renders the statement an email attaches, in the send
// job when the email is sent: the invoice and its account are read then,
// outside any write transaction, so the PDF is the statement as it stands
// (the same as the API's and the console's download).
func (m *Main) renderAttachment(ctx context.Context, att mail.Attachment) ([]byte, error) {
	inv, err := m.Engine.FindInvoiceByNumber(ctx, att.Invoice)
	if err != nil {
		return nil, fmt.Errorf("statement %s: %w", att.Invoice, err)
	}
	a, err := m.DB.FindAccountByID(ctx, inv.AccountID)
	if err != nil {
		return nil, fmt.Errorf("statement %s: %w", att.Invoice, err)
	}
	method, err := m.Engine.InvoicePaymentMethod(ctx, inv)
	if err != nil {
		return nil, fmt.Errorf("statement %s: %w", att.Invoice, err)
	}
	var pdf bytes.Buffer
	if err := statement.PDF(&pdf, statement.New(inv, a, statement.Options{PaymentMethod: method})); err != nil {
		return nil, fmt.Errorf("statement %s: %w", att.Invoice, err)
	}
	return pdf.Bytes(), nil
}
