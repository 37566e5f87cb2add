package main_test

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// /metrics has a latency histogram per route, for the API's routes and the
// console's pages alike, labelled by the route's pattern and never by the
// raw path (which would make a series per account). Its buckets include
// the latency targets of docs/benchmarks.md: 10 ms for an API read, 20 ms
// for a console page.
func TestServe_MetricsHaveALatencyHistogramPerRoutePattern(t *testing.T) {
	m, out := startServe(t, "--database-url", filepath.Join(t.TempDir(), "korebill.db"))
	match := keyRE.FindStringSubmatch(out.String())
	if match == nil {
		t.Fatalf("no operator key printed:\n%s", out)
	}
	key, base := match[1], m.URL()
	if status, body := call(t, "POST", base+"/v1/accounts", key, `{"name": "Acme", "domain": "acme.example.com"}`); status != 201 {
		t.Fatalf("create account = %d %v", status, body)
	}
	if status, body := call(t, "GET", base+"/v1/accounts/KB-000001/subscription", key, ""); status != 200 {
		t.Fatalf("subscription = %d %v", status, body)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/login", "/accounts/KB-000001/summary"} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(raw)

	for _, route := range []string{
		"POST /v1/accounts",
		"GET /v1/accounts/{number}/subscription",
		"GET /login",
		"GET /accounts/{number}/summary",
	} {
		for _, le := range []string{"0.01", "0.02", "+Inf"} {
			count := `\d` // a request may be slower than a bucket on a busy machine
			if le == "+Inf" {
				count = `[1-9]` // but every request counts in the last
			}
			re := regexp.MustCompile(`(?m)^korebill_http_request_duration_seconds_bucket\{[^}]*route="` +
				regexp.QuoteMeta(route) + `"[^}]*le="` + regexp.QuoteMeta(le) + `"\} ` + count)
			if !re.MatchString(metrics) {
				t.Errorf("no latency bucket le=%s for route %q in /metrics", le, route)
			}
		}
	}
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "korebill_http_") && strings.Contains(line, "KB-000001") {
			t.Errorf("a raw path as a label: %s", line)
		}
	}
}
