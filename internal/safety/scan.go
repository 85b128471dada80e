package safety

import (
	"unicode/utf8"
)

// scanner runs one text (a message, or one channel of a streamed answer) through a lexicon.
// Raw text is fed in pieces of any size, even pieces that split a UTF-8 sequence; the
// scanner normalizes rune by rune, steps the automaton byte by byte and keeps only a ring
// of per-byte facts as long as the longest term, so its memory does not grow with the text.
type scanner struct {
	lx    *lexicon
	state int32
	pos   int64 // normalized bytes emitted
	runes int64 // normalized runes emitted
	raw   int64 // raw bytes consumed

	sepPending bool // a separator was removed since the last emitted rune
	ring       []ringEnt
	mask       int64
	pending    []match    // matches waiting for the byte after them (word boundary)
	ghits      []groupHit // recent group hits, for combos
	// deferCombos waits for the whole window after a combo before deciding it, so an
	// unless term that follows ("如何…炸药…的历史", "勒索病毒，企业如何防范") counts too.
	// Whole-text scans and streams both use it: a stream holds the candidate's text back
	// (holdFrom) until the window has passed, so streamed and whole-text decisions agree.
	deferCombos bool
	cands       []candidate

	partial  [utf8.UTFMax]byte // an incomplete UTF-8 sequence at the end of the last piece
	npartial int
	buf      []byte

	// Results.
	block *Hit
	flags []Hit
}

// maxFlags bounds the flag hits one scan records.
const maxFlags = 32

type ringEnt struct {
	src   int64 // raw offset of the rune this byte came from
	rn    int64 // normalized rune index (1-based) this byte belongs to
	sep   bool  // a separator was removed right before this byte
	alnum bool  // this byte is an ASCII letter or digit
}

type match struct {
	pat        int32
	start, end int64 // normalized byte offsets, end exclusive
}

type groupHit struct {
	group      int32
	start, end int64 // normalized rune indexes, inclusive
	src        int64
}

// Hit is one rule that matched.
type Hit struct {
	Rule     string   `json:"rule"`
	Action   Action   `json:"action"`
	Category Category `json:"category,omitempty"`
	// Offset is the raw byte offset, in the scanned text, where the match begins.
	Offset int64 `json:"-"`
	// Term is the normalized pack term that completed the match (never the raw text). It
	// leaves the package only with record_term.
	Term string `json:"term,omitempty"`
}

func newScanner(lx *lexicon) *scanner {
	normOnce.Do(initNorm)
	n := int64(16)
	for n < int64(lx.maxPat)+4 {
		n <<= 1
	}
	return &scanner{lx: lx, ring: make([]ringEnt, n), mask: n - 1, buf: make([]byte, 0, 16)}
}

// reset prepares the scanner for another text with the same lexicon.
func (s *scanner) reset() {
	s.state, s.pos, s.runes, s.raw = 0, 0, 0, 0
	s.sepPending, s.npartial = false, 0
	s.pending, s.ghits, s.flags, s.cands = s.pending[:0], s.ghits[:0], s.flags[:0], s.cands[:0]
	s.block = nil
}

// feed scans the next piece of raw text. It stops early once something blocks.
func (s *scanner) feed(text string) {
	if s.lx.ac == nil || s.block != nil {
		s.raw += int64(len(text))
		return
	}
	for s.npartial > 0 && s.block == nil {
		// A rune split across pieces: join the held bytes with the start of this piece.
		var cand [2 * utf8.UTFMax]byte
		n := copy(cand[:], s.partial[:s.npartial])
		n += copy(cand[n:utf8.UTFMax], text)
		if !utf8.FullRune(cand[:n]) {
			s.npartial = copy(s.partial[:], cand[:n])
			return
		}
		r, size := utf8.DecodeRune(cand[:n])
		if size >= s.npartial {
			text = text[size-s.npartial:]
			s.npartial = 0
			s.rune(r, size)
			continue
		}
		// The held bytes do not start a valid sequence: drop one and try again.
		s.rune(utf8.RuneError, 1)
		s.npartial = copy(s.partial[:], s.partial[1:s.npartial])
	}
	if s.block != nil {
		s.raw += int64(len(text))
		return
	}
	s.feedBytes(text)
}

