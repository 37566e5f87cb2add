// Package console holds Kore Billing's console: the pages a company's admins
// and Kore's operators use, server-rendered with html/template and htmx, the
// templates and static assets embedded in the binary.
//
// It mounts its routes on the same http.ServeMux as the API (Register) and
// reads and changes state only through the billing services and the store's
// console users and sessions. It must not import api or the database
// drivers; handlers are thin and every change is one service call.
//
// Security, in one place: a session cookie (HttpOnly, SameSite=Lax, Secure
// when configured) backed by the database; on every unsafe request both
// http.CrossOriginProtection and a per-session synchronizer token in the
// form; every signed-in request carries the person as the billing.Actor, so
// the audit trail names them; an account user sees only their account, and
// any other account is "not found".
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Users is what the console needs of the console-user store.
type Users interface {
	AuthenticateConsoleUser(ctx context.Context, email, password, from string) (*store.ConsoleUser, error)
	FindConsoleUserByID(ctx context.Context, id int64) (*store.ConsoleUser, error)
	FindConsoleUsers(ctx context.Context, filter store.ConsoleUserFilter) ([]*store.ConsoleUser, error)
	CreateConsoleUser(ctx context.Context, u *store.ConsoleUser, password string) error
}

// Services are the domain services the console calls.
type Services struct {
	Accounts billing.AccountService
	Profiles billing.ProfileService
	Audit    billing.AuditService
	Users    Users
	// Engine is the billing engine (*engine.Engine): subscriptions,
	// changes, invoices and credits. See change.go.
	Engine Engine
	// The operator console's webhooks, email outbox and test clocks
	// (operator.go): *webhook.Service, *mail.Service, *testclock.Clocks;
	// nil leaves their page saying so. BillJobs (optional) lists River's
	// recent bill jobs on the billing runs page; Runs starts billing runs
	// as jobs and shows their progress (nil: the page says runs need the
	// job queue).
	Webhooks Webhooks
	Emails   Emails
	Clocks   Clocks
	BillJobs BillJobs
	Runs     BillingRuns
}

// Config builds a Server.
type Config struct {
	Services
	// Sessions keeps the sessions (store.DB.Sessions()); nil keeps them in
	// memory, for tests only.
	Sessions scs.Store
	Logger   *slog.Logger
	// SecureCookies marks the session cookie Secure: set it when the
	// console is reached over https (directly or behind a proxy).
	SecureCookies bool
	// IdleTimeout signs a person out after this long without a request;
	// Lifetime after this long in any case. Defaults: 30 minutes, 12 hours.
	IdleTimeout time.Duration
	Lifetime    time.Duration
	// Now is the wall clock of the operator pages and of the idle
	// timeout; time.Now by default.
	Now func() time.Time
	// TestMode shows the operators' test clocks (korebill serve --mode
	// test); outside it their pages do not exist.
	TestMode bool
}

// Server holds the console's handlers.
type Server struct {
	Services
	log       *slog.Logger
	sessions  *scs.SessionManager
	store     scs.Store
	crossSite *http.CrossOriginProtection
	pages     *pages
	now       func() time.Time
	// idleTimeout signs a person out after this long without a request.
	idleTimeout time.Duration
	mux         *http.ServeMux // the routes, to tell whether a page exists (change.go)
	testMode    bool           // test clocks exist (operator_clocks.go)
}

// SessionCookieName is the console's cookie.
const SessionCookieName = "korebill_session"

// New builds the console.
func New(c Config) (*Server, error) {
	s := &Server{Services: c.Services, log: c.Logger, now: c.Now, store: c.Sessions, testMode: c.TestMode}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages

	sm := scs.New()
	if c.Sessions != nil {
		sm.Store = c.Sessions
	}
	// The idle timeout is the console's (keepAlive), not scs's: scs
	// enforces one by writing the session on every request.
	s.idleTimeout = c.IdleTimeout
	if s.idleTimeout <= 0 {
		s.idleTimeout = 30 * time.Minute
	}
	sm.Lifetime = c.Lifetime
	if sm.Lifetime <= 0 {
		sm.Lifetime = 12 * time.Hour
	}
	sm.Cookie.Name = SessionCookieName
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = c.SecureCookies
	sm.Cookie.Persist = false // a browser session cookie; the server enforces the timeouts
	sm.HashTokenInStore = true
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			return // the browser went away (htmx cancels a search superseded by the next keystroke)
		}
		s.serverError(w, r, err)
	}
	s.sessions = sm

	s.crossSite = http.NewCrossOriginProtection()
	s.crossSite.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusForbidden, "This request was refused",
			"It came from another site. If you meant to make this change, go back to Kore Billing, reload the page and try again.")
	}))
	return s, nil
}

