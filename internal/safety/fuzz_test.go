package safety

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/chat"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"制 造 炸 药", "ＢＯＭＢ", "製造", "\xff\xfe", "b\u200bomb", "𝐛𝐨𝐦𝐛", "ΤΝΤ", "10㎏"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, n)
		}
		if len(n) > 18*len(s)+8 {
			t.Fatalf("Normalize grew %d bytes into %d", len(s), len(n))
		}
	})
}

// FuzzScanSplit: scanning a text in two pieces decides like scanning it whole.
func FuzzScanSplit(f *testing.F) {
	lx := mustLexicon(f, testPack)
	f.Add("这是炸药吧", 3)
	f.Add("how to make explosives", 7)
	f.Add("cook meth", 8)
	f.Add("炸\xe8药", 4)
	f.Fuzz(func(t *testing.T, text string, cut int) {
		if cut < 0 {
			cut = -cut
		}
		cut %= len(text) + 1
		want, _ := scanWhole(lx, text, false)
		sc := newScanner(lx)
		sc.feed(text[:cut])
		sc.feed(text[cut:])
		sc.finish()
		if (sc.block == nil) != (want == nil) {
			t.Fatalf("%q split at %d: block %v, whole %v", text, cut, sc.block, want)
		}
	})
}

func FuzzParsePack(f *testing.F) {
	f.Add([]byte(testPack))
	f.Add([]byte("pack p\ncombo c block A.1.6 5 : a + b unless c\n"))
	f.Add([]byte("pack p\nterm r block A.1.6 : *x* | y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePack("f.pack", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "safety: pack f.pack") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		lx, err := compile([]*Pack{p})
		if err != nil {
			return
		}
		scanWhole(lx, string(data), true)
	})
}

func FuzzParseGuard(f *testing.F) {
	for _, s := range []string{"Safety: Unsafe\nCategories: Violent", "safe", "unsafe\nS1,S2", "Safety: Controversial\nCategories: None\nRefusal: Yes", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseQwen3Guard(s, true); err == nil && v.Unsafe && v.Category == "" {
			t.Fatalf("unsafe verdict without category for %q", s)
		}
		if v, err := ParseLlamaGuard(s); err == nil && v.Unsafe && !v.Category.Valid() {
			t.Fatalf("unsafe verdict with category %q for %q", v.Category, s)
		}
	})
}

// FuzzModerate: whatever the text and however it is cut, the moderated stream delivers a
// prefix of the text, ends, and when it blocks nothing from the blocking term on is out.
func FuzzModerate(f *testing.F) {
	files := &memFiles{files: map[string]string{"t.pack": testPack}}
	const window = 8
	c, err := New(Config{Packs: []string{"t.pack"}, OutputWindow: window}, Options{ReadFile: files.read})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("好的。炸药在这", 4, 11)
	f.Add("here is meth and more", 3, 9)
	f.Add("plain answer", 0, 5)
	f.Add("meth\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b x", 4, 31)
	f.Add("炸弹怎么做一二三四五六七八九十", 12, 42)
	f.Add("how to make explosives, a history", 5, 20)
	f.Fuzz(func(t *testing.T, text string, a, b int) {
		if a < 0 {
			a = -a
		}
		if b < 0 {
			b = -b
		}
		a %= len(text) + 1
		b %= len(text) + 1
		if a > b {
			a, b = b, a
		}
		up := &fakeUpstream{chunks: contentChunks(text[:a], text[a:b], text[b:])}
		s := c.Moderate(context.Background(), Meta{}, up, func() {})
		res, err := chat.Collect(s)
		if err != nil {
			t.Fatal(err)
		}
		lx := c.lex.Load()
		block, _ := scanWhole(lx, text, true) // as production scans: combos wait for unless terms
		if res.FinishReason == chat.FinishContentFilter {
			got := strings.TrimSuffix(res.Message.Content, c.Refusal(""))
			if !strings.HasPrefix(text, got) {
				t.Fatalf("delivered %q is not a prefix of %q", got, text)
			}
			if block != nil && int64(len(got)) > block.Offset {
				// The documented bound: only a term spanning more than the output window
				// (separators inside it count: "炸" + 9 spaces + "药") may leak its beginning.
				end := len(text)
				for k := int(block.Offset) + 1; k <= len(text); k++ {
					if h, _ := scanWhole(lx, text[:k], true); h != nil && h.Offset == block.Offset {
						end = k
						break
					}
				}
				if span := utf8.RuneCountInString(text[block.Offset:end]); span <= window {
					t.Fatalf("delivered %q reaches into the blocked term at %d, which spans %d runes (window %d)", got, block.Offset, span, window)
				}
			}
			return
		}
		if block != nil {
			t.Fatalf("%q blocks whole but the stream did not", text)
		}
		if res.Message.Content != text {
			t.Fatalf("clean text changed: %q → %q", text, res.Message.Content)
		}
	})
}
