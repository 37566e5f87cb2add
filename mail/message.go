package mail

import (
	"net/mail"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Kind says which email a message is.
type Kind string

// The kinds of email.
const (
	KindInvoiceIssued  Kind = "invoice_issued"
	KindPaymentReceipt Kind = "payment_receipt"
	KindPaymentFailed  Kind = "payment_failed"
	KindCardExpiring   Kind = "card_expiring"
	// Reminders of invoices paid by bank transfer (reminders.go).
	KindPaymentReminder Kind = "payment_reminder"
	KindInvoiceOverdue  Kind = "invoice_overdue"
)

// Kinds returns every kind, in a stable order.
func Kinds() []Kind {
	return []Kind{KindInvoiceIssued, KindPaymentReceipt, KindPaymentFailed, KindCardExpiring, KindPaymentReminder, KindInvoiceOverdue}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindInvoiceIssued, KindPaymentReceipt, KindPaymentFailed, KindCardExpiring, KindPaymentReminder, KindInvoiceOverdue:
		return true
	}
	return false
}

// Status is where a message stands in the outbox.
type Status string

const (
	// StatusQueued: a job will send it (again, after a failed attempt).
	StatusQueued Status = "queued"
	// StatusSent: the SMTP server accepted it.
	StatusSent Status = "sent"
	// StatusFailed: every attempt failed; it will not be tried again.
	StatusFailed Status = "failed"
	// StatusRecorded: no SMTP server is configured; the message is kept,
	// not sent. This is not an error.
	StatusRecorded Status = "recorded"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusSent, StatusFailed, StatusRecorded:
		return true
	}
	return false
}

// Attachment is a file sent with a message: an invoice's statement, named
// by its invoice. The outbox keeps the name, never the file: the send job
// renders the statement (Options.Render) when it sends the message, after
// the change that queued it has committed, and fills Data for the Sender.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	// Invoice is the number of the invoice whose statement this is.
	Invoice string `json:"invoice"`
	// Data is the rendered file, set only while the job sends the
	// message; it is not stored.
	Data []byte `json:"-"`
}

// StatementPDF is the attachment of an invoice's statement as a PDF,
// rendered when the email is sent.
func StatementPDF(invoiceNumber string) Attachment {
	return Attachment{Filename: invoiceNumber + ".pdf", ContentType: "application/pdf", Invoice: invoiceNumber}
}

// Message is one email in the outbox.
type Message struct {
	ID            int64
	AccountID     int64  // 0 for an email of no account
	AccountNumber string // read back from the account
	Kind          Kind
	To            []string
	Cc            []string
	Subject       string
	Text          string
	HTML          string // optional alternative to Text
	Attachments   []Attachment
	Status        Status
	Attempts      int
	LastError     string
	SentAt        *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Limits on a message.
const (
	MaxRecipients     = 20
	MaxSubjectLen     = 300
	MaxAttachmentSize = 10 << 20 // all attachments together
)

// Validate checks the kind, the recipients (bare addresses, lower-cased,
// without repeats), the subject (one line) and the body.
func (m *Message) Validate() error {
	var v billing.Validation
	if !m.Kind.Valid() {
		v.Add("kind", "Unknown email kind %q.", m.Kind)
	}
	seen := map[string]bool{}
	clean := func(field string, addrs []string) []string {
		out := make([]string, 0, len(addrs))
		for _, raw := range addrs {
			a, err := mail.ParseAddress(strings.TrimSpace(raw))
			if err != nil || a.Name != "" || a.Address != strings.TrimSpace(raw) {
				v.Add(field, "%q is not an email address.", strings.TrimSpace(raw))
				continue
			}
			addr := strings.ToLower(a.Address)
			if !seen[addr] {
				seen[addr] = true
				out = append(out, addr)
			}
		}
		return out
	}
	m.To, m.Cc = clean("to", m.To), clean("cc", m.Cc)
	if len(m.To) == 0 {
		v.Add("to", "An email needs a recipient.")
	}
	if len(m.To)+len(m.Cc) > MaxRecipients {
		v.Add("to", "An email may have at most %d recipients.", MaxRecipients)
	}
	m.Subject = strings.TrimSpace(m.Subject)
	switch {
	case m.Subject == "":
		v.Add("subject", "A subject is required.")
	case len(m.Subject) > MaxSubjectLen:
		v.Add("subject", "The subject must be at most %d characters.", MaxSubjectLen)
	case strings.ContainsAny(m.Subject, "\r\n"):
		v.Add("subject", "The subject must be one line.")
	}
	if strings.TrimSpace(m.Text) == "" {
		v.Add("text", "A text body is required.")
	}
	size := 0
	for _, a := range m.Attachments {
		size += len(a.Data)
		if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\\r\n") {
			v.Add("attachments", "Attachment file name %q is not a plain file name.", a.Filename)
		}
		if a.ContentType == "" {
			v.Add("attachments", "Attachment %q needs a content type.", a.Filename)
		}
		if a.Invoice == "" {
			v.Add("attachments", "Attachment %q must name the invoice whose statement it is.", a.Filename)
		}
	}
	if size > MaxAttachmentSize {
		v.Add("attachments", "Attachments must be at most %d bytes together.", MaxAttachmentSize)
	}
	return v.Err()
}

// Filter selects messages, newest first.
type Filter struct {
	AccountID *int64
	Status    Status
	Kind      Kind
	// To matches messages with a recipient (To or Cc) containing it.
	To     string
	Limit  int
	Offset int
}
