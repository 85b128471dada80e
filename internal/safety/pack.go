package safety

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Action is what a rule does when it matches.
type Action string

// Actions.
const (
	// ActionAllow is the decision when nothing matched.
	ActionAllow Action = "allow"
	// ActionFlag lets the text through and records the match.
	ActionFlag Action = "flag"
	// ActionBlock refuses the request or stops the answer.
	ActionBlock Action = "block"
)

// Pack is one lexicon data file, parsed. The format is line-based UTF-8 text so an error can
// name its line and operators can diff versions:
//
//	# comment
//	pack    baseline
//	version 2026.11.23
//	term    RULE ACTION CATEGORY : term | term | ...
//	group   NAME : term | term | ...
//	combo   RULE ACTION CATEGORY WINDOW : GROUP + GROUP [+ GROUP] [unless GROUP, GROUP]
//
// A term is normalized like the text (so "制 造" and "製造" are the same term). A term that
// starts or ends with a Latin letter or digit matches whole words only at that end; a
// leading or trailing "*" lifts that ("bomb*" also matches "bombs"). A combo matches when
// a term of every listed group occurs within WINDOW normalized characters of the others
// in the same message, and no term of an "unless" group occurs within WINDOW of them.
type Pack struct {
	Name    string
	Version string
	// Source is where the pack came from ("embedded:baseline" or a file path).
	Source string
	// Hash is the hex SHA-256 of the file's bytes.
	Hash   string
	Terms  []TermRule
	Groups map[string]*Group
	Combos []Combo
}

// TermRule is a "term" line: any of its terms matches on its own.
type TermRule struct {
	ID       string
	Action   Action
	Category Category
	Terms    []Term
	Line     int
}

// Group is a named set of terms that only counts inside combos.
type Group struct {
	Name  string
	Terms []Term
	Line  int
	used  bool
}

// Combo is a "combo" line.
type Combo struct {
	ID       string
	Action   Action
	Category Category
	Window   int
	Groups   []string
	Unless   []string
	Line     int
}

// Term is one normalized term with its word-boundary requirements.
type Term struct {
	Text       string // as written
	Norm       string // normalized
	StartBound bool   // must start at a word boundary
	EndBound   bool   // must end at a word boundary
}

// maxWindow bounds combo windows, and so the state a stream scan keeps.
const maxWindow = 200

