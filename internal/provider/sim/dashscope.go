package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

const (
	dsTextPath       = "/api/v1/services/aigc/text-generation/generation"
	dsMultimodalPath = "/api/v1/services/aigc/multimodal-generation/generation"
)

// dsMultimodal is the simulator's own copy of which models DashScope serves only on the
// multimodal endpoint (kept apart from the adapter's rule on purpose: the simulator plays the
// server, and a test that shares the rule with the client could not catch a wrong rule).
func dsMultimodal(model string) bool {
	m := strings.ToLower(model)
	if strings.HasPrefix(m, "qvq") || strings.Contains(m, "-vl") || strings.Contains(m, "-omni") || strings.Contains(m, "-audio") {
		return true
	}
	return qwen35Plus.MatchString(m)
}

var (
	qwen35Plus = regexp.MustCompile(`^qwen(3\.[5-9]|[4-9](\.\d+)?)([-.]|$)`)
	// Streaming-only models: open-source Qwen3 (qwen3-32b, qwen3-30b-a3b), QwQ, QVQ and Omni.
	dsStreamOnly = regexp.MustCompile(`^(qwq|qvq)|omni|^qwen3-\d+(\.\d+)?b`)
)

type dsRequest struct {
	Model      string                     `json:"model"`
	Input      *dsInput                   `json:"input"`
	Messages   json.RawMessage            `json:"messages"` // wrong place: rejected as DashScope does
	Parameters map[string]json.RawMessage `json:"parameters"`
}

type dsInput struct {
	Messages []dsMessage `json:"messages"`
	Prompt   string      `json:"prompt"`
}

type dsMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []dsToolCall    `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type dsToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type dsTool struct {
	Type     string `json:"type"`
	Function struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"function"`
}

