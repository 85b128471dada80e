package privacy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Vault maps the placeholders issued for one request back to the original values. It lives
// in memory for that request only. It has no exported fields, and its String, GoString and
// LogValue methods print nothing of its content, so logging it by mistake leaks nothing.
//
// A nil *Vault is valid: it restores nothing and Restore returns the stream unchanged.
type Vault struct {
	byValue map[string]string // type + "\x00" + canonical value → placeholder
	orig    map[string]string // placeholder → original text
	next    map[Type]int      // last index issued per type
	taken   map[string]bool   // placeholder-shaped strings already in the prompt
	masked  map[string]bool   // canonical values masked (for the receipt)
	sorted  []string          // issued placeholders in order, for prefix search (built by seal)
	// Built on first use by the guard-model path (most requests never need them):
	inverse sync.Once
	conceal *strings.Replacer // originals → placeholders, longest first
	values  []string          // the distinct originals
	maxLen  int
	buf     []byte // scratch for keys
	receipt Receipt
}

func newVault() *Vault {
	return &Vault{
		byValue: make(map[string]string),
		orig:    make(map[string]string),
		next:    make(map[Type]int),
		taken:   make(map[string]bool),
		masked:  make(map[string]bool),
		receipt: Receipt{},
	}
}

// Len returns the number of placeholders issued.
func (v *Vault) Len() int {
	if v == nil {
		return 0
	}
	return len(v.orig)
}

// String implements fmt.Stringer without revealing any value.
func (v *Vault) String() string { return "privacy.Vault{redacted}" }

// GoString implements fmt.GoStringer without revealing any value.
func (v *Vault) GoString() string { return v.String() }

// LogValue implements slog.LogValuer without revealing any value.
func (v *Vault) LogValue() slog.Value { return slog.StringValue(v.String()) }

// reserve records every placeholder-shaped string in text, full-width forms included, so
// that the vault never issues one of them: a user who types [PHONE_1] must not get someone
// else's number back when the model echoes it.
func (v *Vault) reserve(text string) {
	if strings.IndexByte(text, '[') < 0 && !strings.Contains(text, "［") {
		return
	}
	s := foldAll(text)
	for i := strings.IndexByte(s, '['); i >= 0; {
		if end, ok := placeholderAt(s, i); ok {
			v.taken[s[i:end]] = true
		}
		n := strings.IndexByte(s[i+1:], '[')
		if n < 0 {
			break
		}
		i += 1 + n
	}
}

// foldAll maps every full-width ASCII form (U+FF01–U+FF5E) to ASCII: a model may well
// turn ［ＰＨＯＮＥ＿１］ into [PHONE_1].
func foldAll(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			return r - 0xFEE0
		}
		return r
	}, s)
}

// placeholderFor returns the placeholder for a detected value, issuing a new one the first
// time the value is seen in this request.
func (v *Vault) placeholderFor(t Type, text string) string {
	v.buf = appendKey(v.buf[:0], t, text)
	if p, ok := v.byValue[string(v.buf)]; ok {
		return p
	}
	key := string(v.buf)
	var p string
	for {
		v.next[t]++
		p = placeholder(t, v.next[t])
		if !v.taken[p] {
			break
		}
	}
	v.byValue[key] = p
	v.orig[p] = text
	v.receipt[string(t)]++
	if len(p) > v.maxLen {
		v.maxLen = len(p)
	}
	return p
}

// noteMasked counts a masked value once in the receipt.
func (v *Vault) noteMasked(t Type, text string) {
	v.buf = appendKey(v.buf[:0], t, text)
	if !v.masked[string(v.buf)] {
		v.masked[string(v.buf)] = true
		v.receipt[string(t)]++
	}
}

// appendKey appends the vault key of a value: its type and canonical form, the form under
// which two spellings of one value share a placeholder (138-1234-5678 and 13812345678 are
// the same phone; full-width digits are the same digits; e-mail is case-insensitive).
func appendKey(dst []byte, t Type, text string) []byte {
	dst = append(dst, t...)
	dst = append(dst, 0)
	start := len(dst)
	dst = appendCanonical(dst, t, text)
	if n := len(dst) - start; t == Phone && n > 11 {
		// +86 138 1234 5678 is 13812345678: the key is the last eleven digits.
		copy(dst[start:], dst[len(dst)-11:])
		dst = dst[:start+11]
	}
	return dst
}

func appendCanonical(dst []byte, t Type, text string) []byte {
	if t == Name || t == Address {
		return append(dst, text...)
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case t == Email:
				if isUpper(c) {
					c += 'a' - 'A'
				}
				dst = append(dst, c)
			case isAlnum(c):
				dst = append(dst, upper(c))
			case c == ':' || c == '.':
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if foldable(r) && r != 0xFF0B && r != 0xFF0D && r != 0xFF08 && r != 0xFF09 {
			dst = append(dst, upper(byte(r-0xFEE0)))
		} else if !foldable(r) && r != 0x3000 && r != '·' && r != '•' {
			dst = append(dst, text[i:i+n]...)
		}
		i += n
	}
	return dst
}

