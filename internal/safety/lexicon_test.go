package safety

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"spaced chinese", "制 造 炸 药", "制造炸药"},
		{"hyphen", "冰-毒", "冰毒"},
		{"full-width", "ＢＯＭＢ　ｍａｋｅ", "bombmake"},
		{"traditional", "製造炸藥", "制造炸药"},
		{"zero-width", "炸\u200b药\u200d\ufeff", "炸药"},
		{"soft hyphen", "bo\u00admb", "bomb"},
		{"combining marks", "b\u0332o\u0332m\u0332b\u0332", "bomb"},
		{"mathematical bold", "𝐛𝐨𝐦𝐛", "bomb"},
		{"circled", "Ⓑⓞⓜⓑ", "bomb"},
		{"cyrillic homoglyphs", "ВОМВ", "bomb"},
		{"greek homoglyphs", "ΤΝΤ", "tnt"},
		{"punctuation", "m.e.t.h!", "meth"},
		{"invalid utf-8", "炸\xff\xfe药", "炸药"},
		{"emoji dropped", "炸💣药", "炸药"},
		{"compat unit", "10㎏", "10kg"},
		{"digits kept", "C4 和 TNT", "c4和tnt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizeTableMatchesSlow checks the cached BMP table against the reference per-rune
// normalization for every BMP rune.
func TestNormalizeTableMatchesSlow(t *testing.T) {
	normOnce.Do(initNorm)
	for r := rune(0x80); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		c1, b1 := appendRune(nil, r)
		c2, b2 := normalizeSlow(r, nil)
		if c1 != c2 || !bytes.Equal(b1, b2) {
			t.Fatalf("rune %U: table (%d,%q) != slow (%d,%q)", r, c1, b1, c2, b2)
		}
	}
}

func TestT2STable(t *testing.T) {
	normOnce.Do(initNorm)
	if len(t2s) < 3000 {
		t.Fatalf("t2s has %d entries, want the OpenCC character table (>3000)", len(t2s))
	}
	for trad, simp := range map[rune]rune{'藥': '药', '製': '制', '彈': '弹', '槍': '枪', '毒': '毒', '殺': '杀', '詐': '诈', '騙': '骗'} {
		if got := []rune(Normalize(string(trad)))[0]; got != simp {
			t.Errorf("%c → %c, want %c", trad, got, simp)
		}
	}
}

// naiveMatches finds every (pattern, end) pair by brute force.
func naiveMatches(patterns []string, text string) map[[2]int]bool {
	m := map[[2]int]bool{}
	for i, p := range patterns {
		for off := 0; ; {
			j := strings.Index(text[off:], p)
			if j < 0 {
				break
			}
			m[[2]int{i, off + j + len(p)}] = true
			off += j + 1
		}
	}
	return m
}

func TestAutomatonMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "b", "c", "炸", "药", "毒", "冰"}
	word := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		return b.String()
	}
	for round := 0; round < 200; round++ {
		seen := map[string]bool{}
		var patterns []string
		for len(patterns) < 1+rng.Intn(30) {
			p := word(1 + rng.Intn(5))
			if !seen[p] {
				seen[p] = true
				patterns = append(patterns, p)
			}
		}
		bs := make([][]byte, len(patterns))
		for i, p := range patterns {
			bs[i] = []byte(p)
		}
		a, err := buildAutomaton(bs)
		if err != nil {
			t.Fatal(err)
		}
		text := word(rng.Intn(60))
		got := map[[2]int]bool{}
		s := int32(0)
		for i := 0; i < len(text); i++ {
			r := a.step(s, text[i])
			s = r &^ refOut
			a.outputs(s, func(p int32) { got[[2]int{int(p), i + 1}] = true })
			if (r&refOut != 0) != (a.info[s].out >= 0 || a.info[s].dict >= 0) {
				t.Fatalf("output flag wrong at state %d", s)
			}
		}
		if diff := cmp.Diff(naiveMatches(patterns, text), got); diff != "" {
			t.Fatalf("round %d patterns %q text %q (-naive +automaton):\n%s", round, patterns, text, diff)
		}
	}
}

func TestAutomatonEmptyPattern(t *testing.T) {
	if _, err := buildAutomaton([][]byte{[]byte("a"), nil}); err == nil {
		t.Fatal("empty pattern accepted")
	}
}

