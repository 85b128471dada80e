package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// Limits bound what a request may contain. Zero values mean the defaults.
type Limits struct {
	// MaxMessages is the largest number of messages accepted. Default 1024.
	MaxMessages int
}

func (l Limits) maxMessages() int {
	if l.MaxMessages > 0 {
		return l.MaxMessages
	}
	return 1024
}

// DecodeRequest parses a chat-completions request body. Every failure is a 400 *apierr.Error
// that names the offending field.
func DecodeRequest(body []byte, lim Limits) (*chat.Request, error) {
	return decodeRequest(body, lim, true)
}

// decodeRequest is DecodeRequest; common says whether the reflection-free path may take the
// body (tests turn it off to have the general path as the reference).
func decodeRequest(body []byte, lim Limits, common bool) (*chat.Request, error) {
	if !utf8.Valid(body) {
		return nil, apierr.BadRequest("invalid_encoding", "request body is not valid UTF-8")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, apierr.BadRequest("invalid_json", "request body is empty; expected a JSON object")
	}
	if body[0] != '{' {
		return nil, apierr.BadRequest("invalid_json", "request body must be a JSON object")
	}
	var w wireRequest
	var msgs []chat.Message
	var extra map[string]json.RawMessage
	ok := false
	if common {
		msgs, extra, ok = decodeCommon(body, &w, lim)
	}
	if !ok {
		w, msgs = wireRequest{}, nil
		if extra, ok = decodeMembers(body, &w); !ok {
			w = wireRequest{}
			var err error
			if extra, err = splitMembers(body, &w); err != nil {
				return nil, err
			}
		}
	}
	req := &chat.Request{
		Extra:      extra,
		Model:      strings.TrimSpace(w.Model),
		ToolChoice: w.ToolChoice,
		Stream:     w.Stream,
		Params: chat.Params{
			Temperature:      w.Temperature,
			TopP:             w.TopP,
			MaxTokens:        w.MaxTokens,
			Seed:             w.Seed,
			PresencePenalty:  w.PresencePenalty,
			FrequencyPenalty: w.FrequencyPenalty,
		},
	}
	if w.MaxCompletionTokens != nil {
		req.Params.MaxTokens = w.MaxCompletionTokens
	}
	if w.StreamOptions != nil {
		req.IncludeUsage = w.StreamOptions.IncludeUsage
	}
	if req.Model == "" {
		return nil, apierr.BadRequest("missing_model", "you must provide a model").WithParam("model")
	}
	if w.N != nil && *w.N != 1 {
		return nil, apierr.BadRequest("unsupported_value", "only n=1 is supported").WithParam("n")
	}
	if w.StreamOptions != nil && !w.Stream {
		return nil, apierr.BadRequest("invalid_value", "stream_options is only allowed when stream is true").WithParam("stream_options")
	}
	if err := decodeStop(w.Stop, &req.Params); err != nil {
		return nil, err
	}
	if msgs != nil {
		req.Messages = msgs // decodeCommon took only messages that pass the checks below
	} else if err := decodeMessages(w.Messages, req, lim); err != nil {
		return nil, err
	}
	for i, t := range w.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return nil, apierr.BadRequest("invalid_value", "only tools of type \"function\" are supported").WithParam(param + ".type")
		}
		if t.Function.Name == "" {
			return nil, apierr.BadRequest("invalid_value", "tool function name is required").WithParam(param + ".function.name")
		}
		if len(t.Function.Parameters) > 0 && !json.Valid(t.Function.Parameters) {
			return nil, apierr.BadRequest("invalid_value", "tool parameters must be a JSON schema object").WithParam(param + ".function.parameters")
		}
		req.Tools = append(req.Tools, chat.Tool{Type: t.Type, Function: chat.Function{
			Name: t.Function.Name, Description: t.Function.Description,
			Parameters: t.Function.Parameters, Strict: t.Function.Strict,
		}})
	}
	return req, nil
}

func decodeMessages(ws []wireMessage, req *chat.Request, lim Limits) error {
	if len(ws) == 0 {
		return apierr.BadRequest("missing_messages", "messages must be a non-empty array").WithParam("messages")
	}
	if len(ws) > lim.maxMessages() {
		return apierr.BadRequest("too_many_messages",
			fmt.Sprintf("too many messages: %d, the limit is %d", len(ws), lim.maxMessages())).WithParam("messages")
	}
	req.Messages = make([]chat.Message, len(ws))
	for i := range ws {
		if err := decodeMessage(&ws[i], &req.Messages[i], i); err != nil {
			return err
		}
	}
	return nil
}

