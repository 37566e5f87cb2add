package main_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/store/storetest"
)

// The operator's "Run billing now" starts a billing run as a job and
// answers at once (a redirect back to the page); the page follows the
// run's progress until it has billed every account that was due, and
// /metrics counts them. The demo, its clock moved a month on, on both
// stores.
func TestConsole_RunBillingNowStartsARunJobAndFollowsIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "demo.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := main.NewMain()
			out := &syncBuffer{}
			m.Stdout, m.Stderr = out, io.Discard
			if err := m.ParseFlags(context.Background(), []string{"demo", "--addr", "127.0.0.1:0", "--database-url", tc.url(t)}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				<-done
				m.Close()
			})
			select {
			case <-m.Ready:
			case err := <-done:
				t.Fatalf("demo stopped: %v\n%s", err, out)
			case <-time.After(90 * time.Second):
				t.Fatal("demo not serving after 90s")
			}
			pw := regexp.MustCompile(`Password for every demo user: (\S+)`).FindStringSubmatch(out.String())
			if pw == nil {
				t.Fatalf("no demo password:\n%s", out)
			}
			clock, err := m.DB.FindTestClock(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.DB.SetTestClockNow(ctx, 1, clock.Now.Add(31*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			base := m.URL()
			jar, _ := cookiejar.New(nil)
			var redirects []int
			c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
				redirects = append(redirects, req.Response.StatusCode)
				return nil
			}}
			get := func(path string) string {
				t.Helper()
				resp, err := c.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
				}
				return string(b)
			}
			csrf := func(page string) string {
				m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
				if m == nil {
					t.Fatalf("no form:\n%s", page)
				}
				return m[1]
			}
			resp, err := c.PostForm(base+"/login", url.Values{"csrf_token": {csrf(get("/login"))},
				"email": {"admin@localhost"}, "password": {pw[1]}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			page := get("/billing-runs")
			dueM := regexp.MustCompile(`Due now <span class="muted">\((\d+)\)`).FindStringSubmatch(page)
			if dueM == nil || dueM[1] == "0" || !strings.Contains(page, "No billing runs yet.") {
				t.Fatalf("before the run:\n%s", page)
			}
			due, _ := strconv.Atoi(dueM[1])
			redirects = nil
			resp, err = c.PostForm(base+"/billing-runs", url.Values{"csrf_token": {csrf(page)}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(redirects) != 1 || redirects[0] != http.StatusSeeOther {
				t.Fatalf("run now: %d after redirects %v; want 303 then the page", resp.StatusCode, redirects)
			}
			want := strconv.Itoa(due) + " of " + strconv.Itoa(due) + " billed"
			deadline := time.Now().Add(60 * time.Second)
			for {
				page = get("/billing-runs")
				if strings.Contains(page, "Completed") {
					break
				}
				if !strings.Contains(page, `hx-trigger="every 1s"`) {
					t.Fatalf("a run not finished and the page does not follow it:\n%s", page)
				}
				if time.Now().After(deadline) {
					t.Fatalf("the run did not finish in 60s:\n%s", page)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if !strings.Contains(page, want) || !strings.Contains(page, "Due now <span class=\"muted\">(0)") ||
				strings.Contains(page, `hx-trigger="every 1s"`) {
				t.Fatalf("after the run, want %q, nothing due, no polling:\n%s", want, page)
			}
			metrics := get("/metrics")
			for _, line := range []string{`korebill_billing_run_accounts_total{result="billed"} ` + strconv.Itoa(due),
				`korebill_billing_runs_total{result="ok"} 1`, "korebill_billing_run_duration_seconds_count 1"} {
				if !strings.Contains(metrics, line) {
					t.Errorf("/metrics lacks %q", line)
				}
			}
		})
	}
}
