package console

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// loginForm is the sign-in page's data.
type loginForm struct {
	Email     string
	Next      string
	Error     string
	SignedOut bool
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm) {
	if f.Next == "" {
		f.Next = safeNext(r.FormValue("next"))
	}
	s.render(w, r, status, "login", &view{Title: "Sign in", Data: f})
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if s.sessions.GetInt64(r.Context(), keyUserID) != 0 {
		next := safeNext(r.URL.Query().Get("next"))
		if next == "" {
			next = "/"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginForm{SignedOut: r.URL.Query().Has("signed_out")})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	form := loginForm{Email: email, Next: safeNext(r.PostFormValue("next"))}
	if email == "" || password == "" {
		form.Error = "Enter your email and password."
		s.renderLogin(w, r, http.StatusUnprocessableEntity, form)
		return
	}

	key := email + "|" + clientIP(r)
	if ok, wait := s.throttle.allow(key); !ok {
		s.logger(r).WarnContext(ctx, "sign-in throttled", slog.String("email", email), slog.String("ip", clientIP(r)))
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		form.Error = fmt.Sprintf("Too many failed sign-ins. Try again in %s.", minutes(wait))
		s.renderLogin(w, r, http.StatusTooManyRequests, form)
		return
	}
	u, err := s.Users.AuthenticateConsoleUser(ctx, email, password)
	if billing.ErrorCode(err) == billing.EUNAUTHORIZED {
		s.throttle.fail(key)
		s.logger(r).InfoContext(ctx, "sign-in failed", slog.String("email", email))
		form.Error = billing.ErrorMessage(err)
		s.renderLogin(w, r, http.StatusUnauthorized, form)
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.throttle.reset(key)

	// A new token for the signed-in session (no fixation), and a new form
	// token: forms from before signing in are stale now.
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sessions.Put(ctx, keyUserID, u.ID)
	s.sessions.Put(ctx, keyCSRF, randomToken())
	s.logger(r).InfoContext(ctx, "signed in", slog.String("actor", u.Actor().Name))
	next := form.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/login?signed_out", http.StatusSeeOther)
}

// clientIP is the address the request came from. Behind a proxy this is
// the proxy's: throttling is then per email, which is still a limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func minutes(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// limiter counts failed sign-ins per key (email and address): after max
// failures within window of the first, the key is refused until the window
// ends. In memory, per node: a node that restarts forgets, which is fine
// for slowing down guessing.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	keys   map[string]*attempts
}

type attempts struct {
	n     int
	first time.Time
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, keys: map[string]*attempts{}}
}

// allow reports whether key may try now, and if not, how long to wait.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.keys[key]
	if !ok {
		return true, 0
	}
	left := a.first.Add(l.window).Sub(l.now())
	if left <= 0 {
		delete(l.keys, key)
		return true, 0
	}
	return a.n < l.max, left
}

// fail records a failed attempt.
func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.keys) > 10000 { // bound the memory a flood of emails can take
		for k, a := range l.keys {
			if now.Sub(a.first) >= l.window {
				delete(l.keys, k)
			}
		}
	}
	a, ok := l.keys[key]
	if !ok || now.Sub(a.first) >= l.window {
		l.keys[key] = &attempts{n: 1, first: now}
		return
	}
	a.n++
}

// reset forgets key's failures after a successful sign-in.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}