// Register adds the console's routes to mux, beside the API's.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", s.static())

	mux.Handle("GET /{$}", s.page(s.handleHome))
	mux.Handle("GET /login", s.public(s.handleLoginForm))
	mux.Handle("POST /login", s.public(s.handleLogin))
	mux.Handle("POST /logout", s.page(s.handleLogout))
	// "Stay signed in" (console.js): renews the idle timeout from now and
	// does nothing else.
	mux.Handle("GET /session/keepalive", s.page(func(w http.ResponseWriter, r *http.Request) {
		s.sessions.Put(r.Context(), keySeen, s.now().Unix()) // now, not to the minute: the person asked
		w.WriteHeader(http.StatusNoContent)
	}))

	// Operator pages.
	mux.Handle("GET /accounts", s.operator(s.handleAccounts))
	mux.Handle("GET /accounts/new", s.operator(s.handleNewAccountForm))
	mux.Handle("POST /accounts", s.operator(s.handleCreateAccount))
	mux.Handle("GET /audit", s.operator(s.handleAudit))
	s.registerReports(mux)  // the dashboard and the reports as CSV: reports.go
	s.registerOperator(mux) // catalog, tax rates, contracts, invoices, payments, runs, webhooks, emails, test clocks: operator*.go

	// An account's pages, for its users and for operators.
	mux.Handle("GET /accounts/{number}", s.page(s.handleAccount))
	mux.Handle("POST /accounts/{number}/users", s.operator(s.handleCreateUser))
	mux.Handle("POST /accounts/{number}/pay-by-invoice", s.operator(s.handlePayByInvoice))
	mux.Handle("GET /accounts/{number}/summary", s.page(s.handleSummary))
	mux.Handle("GET /accounts/{number}/history", s.page(s.handleHistory))
	s.registerBilling(mux)       // summary actions, history CSV, statements: change.go, contract.go, history.go, statement.go
	s.registerPaymentMethod(mux) // Change Payment Method: payment_method.go
	mux.Handle("GET /accounts/{number}/profile", s.page(s.handleProfile))
	mux.Handle("POST /accounts/{number}/profile", s.page(s.handleUpdateProfile))

	// Anything else under /accounts/ is a console page that does not exist.
	mux.Handle("/accounts/", s.page(func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) }))
	// Any other address is the console's "Page not found", to a stranger
	// too (the API answers its own unknown paths under /v1/).
	mux.Handle("/", s.public(func(w http.ResponseWriter, r *http.Request) {
		if id := s.sessions.GetInt64(r.Context(), keyUserID); id != 0 {
			// Only to show who is signed in and the way back.
			reqFrom(r.Context()).user, _ = s.Users.FindConsoleUserByID(r.Context(), id)
		}
		s.notFound(w, r)
	}))
}

