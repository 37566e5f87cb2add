package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `korebill serve` in-process on a free port and returns it
// once it serves; it stops when the test ends.
func startServe(t *testing.T, args ...string) (*main.Main, *syncBuffer) {
	t.Helper()
	m := main.NewMain()
	out := &syncBuffer{}
	m.Stdout, m.Stderr = out, out
	if err := m.ParseFlags(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready:
	case err := <-done:
		t.Fatalf("serve stopped before it was ready: %v\n%s", err, out)
	case <-time.After(10 * time.Second):
		t.Fatal("serve was not ready in 10s")
	}
	t.Cleanup(func() {
		// Every scenario run on the server ends with the books whole.
		if !t.Failed() {
			if breaks, err := m.Engine.CheckInvariants(context.Background()); err != nil || len(breaks) > 0 {
				t.Errorf("invariants: %v\n%s", err, engine.FormatBreaks(breaks))
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m, out
}

var keyRE = regexp.MustCompile(`KOREBILL_KEY=(kb_[A-Za-z0-9_-]+)`)

func call(t *testing.T, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// The README's story, as a newcomer runs it: serve on an empty directory,
// take the printed key, create an account, set its profile, read it back.
func TestServe_ReadmeStory(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "data", "korebill.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbURL := tc.url(t)
			m, out := startServe(t, "--database-url", dbURL)
			match := keyRE.FindStringSubmatch(out.String())
			if match == nil {
				t.Fatalf("no operator key printed on a new database:\n%s", out)
			}
			key, base := match[1], m.URL()

			status, acct := call(t, "POST", base+"/v1/accounts", key,
				`{"name": "Acme Corp", "domain": "acme.example.com", "time_zone": "America/New_York"}`)
			if status != 201 || acct["number"] != "KB-000001" {
				t.Fatalf("create account = %d %v", status, acct)
			}
			status, prof := call(t, "PUT", base+"/v1/accounts/KB-000001/profile", key, `{"company_name": "Acme Corp",
				"contact_name": "Ada Lovelace", "address": {"line1": "1 Market St", "city": "San Francisco", "region": "CA",
				"postal_code": "94105", "country": "US"}, "phone": "(415) 555-0132", "email": "billing@acme.example.com",
				"invoice_emails": ["ap@acme.example.com"]}`)
			if status != 200 {
				t.Fatalf("set profile = %d %v", status, prof)
			}
			status, prof = call(t, "GET", base+"/v1/accounts/KB-000001/profile", key, "")
			if status != 200 || prof["phone"] != "+14155550132" || prof["company_name"] != "Acme Corp" {
				t.Fatalf("read profile = %d %v", status, prof)
			}
			// Webhooks and the email outbox are wired (not 501).
			for _, path := range []string{"/v1/webhook-endpoints", "/v1/emails", "/v1/tax-rates", "/v1/test-clocks"} {
				if status, body := call(t, "GET", base+path, key, ""); status != 200 {
					t.Errorf("GET %s = %d %v", path, status, body)
				}
			}
			resp, err := http.Get(base + "/openapi.json")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("openapi.json: %v %v", err, resp)
			}
			resp.Body.Close()
		})
	}
}

func TestServe_FirstKeyPrintedOnlyOnANewDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "korebill.db")
	func() {
		m := main.NewMain()
		out := &syncBuffer{}
		m.Stdout, m.Stderr = out, out
		if err := m.ParseFlags(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--database-url", path}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		<-m.Ready
		cancel() // as SIGINT does
		if err := <-done; err != nil {
			t.Fatalf("serve did not stop cleanly: %v", err)
		}
		m.Close()
		if !keyRE.MatchString(out.String()) {
			t.Fatalf("first start printed no key:\n%s", out)
		}
	}()
	_, out := startServe(t, "--database-url", path)
	if keyRE.MatchString(out.String()) {
		t.Fatalf("second start printed a key again:\n%s", out)
	}
}

