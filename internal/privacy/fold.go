package privacy

import (
	"strings"
	"unicode/utf8"
)

// fold maps the full-width forms that can be part of a value (０-９, Ａ-Ｚ, ａ-ｚ, ＋, －, ．,
// ＠, （, ）) and the ideographic space to ASCII, so the recognizers see one alphabet. It
// returns the folded text and, when anything changed, off: off[i] is the byte offset in s
// of folded byte i, and off[len(folded)] == len(s). When nothing needs folding it returns s
// and nil. Full-width punctuation that never is part of a value (，：。) is left alone, so
// ordinary Chinese text takes the fast path.
func fold(s string) (string, []int) {
	if !needsFold(s) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	off := make([]int, 0, len(s)+1)
	changed := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			off = append(off, i)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case foldable(r):
			b.WriteByte(byte(r - 0xFEE0))
			off = append(off, i)
			changed = true
		case r == 0x3000:
			b.WriteByte(' ')
			off = append(off, i)
			changed = true
		default:
			b.WriteString(s[i : i+size])
			for k := 0; k < size; k++ {
				off = append(off, i+k)
			}
		}
		i += size
	}
	if !changed {
		return s, nil
	}
	off = append(off, len(s))
	return b.String(), off
}

// foldable reports whether fold maps r to ASCII.
func foldable(r rune) bool {
	switch {
	case r >= 0xFF10 && r <= 0xFF19, r >= 0xFF21 && r <= 0xFF3A, r >= 0xFF41 && r <= 0xFF5A:
		return true
	}
	switch r {
	case 0xFF0B, 0xFF0D, 0xFF0E, 0xFF20, 0xFF08, 0xFF09:
		return true
	}
	return false
}

// needsFold reports whether s holds a foldable full-width form or an ideographic space.
func needsFold(s string) bool {
	for i := 0; ; {
		k := strings.IndexByte(s[i:], 0xEF)
		if k < 0 {
			break
		}
		i += k
		r, n := utf8.DecodeRuneInString(s[i:])
		if foldable(r) {
			return true
		}
		i += n
	}
	return strings.Contains(s, "\u3000")
}