// CleanupSessions deletes expired sessions every interval until ctx ends,
// when the session store can (store.SessionStore can).
func (s *Server) CleanupSessions(ctx context.Context, interval time.Duration) {
	cleaner, ok := s.store.(interface {
		DeleteExpired(context.Context) (int64, error)
	})
	if !ok {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := cleaner.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "delete expired sessions", slog.Any("err", err))
		} else if n > 0 {
			s.log.DebugContext(ctx, "deleted expired sessions", slog.Int64("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Session keys.
const (
	keyUserID = "user_id"
	keyCSRF   = "csrf"
	keyFlash  = "flash"
	keySeen   = "seen" // when the signed-in person was last seen, Unix seconds (keepAlive)
)

type reqKey struct{}

// request is what the middleware learned about a console request.
type request struct {
	user *store.ConsoleUser // nil on public pages
	log  *slog.Logger
}

func reqFrom(ctx context.Context) *request {
	if r, ok := ctx.Value(reqKey{}).(*request); ok {
		return r
	}
	return &request{}
}

// logger returns the request's logger, with its request ID and actor.
func (s *Server) logger(r *http.Request) *slog.Logger {
	if l := reqFrom(r.Context()).log; l != nil {
		return l
	}
	return s.log
}

// public wraps a page anyone may open (the sign-in page): security headers,
// cross-origin protection, the session, and the form token on POST.
func (s *Server) public(h http.HandlerFunc) http.Handler {
	return s.base(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
	}))
}

// page wraps a page for a signed-in person: as public, and the person is
// loaded (or sent to sign in) and made the request's actor.
func (s *Server) page(h http.HandlerFunc) http.Handler {
	return s.base(s.requireUser(h))
}

// operator wraps a page for operators only; to anyone else it does not
// exist.
func (s *Server) operator(h http.HandlerFunc) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request) {
		if billing.ActorFromContext(r.Context()).Role != billing.RoleOperator {
			s.notFound(w, r)
			return
		}
		h(w, r)
	})
}

func (s *Server) base(h http.Handler) http.Handler {
	checked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !s.validCSRF(r) {
			if r.URL.Path == "/logout" && s.sessions.GetInt64(r.Context(), keyUserID) == 0 {
				// Signing out of a session that has already ended.
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			if r.URL.Path == "/login" {
				// A sign-in form left open past the session's timeout:
				// not an attack; offer a fresh form.
				s.renderLogin(w, r, http.StatusForbidden, loginForm{
					Email: r.PostFormValue("email"),
					Error: "The sign-in form had expired. Please sign in again.",
				})
				return
			}
			if id := s.sessions.GetInt64(r.Context(), keyUserID); id != 0 {
				// Only to show who is signed in on the page; nothing is done.
				reqFrom(r.Context()).user, _ = s.Users.FindConsoleUserByID(r.Context(), id)
			}
			s.renderError(w, r, http.StatusForbidden, "This form has expired",
				"The page you sent it from was out of date, or it did not come from Kore Billing. Nothing was changed. Go back, reload the page and try again.")
			return
		}
		if field, problem := badText(r); field != "" {
			s.logger(r).InfoContext(r.Context(), "refused text", slog.String("field", field))
			if id := s.sessions.GetInt64(r.Context(), keyUserID); id != 0 {
				reqFrom(r.Context()).user, _ = s.Users.FindConsoleUserByID(r.Context(), id)
			}
			s.renderError(w, r, http.StatusUnprocessableEntity, "A field could not be accepted",
				fmt.Sprintf("%s %s. Nothing was changed. Go back, correct it and try again.", field, problem))
			return
		}
		h.ServeHTTP(w, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Cache-Control", "no-store")
		l := s.log
		if id := hdr.Get("X-Request-ID"); id != "" { // set by the API's Wrap
			l = l.With(slog.String("request_id", id))
		}
		r = r.WithContext(context.WithValue(r.Context(), reqKey{}, &request{log: l}))
		s.sessions.LoadAndSave(s.keepAlive(s.crossSite.Handler(checked))).ServeHTTP(w, r)
	})
}

// seenEvery is how stale the session's "last seen" may grow before a
// request writes it again.
const seenEvery = time.Minute

// keepAlive signs out a person idle for longer than the idle timeout, and
// otherwise keeps their session alive by writing when they were last seen —
// at most once a minute, not on every request: a request that changes
// nothing in the session does not write it (scs writes only a modified
// session). The idle timeout is thus kept to the minute.
func (s *Server) keepAlive(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if s.sessions.Exists(ctx, keyUserID) {
			now := s.now()
			switch idle := now.Sub(time.Unix(s.sessions.GetInt64(ctx, keySeen), 0)); {
			case idle > s.idleTimeout:
				if err := s.sessions.Destroy(ctx); err != nil {
					s.serverError(w, r, err)
					return
				}
			case idle >= seenEvery:
				s.sessions.Put(ctx, keySeen, now.Unix())
			}
		}
		h.ServeHTTP(w, r)
	})
}

