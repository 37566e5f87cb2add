package main_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	stdmail "net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kore-billing/korebill/store/storetest"
)

// inbox is a real SMTP server, in process, that keeps every message.
type inbox struct {
	addr string
	mu   sync.Mutex
	got  [][]byte
}

func startInbox(t *testing.T) *inbox {
	t.Helper()
	in := &inbox{}
	srv := smtp.NewServer(in)
	srv.Domain = "mx.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return in
}

func (in *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return inboxSession{in}, nil }

type inboxSession struct{ in *inbox }

func (inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (inboxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (inboxSession) Reset()                               {}
func (inboxSession) Logout() error                        { return nil }
func (s inboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.in.mu.Lock()
	s.in.got = append(s.in.got, b)
	s.in.mu.Unlock()
	return err
}

// attachment waits for a message whose subject contains subject and returns
// its attachment named filename.
func (in *inbox) attachment(t *testing.T, subject, filename string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		in.mu.Lock()
		got := append([][]byte(nil), in.got...)
		in.mu.Unlock()
		for _, raw := range got {
			msg, err := stdmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if !strings.Contains(subj, subject) {
				continue
			}
			_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil {
				t.Fatal(err)
			}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					t.Fatalf("%q has no attachment %s: %v", subj, filename, err)
				}
				if p.FileName() != filename {
					continue
				}
				b, _ := io.ReadAll(p)
				data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
				if err != nil {
					t.Fatalf("attachment %s: %v", filename, err)
				}
				return data
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no email %q arrived", subject)
	return nil
}

// issue 12, 1(a): a change commits whatever its email's statement needs.
// With a company name the statement's fonts may not draw (an emoji), adding
// users and upgrading answer 2xx and issue the invoice; the invoice email is
// in the outbox naming its PDF, which the mail job renders when it sends.
// The statement of an account whose name renders arrives attached.
func TestOutbox_ChangesCommitAndTheMailJobRendersTheStatement(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "korebill.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := startInbox(t)
			m, out := startServe(t, "--database-url", tc.url(t), "--smtp-url", "smtp://"+in.addr)
			c := apiClient{t: t, base: m.URL(), key: keyRE.FindStringSubmatch(out.String())[1]}
			invoices := func(n string) []any {
				return c.do("GET", "/v1/accounts/"+n+"/invoices?limit=100", nil)["items"].([]any)
			}
			for i, company := range []string{"Acme 🚀", "Globex"} {
				n := c.do("POST", "/v1/accounts", map[string]any{"name": company, "domain": fmt.Sprintf("c%d.example.com", i)})["number"].(string)
				c.do("PUT", "/v1/accounts/"+n+"/profile", map[string]any{"company_name": company, "contact_name": "Ada Lovelace",
					"address": map[string]any{"line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"},
					"phone":   "+14155550132", "email": "billing@example.com"})
				c.do("POST", "/v1/accounts/"+n+"/payment-methods", map[string]any{"card": map[string]any{
					"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ada Lovelace"}})
				c.roster(n, 2, time.Now())
				c.do("POST", "/v1/accounts/"+n+"/subscription", map[string]any{"plan": "premium", "interval": "month", "users": "all"})
				if got := invoices(n); len(got) != 1 {
					t.Fatalf("%s: %d invoices after the upgrade, want 1", company, len(got))
				}
				status, body := call(t, "PUT", m.URL()+"/v1/accounts/"+n+"/managed-users/u3", c.key, `{"email": "u3@example.com"}`)
				if status >= 300 {
					t.Fatalf("%s: adding a user = %d %v", company, status, body)
				}
				got := invoices(n)
				if len(got) != 2 {
					t.Fatalf("%s: %d invoices after adding a user, want 2", company, len(got))
				}
				emails := c.do("GET", "/v1/emails?kind=invoice_issued&account_number="+n, nil)["items"].([]any)
				if len(emails) != 2 {
					t.Fatalf("%s: %d invoice emails, want 2", company, len(emails))
				}
				for _, e := range emails {
					atts, _ := e.(map[string]any)["attachments"].([]any)
					if len(atts) != 1 || !strings.HasSuffix(atts[0].(map[string]any)["filename"].(string), ".pdf") {
						t.Errorf("%s: email attachments = %v, want the statement by name", company, atts)
					}
				}
				if company == "Globex" {
					number := got[0].(map[string]any)["number"].(string)
					pdf := in.attachment(t, "Invoice "+number, number+".pdf")
					if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
						t.Errorf("the attachment of %s is not a PDF: %.20q", number, pdf)
					}
				}
			}
			if status, _ := call(t, "GET", m.URL()+"/v1/emails", c.key, ""); status != http.StatusOK {
				t.Errorf("GET /v1/emails = %d", status)
			}
		})
	}
}
