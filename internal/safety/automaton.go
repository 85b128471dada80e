package safety

import (
	"fmt"
	"sort"
)

// automaton is an Aho-Corasick automaton over the bytes of normalized text. Byte matching
// is exact for whole UTF-8 patterns because UTF-8 synchronizes itself: a pattern that
// starts with a lead byte can only match at a rune start.
//
// The layout serves the scan loop, which is bound by memory latency, not arithmetic:
//   - States with many children (the root, and the states inside the first character of a
//     CJK term, which the scan visits most) are numbered first and get a dense row with
//     every transition resolved, failure links folded in: one load per byte. A state in
//     the middle of a UTF-8 sequence can only be followed by a continuation byte in valid
//     text, so its row has 64 entries (256 bytes) instead of 256 (1 KiB), and four times
//     as many of them fit in the cache budget.
//   - Other states keep a short sorted edge list and fall back along failure links.
//   - A transition target carries a flag bit saying whether any pattern ends there, so the
//     scan touches the output tables only on a match.
//
// Matching allocates nothing.
type automaton struct {
	nFull  int32        // states 0..nFull-1 have full[s]
	nDense int32        // states nFull..nDense-1 have small[s-nFull]
	full   [][256]int32 // dense transitions (refs)
	small  [][64]int32  // dense transitions on continuation bytes 0x80..0xBF (refs)
	sparse []acSparse   // per state: edge list and failure link
	edges  []acEdge     // targets are refs
	info   []acInfo     // per state, cold: outputs and depth
	patLen []int32      // pattern length in bytes
}

// A ref is a state id, with refOut set when a pattern ends at that state.
const refOut = 1 << 30

type acSparse struct {
	edge  int32 // first edge in edges
	nEdge int32
	fail  int32 // state id
}

type acEdge struct {
	b    byte
	next int32 // ref
}

type acInfo struct {
	out   int32 // pattern that ends exactly here, or -1
	dict  int32 // nearest state on the failure chain with out >= 0, or -1
	depth int32 // bytes from the root
}

// denseMin is the fan-out from which a state gets a full dense row (smallMin for a
// continuation row); denseBudget caps the rows' memory in bytes.
const (
	denseMin    = 6
	smallMin    = 2
	denseBudget = 16 << 20
)

