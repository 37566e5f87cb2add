package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
)

// EmailOutbox is what the email routes need; *mail.Service is one.
type EmailOutbox interface {
	Emails(ctx context.Context, f mail.Filter) ([]*mail.Message, int, error)
	Email(ctx context.Context, id int64) (*mail.Message, error)
}

// Email is a message in the outbox.
type Email struct {
	ID            int64             `json:"id"`
	AccountNumber string            `json:"account_number,omitempty"`
	Kind          string            `json:"kind" enum:"invoice_issued,payment_receipt,payment_failed,card_expiring,payment_reminder,invoice_overdue"`
	To            []string          `json:"to"`
	Cc            []string          `json:"cc,omitempty"`
	Subject       string            `json:"subject"`
	Text          string            `json:"text,omitempty" doc:"The text body; in GET /v1/emails/{id} only."`
	HTML          string            `json:"html,omitempty" doc:"The HTML alternative; in GET /v1/emails/{id} only."`
	Attachments   []EmailAttachment `json:"attachments,omitempty" doc:"The files sent with it, by name: an invoice's statement PDF is rendered when the email is sent, not stored."`
	Status        string            `json:"status" enum:"queued,sent,failed,recorded" doc:"queued: to be sent (again); sent: the SMTP server accepted it; failed: every attempt failed; recorded: no SMTP server is configured, so it was kept, not sent."`
	Attempts      int               `json:"attempts"`
	LastError     string            `json:"last_error,omitempty"`
	SentAt        *time.Time        `json:"sent_at,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// EmailAttachment names a file sent with an email.
type EmailAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Invoice     string `json:"invoice" doc:"The invoice whose statement this is."`
}

func toEmail(m *mail.Message, full bool) Email {
	e := Email{ID: m.ID, AccountNumber: m.AccountNumber, Kind: string(m.Kind), To: m.To, Cc: m.Cc, Subject: m.Subject,
		Status: string(m.Status), Attempts: m.Attempts, LastError: m.LastError, SentAt: m.SentAt,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	for _, a := range m.Attachments {
		e.Attachments = append(e.Attachments, EmailAttachment{Filename: a.Filename, ContentType: a.ContentType, Invoice: a.Invoice})
	}
	if full {
		e.Text, e.HTML = m.Text, m.HTML
	}
	return e
}

type listEmailsInput struct {
	AccountNumber string `query:"account_number" pattern:"^KB-[0-9]{6,}$"`
	Status        string `query:"status" enum:"queued,sent,failed,recorded"`
	Kind          string `query:"kind" enum:"invoice_issued,payment_receipt,payment_failed,card_expiring,payment_reminder,invoice_overdue"`
	To            string `query:"to" maxLength:"254" doc:"Only emails with a recipient (To or Cc) containing this."`
	Limit         int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Offset        int    `query:"offset" minimum:"0" default:"0"`
}

type emailsOutput struct {
	Body struct {
		Items  []Email `json:"items" doc:"Newest first, without bodies."`
		Total  int     `json:"total"`
		Limit  int     `json:"limit"`
		Offset int     `json:"offset"`
	}
}

type EmailParam struct {
	ID int64 `path:"id" minimum:"1"`
}

type emailOutput struct {
	Body Email
}

func (s *Server) emails(ctx context.Context) (EmailOutbox, error) {
	if err := requireRole(ctx, billing.RoleOperator); err != nil {
		return nil, s.problem(ctx, err)
	}
	if s.Emails == nil {
		return nil, &Problem{Status: http.StatusNotImplemented, Title: http.StatusText(http.StatusNotImplemented),
			Detail: "The email outbox is not configured on this server.", Code: "not_configured"}
	}
	return s.Emails, nil
}

func (s *Server) registerEmails() {
	tags := []string{"Email"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-emails", Method: http.MethodGet, Path: "/v1/emails",
		Summary: "List the email outbox (operator)", Tags: tags,
		Description: "Every email Kore Billing sent, is sending, or (without an SMTP server) recorded.",
	}, func(ctx context.Context, in *listEmailsInput) (*emailsOutput, error) {
		outbox, err := s.emails(ctx)
		if err != nil {
			return nil, err
		}
		f := mail.Filter{Status: mail.Status(in.Status), Kind: mail.Kind(in.Kind), To: in.To, Limit: in.Limit, Offset: in.Offset}
		if in.AccountNumber != "" {
			a, err := s.Accounts.FindAccountByNumber(ctx, in.AccountNumber)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			f.AccountID = &a.ID
		}
		list, total, err := outbox.Emails(ctx, f)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &emailsOutput{}
		out.Body.Items = make([]Email, 0, len(list))
		for _, m := range list {
			out.Body.Items = append(out.Body.Items, toEmail(m, false))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-email", Method: http.MethodGet, Path: "/v1/emails/{id}",
		Summary: "Get an email with its bodies (operator)", Tags: tags,
	}, func(ctx context.Context, in *EmailParam) (*emailOutput, error) {
		outbox, err := s.emails(ctx)
		if err != nil {
			return nil, err
		}
		m, err := outbox.Email(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &emailOutput{Body: toEmail(m, true)}, nil
	})
}
