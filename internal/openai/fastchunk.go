package openai

import (
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// decodeTextChunk decodes the events that make up almost all of a stream — at most one choice
// whose delta carries only role, content or reasoning text, with or without a finish reason,
// and usage or none — without reflection. ok is false for anything else (tool calls, errors,
// several choices, escapes it does not handle, repeated names, malformed JSON), which the
// caller decodes the general way; for the events it accepts it gives the same chunk.
func decodeTextChunk(data []byte) (c chat.Chunk, ok bool) {
	p := scanner{b: data}
	var s seen
	ok = p.object(func(name []byte) bool {
		switch string(name) {
		case "choices":
			return s.first(0) && p.choices(&c)
		case "usage":
			return s.first(1) && p.usage(&c.Usage)
		case "error":
			return false
		}
		return p.skipValue(0)
	})
	p.space()
	return c, ok && p.i == len(p.b)
}

// scanner walks JSON bytes. Every method reports false on input it does not accept.
type scanner struct {
	b []byte
	i int
}

func (p *scanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte consumes c after optional whitespace.
func (p *scanner) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) peek() byte {
	p.space()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *scanner) literal(lit string) bool {
	p.space()
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// objectStart is called after '{': done reports an empty object.
func (p *scanner) objectStart() (done, ok bool) {
	if p.peek() == '}' {
		p.i++
		return true, true
	}
	return false, true
}

// object reads an object: member is called with each member's name and the scanner at its
// value, which it reads, reporting whether it accepts it.
func (p *scanner) object(member func(name []byte) bool) bool {
	if !p.byte('{') {
		return false
	}
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok || !member(name) {
			return false
		}
		done, ok = p.objectNext()
	}
	return ok
}

// array reads an array, calling elem with the scanner at each element, which it reads,
// reporting whether it accepts it.
func (p *scanner) array(elem func() bool) bool {
	if !p.byte('[') {
		return false
	}
	if p.peek() == ']' {
		p.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}

// seen records which of up to 32 known members an object has had: first(i) reports whether
// member i comes for the first time (a repeated name is left to the general decoder).
type seen uint32

func (s *seen) first(i int) bool {
	ok := !s.has(i)
	*s |= 1 << i
	return ok
}

func (s seen) has(i int) bool { return s&(1<<i) != 0 }

// objectNext consumes ',' (another member follows) or '}' (done).
func (p *scanner) objectNext() (done, ok bool) {
	switch p.peek() {
	case ',':
		p.i++
		return false, true
	case '}':
		p.i++
		return true, true
	}
	return false, false
}

// name reads a member name and its colon. Names with escapes are not accepted.
func (p *scanner) name() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			n := p.b[start:p.i]
			p.i++
			return n, p.byte(':')
		case c == '\\' || c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// stringOrNull reads a string (escapes decoded) or null (""). Strings with invalid UTF-8 or
// \u escapes are not accepted: the general decoder's handling of those is the reference.
func (p *scanner) stringOrNull() (string, bool) {
	if p.peek() == 'n' {
		return "", p.literal("null")
	}
	var out []byte // only when there are escapes
	raw, ok := p.str(func(seg []byte, r byte) { out = append(append(out, seg...), r) })
	if !ok {
		return "", false
	}
	if out != nil {
		return string(append(out, raw...)), true
	}
	return string(raw), true
}

// skipString skips a valid string without building it: most of a chunk's members (id,
// object, model, system_fingerprint) are skipped on every event, and a request's members
// that are passed through are only checked.
func (p *scanner) skipString() bool {
	if !p.byte('"') {
		return false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			ok := utf8.Valid(p.b[start:p.i])
			p.i++
			return ok
		case c < 0x20:
			return false
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return false
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'n', 't', 'r', 'b', 'f':
				p.i += 2
			case 'u':
				if hex4(p.b[p.i+2:]) < 0 {
					return false
				}
				p.i += 6
			default:
				return false
			}
		default:
			p.i++
		}
	}
	return false
}

// str reads a string's bytes after optional whitespace. Each escape is reported to unescape
// with the bytes before it (since the previous escape) and the byte it stands for; raw is
// what follows the last escape. Every segment is valid UTF-8 when ok: an escape is never
// part of a multi-byte sequence, so checking the segments checks the string.
func (p *scanner) str(unescape func(seg []byte, r byte)) (raw []byte, ok bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, utf8.Valid(s)
		case c < 0x20:
			return nil, false
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return nil, false
			}
			var r byte
			switch p.b[p.i+1] {
			case '"', '\\', '/':
				r = p.b[p.i+1]
			case 'n':
				r = '\n'
			case 't':
				r = '\t'
			case 'r':
				r = '\r'
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			default:
				return nil, false
			}
			seg := p.b[start:p.i]
			if !utf8.Valid(seg) {
				return nil, false
			}
			unescape(seg, r)
			p.i += 2
			start = p.i
		default:
			p.i++
		}
	}
	return nil, false
}

// choices reads an array of at most one choice.
func (p *scanner) choices(c *chat.Chunk) bool {
	if !p.byte('[') {
		return false
	}
	if p.peek() == ']' {
		p.i++
		return true
	}
	if !p.byte('{') {
		return false
	}
	var seen [4]bool // index, delta, finish_reason, logprobs
	once := func(i int) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		return true
	}
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return false
		}
		switch string(name) {
		case "index":
			ok = once(0) && p.smallInt()
		case "delta":
			ok = once(1) && p.delta(c)
		case "finish_reason":
			ok = once(2)
			if ok {
				c.FinishReason, ok = p.stringOrNull()
			}
		case "logprobs":
			ok = once(3) && p.literal("null")
		default:
			ok = p.skipValue(0)
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	return ok && p.byte(']') // a second choice is left to the general decoder
}

func (p *scanner) delta(c *chat.Chunk) bool {
	if p.peek() == 'n' {
		return p.literal("null")
	}
	if !p.byte('{') {
		return false
	}
	var seen [3]bool
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return false
		}
		var dst *string
		switch string(name) {
		case "role":
			dst, ok = &c.Delta.Role, !seen[0]
			seen[0] = true
		case "content":
			dst, ok = &c.Delta.Content, !seen[1]
			seen[1] = true
		case "reasoning_content":
			dst, ok = &c.Delta.ReasoningContent, !seen[2]
			seen[2] = true
		default:
			// tool_calls, function_call, refusal, audio...: the general decoder's business,
			// unless they are null.
			ok = p.literal("null")
		}
		if ok && dst != nil {
			*dst, ok = p.stringOrNull()
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	return ok
}

// skipValue skips any JSON value whose strings need no decoding.
func (p *scanner) skipValue(depth int) bool {
	if depth > 32 {
		return false
	}
	switch p.peek() {
	case '"':
		return p.skipString()
	case '{':
		return p.object(func([]byte) bool { return p.skipValue(depth + 1) })
	case '[':
		return p.array(func() bool { return p.skipValue(depth + 1) })
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	return p.number()
}

// smallInt skips a non-negative integer of at most 9 digits (one that fits any int).
func (p *scanner) smallInt() bool {
	p.space()
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - start
	return n > 0 && n <= 9 && (n == 1 || p.b[start] != '0')
}

// number skips a JSON number.
func (p *scanner) number() bool {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if n := digits(); n == 0 || (n > 1 && p.b[intStart] == '0') {
		return false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return p.i > start
}
