package billing

import (
	"strings"
	"unicode/utf8"
)

// Text from outside (API bodies, paths and queries, console forms) is
// checked once, where it enters: it must be valid UTF-8 without control
// characters — no NUL (which PostgreSQL cannot store in text), no escape
// or other C0 character, no DEL, no C1 character. Free-text fields
// (MultilineField) may also hold line breaks and tabs. Addresses are
// separate single-line fields (line1, line2, city, …), so they hold none.

// ValidText reports whether s is acceptable text, and if not the first
// offending rune (utf8.RuneError for invalid UTF-8).
func ValidText(s string, multiline bool) (rune, bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return r, false
			}
		case (r == '\n' || r == '\r' || r == '\t') && multiline:
		case r < 0x20, r >= 0x7f && r < 0xa0:
			return r, false
		}
	}
	return 0, true
}

// multilineFields are the names of free-text inputs, and of the console's
// one-per-line lists (a browser sends a textarea's lines joined by CR LF).
var multilineFields = map[string]bool{"reason": true, "description": true, "note": true, "message": true,
	"invoice_emails": true, "features": true}

// MultilineField reports whether an input named name (the last part of a
// JSON path or a form field) is free text that may hold line breaks.
func MultilineField(name string) bool { return multilineFields[name] }

// TextProblem says why a value refused by ValidText was refused.
func TextProblem(r rune) string {
	if r == utf8.RuneError {
		return "must be valid UTF-8 text"
	}
	return "must not contain control characters (found " + runeName(r) + ")"
}

func runeName(r rune) string {
	const hex = "0123456789ABCDEF"
	return "U+" + string([]byte{hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf]})
}

// SpreadsheetText is a text cell of a CSV export as a spreadsheet must
// read it: a cell that begins with = + - @, a tab or a carriage return
// would be read as a formula (CSV injection), so it is prefixed with an
// apostrophe, which spreadsheets show as text.
func SpreadsheetText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
