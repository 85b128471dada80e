// Package chat holds the canonical, provider-neutral form of a chat request and of the
// streamed answer. Every stage of the gateway speaks these types; wire formats (OpenAI,
// DashScope) are translated to and from them at the edges.
package chat

import (
	"encoding/json"
	"strings"
)

// Roles used in messages.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Finish reasons. They match OpenAI's vocabulary; adapters translate upstream values.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// Request is one chat completion request after decoding.
type Request struct {
	// Model is what the caller asked for. Before routing it is the alias the device sent
	// ("chat", "vision"); the router rewrites it to the upstream model name.
	Model    string
	Messages []Message
	Tools    []Tool
	// ToolChoice is kept verbatim ("auto", "none", "required" or an object).
	ToolChoice json.RawMessage
	Stream     bool
	// IncludeUsage mirrors stream_options.include_usage.
	IncludeUsage bool
	Params       Params
	// Extra holds top-level fields the decoder does not know. They are passed through
	// untouched to OpenAI-compatible upstreams; the DashScope adapter maps the ones it
	// understands (enable_thinking, thinking_budget, top_k, ...).
	Extra map[string]json.RawMessage
}

// Params are the sampling parameters. Nil means "not set": the upstream default applies.
type Params struct {
	Temperature      *float64
	TopP             *float64
	MaxTokens        *int
	Stop             []string
	Seed             *int64
	PresencePenalty  *float64
	FrequencyPenalty *float64
}

// Message is one turn of the conversation.
type Message struct {
	Role string
	// Content is the text of a message whose content was a plain string.
	Content string
	// Parts is set when content was an array of parts (text, image_url, ...). When Parts is
	// non-nil, Content is unused.
	Parts            []Part
	Name             string
	ToolCalls        []ToolCall
	ToolCallID       string
	ReasoningContent string
}

// Text returns the message's text: Content, or the text parts joined with newlines.
func (m *Message) Text() string {
	if m.Parts == nil {
		return m.Content
	}
	var b strings.Builder
	for i, p := range m.Parts {
		if p.Type != PartText {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// Part types.
const (
	PartText     = "text"
	PartImageURL = "image_url"
)

// Part is one element of an array content.
type Part struct {
	Type string
	Text string
	// ImageURL is an http(s) URL or a data: URI.
	ImageURL string
	// Detail is the OpenAI image detail hint ("auto", "low", "high"), if given.
	Detail string
	// Raw keeps a part of an unknown type verbatim so it can be passed through.
	Raw json.RawMessage
}

// Tool is a function the model may call.
type Tool struct {
	Type     string // "function"
	Function Function
}

// Function describes a callable function.
type Function struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON schema
	Strict      *bool
}

// ToolCall is a complete call made by the model (in a request's history, or collected).
type ToolCall struct {
	ID        string
	Type      string // "function"
	Name      string
	Arguments string // JSON text, as produced by the model
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	ReasoningTokens  int
	CachedTokens     int
}
