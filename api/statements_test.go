package api_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// cardLabels prints one card on every statement.
type cardLabels struct{}

func (cardLabels) InvoicePaymentMethod(context.Context, *billing.Invoice) (string, error) {
	return "Visa •••• 4242", nil
}

func TestStatementPDF_TheAccountsPeopleDownloadItOtherTenantsDoNot(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := billing.NewFixedClock(time.Date(2026, 1, 19, 10, 0, 0, 0, time.UTC))
		db = db.WithClock(clock)
		eng, err := engine.New(engine.Config{DB: db, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		ctx := billing.NewContextWithActor(context.Background(), billing.SystemActor)
		if err := eng.SeedCatalog(ctx); err != nil {
			t.Fatal(err)
		}
		acme := &billing.Account{Name: "Acme Corp", Domain: "acme.example.com"}
		globex := &billing.Account{Name: "Globex", Domain: "globex.example.com"}
		for _, a := range []*billing.Account{acme, globex} {
			if err := eng.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SetProfile(ctx, &billing.BillingProfile{AccountID: acme.ID, CompanyName: "Acme Corp", ContactName: "Ada Lovelace",
			Address: billing.Address{Line1: "1 Market St", City: "San Francisco", Region: "CA", PostalCode: "94105", Country: "US"},
			Phone:   "+14155550132", Email: "billing@acme.example.com"}); err != nil {
			t.Fatal(err)
		}
		if err := eng.SetTaxRate(ctx, &billing.TaxRate{Country: "US", BasisPoints: 825}); err != nil {
			t.Fatal(err)
		}
		// 3 × $10 for [19 Jan, 19 Feb); 8.25% of $30.00 = 247.5¢ → $2.48.
		res, err := eng.ConfirmChange(ctx, acme.ID, engine.ChangeRequest{Plan: "premium", Interval: billing.Month, Seats: 3})
		if err != nil {
			t.Fatal(err)
		}
		inv := res.Invoice
		if inv == nil || inv.Number == "" || inv.Total.String() != "$32.48" {
			t.Fatalf("upgrade invoice = %+v", inv)
		}

		srv := httptest.NewServer(api.New(api.Config{Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db,
			Audit: db, Keys: db, Engine: eng, PaymentLabels: cardLabels{}}}).Handler())
		t.Cleanup(srv.Close)
		key := func(role billing.Role, accountID int64) string {
			t.Helper()
			k, err := db.CreateAPIKey(ctx, &billing.APIKey{Name: string(role), Role: role, AccountID: accountID})
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		path := "/v1/accounts/" + acme.Number + "/invoices/" + inv.Number + "/statement.pdf"

		for _, k := range []struct {
			name, key string
		}{
			{"owner", key(billing.RoleOwner, acme.ID)},
			{"billing admin", key(billing.RoleBillingAdmin, acme.ID)},
			{"viewer", key(billing.RoleViewer, acme.ID)},
			{"operator", key(billing.RoleOperator, 0)},
		} {
			resp, body := get(t, srv.URL+path, k.key)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: GET %s = %d: %s", k.name, path, resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
				t.Errorf("%s: Content-Type = %q", k.name, ct)
			}
			disposition, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
			if err != nil || disposition != "attachment" || params["filename"] != inv.Number+".pdf" {
				t.Errorf("%s: Content-Disposition = %q", k.name, resp.Header.Get("Content-Disposition"))
			}
			text := pdfText(t, body)
			for _, want := range []string{"Invoice", inv.Number, acme.Number, "Acme Corp", "Ada Lovelace", "United States",
				"Premium — 3 users", "full period", "$10.00", "$30.00", "Tax (8.25%, United States)", "$2.48", "$32.48",
				"Visa •••• 4242", "Card", "Jan 19, 2026 – Feb 18, 2026"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: the statement lacks %q:\n%s", k.name, want, text)
				}
			}
		}

		// By id too.
		if resp, body := get(t, srv.URL+"/v1/accounts/"+acme.Number+"/invoices/"+itoa(inv.ID)+"/statement.pdf", key(billing.RoleViewer, acme.ID)); resp.StatusCode != 200 {
			t.Errorf("by id = %d: %s", resp.StatusCode, body)
		}

		// Another tenant learns nothing: its own account number in the
		// path, or Acme's, is "not found".
		other := key(billing.RoleOwner, globex.ID)
		for _, p := range []string{path, "/v1/accounts/" + globex.Number + "/invoices/" + inv.Number + "/statement.pdf"} {
			resp, body := get(t, srv.URL+p, other)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("another tenant: GET %s = %d, want 404", p, resp.StatusCode)
			}
			var problem map[string]any
			if err := json.Unmarshal(body, &problem); err != nil || problem["code"] != billing.ENOTFOUND {
				t.Errorf("another tenant: %s", body)
			}
		}
		// An operator asking under the wrong account: not found either.
		if resp, _ := get(t, srv.URL+"/v1/accounts/"+globex.Number+"/invoices/"+inv.Number+"/statement.pdf", key(billing.RoleOperator, 0)); resp.StatusCode != 404 {
			t.Errorf("operator, wrong account = %d, want 404", resp.StatusCode)
		}
		// The platform reads accounts, not their invoices: neither the
		// statement nor the invoice's JSON (issue 9, defect 7: the JSON
		// answered 200 and the PDF 403).
		for _, p := range []string{path, strings.TrimSuffix(path, "/statement.pdf"), "/v1/accounts/" + acme.Number + "/invoices"} {
			if resp, _ := get(t, srv.URL+p, key(billing.RolePlatform, 0)); resp.StatusCode != http.StatusForbidden {
				t.Errorf("platform: GET %s = %d, want 403", p, resp.StatusCode)
			}
		}
		if resp, _ := get(t, srv.URL+path, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no key = %d, want 401", resp.StatusCode)
		}
		if resp, _ := get(t, srv.URL+"/v1/accounts/"+acme.Number+"/invoices/INV-2026-999999/statement.pdf", key(billing.RoleOwner, acme.ID)); resp.StatusCode != 404 {
			t.Errorf("no such invoice = %d, want 404", resp.StatusCode)
		}
	})
}

func get(t *testing.T, url, key string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// pdfText is the PDF's text as pdftotext -layout reads it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		storetest.SkipOrFail(t, "pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
	}
	file := filepath.Join(t.TempDir(), "statement.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
