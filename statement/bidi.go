package statement

import (
	"unicode"

	"golang.org/x/text/unicode/bidi"
)

// fpdf writes the characters of a string left to right as they come and
// joins nothing, so a name in Hebrew or Arabic must reach it already in
// visual order, and Arabic letters already in their joined forms. The
// statement's strings are single lines without explicit embeddings (a
// billing profile's fields), so the Unicode Bidirectional Algorithm reduces
// to: the base direction from the first strong character (as HTML's
// dir="auto"), resolved levels for strong, number and neutral characters
// (rules W/N without embeddings, N0 for bracket pairs), then rule L2's
// reversals and L4's mirrored brackets.

// visual returns the line s (logical order, already shaped) in the order it
// is drawn left to right.
func visual(s string) string {
	runes := []rune(s)
	if !hasRTL(runes) {
		return s
	}
	levels := bidiLevels(runes)
	out := make([]rune, len(runes))
	copy(out, runes)
	maxLevel := 0
	for i, l := range levels {
		maxLevel = max(maxLevel, l)
		if l%2 == 1 {
			out[i] = mirror(out[i])
		}
	}
	// L2: from the highest level down to 1, reverse every run of characters
	// at that level or above.
	for lvl := maxLevel; lvl >= 1; lvl-- {
		for i := 0; i < len(out); {
			if levels[i] < lvl {
				i++
				continue
			}
			j := i
			for j < len(out) && levels[j] >= lvl {
				j++
			}
			reverse(out[i:j])
			reverse(levels[i:j])
			i = j
		}
	}
	return string(out)
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// mirror gives a bracket drawn right to left its counterpart: "(" for ")".
func mirror(r rune) rune {
	if p, _ := bidi.LookupRune(r); p.IsBracket() {
		if m := []rune(bidi.ReverseString(string(r))); len(m) == 1 {
			return m[0]
		}
	}
	return r
}

// direction is a character's resolved direction class: strong left,
// strong right (R, AL), a number (EN, AN), or neutral.
type direction int8

const (
	dirNeutral direction = iota
	dirL
	dirR
	dirNumber
)

func classOf(r rune) direction {
	p, _ := bidi.LookupRune(r)
	switch p.Class() {
	case bidi.L:
		return dirL
	case bidi.R, bidi.AL:
		return dirR
	case bidi.EN, bidi.AN:
		return dirNumber
	}
	return dirNeutral
}

func hasRTL(runes []rune) bool {
	for _, r := range runes {
		if classOf(r) == dirR {
			return true
		}
	}
	return false
}

// baseRTL reports whether a line reads right to left: its first strong
// character is right to left (HTML's dir="auto").
func baseRTL(s string) bool {
	for _, r := range s {
		switch classOf(r) {
		case dirL:
			return false
		case dirR:
			return true
		}
	}
	return false
}

// bidiLevels resolves each character's embedding level.
func bidiLevels(runes []rune) []int {
	base := 0
	if baseRTL(string(runes)) {
		base = 1
	}
	dirs := make([]direction, len(runes))
	for i, r := range runes {
		dirs[i] = classOf(r)
	}
	// W2/W7: a number takes the direction of the strong character before
	// it: after a right-to-left one it is an Arabic/Hebrew-context number
	// (level 2 inside RTL text), otherwise it reads as left to right.
	prevStrong := dirL
	if base == 1 {
		prevStrong = dirR
	}
	numberInRTL := make([]bool, len(runes))
	for i, d := range dirs {
		switch d {
		case dirL, dirR:
			prevStrong = d
		case dirNumber:
			numberInRTL[i] = prevStrong == dirR
		}
	}
	// The direction each character counts as for neutrals (N1): numbers
	// count as right to left.
	strong := make([]direction, len(runes))
	for i, d := range dirs {
		switch {
		case d == dirNumber && (numberInRTL[i] || base == 1):
			strong[i] = dirR
		case d == dirNumber:
			strong[i] = dirL
		default:
			strong[i] = d
		}
	}
	baseDir := dirL
	if base == 1 {
		baseDir = dirR
	}
	resolveBrackets(runes, strong, baseDir)
	levels := make([]int, len(runes))
	for i := 0; i < len(runes); {
		if strong[i] != dirNeutral {
			i++
			continue
		}
		// N1/N2: a run of neutrals between two characters of the same
		// direction takes it; otherwise the base direction.
		j := i
		for j < len(runes) && strong[j] == dirNeutral {
			j++
		}
		before, after := baseDir, baseDir
		if i > 0 {
			before = strong[i-1]
		}
		if j < len(runes) {
			after = strong[j]
		}
		d := baseDir
		if before == after {
			d = before
		}
		for k := i; k < j; k++ {
			strong[k] = d
		}
		i = j
	}
	for i := range runes {
		// I1/I2: the resolved direction against the base level.
		switch {
		case dirs[i] == dirNumber && (numberInRTL[i] || base == 1):
			levels[i] = 2 // I1 (EN, AN up two from 0) and I2 (up one from 1)
		case strong[i] == dirR && base == 0:
			levels[i] = 1
		case strong[i] == dirL && base == 1:
			levels[i] = 2
		default:
			levels[i] = base
		}
	}
	// L1: whitespace at the end of the line goes to the base level.
	for i := len(runes) - 1; i >= 0 && unicode.IsSpace(runes[i]); i-- {
		levels[i] = base
	}
	return levels
}

// resolveBrackets applies rule N0 to the bracket pairs of a line: a pair
// that encloses a character of the base direction takes it; one that
// encloses only the other direction takes that one when the text before it
// has it too; so "(8 users)" after an Arabic name stays "(8 users)".
func resolveBrackets(runes []rune, strong []direction, baseDir direction) {
	type open struct {
		at   int
		pair rune // the closing bracket that matches
	}
	var stack []open
	for i, r := range runes {
		p, _ := bidi.LookupRune(r)
		if !p.IsBracket() {
			continue
		}
		if p.IsOpeningBracket() {
			if m := []rune(bidi.ReverseString(string(r))); len(m) == 1 {
				stack = append(stack, open{i, m[0]})
			}
			continue
		}
		for k := len(stack) - 1; k >= 0; k-- {
			if stack[k].pair != r {
				continue
			}
			o := stack[k].at
			stack = stack[:k]
			inside := dirNeutral
			for j := o + 1; j < i; j++ {
				if strong[j] == baseDir {
					inside = baseDir
					break
				}
				if strong[j] != dirNeutral {
					inside = strong[j]
				}
			}
			d := inside
			if inside != dirNeutral && inside != baseDir {
				before := baseDir
				for j := o - 1; j >= 0; j-- {
					if strong[j] != dirNeutral {
						before = strong[j]
						break
					}
				}
				if before != inside {
					d = baseDir
				}
			}
			if d != dirNeutral {
				strong[o], strong[i] = d, d
			}
			break
		}
	}
}
