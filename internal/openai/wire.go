// Package openai is the OpenAI chat-completions wire format: it decodes requests into the
// canonical chat types and encodes answers, chunks and errors back. The inbound API and the
// outbound OpenAI-compatible adapter both use it, so the two directions stay symmetric.
package openai

import (
	"encoding/json"
)

// wireRequest lists the fields the decoder understands. Everything else in the request
// object is kept in chat.Request.Extra and passed through.
type wireRequest = wireRequestOf[wireMessage]

// wireRequestOf is a request with messages of type M: wireMessage as decoded,
// wireMessageOut to encode.
type wireRequestOf[M any] struct {
	Model               string          `json:"model"`
	Messages            []M             `json:"messages"`
	Tools               []wireTool      `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *wireStreamOpts `json:"stream_options,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Stop                json.RawMessage `json:"stop,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	N                   *int            `json:"n,omitempty"`
}

// field returns where the request member k decodes to, or nil for members that are not
// known (they go to Extra).
func (w *wireRequestOf[M]) field(k string) any {
	switch k {
	case "model":
		return &w.Model
	case "messages":
		return &w.Messages
	case "tools":
		return &w.Tools
	case "tool_choice":
		return &w.ToolChoice
	case "stream":
		return &w.Stream
	case "stream_options":
		return &w.StreamOptions
	case "temperature":
		return &w.Temperature
	case "top_p":
		return &w.TopP
	case "max_tokens":
		return &w.MaxTokens
	case "max_completion_tokens":
		return &w.MaxCompletionTokens
	case "stop":
		return &w.Stop
	case "seed":
		return &w.Seed
	case "presence_penalty":
		return &w.PresencePenalty
	case "frequency_penalty":
		return &w.FrequencyPenalty
	case "n":
		return &w.N
	}
	return nil
}

type wireStreamOpts struct {
	IncludeUsage bool `json:"include_usage"`
}

// wireMessage is a message as decoded: its content kept raw (a string, null or parts).
type wireMessage = wireMessageOf[json.RawMessage]

// wireMessageOut is a message to encode. Its content is a string, nil (null) or the parts'
// JSON, so that encoding/json writes the text once: the output of a json.RawMessage is
// checked again, which was a third of EncodeRequest's time.
type wireMessageOut = wireMessageOf[any]

type wireMessageOf[C any] struct {
	Role             string         `json:"role"`
	Content          C              `json:"content"`
	Name             string         `json:"name,omitempty"`
	ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string         `json:"tool_call_id,omitempty"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
}

type wirePart struct {
	Type     string        `json:"type"`
	Text     *string       `json:"text,omitempty"`
	ImageURL *wireImageURL `json:"image_url,omitempty"`
}

type wireImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type wireTool struct {
	Type     string       `json:"type"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

type wireToolCall struct {
	Index    *int             `json:"index,omitempty"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function wireFunctionCall `json:"function"`
}

type wireFunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Response-side shapes.

type wireUsage struct {
	PromptTokens            int                    `json:"prompt_tokens"`
	CompletionTokens        int                    `json:"completion_tokens"`
	TotalTokens             int                    `json:"total_tokens"`
	PromptTokensDetails     *wirePromptDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *wireCompletionDetails `json:"completion_tokens_details,omitempty"`
}

type wirePromptDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type wireCompletionDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

type wireRespMessage struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
	ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
	Refusal          *string        `json:"refusal"`
}

type wireChoice struct {
	Index        int             `json:"index"`
	Message      wireRespMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

type wireDelta struct {
	Role             string         `json:"role,omitempty"`
	Content          *string        `json:"content,omitempty"`
	ReasoningContent *string        `json:"reasoning_content,omitempty"`
	ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
}

type wireChunkChoice struct {
	Index        int       `json:"index"`
	Delta        wireDelta `json:"delta"`
	FinishReason *string   `json:"finish_reason"`
}
