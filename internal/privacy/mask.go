package privacy

import (
	"strings"
	"unicode/utf8"
)

// mask hides the middle of a value and keeps enough to recognize it (138****5678). Masked
// values are not restored: the model and the user both see the masked form.
func mask(t Type, text string) string {
	switch t {
	case Email:
		at := strings.LastIndexByte(text, '@')
		if at <= 0 {
			break
		}
		r, n := utf8.DecodeRuneInString(text)
		return string(r) + strings.Repeat("*", max(utf8.RuneCountInString(text[n:at]), 1)) + text[at:]
	case Name:
		r, n := utf8.DecodeRuneInString(text)
		if sn := surnameAt(text, 0); sn > 0 {
			return text[:sn] + strings.Repeat("*", utf8.RuneCountInString(text[sn:]))
		}
		return string(r) + strings.Repeat("*", utf8.RuneCountInString(text[n:]))
	case Address:
		return keepRunes(text, 6, 0)
	case Plate:
		return keepRunes(text, 2, 2)
	case IP:
		if strings.Contains(text, ":") {
			return text[:strings.IndexByte(text, ':')+1] + "*"
		}
		parts := strings.Split(text, ".")
		if len(parts) == 4 {
			return parts[0] + "." + parts[1] + ".*.*"
		}
	}
	// Numbers and codes: keep the ends of the alphanumerics, keep the separators.
	n := 0
	for _, r := range text {
		if isAlnumRune(r) {
			n++
		}
	}
	head, tail := 1, 0
	switch {
	case n >= 11:
		head, tail = 3, 4
	case n >= 7:
		head, tail = 2, 2
	}
	var b strings.Builder
	k := 0
	for _, r := range text {
		if isAlnumRune(r) {
			if k >= head && k < n-tail {
				r = '*'
			}
			k++
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isAlnumRune(r rune) bool {
	return r < utf8.RuneSelf && isAlnum(byte(r)) || r >= 0xFF10 && r <= 0xFF19 || r >= 0xFF21 && r <= 0xFF3A || r >= 0xFF41 && r <= 0xFF5A
}

// keepRunes keeps the first head and last tail runes and stars the rest.
func keepRunes(text string, head, tail int) string {
	rs := []rune(text)
	for i := range rs {
		if i >= head && i < len(rs)-tail {
			rs[i] = '*'
		}
	}
	return string(rs)
}
