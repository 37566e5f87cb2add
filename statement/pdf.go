package statement

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
)

// The PDF's layout, in millimetres.
const (
	margin     = 15.0
	footerGap  = 20.0 // from the page's foot to the last row
	lineHeight = 5.0
	rowPad     = 1.5 // above and below a line row's text
)

// Colours as RGB: ink and muted text meet AA contrast on white like the
// console's.
var (
	ink   = [3]int{27, 36, 48}
	muted = [3]int{79, 91, 105}
	rule  = [3]int{213, 219, 227}
	brand = [3]int{22, 50, 92}
	wash  = [3]int{238, 241, 245}
)

// badge colours (text, fill) by status.
var badges = map[string][2][3]int{
	"paid":          {{20, 108, 67}, {231, 245, 238}},
	"open":          {{138, 83, 0}, {255, 244, 224}},
	"uncollectible": {{180, 35, 24}, {253, 236, 234}},
}

// PDF writes the statement as a PDF: Letter for a US billing address, A4
// otherwise; the same content in the same order as HTML. Text is set in the
// Go fonts and, for what they lack, the fallback fonts of fonts.go, embedded
// as subsets of the characters used; right-to-left text is reordered and
// Arabic joined (bidi.go, arabic.go). The same Data always gives the same
// bytes: the creation date is the issue date.
func PDF(w io.Writer, d Data) error {
	fx, err := fonts()
	if err != nil {
		return err
	}
	size := "A4"
	if d.Letter {
		size = "Letter"
	}
	pdf := fpdf.New("P", "mm", size, "")
	r := &pdfRenderer{pdf: pdf, d: d, fx: fx, added: map[string]bool{}}
	r.setup()
	r.firstPageHeader()
	r.parties()
	r.lines()
	r.breakdown()
	if r.err != nil {
		return fmt.Errorf("statement pdf: %w", r.err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("statement pdf: %w", err)
	}
	return nil
}

type pdfRenderer struct {
	pdf *fpdf.Fpdf
	d   Data
	// width of the printable area and the lowest y a row may reach.
	width, limit float64
	// inTable makes a new page repeat the lines table's column headers.
	inTable bool

	fx    *fontIndex
	added map[string]bool // the fpdf fonts added to this document
	// the current style, size (pt) and colour, for every face.
	style string
	size  float64
	color [3]int
	err   error // the first error drawing a glyph picture
}

func (r *pdfRenderer) setup() {
	pdf, d := r.pdf, r.d
	pdf.SetCreationDate(d.Issued)
	pdf.SetModificationDate(d.Issued)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetTitle(d.Title+" "+d.Number, true)
	pdf.SetAuthor("Kore Billing", true)
	pdf.SetCreator("Kore Billing", true)
	pdf.SetLang("en")
	pdf.SetMargins(margin, margin, margin)
	// Rows are placed by hand, each whole on one page; the automatic break
	// is only the last resort for a single row taller than a page.
	pdf.SetAutoPageBreak(true, footerGap-5)
	pdf.AliasNbPages("{nb}")
	pageW, pageH := pdf.GetPageSize()
	r.width = pageW - 2*margin
	r.limit = pageH - footerGap
	pdf.SetHeaderFunc(r.continuedHeader)
	pdf.SetFooterFunc(r.footer)
	pdf.AddPage()
}

func (r *pdfRenderer) font(style string, size float64, c [3]int) {
	r.style, r.size, r.color = style, size, c
	r.useFace(0)
	r.pdf.SetTextColor(c[0], c[1], c[2])
}

// keepFont returns a function that restores the current style, size and
// colour: the header and footer run inside fpdf's page break.
func (r *pdfRenderer) keepFont() func() {
	style, size, c := r.style, r.size, r.color
	return func() {
		if size > 0 {
			r.font(style, size, c)
		}
	}
}

// useFace sets the current style and size in face i, adding the font to the
// document the first time it is used: a Latin-only statement embeds the Go
// fonts alone.
func (r *pdfRenderer) useFace(i int) {
	f := r.fx.faces[i]
	if key := f.family + r.style; !r.added[key] {
		data := f.regular
		if r.style == "B" {
			data = f.bold
		}
		r.pdf.AddUTF8FontFromBytes(f.family, r.style, data)
		r.added[key] = true
	}
	r.pdf.SetFont(f.family, r.style, r.size)
}

// line prepares one line of text for drawing: Arabic joined, the line in
// visual order, split into runs of one font.
func (r *pdfRenderer) line(s string) []segment {
	return r.fx.segments(visual(shapeArabic(s)))
}

// emSize is the current font size in millimetres.
func (r *pdfRenderer) emSize() float64 {
	_, mm := r.pdf.GetFontSize()
	return mm
}

// textWidth is the width of a prepared line in the current style and size.
func (r *pdfRenderer) textWidth(segs []segment) float64 {
	w := 0.0
	for _, s := range segs {
		if s.image {
			if g := r.glyph(s); g != nil {
				w += g.advance * r.emSize()
			}
			continue
		}
		r.useFace(s.face)
		w += r.pdf.GetStringWidth(s.text)
	}
	r.useFace(0)
	return w
}

func (r *pdfRenderer) glyph(s segment) *glyphImage {
	g, err := r.fx.glyphPicture(s.face, []rune(s.text)[0], r.color)
	if err != nil && r.err == nil {
		r.err = err
	}
	return g
}

// cell draws s in a cell of width w (0: to the right margin) and height h
// as fpdf's CellFormat does — aligned L, C or R, filled with the fill
// colour if fill — and moves as its ln says: 0 to the right, 1 to the
// start of the next line, 2 below.
func (r *pdfRenderer) cell(w, h float64, s string, ln int, align string, fill bool) {
	pdf := r.pdf
	x0, y0 := pdf.GetXY()
	if w == 0 {
		pageW, _ := pdf.GetPageSize()
		_, _, right, _ := pdf.GetMargins()
		w = pageW - right - x0
	}
	if fill {
		pdf.Rect(x0, y0, w, h, "F")
	}
	segs := r.line(s)
	tw := r.textWidth(segs)
	cm := pdf.GetCellMargin()
	x := x0 + cm
	switch align {
	case "R":
		x = x0 + w - cm - tw
	case "C":
		x = x0 + (w-tw)/2
	}
	pdf.SetCellMargin(0)
	for _, sg := range segs {
		if sg.image {
			g := r.glyph(sg)
			if g == nil {
				continue
			}
			em := r.emSize()
			// fpdf puts a cell's baseline at y + h/2 + 0.3 em.
			baseline := y0 + h/2 + 0.3*em
			if pdf.GetImageInfo(g.name) == nil {
				pdf.RegisterImageOptionsReader(g.name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(g.png))
			}
			pdf.ImageOptions(g.name, x, baseline-g.ascent*em, g.advance*em, (g.ascent+g.descent)*em, false,
				fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
			x += g.advance * em
			continue
		}
		r.useFace(sg.face)
		sw := pdf.GetStringWidth(sg.text)
		pdf.SetXY(x, y0)
		pdf.CellFormat(sw, h, sg.text, "", 0, "L", false, 0, "")
		x += sw
	}
	pdf.SetCellMargin(cm)
	r.useFace(0)
	switch ln {
	case 1:
		left, _, _, _ := pdf.GetMargins()
		pdf.SetXY(left, y0+h)
	case 2:
		pdf.SetXY(x0, y0+h)
	default:
		pdf.SetXY(x0+w, y0)
	}
}

// multiCell draws s wrapped to width w, a line of height h each, from the
// current position, and leaves the position at the left margin under it,
// as fpdf's MultiCell does.
func (r *pdfRenderer) multiCell(w, h float64, s string) {
	pdf := r.pdf
	x0 := pdf.GetX()
	for _, l := range r.wrap(s, w-2*pdf.GetCellMargin()) {
		pdf.SetX(x0)
		r.cell(w, h, l, 2, "L", false)
	}
	left, _, _, _ := pdf.GetMargins()
	pdf.SetX(left)
}

// wrap splits s into lines no wider than w in the current style: at
// spaces, between CJK characters (which take none), and inside a word only
// when the word alone is wider than a line. The lines stay in logical
// order (cell reorders each).
func (r *pdfRenderer) wrap(s string, w float64) []string {
	s = shapeArabic(s)
	var tokens []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			tokens = append(tokens, string(cur))
			cur = cur[:0]
		}
	}
	for _, c := range s {
		switch {
		case unicode.IsSpace(c):
			flush()
			tokens = append(tokens, " ")
		case unicode.In(c, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			flush()
			tokens = append(tokens, string(c))
		default:
			cur = append(cur, c)
		}
	}
	flush()
	width := func(t string) float64 { return r.textWidth(r.fx.segments(t)) }
	var lines []string
	line := ""
	for _, t := range tokens {
		if line == "" && t == " " {
			continue
		}
		if width(line+t) <= w {
			line += t
			continue
		}
		if line != "" {
			lines = append(lines, strings.TrimRight(line, " "))
			line = ""
			if t == " " {
				continue
			}
		}
		// A word wider than a line is cut where it must be.
		for _, c := range t {
			if line != "" && width(line+string(c)) > w {
				lines = append(lines, line)
				line = ""
			}
			line += string(c)
		}
	}
	if line = strings.TrimRight(line, " "); line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// firstPageHeader: "Kore Billing" on the left; the title, the number and
// the status badge on the right.
func (r *pdfRenderer) firstPageHeader() {
	pdf, d := r.pdf, r.d
	top := pdf.GetY()
	r.font("B", 18, brand)
	r.cell(r.width/2, 9, "Kore Billing", 0, "L", false)
	r.font("B", 18, ink)
	r.cell(r.width/2, 9, d.Title, 1, "R", false)
	r.font("", 11, muted)
	r.cell(0, 6, d.Number, 1, "R", false)
	r.badge(d.Status, string(d.State))
	y := max(pdf.GetY(), top+24) + 2
	r.hrule(y, ink, 0.5)
	pdf.SetY(y + 5)
}

// badge draws the status in a rounded box at the right margin.
func (r *pdfRenderer) badge(text, state string) {
	pdf := r.pdf
	c, ok := badges[state]
	if !ok {
		c = [2][3]int{muted, {236, 239, 243}}
	}
	r.font("B", 9, c[0])
	w := r.textWidth(r.line(text)) + 6
	x, y := margin+r.width-w, pdf.GetY()+1
	pdf.SetFillColor(c[1][0], c[1][1], c[1][2])
	pdf.SetDrawColor(c[0][0], c[0][1], c[0][2])
	pdf.SetLineWidth(0.25)
	pdf.RoundedRect(x, y, w, 5.5, 2.5, "1234", "FD")
	pdf.SetXY(x, y)
	r.cell(w, 5.5, text, 1, "C", false)
}

func (r *pdfRenderer) hrule(y float64, c [3]int, width float64) {
	r.pdf.SetDrawColor(c[0], c[1], c[2])
	r.pdf.SetLineWidth(width)
	r.pdf.Line(margin, y, margin+r.width, y)
}

// parties: the Billed To block on the left, the key/value details on the
// right, side by side.
func (r *pdfRenderer) parties() {
	pdf, d := r.pdf, r.d
	top := pdf.GetY()
	colW := r.width/2 - 5

	// Billed To.
	r.sectionLabel(margin, top, colW, "Billed To")
	b := d.BilledTo
	var rows []struct {
		text string
		bold bool
	}
	add := func(s string, bold bool) {
		if s != "" {
			rows = append(rows, struct {
				text string
				bold bool
			}{s, bold})
		}
	}
	add(b.Company, true)
	add(b.Contact, false)
	for _, l := range b.Address {
		add(l, false)
	}
	add(b.Email, false)
	add(b.Phone, false)
	if b.TaxID != "" {
		add("Tax ID: "+b.TaxID, false)
	}
	for _, row := range rows {
		style := ""
		if row.bold {
			style = "B"
		}
		r.font(style, 10, ink)
		pdf.SetX(margin)
		r.multiCell(colW, lineHeight, row.text)
	}
	leftEnd := pdf.GetY()

	// Details.
	x := margin + r.width/2 + 5
	valueW := margin + r.width - x
	labelW := 32.0
	r.sectionLabel(x, top, valueW, "Details")
	numberLabel := "Invoice number"
	if d.Title == "Credit note" {
		numberLabel = "Credit note number"
	}
	for _, kv := range [][2]string{
		{numberLabel, d.Number},
		{"Issue date", d.IssueDate},
		{"Due date", d.DueDate},
		{"Payment type", d.PaymentType},
		{"Payment method", d.PaymentMethod},
		{"Account ID", d.AccountID},
		{"Account type", d.AccountType},
		{"Service period", d.ServicePeriod},
	} {
		if kv[1] == "" {
			continue
		}
		y := pdf.GetY()
		pdf.SetXY(x, y)
		r.font("", 9.5, muted)
		r.cell(labelW, lineHeight, kv[0], 0, "L", false)
		r.font("", 9.5, ink)
		r.multiCell(valueW-labelW, lineHeight, kv[1])
	}
	pdf.SetY(max(leftEnd, pdf.GetY()) + 8)
}

// sectionLabel writes a small muted heading at (x, y) and leaves the
// position under it.
func (r *pdfRenderer) sectionLabel(x, y, w float64, text string) {
	r.pdf.SetXY(x, y)
	r.font("B", 8.5, muted)
	r.cell(w, 5, text, 2, "L", false)
	r.pdf.Ln(1)
}

// columns of the lines table: widths and alignments; the description takes
// what the others leave.
func (r *pdfRenderer) columns() ([]float64, []string) {
	users, days, unit, amount := 16.0, 32.0, 28.0, 30.0
	return []float64{r.width - users - days - unit - amount, users, days, unit, amount},
		[]string{"L", "C", "L", "R", "R"}
}

var columnHeaders = []string{"Description", "Users", "Days", "Unit price", "Amount"}

func (r *pdfRenderer) tableHeader() {
	pdf := r.pdf
	widths, aligns := r.columns()
	r.font("B", 8.5, muted)
	pdf.SetFillColor(wash[0], wash[1], wash[2])
	pdf.SetX(margin)
	for i, h := range columnHeaders {
		r.cell(widths[i], 7, h, 0, aligns[i], true)
	}
	pdf.Ln(7)
	r.hrule(pdf.GetY(), rule, 0.3)
}

// lines draws the transactions, a row never split over two pages; a new
// page repeats the column headers.
func (r *pdfRenderer) lines() {
	pdf, d := r.pdf, r.d
	r.font("B", 11, ink)
	r.cell(0, 7, "Transactions", 1, "L", false)
	r.tableHeader()
	r.inTable = true
	defer func() { r.inTable = false }()
	widths, aligns := r.columns()
	if len(d.Lines) == 0 {
		r.font("", 9.5, muted)
		r.cell(0, lineHeight+2*rowPad, "No transactions.", 1, "L", false)
	}
	for _, l := range d.Lines {
		r.font("", 9.5, ink)
		desc := r.wrap(l.Description, widths[0]-2*pdf.GetCellMargin())
		if len(desc) == 0 {
			desc = []string{""}
		}
		h := float64(len(desc))*lineHeight + 2*rowPad
		if pdf.GetY()+h > r.limit {
			pdf.AddPage() // the header function repeats the column headers
		}
		y := pdf.GetY()
		for i, s := range desc {
			pdf.SetXY(margin, y+rowPad+float64(i)*lineHeight)
			r.cell(widths[0], lineHeight, s, 0, "L", false)
		}
		x := margin + widths[0]
		for i, s := range []string{l.Users, l.Days, l.UnitPrice, l.Amount} {
			pdf.SetXY(x, y+rowPad)
			r.cell(widths[i+1], lineHeight, s, 0, aligns[i+1], false)
			x += widths[i+1]
		}
		pdf.SetY(y + h)
		r.hrule(y+h, rule, 0.2)
	}
}

// breakdown: the totals, right-aligned under the table, kept together.
func (r *pdfRenderer) breakdown() {
	pdf, d := r.pdf, r.d
	rows := [][2]string{
		{"Subtotal", d.Subtotal},
		{"Discount credits", d.Credits},
		{d.TaxLabel, d.Tax},
		{"Total", d.Total},
		{"Amount paid", d.AmountPaid},
		{"Amount due", d.AmountDue},
	}
	if d.CreditBalance != "" {
		rows = append(rows, [2]string{"Discount credits balance", d.CreditBalance})
	}
	const rowH = 6.5
	if pdf.GetY()+6+float64(len(rows))*rowH > r.limit {
		pdf.AddPage()
	}
	pdf.Ln(6)
	labelW, valueW := 62.0, 36.0
	x := margin + r.width - labelW - valueW
	for _, row := range rows {
		bold := row[0] == "Total" || row[0] == "Amount due"
		if bold {
			r.pdf.SetDrawColor(ink[0], ink[1], ink[2])
			r.pdf.SetLineWidth(0.4)
			r.pdf.Line(x, pdf.GetY(), x+labelW+valueW, pdf.GetY())
		}
		style := ""
		if bold {
			style = "B"
		}
		pdf.SetX(x)
		r.font(style, 10, muted)
		if bold {
			r.font(style, 10, ink)
		}
		r.cell(labelW, rowH, row[0], 0, "L", false)
		r.font(style, 10, ink)
		r.cell(valueW, rowH, row[1], 1, "R", false)
	}
}

// continuedHeader starts every page after the first with what it continues
// and, inside the table, its column headers again.
func (r *pdfRenderer) continuedHeader() {
	pdf, d := r.pdf, r.d
	if pdf.PageNo() == 1 {
		return
	}
	defer r.keepFont()()
	r.font("B", 10, brand)
	r.cell(r.width/2, 6, "Kore Billing", 0, "L", false)
	r.font("", 10, muted)
	r.cell(r.width/2, 6, d.Title+" "+d.Number+" (continued)", 1, "R", false)
	r.hrule(pdf.GetY()+1, rule, 0.3)
	pdf.SetY(pdf.GetY() + 5)
	if r.inTable {
		r.tableHeader()
	}
}

// footer prints "Page N of M" and the statement's number on every page.
func (r *pdfRenderer) footer() {
	pdf, d := r.pdf, r.d
	defer r.keepFont()()
	pdf.SetY(-12)
	r.font("", 8, muted)
	r.cell(r.width/2, 5, "Kore Billing · "+d.Title+" "+d.Number, 0, "L", false)
	// Left-aligned in a box at the right: the width of "{nb}" is not the
	// width of the count that replaces it.
	page := fmt.Sprintf("Page %d of {nb}", pdf.PageNo())
	w := pdf.GetStringWidth(fmt.Sprintf("Page %d of %d", pdf.PageNo(), pdf.PageNo()))
	pdf.SetX(margin + r.width - w - 1)
	r.cell(w+1, 5, page, 0, "L", false)
}
