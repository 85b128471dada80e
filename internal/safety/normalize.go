package safety

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalization folds the many spellings of one word into one, so a lexicon term written
// once catches them all. It works rune by rune, so it can run over a stream, and every
// normalized byte remembers the raw rune it came from. The steps, in order:
//
//   - invalid UTF-8 is dropped (each bad byte counts as one removed rune);
//   - spacing, punctuation, symbols and controls are removed and mark a word boundary
//     ("制 造 炸 药", "冰-毒", "b.o.m.b");
//   - zero-width and format characters and combining marks are removed without marking a
//     boundary ("炸\u200b药", zalgo text);
//   - NFKC (full-width → half-width, ligatures, circled and mathematical letters, ...);
//   - lower case;
//   - Cyrillic and Greek letters that look like Latin ones become Latin (homoglyphs);
//   - traditional Chinese characters become simplified (t2s.txt).
//
// Terms in packs go through the same steps, so whatever the steps do to a word they do
// to both sides.

// runeClass is how a raw rune takes part in normalized text.
type runeClass uint8

const (
	classKeep runeClass = iota // produces normalized runes
	classSep                   // removed, marks a word boundary
	classZW                    // removed, transparent
)

//go:embed t2s.txt
var t2sData string

// Table encoding for BMP runes: 0 = separator, 1 = transparent removal, bit 31 set = an
// offset (bits 8..30) and length (bits 0..7) into normPool, otherwise the single rune.
const (
	tabSep    = 0
	tabZW     = 1
	tabPool   = 1 << 31
	tabPoolSh = 8
)

var (
	normOnce sync.Once
	normTab  []uint32 // indexed by BMP rune
	normPool []byte
	t2s      map[rune]rune
)

// upperHomoglyphs and homoglyphs map Cyrillic and Greek letters that render like Latin
// ones. Capitals are looked up before lower-casing because a capital and its small letter
// can look like different Latin letters (Greek Ν is N, ν is v).
var upperHomoglyphs = map[rune]rune{
	'А': 'a', 'В': 'b', 'Е': 'e', 'Ё': 'e', 'Н': 'h', 'І': 'i', 'Ї': 'i', 'Ј': 'j', 'К': 'k',
	'М': 'm', 'О': 'o', 'Р': 'p', 'С': 'c', 'Ѕ': 's', 'Т': 't', 'У': 'y', 'Х': 'x', 'Ү': 'y',
	'Ԁ': 'd', 'Ԛ': 'q', 'Ԝ': 'w', 'Һ': 'h', 'Ӏ': 'l',
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n',
	'Ο': 'o', 'Ρ': 'p', 'Τ': 't', 'Υ': 'y', 'Χ': 'x',
}

var homoglyphs = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'һ': 'h', 'і': 'i', 'ї': 'i', 'ј': 'j', 'к': 'k',
	'ӏ': 'l', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'ѕ': 's', 'т': 't', 'у': 'y',
	'х': 'x', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ү': 'y',
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'γ': 'y', 'ω': 'w', 'μ': 'u',
}

func loadT2S() map[rune]rune {
	m := make(map[rune]rune, 4000)
	for _, line := range strings.Split(t2sData, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		t, n := utf8.DecodeRuneInString(line)
		s, _ := utf8.DecodeRuneInString(line[n:])
		m[t] = s
	}
	return m
}

func initNorm() {
	t2s = loadT2S()
	normTab = make([]uint32, 0x10000)
	var buf []byte
	for r := rune(0); r < 0x10000; r++ {
		cls, out := normalizeSlow(r, buf[:0])
		buf = out
		switch {
		case cls == classSep:
			normTab[r] = tabSep
		case cls == classZW:
			normTab[r] = tabZW
		default:
			o, size := utf8.DecodeRune(out)
			if size == len(out) && o >= 2 {
				normTab[r] = uint32(o)
				continue
			}
			normTab[r] = tabPool | uint32(len(normPool))<<tabPoolSh | uint32(len(out))
			normPool = append(normPool, out...)
		}
	}
}

// classify says whether a rune is removed, and how.
func classify(r rune) runeClass {
	switch {
	case r == utf8.RuneError:
		return classSep
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r),
		unicode.Is(unicode.Mc, r), r == 0x034F, unicode.Is(unicode.Variation_Selector, r):
		return classZW
	case unicode.IsSpace(r), unicode.IsPunct(r), unicode.IsSymbol(r), unicode.IsControl(r),
		unicode.Is(unicode.Z, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
		return classSep
	}
	return classKeep
}

// normalizeSlow is the reference normalization of one rune; the table caches it for the BMP.
func normalizeSlow(r rune, dst []byte) (runeClass, []byte) {
	// Zero-width and marks go first; symbols are only dropped after NFKC, so that
	// circled and other compatibility letters (Ⓑ, ㎏) survive as letters.
	if cls := classify(r); cls == classZW {
		return cls, dst
	}
	var tmp [utf8.UTFMax]byte
	n := utf8.EncodeRune(tmp[:], r)
	nf := norm.NFKC.Bytes(tmp[:n])
	start := len(dst)
	for len(nf) > 0 {
		c, size := utf8.DecodeRune(nf)
		nf = nf[size:]
		if classify(c) != classKeep {
			continue
		}
		if h, ok := upperHomoglyphs[c]; ok {
			c = h
		} else {
			c = unicode.ToLower(c)
			if h, ok := homoglyphs[c]; ok {
				c = h
			}
		}
		if s, ok := t2s[c]; ok {
			c = s
		}
		dst = utf8.AppendRune(dst, c)
	}
	if len(dst) == start {
		return classSep, dst
	}
	return classKeep, dst
}

// appendRune appends the normalized form of r to dst and says how r took part.
func appendRune(dst []byte, r rune) (runeClass, []byte) {
	if r < 0x80 {
		c := asciiTab[r]
		switch c {
		case 0:
			return classSep, dst
		case 1:
			return classZW, dst
		}
		return classKeep, append(dst, c)
	}
	if r < 0x10000 {
		v := normTab[r]
		switch {
		case v == tabSep:
			return classSep, dst
		case v == tabZW:
			return classZW, dst
		case v&tabPool != 0:
			off := (v &^ tabPool) >> tabPoolSh
			return classKeep, append(dst, normPool[off:off+v&0xFF]...)
		}
		return classKeep, utf8.AppendRune(dst, rune(v))
	}
	return normalizeSlow(r, dst)
}

// asciiTab: 0 separator, 1 transparent, otherwise the lower-cased byte.
var asciiTab = func() (t [128]byte) {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'A' && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			t[c] = byte(c)
		default:
			t[c] = 0
		}
	}
	return t
}()

// Normalize returns the normalized form of s: the text lexicon terms are matched against.
// It is exported for tools and tests; the checker normalizes as it scans.
func Normalize(s string) string {
	normOnce.Do(initNorm)
	out := make([]byte, 0, len(s))
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		_, out = appendRune(out, r)
	}
	return string(out)
}

// NormalizeMap is Normalize with an offset map back to the original: off[i] is the byte
// offset in s of the rune that normalized byte i came from, and off[len(norm)] == len(s).
// A match at norm[i:j] covers s[off[i]:end], where end is the offset of the first rune
// after the one off[j-1] names.
func NormalizeMap(s string) (norm string, off []int) {
	normOnce.Do(initNorm)
	out := make([]byte, 0, len(s))
	off = make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		n := len(out)
		_, out = appendRune(out, r)
		for k := n; k < len(out); k++ {
			off = append(off, i)
		}
		i += size
	}
	return string(out), append(off, len(s))
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}
