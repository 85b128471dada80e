package privacy

import (
	"strings"
	"unicode/utf8"
)

// iban recognizes an IBAN starting with the token s[i:j], compact (DE89370400440532013000)
// or printed in groups of four (DE89 3704 0044 0532 0130 00). It returns the end.
func (d *detector) iban(i, j int) (int, bool) {
	s := d.s
	want, ok := ibanLengths[s[i:i+2]]
	if !ok {
		return 0, false
	}
	if j-i == want {
		return j, validIBAN(s[i:j])
	}
	if j-i != 4 {
		return 0, false
	}
	var b strings.Builder
	b.WriteString(s[i:j])
	end := j
	for b.Len() < want && end+1 < len(s) && s[end] == ' ' && isAlnum(s[end+1]) {
		e := end + 1
		for e < len(s) && isAlnum(s[e]) {
			e++
		}
		if e-end-1 > 4 {
			return 0, false
		}
		b.WriteString(s[end+1 : e])
		end = e
	}
	if b.Len() != want {
		return 0, false
	}
	return end, validIBAN(upperASCII(b.String()))
}

// passport recognizes PRC passports (E12345678, EA1234567, G12345678, D/S/P...), HK/Macau
// permits (C12345678, CA1234567) and home-return permits (H/M + 8–10 digits). These shapes
// collide with product codes, so a cue (护照, passport, 通行证, ...) must stand nearby.
func (d *detector) passport(i, j int) {
	t := d.s[i:j]
	n := len(t)
	ok := false
	switch t[0] {
	case 'E', 'G', 'D', 'S', 'P', 'C':
		ok = n == 9 && (allDigits(t[1:]) || plateLetter(t[1]) && allDigits(t[2:]))
	case 'H', 'M':
		ok = n >= 9 && n <= 11 && allDigits(t[1:])
	}
	if ok && d.contextIn(i, passportWindow, passportCues) {
		d.add(Passport, i, j)
	}
}

// plateLetter reports whether c may appear in a plate: A–Z without I and O.
func plateLetter(c byte) bool { return isUpper(c) && c != 'I' && c != 'O' }

func isProvinceAbbr(r rune) bool {
	return strings.ContainsRune("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼", r)
}

// plate recognizes a licence plate after the province character at i: 京A12345, 粤B·D12345
// (new-energy), 沪A12345学.
func (d *detector) plate(i, size int) {
	s := d.s
	k := i + size
	if k >= len(s) || !plateLetter(s[k]) {
		return
	}
	e := k
	for e < len(s) && isAlnum(s[e]) {
		e++
	}
	tail := s[k+1 : e]
	if e-k == 1 {
		// 京A·12345, 京A 12345
		sep := 0
		switch {
		case strings.HasPrefix(s[e:], "·"), strings.HasPrefix(s[e:], "•"):
			sep = len("·")
			if strings.HasPrefix(s[e:], "•") {
				sep = len("•")
			}
		case strings.HasPrefix(s[e:], " "), strings.HasPrefix(s[e:], "-"):
			sep = 1
		}
		if sep == 0 {
			return
		}
		t := e + sep
		e = t
		for e < len(s) && isAlnum(s[e]) {
			e++
		}
		tail = s[t:e]
	}
	if !plateTail(tail, s[e:]) {
		return
	}
	if r, sz := utf8.DecodeRuneInString(s[e:]); strings.ContainsRune("学警挂港澳领使试超", r) {
		e += sz
	}
	d.add(Plate, i, e)
}

// plateTail checks the five characters of a normal plate (at least three digits) or the six
// of a new-energy plate, or four digits before 学/挂/警/港/澳 (suffix is the text after tail),
// or the six (D/F first with four digits at the end, or five digits and D/F).
func plateTail(t, suffix string) bool {
	for k := 0; k < len(t); k++ {
		if !isDigit(t[k]) && !plateLetter(t[k]) {
			return false
		}
	}
	switch len(t) {
	case 4:
		// 苏E1234学, 浙A1234挂: the suffix character is the fifth.
		return allDigits(t) && strings.HasPrefix(suffix, "学") || allDigits(t) && (strings.HasPrefix(suffix, "挂") || strings.HasPrefix(suffix, "警") || strings.HasPrefix(suffix, "港") || strings.HasPrefix(suffix, "澳"))
	case 5:
		n := 0
		for k := 0; k < 5; k++ {
			if isDigit(t[k]) {
				n++
			}
		}
		return n >= 3
	case 6:
		return (t[0] == 'D' || t[0] == 'F') && allDigits(t[2:]) ||
			allDigits(t[:5]) && (t[5] == 'D' || t[5] == 'F')
	}
	return false
}
