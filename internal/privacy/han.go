package privacy

import (
	"strings"
	"unicode/utf8"
)

// Flags for Han characters that can start something: a table lookup per character keeps
// the pass over Chinese text cheap.
const (
	fPlate    = 1 << iota // a province abbreviation (京, 沪, ...)
	fNameCue              // first character of a cue before a name
	fTitle                // first character of a title after a name
	fAddrCue              // first character of an address cue
	fDivision             // first character of a division name
	fRoad                 // a road suffix character (路, 街, ...)
	fSurname              // a surname (aggressive names)
	fSuffix               // first character of an address suffix
)

const hanBase, hanEnd = 0x4E00, 0x9FFF

var hanFlags [hanEnd - hanBase + 1]uint8

// hanCues holds, per first character, the cues and division names that start with it, so a
// flagged character is compared only with its own few candidates. hanCueIndex maps a
// character to its entry (0: none).
type hanCue struct {
	nameBefore, nameWeak, nameAfter, addrCues, divisions []string
}

var (
	hanCueIndex [hanEnd - hanBase + 1]uint16
	hanCues     = []hanCue{{}}
)

func cueEntry(r rune) *hanCue {
	i := hanCueIndex[r-hanBase]
	if i == 0 {
		hanCues = append(hanCues, hanCue{})
		i = uint16(len(hanCues) - 1)
		hanCueIndex[r-hanBase] = i
	}
	return &hanCues[i]
}

var (
	givenSet   = runeSet(givenChars)
	surnameSet = runeSet(surnames)
	stopSet    = runeSet(addrStop)
)

func init() {
	set := func(r rune, f uint8) {
		if r >= hanBase && r <= hanEnd {
			hanFlags[r-hanBase] |= f
		}
	}
	first := func(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }
	for _, r := range "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼" {
		set(r, fPlate)
	}
	for _, c := range nameBefore {
		set(first(c), fNameCue)
		e := cueEntry(first(c))
		e.nameBefore = append(e.nameBefore, c)
	}
	for _, c := range nameBeforeWeak {
		set(first(c), fNameCue)
		e := cueEntry(first(c))
		e.nameWeak = append(e.nameWeak, c)
	}
	for _, c := range nameAfter {
		set(first(c), fTitle)
		e := cueEntry(first(c))
		e.nameAfter = append(e.nameAfter, c)
	}
	for _, c := range addrCues {
		set(first(c), fAddrCue)
		e := cueEntry(first(c))
		e.addrCues = append(e.addrCues, c)
	}
	for _, c := range divisionNames {
		set(first(c), fDivision)
		e := cueEntry(first(c))
		e.divisions = append(e.divisions, c)
	}
	for _, c := range roadSuffixes {
		set(first(c), fRoad)
	}
	for _, list := range [][]string{adminSuffixes, roadSuffixes, placeSuffixes, numSuffixes} {
		for _, c := range list {
			set(first(c), fSuffix)
		}
	}
	for _, r := range surnames {
		set(r, fSurname)
	}
	for _, c := range compoundSurnames {
		set(first(c), fSurname)
	}
}

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool, len(s)/3)
	for _, r := range s {
		m[r] = true
	}
	return m
}

// han dispatches the Han character r at i to the recognizers it can start.
func (d *detector) han(i int, r rune, size int) {
	if r < hanBase || r > hanEnd {
		return
	}
	f := hanFlags[r-hanBase]
	if f == 0 {
		return
	}
	s := d.s
	cue := &hanCues[hanCueIndex[r-hanBase]]
	if f&fPlate != 0 {
		d.plate(i, size)
	}
	if f&fNameCue != 0 {
		for _, c := range cue.nameBefore {
			if strings.HasPrefix(s[i:], c) {
				d.nameAfterCue(i+len(c), false)
				break
			}
		}
		for _, c := range cue.nameWeak {
			if strings.HasPrefix(s[i:], c) {
				d.nameAfterCue(i+len(c), true)
				break
			}
		}
	}
	if f&fTitle != 0 && i > 0 {
		for _, c := range cue.nameAfter {
			if strings.HasPrefix(s[i:], c) {
				d.nameBeforeTitle(i)
				break
			}
		}
	}
	if f&fSurname != 0 && d.aggressive {
		d.nameBare(i)
	}
	if i < d.addrUntil {
		return
	}
	if f&fAddrCue != 0 {
		for _, c := range cue.addrCues {
			if strings.HasPrefix(s[i:], c) {
				p := skipPunct(s, i+len(c))
				if end, ok := d.address(p, true); ok {
					d.add(Address, p, end)
					d.addrUntil = end
					return
				}
				break
			}
		}
	}
	if f&fDivision != 0 {
		for _, c := range cue.divisions {
			if strings.HasPrefix(s[i:], c) {
				if end, ok := d.address(i, false); ok {
					d.add(Address, i, end)
					d.addrUntil = end
					return
				}
				break
			}
		}
	}
	if f&fRoad != 0 {
		d.roadAnchor(i)
	}
}

