package main_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/store/storetest"
)

var consolePasswordRE = regexp.MustCompile(`email: +admin@localhost\n +password: +([a-z2-9]{5}(?:-[a-z2-9]{5}){3})\n`)

// signIn signs in to the console at base as a browser would and returns
// the page it lands on.
func signIn(t *testing.T, base, email, password string) (int, string, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form at %s/login:\n%s", base, page)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(body)
}

// A newcomer starts serve on a new database, takes the printed password and
// signs in to the console as the first operator; on both stores.
func TestServe_FirstConsoleOperatorSignsIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "korebill.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, out := startServe(t, "--database-url", tc.url(t))
			match := consolePasswordRE.FindStringSubmatch(out.String())
			if match == nil {
				t.Fatalf("no console password printed on a new database:\n%s", out)
			}
			status, path, body := signIn(t, m.URL(), "admin@localhost", match[1])
			if status != 200 || path != "/dashboard" || !strings.Contains(body, "Operator console") {
				t.Fatalf("sign in: %d at %s\n%s", status, path, body)
			}
			if status, _, _ := signIn(t, m.URL(), "admin@localhost", "not the password"); status != http.StatusUnauthorized {
				t.Fatalf("a wrong password: %d", status)
			}
		})
	}
}

func TestServe_ConsolePasswordPrintedOnlyOnANewDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "korebill.db")
	func() {
		m := main.NewMain()
		out := &syncBuffer{}
		m.Stdout, m.Stderr = out, out
		if err := m.ParseFlags(context.Background(), []string{"migrate", "--database-url", path}); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}()
	_, out := startServe(t, "--database-url", path)
	if !consolePasswordRE.MatchString(out.String()) {
		t.Fatalf("first serve printed no console password:\n%s", out)
	}
	_, out = startServe(t, "--database-url", path)
	if strings.Contains(out.String(), "password:") {
		t.Fatalf("second serve printed a password again:\n%s", out)
	}
}

func TestUsersCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	run := func(env map[string]string, args ...string) (string, error) {
		for k, v := range env {
			t.Setenv(k, v)
		}
		m := main.NewMain()
		out := &syncBuffer{}
		m.Stdout, m.Stderr = out, io.Discard // the log is not what the command prints
		if err := m.ParseFlags(context.Background(), append(args, "--database-url", path)); err != nil {
			return out.String(), err
		}
		err := m.Run(context.Background())
		m.Close()
		return out.String(), err
	}
	// An account to give users to, through the API's store.
	m, out := startServe(t, "--database-url", path)
	key := keyRE.FindStringSubmatch(out.String())[1]
	if status, acct := call(t, "POST", m.URL()+"/v1/accounts", key, `{"name": "Acme", "domain": "acme.example.com"}`); status != 201 {
		t.Fatalf("create account: %d %v", status, acct)
	}

	out2, err := run(nil, "users", "create", "--email", "Ada@Acme.example.com", "--role", "owner", "--account", "KB-000001",
		"--name", "Ada Lovelace", "--password", "correct horse battery")
	if err != nil || out2 != "created ada@acme.example.com (owner)\n" {
		t.Fatalf("with --password: %q %v", out2, err)
	}
	if status, path, _ := signIn(t, m.URL(), "ada@acme.example.com", "correct horse battery"); status != 200 || path != "/accounts/KB-000001/summary" {
		t.Fatalf("owner signs in: %d at %s", status, path)
	}

	out2, err = run(map[string]string{"KOREBILL_USER_PASSWORD": "from the environment"},
		"users", "create", "--email", "vic@acme.example.com", "--role", "viewer", "--account", "KB-000001")
	if err != nil || strings.Contains(out2, "password") {
		t.Fatalf("with $KOREBILL_USER_PASSWORD: %q %v", out2, err)
	}
	if status, _, _ := signIn(t, m.URL(), "vic@acme.example.com", "from the environment"); status != 200 {
		t.Fatalf("viewer signs in: %d", status)
	}

	t.Setenv("KOREBILL_USER_PASSWORD", "")
	out2, err = run(nil, "users", "create", "--email", "ops@kore.example", "--role", "operator")
	gen := regexp.MustCompile(`password: (\S+)\n\(shown only this once\)`).FindStringSubmatch(out2)
	if err != nil || gen == nil {
		t.Fatalf("generated: %q %v", out2, err)
	}
	if status, path, _ := signIn(t, m.URL(), "ops@kore.example", gen[1]); status != 200 || path != "/dashboard" {
		t.Fatalf("operator signs in with the generated password: %d at %s", status, path)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "x@acme.example.com", "--role", "owner"}, "--account: An owner belongs to an account."},
		{[]string{"--email", "x@acme.example.com", "--role", "platform", "--password", "short"}, "--role: Role must be operator, owner, billing_admin or viewer.; --password: Password must be at least 12 characters."},
		{[]string{"--email", "ada@acme.example.com", "--role", "viewer", "--account", "KB-000001"}, "A console user with this email already exists."},
		{[]string{"--email", "x@acme.example.com", "--role", "viewer", "--account", "KB-999999"}, "--account: Account KB-999999 not found."},
	} {
		_, err := run(nil, append([]string{"users", "create"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("users create %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := run(nil, "users"); err == nil {
		t.Error("`users` without create was accepted")
	}
}
