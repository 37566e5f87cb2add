package statement

import "testing"

// TestVisual_RightToLeftRunsReversedNumbersKept: UAX #9 for one line
// without embeddings; strings are in logical order, results as drawn left
// to right.
func TestVisual_RightToLeftRunsReversedNumbersKept(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Acme Corp", "Acme Corp"},
		{"Acme שלום", "Acme םולש"},
		{"שלום Acme", "Acme םולש"},                   // base right to left: the Latin word goes left
		{"שלום 123 עולם", "םלוע 123 םולש"},           // a number inside RTL reads left to right
		{"Acme שלום 123 עולם", "Acme םלוע 123 םולש"}, // …also inside an LTR line
		{"חברה (בע״מ)", "(מ״עב) הרבח"},               // brackets mirrored
		{"Suite 12, שלום", "Suite 12, םולש"},
		{"Premium — שלום (8 users)", "Premium — םולש (8 users)"}, // N0: the pair holds Latin
		{"שלום (עולם)", "(םלוע) םולש"},
		{"{\"😀\", 1}", "{\"😀\", 1}"},
	} {
		if got := visual(tt.in); got != tt.want {
			t.Errorf("visual(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestShapeArabic_ContextualFormsAndLamAlef: each letter takes the form
// its neighbours give it; lām + alif is one ligature.
func TestShapeArabic_ContextualFormsAndLamAlef(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// sīn initial, lām-alif final (joined to sīn), mīm isolated (alif joins nothing after it).
		{"سلام", "\uFEB3\uFEFC\uFEE1"},
		// bāʾ initial, medial tāʾ… : "بيت" = bāʾ initial, yāʾ medial, tāʾ final.
		{"بيت", "\uFE91\uFEF4\uFE96"},
		// dāl joins only to the letter before: "دب" = dāl isolated, bāʾ isolated.
		{"دب", "\uFEA9\uFE8F"},
		// a mark between letters does not break their joining.
		{"بَت", "\uFE91\u064E\uFE96"},
		{"Acme", "Acme"},
	} {
		if got := shapeArabic(tt.in); got != tt.want {
			t.Errorf("shapeArabic(%q) = %U, want %U", tt.in, []rune(got), []rune(tt.want))
		}
	}
}

// TestSegments_FirstFontWithTheGlyphAndAReplacement: each character is set
// in the first font that has it; one that no font has becomes U+FFFD.
func TestSegments_FirstFontWithTheGlyphAndAReplacement(t *testing.T) {
	fx, err := fonts()
	if err != nil {
		t.Fatal(err)
	}
	family := func(s string) []string {
		var out []string
		for _, sg := range fx.segments(s) {
			out = append(out, fx.faces[sg.face].family+":"+sg.text)
		}
		return out
	}
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"Acme Ω", []string{"Go:Acme Ω"}},
		{"Nguyễn", []string{"Go:Nguy", "NotoSans:ễ", "Go:n"}},
		{"山田 商事", []string{"DroidSansFallback:山田 商事"}},
		{"김민준", []string{"NanumGothic:김민준"}},
		{"\uE000", []string{"Go:\uFFFD"}}, // the Go fonts have U+FFFD
		{"a\u200Db\uFE0F", []string{"Go:ab"}},
	} {
		got := family(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
				break
			}
		}
	}
	if s := fx.segments("🚀"); len(s) != 1 || !s[0].image || fx.faces[s[0].face].family != "Symbola" {
		t.Errorf("🚀: %+v, want a picture of Symbola's glyph", s)
	}
}