// skipPunct skips a colon, 是/为 and spaces after a cue.
func skipPunct(s string, p int) int {
	for p < len(s) {
		switch {
		case s[p] == ':' || s[p] == ' ':
			p++
		case strings.HasPrefix(s[p:], "："), strings.HasPrefix(s[p:], "是"), strings.HasPrefix(s[p:], "为"):
			p += 3
		default:
			return p
		}
	}
	return p
}

// surnameAt returns the length in bytes of a surname starting at p, preferring a compound one.
func surnameAt(s string, p int) int {
	for _, c := range compoundSurnames {
		if strings.HasPrefix(s[p:], c) {
			return len(c)
		}
	}
	r, n := utf8.DecodeRuneInString(s[p:])
	if surnameSet[r] {
		return n
	}
	return 0
}

// givenAfter returns the end of up to max given-name characters from p.
func givenAfter(s string, p, max int) int {
	for k := 0; k < max && p < len(s); k++ {
		r, n := utf8.DecodeRuneInString(s[p:])
		if !givenSet[r] {
			break
		}
		p += n
	}
	return p
}

// titleWord reports whether the bare "surname" at s[p:t] is really the start of a longer
// title: 班主任 is a class teacher, not Mr 班.
func titleWord(s string, p, t int) bool {
	return s[p:t] == "班" && strings.HasPrefix(s[t:], "主任")
}

// givenBetween reports whether s[p:t] is at most two given-name characters.
func givenBetween(s string, p, t int) bool {
	for k := 0; p < t; k++ {
		r, n := utf8.DecodeRuneInString(s[p:])
		if k == 2 || !givenSet[r] {
			return false
		}
		p += n
	}
	return true
}

// nameAfterCue finds a name right after a cue: 我叫张伟 → 张伟. After a strong cue the
// last given character may be outside the given-name list when the name ends there (曹雪芹，).
// After a weak cue (我是) the name must end at a boundary.
func (d *detector) nameAfterCue(p int, weak bool) {
	s := d.s
	p = skipPunct(s, p)
	sn := surnameAt(s, p)
	if sn == 0 {
		return
	}
	e := givenAfter(s, p+sn, 2)
	if !weak && e-(p+sn) < 6 {
		// One more character that is not a given-name one, if the name ends after it.
		if r, n := utf8.DecodeRuneInString(s[e:]); isHan(r) && !stopSet[r] && nameEnds(s, e+n) {
			e += n
		}
	}
	if e == p+sn || weak && !nameEnds(s, e) || notName[s[p:e]] {
		return
	}
	d.add(Name, p, e)
}

// nameEnds reports whether a name can end at p: the text ends, or punctuation, a non-Han
// character or a function word follows.
func nameEnds(s string, p int) bool {
	if p >= len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[p:])
	return !isHan(r) || stopSet[r]
}

// nameBeforeTitle finds a name or a bare surname before a title at t: 王小明先生, 李经理.
// The name is the longest surname + given-name shape that ends at the title.
func (d *detector) nameBeforeTitle(t int) {
	s := d.s
	// Walk back at most three characters (or a compound surname and two).
	starts := make([]int, 0, 4)
	p := t
	for k := 0; k < 4 && p > 0; k++ {
		r, n := utf8.DecodeLastRuneInString(s[:p])
		if !isHan(r) {
			break
		}
		p -= n
		starts = append(starts, p)
	}
	for k := len(starts) - 1; k >= 0; k-- {
		p := starts[k]
		sn := surnameAt(s, p)
		if sn == 0 || p+sn > t {
			continue
		}
		if givenBetween(s, p+sn, t) && !(p+sn == t && titleWord(s, p, t)) {
			d.add(Name, p, t)
			return
		}
	}
}

// nameBare is the aggressive mode: a surname followed by one or two given-name characters,
// standing between non-Han text or function words.
func (d *detector) nameBare(p int) {
	s := d.s
	if p > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:p])
		if isHan(r) && !stopSet[r] && r != '和' && r != '跟' {
			return
		}
	}
	sn := surnameAt(s, p)
	if sn == 0 {
		return
	}
	e := givenAfter(s, p+sn, 2)
	if e == p+sn {
		return
	}
	if r, _ := utf8.DecodeRuneInString(s[e:]); isHan(r) && givenSet[r] {
		return
	}
	d.weak = append(d.weak, Match{Type: Name, Start: p, End: e})
}