func (s *scanner) feedBytes(text string) {
	for len(text) > 0 && s.block == nil {
		c := text[0]
		if c < utf8.RuneSelf {
			s.rune(rune(c), 1)
			text = text[1:]
			continue
		}
		if !utf8.FullRuneInString(text) {
			s.npartial = copy(s.partial[:], text)
			return
		}
		r, size := utf8.DecodeRuneInString(text)
		s.rune(r, size)
		text = text[size:]
	}
	if s.block != nil {
		s.raw += int64(len(text))
	}
}

// finish ends the text: an incomplete trailing sequence is dropped as invalid, and matches
// waiting for a following byte are decided (the end of text is a word boundary).
func (s *scanner) finish() {
	for i := 0; i < s.npartial && s.block == nil; i++ {
		s.rune(utf8.RuneError, 1)
	}
	s.npartial = 0
	s.resolvePending(true)
	if len(s.cands) > 0 && s.block == nil {
		s.settle(-1)
	}
}

// rune processes one raw rune of size bytes.
func (s *scanner) rune(r rune, size int) {
	src := s.raw
	s.raw += int64(size)
	var cls runeClass
	if r < utf8.RuneSelf {
		c := asciiTab[r]
		if c == 0 {
			s.separator()
			return
		}
		s.buf = append(s.buf[:0], c)
		cls = classKeep
	} else {
		cls, s.buf = appendRune(s.buf[:0], r)
	}
	switch cls {
	case classSep:
		s.separator()
		return
	case classZW:
		return
	}
	ac := s.lx.ac
	for i, b := range s.buf {
		if b&0xC0 != 0x80 {
			s.runes++
		}
		e := &s.ring[s.pos&s.mask]
		*e = ringEnt{src: src, rn: s.runes, sep: i == 0 && s.sepPending, alnum: isAlnum(b)}
		if i == 0 && len(s.pending) > 0 {
			s.resolvePending(e.sep || !e.alnum)
			if s.block != nil {
				return
			}
		}
		if i == 0 && len(s.cands) > 0 && s.runes > int64(s.lx.maxPat) {
			// A deferred combo whose window is behind every term that could still be in
			// progress cannot be lifted any more: decide it now, so its text is never
			// released undecided. (settle(-1) would settle everything: hence the guard.)
			s.settle(s.runes - int64(s.lx.maxPat))
			if s.block != nil {
				return
			}
		}
		r := ac.step(s.state, b)
		s.state = r &^ refOut
		s.pos++
		if r&refOut != 0 {
			ac.outputs(s.state, s.onMatch)
			if s.block != nil {
				return
			}
		}
	}
	s.sepPending = false
}

// separator notes a separator. Matches waiting for what follows them are decided now: the
// next rune, whatever it is, will count as a word boundary. Waiting for it would hold their
// text while separators go on, and the output window would let it out undecided.
func (s *scanner) separator() {
	s.sepPending = true
	s.resolvePending(true) // as the next rune would
}

// resolvePending decides the matches waiting for what follows them; the first block stands.
func (s *scanner) resolvePending(endOK bool) {
	for _, m := range s.pending {
		if s.block != nil {
			break
		}
		s.resolve(m, endOK)
	}
	s.pending = s.pending[:0]
}

func (s *scanner) onMatch(pat int32) {
	if s.block != nil {
		return
	}
	m := match{pat: pat, start: s.pos - int64(s.lx.ac.patLen[pat]), end: s.pos}
	if s.lx.needEnd[pat] {
		s.pending = append(s.pending, m)
		return
	}
	s.resolve(m, true)
}

