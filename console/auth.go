package console

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// loginForm is the sign-in page's data.
type loginForm struct {
	Email     string
	Next      string
	Error     string
	SignedOut bool
	TimedOut  bool // console.js sent the person here when the idle timeout passed
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
	s.renderLogin(w, r, http.StatusOK, loginForm{SignedOut: r.URL.Query().Has("signed_out"), TimedOut: r.URL.Query().Has("timed_out")})
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

	u, err := s.Users.AuthenticateConsoleUser(ctx, email, password, clientIP(r))
	var throttled *store.SignInThrottledError
	if errors.As(err, &throttled) {
		s.logger(r).WarnContext(ctx, "sign-in throttled", slog.String("email", email), slog.String("ip", clientIP(r)))
		w.Header().Set("Retry-After", fmt.Sprint(int(throttled.RetryAfter.Seconds())+1))
		form.Error = fmt.Sprintf("Too many failed sign-ins. Try again in %s.", minutes(throttled.RetryAfter))
		s.renderLogin(w, r, http.StatusTooManyRequests, form)
		return
	} else if billing.ErrorCode(err) == billing.EUNAUTHORIZED {
		s.logger(r).InfoContext(ctx, "sign-in failed", slog.String("email", email))
		form.Error = billing.ErrorMessage(err)
		s.renderLogin(w, r, http.StatusUnauthorized, form)
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}

	// A new token for the signed-in session (no fixation), and a new form
	// token: forms from before signing in are stale now.
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sessions.Put(ctx, keyUserID, u.ID)
	s.sessions.Put(ctx, keySeen, s.now().Unix())
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
// the proxy's: the sign-in limit is then per email, which is still a limit.
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
