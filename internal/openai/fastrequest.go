package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// decodeCommon decodes, without reflection, the request bodies that make up almost all
// traffic: messages of text (a role, a string content, a name), function tools, and the
// scalar members, with every member it does not know kept verbatim for pass-through. It fills
// w's members except Messages and returns the messages already converted. ok is false for
// anything else (content parts, tool calls and results, a null, a repeated name, a name with
// escapes) and for anything the general decoder would refuse in a message; such bodies go the
// general way. For the bodies it takes the request is the general decoder's, which
// FuzzDecodeCommon holds it to. body must be valid UTF-8.
func decodeCommon(body []byte, w *wireRequest, lim Limits) (msgs []chat.Message, extra map[string]json.RawMessage, ok bool) {
	p := scanner{b: body}
	if !p.byte('{') {
		return nil, nil, false
	}
	var seen uint32 // one bit per known member
	first := func(bit uint32) bool {
		ok := seen&bit == 0
		seen |= bit
		return ok
	}
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return nil, nil, false
		}
		switch string(name) {
		case "model":
			if ok = first(1 << 0); ok {
				w.Model, ok = p.text()
			}
		case "messages":
			if ok = first(1 << 1); ok {
				msgs, ok = p.messages(lim.maxMessages())
			}
		case "tools":
			if ok = first(1 << 2); ok {
				w.Tools, ok = p.tools()
			}
		case "tool_choice":
			if ok = first(1 << 3); ok {
				w.ToolChoice, ok = p.raw()
			}
		case "stream":
			if ok = first(1 << 4); ok {
				w.Stream, ok = p.boolean()
			}
		case "stream_options":
			if ok = first(1 << 5); ok {
				w.StreamOptions, ok = p.streamOptions()
			}
		case "temperature":
			ok = first(1<<6) && p.float(&w.Temperature)
		case "top_p":
			ok = first(1<<7) && p.float(&w.TopP)
		case "max_tokens":
			ok = first(1<<8) && p.int(&w.MaxTokens)
		case "max_completion_tokens":
			ok = first(1<<9) && p.int(&w.MaxCompletionTokens)
		case "stop":
			if ok = first(1 << 10); ok {
				w.Stop, ok = p.raw()
			}
		case "seed":
			if ok = first(1 << 11); ok {
				var n int64
				if n, ok = p.integer(64); ok {
					w.Seed = &n
				}
			}
		case "presence_penalty":
			ok = first(1<<12) && p.float(&w.PresencePenalty)
		case "frequency_penalty":
			ok = first(1<<13) && p.float(&w.FrequencyPenalty)
		case "n":
			ok = first(1<<14) && p.int(&w.N)
		default:
			if _, dup := extra[string(name)]; dup {
				return nil, nil, false
			}
			var v json.RawMessage
			if v, ok = p.raw(); ok {
				if extra == nil {
					extra = make(map[string]json.RawMessage)
				}
				extra[string(name)] = v
			}
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	p.space()
	if !ok || p.i != len(p.b) {
		return nil, nil, false
	}
	return msgs, extra, true
}

// messages reads a non-empty array of at most max text messages.
func (p *scanner) messages(max int) ([]chat.Message, bool) {
	if !p.byte('[') || p.peek() == ']' {
		return nil, false // an empty list is the general decoder's error to report
	}
	var msgs []chat.Message
	for len(msgs) < max {
		m, ok := p.message()
		if !ok {
			return nil, false
		}
		msgs = append(msgs, m)
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return msgs, true
		default:
			return nil, false
		}
	}
	return nil, false // too many
}

// message reads a message with a role other than tool, a string content and optionally a
// name, and nothing else.
func (p *scanner) message() (chat.Message, bool) {
	var m chat.Message
	if !p.byte('{') {
		return m, false
	}
	var role string
	var seen [3]bool
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return m, false
		}
		var dst *string
		var i int
		switch string(name) {
		case "role":
			dst, i = &role, 0
		case "content":
			dst, i = &m.Content, 1
		case "name":
			dst, i = &m.Name, 2
		default:
			return m, false
		}
		if seen[i] {
			return m, false
		}
		seen[i] = true
		if *dst, ok = p.text(); ok {
			done, ok = p.objectNext()
		}
	}
	r, known := validRoles[role]
	if !ok || !seen[0] || !seen[1] || !known || r == chat.RoleTool {
		return m, false
	}
	m.Role = r
	return m, true
}