// ParsePack parses pack data. source names it in errors ("path/to/file.pack:12: ...").
func ParsePack(source string, data []byte) (*Pack, error) {
	p := &Pack{Source: source, Hash: hashHex(data), Groups: map[string]*Group{}}
	if !utf8.Valid(data) {
		// Name the first bad line rather than failing somewhere vague.
		line := 1 + strings.Count(string(data[:firstInvalid(data)]), "\n")
		return nil, fmt.Errorf("safety: pack %s:%d: invalid UTF-8", source, line)
	}
	ids := map[string]int{}
	for n, line := range strings.Split(string(data), "\n") {
		ln := n + 1
		errf := func(format string, args ...any) error {
			return fmt.Errorf("safety: pack %s:%d: %s", source, ln, fmt.Sprintf(format, args...))
		}
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		head, body, hasBody := strings.Cut(line, ":")
		fields := strings.Fields(head)
		if len(fields) == 0 {
			return nil, errf("line starts with \":\", no directive before it")
		}
		switch fields[0] {
		case "pack", "version":
			// These take the rest of the line verbatim, colons included.
			v := strings.TrimSpace(strings.TrimPrefix(line, fields[0]))
			if v == "" || strings.ContainsAny(v, " \t") {
				return nil, errf("%s needs one value", fields[0])
			}
			if fields[0] == "pack" {
				p.Name = v
			} else {
				p.Version = v
			}
			continue
		case "term", "group", "combo":
		default:
			return nil, errf("unknown directive %q (want pack, version, term, group or combo)", fields[0])
		}
		if !hasBody {
			return nil, errf("%s needs \": terms\" after its fields", fields[0])
		}
		switch fields[0] {
		case "term":
			if len(fields) != 4 {
				return nil, errf("term wants: term RULE ACTION CATEGORY : terms")
			}
			r := TermRule{ID: fields[1], Line: ln}
			var err error
			if r.Action, r.Category, err = parseActionCategory(fields[2], fields[3]); err != nil {
				return nil, errf("%v", err)
			}
			if prev, dup := ids[r.ID]; dup {
				return nil, errf("rule %q already defined on line %d", r.ID, prev)
			}
			ids[r.ID] = ln
			if r.Terms, err = parseTerms(body); err != nil {
				return nil, errf("%v", err)
			}
			p.Terms = append(p.Terms, r)
		case "group":
			if len(fields) != 2 {
				return nil, errf("group wants: group NAME : terms")
			}
			if g, dup := p.Groups[fields[1]]; dup {
				return nil, errf("group %q already defined on line %d", fields[1], g.Line)
			}
			terms, err := parseTerms(body)
			if err != nil {
				return nil, errf("%v", err)
			}
			p.Groups[fields[1]] = &Group{Name: fields[1], Terms: terms, Line: ln}
		case "combo":
			if len(fields) != 5 {
				return nil, errf("combo wants: combo RULE ACTION CATEGORY WINDOW : GROUP + GROUP [unless GROUP]")
			}
			c := Combo{ID: fields[1], Line: ln}
			var err error
			if c.Action, c.Category, err = parseActionCategory(fields[2], fields[3]); err != nil {
				return nil, errf("%v", err)
			}
			if c.Window, err = strconv.Atoi(fields[4]); err != nil || c.Window < 0 || c.Window > maxWindow {
				return nil, errf("window %q is not a whole number of characters in 0..%d", fields[4], maxWindow)
			}
			if prev, dup := ids[c.ID]; dup {
				return nil, errf("rule %q already defined on line %d", c.ID, prev)
			}
			ids[c.ID] = ln
			groups, unless, _ := strings.Cut(body, " unless ")
			for _, g := range strings.Split(groups, "+") {
				if g = strings.TrimSpace(g); g != "" {
					c.Groups = append(c.Groups, g)
				}
			}
			for _, g := range strings.Split(unless, ",") {
				if g = strings.TrimSpace(g); g != "" {
					c.Unless = append(c.Unless, g)
				}
			}
			if len(c.Groups) < 2 || len(c.Groups) > 4 {
				return nil, errf("combo needs 2 to 4 groups joined by +, got %d", len(c.Groups))
			}
			p.Combos = append(p.Combos, c)
		}
	}
	if p.Name == "" {
		return nil, fmt.Errorf("safety: pack %s: missing \"pack NAME\" line", source)
	}
	for _, c := range p.Combos {
		for _, g := range append(append([]string{}, c.Groups...), c.Unless...) {
			grp, ok := p.Groups[g]
			if !ok {
				return nil, fmt.Errorf("safety: pack %s:%d: combo %q uses undefined group %q", source, c.Line, c.ID, g)
			}
			grp.used = true
		}
	}
	return p, nil
}

func parseActionCategory(a, c string) (Action, Category, error) {
	act := Action(a)
	if act != ActionBlock && act != ActionFlag {
		return "", "", fmt.Errorf("action %q is not block or flag", a)
	}
	cat := Category(c)
	if !cat.Valid() {
		return "", "", fmt.Errorf("category %q is not a TC260-003 Appendix A code (A.1.1 .. A.5.2)", c)
	}
	return act, cat, nil
}

func parseTerms(body string) ([]Term, error) {
	var out []Term
	for _, raw := range strings.Split(body, "|") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		t := Term{Text: raw}
		s := raw
		openStart, openEnd := strings.HasPrefix(s, "*"), strings.HasSuffix(s, "*")
		s = strings.Trim(s, "*")
		t.Norm = Normalize(s)
		if t.Norm == "" {
			return nil, fmt.Errorf("term %q is empty after normalization (only spacing or punctuation)", raw)
		}
		t.StartBound = !openStart && isAlnum(t.Norm[0])
		t.EndBound = !openEnd && isAlnum(t.Norm[len(t.Norm)-1])
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no terms after the colon")
	}
	return out, nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Label is how the pack is named in a version stamp: name@version#hash8.
func (p *Pack) Label() string {
	v := p.Version
	if v == "" {
		v = "unversioned"
	}
	return p.Name + "@" + v + "#" + p.Hash[:8]
}

func hashHex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
