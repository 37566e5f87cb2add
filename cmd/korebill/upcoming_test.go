package main_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/store/storetest"
)

// For each demo account, the next invoice the Account Summary and the API
// (GET /v1/accounts/{n}/upcoming-invoice) show equals, to the cent and line
// by line, the invoice that advancing the demo's test clock produces: the
// seats charged (Acme's inactive user's is not), the inactivity credits
// granted before it and the balance applied, the tax (Globex pays 20% VAT),
// a contract's period. Free Initech has none, in both. Both stores.
func TestDemo_NextInvoiceIsTheInvoiceTheClockProduces(t *testing.T) {
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
			m.Stdout, m.Stderr = out, &syncBuffer{}
			if err := m.ParseFlags(context.Background(), []string{"demo", "--addr", "127.0.0.1:0", "--database-url", tc.url(t)}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			select {
			case <-m.Ready:
			case err := <-done:
				t.Fatalf("demo stopped: %v\n%s", err, out)
			}
			t.Cleanup(func() { cancel(); <-done; m.Close() })
			password := regexp.MustCompile(`Password for every demo user: (\S+)`).FindStringSubmatch(out.String())[1]
			c := apiClient{t: t, base: m.URL(), key: regexp.MustCompile(`KOREBILL_KEY=(kb_\S+)`).FindStringSubmatch(out.String())[1]}

			clock := int(c.do("GET", "/v1/test-clocks", nil)["items"].([]any)[0].(map[string]any)["id"].(float64))
			clockPath := fmt.Sprintf("/v1/test-clocks/%d", clock)
			clockNow := func() time.Time {
				tm, err := time.Parse(time.RFC3339, c.do("GET", clockPath, nil)["now"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return tm
			}
			// advance moves the clock to `to`, then the platform reports the
			// users who were active at the demo's end active again (Acme's
			// inactive user stays inactive). On the way, users without
			// activity earn their inactivity credits, as they would.
			demoEnd := clockNow()
			advance := func(to time.Time) {
				t.Helper()
				now := clockNow()
				if !to.After(now) {
					to = now
				}
				for now.Before(to) { // a month at a time: each advance is one request
					now = now.Add(30 * 24 * time.Hour)
					if now.After(to) {
						now = to
					}
					c.do("POST", clockPath+"/advance", map[string]any{"to": now})
				}
				for _, n := range []string{"KB-000001", "KB-000002", "KB-000004"} {
					users := c.do("GET", "/v1/accounts/"+n+"/managed-users?limit=500", nil)["items"].([]any)
					for _, u := range users {
						u := u.(map[string]any)
						if last, _ := time.Parse(time.RFC3339, fmt.Sprint(u["last_active_at"])); !last.Before(demoEnd.Add(-8 * 24 * time.Hour)) {
							u["last_active_at"] = to.Format(time.RFC3339)
						}
						delete(u, "managed_since")
					}
					c.do("PUT", "/v1/accounts/"+n+"/managed-users", map[string]any{"users": users})
				}
			}

			admins := map[string]string{"KB-000001": "ada@acme.example.com", "KB-000002": "hank@globex.example.com",
				"KB-000003": "bill@initech.example.com", "KB-000004": "alice@umbrella.example.com"}
			// upcoming returns the account's next invoice as the API and the
			// Account Summary show it, after checking they agree.
			upcoming := func(number string) (map[string]any, time.Time) {
				t.Helper()
				status, body := call(t, "GET", m.URL()+"/v1/accounts/"+number+"/upcoming-invoice", c.key, "")
				_, _, summary := signIn(t, m.URL(), admins[number], password)
				shown := regexp.MustCompile(`id="next-invoice-total"><strong>([^<]+)</strong>`).FindStringSubmatch(summary)
				if number == "KB-000003" {
					if status != http.StatusNotFound || body["code"] != "no_upcoming_invoice" || shown != nil {
						t.Errorf("Free Initech: upcoming %d %v; summary shows %v", status, body, shown)
					}
					return nil, time.Time{}
				}
				if status != http.StatusOK || shown == nil {
					t.Fatalf("%s: upcoming %d %v; summary shows %v", number, status, body, shown)
				}
				inv := body["invoice"].(map[string]any)
				if got, want := cents(t, shown[1]), amount(inv["total"]); got != want {
					t.Errorf("%s: the summary's next invoice is %s, the API's %d¢", number, shown[1], want)
				}
				at, err := time.Parse(time.RFC3339, body["issued_at"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return inv, at
			}

			type next struct {
				number string
				at     time.Time
			}
			var coming []next
			for number := range admins {
				if _, at := upcoming(number); !at.IsZero() {
					coming = append(coming, next{number, at})
				}
			}
			if len(coming) != 3 {
				t.Fatalf("%d accounts with an upcoming invoice, want 3", len(coming))
			}
			sort.Slice(coming, func(i, j int) bool { return coming[i].at.Before(coming[j].at) })

			// Each account's next invoice, read the day before it falls due,
			// then the invoice the clock makes.
			for _, n := range coming {
				advance(n.at.Add(-24 * time.Hour))
				want, at := upcoming(n.number)
				if !at.Equal(n.at) {
					t.Fatalf("%s: due at %s, then at %s", n.number, n.at, at)
				}
				c.do("POST", clockPath+"/advance", map[string]any{"to": n.at.Add(time.Minute)})
				start := want["period"].(map[string]any)["start"]
				var got map[string]any
				for _, it := range c.do("GET", "/v1/accounts/"+n.number+"/invoices?limit=100", nil)["items"].([]any) {
					inv := it.(map[string]any)
					if inv["kind"] == "subscription" && inv["period"].(map[string]any)["start"] == start {
						got = inv
					}
				}
				if got == nil {
					t.Fatalf("%s: advancing to %s made no invoice for the period from %s", n.number, n.at, start)
				}
				t.Logf("%s: next invoice %s, %d¢ (%d¢ credits, %d¢ tax)", n.number, got["number"], amount(got["total"]),
					amount(got["credits_applied"]), amount(got["tax"]))
				if amount(got["total"]) == 0 {
					t.Errorf("%s: a next invoice of nothing proves little", n.number)
				}
				for _, f := range []string{"subtotal", "credits_applied", "tax", "total"} {
					if amount(got[f]) != amount(want[f]) {
						t.Errorf("%s %s: %s is %d¢, the upcoming invoice said %d¢", n.number, got["number"], f, amount(got[f]), amount(want[f]))
					}
				}
				if a, b := lines(got), lines(want); a != b {
					t.Errorf("%s %s lines:\n%s\nthe upcoming invoice said:\n%s", n.number, got["number"], a, b)
				}
				if got["issue_date"] != want["issue_date"] {
					t.Errorf("%s: issued %v, the upcoming invoice said %v", n.number, got["issue_date"], want["issue_date"])
				}
			}
		})
	}
}

func amount(v any) int64 { return int64(v.(map[string]any)["amount"].(float64)) }

func lines(inv map[string]any) string {
	var b strings.Builder
	for _, l := range inv["lines"].([]any) {
		l := l.(map[string]any)
		fmt.Fprintf(&b, "%s %v %d\n", l["description"], l["quantity"], amount(l["amount"]))
	}
	return b.String()
}

// cents reads an amount as the console shows it: "$1,234.56".
func cents(t *testing.T, s string) int64 {
	t.Helper()
	s = strings.NewReplacer("$", "", ",", "", ".", "").Replace(strings.TrimSpace(s))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return n
}
