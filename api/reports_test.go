package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func TestReportsAPI_OperatorOnlyJSONAndCSV(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, clock := setupBilling(t, db, "2026-03-01T09:00:00Z")
		n := b.createAccount(t, "Acme Corp", "acme.example.com")
		owner := b.keyFor(t, n, billing.RoleOwner)
		b.mustCall(t, 200, "POST", "/v1/accounts/"+n+"/subscription", b.opKey,
			map[string]any{"plan": "premium", "interval": "year", "seats": 7})
		clock.Set(time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC))

		// 7 × $100 a year: $700 ÷ 12 = $58.333… → $58.33, rounded once.
		mrr := b.mustCall(t, 200, "GET", "/v1/reports/mrr?from=2026-03&to=2026-04", b.opKey, nil)
		if got := field(mrr, "mrr", "amount"); got != 5833.0 {
			t.Errorf("mrr = %v, want 5833", got)
		}
		months := mrr["months"].([]any)
		if len(months) != 2 || field(months[0], "month") != "2026-03" || field(months[1], "mrr", "amount") != 5833.0 {
			t.Errorf("months = %v", months)
		}
		// $700 over 1 Mar 2026 – 1 Mar 2027, 365 days: 70000 ÷ 365 = 191 a
		// day; March 31 days = 5921, April 30 days = 5730.
		rev := b.mustCall(t, 200, "GET", "/v1/reports/revenue?from=2026-03&to=2026-04&account="+n, b.opKey, nil)
		rm := rev["months"].([]any)
		if field(rm[0], "recognized", "amount") != 5921.0 || field(rm[0], "deferred", "amount") != 70000.0-5921 ||
			field(rm[1], "recognized", "amount") != 5730.0 {
			t.Errorf("revenue months = %v", rm)
		}
		rec := b.mustCall(t, 200, "GET", "/v1/reports/receivables", b.opKey, nil)
		if field(rec, "total", "amount") != 70000.0 { // collection is off: the invoice is open
			t.Errorf("receivables = %v", rec)
		}

		for _, path := range []string{"/v1/reports/mrr", "/v1/reports/revenue.csv", "/v1/reports/receivables"} {
			if status, _ := b.call(t, "GET", path, owner, nil); status != http.StatusForbidden {
				t.Errorf("owner GET %s = %d, want 403", path, status)
			}
		}
		if status, out := b.call(t, "GET", "/v1/reports/mrr?from=2026-13", b.opKey, nil); status != 422 {
			t.Errorf("bad month = %d %v", status, out)
		}
		if status, out := b.call(t, "GET", "/v1/reports/mrr?from=2026-05&to=2026-04", b.opKey, nil); status != 422 {
			t.Errorf("to before from = %d %v", status, out)
		}
		if status, _ := b.call(t, "GET", "/v1/reports/revenue?account=KB-999999", b.opKey, nil); status != 404 {
			t.Errorf("unknown account = %d", status)
		}

		req, _ := http.NewRequest("GET", b.srv.URL+"/v1/reports/revenue.csv?from=2026-03&to=2026-04", nil)
		req.Header.Set("Authorization", "Bearer "+b.opKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			lines[0] != "scope,key,month,invoiced,credited,recognized,deferred,currency" ||
			lines[1] != "total,,2026-03,700.00,0.00,59.21,640.79,USD" ||
			!strings.Contains(string(body), "plan,premium,2026-04,,,57.30,,USD") {
			t.Errorf("CSV %d %s:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
}