func (s *Server) serveDashScope(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.active.Add(1)
	defer s.active.Add(-1)
	rid := s.requestID()
	stream := strings.EqualFold(r.Header.Get("X-DashScope-SSE"), "enable")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	rec := Received{Time: s.now(), Method: r.Method, Path: r.URL.Path, Header: redactedHeader(r.Header), Body: body, Stream: stream}
	ok, present := s.checkKey(r.Header)
	rec.AuthOK = ok

	var req dsRequest
	jsonErr := json.Unmarshal(body, &req)
	if jsonErr == nil {
		rec.Model, rec.Parameters = req.Model, req.Parameters
	}
	conv, convErr := dsConversation(&req, r.URL.Path == dsMultimodalPath)
	if conv != nil {
		rec.Messages = conv.Messages
		for _, t := range conv.Tools {
			rec.Tools = append(rec.Tools, t.Name)
		}
	}
	s.record(rec)

	fail := func(status int, code, msg string) {
		dsError(w, stream && status == http.StatusBadRequest, status, code, msg, rid)
	}
	switch {
	case r.Method != http.MethodPost:
		fail(http.StatusMethodNotAllowed, "InvalidParameter", "Method not allowed, please use POST.")
		return
	case r.URL.Path != dsTextPath && r.URL.Path != dsMultimodalPath:
		fail(http.StatusNotFound, "InvalidParameter", "url error, please check url！")
		return
	case !present:
		fail(http.StatusUnauthorized, "InvalidApiKey", "No API-key provided.")
		return
	case !ok:
		fail(http.StatusUnauthorized, "InvalidApiKey", "Invalid API-key provided.")
		return
	case jsonErr != nil:
		fail(http.StatusBadRequest, "InvalidParameter", "Request body is not valid JSON.")
		return
	case req.Model == "":
		fail(http.StatusBadRequest, "BadRequest.EmptyModel", `Required parameter "model" missing from request.`)
		return
	case req.Input == nil || (len(req.Input.Messages) == 0 && req.Input.Prompt == ""):
		fail(http.StatusBadRequest, "InvalidParameter", `Either "prompt" or "messages" must exist and cannot both be none`)
		return
	case dsMultimodal(req.Model) != (r.URL.Path == dsMultimodalPath):
		fail(http.StatusBadRequest, "InvalidParameter", "url error, please check url！")
		return
	case convErr != nil:
		fail(http.StatusBadRequest, "InvalidParameter", convErr.Error())
		return
	case !stream && dsStreamOnly.MatchString(strings.ToLower(req.Model)):
		fail(http.StatusBadRequest, "InvalidParameter", "This model only support stream mode, please enable the stream parameter to access the model. ")
		return
	}
	p := s.makePlan(conv)
	if !sleep(r.Context(), p.FirstDelay) {
		s.cancelled.Add(1)
		return
	}
	if p.Fail != nil {
		if stream && p.ErrorsIn200 {
			w.Header().Set("Content-Type", "text/event-stream;charset=UTF-8")
			w.WriteHeader(http.StatusOK)
			writeDSErrorEvent(w, 1, p.Fail.Status, p.Fail.Code, p.Fail.Message, rid)
		} else {
			fail(p.Fail.Status, p.Fail.Code, p.Fail.Message)
		}
		s.completed.Add(1)
		return
	}
	resultText := paramString(req.Parameters, "result_format") != "message"
	incremental := paramBool(req.Parameters, "incremental_output")
	steps := p.steps()
	if !stream {
		s.dsWhole(w, r, &p, steps, conv, rid, resultText)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream;charset=UTF-8")
	w.Header().Set("X-Request-Id", rid)
	w.WriteHeader(http.StatusOK)
	flush(w)
	var text, reasoning, args strings.Builder
	for i, st := range steps {
		n := i + 1
		if p.CutAfter > 0 && i == p.CutAfter {
			s.cut.Add(1)
			panic(http.ErrAbortHandler) // closes the connection without ending the chunked body
		}
		if p.BlockAfter > 0 && i == p.BlockAfter {
			writeDSErrorEvent(w, n, failOutBlock.Status, failOutBlock.Code, failOutBlock.Message, rid)
			s.completed.Add(1)
			return
		}
		if i > 0 && !sleep(r.Context(), p.ChunkDelay) {
			s.cancelled.Add(1)
			return
		}
		text.WriteString(st.Text)
		reasoning.WriteString(st.Reasoning)
		args.WriteString(st.CallArgs)
		out := dsStep{Text: st.Text, Reasoning: st.Reasoning, Args: st.CallArgs}
		if !incremental {
			// Without incremental_output DashScope repeats the whole answer so far.
			out = dsStep{Text: text.String(), Reasoning: reasoning.String(), Args: args.String()}
		}
		ev := dsEvent(&p, st, out, conv.Multimodal, resultText, p.InputTokens, rid)
		fmt.Fprintf(w, "id:%d\nevent:result\n:HTTP_STATUS/200\ndata:%s\n\n", n, ev)
		flush(w)
		if r.Context().Err() != nil {
			s.cancelled.Add(1)
			return
		}
	}
	if !sleep(r.Context(), p.EndDelay) {
		s.cancelled.Add(1)
		return
	}
	s.completed.Add(1)
}

type dsStep struct{ Text, Reasoning, Args string }

// dsEvent encodes one answer event (or, with every piece collected, a whole answer).
func dsEvent(p *plan, st step, out dsStep, multimodal, resultText bool, inputTokens int, rid string) []byte {
	finish := st.Finish
	if finish == "" {
		finish = "null" // DashScope streams the string "null", not JSON null
	}
	usage := map[string]any{"input_tokens": inputTokens, "output_tokens": st.OutputTokens,
		"total_tokens": inputTokens + st.OutputTokens}
	if p.Reasoning != "" {
		usage["output_tokens_details"] = map[string]int{"reasoning_tokens": st.ReasoningTokens}
	}
	if !multimodal {
		usage["prompt_tokens_details"] = map[string]int{"cached_tokens": 0}
	}
	var output any
	if resultText {
		output = map[string]any{"text": out.Text, "finish_reason": finish}
	} else {
		msg := map[string]any{"role": "assistant"}
		if multimodal {
			msg["content"] = []map[string]string{{"text": out.Text}}
		} else {
			msg["content"] = out.Text
		}
		if p.Reasoning != "" {
			msg["reasoning_content"] = out.Reasoning
		}
		if p.Call != nil && (st.CallFirst || out.Args != "") {
			tc := map[string]any{"index": 0, "id": "", "type": "function",
				"function": map[string]string{"arguments": out.Args}}
			if st.CallFirst {
				tc["id"] = p.Call.ID
				tc["function"] = map[string]string{"name": p.Call.Name, "arguments": out.Args}
			}
			msg["tool_calls"] = []any{tc}
		}
		output = map[string]any{"choices": []any{map[string]any{"message": msg, "finish_reason": finish}}}
	}
	b, _ := json.Marshal(map[string]any{"output": output, "usage": usage, "request_id": rid})
	return b
}

// dsWhole answers a non-streaming request with one JSON body.
func (s *Server) dsWhole(w http.ResponseWriter, r *http.Request, p *plan, steps []step, conv *conversation, rid string, resultText bool) {
	if p.BlockAfter > 0 {
		dsError(w, false, failOutBlock.Status, failOutBlock.Code, failOutBlock.Message, rid)
		s.completed.Add(1)
		return
	}
	for i := 1; i < len(steps); i++ {
		if !sleep(r.Context(), p.ChunkDelay) {
			s.cancelled.Add(1)
			return
		}
	}
	var out dsStep
	for _, st := range steps {
		out.Text += st.Text
		out.Reasoning += st.Reasoning
		out.Args += st.CallArgs
	}
	last := steps[len(steps)-1]
	last.CallFirst = true
	body := dsEvent(p, last, out, conv.Multimodal, resultText, p.InputTokens, rid)
	w.Header().Set("Content-Type", "application/json")
	if p.CutAfter > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		flush(w)
		s.cut.Add(1)
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
	s.completed.Add(1)
}

// dsError writes a DashScope error body: plain JSON, or, for streaming requests that fail
// validation, the SSE-framed error DashScope sends under a JSON content type.
func dsError(w http.ResponseWriter, sseFramed bool, status int, code, msg, rid string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("X-Request-Id", rid)
	w.WriteHeader(status)
	if sseFramed {
		writeDSErrorEvent(w, 1, status, code, msg, rid)
		return
	}
	b, _ := json.Marshal(map[string]string{"code": code, "message": msg, "request_id": rid})
	w.Write(b)
}

func writeDSErrorEvent(w io.Writer, id, status int, code, msg, rid string) {
	b, _ := json.Marshal(map[string]string{"code": code, "message": msg, "request_id": rid})
	fmt.Fprintf(w, "id:%d\nevent:error\n:HTTP_STATUS/%d\ndata:%s\n\n", id, status, b)
	flush(w)
}

func flush(w io.Writer) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func paramString(p map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(p[k], &s)
	return s
}

func paramBool(p map[string]json.RawMessage, k string) bool {
	var b bool
	_ = json.Unmarshal(p[k], &b)
	return b
}

// dsConversation reads the native request into the neutral view. Content must be a string on
// the text endpoint; on the multimodal endpoint a string or a list of single-key items.
func dsConversation(req *dsRequest, multimodal bool) (*conversation, error) {
	c := &conversation{Model: req.Model, Multimodal: multimodal, Thinking: paramBool(req.Parameters, "enable_thinking")}
	if req.Input == nil {
		return c, nil
	}
	if req.Input.Prompt != "" && len(req.Input.Messages) == 0 {
		c.Messages = append(c.Messages, Message{Role: "user", Text: req.Input.Prompt})
	}
	for i, m := range req.Input.Messages {
		msg := Message{Role: m.Role}
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
		case content[0] == '[' && multimodal:
			var items []map[string]string
			if err := json.Unmarshal(content, &items); err != nil {
				return c, fmt.Errorf("messages[%d].content must be a list of single-key items", i)
			}
			var texts []string
			for _, it := range items {
				if len(it) != 1 {
					return c, fmt.Errorf("messages[%d].content items must have exactly one key", i)
				}
				if t, ok := it["text"]; ok {
					texts = append(texts, t)
				} else if img, ok := it["image"]; ok {
					msg.Images = append(msg.Images, img)
				}
			}
			msg.Text = strings.Join(texts, "\n")
		default:
			return c, fmt.Errorf("Input should be a valid string: messages[%d].content", i)
		}
		switch m.Role {
		case "system", "user", "assistant", "tool":
		default:
			return c, fmt.Errorf("Role must be in [user, assistant, system, tool]: messages[%d]", i)
		}
		c.Messages = append(c.Messages, msg)
	}
	var tools []dsTool
	if raw, ok := req.Parameters["tools"]; ok {
		if err := json.Unmarshal(raw, &tools); err != nil {
			return c, fmt.Errorf("parameters.tools is not a valid list of tools")
		}
	}
	for _, t := range tools {
		c.Tools = append(c.Tools, tool{Name: t.Function.Name, Parameters: t.Function.Parameters})
	}
	return c, nil
}
