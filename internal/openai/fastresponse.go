package openai

import (
	"strconv"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// decodeTextResponse decodes, without reflection, the whole answers an upstream usually
// sends: one choice whose message is text (content, reasoning), a finish reason and usage.
// ok is false for anything else (tool calls, several choices, errors, a repeated name,
// escapes it does not handle), which the caller decodes the general way; for the answers it
// accepts it gives the general decoder's response (FuzzTextResponseDecode).
func decodeTextResponse(data []byte) (r chat.Response, ok bool) {
	p := scanner{b: data}
	if !p.byte('{') {
		return r, false
	}
	var seenChoices, seenUsage bool
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return r, false
		}
		switch string(name) {
		case "choices":
			ok = !seenChoices && p.responseChoice(&r)
			seenChoices = true
		case "usage":
			ok = !seenUsage && p.usage(&r.Usage)
			seenUsage = true
		case "error":
			return r, false
		default:
			ok = p.skipValue(0)
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	p.space()
	if !ok || !seenChoices || p.i != len(p.b) {
		return r, false
	}
	r.Message.Role = chat.RoleAssistant
	return r, true
}

// responseChoice reads an array of exactly one choice.
func (p *scanner) responseChoice(r *chat.Response) bool {
	if !p.byte('[') || !p.byte('{') {
		return false
	}
	var seen [3]bool // index, message, finish_reason
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return false
		}
		i := -1
		switch string(name) {
		case "index":
			i = 0
		case "message":
			i = 1
		case "finish_reason":
			i = 2
		}
		if i >= 0 && seen[i] {
			return false
		}
		switch i {
		case 0:
			ok = p.smallInt()
		case 1:
			ok = p.responseMessage(&r.Message)
		case 2:
			r.FinishReason, ok = p.stringOrNull()
		default:
			ok = p.skipValue(0)
		}
		if i >= 0 {
			seen[i] = true
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	return ok && p.byte(']') // a second choice is left to the general decoder
}

// responseMessage reads a message of text: content and reasoning are kept; role and refusal
// are read and dropped, as the general decoder drops them; tool calls must be null.
func (p *scanner) responseMessage(m *chat.Message) bool {
	if !p.byte('{') {
		return false
	}
	var seen [5]bool // role, content, reasoning_content, refusal, tool_calls
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return false
		}
		var drop string
		dst, i := &drop, -1
		switch string(name) {
		case "role":
			i = 0
		case "content":
			dst, i = &m.Content, 1
		case "reasoning_content":
			dst, i = &m.ReasoningContent, 2
		case "refusal":
			i = 3
		case "tool_calls":
			i = 4
		}
		switch {
		case i >= 0 && seen[i]:
			return false
		case i == 4:
			ok = p.literal("null")
		case i >= 0:
			*dst, ok = p.stringOrNull()
		default:
			ok = p.skipValue(0)
		}
		if i >= 0 {
			seen[i] = true
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	return ok
}

// usage reads a usage object, or null.
func (p *scanner) usage(dst **chat.Usage) bool {
	if p.peek() == 'n' {
		return p.literal("null")
	}
	var w wireUsage
	if !p.byte('{') {
		return false
	}
	var seen [5]bool
	done, ok := p.objectStart()
	for ok && !done {
		var name []byte
		if name, ok = p.name(); !ok {
			return false
		}
		i := -1
		switch string(name) {
		case "prompt_tokens":
			i = 0
		case "completion_tokens":
			i = 1
		case "total_tokens":
			i = 2
		case "prompt_tokens_details":
			i = 3
		case "completion_tokens_details":
			i = 4
		}
		if i >= 0 && seen[i] {
			return false
		}
		switch i {
		case 0:
			ok = p.count(&w.PromptTokens)
		case 1:
			ok = p.count(&w.CompletionTokens)
		case 2:
			ok = p.count(&w.TotalTokens)
		case 3:
			ok = p.details("cached_tokens", func() *int {
				w.PromptTokensDetails = &wirePromptDetails{}
				return &w.PromptTokensDetails.CachedTokens
			})
		case 4:
			ok = p.details("reasoning_tokens", func() *int {
				w.CompletionTokensDetails = &wireCompletionDetails{}
				return &w.CompletionTokensDetails.ReasoningTokens
			})
		default:
			ok = p.skipValue(0)
		}
		if i >= 0 {
			seen[i] = true
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	if ok {
		*dst = decodeUsage(&w)
	}
	return ok
}

// details reads null, or an object whose member name is a count (stored where at() says;
// at is called once the object starts) and whose other members are skipped.
func (p *scanner) details(name string, at func() *int) bool {
	if p.peek() == 'n' {
		return p.literal("null")
	}
	if !p.byte('{') {
		return false
	}
	dst := at()
	seen := false
	done, ok := p.objectStart()
	for ok && !done {
		var n []byte
		if n, ok = p.name(); !ok {
			return false
		}
		if string(n) == name {
			if seen {
				return false
			}
			seen = true
			ok = p.count(dst)
		} else {
			ok = p.skipValue(0)
		}
		if ok {
			done, ok = p.objectNext()
		}
	}
	return ok
}

// count reads an int written without a fraction or exponent.
func (p *scanner) count(dst *int) bool {
	n, ok := p.integer(strconv.IntSize)
	*dst = int(n)
	return ok
}

// integer reads an integer of the given size written without a fraction or exponent.
func (p *scanner) integer(bits int) (int64, bool) {
	p.space()
	start := p.i
	if !p.number() {
		return 0, false
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, bits)
	return n, err == nil
}