// decodeMembers decodes the request object in one pass: known members straight into w,
// the others kept verbatim. It reports false, and leaves the request to splitMembers, for
// anything but a well-formed object whose members all decode and have distinct names: the
// two-pass path is the reference for what such bodies mean and for the errors they get
// (FuzzDecodeMembers holds the two to the same result).
func decodeMembers(body []byte, w *wireRequest) (extra map[string]json.RawMessage, ok bool) {
	dec := decoders.Get().(*jsontext.Decoder)
	defer putDecoder(dec)
	// Over a bytes.Buffer the decoder parses the body where it is, without a copy.
	dec.Reset(bytes.NewBuffer(body), v1Options)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	// A name seen twice sends the body to the two-pass path, where the last one wins.
	// Known names are few; unknown ones are checked in extra (a list of every name would
	// make a body of many small members cost quadratic time).
	var names [16]string
	known := names[:0]
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil || tok.Kind() != '"' {
			return nil, false
		}
		k := tok.String()
		if dst := w.field(k); dst != nil {
			if slices.Contains(known, k) || jsonv2.UnmarshalDecode(dec, dst, v1Options) != nil {
				return nil, false
			}
			known = append(known, k)
			continue
		}
		if _, dup := extra[k]; dup {
			return nil, false
		}
		v, err := dec.ReadValue()
		if err != nil {
			return nil, false
		}
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[k] = json.RawMessage(bytes.Clone(v))
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, false // something follows the object
	}
	return extra, true
}

// decoders keeps JSON decoders for request bodies: a decoder's state is worth reusing.
var decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

// putDecoder returns dec to the pool without a reference to the request's body.
func putDecoder(dec *jsontext.Decoder) {
	dec.Reset(new(bytes.Buffer))
	decoders.Put(dec)
}

// v1Options decode as jsonv1.Unmarshal does.
var v1Options = jsonv1.DefaultOptionsV1()

// splitMembers decodes the request object in two passes: one splits it into members, then
// each known member is decoded on its own (in no particular order: of two bad members,
// either may be reported); the rest is kept verbatim.
func splitMembers(body []byte, w *wireRequest) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := jsonv1.Unmarshal(body, &fields); err != nil {
		return nil, jsonError(err)
	}
	var extra map[string]json.RawMessage
	for k, v := range fields {
		dst := w.field(k)
		if dst == nil {
			if extra == nil {
				extra = make(map[string]json.RawMessage)
			}
			extra[k] = v
			continue
		}
		if err := jsonv1.Unmarshal(v, dst); err != nil {
			return nil, jsonError(fieldError(k, err))
		}
	}
	return extra, nil
}

func decodeStop(raw json.RawMessage, p *chat.Params) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var one string
	if err := jsonv1.Unmarshal(raw, &one); err == nil {
		p.Stop = []string{one}
		return nil
	}
	var many []string
	if err := jsonv1.Unmarshal(raw, &many); err != nil {
		return apierr.BadRequest("invalid_type", "stop must be a string or an array of strings").WithParam("stop")
	}
	if len(many) > 4 {
		return apierr.BadRequest("invalid_value", "stop takes at most 4 sequences").WithParam("stop")
	}
	p.Stop = many
	return nil
}

var validRoles = map[string]string{
	"system": chat.RoleSystem, "developer": chat.RoleSystem, // developer is OpenAI's new name for system
	"user": chat.RoleUser, "assistant": chat.RoleAssistant, "tool": chat.RoleTool,
}