const testPack = `pack t
version 1
term r.block block A.1.6 : 炸药 | bomb | meth
term r.flag  flag  A.4.1 : 安眠药
term r.open  block A.1.8 : grenade*
group make : how to make | 怎么做 | 如何制作
group obj  : explosive* | 炸弹
group hist : history
combo c.make block A.1.6 10 : make + obj unless hist
`

func mustLexicon(t testing.TB, src string) *lexicon {
	t.Helper()
	p, err := ParsePack("test.pack", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	lx, err := compile([]*Pack{p})
	if err != nil {
		t.Fatal(err)
	}
	return lx
}

func scanWhole(lx *lexicon, text string, deferCombos bool) (*Hit, []Hit) {
	sc := newScanner(lx)
	sc.deferCombos = deferCombos
	sc.feed(text)
	sc.finish()
	return sc.block, sc.flags
}

func TestScan(t *testing.T) {
	lx := mustLexicon(t, testPack)
	tests := []struct {
		name  string
		text  string
		block string // rule, "" for none
		flag  string
	}{
		{"plain term", "这是炸药", "t/r.block", ""},
		{"spaced term", "制 造 炸 . 药", "t/r.block", ""},
		{"traditional", "炸藥", "t/r.block", ""},
		{"latin word", "a bomb here", "t/r.block", ""},
		{"latin inside word", "bombastic method", "", ""},
		{"latin at end", "cook meth", "t/r.block", ""},
		{"latin spaced out", "m e t h", "t/r.block", ""},
		{"latin glued to cjk", "做meth吗", "t/r.block", ""},
		{"open end", "two grenades", "t/r.open", ""},
		{"flag only", "安眠药的副作用", "", "t/r.flag"},
		{"object alone", "the history of explosives", "", ""},
		{"combo", "how to make explosives", "t/c.make", ""},
		{"combo reversed zh", "炸弹怎么做", "t/c.make", ""},
		{"combo too far", "how to make friends and what are explosives used for in mining today", "", ""},
		{"combo lifted before", "history: how to make explosives", "", ""},
		{"combo lifted after", "how to make explosives, a history", "", ""},
		{"homoglyph", "ВОМВ", "t/r.block", ""},
		{"zero width", "b\u200bo\u200bm\u200bb", "t/r.block", ""},
		{"invalid utf-8", "炸\xff药", "t/r.block", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block, flags := scanWhole(lx, tt.text, true)
			got := ""
			if block != nil {
				got = block.Rule
			}
			if got != tt.block {
				t.Errorf("block = %q, want %q", got, tt.block)
			}
			gotFlag := ""
			if len(flags) > 0 {
				gotFlag = flags[0].Rule
			}
			if gotFlag != tt.flag {
				t.Errorf("flag = %q, want %q", gotFlag, tt.flag)
			}
		})
	}
}

// TestScanSplitEverywhere feeds texts in two pieces split at every byte, and in one-byte
// pieces, and expects the same decision as the whole text.
func TestScanSplitEverywhere(t *testing.T) {
	lx := mustLexicon(t, testPack)
	for _, text := range []string{"这是炸药吧", "a bomb", "cook meth now", "how to make explosives", "炸\xe8药", "炸弹怎么做", "bombastic"} {
		want, _ := scanWhole(lx, text, false)
		for cut := 0; cut <= len(text); cut++ {
			sc := newScanner(lx)
			sc.feed(text[:cut])
			sc.feed(text[cut:])
			sc.finish()
			if (sc.block == nil) != (want == nil) {
				t.Fatalf("%q split at %d: block %v, whole text %v", text, cut, sc.block, want)
			}
		}
		sc := newScanner(lx)
		for i := 0; i < len(text); i++ {
			sc.feed(text[i : i+1])
		}
		sc.finish()
		if (sc.block == nil) != (want == nil) {
			t.Fatalf("%q byte by byte: block %v, whole text %v", text, sc.block, want)
		}
	}
}

func TestEnormousPrompt(t *testing.T) {
	lx := mustLexicon(t, testPack)
	big := strings.Repeat("这是一段很长的正常文本，how to make friends. ", 200000) // ~9 MB
	if block, _ := scanWhole(lx, big, true); block != nil {
		t.Fatalf("clean text blocked: %+v", block)
	}
	if block, _ := scanWhole(lx, big+"炸 药", true); block == nil {
		t.Fatal("term at the end of an enormous prompt not found")
	}
	// Repeating group terms must not grow state without bound.
	sc := newScanner(lx)
	sc.deferCombos = true
	sc.feed(strings.Repeat("how to make ", 100000))
	sc.finish()
	if len(sc.ghits) > 512 || len(sc.cands) > 64 {
		t.Fatalf("state grew: %d hits, %d candidates", len(sc.ghits), len(sc.cands))
	}
}

func TestParsePackErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown directive", "pack p\nfoo bar : x\n", "p.pack:2: unknown directive"},
		{"bad action", "pack p\nterm r nuke A.1.6 : x\n", "p.pack:2: action \"nuke\""},
		{"bad category", "pack p\n\nterm r block Z.9 : x\n", "p.pack:3: category \"Z.9\""},
		{"empty term", "pack p\nterm r block A.1.6 : x | ... \n", "p.pack:2: term \"...\" is empty"},
		{"no colon", "pack p\nterm r block A.1.6 x\n", "p.pack:2: term needs"},
		{"duplicate rule", "pack p\nterm r block A.1.6 : x\nterm r block A.1.6 : y\n", "p.pack:3: rule \"r\" already defined on line 2"},
		{"undefined group", "pack p\ngroup a : x\ncombo c block A.1.6 5 : a + b\n", "p.pack:3: combo \"c\" uses undefined group \"b\""},
		{"bad window", "pack p\ngroup a : x\ngroup b : y\ncombo c block A.1.6 9999 : a + b\n", "p.pack:4: window"},
		{"one group", "pack p\ngroup a : x\ncombo c block A.1.6 5 : a\n", "p.pack:3: combo needs 2 to 4 groups"},
		{"no name", "term r block A.1.6 : x\n", "missing \"pack NAME\""},
		{"invalid utf-8", "pack p\nterm r block A.1.6 : \xff\n", "p.pack:2: invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePack("p.pack", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBaselinePackStats(t *testing.T) {
	p, err := ParsePack("baseline", BaselinePackData())
	if err != nil {
		t.Fatal(err)
	}
	lx, err := compile([]*Pack{p})
	if err != nil {
		t.Fatal(err)
	}
	if lx.stats.Terms < 500 || lx.stats.Combos < 20 {
		t.Fatalf("baseline stats %+v: fewer terms or combos than shipped", lx.stats)
	}
	for _, cat := range []Category{"A.1.4", "A.1.6", "A.1.8", "A.4.1"} {
		if lx.stats.ByCategory[cat] == 0 {
			t.Errorf("baseline has no terms for %s", cat)
		}
	}
	if !strings.HasPrefix(lx.version, "baseline@") {
		t.Errorf("version %q", lx.version)
	}
}

func TestNormalizeMap(t *testing.T) {
	s := "Ｂ o\u200bＭ-b 炸藥"
	norm, off := NormalizeMap(s)
	if norm != Normalize(s) || len(off) != len(norm)+1 || off[len(norm)] != len(s) {
		t.Fatalf("norm %q off %v", norm, off)
	}
	i := strings.Index(norm, "炸药")
	if got := s[off[i]:]; got != "炸藥" {
		t.Fatalf("offset of 炸药 maps to %q", got)
	}
	// "b" comes from "Ｂ" at 0; "o" from offset 4, after "Ｂ" (3 bytes) and a space.
	if off[0] != 0 || off[1] != 4 {
		t.Fatalf("off[0:2] = %v, want [0 4]", off[:2])
	}
	for k := 1; k < len(off); k++ {
		if off[k] < off[k-1] {
			t.Fatalf("offsets go backwards at %d: %v", k, off)
		}
	}
}

// TestFirstBlockStands: when two blocking terms end together, the first one decided is the
// one reported, whether the text goes on, ends in a separator (decided at once) or just
// ends (decided by finish).
func TestFirstBlockStands(t *testing.T) {
	lx := mustLexicon(t, `pack t
version 1
term r.b block A.1.8 : crystal meth
term r.c block A.1.6 : meth
`)
	var want string
	for _, text := range []string{"crystal meth", "crystal meth ", "crystal meth x", "crystal meth\xe4"} {
		for _, deferCombos := range []bool{false, true} {
			block, _ := scanWhole(lx, text, deferCombos)
			if block == nil {
				t.Fatalf("%q: no block", text)
			}
			if want == "" {
				want = block.Rule
			}
			if block.Rule != want {
				t.Errorf("%q (defer %v): rule %s, want %s as for %q", text, deferCombos, block.Rule, want, "crystal meth")
			}
		}
	}
}
