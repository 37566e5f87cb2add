package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, each the base layout plus the
// page's own "title" and "content" blocks.
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range names {
		base := path.Base(name)
		if base == "base.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/base.html", name)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		p.sets[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	Section string             // the nav entry that is current
	User    *store.ConsoleUser // nil when signed out
	Account *billing.Account   // the account in view, if any
	CSRF    string
	Flash   string
	// IdleSeconds is the session's idle timeout: console.js warns before
	// it and offers to stay signed in.
	IdleSeconds int
	// Notice is what went wrong after something was done (a charge
	// declined after a change): the part of a flash after flashSep,
	// shown as a problem, never as the green flash.
	Notice string
	Data   any
}

// Operator reports whether the person is Kore staff.
func (v *view) Operator() bool { return v.User != nil && v.User.Role == billing.RoleOperator }

// CanManage reports whether the person may change the account in view.
func (v *view) CanManage() bool {
	return v.User != nil && v.Account != nil && v.User.Actor().CanManage(v.Account.ID)
}

// render writes page name with status; data is the page's own.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := s.pages.sets[name]
	if !ok {
		s.serverError(w, r, fmt.Errorf("console: no page %q", name))
		return
	}
	ctx := r.Context()
	v.User = reqFrom(ctx).user
	v.CSRF = s.csrfToken(ctx)
	v.IdleSeconds = int(s.idleTimeout / time.Second)
	if v.Flash == "" {
		v.Flash = s.sessions.PopString(ctx, keyFlash)
		v.Flash, v.Notice, _ = strings.Cut(v.Flash, flashSep)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", v); err != nil {
		s.serverError(w, r, fmt.Errorf("console: render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Heading string
	Message string
}

// renderError shows the error page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	s.render(w, r, status, "error", &view{
		Title: heading,
		Data:  errorPage{Status: status, Heading: heading, Message: message},
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "Page not found",
		"There is no such page, or it is not yours to see. Check the address, or go back to your account.")
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, message string) {
	s.renderError(w, r, http.StatusForbidden, "You may not do this", message)
}

// serverError logs err with its cause and shows "Internal error".
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger(r).ErrorContext(r.Context(), "console", slog.String("path", r.URL.Path), slog.Any("err", err))
	// The error page itself needs no session: render it plainly so that a
	// failing session store cannot loop.
	t := s.pages.sets["error"]
	var buf bytes.Buffer
	v := &view{Title: "Internal error", User: reqFrom(r.Context()).user,
		Data: errorPage{Status: 500, Heading: "Something went wrong", Message: "Internal error. Please try again in a moment; if it keeps happening, tell Kore support."}}
	if t == nil || t.ExecuteTemplate(&buf, "base", v) != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = buf.WriteTo(w)
}

// error is the one error path of the console's pages: a billing error's
// code picks the page; anything else is an internal error.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	switch billing.ErrorCode(err) {
	case billing.ENOTFOUND:
		s.notFound(w, r)
	case billing.EFORBIDDEN:
		s.forbidden(w, r, billing.ErrorMessage(err))
	case billing.EUNAUTHORIZED:
		s.toSignIn(w, r)
	case billing.EINVALID, billing.ECONFLICT, billing.ESTATE, billing.EPAYMENT:
		s.renderError(w, r, http.StatusUnprocessableEntity, "This could not be done", billing.ErrorMessage(err))
	default:
		s.serverError(w, r, err)
	}
}

// static serves the embedded assets; they change only with the binary.
func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// fieldErrors maps each rejected field to its messages, joined.
func fieldErrors(err error) map[string]string {
	out := map[string]string{}
	var be *billing.Error
	if !errors.As(err, &be) {
		return out
	}
	for _, f := range be.Fields {
		if prev, ok := out[f.Field]; ok {
			out[f.Field] = prev + " " + f.Message
		} else {
			out[f.Field] = f.Message
		}
	}
	return out
}

// field is one labelled input, as the "field" template draws it.
type field struct {
	ID, Name, Label, Type, Value, Err, Hint, Autocomplete, Inputmode string
	Optional, Required, Readonly, Autofocus                          bool
}

