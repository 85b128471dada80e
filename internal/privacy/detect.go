package privacy

import (
	"sort"
	"time"
	"unicode/utf8"
)

// Detect returns the personal data in text that the engine's configuration protects, in
// text order, without overlaps. Offsets are byte offsets into text. It never panics on bad
// input (invalid UTF-8, huge tokens); see Protect for the fail-closed wrapper used on the
// request path.
func (e *Engine) Detect(text string) []Match {
	all := detectAll(text, e.aggressive, e.now())
	out := all[:0]
	for _, m := range all {
		t, ok := e.effectiveType(m.Type)
		if !ok {
			continue
		}
		m.Type = t
		out = append(out, m)
	}
	return out
}

// effectiveType maps a detected type to the type the profile protects it as. A UnionPay
// card is a bank_card in China and a payment_card where only international types are on.
func (e *Engine) effectiveType(t Type) (Type, bool) {
	if e.cfg.action(t) != ActionOff {
		return t, true
	}
	if t == BankCard && e.cfg.action(PaymentCard) != ActionOff {
		return PaymentCard, true
	}
	return "", false
}

// detector is the state of one pass over a (folded) text.
type detector struct {
	s          string
	now        time.Time
	aggressive bool
	out        []Match
	weak       []Match // aggressive-mode names: kept only where nothing else matched
	v6until    int     // IPv6 candidates already tried up to here
	addrUntil  int     // address spans already found up to here
	addrFail   int     // a cue-less parse failed up to here: later starts before it fail too
}

// detectAll runs every recognizer over text and resolves overlaps.
func detectAll(text string, aggressive bool, now time.Time) []Match {
	s, off := fold(text)
	d := detector{s: s, now: now, aggressive: aggressive}
	d.scan()
	if len(d.out) == 0 && len(d.weak) == 0 {
		return nil
	}
	ms := resolve(d.out)
	if len(d.weak) > 0 {
		ms = resolve(append(ms, outside(d.weak, ms)...))
	}
	for i := range ms {
		if off != nil {
			ms[i].Start, ms[i].End = off[ms[i].Start], off[ms[i].End]
		}
		ms[i].Text = text[ms[i].Start:ms[i].End]
	}
	return ms
}

func (d *detector) add(t Type, start, end int) {
	d.out = append(d.out, Match{Type: t, Start: start, End: end})
}

// scan is the one pass over the text: ASCII alphanumeric tokens go to the token
// recognizers, '@' and ':' to e-mail and IPv6, Han characters to plates, names and
// addresses.
func (d *detector) scan() {
	s := d.s
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isAlnum(c) {
				j := i + 1
				for j < len(s) && isAlnum(s[j]) {
					j++
				}
				i = d.token(i, j)
				continue
			}
			switch c {
			case '@':
				d.email(i)
			case ':':
				if i >= d.v6until {
					d.ipv6(i)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isHan(r) {
			d.han(i, r, size)
		}
		i += size
	}
}

// token handles the ASCII alphanumeric run s[i:j] and returns where scanning resumes.
func (d *detector) token(i, j int) int {
	s := d.s
	t := s[i:j]
	digits, x := digitToken(t)
	if digits {
		return d.numeric(i, j, x)
	}
	n := j - i
	switch {
	case n == 18 && validUSCC(upperASCII(t)):
		d.add(USCC, i, j)
	case n >= 4 && isUpper(t[0]) && isUpper(t[1]) && isDigit(t[2]) && isDigit(t[3]):
		if end, ok := d.iban(i, j); ok {
			d.add(IBAN, i, end)
			return end
		}
	}
	if n >= 8 && n <= 11 && isUpper(t[0]) {
		d.passport(i, j)
	}
	return j
}

// digitToken reports whether t is all digits, or 17 digits and an X (a resident ID).
func digitToken(t string) (digits, x bool) {
	n := len(t)
	if n == 18 && (t[17] == 'X' || t[17] == 'x') && allDigits(t[:17]) {
		return true, true
	}
	return allDigits(t), false
}

// resolve sorts matches and drops overlaps: the earlier start wins, then the longer span
// (an e-mail address wins over the phone number that is its local part).
func resolve(ms []Match) []Match {
	sort.SliceStable(ms, func(a, b int) bool {
		if ms[a].Start != ms[b].Start {
			return ms[a].Start < ms[b].Start
		}
		return ms[a].End > ms[b].End
	})
	out := ms[:0]
	end := -1
	for _, m := range ms {
		if m.Start < end || m.End <= m.Start {
			continue
		}
		out = append(out, m)
		end = m.End
	}
	return out
}

// outside returns the matches of weak that overlap none of strong (both sorted or not).
func outside(weak, strong []Match) []Match {
	var out []Match
	for _, w := range weak {
		ok := true
		for _, s := range strong {
			if w.Start < s.End && s.Start < w.End {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, w)
		}
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isUpper(c) || isLower(c) }
func isHan(r rune) bool   { return r >= 0x3400 && r <= 0x9FFF || r >= 0xF900 && r <= 0xFAFF }

func upperASCII(t string) string {
	for i := 0; i < len(t); i++ {
		if isLower(t[i]) {
			b := []byte(t)
			for k := i; k < len(b); k++ {
				b[k] = upper(b[k])
			}
			return string(b)
		}
	}
	return t
}
