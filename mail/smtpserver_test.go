package mail_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	stdmail "net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// arrived is one message an SMTP server accepted.
type arrived struct {
	from string
	to   []string
	data []byte
}

// smtpServer is a real SMTP server, in process, that keeps what arrives.
// It refuses the first refuse transactions with a temporary error, and
// requires AUTH PLAIN when user is set.
type smtpServer struct {
	addr   string
	caPool *x509.CertPool // set when it offers STARTTLS

	mu     sync.Mutex
	got    []arrived
	tries  int
	refuse int
	user   string
	pass   string
}

type serverOptions struct {
	refuse     int
	user, pass string
	tls        bool
}

func startSMTP(t *testing.T, o serverOptions) *smtpServer {
	t.Helper()
	s := &smtpServer{refuse: o.refuse, user: o.user, pass: o.pass}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.test"
	srv.ErrorLog = discardLog{}
	if o.tls {
		// httptest's certificate is good for 127.0.0.1.
		ts := httptest.NewUnstartedServer(nil)
		ts.StartTLS()
		srv.TLSConfig = &tls.Config{Certificates: ts.TLS.Certificates}
		s.caPool = x509.NewCertPool()
		s.caPool.AddCert(ts.Certificate())
		ts.Close()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

func (s *smtpServer) messages() []arrived {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrived(nil), s.got...)
}

func (s *smtpServer) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries
}

func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

type session struct {
	s      *smtpServer
	authed bool
	from   string
	to     []string
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != se.s.user || pass != se.s.pass {
			return errors.New("bad credentials")
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.user != "" && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.s.mu.Lock()
	se.s.tries++
	refuse := se.s.tries <= se.s.refuse
	se.s.mu.Unlock()
	if refuse {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Mailbox busy, try again later"}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.s.mu.Lock()
	se.s.got = append(se.s.got, arrived{from: se.from, to: append([]string(nil), se.to...), data: b})
	se.s.mu.Unlock()
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

// parsed is a message as a mail reader shows it.
type parsed struct {
	header      stdmail.Header
	subject     string
	text        string
	html        string
	attachments map[string][]byte // by file name
}

// parse reads a MIME message: headers (subject decoded), the text and HTML
// parts (transfer encoding undone) and the attachments.
func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := stdmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	p := parsed{header: m.Header, attachments: map[string][]byte{}}
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	var walk func(header map[string][]string, body io.Reader)
	walk = func(header map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := header[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mediaType, params, err := mime.ParseMediaType(get("Content-Type"))
		if err != nil {
			t.Fatalf("content type %q: %v", get("Content-Type"), err)
		}
		if strings.HasPrefix(mediaType, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err == io.EOF {
					return
				} else if err != nil {
					t.Fatal(err)
				}
				walk(part.Header, part)
			}
		}
		var r io.Reader = body
		switch strings.ToLower(get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		_, dparams, _ := mime.ParseMediaType(get("Content-Disposition"))
		switch {
		case dparams["filename"] != "":
			p.attachments[dparams["filename"]] = b
		case mediaType == "text/plain": // SMTP lines end in CRLF
			p.text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case mediaType == "text/html":
			p.html = strings.ReplaceAll(string(b), "\r\n", "\n")
		}
	}
	walk(m.Header, m.Body)
	return p
}

// tlsTrusting is a client TLS configuration that trusts s's certificate.
func tlsTrusting(s *smtpServer) *tls.Config {
	return &tls.Config{RootCAs: s.caPool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