// newField builds a field for the "field" template: name as the form and
// billing.FieldError know it, label, value, the form's errors, then options
// "type=tel", "autocomplete=tel", "hint=…", "optional", "required",
// "readonly", "autofocus", "inputmode=…".
// accountKinds is what the "account-kinds" template shows: the billing type
// and account type selects of a new-account form, with their errors.
type accountKinds struct {
	BillingType, AccountType string
	Errs                     map[string]string
}

func newAccountKinds(billingType, accountType string, errs map[string]string) accountKinds {
	return accountKinds{BillingType: billingType, AccountType: accountType, Errs: errs}
}

func newField(name, label, value string, errs map[string]string, opts ...string) field {
	f := field{ID: fieldID(name), Name: name, Label: label, Type: "text", Value: value, Err: errs[name]}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "type":
			f.Type = v
		case "autocomplete":
			f.Autocomplete = v
		case "hint":
			f.Hint = v
		case "inputmode":
			f.Inputmode = v
		case "optional":
			f.Optional = true
		case "required":
			f.Required = true
		case "readonly":
			f.Readonly = true
		case "autofocus":
			f.Autofocus = true
		}
	}
	return f
}

// fieldID is the HTML id of a field: "address.country" → "address-country".
func fieldID(name string) string { return strings.ReplaceAll(name, ".", "-") }

// errorList is the summary of a form's errors, in the form's field order.
type errorItem struct{ ID, Message string }

func errorSummary(errs map[string]string, order []string) []errorItem {
	var out []errorItem
	seen := map[string]bool{}
	for _, name := range order {
		if msg, ok := errs[name]; ok {
			out = append(out, errorItem{fieldID(name), msg})
			seen[name] = true
		}
	}
	var rest []string
	for name := range errs {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, errorItem{fieldID(name), errs[name]})
	}
	return out
}

// accountTime formats t in the account's time zone, or UTC without one.
func accountTime(layout string) func(t time.Time, a *billing.Account) string {
	return func(t time.Time, a *billing.Account) string {
		if t.IsZero() {
			return ""
		}
		loc := time.UTC
		if a != nil {
			loc = a.Location()
		}
		return t.In(loc).Format(layout)
	}
}

var funcs = template.FuncMap{
	"field":        newField,
	"accountKinds": newAccountKinds,
	"fieldID":      fieldID,
	"date":         accountTime("Jan 2, 2006"),
	"datetime":     accountTime("Jan 2, 2006 15:04 MST"),
	"isoTime":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"money":        func(m billing.Money) string { return m.String() },
	"countries":    billing.Countries,
	"countryName":  billing.CountryName,
	"humanize":     humanize,
	"query":        query,
	"statusLabel":  statusLabel,
	"roleLabel":    roleLabel,
	"errorSummary": errorSummary,
	"idleMinutes": func(sec int) string {
		if sec < 120 {
			return strconv.Itoa(sec) + " seconds"
		}
		return strconv.Itoa(sec/60) + " minutes"
	},
	"add":  func(a, b int) int { return a + b },
	"join": strings.Join,
}

// humanize turns a code into words: "billing_admin" → "Billing admin".
func humanize(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func statusLabel(s billing.AccountStatus) string {
	if s == billing.StatusPastDue {
		return "Past due"
	}
	return humanize(string(s))
}

func roleLabel(r billing.Role) string {
	switch r {
	case billing.RoleBillingAdmin:
		return "Billing admin"
	}
	return humanize(string(r))
}

// query builds "?k=v&…" from pairs, leaving out empty values.
func query(pairs ...any) template.URL {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		val := fmt.Sprint(pairs[i+1])
		if val != "" && val != "0" {
			v.Set(fmt.Sprint(pairs[i]), val)
		}
	}
	if len(v) == 0 {
		return "?"
	}
	return template.URL("?" + v.Encode())
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// prettyJSON indents a JSON document for the audit log.
func prettyJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}
