package privacy

import (
	"strings"
	"unicode/utf8"
)

// fold maps full-width ASCII variants (U+FF01–U+FF5E: ０-９, Ａ-Ｚ, ＠, ＋, －, ...) and the
// ideographic space to ASCII, so the recognizers see one alphabet. It returns the folded
// text and, when anything changed, off: off[i] is the byte offset in s of folded byte i, and
// off[len(folded)] == len(s). When nothing changed it returns s and nil, at the cost of two
// byte searches: the common case on the request path.
func fold(s string) (string, []int) {
	if strings.IndexByte(s, 0xEF) < 0 && !strings.Contains(s, "\u3000") {
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
		case r >= 0xFF01 && r <= 0xFF5E:
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
