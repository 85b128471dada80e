package openai

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/jsonw"
)

// appendTextRequest encodes, without reflection, the requests that make up almost all
// upstream calls: messages of text (no parts, no tool calls), no tools and no tool choice.
// ok is false for anything else, which EncodeRequest encodes by reflection; for the requests
// it takes the bytes are that encoding's (FuzzEncodeTextRequest holds it to it).
func appendTextRequest(b []byte, req *chat.Request) ([]byte, bool) {
	if len(req.Tools) > 0 || len(req.ToolChoice) > 0 {
		return nil, false
	}
	// Members in wireRequestOf's order, as encoding/json writes them; the names written are
	// kept so that Extra does not repeat them (mergeTopLevel's rule).
	var written [11]string // every member below
	names := written[:0]
	member := func(name string) {
		if len(names) > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), name...), `":`...)
		names = append(names, name)
	}
	b = append(b, '{')
	member("model")
	b = jsonw.AppendString(b, req.Model, true)
	member("messages")
	b = append(b, '[')
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Parts != nil || len(m.ToolCalls) > 0 {
			return nil, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(append(b, `{"role":`...), m.Role, true)
		b = jsonw.AppendString(append(b, `,"content":`...), m.Content, true)
		for _, f := range [...]struct{ name, v string }{{"name", m.Name}, {"tool_call_id", m.ToolCallID}, {"reasoning_content", m.ReasoningContent}} {
			if f.v != "" {
				b = jsonw.AppendString(append(append(append(b, ",\""...), f.name...), `":`...), f.v, true)
			}
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if req.Stream {
		member("stream")
		b = append(b, "true"...)
		if req.IncludeUsage {
			member("stream_options")
			b = append(b, `{"include_usage":true}`...)
		}
	}
	p := &req.Params
	ok := true
	float := func(name string, f *float64) {
		if f != nil && ok {
			member(name)
			b, ok = appendFloat(b, *f)
		}
	}
	float("temperature", p.Temperature)
	float("top_p", p.TopP)
	if p.MaxTokens != nil {
		member("max_tokens")
		b = strconv.AppendInt(b, int64(*p.MaxTokens), 10)
	}
	if len(p.Stop) > 0 {
		member("stop")
		b = append(b, '[')
		for i, s := range p.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.AppendString(b, s, true)
		}
		b = append(b, ']')
	}
	if p.Seed != nil {
		member("seed")
		b = strconv.AppendInt(b, *p.Seed, 10)
	}
	float("presence_penalty", p.PresencePenalty)
	float("frequency_penalty", p.FrequencyPenalty)
	if !ok {
		return nil, false // NaN or infinity: encoding/json's error to report
	}
	b = appendExtraMembers(b, req.Extra, names)
	return append(b, '}'), true
}

// appendExtraMembers writes the extra members whose names are not among written, in sorted
// order, as mergeTopLevel does: after the known ones, their values verbatim.
func appendExtraMembers(b []byte, extra map[string]json.RawMessage, written []string) []byte {
	if len(extra) == 0 {
		return b
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !slices.Contains(written, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(jsonw.AppendString(append(b, ','), k, true), ':')
		b = append(b, extra[k]...)
	}
	return b
}

// appendFloat writes f as encoding/json does; ok is false for NaN and infinities, which it
// refuses.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
