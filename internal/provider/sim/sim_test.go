package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func post(t *testing.T, url, key string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var sse = map[string]string{"X-DashScope-SSE": "enable", "Accept": "text/event-stream"}

func TestDashScopeWire(t *testing.T) {
	s := NewDashScope(Options{APIKeys: []string{"k"}, Knobs: Knobs{ChunkRunes: 100}})
	defer s.Close()
	text := s.URL() + dsTextPath
	mm := s.URL() + dsMultimodalPath
	tests := []struct {
		name    string
		url     string
		key     string
		headers map[string]string
		body    string
		status  int
		want    []string // substrings of the body, in order
	}{
		{name: "stream framing", url: text, key: "k", headers: sse, status: 200,
			body: `{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"hi"}]},"parameters":{"result_format":"message","incremental_output":true}}`,
			want: []string{"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"finish_reason\":\"null\"", `"usage":{"input_tokens":`,
				"id:2\nevent:result\n:HTTP_STATUS/200\ndata:", `"finish_reason":"stop"`}},
		{name: "non-incremental repeats the answer", url: text, key: "k", headers: sse, status: 200,
			body: `{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"hi"}]},"parameters":{"result_format":"message"}}`,
			want: []string{`"content":"Simulated reply (qwen-plus): received 1 messages; the last one: «hi». This answer`, `"content":"Simulated reply`}},
		{name: "legacy text result format by default", url: text, key: "k", status: 200,
			body: `{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"hi"}]}}`,
			want: []string{`{"output":{"finish_reason":"stop","text":"Simulated reply`}},
		{name: "multimodal list content", url: mm, key: "k", status: 200,
			body: `{"model":"qwen-vl-max","input":{"messages":[{"role":"user","content":[{"image":"https://x/y.png"},{"text":"看图"}]}]},"parameters":{"result_format":"message"}}`,
			want: []string{`"content":[{"text":"模拟回复（qwen-vl-max）：收到 1 条消息，最后一条（含 1 张图片）：«看图»`}},
		{name: "no key", url: text, status: 401, body: `{}`,
			want: []string{`{"code":"InvalidApiKey","message":"No API-key provided.","request_id":"`}},
		{name: "wrong key", url: text, key: "nope", status: 401, body: `{}`,
			want: []string{`{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"`}},
		{name: "messages at top level", url: text, key: "k", status: 400,
			body: `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`,
			want: []string{`"code":"InvalidParameter","message":"Either \"prompt\" or \"messages\" must exist and cannot both be none"`}},
		{name: "validation error when streaming is SSE-framed", url: text, key: "k", headers: sse, status: 400,
			body: `{"model":"qwen-plus","messages":[]}`,
			want: []string{"id:1\nevent:error\n:HTTP_STATUS/400\ndata:{\"code\":\"InvalidParameter\""}},
		{name: "qwen3.5 on the text endpoint", url: text, key: "k", status: 400,
			body: `{"model":"qwen3.5-plus","input":{"messages":[{"role":"user","content":"hi"}]}}`,
			want: []string{`"message":"url error, please check url！"`}},
		{name: "stream-only model without stream", url: text, key: "k", status: 400,
			body: `{"model":"qwq-plus","input":{"messages":[{"role":"user","content":"hi"}]}}`,
			want: []string{`This model only support stream mode`}},
		{name: "list content on the text endpoint", url: text, key: "k", status: 400,
			body: `{"model":"qwen-plus","input":{"messages":[{"role":"user","content":[{"text":"hi"}]}]}}`,
			want: []string{`Input should be a valid string`}},
		{name: "unknown path", url: s.URL() + "/api/v1/nothing", key: "k", status: 404, body: `{}`,
			want: []string{`url error`}},
		{name: "input moderation", url: text, key: "k", status: 400,
			body: `{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"[[sim:block-input]]"}]}}`,
			want: []string{`{"code":"DataInspectionFailed","message":"Input data may contain inappropriate content."`}},
		{name: "output moderation mid-stream", url: text, key: "k", headers: sse, status: 200,
			body: `{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"x [[sim:block]] [[sim:chunk=2]]"}]},"parameters":{"result_format":"message","incremental_output":true}}`,
			want: []string{"id:1\nevent:result", "id:2\nevent:result", "id:3\nevent:error\n:HTTP_STATUS/400\ndata:{\"code\":\"DataInspectionFailed\",\"message\":\"Output data may contain inappropriate content.\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, tt.url, tt.key, tt.headers, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			rest := body
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("body lacks %q (in order); body:\n%s", w, body)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestOpenAIWire(t *testing.T) {
	s := NewOpenAI(Options{APIKeys: []string{"k"}, Knobs: Knobs{ChunkRunes: 1000}})
	defer s.Close()
	url := s.URL() + "/chat/completions"
	tests := []struct {
		name   string
		key    string
		body   string
		status int
		want   []string
		absent string
	}{
		{name: "stream with usage", key: "k", status: 200,
			body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`,
			want: []string{`data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null`, `"object":"chat.completion.chunk"`,
				`"finish_reason":"stop"`, `data: {"choices":[],"created":`, `"usage":{"completion_tokens":`, "data: [DONE]\n\n"}},
		{name: "stream without usage", key: "k", status: 200,
			body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`,
			want: []string{`"finish_reason":"stop"`, "data: [DONE]"}, absent: `"usage"`},
		{name: "whole answer", key: "k", status: 200,
			body: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			want: []string{`"message":{"content":"Simulated reply (m)`, `"object":"chat.completion"`, `"usage":{"completion_tokens"`}},
		{name: "wrong key", key: "x", status: 401, body: `{}`,
			want: []string{`{"error":{"code":"invalid_api_key","message":"Incorrect API key provided. ","param":null,"type":"invalid_request_error"}`}},
		{name: "stream_options without stream", key: "k", status: 400,
			body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`,
			want: []string{`"code":"invalid_parameter_error"`}},
		{name: "mid-stream moderation", key: "k", status: 200,
			body: `{"model":"m","messages":[{"role":"user","content":"[[sim:block]][[sim:chunk=3]]"}],"stream":true}`,
			want: []string{`"content":"Sim"`, `data: {"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content.","param":null,"type":"data_inspection_failed"}`}},
		{name: "throttled", key: "k", status: 429,
			body: `{"model":"m","messages":[{"role":"user","content":"[[sim:429]]"}]}`,
			want: []string{`"code":"limit_requests"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, url, tt.key, nil, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if tt.absent != "" && strings.Contains(body, tt.absent) {
				t.Errorf("body has %s:\n%s", tt.absent, body)
			}
			rest := body
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("body lacks %q (in order); body:\n%s", w, body)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	if strings.Contains(mustGet(t, s.URL()+"/models"), `"qwen-plus"`) == false {
		t.Error("/v1/models lacks qwen-plus")
	}
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestReceivedLog(t *testing.T) {
	s := NewOpenAI(Options{MaxReceived: 2})
	defer s.Close()
	for i, msg := range []string{"one", "two", "three"} {
		post(t, s.URL()+"/chat/completions", "any", map[string]string{"X-Trace": msg},
			`{"model":"m","messages":[{"role":"user","content":"`+msg+`"}],"temperature":0.`+string(rune('1'+i))+`}`)
	}
	got := s.Received()
	if len(got) != 2 || got[0].Messages[0].Text != "two" || got[1].Messages[0].Text != "three" {
		t.Fatalf("log = %+v", got)
	}
	if got[1].Header.Get("Authorization") != "Bearer <redacted>" || got[1].Header.Get("X-Trace") != "three" || !got[1].AuthOK {
		t.Errorf("header = %v", got[1].Header)
	}
	if string(got[1].Parameters["temperature"]) != "0.3" {
		t.Errorf("parameters = %v", got[1].Parameters)
	}
	st := s.Stats()
	if st.Requests != 3 || st.Completed != 3 || st.Active != 0 {
		t.Errorf("stats = %+v", st)
	}
	s.ResetReceived()
	if _, ok := s.Last(); ok {
		t.Error("log not reset")
	}
}

func TestToolArguments(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{name: "required mixed", schema: `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"metric":{"type":"boolean"},"tags":{"type":"array"},"opts":{"type":"object"}},"required":["city","days","metric","tags","opts"]}`,
			want: `{"city":"V","days":1,"metric":true,"opts":{},"tags":[]}`},
		{name: "nullable type list", schema: `{"properties":{"q":{"type":["null","number"]}},"required":["q"]}`, want: `{"q":1}`},
		{name: "no required: first string", schema: `{"properties":{"z":{"type":"string"},"a":{"type":"integer"},"b":{"type":"string"}}}`, want: `{"b":"V"}`},
		{name: "no schema", schema: ``, want: `{}`},
		{name: "bad schema", schema: `[1,2]`, want: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toolArguments(json.RawMessage(tt.schema), "V")
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClipKeepsPlaceholders(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{name: "short", in: "abc", n: 5, want: "abc"},
		{name: "plain cut", in: "abcdef", n: 3, want: "abc…"},
		{name: "inside placeholder extends", in: "ab⟦PHONE_1⟧cd", n: 4, want: "ab⟦PHONE_1⟧…"},
		{name: "after placeholder", in: "⟦A_1⟧bcdef", n: 6, want: "⟦A_1⟧b…"},
		{name: "ascii placeholder extends", in: "call [PHONE_12] now", n: 8, want: "call [PHONE_12]…"},
		{name: "ascii placeholder before cut kept", in: "[ID_1] and more", n: 7, want: "[ID_1] …"},
		{name: "far bracket is not a placeholder", in: "[" + strings.Repeat("x", 50) + "]", n: 45, want: "[" + strings.Repeat("x", 44) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clip(tt.in, tt.n); got != tt.want {
				t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestMarkers(t *testing.T) {
	s := NewOpenAI(Options{})
	defer s.Close()
	conv := &conversation{Model: "m", Messages: []Message{{Role: "user",
		Text: "x [[sim:delay=250ms]] [[sim:chunk=7]] [[sim:say=固定的回答]] [[sim:think]] [[sim:cut]]"}}}
	p := s.makePlan(conv)
	got := []any{p.FirstDelay, p.ChunkRunes, p.Text, p.Reasoning != "", p.CutAfter}
	want := []any{250 * time.Millisecond, 7, "固定的回答", true, 2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if strings.Contains(stripMarkers("a [[sim:block]] b"), "sim:") {
		t.Error("markers not stripped from the echo")
	}
}

func TestPieces(t *testing.T) {
	if d := cmp.Diff([]string{"你好", "世界", "!"}, pieces("你好世界!", 2)); d != "" {
		t.Error(d)
	}
	if pieces("", 3) != nil {
		t.Error("empty text gives pieces")
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- ListenAndServe(ctx, "127.0.0.1:0", KindDashScope, Options{}, func(s *Server) { ready <- s })
	}()
	s := <-ready
	resp, body := post(t, s.URL()+dsTextPath, "k", nil, `{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"hi"}]},"parameters":{"result_format":"message"}}`)
	if resp.StatusCode != 200 || !strings.Contains(body, "«hi»") {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe = %v", err)
	}
	if _, err := New(KindOpenAI, Options{Knobs: Knobs{Throttle: "Throttling.Unknown"}}); err == nil {
		t.Error("bad knobs accepted")
	}
	if _, err := New("grpc", Options{}); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestControlAPI(t *testing.T) {
	s := NewDashScope(Options{})
	defer s.Close()
	base := strings.TrimSuffix(s.URL(), "/v1")
	req, _ := http.NewRequest(http.MethodPut, base+"/_sim/knobs", strings.NewReader(`{"first_byte_delay":"250ms","end_delay":"5ms","throttle":"Throttling.RateQuota","fail_count":2,"block_after":3}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT knobs: %d", resp.StatusCode)
	}
	want := Knobs{FirstByteDelay: 250 * time.Millisecond, EndDelay: 5 * time.Millisecond, Throttle: "Throttling.RateQuota", FailCount: 2, BlockAfter: 3}
	if d := cmp.Diff(want, s.Knobs()); d != "" {
		t.Errorf("knobs (-want +got):\n%s", d)
	}
	if got := mustGet(t, base+"/_sim/knobs"); !strings.Contains(got, `"first_byte_delay": "250ms"`) || !strings.Contains(got, `"end_delay": "5ms"`) {
		t.Errorf("GET knobs = %s", got)
	}
	for _, bad := range []string{`{"throttle":"Nope"}`, `{"server_error":404}`, `{"chunk_delay":"soon"}`, `{"unknown":1}`} {
		req, _ := http.NewRequest(http.MethodPut, base+"/_sim/knobs", strings.NewReader(bad))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: status %d, want 400", bad, resp.StatusCode)
		}
	}
	if got := mustGet(t, base+"/_sim/stats"); !strings.Contains(got, `"requests": 0`) {
		t.Errorf("stats = %s", got)
	}
}
