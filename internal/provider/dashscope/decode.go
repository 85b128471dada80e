package dashscope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// wireResponse is one native answer: a streamed event (with incremental_output, the deltas) or
// a whole non-streamed body. An error event carries code and message instead of output.
type wireResponse struct {
	Output *struct {
		Choices []wireChoice `json:"choices"`
		// Text and FinishReason are the legacy result_format "text" shape.
		Text         *string `json:"text"`
		FinishReason string  `json:"finish_reason"`
	} `json:"output"`
	Usage   *wireUsage `json:"usage"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
}

type wireChoice struct {
	Message struct {
		Role             string          `json:"role"`
		Content          json.RawMessage `json:"content"`
		ReasoningContent string          `json:"reasoning_content"`
		ToolCalls        []wireToolCall  `json:"tool_calls"`
	} `json:"message"`
	// FinishReason is the string "null" while streaming, not JSON null.
	FinishReason *string `json:"finish_reason"`
}

type wireUsage struct {
	InputTokens         int `json:"input_tokens"`
	OutputTokens        int `json:"output_tokens"`
	TotalTokens         int `json:"total_tokens"`
	OutputTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u *wireUsage) chat() *chat.Usage {
	c := &chat.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
	if c.TotalTokens == 0 {
		c.TotalTokens = c.PromptTokens + c.CompletionTokens
	}
	if u.OutputTokensDetails != nil {
		c.ReasoningTokens = u.OutputTokensDetails.ReasoningTokens
	}
	if u.PromptTokensDetails != nil {
		c.CachedTokens = u.PromptTokensDetails.CachedTokens
	}
	return c
}

// decoder implements upstream.Decoder for the native protocol.
type decoder struct {
	provider string
	roleSent bool
	finished bool
	usage    *chat.Usage
	// calls remembers, per tool-call index, the id and name already emitted, so that a
	// fragment repeating them (DashScope does in some versions) does not double them when
	// fragments are concatenated.
	calls map[int]*seenCall
	one   [1]chat.Chunk // the array Event returns its chunk in, reused from call to call
}

type seenCall struct{ id, name string }

// eventOptions decode one event as leniently as encoding/json does (invalid UTF-8 and
// duplicate member names are tolerated), with the json/v2 implementation: events are the
// hottest decode in the gateway, and it is about twice as fast.
var eventOptions = jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// NewDecoder returns a decoder for one native answer. It is exported for tests and tools that
// replay recorded DashScope transcripts (upstream.ReadEvents).
func NewDecoder(provider string) upstream.Decoder { return &decoder{provider: provider} }

// Event implements upstream.Decoder.
func (d *decoder) Event(ev *upstream.Event) ([]chat.Chunk, bool, error) {
	data := bytes.TrimSpace(ev.Data)
	if ev.Type == "error" {
		return nil, false, d.errorEvent(ev.HTTPStatus, data)
	}
	if ev.Type == "done" || len(data) == 0 {
		// The Python SDK skips "event:done"; empty data carries nothing.
		return nil, false, nil
	}
	var w wireResponse
	if err := jsonv2.Unmarshal(data, &w, eventOptions); err != nil {
		return nil, false, fmt.Errorf("decode event: %w", err)
	}
	if w.Output == nil && w.Code != "" {
		// An error object outside an error event (an SSE-framed error body).
		return nil, false, d.errorEvent(ev.HTTPStatus, data)
	}
	if w.Output == nil {
		return nil, false, errors.New("event has neither output nor an error code")
	}
	if d.finished {
		// Nothing follows a finish reason in DashScope's streams; if something does, it is
		// not part of the answer the finish closed.
		return nil, false, nil
	}
	if w.Usage != nil {
		d.usage = w.Usage.chat()
	}
	var c chat.Chunk
	finish := ""
	switch {
	case len(w.Output.Choices) > 0:
		ch := &w.Output.Choices[0]
		text, err := contentText(ch.Message.Content)
		if err != nil {
			return nil, false, err
		}
		c.Delta.Content = text
		c.Delta.ReasoningContent = ch.Message.ReasoningContent
		for i, tc := range ch.Message.ToolCalls {
			if td := d.toolCall(i, tc); td.ID != "" || td.Name != "" || td.Arguments != "" {
				// The last event of a tool-call answer repeats an empty fragment; dropping
				// it keeps the stream free of no-op deltas.
				c.Delta.ToolCalls = append(c.Delta.ToolCalls, td)
			}
		}
		if ch.FinishReason != nil {
			finish = *ch.FinishReason
		}
	case w.Output.Text != nil:
		c.Delta.Content = *w.Output.Text
		finish = w.Output.FinishReason
	}
	if finish != "" && finish != "null" {
		c.FinishReason = finish
		c.Usage = d.usage
		d.finished = true
	}
	if c.Delta.Empty() && c.FinishReason == "" {
		return nil, false, nil // a usage-only or empty event
	}
	if !d.roleSent {
		c.Delta.Role = chat.RoleAssistant
		d.roleSent = true
	}
	// The event with the finish reason is the last of a native stream: the answer is
	// complete, and the end of the body is drained off the request's path (connection reuse).
	d.one[0] = c
	return d.one[:], d.finished, nil
}

func (d *decoder) toolCall(pos int, tc wireToolCall) chat.ToolCallDelta {
	idx := pos
	if tc.Index != nil {
		idx = *tc.Index
	}
	out := chat.ToolCallDelta{Index: idx, ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments}
	if d.calls == nil {
		d.calls = make(map[int]*seenCall)
	}
	s := d.calls[idx]
	if s == nil {
		s = &seenCall{}
		d.calls[idx] = s
	}
	if out.ID != "" && out.ID == s.id {
		out.ID = ""
	} else if out.ID != "" {
		s.id = out.ID
	}
	if out.Name != "" && out.Name == s.name {
		out.Name = ""
	} else if out.Name != "" {
		s.name += out.Name
	}
	if s.name != "" && out.Type != "" && out.Name == "" {
		out.Type = "" // the type, too, only once
	}
	return out
}

// End implements upstream.Decoder: a native stream has no end sentinel, so an answer is
// complete only if an event carried a finish reason.
func (d *decoder) End() ([]chat.Chunk, error) {
	if !d.finished {
		return nil, upstream.Truncated(d.provider)
	}
	return nil, nil
}

func (d *decoder) errorEvent(status int, data []byte) error {
	ue := parseError(d.provider, status, data)
	return upstream.Map(ue)
}

// contentText reads message content: a string on the text endpoint, a list of single-key items
// on the multimodal one ([{"text":"..."}]); non-text items are skipped.
func contentText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
			// Fast path: no escapes, so the JSON string is its own text (raw came out of a
			// successful json.Unmarshal, so it is a well-formed string).
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("decode content: %w", err)
		}
		return s, nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return "", fmt.Errorf("decode content list: %w", err)
	}
	var out []byte
	for _, it := range items {
		if t, ok := it["text"]; ok {
			var s string
			if err := json.Unmarshal(t, &s); err != nil {
				return "", fmt.Errorf("decode content text: %w", err)
			}
			out = append(out, s...)
		}
	}
	return string(out), nil
}

// parseError reads an error body in any of the shapes DashScope uses: native JSON
// {"code","message","request_id"}, compatible-mode {"error":{...}}, or an SSE-framed error
// (event:error / :HTTP_STATUS / data:) sent under application/json.
func parseError(provider string, status int, body []byte) *upstream.Error {
	ue := &upstream.Error{Provider: provider, Status: status}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] != '{' {
		sse := upstream.NewSSEReader(bytes.NewReader(body))
		for {
			ev, err := sse.Next()
			if err != nil {
				break
			}
			if ev.Data != nil {
				if ev.HTTPStatus != 0 && status == 0 {
					ue.Status = ev.HTTPStatus
				}
				body = bytes.TrimSpace(ev.Data)
				break
			}
		}
	}
	var w struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
		Error     *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil {
		ue.Code, ue.Message, ue.RequestID = w.Code, w.Message, w.RequestID
		if w.Error != nil {
			ue.Message, ue.Type = w.Error.Message, w.Error.Type
			if s, ok := w.Error.Code.(string); ok {
				ue.Code = s
			}
		}
	}
	return ue
}

// errorFromBody maps a non-200 response body.
func errorFromBody(provider string, status int, body []byte) *apierr.Error {
	return upstream.Map(parseError(provider, status, body))
}