func TestCommands_VersionMigrateKeys(t *testing.T) {
	run := func(args ...string) (string, error) {
		m := main.NewMain()
		out := &syncBuffer{}
		m.Stdout, m.Stderr = out, io.Discard // the logs go to stderr; the answer to stdout
		if err := m.ParseFlags(context.Background(), args); err != nil {
			return out.String(), err
		}
		err := m.Run(context.Background())
		m.Close()
		return out.String(), err
	}
	if out, err := run("version"); err != nil || !strings.HasPrefix(out, "korebill ") {
		t.Errorf("version = %q %v", out, err)
	}
	path := filepath.Join(t.TempDir(), "k.db")
	if out, err := run("migrate", "--database-url", path); err != nil || !strings.Contains(out, "migrated sqlite") {
		t.Errorf("migrate = %q %v", out, err)
	}
	out, err := run("keys", "create", "--role", "platform", "--database-url", path)
	if err != nil || !regexp.MustCompile(`^kb_[0-9a-f]{8}_[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Errorf("keys create = %q %v", out, err)
	}
	if out, err := run("keys", "create", "--role", "owner", "--database-url", path); err == nil {
		t.Errorf("an owner key without an account was made: %q", out)
	}
	if _, err := run("serve", "--addr", "nonsense"); err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("bad --addr: %v", err)
	}
	if _, err := run("frobnicate"); err == nil {
		t.Error("an unknown command was accepted")
	}
	if out, err := run("openapi"); err != nil || !strings.Contains(out, `"openapi": "3.1.0"`) {
		t.Errorf("openapi = %.100q %v", out, err)
	}
}

// runCmd runs one korebill command in-process and returns what it printed.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	m := main.NewMain()
	out := &syncBuffer{}
	m.Stdout, m.Stderr = out, out
	if err := m.ParseFlags(context.Background(), args); err != nil {
		return out.String(), err
	}
	err := m.Run(context.Background())
	m.Close()
	return out.String(), err
}

// The demo builds history on a test clock; `korebill bill` run afterwards
// finds nothing due and, run twice, bills nothing twice.
func TestDemo_HistoryThenBillTwiceBillsNothingTwice(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "demo.db")
	m := main.NewMain()
	out := &syncBuffer{}
	m.Stdout, m.Stderr = out, io.Discard
	if err := m.ParseFlags(context.Background(), []string{"demo", "--addr", "127.0.0.1:0", "--database-url", dbPath}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready:
	case err := <-done:
		t.Fatalf("demo stopped: %v\n%s", err, out)
	case <-time.After(60 * time.Second):
		t.Fatal("demo not serving after 60s")
	}
	for _, want := range []string{"admin@localhost", "ada@acme.example.com", "KB-000004", "KOREBILL_KEY=kb_"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// Every paying account has at least six months of invoices.
	rows, err := m.DB.SQL().Query(`SELECT a.number, count(DISTINCT i.period_start) FROM invoices i
		JOIN accounts a ON a.id = i.account_id WHERE i.kind = 'subscription' GROUP BY a.number`)
	if err != nil {
		t.Fatal(err)
	}
	periods := map[string]int{}
	for rows.Next() {
		var n string
		var c int
		rows.Scan(&n, &c)
		periods[n] = c
	}
	rows.Close()
	if periods["KB-000001"] < 7 || periods["KB-000004"] < 7 || periods["KB-000002"] < 1 || periods["KB-000003"] != 0 {
		t.Errorf("subscription invoices by account = %v; want 7+ monthly periods for Acme and Umbrella, Globex's year, none for Free Initech", periods)
	}
	// Dates shown come from the account's own clock: every demo account
	// became a customer on its clock's first day, before its history.
	var late int
	if err := m.DB.SQL().QueryRow(`SELECT count(*) FROM accounts a WHERE a.test_clock_id IS NULL
		OR EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND i.created_at < a.created_at)
		OR EXISTS (SELECT 1 FROM credit_transactions c WHERE c.account_id = a.id AND c.created_at < a.created_at)`).Scan(&late); err != nil {
		t.Fatal(err)
	}
	if late != 0 {
		t.Errorf("%d demo accounts were created after their clock's history began", late)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m.Close()

	// Move the demo's clock a month on without billing, as if the
	// scheduler had been down: `korebill bill` catches up, once.
	db, err := store.Open(context.Background(), dbPath, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() int {
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM invoices`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	clock, err := db.FindTestClock(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetTestClockNow(context.Background(), 1, clock.Now.Add(31*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	before := count()
	out1, err := runCmd(t, "bill", "--database-url", dbPath)
	if err != nil || strings.Contains(out1, " 0 invoices") {
		t.Fatalf("first bill run = %v: %s; want the month's invoices", err, out1)
	}
	afterFirst := count()
	if afterFirst <= before {
		t.Fatalf("invoices %d → %d: the first bill run billed nothing", before, afterFirst)
	}
	// It reports the invoices it issued, each once (a renewal's invoice
	// and the charge that collects it are one invoice).
	if want := fmt.Sprintf(": %d invoices,", afterFirst-before); !strings.Contains(out1, want) {
		t.Errorf("the first bill run issued %d invoices and reported:\n%s", afterFirst-before, out1)
	}
	out2, err := runCmd(t, "bill", "--database-url", dbPath)
	if err != nil || !strings.Contains(out2, "billed 0 accounts: 0 invoices") {
		t.Fatalf("second bill run = %v: %s; want nothing billed", err, out2)
	}
	if after := count(); after != afterFirst {
		t.Errorf("invoices %d → %d after a second bill run", afterFirst, after)
	}
}
