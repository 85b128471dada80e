package dashscope_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/qiao-gateway/qiao/internal/provider/upstream/upstreamtest"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/dashscope"
	"github.com/qiao-gateway/qiao/internal/provider/sim"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

const testKey = "sk-test-dashscope"

func newPair(t *testing.T, knobs sim.Knobs, timeouts upstream.Timeouts) (*sim.Server, *dashscope.Client) {
	t.Helper()
	s := sim.NewDashScope(sim.Options{APIKeys: []string{testKey}, Knobs: knobs})
	t.Cleanup(s.Close)
	c, err := dashscope.New(dashscope.Config{Name: "dashscope-test", BaseURL: s.URL(), APIKey: testKey,
		Timeouts: timeouts, Headers: map[string]string{"X-DashScope-WorkSpace": "ws-1"}, DataInspection: "enable"})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// userReq is a streamed request, as most tests here need; a whole answer is asked for with
// Stream set to false.
func userReq(model, text string) *chat.Request {
	return &chat.Request{Model: model, Stream: true, Messages: []chat.Message{
		{Role: chat.RoleSystem, Content: "你是助手。"},
		{Role: chat.RoleUser, Content: text},
	}}
}

func TestChatText(t *testing.T) {
	s, c := newPair(t, sim.Knobs{}, upstream.Timeouts{})
	temp, topP, maxTok, seed := 0.5, 1.0, 100, int64(42)
	req := userReq("qwen-plus", "我的电话是⟦PHONE_1⟧，请回电。")
	req.Params = chat.Params{Temperature: &temp, TopP: &topP, MaxTokens: &maxTok, Seed: &seed, Stop: []string{"\n\n"}}
	req.Extra = map[string]json.RawMessage{"top_k": json.RawMessage(`50`), "user": json.RawMessage(`"device-123"`)}
	resp, chunks := upstreamtest.Collect(t, c, req)

	want := "模拟回复（qwen-plus）：收到 2 条消息，最后一条：«我的电话是⟦PHONE_1⟧，请回电。»。这是 Qiao 模拟器的回答，不是真实模型。"
	if resp.Message.Content != want {
		t.Errorf("content = %q, want %q", resp.Message.Content, want)
	}
	if resp.FinishReason != chat.FinishStop {
		t.Errorf("finish = %q", resp.FinishReason)
	}
	if resp.Usage == nil || resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 ||
		resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Errorf("usage = %+v", resp.Usage)
	}
	for i, ch := range chunks[:len(chunks)-1] {
		if ch.Usage != nil {
			t.Errorf("chunk %d carries usage; usage must come once, at the end", i)
		}
	}
	if chunks[0].Delta.Role != chat.RoleAssistant {
		t.Errorf("first chunk role = %q", chunks[0].Delta.Role)
	}
	rec, ok := s.Last()
	if !ok {
		t.Fatal("simulator received nothing")
	}
	if rec.Path != dashscope.TextPath || !rec.AuthOK || !rec.Stream {
		t.Errorf("path=%q auth=%v stream=%v", rec.Path, rec.AuthOK, rec.Stream)
	}
	for h, v := range map[string]string{"X-Dashscope-Sse": "enable", "Accept": "text/event-stream",
		"X-Dashscope-Workspace": "ws-1", "X-Dashscope-Datainspection": "enable", "Authorization": "Bearer <redacted>"} {
		if got := rec.Header.Get(h); got != v {
			t.Errorf("header %s = %q, want %q", h, got, v)
		}
	}
	var params map[string]any
	raw, _ := json.Marshal(rec.Parameters)
	json.Unmarshal(raw, &params)
	wantParams := map[string]any{"result_format": "message", "incremental_output": true, "temperature": 0.5,
		"top_p": 0.9999, "max_tokens": 100.0, "seed": 42.0, "stop": []any{"\n\n"}, "top_k": 50.0}
	if d := cmp.Diff(wantParams, params); d != "" {
		t.Errorf("parameters (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]sim.Message{{Role: "system", Text: "你是助手。"}, {Role: "user", Text: "我的电话是⟦PHONE_1⟧，请回电。"}}, rec.Messages); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}

func TestChatReasoning(t *testing.T) {
	_, c := newPair(t, sim.Knobs{ChunkRunes: 3}, upstream.Timeouts{})
	req := userReq("qwen3-max", "hello there")
	req.Extra = map[string]json.RawMessage{"enable_thinking": json.RawMessage(`true`)}
	resp, _ := upstreamtest.Collect(t, c, req)
	if !strings.HasPrefix(resp.Message.ReasoningContent, "Simulated thinking") {
		t.Errorf("reasoning = %q", resp.Message.ReasoningContent)
	}
	if !strings.Contains(resp.Message.Content, "«hello there»") {
		t.Errorf("content = %q", resp.Message.Content)
	}
	if resp.Usage == nil || resp.Usage.ReasoningTokens == 0 {
		t.Errorf("usage = %+v, want reasoning tokens", resp.Usage)
	}
}

func TestChatToolCall(t *testing.T) {
	_, c := newPair(t, sim.Knobs{ChunkRunes: 2}, upstream.Timeouts{})
	req := userReq("qwen-plus", "查一下杭州的天气 get_weather")
	req.Tools = []chat.Tool{{Type: "function", Function: chat.Function{Name: "get_weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}`)}}}
	req.ToolChoice = json.RawMessage(`"auto"`)
	resp, chunks := upstreamtest.Collect(t, c, req)
	if resp.FinishReason != chat.FinishToolCalls {
		t.Errorf("finish = %q", resp.FinishReason)
	}
	if len(resp.Message.ToolCalls) != 1 {
		t.Fatalf("tool calls = %+v", resp.Message.ToolCalls)
	}
	tc := resp.Message.ToolCalls[0]
	if tc.Name != "get_weather" || !strings.HasPrefix(tc.ID, "call_") {
		t.Errorf("call = %+v", tc)
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(tc.Arguments), &args); err != nil {
		t.Fatalf("arguments %q: %v", tc.Arguments, err)
	}
	if args["city"] != "查一下杭州的天气 get_weather" || args["days"] != 1.0 {
		t.Errorf("args = %v", args)
	}
	if len(chunks) < 3 {
		t.Errorf("want the arguments in several fragments, got %d chunks", len(chunks))
	}
}

func TestChatMultimodal(t *testing.T) {
	tests := []struct {
		name   string
		model  string
		parts  []chat.Part
		images int
	}{
		{name: "image part on a vl model", model: "qwen-vl-plus", images: 1, parts: []chat.Part{
			{Type: chat.PartText, Text: "这张图里有什么？"}, {Type: chat.PartImageURL, ImageURL: "data:image/png;base64,iVBORw0KGgo="}}},
		{name: "qwen3.5 text only", model: "qwen3.5-plus", parts: []chat.Part{{Type: chat.PartText, Text: "你好"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newPair(t, sim.Knobs{}, upstream.Timeouts{})
			req := &chat.Request{Model: tt.model, Messages: []chat.Message{{Role: chat.RoleUser, Parts: tt.parts}}}
			resp, _ := upstreamtest.Collect(t, c, req)
			rec, _ := s.Last()
			if rec.Path != dashscope.MultimodalPath {
				t.Errorf("path = %q", rec.Path)
			}
			if len(rec.Messages) != 1 || len(rec.Messages[0].Images) != tt.images {
				t.Errorf("received %+v", rec.Messages)
			}
			if !strings.Contains(resp.Message.Content, "模拟回复（"+tt.model+"）") {
				t.Errorf("content = %q", resp.Message.Content)
			}
		})
	}
}

func TestChatErrors(t *testing.T) {
	tests := []struct {
		name      string
		knobs     sim.Knobs
		key       string
		prompt    string
		status    int
		code      string
		retryable bool
	}{
		{name: "rate limited", prompt: "hi [[sim:429]]", status: 429, code: upstream.CodeUpstreamRateLimited, retryable: true},
		{name: "rate limited as 200 event", prompt: "hi [[sim:429]] [[sim:err200]]", status: 429, code: upstream.CodeUpstreamRateLimited, retryable: true},
		{name: "quota used up", prompt: "hi [[sim:quota]]", status: 429, code: upstream.CodeUpstreamQuota},
		{name: "server error", prompt: "hi [[sim:500]]", status: 502, code: upstream.CodeUpstreamUnavailable, retryable: true},
		{name: "server error knob as 200 event", knobs: sim.Knobs{ServerError: 503, ErrorsIn200: true}, prompt: "hi", status: 502, code: upstream.CodeUpstreamUnavailable, retryable: true},
		{name: "throttle knob", knobs: sim.Knobs{Throttle: "Throttling.BurstRate"}, prompt: "hi", status: 429, code: upstream.CodeUpstreamRateLimited, retryable: true},
		{name: "input moderation", prompt: "hi [[sim:block-input]]", status: 400, code: apierr.CodeContentFilter},
		{name: "bad key", key: "sk-wrong", prompt: "hi", status: 502, code: upstream.CodeUpstreamAuth, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.NewDashScope(sim.Options{APIKeys: []string{testKey}, Knobs: tt.knobs})
			defer s.Close()
			key := tt.key
			if key == "" {
				key = testKey
			}
			c, _ := dashscope.New(dashscope.Config{BaseURL: s.URL(), APIKey: key})
			_, err := c.Chat(context.Background(), userReq("qwen-plus", tt.prompt))
			e, ok := apierr.As(err)
			if !ok {
				t.Fatalf("err = %v, want *apierr.Error", err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Retryable != tt.retryable {
				t.Errorf("got %d %s retryable=%v, want %d %s retryable=%v (%v)", e.Status, e.Code, e.Retryable, tt.status, tt.code, tt.retryable, err)
			}
			if strings.Contains(e.Message, key) || strings.Contains(err.Error(), key) {
				t.Errorf("error mentions the key: %v", err)
			}
		})
	}
}

func TestChatMidStreamFailures(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		status int
		code   string
	}{
		{name: "output moderation", prompt: "say something [[sim:block]]", status: 400, code: apierr.CodeContentFilter},
		{name: "connection cut", prompt: "say something [[sim:cut]]", status: 502, code: upstream.CodeUpstreamStreamBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newPair(t, sim.Knobs{}, upstream.Timeouts{})
			st, err := c.Chat(context.Background(), userReq("qwen-plus", tt.prompt))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			defer st.Close()
			got := 0
			for {
				_, err = st.Recv()
				if err != nil {
					break
				}
				got++
			}
			if got == 0 {
				t.Errorf("want some chunks before the failure")
			}
			e, ok := apierr.As(err)
			if !ok {
				t.Fatalf("err = %v, want *apierr.Error", err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Retryable {
				t.Errorf("got %d %s retryable=%v", e.Status, e.Code, e.Retryable)
			}
			if _, err2 := st.Recv(); err2 != err {
				t.Errorf("second Recv = %v, want the same error", err2)
			}
		})
	}
}

func TestChatMissingKey(t *testing.T) {
	c, err := dashscope.New(dashscope.Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(context.Background(), userReq("qwen-plus", "hi"))
	if e, ok := apierr.As(err); !ok || e.Code != upstream.CodeUpstreamCredential || e.Status != http.StatusBadGateway {
		t.Errorf("err = %v", err)
	}
}

func TestChatConnectRefused(t *testing.T) {
	s := sim.NewDashScope(sim.Options{})
	url := s.URL()
	s.Close()
	c, _ := dashscope.New(dashscope.Config{BaseURL: url, APIKey: "k"})
	_, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
	if e, ok := apierr.As(err); !ok || e.Status != 502 || !e.Retryable {
		t.Errorf("err = %v", err)
	}
}

func TestChatTimeouts(t *testing.T) {
	t.Run("first byte", func(t *testing.T) {
		s, c := newPair(t, sim.Knobs{FirstByteDelay: time.Minute}, upstream.Timeouts{FirstByte: 50 * time.Millisecond})
		_, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
		e, ok := apierr.As(err)
		if !ok || e.Status != http.StatusGatewayTimeout || !e.Retryable || e.Code != upstream.CodeUpstreamTimeout {
			t.Fatalf("err = %v", err)
		}
		waitCancelled(t, s, 1)
	})
	t.Run("between chunks", func(t *testing.T) {
		s, c := newPair(t, sim.Knobs{ChunkDelay: time.Minute}, upstream.Timeouts{BetweenChunks: 50 * time.Millisecond})
		st, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
		if err != nil {
			t.Fatalf("Chat: %v", err)
		}
		defer st.Close()
		if _, err := st.Recv(); err != nil {
			t.Fatalf("first Recv: %v", err)
		}
		_, err = st.Recv()
		e, ok := apierr.As(err)
		if !ok || e.Status != http.StatusGatewayTimeout || e.Retryable {
			t.Fatalf("err = %v", err)
		}
		waitCancelled(t, s, 1)
	})
}

func TestChatCancel(t *testing.T) {
	s, c := newPair(t, sim.Knobs{ChunkDelay: time.Minute}, upstream.Timeouts{})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.Chat(ctx, userReq("qwen-plus", "hi"))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatalf("Recv: %v", err)
	}
	cancel()
	_, err = st.Recv()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Recv after cancel = %v, want context.Canceled", err)
	}
	if _, ok := apierr.As(err); ok {
		t.Errorf("a client cancellation must not look like an upstream failure: %v", err)
	}
	st.Close()
	waitCancelled(t, s, 1)
}

func TestCloseAbortsUpstream(t *testing.T) {
	s, c := newPair(t, sim.Knobs{ChunkDelay: time.Minute}, upstream.Timeouts{})
	st, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	st.Close()
	st.Close()
	waitCancelled(t, s, 1)
	if _, err := st.Recv(); err == nil {
		t.Error("Recv after Close succeeded")
	}
}

// waitCancelled waits until the simulator has seen n requests abandoned by the client.
func waitCancelled(t *testing.T, s *sim.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Cancelled < n {
		if time.Now().After(deadline) {
			t.Fatalf("simulator saw %d cancelled requests, want %d (stats %+v)", s.Stats().Cancelled, n, s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a := s.Stats().Active; a != 0 {
		// Active drops right after Cancelled is counted; wait for it too.
		for s.Stats().Active != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestUpstreamShapes covers answers the simulator does not produce on the adapter's requests:
// a JSON body instead of a stream, SSE-framed errors under a JSON content type, plain errors.
func TestUpstreamShapes(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		ctype   string
		body    string
		content string
		code    string
		estatus int
	}{
		{name: "json answer", status: 200, ctype: "application/json",
			body:    `{"request_id":"r","output":{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"我是通义千问"}}]},"usage":{"input_tokens":22,"output_tokens":17,"total_tokens":39}}`,
			content: "我是通义千问"},
		{name: "sse-framed error under json", status: 400, ctype: "application/json;charset=UTF-8",
			body: "id:1\nevent:error\n:HTTP_STATUS/400\ndata:{\"code\":\"DataInspectionFailed\",\"message\":\"Input data may contain inappropriate content.\",\"request_id\":\"r\"}\n\n",
			code: apierr.CodeContentFilter, estatus: 400},
		{name: "plain json error", status: 401, ctype: "application/json",
			body: `{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r"}`, code: upstream.CodeUpstreamAuth, estatus: 502},
		{name: "compat-shaped error", status: 429, ctype: "application/json",
			body: `{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, code: upstream.CodeUpstreamQuota, estatus: 429},
		{name: "html error page", status: 503, ctype: "text/html", body: `<html>503</html>`, code: upstream.CodeUpstreamUnavailable, estatus: 502},
		{name: "json answer that is garbage", status: 200, ctype: "application/json", body: `{"output":`, code: upstream.CodeUpstreamBadResponse, estatus: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, _ := dashscope.New(dashscope.Config{BaseURL: srv.URL, APIKey: "k"})
			st, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
			if tt.code != "" {
				e, ok := apierr.As(err)
				if !ok || e.Code != tt.code || e.Status != tt.estatus {
					t.Fatalf("err = %v, want %d %s", err, tt.estatus, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, err := chat.Collect(st)
			if err != nil || resp.Message.Content != tt.content || resp.Usage == nil || resp.Usage.PromptTokens != 22 {
				t.Errorf("resp = %+v, err = %v", resp, err)
			}
		})
	}
}

// TestCloseFromAnotherGoroutine aborts a Recv blocked on a slow upstream.
func TestCloseFromAnotherGoroutine(t *testing.T) {
	s, c := newPair(t, sim.Knobs{ChunkDelay: time.Minute}, upstream.Timeouts{})
	st, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := st.Recv()
		done <- err
	}()
	st.Close()
	if err := <-done; !errors.Is(err, upstream.ErrClosed) {
		t.Errorf("blocked Recv returned %v, want ErrClosed", err)
	}
	waitCancelled(t, s, 1)
}

// TestNoGoroutineLeak runs finished, failed, cancelled and closed calls and checks that every
// goroutine they started is gone once the pool's idle connections are closed.
func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	s := sim.NewDashScope(sim.Options{})
	hc := upstream.NewHTTPClient()
	c, _ := dashscope.New(dashscope.Config{BaseURL: s.URL(), APIKey: "k", HTTPClient: hc,
		Timeouts: upstream.Timeouts{BetweenChunks: time.Second}})
	for _, prompt := range []string{"ok", "x [[sim:block]]", "x [[sim:cut]]", "x [[sim:429]]", "x [[sim:err200]] [[sim:500]]"} {
		if st, err := c.Chat(context.Background(), userReq("qwen-plus", prompt)); err == nil {
			chat.Collect(st)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	if st, err := c.Chat(ctx, userReq("qwen-plus", "x [[sim:chunk=1]]")); err == nil {
		st.Recv()
		cancel()
		st.Recv()
		st.Close()
	}
	cancel()
	if st, err := c.Chat(context.Background(), userReq("qwen-plus", "x [[sim:chunk=1]]")); err == nil {
		st.Close()
	}
	s.Close()
	hc.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
		hc.CloseIdleConnections()
	}
}

// TestReleasedOnCancel: an ended answer nobody closed is released when the request ends.
func TestReleasedOnCancel(t *testing.T) {
	s, c := newPair(t, sim.Knobs{EndDelay: time.Minute}, upstream.Timeouts{})
	upstreamtest.ReleasedOnCancel(t, c, userReq("qwen-plus", "hi"), func() int64 { return s.Stats().Cancelled })
}

// TestConnectionReuse: the upstream takes a moment to end its body after the last event,
// so a caller that stops at the finish reason closes before the body has ended.
func TestConnectionReuse(t *testing.T) {
	s, _ := newPair(t, sim.Knobs{EndDelay: 20 * time.Millisecond}, upstream.Timeouts{})
	upstreamtest.ConnectionReuse(t, func(hc *http.Client) upstreamtest.Chatter {
		c, err := dashscope.New(dashscope.Config{Name: "dashscope-test", BaseURL: s.URL(), APIKey: testKey, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, func() int64 { return s.Stats().Connections }, userReq("qwen-plus", "hi"))
}

// TestChatNonStreamingClient: a client that did not ask for a stream gets the same answer.
// By default the upstream call streams anyway (streaming-only models work too); with
// stream: as_requested it asks for a whole answer, which a streaming-only model refuses.
func TestChatNonStreamingClient(t *testing.T) {
	for _, mode := range []upstream.StreamMode{"", upstream.StreamAlways, upstream.StreamAsRequested} {
		t.Run("stream="+string(mode), func(t *testing.T) {
			s := sim.NewDashScope(sim.Options{APIKeys: []string{testKey}})
			t.Cleanup(s.Close)
			c, err := dashscope.New(dashscope.Config{BaseURL: s.URL(), APIKey: testKey, Stream: mode})
			if err != nil {
				t.Fatal(err)
			}
			req := userReq("qwen-plus", "想一想")
			req.Stream = false
			resp, _ := upstreamtest.Collect(t, c, req)
			if !strings.Contains(resp.Message.Content, "«想一想»") || resp.FinishReason != chat.FinishStop ||
				resp.Usage == nil || resp.Usage.CompletionTokens == 0 {
				t.Errorf("resp = %+v", resp)
			}
			rec, _ := s.Last()
			streamed := mode != upstream.StreamAsRequested
			if rec.Stream != streamed || (rec.Header.Get("X-DashScope-SSE") == "enable") != streamed {
				t.Errorf("upstream call streamed = %v (X-DashScope-SSE %q), want %v", rec.Stream, rec.Header.Get("X-DashScope-SSE"), streamed)
			}
			if _, ok := rec.Parameters["incremental_output"]; ok != streamed {
				t.Errorf("incremental_output sent = %v, want %v", ok, streamed)
			}

			req.Model = "qwq-plus" // answers only in streaming mode
			st, err := c.Chat(context.Background(), req)
			if streamed {
				if err != nil {
					t.Fatalf("streaming-only model: %v", err)
				}
				st.Close()
			} else if e, ok := apierr.As(err); !ok || e.Status != http.StatusBadRequest {
				t.Errorf("streaming-only model asked for a whole answer: err = %v, want a 400", err)
			}
		})
	}
}
