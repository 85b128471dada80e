package privacy

import (
	"strings"
	"unicode/utf8"
)

// Address components, by what they say about precision.
const (
	compAdmin = iota // 省/市/区/县/镇/街道: coarse on its own
	compRoad         // 路/街/巷/弄
	compPlace        // 小区/大厦/村
	compNum          // 88号, 3单元, 402室, A座
)

// maxNameRunes bounds the name part of one component (内蒙古自治区 has three, 乌鲁木齐 four,
// long road names six).
const maxNameRunes = 8

// address parses an address starting at p with the component grammar and returns its end.
// An address must reach street level: a number, or a road or place with an administrative
// prefix; after a cue (地址：) a road or place alone is enough. A district alone is coarse
// and not personal.
//
// A cue-less parse that fails makes every cue-less start before the point where it stopped
// fail too (it would see the same components, or fewer), so those starts are skipped: this
// keeps text like 北京市朝阳区北京市朝阳区… linear with a small constant.
func (d *detector) address(p int, cue bool) (int, bool) {
	if !cue && p < d.addrFail {
		return 0, false
	}
	s := d.s
	var has [4]bool
	n := 0
	end := p
	for q := p; q < len(s) && n < 16; {
		kind, e := component(s, q)
		if e < 0 {
			// One space may separate components: 北京市 朝阳区.
			if s[q] == ' ' && q+1 < len(s) && q > p {
				if k2, e2 := component(s, q+1); e2 > 0 {
					kind, e = k2, e2
				}
			}
			if e < 0 {
				break
			}
		}
		has[kind] = true
		n++
		q = e
		end = e
	}
	ok := has[compNum] && (has[compRoad] || has[compPlace] || has[compAdmin]) ||
		(has[compRoad] || has[compPlace]) && (has[compAdmin] || cue)
	if !ok || utf8.RuneCountInString(s[p:end]) < 4 {
		if !cue {
			d.addrFail = max(d.addrFail, end)
		}
		return 0, false
	}
	return end, true
}

// component parses one address component at q and returns its kind and end, or -1.
func component(s string, q int) (int, int) {
	c := s[q]
	if isDigit(c) {
		e := q
		for e < len(s) && (isDigit(s[e]) || s[e] == '-' && e+1 < len(s) && isDigit(s[e+1])) {
			e++
		}
		if suf := hasSuffix(s, e, numSuffixes); suf > 0 {
			return compNum, e + suf
		}
		return 0, -1
	}
	if isUpper(c) {
		if suf := hasSuffix(s, q+1, numSuffixes); suf > 0 {
			return compNum, q + 1 + suf
		}
		return 0, -1
	}
	if !isHan(firstRune(s[q:])) {
		return 0, -1
	}
	// A place word standing alone after a name: 天津中心写字楼.
	for _, x := range placeSuffixes {
		if len(x) > 3 && strings.HasPrefix(s[q:], x) && hasSuffix(s, q+len(x), roadSuffixes) == 0 {
			return compPlace, q + len(x)
		}
	}
	// A Han name of 1–maxNameRunes characters and the first suffix that follows it. A name
	// followed directly by a house or building number is a building: 太古汇2座.
	e := q
	for k := 0; k < maxNameRunes && e < len(s); k++ {
		r, n := utf8.DecodeRuneInString(s[e:])
		if !isHan(r) || stopSet[r] {
			if k >= 2 && isDigit(s[e]) {
				if kind, _ := component(s, e); kind == compNum {
					return compPlace, e
				}
			}
			return 0, -1
		}
		e += n
		if !suffixStart(s, e) {
			continue
		}
		for kind, list := range [...][]string{compAdmin: adminSuffixes, compRoad: roadSuffixes, compPlace: placeSuffixes, compNum: numSuffixes} {
			if kind == compNum {
				continue
			}
			if suf := hasSuffix(s, e, list); suf > 0 {
				if kind == compPlace && hasSuffix(s, e+suf, roadSuffixes) > 0 {
					continue // 花园路, 公园路: the place word is part of a road name
				}
				return kind, e + suf
			}
		}
	}
	return 0, -1
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }

// suffixStart reports whether an address suffix may start at p.
func suffixStart(s string, p int) bool {
	r := firstRune(s[p:])
	return r >= hanBase && r <= hanEnd && hanFlags[r-hanBase]&fSuffix != 0
}

// hasSuffix returns the length of the first of list that s has at p, or 0.
func hasSuffix(s string, p int, list []string) int {
	for _, x := range list {
		if strings.HasPrefix(s[p:], x) {
			return len(x)
		}
	}
	return 0
}

// roadAnchor finds addresses that start with no cue and no known division: it fires on a
// road suffix followed by a house number (建国路88号), walks back over the name characters,
// and parses forward from the farthest start that yields an address.
func (d *detector) roadAnchor(i int) {
	s := d.s
	_, size := utf8.DecodeRuneInString(s[i:])
	k := i + size
	if k < len(s) && !isDigit(s[k]) {
		// 大街, 大道: the suffix may be two characters.
		_, n2 := utf8.DecodeRuneInString(s[k:])
		k += n2
	}
	if k >= len(s) || !isDigit(s[k]) {
		return
	}
	starts := make([]int, 0, 16)
	p := i
	for len(starts) < 20 && p > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:p])
		if !isHan(r) || stopSet[r] {
			break
		}
		p -= n
		starts = append(starts, p)
	}
	for k := len(starts) - 1; k >= 0; k-- {
		if starts[k] < d.addrUntil {
			continue
		}
		if end, ok := d.address(starts[k], false); ok && end > i {
			d.add(Address, starts[k], end)
			d.addrUntil = end
			return
		}
	}
}