// RestoreString replaces every placeholder of this vault in s by its original value.
// Placeholder-shaped text the vault did not issue is left as it is.
func (v *Vault) RestoreString(s string) string {
	if v.Len() == 0 {
		return s
	}
	out, _ := v.restore(s, false, true)
	return out
}

// restore replaces the vault's placeholders in s. With final false, it holds back the
// shortest suffix that could still grow into one of the vault's placeholders and returns it
// as rest. With esc, originals are inserted JSON-string-escaped (tool-call arguments).
func (v *Vault) restore(s string, esc, final bool) (out, rest string) {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return s, ""
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i >= 0 {
		j := strings.IndexByte(s[i+1:], ']')
		k := strings.IndexByte(s[i+1:], '[')
		switch {
		case j >= 0 && (k < 0 || j < k) && j+2 <= v.maxLen:
			if o, ok := v.orig[s[i:i+j+2]]; ok {
				b.WriteString(s[last:i])
				if esc {
					writeJSONEscaped(&b, o)
				} else {
					b.WriteString(o)
				}
				last = i + j + 2
			}
		case j < 0 && k < 0 && !final && v.isPrefix(s[i:]):
			b.WriteString(s[last:i])
			return b.String(), s[i:]
		}
		if k < 0 {
			break
		}
		i += 1 + k
	}
	b.WriteString(s[last:])
	return b.String(), ""
}

// isPrefix reports whether p is a proper prefix of an issued placeholder.
func (v *Vault) isPrefix(p string) bool {
	if len(p) >= v.maxLen {
		return false
	}
	// The first placeholder not less than p starts with p if any does.
	i := sort.SearchStrings(v.sorted, p)
	return i < len(v.sorted) && len(v.sorted[i]) > len(p) && strings.HasPrefix(v.sorted[i], p)
}

// seal builds the prefix index once Protect has issued every placeholder; from then on the
// vault is read-only and safe to share between goroutines.
func (v *Vault) seal() {
	v.sorted = make([]string, 0, len(v.orig))
	for ph := range v.orig {
		v.sorted = append(v.sorted, ph)
	}
	sort.Strings(v.sorted)
}

// buildInverse builds the concealer and the list of originals, once.
func (v *Vault) buildInverse() {
	// Longest original first: where two start at one position (a phone number inside an
	// address), the Replacer takes the first pair given.
	byLen := slices.Clone(v.sorted)
	sort.SliceStable(byLen, func(i, j int) bool { return len(v.orig[byLen[i]]) > len(v.orig[byLen[j]]) })
	pairs := make([]string, 0, 2*len(byLen))
	for _, ph := range byLen {
		if o := v.orig[ph]; o != "" {
			pairs = append(pairs, o, ph)
			if !slices.Contains(v.values, o) {
				v.values = append(v.values, o)
			}
		}
	}
	v.conceal = strings.NewReplacer(pairs...)
}

// SafeCut returns where text may be cut so that the part before the cut holds none of this
// vault's values in part: cut itself, or, if a value straddles it — whole in text, or begun
// at its end — the start of that value. Output moderation cuts text it sends to a guard model
// with it, so that ConcealString, which replaces only whole values, leaves nothing of one
// behind (an e-mail or IPv4 address holds the dots a sentence cut looks for).
func (v *Vault) SafeCut(text string, cut int) int {
	if v.Len() == 0 {
		return cut
	}
	v.inverse.Do(v.buildInverse)
	for moved := true; moved && cut > 0; {
		moved = false
		for _, o := range v.values {
			// Whole occurrences that start before the cut and end after it.
			for i := 0; i < cut; {
				j := strings.Index(text[i:], o)
				if j < 0 || i+j >= cut {
					break
				}
				if start := i + j; start+len(o) > cut {
					cut, moved = start, true
					break
				}
				i += j + 1
			}
			// A value begun at the end of text: the longest suffix that is a proper prefix.
			for k := min(len(o)-1, len(text)); k > 0; k-- {
				if start := len(text) - k; start < cut && strings.HasSuffix(text, o[:k]) {
					cut, moved = start, true
					break
				}
			}
		}
	}
	return cut
}

// ConcealString replaces every original value this vault holds in s by its placeholder:
// the inverse of RestoreString, for text that must leave in pseudonymized form (a restored
// answer sent to a guard model).
func (v *Vault) ConcealString(s string) string {
	if v.Len() == 0 {
		return s
	}
	v.inverse.Do(v.buildInverse)
	return v.conceal.Replace(s)
}

// writeJSONEscaped writes s as the inside of a JSON string (no quotes, no HTML escaping).
func writeJSONEscaped(b *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	q := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	b.Write(q[1 : len(q)-1])
}
