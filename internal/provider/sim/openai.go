package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

type oaRequest struct {
	Model         string      `json:"model"`
	Messages      []oaMessage `json:"messages"`
	Tools         []dsTool    `json:"tools"`
	Stream        bool        `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	EnableThinking bool `json:"enable_thinking"`
}

type oaMessage struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	ToolCalls []dsToolCall    `json:"tool_calls"`
}

// oaError is the compatible-mode error body.
func oaErrorBody(code, typ, msg, rid string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code},
		"request_id": rid})
	return b
}

// oaFailure translates a native failure into the compatible-mode code and type.
func oaFailure(f failure) (code, typ string) {
	switch f.Code {
	case "DataInspectionFailed":
		return "data_inspection_failed", "data_inspection_failed"
	case "Throttling.AllocationQuota":
		return "insufficient_quota", "insufficient_quota"
	case "InternalError":
		return "internal_error", "internal_error"
	}
	if strings.HasPrefix(f.Code, "Throttling") {
		return "limit_requests", "limit_requests"
	}
	return "invalid_parameter_error", "invalid_request_error"
}

func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.active.Add(1)
	defer s.active.Add(-1)
	rid := s.requestID()
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models") {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"qwen-plus","object":"model","owned_by":"sim"},{"id":"qwen3-max","object":"model","owned_by":"sim"},{"id":"qwen-vl-plus","object":"model","owned_by":"sim"}]}`)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	rec := Received{Time: s.now(), Method: r.Method, Path: r.URL.Path, Header: redactedHeader(r.Header), Body: body}
	ok, present := s.checkKey(r.Header)
	rec.AuthOK = ok
	var req oaRequest
	jsonErr := json.Unmarshal(body, &req)
	var conv *conversation
	var convErr error
	if jsonErr == nil {
		rec.Model, rec.Stream = req.Model, req.Stream
		var top map[string]json.RawMessage
		_ = json.Unmarshal(body, &top)
		for _, k := range []string{"model", "messages", "tools"} {
			delete(top, k)
		}
		rec.Parameters = top
		conv, convErr = oaConversation(&req)
		rec.Messages = conv.Messages
		for _, t := range conv.Tools {
			rec.Tools = append(rec.Tools, t.Name)
		}
	}
	s.record(rec)
	fail := func(status int, code, typ, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(oaErrorBody(code, typ, msg, rid))
	}
	switch {
	case r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions"):
		fail(http.StatusNotFound, "not_found", "invalid_request_error", "Not found: "+r.URL.Path)
		return
	case !ok:
		msg := "Incorrect API key provided. "
		if !present {
			msg = "You didn't provide an API key."
		}
		fail(http.StatusUnauthorized, "invalid_api_key", "invalid_request_error", msg)
		return
	case jsonErr != nil:
		fail(http.StatusBadRequest, "invalid_parameter_error", "invalid_request_error", "The request body is not valid JSON.")
		return
	case req.Model == "":
		fail(http.StatusBadRequest, "invalid_parameter_error", "invalid_request_error", "you must provide a model parameter")
		return
	case len(req.Messages) == 0:
		fail(http.StatusBadRequest, "invalid_parameter_error", "invalid_request_error", "messages must not be empty")
		return
	case convErr != nil:
		fail(http.StatusBadRequest, "invalid_parameter_error", "invalid_request_error", convErr.Error())
		return
	case req.StreamOptions != nil && !req.Stream:
		fail(http.StatusBadRequest, "invalid_parameter_error", "invalid_request_error", "The stream_options parameter is only allowed when stream is enabled.")
		return
	}
	p := s.makePlan(conv)
	if !sleep(r.Context(), p.FirstDelay) {
		s.cancelled.Add(1)
		return
	}
	if p.Fail != nil {
		code, typ := oaFailure(*p.Fail)
		if req.Stream && p.ErrorsIn200 {
			// Streams open with the role chunk before anything can go wrong, so the error
			// comes second, as a data: {"error":...} event.
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
				strings.ReplaceAll(rid, "-", "")[:24], s.now().Unix(), req.Model)
			fmt.Fprintf(w, "data: %s\n\n", oaErrorBody(code, typ, p.Fail.Message, rid))
		} else {
			fail(p.Fail.Status, code, typ, p.Fail.Message)
		}
		s.completed.Add(1)
		return
	}
	steps := p.steps()
	id := "chatcmpl-" + strings.ReplaceAll(rid, "-", "")[:24]
	created := s.now().Unix()
	if !req.Stream {
		s.oaWhole(w, r, &p, steps, req.Model, id, created, rid)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	chunk := func(delta map[string]any, finish *string, usage any) []byte {
		choices := []any{}
		if delta != nil {
			choices = append(choices, map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil})
		}
		m := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": choices, "system_fingerprint": nil}
		if usage != nil || delta == nil {
			m["usage"] = usage
		}
		b, _ := json.Marshal(m)
		return b
	}
	fmt.Fprintf(w, "data: %s\n\n", chunk(map[string]any{"role": "assistant", "content": ""}, nil, nil))
	flush(w)
	var last step
	for i, st := range steps {
		if p.CutAfter > 0 && i == p.CutAfter {
			s.cut.Add(1)
			panic(http.ErrAbortHandler)
		}
		if p.BlockAfter > 0 && i == p.BlockAfter {
			code, typ := oaFailure(failOutBlock)
			fmt.Fprintf(w, "data: %s\n\n", oaErrorBody(code, typ, failOutBlock.Message, rid))
			flush(w)
			s.completed.Add(1)
			return
		}
		if i > 0 && !sleep(r.Context(), p.ChunkDelay) {
			s.cancelled.Add(1)
			return
		}
		var delta map[string]any
		var finish *string
		switch {
		case st.Finish != "":
			f := st.Finish
			finish, delta = &f, map[string]any{}
		case st.Reasoning != "":
			delta = map[string]any{"content": nil, "reasoning_content": st.Reasoning}
		case p.Call != nil && (st.CallFirst || st.CallArgs != ""):
			tc := map[string]any{"index": 0, "function": map[string]string{"arguments": st.CallArgs}}
			if st.CallFirst {
				tc = map[string]any{"index": 0, "id": p.Call.ID, "type": "function",
					"function": map[string]string{"name": p.Call.Name, "arguments": st.CallArgs}}
			}
			delta = map[string]any{"content": nil, "tool_calls": []any{tc}}
		default:
			delta = map[string]any{"content": st.Text}
		}
		fmt.Fprintf(w, "data: %s\n\n", chunk(delta, finish, nil))
		flush(w)
		last = st
		if r.Context().Err() != nil {
			s.cancelled.Add(1)
			return
		}
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		fmt.Fprintf(w, "data: %s\n\n", chunk(nil, nil, oaUsage(&p, last)))
	}
	if p.EndDelay > 0 {
		flush(w)
		if !sleep(r.Context(), p.EndDelay) {
			s.cancelled.Add(1)
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	flush(w)
	s.completed.Add(1)
}

func oaUsage(p *plan, st step) map[string]any {
	u := map[string]any{"prompt_tokens": p.InputTokens, "completion_tokens": st.OutputTokens,
		"total_tokens": p.InputTokens + st.OutputTokens}
	if p.Reasoning != "" {
		u["completion_tokens_details"] = map[string]int{"reasoning_tokens": st.ReasoningTokens}
	}
	return u
}

func (s *Server) oaWhole(w http.ResponseWriter, r *http.Request, p *plan, steps []step, model, id string, created int64, rid string) {
	if p.BlockAfter > 0 {
		code, typ := oaFailure(failOutBlock)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(failOutBlock.Status)
		w.Write(oaErrorBody(code, typ, failOutBlock.Message, rid))
		s.completed.Add(1)
		return
	}
	for i := 1; i < len(steps); i++ {
		if !sleep(r.Context(), p.ChunkDelay) {
			s.cancelled.Add(1)
			return
		}
	}
	var text, reasoning, args strings.Builder
	for _, st := range steps {
		text.WriteString(st.Text)
		reasoning.WriteString(st.Reasoning)
		args.WriteString(st.CallArgs)
	}
	last := steps[len(steps)-1]
	msg := map[string]any{"role": "assistant", "content": text.String()}
	if p.Reasoning != "" {
		msg["reasoning_content"] = reasoning.String()
	}
	if p.Call != nil {
		msg["content"] = nil
		msg["tool_calls"] = []any{map[string]any{"id": p.Call.ID, "type": "function",
			"function": map[string]string{"name": p.Call.Name, "arguments": args.String()}}}
	}
	b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion", "created": created, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": last.Finish, "logprobs": nil}},
		"usage":   oaUsage(p, last), "system_fingerprint": nil})
	w.Header().Set("Content-Type", "application/json")
	if p.CutAfter > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:len(b)/2])
		flush(w)
		s.cut.Add(1)
		panic(http.ErrAbortHandler)
	}
	w.Write(b)
	s.completed.Add(1)
}

