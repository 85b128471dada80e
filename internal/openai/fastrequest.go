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
	var s seen
	ok = p.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "model":
			w.Model, ok = p.text()
			return s.first(0) && ok
		case "messages":
			msgs, ok = p.messages(lim.maxMessages())
			return s.first(1) && ok
		case "tools":
			w.Tools, ok = p.tools()
			return s.first(2) && ok
		case "tool_choice":
			w.ToolChoice, ok = p.raw()
			return s.first(3) && ok
		case "stream":
			w.Stream, ok = p.boolean()
			return s.first(4) && ok
		case "stream_options":
			w.StreamOptions, ok = p.streamOptions()
			return s.first(5) && ok
		case "temperature":
			return s.first(6) && p.float(&w.Temperature)
		case "top_p":
			return s.first(7) && p.float(&w.TopP)
		case "max_tokens":
			return s.first(8) && p.int(&w.MaxTokens)
		case "max_completion_tokens":
			return s.first(9) && p.int(&w.MaxCompletionTokens)
		case "stop":
			w.Stop, ok = p.raw()
			return s.first(10) && ok
		case "seed":
			var n int64
			if n, ok = p.integer(64); ok {
				w.Seed = &n
			}
			return s.first(11) && ok
		case "presence_penalty":
			return s.first(12) && p.float(&w.PresencePenalty)
		case "frequency_penalty":
			return s.first(13) && p.float(&w.FrequencyPenalty)
		case "n":
			return s.first(14) && p.int(&w.N)
		}
		if _, dup := extra[string(name)]; dup {
			return false
		}
		var v json.RawMessage
		if v, ok = p.raw(); ok {
			if extra == nil {
				extra = make(map[string]json.RawMessage)
			}
			extra[string(name)] = v
		}
		return ok
	})
	p.space()
	if !ok || p.i != len(p.b) {
		return nil, nil, false
	}
	return msgs, extra, true
}

// messages reads a non-empty array of at most max text messages.
func (p *scanner) messages(max int) ([]chat.Message, bool) {
	var msgs []chat.Message
	ok := p.array(func() bool {
		if len(msgs) == max {
			return false // too many
		}
		m, ok := p.message()
		msgs = append(msgs, m)
		return ok
	})
	return msgs, ok && len(msgs) > 0 // an empty list is the general decoder's error to report
}

// message reads a message with a role other than tool, a string content and optionally a
// name, and nothing else.
func (p *scanner) message() (chat.Message, bool) {
	var m chat.Message
	var role string
	var s seen
	ok := p.object(func(name []byte) bool {
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
			return false
		}
		var ok bool
		*dst, ok = p.text()
		return s.first(i) && ok
	})
	r, known := validRoles[role]
	if !ok || !s.has(0) || !s.has(1) || !known || r == chat.RoleTool {
		return m, false
	}
	m.Role = r
	return m, true
}

// tools reads an array of function tools.
func (p *scanner) tools() ([]wireTool, bool) {
	tools := []wireTool{}
	ok := p.array(func() bool {
		var t wireTool
		var s seen
		ok := p.object(func(name []byte) bool {
			switch string(name) {
			case "type":
				var ok bool
				t.Type, ok = p.text()
				return s.first(0) && ok
			case "function":
				return s.first(1) && p.function(&t.Function)
			}
			return false
		})
		tools = append(tools, t)
		return ok
	})
	return tools, ok
}

func (p *scanner) function(f *wireFunction) bool {
	var s seen
	return p.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "name":
			f.Name, ok = p.text()
			return s.first(0) && ok
		case "description":
			f.Description, ok = p.text()
			return s.first(1) && ok
		case "parameters":
			f.Parameters, ok = p.raw()
			return s.first(2) && ok
		case "strict":
			var b bool
			b, ok = p.boolean()
			f.Strict = &b
			return s.first(3) && ok
		}
		return false
	})
}

func (p *scanner) streamOptions() (*wireStreamOpts, bool) {
	o := &wireStreamOpts{}
	var s seen
	ok := p.object(func(name []byte) bool {
		if string(name) != "include_usage" {
			return false
		}
		var ok bool
		o.IncludeUsage, ok = p.boolean()
		return s.first(0) && ok
	})
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