// tools reads an array of function tools.
func (p *scanner) tools() ([]wireTool, bool) {
	if !p.byte('[') {
		return nil, false
	}
	tools := []wireTool{}
	if p.peek() == ']' {
		p.i++
		return tools, true
	}
	for {
		var t wireTool
		if !p.byte('{') {
			return nil, false
		}
		var seen [2]bool
		done, ok := p.objectStart()
		for ok && !done {
			var name []byte
			if name, ok = p.name(); !ok {
				return nil, false
			}
			switch string(name) {
			case "type":
				ok = !seen[0]
				seen[0] = true
				if ok {
					t.Type, ok = p.text()
				}
			case "function":
				ok = !seen[1] && p.function(&t.Function)
				seen[1] = true
			default:
				return nil, false
			}
			if ok {
				done, ok = p.objectNext()
			}
		}
		if !ok {
			return nil, false
		}
		tools = append(tools, t)
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return tools, true
		default:
			return nil, false
		}
	}
}

func (p *scanner) function(f *wireFunction) bool {
	if !p.byte('{') {
		return false
	}
	var seen [4]bool
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return false
		}
		i := -1
		switch string(name) {
		case "name":
			i = 0
		case "description":
			i = 1
		case "parameters":
			i = 2
		case "strict":
			i = 3
		}
		if i < 0 || seen[i] {
			return false
		}
		seen[i] = true
		switch i {
		case 0:
			f.Name, ok = p.text()
		case 1:
			f.Description, ok = p.text()
		case 2:
			f.Parameters, ok = p.raw()
		case 3:
			var b bool
			b, ok = p.boolean()
			f.Strict = &b
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	return ok
}

func (p *scanner) streamOptions() (*wireStreamOpts, bool) {
	o := &wireStreamOpts{}
	if !p.byte('{') {
		return nil, false
	}
	seen := false
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok || string(name) != "include_usage" || seen {
			return nil, false
		}
		seen = true
		if o.IncludeUsage, ok = p.boolean(); ok {
			done, ok = p.objectNext()
		}
	}
	return o, ok
}

func (p *scanner) boolean() (bool, bool) {
	switch p.peek() {
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	}
	return false, false
}

// float reads a number into *dst.
func (p *scanner) float(dst **float64) bool {
	p.space()
	start := p.i
	if !p.number() {
		return false
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return false // out of range: the general decoder's error
	}
	*dst = &f
	return true
}

// int reads an integer written without a fraction or exponent into *dst.
func (p *scanner) int(dst **int) bool {
	var v int
	if !p.count(&v) {
		return false // a fraction, an exponent or out of range
	}
	*dst = &v
	return true
}

// raw reads any value but null, kept verbatim.
func (p *scanner) raw() (json.RawMessage, bool) {
	if p.peek() == 'n' {
		return nil, false
	}
	start := p.i
	if !p.skipValue(0) {
		return nil, false
	}
	return bytes.Clone(p.b[start:p.i]), true
}

// text reads a string, escapes decoded as encoding/json decodes them: a \u escape that is not
// a whole UTF-16 character becomes U+FFFD.
func (p *scanner) text() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\':
			return p.textEscaped(start)
		case c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

// textEscaped goes on with the string that began at start, from its first escape.
func (p *scanner) textEscaped(start int) (string, bool) {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", false
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			r := hex4(p.b[p.i:])
			if r < 0 {
				return "", false
			}
			p.i += 4
			if utf16.IsSurrogate(r) {
				// A pair takes the next escape too; anything else leaves it to be read on
				// its own.
				r2 := rune(-1)
				if len(p.b)-p.i >= 6 && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					r2 = hex4(p.b[p.i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					p.i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 returns the value of the four hex digits at the start of b, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
