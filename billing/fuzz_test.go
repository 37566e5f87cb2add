package billing_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kore-billing/korebill/billing"
)

// Fuzz targets for the decoders of outside input in billing; `go test
// -fuzz` runs one, and every plain `go test` runs their seeds and the
// committed corpus in testdata/fuzz.

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-01-31", "2024-02-29", "2025-02-29", "0000-01-01", "9999-12-31", "2026-1-1", "2026-01-31T00:00:00Z", "+2026-01-01", "２０２６-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := billing.ParseDate(s)
		if err != nil {
			return
		}
		if !d.Valid() {
			t.Fatalf("ParseDate(%q) = %v, not a valid date", s, d)
		}
		again, err := billing.ParseDate(d.String())
		if err != nil || again != d {
			t.Fatalf("%q → %v → %q → %v, %v", s, d, d.String(), again, err)
		}
	})
}

func FuzzLoadLocation(f *testing.F) {
	for _, s := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Local", "", "../../etc/passwd", "Europe/../UTC", "EST5EDT", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		loc, err := billing.LoadLocation(name)
		if err != nil {
			return
		}
		if loc == nil || loc == time.Local && name != "UTC" {
			t.Fatalf("LoadLocation(%q) = %v", name, loc)
		}
		if strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
			t.Fatalf("LoadLocation(%q) accepted a path", name)
		}
	})
}

func FuzzMoneyDecimal(f *testing.F) {
	for _, c := range []struct {
		n   int64
		cur string
	}{{0, "USD"}, {-2500, "USD"}, {1, "JPY"}, {-9223372036854775808, "USD"}, {9223372036854775807, "BHD"}, {105, "EUR"}} {
		f.Add(c.n, c.cur)
	}
	f.Fuzz(func(t *testing.T, n int64, cur string) {
		digits, err := billing.MinorUnits(cur)
		if err != nil {
			return
		}
		m := billing.NewMoney(n, cur)
		dec := m.Decimal()
		_ = m.String()
		whole, frac, _ := strings.Cut(strings.TrimPrefix(dec, "-"), ".")
		if len(frac) != digits || whole == "" || (n < 0) != strings.HasPrefix(dec, "-") {
			t.Fatalf("%d %s → %q", n, cur, dec)
		}
	})
}

func FuzzBillingProfileValidate(f *testing.F) {
	for _, c := range [][4]string{{"(415) 555-0132", "US", "1 Market St", "billing@acme.example.com"}, {"+44 20 7946 0958", "GB", "10 Downing St", "a@b.co"},
		{"+1 ext. 5", "US", "x", "x@y"}, {"0800 \u202e123", "DE", "Straße 1\x00", "é@é.de"}, {"", "ZZ", "", ""}} {
		f.Add(c[0], c[1], c[2], c[3])
	}
	f.Fuzz(func(t *testing.T, phone, country, line1, email string) {
		p := billing.BillingProfile{CompanyName: "Acme", ContactName: "Ada", Phone: phone, Email: email,
			Address: billing.Address{Line1: line1, City: "City", Country: country}}
		if err := p.Validate(); err != nil {
			return
		}
		if !strings.HasPrefix(p.Phone, "+") || strings.ContainsAny(p.Phone, " ()-") {
			t.Fatalf("phone %q stored as %q, not E.164", phone, p.Phone)
		}
		again := p
		if err := again.Validate(); err != nil || again.Phone != p.Phone || again.Email != p.Email {
			t.Fatalf("validating %+v again: %+v, %v", p, again, err)
		}
	})
}

func FuzzValidText(f *testing.F) {
	for _, s := range []string{"Acme Corp", "a\x00b", "line\nbreak", "\x1b[31mred", "caf\xe9", "\u0085", "tab\there", "emoji 😀"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		_, ok := billing.ValidText(s, multiline)
		if !ok {
			return
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || strings.ContainsRune(s, 0x1b) || strings.ContainsRune(s, 0x7f) {
			t.Fatalf("ValidText accepted %q", s)
		}
		if !multiline && strings.ContainsAny(s, "\n\r\t") {
			t.Fatalf("ValidText accepted a line break in a single-line field: %q", s)
		}
	})
}

// A text cell of a CSV export reads back as written, and never as a
// formula.
func FuzzSpreadsheetText(f *testing.F) {
	for _, s := range []string{"Premium — 3 users", "=HYPERLINK(\"http://evil\")", "+1", "-2+3", "@SUM(A1)", "\tx", "a,b\"c\nd", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		cell := billing.SpreadsheetText(s)
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Fatalf("%q exported as %q, a formula", s, cell)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{cell, "x"})
		w.Flush()
		rec, err := csv.NewReader(&buf).Read()
		want := strings.ReplaceAll(cell, "\r\n", "\n") // encoding/csv reads \r\n inside a field as \n
		if err != nil || len(rec) != 2 || (rec[0] != want && rec[0] != strings.ReplaceAll(want, "\r", "\n")) {
			t.Fatalf("%q → %q → %q, %v", s, cell, rec, err)
		}
	})
}
