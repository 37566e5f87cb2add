package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/webhook"
)

// NotifyConfig is the configuration of webhooks and email.
type NotifyConfig struct {
	// SMTPURL is smtp://user:pass@host:port (STARTTLS when offered) or
	// smtps://…; empty records emails in the outbox without sending.
	SMTPURL  string
	MailFrom string
	// WebhookRetention and EmailRetention: how long sent webhook events
	// (with their deliveries) and emails are kept; 0 keeps them for ever.
	WebhookRetention time.Duration
	EmailRetention   time.Duration
}

func (m *Main) notifyFlags(fs *flag.FlagSet) {
	c := &m.Config.Notify
	for _, f := range []struct {
		p               *string
		name, env, help string
	}{
		{&c.SMTPURL, "smtp-url", "KOREBILL_SMTP_URL", "SMTP server for email, smtp://user:pass@host:587 or smtps://…; empty: emails are only recorded in the outbox"},
		{&c.MailFrom, "mail-from", "KOREBILL_MAIL_FROM", "the From of every email"},
	} {
		if v, ok := os.LookupEnv(f.env); ok {
			*f.p = v
		}
		fs.StringVar(f.p, f.name, *f.p, f.help+" ($"+f.env+")")
	}
	for _, f := range []struct {
		p               *time.Duration
		name, env, help string
	}{
		{&c.WebhookRetention, "webhook-retention", "KOREBILL_WEBHOOK_RETENTION", "delete webhook events and their deliveries this long after they were published (pending ones are kept); 0 keeps them"},
		{&c.EmailRetention, "email-retention", "KOREBILL_EMAIL_RETENTION", "delete emails this long after they were written (queued ones are kept); 0 keeps them"},
	} {
		if v, ok := os.LookupEnv(f.env); ok {
			if d, err := time.ParseDuration(v); err == nil {
				*f.p = d
			}
		}
		fs.DurationVar(f.p, f.name, *f.p, f.help+" ($"+f.env+")")
	}
}

// openNotify builds the webhook and email services; their jobs run on the
// same River client as billing (jobsOptions).
func (m *Main) openNotify() error {
	m.Webhooks = webhook.New(m.DB, m.Logger, webhook.Options{AllowPrivate: m.Config.Security.AllowPrivateWebhooks})
	var sender mail.Sender // a nil interface when there is no SMTP server
	if url := m.Config.Notify.SMTPURL; url != "" {
		s, err := mail.NewSMTPSender(url, mail.SMTPOptions{From: m.Config.Notify.MailFrom})
		if err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
		m.Logger.Info("email", slog.String("smtp", s.String()))
		sender = s
	}
	m.Mailer = mail.New(m.DB, sender, m.Logger, mail.Options{Render: m.renderAttachment})
	return nil
}

// jobsOptions registers the webhook and email workers and their queues.
func (m *Main) jobsOptions() func(*river.Workers) {
	return func(w *river.Workers) {
		m.Webhooks.Register(w)
		m.Mailer.Register(w)
	}
}

var notifyQueues = map[string]int{webhook.Queue: 4, mail.Queue: 2}
