package openaicompat_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/qiao-gateway/qiao/internal/provider/upstream/upstreamtest"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/openaicompat"
	"github.com/qiao-gateway/qiao/internal/provider/sim"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

const testKey = "sk-test-openai"

func newPair(t *testing.T, knobs sim.Knobs, timeouts upstream.Timeouts) (*sim.Server, *openaicompat.Client) {
	t.Helper()
	s := sim.NewOpenAI(sim.Options{APIKeys: []string{testKey}, Knobs: knobs})
	t.Cleanup(s.Close)
	c, err := openaicompat.New(openaicompat.Config{Name: "compat-test", BaseURL: s.URL(), APIKey: testKey,
		Timeouts: timeouts, Headers: map[string]string{"X-Tenant": "t1"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// userReq is a streamed request, as most tests here need; a whole answer is asked for with
// Stream set to false.
func userReq(model, text string) *chat.Request {
	return &chat.Request{Model: model, Stream: true, Messages: []chat.Message{
		{Role: chat.RoleSystem, Content: "You are helpful."},
		{Role: chat.RoleUser, Content: text},
	}}
}

func TestChatText(t *testing.T) {
	s, c := newPair(t, sim.Knobs{}, upstream.Timeouts{})
	req := userReq("qwen-plus", "Call me at ⟦PHONE_1⟧ please")
	req.Extra = map[string]json.RawMessage{"enable_search": json.RawMessage(`true`), "user": json.RawMessage(`"u1"`)}
	resp, chunks := upstreamtest.Collect(t, c, req)
	want := "Simulated reply (qwen-plus): received 2 messages; the last one: «Call me at ⟦PHONE_1⟧ please». This answer comes from the Qiao simulator, not a real model."
	if resp.Message.Content != want {
		t.Errorf("content = %q\nwant %q", resp.Message.Content, want)
	}
	if resp.FinishReason != chat.FinishStop {
		t.Errorf("finish = %q", resp.FinishReason)
	}
	last := chunks[len(chunks)-1]
	if last.FinishReason != chat.FinishStop || last.Usage == nil || last.Usage.PromptTokens == 0 {
		t.Errorf("last chunk = %+v, want finish and usage together", last)
	}
	for i, ch := range chunks[:len(chunks)-1] {
		if ch.Usage != nil || ch.FinishReason != "" {
			t.Errorf("chunk %d = %+v: usage and finish belong on the last chunk", i, ch)
		}
	}
	rec, _ := s.Last()
	if rec.Path != "/v1/chat/completions" || !rec.AuthOK || !rec.Stream || rec.Header.Get("X-Tenant") != "t1" {
		t.Errorf("received %+v", rec)
	}
	// Extra fields pass through untouched at top level; usage is always asked for.
	for k, v := range map[string]string{"enable_search": "true", "user": `"u1"`, "stream_options": `{"include_usage":true}`} {
		if got := string(rec.Parameters[k]); got != v {
			t.Errorf("top-level %s = %s, want %s", k, got, v)
		}
	}
}

// TestChatNonStreamRequest: a client that asks for a whole answer gets one; by default the
// upstream is asked for a whole answer too (with the usage), with stream: always it streams.
func TestChatNonStreamRequest(t *testing.T) {
	for _, mode := range []upstream.StreamMode{"", upstream.StreamAsRequested, upstream.StreamAlways} {
		t.Run("stream="+string(mode), func(t *testing.T) {
			s := sim.NewOpenAI(sim.Options{APIKeys: []string{testKey}})
			t.Cleanup(s.Close)
			c, err := openaicompat.New(openaicompat.Config{BaseURL: s.URL(), APIKey: testKey, Stream: mode})
			if err != nil {
				t.Fatal(err)
			}
			req := userReq("qwen-plus", "hi")
			req.Stream = false
			resp, _ := upstreamtest.Collect(t, c, req)
			if !strings.Contains(resp.Message.Content, "«hi»") || resp.FinishReason != chat.FinishStop ||
				resp.Usage == nil || resp.Usage.CompletionTokens == 0 {
				t.Errorf("resp = %+v", resp)
			}
			rec, _ := s.Last()
			if want := mode == upstream.StreamAlways; rec.Stream != want {
				t.Errorf("upstream call streamed = %v, want %v", rec.Stream, want)
			}
			if _, ok := rec.Parameters["stream_options"]; ok != rec.Stream {
				t.Errorf("stream_options sent = %v with stream = %v", ok, rec.Stream)
			}
		})
	}
}

// TestWholeAnswerTimeouts: a whole answer's first byte comes when the model has finished, so
// total bounds it, not first_byte.
func TestWholeAnswerTimeouts(t *testing.T) {
	req := userReq("qwen-plus", "hi")
	req.Stream = false
	_, c := newPair(t, sim.Knobs{FirstByteDelay: 100 * time.Millisecond}, upstream.Timeouts{FirstByte: 10 * time.Millisecond})
	if resp, _ := upstreamtest.Collect(t, c, req); resp.FinishReason != chat.FinishStop {
		t.Errorf("resp = %+v", resp)
	}
	s, c := newPair(t, sim.Knobs{FirstByteDelay: time.Minute}, upstream.Timeouts{Total: 50 * time.Millisecond})
	_, err := c.Chat(context.Background(), req)
	if e, ok := apierr.As(err); !ok || e.Status != http.StatusGatewayTimeout || !e.Retryable {
		t.Fatalf("err = %v, want a retryable 504", err)
	}
	waitCancelled(t, s)
}

func TestChatReasoningAndTools(t *testing.T) {
	_, c := newPair(t, sim.Knobs{Reasoning: true}, upstream.Timeouts{})
	req := userReq("qwen3-max", "please lookup_order 42")
	req.Tools = []chat.Tool{{Type: "function", Function: chat.Function{Name: "lookup_order",
		Parameters: json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}`)}}}
	resp, _ := upstreamtest.Collect(t, c, req)
	if !strings.HasPrefix(resp.Message.ReasoningContent, "Simulated thinking") {
		t.Errorf("reasoning = %q", resp.Message.ReasoningContent)
	}
	if resp.FinishReason != chat.FinishToolCalls || len(resp.Message.ToolCalls) != 1 {
		t.Fatalf("resp = %+v", resp)
	}
	tc := resp.Message.ToolCalls[0]
	if tc.Name != "lookup_order" || tc.Arguments != `{"order_id":"please lookup_order 42"}` {
		t.Errorf("call = %+v", tc)
	}
	if resp.Usage == nil || resp.Usage.ReasoningTokens == 0 {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestChatImage(t *testing.T) {
	s, c := newPair(t, sim.Knobs{}, upstream.Timeouts{})
	req := &chat.Request{Model: "qwen-vl-plus", Messages: []chat.Message{{Role: chat.RoleUser, Parts: []chat.Part{
		{Type: chat.PartText, Text: "what is this"}, {Type: chat.PartImageURL, ImageURL: "https://example.com/cat.png"}}}}}
	resp, _ := upstreamtest.Collect(t, c, req)
	if !strings.Contains(resp.Message.Content, "(with 1 images)") {
		t.Errorf("content = %q", resp.Message.Content)
	}
	rec, _ := s.Last()
	if len(rec.Messages) != 1 || len(rec.Messages[0].Images) != 1 || rec.Messages[0].Images[0] != "https://example.com/cat.png" {
		t.Errorf("received %+v", rec.Messages)
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
		{name: "rate limited in stream", prompt: "hi [[sim:429]] [[sim:err200]]", status: 429, code: upstream.CodeUpstreamRateLimited, retryable: true},
		{name: "quota", prompt: "hi [[sim:quota]]", status: 429, code: upstream.CodeUpstreamQuota},
		{name: "server error", prompt: "hi [[sim:500]]", status: 502, code: upstream.CodeUpstreamUnavailable, retryable: true},
		{name: "server error knob", knobs: sim.Knobs{ServerError: 503}, prompt: "hi", status: 502, code: upstream.CodeUpstreamUnavailable, retryable: true},
		{name: "input moderation", prompt: "hi [[sim:block-input]]", status: 400, code: apierr.CodeContentFilter},
		{name: "bad key", key: "sk-wrong", prompt: "hi", status: 502, code: upstream.CodeUpstreamAuth, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.NewOpenAI(sim.Options{APIKeys: []string{testKey}, Knobs: tt.knobs})
			defer s.Close()
			key := tt.key
			if key == "" {
				key = testKey
			}
			c, _ := openaicompat.New(openaicompat.Config{BaseURL: s.URL(), APIKey: key})
			_, err := c.Chat(context.Background(), userReq("qwen-plus", tt.prompt))
			e, ok := apierr.As(err)
			if !ok {
				t.Fatalf("err = %v, want *apierr.Error", err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Retryable != tt.retryable {
				t.Errorf("got %d %s retryable=%v, want %d %s retryable=%v (%v)", e.Status, e.Code, e.Retryable, tt.status, tt.code, tt.retryable, err)
			}
		})
	}
}

func TestChatFailCountRecovers(t *testing.T) {
	_, c := newPair(t, sim.Knobs{Throttle: "Throttling.RateQuota", FailCount: 1}, upstream.Timeouts{})
	if _, err := c.Chat(context.Background(), userReq("qwen-plus", "hi")); !apierr.IsRetryable(err) {
		t.Fatalf("first call: err = %v, want retryable", err)
	}
	upstreamtest.Collect(t, c, userReq("qwen-plus", "hi"))
}

func TestChatMidStreamFailures(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		status int
		code   string
	}{
		{name: "output moderation", prompt: "tell me [[sim:block]]", status: 400, code: apierr.CodeContentFilter},
		{name: "connection cut", prompt: "tell me [[sim:cut]]", status: 502, code: upstream.CodeUpstreamStreamBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newPair(t, sim.Knobs{}, upstream.Timeouts{})
			st, err := c.Chat(context.Background(), userReq("qwen-plus", tt.prompt))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			defer st.Close()
			n := 0
			for {
				if _, err = st.Recv(); err != nil {
					break
				}
				n++
			}
			e, ok := apierr.As(err)
			if n == 0 || !ok || e.Status != tt.status || e.Code != tt.code || e.Retryable {
				t.Errorf("after %d chunks: err = %v", n, err)
			}
		})
	}
}

func TestChatTimeoutsAndCancel(t *testing.T) {
	t.Run("first byte", func(t *testing.T) {
		s, c := newPair(t, sim.Knobs{FirstByteDelay: time.Minute}, upstream.Timeouts{FirstByte: 50 * time.Millisecond})
		_, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
		if e, ok := apierr.As(err); !ok || e.Status != http.StatusGatewayTimeout || !e.Retryable {
			t.Fatalf("err = %v", err)
		}
		waitCancelled(t, s)
	})
	t.Run("between chunks", func(t *testing.T) {
		s, c := newPair(t, sim.Knobs{ChunkDelay: time.Minute}, upstream.Timeouts{BetweenChunks: 50 * time.Millisecond})
		st, err := c.Chat(context.Background(), userReq("qwen-plus", "hi"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for err == nil {
			_, err = st.Recv()
		}
		if e, ok := apierr.As(err); !ok || e.Status != http.StatusGatewayTimeout || e.Retryable {
			t.Fatalf("err = %v", err)
		}
		waitCancelled(t, s)
	})
	t.Run("cancel", func(t *testing.T) {
		s, c := newPair(t, sim.Knobs{ChunkDelay: time.Minute}, upstream.Timeouts{})
		ctx, cancel := context.WithCancel(context.Background())
		st, err := c.Chat(ctx, userReq("qwen-plus", "hi"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cancel()
		for err == nil {
			_, err = st.Recv()
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		waitCancelled(t, s)
	})
}

func TestChatNoKey(t *testing.T) {
	s := sim.NewOpenAI(sim.Options{})
	defer s.Close()
	c, _ := openaicompat.New(openaicompat.Config{BaseURL: s.URL()})
	_, err := c.Chat(context.Background(), userReq("m", "hi"))
	if e, ok := apierr.As(err); !ok || e.Code != upstream.CodeUpstreamCredential {
		t.Errorf("without a key: err = %v, want %s", err, upstream.CodeUpstreamCredential)
	}
	c, _ = openaicompat.New(openaicompat.Config{BaseURL: s.URL(), AllowNoKey: true})
	_, err = c.Chat(context.Background(), userReq("m", "hi"))
	if e, ok := apierr.As(err); !ok || e.Code != upstream.CodeUpstreamAuth {
		t.Errorf("no Authorization header: err = %v, want the simulator's 401 mapped to %s", err, upstream.CodeUpstreamAuth)
	}
}

func waitCancelled(t *testing.T, s *sim.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Cancelled < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("simulator did not see the request cancelled: %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWaitHook: the stream calls the caller's chat.Wait hook before it reads the network.
func TestWaitHook(t *testing.T) {
	_, c := newPair(t, sim.Knobs{}, upstream.Timeouts{})
	waits := 0
	ctx := chat.BeforeWait(context.Background(), func() { waits++ })
	st, err := c.Chat(ctx, userReq("qwen-plus", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Collect(st); err != nil {
		t.Fatal(err)
	}
	if waits == 0 {
		t.Error("the hook was never called")
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
		c, err := openaicompat.New(openaicompat.Config{Name: "compat-test", BaseURL: s.URL(), APIKey: testKey, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, func() int64 { return s.Stats().Connections }, userReq("qwen-plus", "hi"))
}