// buildAutomaton compiles patterns; pattern i is reported as i. Empty patterns are an error;
// a duplicate is reported once, as its first index.
func buildAutomaton(patterns [][]byte) (*automaton, error) {
	type bnode struct {
		kids  []acEdge // next is a trie node index
		out   int32
		depth int32
		rem   int8 // continuation bytes still expected in the current character
	}
	nodes := []bnode{{out: -1}}
	child := make(map[uint64]int32)
	a := &automaton{patLen: make([]int32, len(patterns))}
	for i, p := range patterns {
		if len(p) == 0 {
			return nil, fmt.Errorf("safety: pattern %d is empty", i)
		}
		a.patLen[i] = int32(len(p))
		s := int32(0)
		for _, b := range p {
			k := uint64(s)<<8 | uint64(b)
			n, ok := child[k]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, bnode{out: -1, depth: nodes[s].depth + 1, rem: remAfter(nodes[s].rem, b)})
				nodes[s].kids = append(nodes[s].kids, acEdge{b, n})
				child[k] = n
			}
			s = n
		}
		if nodes[s].out < 0 {
			nodes[s].out = int32(i)
		}
	}
	child = nil
	if len(nodes) >= refOut {
		return nil, fmt.Errorf("safety: %d automaton states is too many", len(nodes))
	}

	// Breadth-first order; dense states first, shallowest first.
	order := make([]int32, 0, len(nodes))
	order = append(order, 0)
	for qi := 0; qi < len(order); qi++ {
		kids := nodes[order[qi]].kids
		sort.Slice(kids, func(x, y int) bool { return kids[x].b < kids[y].b })
		for _, e := range kids {
			order = append(order, e.next)
		}
	}
	// A mid-character state whose children are all continuation bytes can use a small row.
	midChar := func(n int32) bool {
		if nodes[n].rem <= 0 {
			return false
		}
		for _, e := range nodes[n].kids {
			if e.b&0xC0 != 0x80 {
				return false
			}
		}
		return true
	}
	const (
		kindSparse = iota
		kindFull
		kindSmall
	)
	kind := make([]uint8, len(nodes))
	budget := denseBudget
	for _, n := range order {
		switch k := len(nodes[n].kids); {
		case n == 0 || k >= denseMin && !midChar(n) && budget >= 1024:
			kind[n] = kindFull
			budget -= 1024
		case k >= smallMin && midChar(n) && budget >= 256:
			kind[n] = kindSmall
			budget -= 256
		}
	}
	id := make([]int32, len(nodes))
	next := int32(0)
	for _, want := range []uint8{kindFull, kindSmall, kindSparse} {
		if want == kindSmall {
			a.nFull = next
		}
		if want == kindSparse {
			a.nDense = next
		}
		for _, n := range order {
			if kind[n] == want {
				id[n] = next
				next++
			}
		}
	}
	kind = nil

	a.sparse = make([]acSparse, len(nodes))
	a.info = make([]acInfo, len(nodes))
	a.full = make([][256]int32, a.nFull)
	a.small = make([][64]int32, a.nDense-a.nFull)
	for n := range nodes {
		s := id[n]
		a.info[s] = acInfo{out: nodes[n].out, dict: -1, depth: nodes[n].depth}
		a.sparse[s] = acSparse{edge: int32(len(a.edges)), nEdge: int32(len(nodes[n].kids))}
		for _, e := range nodes[n].kids {
			a.edges = append(a.edges, acEdge{e.b, id[e.next]})
		}
	}
	nodes = nil

	// Failure and dictionary links in breadth-first order: a state's failure target is
	// shallower, so it is complete before it is needed. Rows are filled as states finish.
	for _, e := range a.kids(0) {
		a.full[0][e.b] = e.next
	}
	for qi := 1; qi < len(order); qi++ {
		s := id[order[qi]]
		f := a.sparse[s].fail
		switch {
		case s < a.nFull:
			row := &a.full[s]
			for b := 0; b < 256; b++ {
				row[b] = a.stepPlain(f, byte(b))
			}
			for _, e := range a.kids(s) {
				row[e.b] = e.next
			}
		case s < a.nDense:
			row := &a.small[s-a.nFull]
			for c := 0; c < 64; c++ {
				row[c] = a.stepPlain(f, byte(0x80|c))
			}
			for _, e := range a.kids(s) {
				row[e.b&0x3F] = e.next
			}
		}
		for _, e := range a.kids(s) {
			c := e.next
			f := int32(0)
			if s != 0 {
				f = a.stepPlain(a.sparse[s].fail, e.b)
			}
			a.sparse[c].fail = f
			if a.info[f].out >= 0 {
				a.info[c].dict = f
			} else {
				a.info[c].dict = a.info[f].dict
			}
		}
	}
	// Children of the root fail to the root; the loop above starts at depth 1, so do the
	// root's own children's links explicitly.
	for _, e := range a.kids(0) {
		a.sparse[e.next].fail = 0
		a.info[e.next].dict = -1
	}
	// Flag every transition into a state where some pattern ends.
	flag := func(r int32) int32 {
		if in := a.info[r&^refOut]; in.out >= 0 || in.dict >= 0 {
			return r | refOut
		}
		return r
	}
	for i := range a.edges {
		a.edges[i].next = flag(a.edges[i].next)
	}
	for s := range a.full {
		for b := range a.full[s] {
			a.full[s][b] = flag(a.full[s][b] &^ refOut)
		}
	}
	for s := range a.small {
		for c := range a.small[s] {
			a.small[s][c] = flag(a.small[s][c] &^ refOut)
		}
	}
	return a, nil
}

func (a *automaton) kids(s int32) []acEdge {
	sp := &a.sparse[s]
	return a.edges[sp.edge : sp.edge+sp.nEdge]
}

// stepPlain is step without the output flag; used while building.
func (a *automaton) stepPlain(s int32, b byte) int32 { return a.step(s, b) &^ refOut }

// step is the transition from state s on b, failure links followed. It returns a ref.
func (a *automaton) step(s int32, b byte) int32 {
	for {
		if s < a.nFull {
			return a.full[s][b]
		}
		sp := &a.sparse[s]
		if s < a.nDense {
			if b&0xC0 == 0x80 {
				return a.small[s-a.nFull][b&0x3F]
			}
			// Not a continuation byte (invalid text): s has no such child.
			s = sp.fail
			continue
		}
		for _, e := range a.edges[sp.edge : sp.edge+sp.nEdge] {
			if e.b == b {
				return e.next
			}
			if e.b > b {
				break
			}
		}
		s = sp.fail
	}
}

// outputs calls fn for each pattern ending at state s.
func (a *automaton) outputs(s int32, fn func(pat int32)) {
	in := &a.info[s]
	if in.out < 0 {
		s = in.dict
	}
	for s >= 0 {
		in = &a.info[s]
		fn(in.out)
		s = in.dict
	}
}

// depth is the length in bytes of the longest pattern prefix that ends at state s.
func (a *automaton) depth(s int32) int32 { return a.info[s].depth }

// countMatches runs the automaton over normalized text and counts pattern ends. It is the
// bare matching loop, used by benchmarks and tests.
func (a *automaton) countMatches(text []byte) int {
	n := 0
	s := int32(0)
	for _, b := range text {
		r := a.step(s, b)
		s = r &^ refOut
		if r&refOut != 0 {
			a.outputs(s, func(int32) { n++ })
		}
	}
	return n
}

// remAfter is how many continuation bytes are still expected after byte b, when rem were
// expected before it.
func remAfter(rem int8, b byte) int8 {
	switch {
	case rem > 0 && b&0xC0 == 0x80:
		return rem - 1
	case b >= 0xF0:
		return 3
	case b >= 0xE0:
		return 2
	case b >= 0xC0:
		return 1
	}
	return 0
}