// resolve applies a match whose following byte (or end of text) is known.
func (s *scanner) resolve(m match, endOK bool) {
	startOK := m.start == 0
	if !startOK {
		cur := s.ring[m.start&s.mask]
		startOK = cur.sep || !s.ring[(m.start-1)&s.mask].alnum
	}
	lx := s.lx
	for _, u := range lx.uses[lx.useStart[m.pat]:lx.useStart[m.pat+1]] {
		if u.startBound && !startOK || u.endBound && !endOK {
			continue
		}
		first := s.ring[m.start&s.mask]
		if u.group {
			h := groupHit{group: u.idx, start: first.rn, end: s.ring[(m.end-1)&s.mask].rn, src: first.src}
			s.addGroupHit(h, m.pat)
		} else {
			s.apply(u.idx, first.src, m.pat)
		}
		if s.block != nil {
			return
		}
	}
}

func (s *scanner) apply(rule int32, src int64, pat int32) {
	ri := s.lx.rules[rule]
	h := Hit{Rule: ri.ID, Action: ri.Action, Category: ri.Category, Offset: src, Term: string(s.patText(pat))}
	if ri.Action == ActionBlock {
		s.block = &h
		return
	}
	// Flags are evidence, not decisions: keep the first maxFlags distinct rules so that a
	// text full of flagged terms costs neither quadratic time nor unbounded memory.
	if len(s.flags) >= maxFlags {
		return
	}
	for _, f := range s.flags {
		if f.Rule == h.Rule {
			return
		}
	}
	s.flags = append(s.flags, h)
}

func (s *scanner) patText(pat int32) []byte {
	return s.lx.patterns[pat]
}

// addGroupHit records a group term and checks the combos the group is part of.
func (s *scanner) addGroupHit(h groupHit, pat int32) {
	lx := s.lx
	// Deferred combos whose window is now behind us cannot gain an unless hit any more.
	if len(s.cands) > 0 {
		s.settle(h.start)
		if s.block != nil {
			return
		}
	}
	// Forget hits too far back to pair with anything from here on.
	if len(s.ghits) >= 32 {
		keep := s.ghits[:0]
		for _, g := range s.ghits {
			if h.start-g.end <= 3*int64(lx.maxWindow)+1 {
				keep = append(keep, g)
			}
		}
		s.ghits = keep
		if len(s.ghits) >= 256 {
			// Pathological text (the same term over and over): keep the newest half.
			s.ghits = append(s.ghits[:0], s.ghits[len(s.ghits)/2:]...)
		}
	}
	s.ghits = append(s.ghits, h)
	for _, ci := range lx.groupCombos[h.group] {
		c := &lx.combos[ci]
		cand, ok := s.partners(ci, c, h, pat)
		if !ok {
			continue
		}
		if s.deferCombos {
			if len(s.cands) < 64 {
				s.cands = append(s.cands, cand)
			}
			continue
		}
		if !s.suppressed(c, &cand) {
			s.apply(c.rule, h.src, pat)
			if s.block != nil {
				return
			}
		}
	}
}

// settle decides the deferred combos that no hit starting at rune pos or later can lift.
// pos < 0 settles all (end of text).
func (s *scanner) settle(pos int64) {
	keep := s.cands[:0]
	for _, cand := range s.cands {
		c := &s.lx.combos[cand.combo]
		// An unless hit starting at pos lies within the window (gap <= window) while
		// pos-end <= window+1.
		if pos >= 0 && pos-cand.end() <= int64(c.window)+1 {
			keep = append(keep, cand)
			continue
		}
		if s.block == nil && !s.suppressed(c, &cand) {
			s.apply(c.rule, cand.h.src, cand.pat)
		}
	}
	s.cands = keep
}

// decideBefore decides now, failing closed, the matches and combos that hold text before
// raw offset src: a match waiting for its word boundary counts as ending a word, a combo
// waiting for an unless term is decided without it. A stream calls it when its output
// window would otherwise release that text undecided.
func (s *scanner) decideBefore(src int64) {
	keep := s.pending[:0]
	for _, m := range s.pending {
		if s.block == nil && s.ring[m.start&s.mask].src < src {
			s.resolve(m, true)
			continue
		}
		keep = append(keep, m)
	}
	s.pending = keep
	kept := s.cands[:0]
	for _, cand := range s.cands {
		if s.block == nil && cand.holdsFrom() < src {
			if c := &s.lx.combos[cand.combo]; !s.suppressed(c, &cand) {
				s.apply(c.rule, cand.h.src, cand.pat)
			}
			continue
		}
		kept = append(kept, cand)
	}
	s.cands = kept
}