func decodeMessage(w *wireMessage, m *chat.Message, i int) error {
	param := fmt.Sprintf("messages[%d]", i)
	role, ok := validRoles[w.Role]
	if !ok {
		return apierr.BadRequest("invalid_value",
			fmt.Sprintf("unknown role %q; expected system, developer, user, assistant or tool", w.Role)).WithParam(param + ".role")
	}
	m.Role = role
	m.Name = w.Name
	m.ToolCallID = w.ToolCallID
	m.ReasoningContent = w.ReasoningContent
	if role == chat.RoleTool && w.ToolCallID == "" {
		return apierr.BadRequest("missing_value", "tool messages need tool_call_id").WithParam(param + ".tool_call_id")
	}
	for j, tc := range w.ToolCalls {
		if role != chat.RoleAssistant {
			return apierr.BadRequest("invalid_value", "only assistant messages carry tool_calls").WithParam(param + ".tool_calls")
		}
		m.ToolCalls = append(m.ToolCalls, chat.ToolCall{ID: tc.ID, Type: orDefault(tc.Type, "function"),
			Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		if tc.Function.Name == "" {
			return apierr.BadRequest("missing_value", "tool call function name is required").
				WithParam(fmt.Sprintf("%s.tool_calls[%d].function.name", param, j))
		}
	}
	c := bytes.TrimSpace(w.Content)
	switch {
	case len(c) == 0 || string(c) == "null":
		if role != chat.RoleAssistant {
			return apierr.BadRequest("missing_value", "message content is required").WithParam(param + ".content")
		}
	case c[0] == '"':
		if err := jsonv1.Unmarshal(c, &m.Content); err != nil {
			return apierr.BadRequest("invalid_type", "content must be a string or an array of parts").WithParam(param + ".content")
		}
	case c[0] == '[':
		var parts []json.RawMessage
		if err := jsonv1.Unmarshal(c, &parts); err != nil {
			return apierr.BadRequest("invalid_type", "content must be a string or an array of parts").WithParam(param + ".content")
		}
		m.Parts = make([]chat.Part, 0, len(parts))
		for j, raw := range parts {
			p, err := decodePart(raw, fmt.Sprintf("%s.content[%d]", param, j))
			if err != nil {
				return err
			}
			m.Parts = append(m.Parts, p)
		}
	default:
		return apierr.BadRequest("invalid_type", "content must be a string or an array of parts").WithParam(param + ".content")
	}
	return nil
}

func decodePart(raw json.RawMessage, param string) (chat.Part, error) {
	var w wirePart
	if err := jsonv1.Unmarshal(raw, &w); err != nil {
		return chat.Part{}, apierr.BadRequest("invalid_type", "each content part must be an object with a type").WithParam(param)
	}
	switch w.Type {
	case chat.PartText:
		if w.Text == nil {
			return chat.Part{}, apierr.BadRequest("missing_value", "text parts need text").WithParam(param + ".text")
		}
		return chat.Part{Type: chat.PartText, Text: *w.Text}, nil
	case chat.PartImageURL:
		if w.ImageURL == nil || w.ImageURL.URL == "" {
			return chat.Part{}, apierr.BadRequest("missing_value", "image_url parts need image_url.url").WithParam(param + ".image_url.url")
		}
		u := w.ImageURL.URL
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "data:image/") {
			return chat.Part{}, apierr.BadRequest("invalid_value", "image_url.url must be an http(s) URL or a data:image/ URI").WithParam(param + ".image_url.url")
		}
		return chat.Part{Type: chat.PartImageURL, ImageURL: u, Detail: w.ImageURL.Detail}, nil
	case "":
		return chat.Part{}, apierr.BadRequest("missing_value", "content part type is required").WithParam(param + ".type")
	default:
		// Unknown part types (input_audio, file, ...) pass through verbatim.
		return chat.Part{Type: w.Type, Raw: append(json.RawMessage(nil), raw...)}, nil
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// fieldError names the request member a nested type error is about.
func fieldError(member string, err error) error {
	var typ *jsonv1.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field == "" {
			typ.Field = member
		} else {
			typ.Field = member + "." + typ.Field
		}
		return typ
	}
	return err
}

// jsonError turns a decoding error into a 400 that says where the problem is.
func jsonError(err error) error {
	var syn *jsonv1.SyntaxError
	var typ *jsonv1.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apierr.BadRequest("invalid_json", fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)).WithCause(err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apierr.BadRequest("invalid_type",
			fmt.Sprintf("wrong type for %s: got JSON %s, want %s", field, typ.Value, typ.Type)).WithParam(field).WithCause(err)
	default:
		return apierr.BadRequest("invalid_json", "malformed JSON: "+err.Error()).WithCause(err)
	}
}
