package safety

import (
	"fmt"
	"sort"
)

// automaton is an Aho-Corasick automaton over the bytes of normalized text. Byte matching
// is exact for whole UTF-8 patterns because UTF-8 synchronizes itself: a pattern that
// starts with a lead byte can only match at a rune start.
//
// Layout favours the scan loop: states are one small struct each; a state with many
// children (the root, and the states after the lead byte of a CJK character) gets a dense
// 256-entry row with every transition resolved (failure links folded in), the others keep
// a short sorted edge list and fall back along failure links. Matching allocates nothing.
type automaton struct {
	states []acState
	edges  []acEdge
	rows   [][256]int32
	// patLen is each pattern's length in bytes.
	patLen []int32
}

type acState struct {
	edge  int32 // first edge in edges
	nEdge int32
	dense int32 // row in rows, or -1
	fail  int32
	out   int32 // pattern that ends exactly here, or -1
	dict  int32 // nearest state on the failure chain with out >= 0, or -1
	depth int32 // bytes from the root
}

type acEdge struct {
	b    byte
	next int32
}

// denseMin is the fan-out from which a state gets a dense row; maxRows caps their memory
// (1 KiB each).
const (
	denseMin = 6
	maxRows  = 16384
)

// buildAutomaton compiles patterns; pattern i is reported as i. Empty patterns are an error;
// duplicates are the caller's business (they are reported once, as the first index).
func buildAutomaton(patterns [][]byte) (*automaton, error) {
	type bnode struct {
		kids []acEdge
		out  int32
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
				nodes = append(nodes, bnode{out: -1})
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

	a.states = make([]acState, len(nodes))
	total := 0
	for i := range nodes {
		total += len(nodes[i].kids)
	}
	a.edges = make([]acEdge, 0, total)
	for i := range nodes {
		kids := nodes[i].kids
		sort.Slice(kids, func(x, y int) bool { return kids[x].b < kids[y].b })
		a.states[i] = acState{edge: int32(len(a.edges)), nEdge: int32(len(kids)), dense: -1, out: nodes[i].out, dict: -1}
		a.edges = append(a.edges, kids...)
	}
	nodes = nil

	// Breadth-first: failure links, dictionary links, depths and dense rows. A state's fail
	// target is shallower, so it is finished before the state needs it.
	queue := make([]int32, 0, len(a.states))
	a.rows = append(a.rows, [256]int32{})
	a.states[0].dense = 0
	for _, e := range a.kids(0) {
		a.rows[0][e.b] = e.next
		a.states[e.next].depth = 1
		queue = append(queue, e.next)
	}
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		st := &a.states[s]
		if st.nEdge >= denseMin && len(a.rows) < maxRows {
			var row [256]int32
			if fd := a.states[st.fail].dense; fd >= 0 {
				row = a.rows[fd]
			} else {
				for b := 0; b < 256; b++ {
					row[b] = a.step(st.fail, byte(b))
				}
			}
			for _, e := range a.kids(s) {
				row[e.b] = e.next
			}
			st.dense = int32(len(a.rows))
			a.rows = append(a.rows, row)
		}
		for _, e := range a.kids(s) {
			c := e.next
			f := a.step(st.fail, e.b)
			cs := &a.states[c]
			cs.fail = f
			cs.depth = st.depth + 1
			if a.states[f].out >= 0 {
				cs.dict = f
			} else {
				cs.dict = a.states[f].dict
			}
			queue = append(queue, c)
		}
	}
	return a, nil
}

func (a *automaton) kids(s int32) []acEdge {
	st := &a.states[s]
	return a.edges[st.edge : st.edge+st.nEdge]
}

// step is the transition from s on b, failure links followed.
func (a *automaton) step(s int32, b byte) int32 {
	for {
		st := &a.states[s]
		if st.dense >= 0 {
			return a.rows[st.dense][b]
		}
		for _, e := range a.edges[st.edge : st.edge+st.nEdge] {
			if e.b == b {
				return e.next
			}
			if e.b > b {
				break
			}
		}
		s = st.fail
	}
}

// hasOutput reports whether any pattern ends at state s.
func (a *automaton) hasOutput(s int32) bool {
	st := &a.states[s]
	return st.out >= 0 || st.dict >= 0
}

// outputs calls fn for each pattern ending at state s.
func (a *automaton) outputs(s int32, fn func(pat int32)) {
	st := &a.states[s]
	if st.out < 0 {
		s = st.dict
	}
	for s >= 0 {
		st = &a.states[s]
		fn(st.out)
		s = st.dict
	}
}

// countMatches runs the automaton over normalized text and counts pattern ends. It is the
// bare matching loop, used by benchmarks and tests.
func (a *automaton) countMatches(text []byte) int {
	n := 0
	s := int32(0)
	for _, b := range text {
		s = a.step(s, b)
		if a.hasOutput(s) {
			a.outputs(s, func(int32) { n++ })
		}
	}
	return n
}
