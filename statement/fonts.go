package statement

import (
	"bytes"
	"embed"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"
	"unicode"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// A statement prints whatever a billing profile accepts: Latin with its
// accents, Greek, Cyrillic, Chinese, Japanese and Korean, Arabic and
// Hebrew, emoji. No one font covers that, so each character is set in the
// first of these fonts that has it (fonts/README.md names each and its
// licence); a character none has is drawn as U+FFFD "�", never an error.
// All are TrueType fonts with glyf outlines, which fpdf embeds as subsets
// of the characters used.
//
//go:embed fonts/*.ttf
var fontFiles embed.FS

// faceSpec names an embedded font: the fpdf family and the files of its
// regular and bold styles (a font without bold uses its regular for both).
type faceSpec struct {
	family, regular, bold string
	goRegular, goBold     []byte // the Go fonts, from their own module
}

var faceSpecs = []faceSpec{
	{family: "Go", goRegular: goregular.TTF, goBold: gobold.TTF},
	{family: "NotoSans", regular: "NotoSans-Regular.ttf", bold: "NotoSans-Bold.ttf"},
	{family: "NotoSansArabic", regular: "NotoSansArabic-Regular.ttf", bold: "NotoSansArabic-Bold.ttf"},
	{family: "NotoSansHebrew", regular: "NotoSansHebrew-Regular.ttf", bold: "NotoSansHebrew-Bold.ttf"},
	{family: "DroidSansFallback", regular: "DroidSansFallbackFull.ttf"},
	{family: "NanumGothic", regular: "NanumGothic.ttf"}, // Hangul, which Droid lacks
	{family: "Symbola", regular: "Symbola.ttf"},
}

// face is a loaded font: its bytes for fpdf and its parsed outlines and
// character map for choosing and measuring.
type face struct {
	family        string
	regular, bold []byte
	font          *sfnt.Font // the regular style's
}

// replacement is drawn for a character that no font has.
const replacement = '\uFFFD'

// loadFaces reads and parses the fonts once per process.
var loadFaces = sync.OnceValues(func() ([]*face, error) {
	faces := make([]*face, 0, len(faceSpecs))
	for _, s := range faceSpecs {
		f := &face{family: s.family, regular: s.goRegular, bold: s.goBold}
		if f.regular == nil {
			var err error
			if f.regular, err = fontFiles.ReadFile("fonts/" + s.regular); err != nil {
				return nil, fmt.Errorf("statement font %s: %w", s.regular, err)
			}
			f.bold = f.regular
			if s.bold != "" {
				if f.bold, err = fontFiles.ReadFile("fonts/" + s.bold); err != nil {
					return nil, fmt.Errorf("statement font %s: %w", s.bold, err)
				}
			}
		}
		parsed, err := sfnt.Parse(f.regular)
		if err != nil {
			return nil, fmt.Errorf("statement font %s: %w", s.family, err)
		}
		f.font = parsed
		faces = append(faces, f)
	}
	return faces, nil
})

// fontIndex chooses, for each character, the first face that has its
// glyph; the choices are kept for the process.
type fontIndex struct {
	faces []*face
	mu    sync.Mutex
	cache map[rune]int // -1: no face has it
}

var fonts = sync.OnceValues(func() (*fontIndex, error) {
	faces, err := loadFaces()
	if err != nil {
		return nil, err
	}
	return &fontIndex{faces: faces, cache: map[rune]int{}}, nil
})

// faceOf returns the index of the first face with r's glyph, or -1.
func (x *fontIndex) faceOf(r rune) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, ok := x.cache[r]; ok {
		return i
	}
	var buf sfnt.Buffer
	found := -1
	for i, f := range x.faces {
		if g, err := f.font.GlyphIndex(&buf, r); err == nil && g != 0 {
			found = i
			break
		}
	}
	x.cache[r] = found
	return found
}

