package safety

import (
	"fmt"
	"sort"
	"strings"
)

// lexicon is a set of packs compiled into one automaton. It is immutable once built, so a
// reload builds a new one and swaps a pointer while scans in flight finish on the old one.
type lexicon struct {
	ac       *automaton
	patterns [][]byte
	needEnd  []bool  // per pattern: some use wants a word boundary after it
	useStart []int32 // uses of pattern i are uses[useStart[i]:useStart[i+1]]
	uses     []patUse
	rules    []ruleInfo
	combos   []comboInfo
	// groupCombos lists, per group, the combos it takes part in (as a needed or unless group).
	groupCombos [][]int32
	// groupWindow is, per group, the widest window of the combos that need it (0 when it
	// is only an unless group): how long a stream holds a hit back in case a partner
	// follows.
	groupWindow []int
	maxPat      int // longest pattern, bytes
	maxWindow   int
	version     string
	stats       Stats
}

type patUse struct {
	group      bool  // idx is a group, else a rule
	idx        int32 // rule or group index
	startBound bool
	endBound   bool
}

type ruleInfo struct {
	ID       string // pack/rule
	Action   Action
	Category Category
}

type comboInfo struct {
	rule   int32
	groups []int32
	unless []int32
	window int
}

// Stats describes a compiled lexicon, for operators checking it against TC260-003's
// keyword-library numbers (≥ 10,000 terms; ≥ 200 per A.1 and ≥ 100 per A.2 risk).
type Stats struct {
	// Terms is the number of distinct normalized terms.
	Terms int `json:"terms"`
	// ByCategory counts distinct terms that feed a rule of each category.
	ByCategory map[Category]int `json:"by_category"`
	Rules      int              `json:"rules"`
	Combos     int              `json:"combos"`
}

// compile builds a lexicon from parsed packs. Rule IDs are prefixed with their pack's name.
func compile(packs []*Pack) (*lexicon, error) {
	lx := &lexicon{}
	patIndex := map[string]int32{}
	var patterns [][]byte
	var usesBy [][]patUse
	catTerms := map[Category]map[int32]bool{}
	addUse := func(t Term, u patUse, cat Category) {
		i, ok := patIndex[t.Norm]
		if !ok {
			i = int32(len(patterns))
			patIndex[t.Norm] = i
			patterns = append(patterns, []byte(t.Norm))
			usesBy = append(usesBy, nil)
			lx.needEnd = append(lx.needEnd, false)
		}
		u.startBound, u.endBound = t.StartBound, t.EndBound
		usesBy[i] = append(usesBy[i], u)
		if t.EndBound {
			lx.needEnd[i] = true
		}
		if catTerms[cat] == nil {
			catTerms[cat] = map[int32]bool{}
		}
		catTerms[cat][i] = true
	}
	names := map[string]string{}
	var labels []string
	for _, p := range packs {
		if prev, dup := names[p.Name]; dup {
			return nil, fmt.Errorf("safety: packs %s and %s are both named %q", prev, p.Source, p.Name)
		}
		names[p.Name] = p.Source
		labels = append(labels, p.Label())
		for _, r := range p.Terms {
			ri := int32(len(lx.rules))
			lx.rules = append(lx.rules, ruleInfo{ID: p.Name + "/" + r.ID, Action: r.Action, Category: r.Category})
			for _, t := range r.Terms {
				addUse(t, patUse{idx: ri}, r.Category)
			}
		}
		// Groups get indexes in name order so compiled output does not depend on map order.
		gnames := make([]string, 0, len(p.Groups))
		for n, g := range p.Groups {
			if g.used {
				gnames = append(gnames, n)
			}
		}
		sort.Strings(gnames)
		gidx := map[string]int32{}
		for _, n := range gnames {
			gidx[n] = int32(len(lx.groupCombos))
			lx.groupCombos = append(lx.groupCombos, nil)
			lx.groupWindow = append(lx.groupWindow, 0)
		}
		groupCat := map[string]Category{}
		for _, c := range p.Combos {
			ri := int32(len(lx.rules))
			lx.rules = append(lx.rules, ruleInfo{ID: p.Name + "/" + c.ID, Action: c.Action, Category: c.Category})
			ci := comboInfo{rule: ri, window: c.Window}
			for _, g := range c.Groups {
				ci.groups = append(ci.groups, gidx[g])
				if _, ok := groupCat[g]; !ok {
					groupCat[g] = c.Category
				}
			}
			for _, g := range c.Unless {
				ci.unless = append(ci.unless, gidx[g])
			}
			if c.Window > lx.maxWindow {
				lx.maxWindow = c.Window
			}
			for _, g := range ci.groups {
				if c.Window+1 > lx.groupWindow[g] {
					lx.groupWindow[g] = c.Window + 1
				}
			}
			k := int32(len(lx.combos))
			lx.combos = append(lx.combos, ci)
			seen := map[int32]bool{}
			for _, g := range append(append([]int32{}, ci.groups...), ci.unless...) {
				if !seen[g] {
					seen[g] = true
					lx.groupCombos[g] = append(lx.groupCombos[g], k)
				}
			}
		}
		for _, n := range gnames {
			for _, t := range p.Groups[n].Terms {
				cat, ok := groupCat[n]
				if !ok {
					cat = "" // only an unless group: it blocks nothing
				}
				addUse(t, patUse{group: true, idx: gidx[n]}, cat)
			}
		}
	}
	lx.patterns = patterns
	lx.useStart = make([]int32, len(patterns)+1)
	for i, us := range usesBy {
		lx.useStart[i] = int32(len(lx.uses))
		lx.uses = append(lx.uses, us...)
		if len(patterns[i]) > lx.maxPat {
			lx.maxPat = len(patterns[i])
		}
	}
	lx.useStart[len(patterns)] = int32(len(lx.uses))
	if len(patterns) > 0 {
		ac, err := buildAutomaton(patterns)
		if err != nil {
			return nil, err
		}
		lx.ac = ac
	}
	lx.version = strings.Join(labels, "+")
	if lx.version == "" {
		lx.version = "none"
	}
	lx.stats = Stats{Terms: len(patterns), ByCategory: map[Category]int{}, Rules: len(lx.rules), Combos: len(lx.combos)}
	for c, m := range catTerms {
		if c != "" {
			lx.stats.ByCategory[c] = len(m)
		}
	}
	return lx, nil
}
