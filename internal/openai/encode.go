package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/jsonw"
)

// EncodeRequest renders req for an OpenAI-compatible upstream. Extra fields are written at
// top level, untouched; known fields win if both are present.
func EncodeRequest(req *chat.Request) ([]byte, error) {
	if b, ok := appendTextRequest(make([]byte, 0, 512), req); ok {
		return b, nil
	}
	return encodeRequest(req)
}

// encodeRequest is EncodeRequest for any request, by reflection.
func encodeRequest(req *chat.Request) ([]byte, error) {
	w := wireRequestOf[wireMessageOut]{
		Model:            req.Model,
		ToolChoice:       req.ToolChoice,
		Stream:           req.Stream,
		Temperature:      req.Params.Temperature,
		TopP:             req.Params.TopP,
		MaxTokens:        req.Params.MaxTokens,
		Seed:             req.Params.Seed,
		PresencePenalty:  req.Params.PresencePenalty,
		FrequencyPenalty: req.Params.FrequencyPenalty,
	}
	if req.Stream && req.IncludeUsage {
		w.StreamOptions = &wireStreamOpts{IncludeUsage: true}
	}
	if len(req.Params.Stop) > 0 {
		b, _ := json.Marshal(req.Params.Stop)
		w.Stop = b
	}
	w.Messages = make([]wireMessageOut, len(req.Messages))
	for i := range req.Messages {
		m, err := encodeMessage(&req.Messages[i])
		if err != nil {
			return nil, fmt.Errorf("openai: encode message %d: %w", i, err)
		}
		w.Messages[i] = m
	}
	for _, t := range req.Tools {
		w.Tools = append(w.Tools, wireTool{Type: orDefault(t.Type, "function"), Function: wireFunction{
			Name: t.Function.Name, Description: t.Function.Description,
			Parameters: t.Function.Parameters, Strict: t.Function.Strict,
		}})
	}
	known, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("openai: encode request: %w", err)
	}
	if len(req.Extra) == 0 {
		return known, nil
	}
	return mergeTopLevel(known, req.Extra)
}