// invisible characters are dropped rather than drawn: joiners, variation
// selectors (the emoji presentation selector U+FE0F), direction marks.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) || unicode.IsControl(r)
}

// segment is a piece of a visual line set in one face. A character beyond
// U+FFFF (most emoji) is a segment of its own, drawn as a picture of its
// glyph: fpdf maps only the Basic Multilingual Plane (a font's format 4
// character map).
type segment struct {
	face  int
	text  string
	image bool
}

// segments splits a visual line into runs of one face each.
func (x *fontIndex) segments(s string) []segment {
	var out []segment
	for _, r := range s {
		if invisible(r) {
			continue
		}
		if unicode.IsSpace(r) {
			r = ' '
		}
		i := x.faceOf(r)
		if i < 0 {
			r, i = replacement, x.faceOf(replacement)
		}
		if r > 0xFFFF {
			out = append(out, segment{face: i, text: string(r), image: true})
			continue
		}
		// A space goes with the text around it.
		if n := len(out); n > 0 && !out[n-1].image && (out[n-1].face == i || r == ' ') {
			out[n-1].text += string(r)
			continue
		}
		out = append(out, segment{face: i, text: string(r)})
	}
	return out
}

// glyphImage is a character's glyph drawn as a PNG, in colour c, with the
// advance and the ascent and descent of its font (in ems) to place it.
type glyphImage struct {
	name                     string
	png                      []byte
	advance, ascent, descent float64
}

// glyphPixelsPerEm is the resolution of a glyph drawn as a picture: 96
// pixels per em is 600 dpi at 11 pt.
const glyphPixelsPerEm = 96

var glyphImages sync.Map // "face/rune/rgb" → *glyphImage

// glyphPicture draws r from face f in colour c, once per process.
func (x *fontIndex) glyphPicture(fi int, r rune, c [3]int) (*glyphImage, error) {
	key := fmt.Sprintf("glyph-%d-%X-%02x%02x%02x", fi, r, c[0], c[1], c[2])
	if g, ok := glyphImages.Load(key); ok {
		return g.(*glyphImage), nil
	}
	f := x.faces[fi].font
	var buf sfnt.Buffer
	ppem := fixed.I(glyphPixelsPerEm)
	gi, err := f.GlyphIndex(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("statement glyph %U: %w", r, err)
	}
	adv, err := f.GlyphAdvance(&buf, gi, ppem, 0)
	if err != nil {
		return nil, fmt.Errorf("statement glyph %U: %w", r, err)
	}
	m, err := f.Metrics(&buf, ppem, 0)
	if err != nil {
		return nil, fmt.Errorf("statement glyph %U: %w", r, err)
	}
	segs, err := f.LoadGlyph(&buf, gi, ppem, nil)
	if err != nil {
		return nil, fmt.Errorf("statement glyph %U: %w", r, err)
	}
	w, h := max(adv.Ceil(), 1), max((m.Ascent+m.Descent).Ceil(), 1)
	asc := float32(m.Ascent.Ceil())
	z := vector.NewRasterizer(w, h)
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32(p.X) / 64, float32(p.Y)/64 + asc
	}
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			z.MoveTo(pt(s.Args[0]))
		case sfnt.SegmentOpLineTo:
			z.LineTo(pt(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			z.QuadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			x3, y3 := pt(s.Args[2])
			z.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	z.ClosePath()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	ink := image.NewUniform(color.NRGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), 255})
	z.Draw(img, img.Bounds(), ink, image.Point{})
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		return nil, fmt.Errorf("statement glyph %U: %w", r, err)
	}
	g := &glyphImage{name: key, png: out.Bytes(), advance: float64(w) / glyphPixelsPerEm,
		ascent: float64(asc) / glyphPixelsPerEm, descent: float64(h)/glyphPixelsPerEm - float64(asc)/glyphPixelsPerEm}
	actual, _ := glyphImages.LoadOrStore(key, g)
	return actual.(*glyphImage), nil
}
