package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// TestStatement_AProfileInEveryScriptBillsAndPrints: the owner saves a
// Billing Profile written in every script with an emoji; buying seats and a
// user joining bill as usual, and the statement's page and PDF carry the
// names: pdftotext reads back the Latin, Greek, Cyrillic, CJK, Korean and
// Hebrew, and the Arabic once its joined letters are undone.
func TestStatement_AProfileInEveryScriptBillsAndPrints(t *testing.T) {
	t.Parallel()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		storetest.SkipOrFail(t, "pdftotext (poppler-utils) is not installed")
	}
	names := map[string]string{
		"company": "Acme 🚀 山田商事", "contact": "Zoë Παπαδοπούλου", "line1": "חברת שלום 12", "line2": "شركة السلام",
		"city": "Москва", "region": "김민준",
	}
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		b.roster(t, b.acme, 3)
		if _, err := b.eng.AddCard(opsCtx(), b.acme.ID, engine.AddCardRequest{Token: "pm_card_visa"}); err != nil {
			t.Fatal(err)
		}
		n := b.acme.Number
		p := signedIn(t, b, ownerEmail)
		p.get("/accounts/" + n + "/profile")
		status, body := p.post("/accounts/"+n+"/profile", url.Values{"company_name": {names["company"]}, "contact_name": {names["contact"]},
			"address.line1": {names["line1"]}, "address.line2": {names["line2"]}, "address.city": {names["city"]},
			"address.region": {names["region"]}, "address.postal_code": {"101000"}, "address.country": {"RU"},
			"phone": {"+14155550132"}, "email": {"billing@acme.test"}})
		if status != http.StatusOK {
			t.Fatalf("save the profile: %d\n%s", status, text(body))
		}
		upgrade(t, b, p, "month")
		b.at(20)
		if err := b.eng.UpsertManagedUser(opsCtx(), &billing.ManagedUser{AccountID: b.acme.ID, UserID: "u4", Email: "user4@acme.test",
			Status: billing.ManagedUserStatus("active")}); err != nil {
			t.Fatalf("a user joins: %v", err)
		}
		invs := b.invoices(t, b.acme)
		if len(invs) != 2 {
			t.Fatalf("%d invoices", len(invs))
		}
		for _, inv := range invs {
			path := "/accounts/" + n + "/invoices/" + inv.Number
			status, page := p.get(path)
			if status != 200 {
				t.Fatalf("%s: %d", path, status)
			}
			for _, s := range []string{`dir="auto">` + names["company"], `dir="auto">` + names["line2"], `dir="auto">` + names["line1"]} {
				if !strings.Contains(page, s) {
					t.Errorf("%s lacks %s", path, s)
				}
			}
			resp, err := p.client.Get(p.base + path + "/pdf")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(string(raw), "%PDF-") {
				t.Fatalf("%s/pdf: %d %q", path, resp.StatusCode, raw[:min(len(raw), 40)])
			}
			file := filepath.Join(t.TempDir(), "statement.pdf")
			if err := os.WriteFile(file, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(context.Background(), tool, file, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			read := norm.NFKC.String(string(out))
			for field, s := range names {
				switch field {
				case "company":
					s = "山田商事" // the emoji is drawn as a picture, which has no text
				case "line1":
					s = "חברת שלום" // pdftotext puts the number of a right-to-left line where it sees it
				}
				if !strings.Contains(read, s) && !strings.Contains(read, reverseRunes(s)) {
					t.Errorf("%s: pdftotext does not find the %s %q in:\n%s", inv.Number, field, s, out)
				}
			}
		}
	})
}

func reverseRunes(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