// badText returns the first input of r (a path segment, or a query or form
// field) that is not acceptable text (billing.ValidText) and why: every text
// input of the console is checked here, once, before any handler sees it.
func badText(r *http.Request) (field, problem string) {
	for _, seg := range strings.Split(r.URL.Path, "/") {
		if c, ok := billing.ValidText(seg, false); !ok {
			return "The address", billing.TextProblem(c)
		}
	}
	if err := r.ParseForm(); err != nil {
		return "The form", "could not be read"
	}
	names := make([]string, 0, len(r.Form))
	for k := range r.Form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if c, ok := billing.ValidText(k, false); !ok {
			return "A field name", billing.TextProblem(c)
		}
		for _, v := range r.Form[k] {
			if c, ok := billing.ValidText(v, billing.MultilineField(k)); !ok {
				return fmt.Sprintf("The field %q", k), billing.TextProblem(c)
			}
		}
	}
	return "", ""
}

// requireUser loads the signed-in person, or sends them to sign in.
func (s *Server) requireUser(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := s.sessions.GetInt64(ctx, keyUserID)
		var u *store.ConsoleUser
		if id != 0 {
			var err error
			u, err = s.Users.FindConsoleUserByID(ctx, id)
			if err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
				s.serverError(w, r, err)
				return
			}
		}
		if u == nil || u.Disabled {
			if u != nil { // disabled since signing in
				_ = s.sessions.Destroy(ctx)
			}
			s.toSignIn(w, r)
			return
		}
		actor := u.Actor()
		ctx = billing.NewContextWithActor(ctx, actor)
		rq := reqFrom(ctx)
		rq.user = u
		rq.log = rq.log.With(slog.String("actor", actor.Name))
		h(w, r.WithContext(ctx))
	}
}

// toSignIn sends a person who is not signed in to the sign-in page, and
// back here afterwards when this was a page they could open.
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + urlQueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// csrfToken returns the session's form token, making one when it has none.
func (s *Server) csrfToken(ctx context.Context) string {
	if t := s.sessions.GetString(ctx, keyCSRF); t != "" {
		return t
	}
	t := randomToken()
	s.sessions.Put(ctx, keyCSRF, t)
	return t
}

// validCSRF checks the form's token (or htmx's header) against the
// session's, in constant time.
func (s *Server) validCSRF(r *http.Request) bool {
	want := s.sessions.GetString(r.Context(), keyCSRF)
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		got = r.PostFormValue("csrf_token")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// flash keeps a message for the next page (POST-redirect-GET).
func (s *Server) flash(r *http.Request, msg string) {
	s.sessions.Put(r.Context(), keyFlash, msg)
}

// safeNext returns next when it is a path on this site, or "".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return ""
	}
	return next
}

// home is where a person lands: operators on the accounts list, account
// users on their account's summary.
func (s *Server) home(r *http.Request) (string, error) {
	u := reqFrom(r.Context()).user
	if u.Role == billing.RoleOperator {
		return "/dashboard", nil
	}
	a, err := s.Accounts.FindAccountByID(r.Context(), u.AccountID)
	if err != nil {
		return "", err
	}
	return "/accounts/" + a.Number + "/summary", nil
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	target, err := s.home(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// account loads the account the path names, for a person who may read it;
// to anyone else it is "not found", exactly as an account that does not
// exist, so that one tenant cannot discover another.
func (s *Server) account(w http.ResponseWriter, r *http.Request) (*billing.Account, bool) {
	number := r.PathValue("number")
	if !billing.ValidAccountNumber(number) {
		s.notFound(w, r)
		return nil, false
	}
	a, err := s.Accounts.FindAccountByNumber(r.Context(), number)
	if err != nil {
		s.error(w, r, err)
		return nil, false
	}
	if !billing.ActorFromContext(r.Context()).CanRead(a.ID) {
		s.notFound(w, r)
		return nil, false
	}
	return a, true
}