// mergeTopLevel appends extra members to the JSON object obj, in sorted key order so the
// output is deterministic. Keys obj already has are skipped.
func mergeTopLevel(obj []byte, extra map[string]json.RawMessage) ([]byte, error) {
	var have map[string]json.RawMessage
	if err := json.Unmarshal(obj, &have); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if _, dup := have[k]; !dup {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return obj, nil
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.Write(obj[:len(obj)-1]) // drop the closing brace
	for _, k := range keys {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(extra[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encodeMessage(m *chat.Message) (wireMessageOut, error) {
	w := wireMessageOut{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID, ReasoningContent: m.ReasoningContent}
	for _, tc := range m.ToolCalls {
		w.ToolCalls = append(w.ToolCalls, wireToolCall{ID: tc.ID, Type: orDefault(tc.Type, "function"),
			Function: wireFunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
	}
	var err error
	switch {
	case m.Parts != nil:
		parts := make([]json.RawMessage, 0, len(m.Parts))
		for _, p := range m.Parts {
			var raw []byte
			switch p.Type {
			case chat.PartText:
				t := p.Text
				raw, err = json.Marshal(wirePart{Type: p.Type, Text: &t})
			case chat.PartImageURL:
				raw, err = json.Marshal(wirePart{Type: p.Type, ImageURL: &wireImageURL{URL: p.ImageURL, Detail: p.Detail}})
			default:
				raw = p.Raw
			}
			if err != nil {
				return w, err
			}
			parts = append(parts, raw)
		}
		w.Content = parts
	case m.Content == "" && len(m.ToolCalls) > 0:
		w.Content = nil // null
	default:
		w.Content = m.Content
	}
	return w, err
}

// Meta is what the gateway adds around an answer: its id, time and model, and extra
// top-level members (the AIGC implicit label, the privacy receipt, ...).
type Meta struct {
	ID      string
	Created int64
	Model   string
	// Extra members are written at top level of the response object, and on the first and
	// last chunk of a stream.
	Extra map[string]any

	// extra is Extra encoded, once, by Freeze: nil until then.
	extra []extraMember
}

// extraMember is one member of Meta.Extra, encoded: `"key":value`.
type extraMember struct {
	key    string
	member []byte
}

// Freeze encodes Extra once for every chunk that carries it (the first and the last of a
// stream). Extra must not change afterwards.
func (m *Meta) Freeze() error {
	members, err := encodeExtra(m.Extra, nil)
	if err != nil {
		return err
	}
	m.extra = members
	return nil
}

// encodeExtra encodes extra's members, sorted by key, except those skip names (nil: none).
func encodeExtra(extra map[string]any, skip func(key string) bool) ([]extraMember, error) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if skip == nil || !skip(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	members := make([]extraMember, 0, len(keys))
	// One buffer for all members (a CN answer's label and receipt are ~350 bytes), each
	// member a full slice of it: a member grown from nothing was reallocated half a dozen
	// times.
	buf := make([]byte, 0, 512)
	for _, k := range keys {
		start := len(buf)
		var err error
		if buf, err = appendValue(append(jsonw.AppendString(buf, k, true), ':'), extra[k]); err != nil {
			return nil, fmt.Errorf("openai: encode extra member %q: %w", k, err)
		}
		members = append(members, extraMember{key: k, member: buf[start:len(buf):len(buf)]})
	}
	return members, nil
}

// JSONAppender is a value that writes its own JSON, exactly as json.Marshal would write it:
// the extra members every CN answer carries (the implicit label) skip reflection.
type JSONAppender interface {
	AppendJSON(b []byte) []byte
}

// appendValue writes v as json.Marshal would.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case JSONAppender:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return append(b, "null"...), nil // as json.Marshal writes a nil pointer
		}
		return v.AppendJSON(b), nil
	case map[string]int: // the privacy receipt
		return AppendCounts(b, v), nil
	}
	vb, err := json.Marshal(v)
	return append(b, vb...), err
}

// AppendCounts writes m as json.Marshal would: keys sorted, HTML escaped. The privacy
// receipt, in every CN answer and its header, skips reflection.
func AppendCounts(b []byte, m map[string]int) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [8]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(append(jsonw.AppendString(b, k, true), ':'), int64(m[k]), 10)
	}
	return append(b, '}')
}

// appendExtra adds the members to the JSON object obj (replacing its closing brace), except
// those whose key the object already has.
func appendExtra(obj []byte, members []extraMember, has func(key string) bool) []byte {
	obj = obj[:len(obj)-1]
	for _, m := range members {
		if !has(m.key) {
			obj = append(append(obj, ','), m.member...)
		}
	}
	return append(obj, '}')
}

// EncodeResponse renders a collected answer as a chat.completion object: its members in
// key order (the order json.Marshal gives a map, which is what clients have seen), the
// extra members among them. It writes by hand what encodeResponse writes by reflection,
// byte for byte (FuzzEncodeResponse).
func EncodeResponse(meta Meta, r chat.Response) ([]byte, error) {
	extra := meta.extra
	if extra == nil && len(meta.Extra) > 0 {
		var err error
		// Members the object has are not encoded at all (as when the object was a map).
		if extra, err = encodeExtra(meta.Extra, func(k string) bool { return objectHas(k, r.Usage != nil) }); err != nil {
			return nil, err
		}
	}
	b := make([]byte, 0, 256+len(meta.ID)+len(meta.Model)+len(r.Message.Content)+len(r.Message.ReasoningContent))
	b = append(b, '{')
	// base are the object's possible members, sorted; a (frozen) extra member of a name the
	// object has is dropped.
	base := [...]string{"choices", "created", "id", "model", "object", "usage"}
	i, first := 0, true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	for _, k := range base {
		for ; i < len(extra) && extra[i].key < k; i++ {
			sep()
			b = append(b, extra[i].member...)
		}
		if i < len(extra) && extra[i].key == k && objectHas(k, r.Usage != nil) {
			i++
		}
		switch k {
		case "choices":
			sep()
			var err error
			if b, err = appendChoice(append(b, `"choices":[`...), r); err != nil {
				return nil, err
			}
			b = append(b, ']')
		case "created":
			sep()
			b = strconv.AppendInt(append(b, `"created":`...), meta.Created, 10)
		case "id":
			sep()
			b = jsonw.AppendString(append(b, `"id":`...), meta.ID, true)
		case "model":
			sep()
			b = jsonw.AppendString(append(b, `"model":`...), meta.Model, true)
		case "object":
			sep()
			b = append(b, `"object":"chat.completion"`...)
		case "usage":
			if r.Usage != nil {
				sep()
				b = appendUsage(append(b, `"usage":`...), encodeUsage(r.Usage))
			}
		}
	}
	for ; i < len(extra); i++ {
		sep()
		b = append(b, extra[i].member...)
	}
	return append(b, '}'), nil
}

// appendChoice writes the one choice of a whole answer, as json.Marshal writes wireChoice.
func appendChoice(b []byte, r chat.Response) ([]byte, error) {
	b = append(b, `{"index":0,"message":{"role":"assistant","content":`...)
	if r.Message.Content != "" || len(r.Message.ToolCalls) == 0 {
		b = jsonw.AppendString(b, r.Message.Content, true)
	} else {
		b = append(b, "null"...)
	}
	if r.Message.ReasoningContent != "" {
		b = jsonw.AppendString(append(b, `,"reasoning_content":`...), r.Message.ReasoningContent, true)
	}
	if len(r.Message.ToolCalls) > 0 {
		calls := make([]wireToolCall, 0, len(r.Message.ToolCalls))
		for _, tc := range r.Message.ToolCalls {
			calls = append(calls, wireToolCall{ID: tc.ID, Type: orDefault(tc.Type, "function"),
				Function: wireFunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
		}
		tb, err := json.Marshal(calls) // rare enough for reflection
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"tool_calls":`...), tb...)
	}
	finish := r.FinishReason
	if finish == "" {
		finish = chat.FinishStop
	}
	b = append(b, `,"refusal":null},"finish_reason":`...)
	return append(jsonw.AppendString(b, finish, true), '}'), nil
}

// appendUsage writes u as json.Marshal does.
func appendUsage(b []byte, u wireUsage) []byte {
	b = strconv.AppendInt(append(b, `{"prompt_tokens":`...), int64(u.PromptTokens), 10)
	b = strconv.AppendInt(append(b, `,"completion_tokens":`...), int64(u.CompletionTokens), 10)
	b = strconv.AppendInt(append(b, `,"total_tokens":`...), int64(u.TotalTokens), 10)
	if d := u.PromptTokensDetails; d != nil {
		b = strconv.AppendInt(append(b, `,"prompt_tokens_details":{"cached_tokens":`...), int64(d.CachedTokens), 10)
		b = append(b, '}')
	}
	if d := u.CompletionTokensDetails; d != nil {
		b = strconv.AppendInt(append(b, `,"completion_tokens_details":{"reasoning_tokens":`...), int64(d.ReasoningTokens), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

func encodeUsage(u *chat.Usage) wireUsage {
	w := wireUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if w.TotalTokens == 0 {
		w.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if u.CachedTokens > 0 {
		w.PromptTokensDetails = &wirePromptDetails{CachedTokens: u.CachedTokens}
	}
	if u.ReasoningTokens > 0 {
		w.CompletionTokensDetails = &wireCompletionDetails{ReasoningTokens: u.ReasoningTokens}
	}
	return w
}

// chunkObject is a chat.completion.chunk with its members in OpenAI's order.
type chunkObject struct {
	ID      string            `json:"id"`
	Object  string            `json:"object"`
	Created int64             `json:"created"`
	Model   string            `json:"model"`
	Choices []wireChunkChoice `json:"choices"`
	Usage   *wireUsage        `json:"usage,omitempty"`
}

// AppendChunk appends one streamed chunk to b (the SSE writer's buffer: a chunk allocates
// nothing). withExtra adds meta.Extra (first and last event). A chunk that carries only
// usage is rendered the OpenAI way: an empty choices array.
func AppendChunk(b []byte, meta Meta, c chat.Chunk, withExtra bool) ([]byte, error) {
	if len(c.Delta.ToolCalls) == 0 {
		b = appendTextChunk(b, meta, c)
	} else {
		obj, err := encodeChunk(meta, c)
		if err != nil {
			return b, err
		}
		b = append(b, obj...)
	}
	if !withExtra || len(meta.Extra) == 0 {
		return b, nil
	}
	members := meta.extra
	if members == nil {
		var err error
		if members, err = encodeExtra(meta.Extra, nil); err != nil {
			return b, err
		}
	}
	return appendExtra(b, members, func(k string) bool { return objectHas(k, c.Usage != nil) }), nil
}

// objectHas reports whether a chat.completion or chunk object has a member k of its own
// (usage only when there is usage): an extra member of that name is left out.
func objectHas(k string, usage bool) bool {
	switch k {
	case "choices", "created", "id", "model", "object":
		return true
	case "usage":
		return usage
	}
	return false
}

// appendTextChunk renders the chunks that make up almost all of a stream (role, content or
// reasoning, finish reason, usage; no tool calls) without reflection, byte for byte as
// encodeChunk would.
func appendTextChunk(b []byte, meta Meta, c chat.Chunk) []byte {
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, meta.ID, true)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, meta.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonw.AppendString(b, meta.Model, true)
	if c.Usage != nil && c.Delta.Empty() && c.FinishReason == "" {
		b = append(b, `,"choices":[],"usage":`...)
		return append(appendUsage(b, encodeUsage(c.Usage)), '}')
	}
	b = append(b, `,"choices":[{"index":0,"delta":{`...)
	sep := false
	member := func(name, v string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(append(append(b, '"'), name...), `":`...)
		b = jsonw.AppendString(b, v, true)
	}
	if c.Delta.Role != "" {
		member("role", c.Delta.Role)
	}
	if c.Delta.Content != "" || (c.Delta.Role != "" && c.Delta.ReasoningContent == "") {
		member("content", c.Delta.Content)
	}
	if c.Delta.ReasoningContent != "" {
		member("reasoning_content", c.Delta.ReasoningContent)
	}
	if c.FinishReason == "" {
		b = append(b, `},"finish_reason":null}]`...)
	} else {
		b = jsonw.AppendString(append(b, `},"finish_reason":`...), c.FinishReason, true)
		b = append(b, `}]`...)
	}
	if c.Usage != nil {
		b = appendUsage(append(b, `,"usage":`...), encodeUsage(c.Usage))
	}
	return append(b, '}')
}

// encodeChunk renders any chunk through encoding/json, without extra members.
func encodeChunk(meta Meta, c chat.Chunk) ([]byte, error) {
	obj := chunkObject{ID: meta.ID, Object: "chat.completion.chunk", Created: meta.Created, Model: meta.Model}
	usageOnly := c.Usage != nil && c.Delta.Empty() && c.FinishReason == ""
	if !usageOnly {
		ch := wireChunkChoice{Delta: wireDelta{Role: c.Delta.Role}}
		if c.Delta.Content != "" || (c.Delta.Role != "" && c.Delta.ReasoningContent == "" && len(c.Delta.ToolCalls) == 0) {
			s := c.Delta.Content
			ch.Delta.Content = &s
		}
		if c.Delta.ReasoningContent != "" {
			s := c.Delta.ReasoningContent
			ch.Delta.ReasoningContent = &s
		}
		for _, d := range c.Delta.ToolCalls {
			idx := d.Index
			ch.Delta.ToolCalls = append(ch.Delta.ToolCalls, wireToolCall{Index: &idx, ID: d.ID, Type: d.Type,
				Function: wireFunctionCall{Name: d.Name, Arguments: d.Arguments}})
		}
		if c.FinishReason != "" {
			f := c.FinishReason
			ch.FinishReason = &f
		}
		obj.Choices = []wireChunkChoice{ch}
	} else {
		obj.Choices = []wireChunkChoice{}
	}
	if c.Usage != nil {
		u := encodeUsage(c.Usage)
		obj.Usage = &u
	}
	return json.Marshal(obj)
}