// oaConversation reads an OpenAI request into the neutral view.
func oaConversation(req *oaRequest) (*conversation, error) {
	c := &conversation{Model: req.Model, Thinking: req.EnableThinking}
	for i, m := range req.Messages {
		msg := Message{Role: m.Role}
		if m.Role == "developer" {
			msg.Role = "system"
		}
		for _, tc := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, tc.Function.Name+"("+tc.Function.Arguments+")")
		}
		content := bytes.TrimSpace(m.Content)
		switch {
		case len(content) == 0 || string(content) == "null":
		case content[0] == '"':
			if err := json.Unmarshal(content, &msg.Text); err != nil {
				return c, fmt.Errorf("messages[%d].content is not a valid string", i)
			}
		case content[0] == '[':
			var parts []struct {
				Type     string `json:"type"`
				Text     string `json:"text"`
				ImageURL struct {
					URL string `json:"url"`
				} `json:"image_url"`
			}
			if err := json.Unmarshal(content, &parts); err != nil {
				return c, fmt.Errorf("messages[%d].content is not a valid list of parts", i)
			}
			var texts []string
			for _, p := range parts {
				switch p.Type {
				case "text":
					texts = append(texts, p.Text)
				case "image_url":
					msg.Images = append(msg.Images, p.ImageURL.URL)
					c.Multimodal = true
				}
			}
			msg.Text = strings.Join(texts, "\n")
		default:
			return c, fmt.Errorf("messages[%d].content must be a string or a list of parts", i)
		}
		switch msg.Role {
		case "system", "user", "assistant", "tool":
		default:
			return c, fmt.Errorf("messages[%d].role %q is not supported", i, m.Role)
		}
		c.Messages = append(c.Messages, msg)
	}
	for _, t := range req.Tools {
		c.Tools = append(c.Tools, tool{Name: t.Function.Name, Parameters: t.Function.Parameters})
	}
	return c, nil
}
