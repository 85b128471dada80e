package dashscope

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// wireRequest is the native request body. Messages live inside input: at top level DashScope
// answers `InvalidParameter: Either "prompt" or "messages" must exist`.
type wireRequest struct {
	Model      string         `json:"model"`
	Input      wireInput      `json:"input"`
	Parameters map[string]any `json:"parameters"`
}

type wireInput struct {
	Messages []wireMessage `json:"messages"`
}

type wireMessage struct {
	Role string `json:"role"`
	// Content is a string on the text endpoint and a list of single-key items
	// ({"text":..}, {"image":..}) on the multimodal endpoint.
	Content    any            `json:"content"`
	Name       string         `json:"name,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type wireToolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type wireTool struct {
	Type     string           `json:"type"`
	Function wireToolFunction `json:"function"`
}

type wireToolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// extraParams are the non-OpenAI request fields (chat.Request.Extra) that DashScope takes in
// parameters. Other unknown fields are dropped: the native API has no place for them, and an
// OpenAI "user" field, for one, is an identifier that should not travel.
var extraParams = map[string]bool{
	"enable_thinking": true, "thinking_budget": true, "top_k": true, "repetition_penalty": true,
	"enable_search": true, "search_options": true, "response_format": true,
	"vl_high_resolution_images": true, "enable_code_interpreter": true, "logprobs": true,
	"top_logprobs": true,
}

// maxTopP is the largest top_p sent: older DashScope models reject top_p >= 1 ("top_p must be
// in (0, 1)"), so 1.0 (OpenAI's default) is clamped just below.
const maxTopP = 0.9999

// encodeRequest builds the native body. multimodal selects the content shape; stream asks
// for incremental output (a streaming-only parameter).
func encodeRequest(req *chat.Request, multimodal, stream bool) ([]byte, error) {
	w := wireRequest{Model: req.Model, Parameters: map[string]any{"result_format": "message"}}
	if stream {
		w.Parameters["incremental_output"] = true
	}
	w.Input.Messages = make([]wireMessage, 0, len(req.Messages))
	for i := range req.Messages {
		m, err := encodeMessage(&req.Messages[i], multimodal, i)
		if err != nil {
			return nil, err
		}
		w.Input.Messages = append(w.Input.Messages, m)
	}
	p := w.Parameters
	if v := req.Params.Temperature; v != nil {
		p["temperature"] = *v
	}
	if v := req.Params.TopP; v != nil {
		p["top_p"] = min(*v, maxTopP)
	}
	if v := req.Params.MaxTokens; v != nil {
		p["max_tokens"] = *v
	}
	if len(req.Params.Stop) > 0 {
		p["stop"] = req.Params.Stop
	}
	if v := req.Params.Seed; v != nil {
		if *v < 0 {
			return nil, apierr.BadRequest("invalid_value", "seed must not be negative for this model").WithParam("seed")
		}
		p["seed"] = uint64(*v)
	}
	if v := req.Params.PresencePenalty; v != nil {
		p["presence_penalty"] = *v
	}
	// frequency_penalty has no native counterpart and is dropped.
	if len(req.Tools) > 0 {
		tools := make([]wireTool, len(req.Tools))
		for i, t := range req.Tools {
			tools[i] = wireTool{Type: "function", Function: wireToolFunction{
				Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters}}
		}
		p["tools"] = tools
	}
	if len(req.ToolChoice) > 0 {
		p["tool_choice"] = req.ToolChoice
	}
	for k, v := range req.Extra {
		if extraParams[k] {
			p[k] = v
		}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, apierr.BadRequest("invalid_value", "the request cannot be encoded for DashScope").WithCause(err)
	}
	return b, nil
}

func encodeMessage(m *chat.Message, multimodal bool, i int) (wireMessage, error) {
	w := wireMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
	for _, tc := range m.ToolCalls {
		w.ToolCalls = append(w.ToolCalls, wireToolCall{ID: tc.ID, Type: "function",
			Function: wireFunction{Name: tc.Name, Arguments: tc.Arguments}})
	}
	if !multimodal {
		for j, p := range m.Parts {
			if p.Type != chat.PartText {
				return w, unsupportedPart(p, i, j)
			}
		}
		w.Content = m.Text()
		return w, nil
	}
	items := []map[string]string{}
	if m.Parts == nil {
		if m.Content != "" || len(m.ToolCalls) == 0 {
			items = append(items, map[string]string{"text": m.Content})
		}
	}
	for j, p := range m.Parts {
		switch p.Type {
		case chat.PartText:
			items = append(items, map[string]string{"text": p.Text})
		case chat.PartImageURL:
			items = append(items, map[string]string{"image": p.ImageURL})
		default:
			return w, unsupportedPart(p, i, j)
		}
	}
	w.Content = items
	return w, nil
}

func unsupportedPart(p chat.Part, i, j int) error {
	what := p.Type
	if p.Type == chat.PartImageURL {
		what = "image"
	}
	return apierr.BadRequest("unsupported_value",
		fmt.Sprintf("content parts of type %q are not supported by this model", strings.TrimSpace(what))).
		WithParam(fmt.Sprintf("messages[%d].content[%d]", i, j))
}

// hasImages reports whether any message carries an image part.
func hasImages(req *chat.Request) bool {
	for i := range req.Messages {
		for _, p := range req.Messages[i].Parts {
			if p.Type == chat.PartImageURL {
				return true
			}
		}
	}
	return false
}
