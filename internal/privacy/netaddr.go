package privacy

import (
	"net/netip"
	"strings"
)

// ipv4 recognizes a dotted quad starting at i and returns its end. Version strings are
// kept out by the boundaries: v1.2.3.4 is glued to a letter and 1.2.3.4.5 has a fifth part.
func (d *detector) ipv4(i int) (int, bool) {
	s := d.s
	if i >= 2 && s[i-1] == '.' && isDigit(s[i-2]) {
		return 0, false
	}
	k := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if k >= len(s) || s[k] != '.' {
				return 0, false
			}
			k++
		}
		n := 0
		for k < len(s) && isDigit(s[k]) && n < 4 {
			k++
			n++
		}
		if n == 0 || n > 3 {
			return 0, false
		}
	}
	if k < len(s) && (isAlnum(s[k]) || s[k] == '.' && k+1 < len(s) && isDigit(s[k+1])) {
		return 0, false
	}
	if _, err := netip.ParseAddr(s[i:k]); err != nil {
		return 0, false
	}
	return k, true
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isV6(c byte) bool { return isHex(c) || c == ':' || c == '.' }

// maxV6 is the longest textual IPv6 address (with an embedded IPv4 tail).
const maxV6 = 45

// ipv6 tries an IPv6 address around the colon at i.
func (d *detector) ipv6(i int) {
	s := d.s
	l := i
	for l > 0 && i-l < maxV6 && isV6(s[l-1]) {
		l--
	}
	r := i
	for r < len(s) && r-l < maxV6+1 && isV6(s[r]) {
		r++
	}
	d.v6until = r
	if r-l > maxV6 || l > 0 && (isAlnum(s[l-1]) || s[l-1] == '_') || r < len(s) && (isAlnum(s[r]) || s[r] == '_') {
		return
	}
	for r > l && (s[r-1] == '.' || s[r-1] == ':' && (r-2 < l || s[r-2] != ':')) {
		r--
	}
	for l < r && s[l] == '.' {
		l++
	}
	c := s[l:r]
	if strings.Count(c, ":") < 2 || strings.IndexAny(c, "0123456789") < 0 {
		return
	}
	a, err := netip.ParseAddr(c)
	if err != nil || !a.Is6() {
		return
	}
	d.add(IP, l, r)
}

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomain(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

// email recognizes an address around the @ at i: a pragmatic subset of RFC 5322 (dot-atom
// local part of at most 64 bytes, a domain of at least two labels and an alphabetic TLD).
func (d *detector) email(i int) {
	s := d.s
	l := i
	for l > 0 && i-l <= 64 && isLocal(s[l-1]) {
		l--
	}
	if i-l > 64 {
		return
	}
	for l < i && !isAlnum(s[l]) {
		l++
	}
	if l == i {
		return
	}
	r := i + 1
	for r < len(s) && r-i <= 253 && isDomain(s[r]) {
		r++
	}
	for r > i+1 && (s[r-1] == '.' || s[r-1] == '-') {
		r--
	}
	dom := s[i+1 : r]
	dot := strings.LastIndexByte(dom, '.')
	if dot <= 0 || strings.Contains(dom, "..") || dom[0] == '-' || dom[0] == '.' {
		return
	}
	tld := dom[dot+1:]
	if len(tld) < 2 {
		return
	}
	for k := 0; k < len(tld); k++ {
		if !isUpper(tld[k]) && !isLower(tld[k]) {
			return
		}
	}
	d.add(Email, l, r)
}