// holdsFrom is the raw offset of the candidate's first term.
func (c *candidate) holdsFrom() int64 {
	h := c.h.src
	for _, p := range c.near[:c.n] {
		if p.src < h {
			h = p.src
		}
	}
	return h
}

// candidate is a combo whose groups all matched, waiting to see whether an unless term
// follows within the window.
type candidate struct {
	combo int32
	pat   int32
	h     groupHit
	near  [4]groupHit
	n     int
}

func (c *candidate) end() int64 {
	e := c.h.end
	for _, p := range c.near[:c.n] {
		if p.end > e {
			e = p.end
		}
	}
	return e
}

// gap is the number of normalized runes between two spans (0 when they touch or overlap).
func gap(a, b groupHit) int64 {
	lo, hi := a.end, b.start
	if b.end < a.start {
		lo, hi = b.end, a.start
	}
	if d := hi - lo - 1; d > 0 {
		return d
	}
	return 0
}

// partners finds, for the new hit h, a hit of every other group of combo c within its
// window.
func (s *scanner) partners(ci int32, c *comboInfo, h groupHit, pat int32) (candidate, bool) {
	cand := candidate{combo: ci, pat: pat, h: h}
	in := false
	for _, g := range c.groups {
		if g == h.group {
			in = true
		}
	}
	if !in {
		return cand, false // h belongs to an unless group of c: it cannot complete it
	}
	w := int64(c.window)
	for _, g := range c.groups {
		if g == h.group {
			continue
		}
		found := false
		for i := len(s.ghits) - 1; i >= 0; i-- {
			o := s.ghits[i]
			if o.group == g && gap(o, h) <= w {
				cand.near[cand.n] = o
				cand.n++
				found = true
				break
			}
		}
		if !found {
			return cand, false
		}
	}
	return cand, true
}

// suppressed reports whether an unless-group hit lies within the window of the
// candidate's hits.
func (s *scanner) suppressed(c *comboInfo, cand *candidate) bool {
	w := int64(c.window)
	for _, u := range c.unless {
		for _, o := range s.ghits {
			if o.group != u {
				continue
			}
			if gap(o, cand.h) <= w {
				return true
			}
			for _, p := range cand.near[:cand.n] {
				if gap(o, p) <= w {
					return true
				}
			}
		}
	}
	return false
}

// holdFrom is the raw offset from which text must still be held back: the start of the
// longest suffix that is a prefix of some term, of a match waiting for its boundary, or of
// a combo term whose partner could still follow. Text before it can never become part of
// a match.
func (s *scanner) holdFrom() int64 {
	h := s.raw
	if s.lx.ac == nil {
		return h
	}
	if d := int64(s.lx.ac.depth(s.state)); d > 0 {
		if src := s.ring[(s.pos-d)&s.mask].src; src < h {
			h = src
		}
	}
	for _, m := range s.pending {
		if src := s.ring[m.start&s.mask].src; src < h {
			h = src
		}
	}
	// A combo waiting for its window to pass (an unless term may still lift it) holds
	// everything from its first term.
	for i := range s.cands {
		c := &s.cands[i]
		if c.h.src < h {
			h = c.h.src
		}
		for _, p := range c.near[:c.n] {
			if p.src < h {
				h = p.src
			}
		}
	}
	// A combo's first term waits while a partner could still follow, so that nothing of
	// a blocked combination goes out (the output window still bounds the hold).
	for _, g := range s.ghits {
		if w := int64(s.lx.groupWindow[g.group]); w > 0 && s.runes-g.end <= w && g.src < h {
			h = g.src
		}
	}
	return h
}
