package statement

import "unicode"

// Arabic letters change shape with their neighbours: isolated, final,
// initial, medial. fpdf draws one glyph per character and does no shaping,
// so shapeArabic replaces each letter by its contextual form from the
// Arabic Presentation Forms blocks (U+FB50–U+FDFF, U+FE70–U+FEFF), which
// the embedded Noto Sans Arabic maps, and lām followed by alif by their
// ligature. It works on logical order, before the line is reordered for
// display.

// arabicForm is a letter's presentation forms: isolated, final, initial,
// medial (0 when the letter joins only to the letter before it).
type arabicForm [4]rune

// dual gives the four forms of a letter that joins on both sides, whose
// forms follow one another from base; right the two of a letter that joins
// only to the letter before it.
func dual(base rune) arabicForm  { return arabicForm{base, base + 1, base + 2, base + 3} }
func right(base rune) arabicForm { return arabicForm{base, base + 1, 0, 0} }

var arabicForms = map[rune]arabicForm{
	0x0621: {0xFE80, 0, 0, 0}, // hamza: joins nothing
	0x0622: right(0xFE81), 0x0623: right(0xFE83), 0x0624: right(0xFE85), 0x0625: right(0xFE87),
	0x0626: dual(0xFE89), 0x0627: right(0xFE8D), 0x0628: dual(0xFE8F), 0x0629: right(0xFE93),
	0x062A: dual(0xFE95), 0x062B: dual(0xFE99), 0x062C: dual(0xFE9D), 0x062D: dual(0xFEA1),
	0x062E: dual(0xFEA5), 0x062F: right(0xFEA9), 0x0630: right(0xFEAB), 0x0631: right(0xFEAD),
	0x0632: right(0xFEAF), 0x0633: dual(0xFEB1), 0x0634: dual(0xFEB5), 0x0635: dual(0xFEB9),
	0x0636: dual(0xFEBD), 0x0637: dual(0xFEC1), 0x0638: dual(0xFEC5), 0x0639: dual(0xFEC9),
	0x063A: dual(0xFECD), 0x0641: dual(0xFED1), 0x0642: dual(0xFED5), 0x0643: dual(0xFED9),
	0x0644: dual(0xFEDD), 0x0645: dual(0xFEE1), 0x0646: dual(0xFEE5), 0x0647: dual(0xFEE9),
	0x0648: right(0xFEED), 0x0649: right(0xFEEF), 0x064A: dual(0xFEF1),
	// Persian and Urdu letters, in Presentation Forms-A.
	0x0671: right(0xFB50), 0x067E: dual(0xFB56), 0x0686: dual(0xFB7A), 0x0698: right(0xFB8A),
	0x06A9: dual(0xFB8E), 0x06AF: dual(0xFB92), 0x06CC: dual(0xFBFC),
}

// lamAlef: lām followed by an alif is one ligature, isolated or final.
var lamAlef = map[rune][2]rune{
	0x0622: {0xFEF5, 0xFEF6}, 0x0623: {0xFEF7, 0xFEF8}, 0x0625: {0xFEF9, 0xFEFA}, 0x0627: {0xFEFB, 0xFEFC},
}

const tatweel = 0x0640 // joins on both sides, keeps its one form

// joinsBefore reports whether r connects to the letter before it (every
// joining letter does); joinsAfter whether it connects to the one after.
func joinsBefore(r rune) bool {
	f, ok := arabicForms[r]
	return r == tatweel || (ok && f[1] != 0)
}

func joinsAfter(r rune) bool {
	f, ok := arabicForms[r]
	return r == tatweel || (ok && f[2] != 0)
}

// transparent: marks (harakat) that sit on a letter without breaking the
// joining of the letters around them.
func transparent(r rune) bool { return unicode.Is(unicode.Mn, r) }

// shapeArabic returns s with its Arabic letters in their contextual forms.
func shapeArabic(s string) string {
	runes := []rune(s)
	has := false
	for _, r := range runes {
		if _, ok := arabicForms[r]; ok {
			has = true
			break
		}
	}
	if !has {
		return s
	}
	out := make([]rune, 0, len(runes))
	// neighbour finds the nearest letter that is not a mark, in step's
	// direction from i.
	neighbour := func(i, step int) rune {
		for j := i + step; j >= 0 && j < len(runes); j += step {
			if !transparent(runes[j]) {
				return runes[j]
			}
		}
		return 0
	}
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		f, ok := arabicForms[r]
		if !ok {
			out = append(out, r)
			continue
		}
		prev := neighbour(i, -1)
		joinPrev := prev != 0 && joinsAfter(prev) && joinsBefore(r)
		// lām + alif: one ligature.
		if r == 0x0644 {
			if j := nextLetter(runes, i); j > 0 {
				if lig, ok := lamAlef[runes[j]]; ok {
					form := lig[0]
					if joinPrev {
						form = lig[1]
					}
					out = append(out, form)
					out = append(out, runes[i+1:j]...) // marks between them
					i = j
					continue
				}
			}
		}
		next := neighbour(i, 1)
		joinNext := next != 0 && joinsAfter(r) && joinsBefore(next)
		var form rune
		switch {
		case joinPrev && joinNext:
			form = f[3]
		case joinPrev:
			form = f[1]
		case joinNext:
			form = f[2]
		default:
			form = f[0]
		}
		if form == 0 {
			form = f[0]
		}
		out = append(out, form)
	}
	return string(out)
}

// nextLetter is the index of the first character after i that is not a
// mark, or -1.
func nextLetter(runes []rune, i int) int {
	for j := i + 1; j < len(runes); j++ {
		if !transparent(runes[j]) {
			return j
		}
	}
	return -1
}
