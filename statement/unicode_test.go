package statement_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/statement"
)

// Every script a billing profile accepts, and an emoji, by the field that
// holds it.
var scripts = map[string]string{
	"latin":    "Zoë Łukasiewicz-Nguyễn",
	"greek":    "Αθηνά Παπαδοπούλου",
	"cyrillic": "Ольга Смирнова",
	"cjk":      "山田商事株式会社",
	"korean":   "김민준",
	"hebrew":   "חברת שלום",
	"arabic":   "شركة السلام",
}

// unicodeInvoice is billed to a profile written in every script: a
// company with an emoji, contacts and an address in Greek, Cyrillic,
// Chinese, Korean, Hebrew and Arabic, and a character no font has.
func unicodeInvoice(t *testing.T) (*billing.Invoice, *billing.Account) {
	inv, a := changeInvoice(t)
	inv.BilledTo = billing.BilledTo{
		CompanyName: "Acme 🚀 " + scripts["cjk"],
		ContactName: scripts["latin"] + " / " + scripts["greek"],
		Address: billing.Address{Line1: scripts["hebrew"] + " 12", Line2: scripts["arabic"], City: scripts["cyrillic"],
			Region: scripts["korean"], PostalCode: "10117 \uE000", Country: "DE"},
		Email: "billing@acme.example.com",
	}
	inv.Lines[1].Description = "Premium — " + scripts["arabic"] + " (8 users) ❤"
	return inv, a
}

// TestStatement_EveryScriptAndEmojiPrint: the PDF of a profile in every
// script is made, not refused; pdftotext reads back the Latin, Greek,
// Cyrillic, CJK and Hebrew names and, joined letters undone, the Arabic;
// the emoji and the character no font has are drawn, the fonts embedded
// (fpdf subsets them: the file stays small).
func TestStatement_EveryScriptAndEmojiPrint(t *testing.T) {
	inv, a := unicodeInvoice(t)
	data := statement.New(inv, a, statement.Options{})
	var p bytes.Buffer
	if err := statement.PDF(&p, data); err != nil {
		t.Fatalf("PDF: %v", err)
	}
	if p.Len() > 150_000 {
		t.Errorf("the PDF is %d bytes: are its fonts subset?", p.Len())
	}
	t.Logf("PDF of every script: %d bytes", p.Len())
	text, _ := pdfToText(t, p.Bytes())
	plain := norm.NFKC.String(text) // Arabic presentation forms back to letters
	for name, s := range scripts {
		if !strings.Contains(plain, s) && !strings.Contains(plain, reversed(s)) {
			t.Errorf("pdftotext does not find the %s %q in:\n%s", name, s, text)
		}
	}
	for _, s := range []string{"Acme", "10117 \uFFFD", "Premium — "} {
		if !strings.Contains(text, s) {
			t.Errorf("pdftotext does not find %q", s)
		}
	}
	fonts := pdfFonts(t, p.Bytes())
	for _, f := range []string{"Go", "NotoSans", "NotoSansArabic", "NotoSansHebrew", "DroidSansFallback", "Symbola"} {
		if !strings.Contains(fonts, "utf8"+strings.ToLower(f)+" ") && !strings.Contains(fonts, "utf8"+strings.ToLower(f)+"B ") {
			t.Errorf("font %s is not embedded:\n%s", f, fonts)
		}
	}
	if !bytes.Contains(p.Bytes(), []byte("/Subtype /Image")) {
		t.Error("the emoji 🚀 (beyond U+FFFF) is not drawn")
	}

	// The HTML lets the browser order each name by its own direction.
	var h bytes.Buffer
	if err := statement.HTML(&h, data); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`<span dir="auto">` + scripts["arabic"] + `</span>`, `<span dir="auto">` + scripts["hebrew"] + ` 12</span>`,
		`<span class="statement-company" dir="auto">Acme 🚀 ` + scripts["cjk"]} {
		if !strings.Contains(h.String(), s) {
			t.Errorf("HTML lacks %s", s)
		}
	}
	if dir := os.Getenv("KOREBILL_STATEMENT_OUT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "every-script.pdf"), p.Bytes(), 0o644)
	}
}

// TestStatement_LatinOnlyEmbedsOnlyTheGoFonts: a statement in Latin script
// carries no fallback font, so it is as small as before.
func TestStatement_LatinOnlyEmbedsOnlyTheGoFonts(t *testing.T) {
	inv, a := changeInvoice(t)
	var p bytes.Buffer
	if err := statement.PDF(&p, statement.New(inv, a, statement.Options{})); err != nil {
		t.Fatal(err)
	}
	fonts := pdfFonts(t, p.Bytes())
	for _, f := range []string{"noto", "droid", "symbola"} {
		if strings.Contains(fonts, f) {
			t.Errorf("a Latin statement embeds %s:\n%s", f, fonts)
		}
	}
	t.Logf("PDF in Latin: %d bytes", p.Len())
}

func reversed(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func pdfFonts(t *testing.T, pdf []byte) string {
	t.Helper()
	tool := needPoppler(t, "pdffonts")
	file := filepath.Join(t.TempDir(), "statement.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, file).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	return string(out)
}

// BenchmarkPDF_EveryScript and BenchmarkPDF_Latin: the time to render one
// statement (the fonts are read once per process, fpdf parses those a
// statement uses).
func BenchmarkPDF_EveryScript(b *testing.B) { benchmarkPDF(b, unicodeInvoice) }
func BenchmarkPDF_Latin(b *testing.B)       { benchmarkPDF(b, changeInvoice) }

func benchmarkPDF(b *testing.B, build func(t *testing.T) (*billing.Invoice, *billing.Account)) {
	inv, a := build(&testing.T{})
	data := statement.New(inv, a, statement.Options{})
	for b.Loop() {
		var p bytes.Buffer
		if err := statement.PDF(&p, data); err != nil {
			b.Fatal(err)
		}
	}
}
