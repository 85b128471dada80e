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
	var s seen
	ok = p.object(func(name []byte) bool {
		switch string(name) {
		case "choices":
			return s.first(0) && p.responseChoice(&r)
		case "usage":
			return s.first(1) && p.usage(&r.Usage)
		case "error":
			return false
		}
		return p.skipValue(0)
	})
	p.space()
	if !ok || !s.has(0) || p.i != len(p.b) {
		return r, false
	}
	r.Message.Role = chat.RoleAssistant
	return r, true
}

// responseChoice reads an array of exactly one choice.
func (p *scanner) responseChoice(r *chat.Response) bool {
	if !p.byte('[') {
		return false
	}
	var s seen
	ok := p.object(func(name []byte) bool {
		switch string(name) {
		case "index":
			return s.first(0) && p.smallInt()
		case "message":
			return s.first(1) && p.responseMessage(&r.Message)
		case "finish_reason":
			var ok bool
			r.FinishReason, ok = p.stringOrNull()
			return s.first(2) && ok
		}
		return p.skipValue(0)
	})
	return ok && p.byte(']') // a second choice is left to the general decoder
}

// responseMessage reads a message of text: content and reasoning are kept; role and refusal
// are read and dropped, as the general decoder drops them; tool calls must be null.
func (p *scanner) responseMessage(m *chat.Message) bool {
	var s seen
	return p.object(func(name []byte) bool {
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
			return s.first(4) && p.literal("null")
		default:
			return p.skipValue(0)
		}
		var ok bool
		*dst, ok = p.stringOrNull()
		return s.first(i) && ok
	})
}

// usage reads a usage object, or null.
func (p *scanner) usage(dst **chat.Usage) bool {
	if p.peek() == 'n' {
		return p.literal("null")
	}
	var w wireUsage
	var s seen
	ok := p.object(func(name []byte) bool {
		switch string(name) {
		case "prompt_tokens":
			return s.first(0) && p.count(&w.PromptTokens)
		case "completion_tokens":
			return s.first(1) && p.count(&w.CompletionTokens)
		case "total_tokens":
			return s.first(2) && p.count(&w.TotalTokens)
		case "prompt_tokens_details":
			return s.first(3) && p.details("cached_tokens", func() *int {
				w.PromptTokensDetails = &wirePromptDetails{}
				return &w.PromptTokensDetails.CachedTokens
			})
		case "completion_tokens_details":
			return s.first(4) && p.details("reasoning_tokens", func() *int {
				w.CompletionTokensDetails = &wireCompletionDetails{}
				return &w.CompletionTokensDetails.ReasoningTokens
			})
		}
		return p.skipValue(0)
	})
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
	if p.peek() != '{' {
		return false
	}
	dst := at()
	var s seen
	return p.object(func(n []byte) bool {
		if string(n) == name {
			return s.first(0) && p.count(dst)
		}
		return p.skipValue(0)
	})
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
