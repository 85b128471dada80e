package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	imgsim "github.com/qiao-gateway/qiao/internal/imagegen/sim"
	"github.com/qiao-gateway/qiao/internal/provider/sim"
)

// e2e is a running gateway (the real Main, as `qiao serve` runs it) with its simulated
// upstreams: two CN DashScope providers (for fallback), one US OpenAI-compatible provider.
type e2e struct {
	t       *testing.T
	base    string
	data    string
	keys    map[string]string // region -> key
	cn, cn2 *sim.Server
	us      *sim.Server
	img     *imgsim.DashScope
	env     map[string]string
	cancel  context.CancelFunc
	done    chan error
	stderr  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

const e2eConfig = `
server:
  grace: 5s
  key_cache_ttl: 1ms
providers:
  qwen-a: {kind: dashscope, base_url: "%s", api_key_env: SIM_KEY_CN, jurisdiction: CN,
           timeouts: {first_byte: 2s, between_chunks: 2s}}
  qwen-b: {kind: dashscope, base_url: "%s", api_key_env: SIM_KEY_CN, jurisdiction: CN}
  openai-us: {kind: openai, base_url: "%s", api_key_env: SIM_KEY_US, jurisdiction: US}
  wanx: {kind: dashscope, base_url: "%s", api_key_env: SIM_KEY_CN, jurisdiction: CN}
regions:
  CN:
    jurisdictions: [CN]
    models:
      chat: [qwen-a/qwen-plus, qwen-b/qwen-turbo]
      vision: [qwen-a/qwen-vl-max]
      image: [wanx/wanx2.1-t2i-turbo]
    filings: [{model: qwen-plus, name: 通义千问, number: Beijing-Test-0001}]
    safety:
      offenders: {window: 1h, warn: 1, limit: 0, suspend: 3}
    label:
      explicit: "【AI生成】"
      producer: "001191350100M000100Y4310000"
      key_env: LABEL_KEY
  US:
    jurisdictions: [US]
    models:
      chat: [openai-us/gpt-4o-mini]
`

func startE2E(t *testing.T) *e2e { return startE2EWith(t, nil) }

// startE2EWith is startE2E with the configuration passed through edit first.
func startE2EWith(t *testing.T, edit func(cfg string) string) *e2e {
	t.Helper()
	e := &e2e{t: t, data: t.TempDir(), keys: map[string]string{}, stderr: &syncBuffer{}}
	e.cn = sim.NewDashScope(sim.Options{APIKeys: []string{"sk-cn"}})
	e.cn2 = sim.NewDashScope(sim.Options{APIKeys: []string{"sk-cn"}})
	e.us = sim.NewOpenAI(sim.Options{APIKeys: []string{"sk-us"}})
	e.img = imgsim.NewDashScope("sk-cn")
	imgSrv := httptest.NewServer(e.img)
	t.Cleanup(func() { e.cn.Close(); e.cn2.Close(); e.us.Close(); imgSrv.Close() })
	e.env = map[string]string{
		"SIM_KEY_CN": "sk-cn", "SIM_KEY_US": "sk-us",
		"LABEL_KEY":        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"QIAO_ADMIN_TOKEN": "admin-secret",
	}
	cfgPath := filepath.Join(e.data, "qiao.yaml")
	cfg := fmt.Sprintf(e2eConfig, e.cn.URL(), e.cn2.URL(), e.us.URL(), imgSrv.URL)
	if edit != nil {
		cfg = edit(cfg)
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"CN", "US"} {
		out := e.run("keys", "create", "--config", cfgPath, "--data", e.data, "--tenant", "acme", "--region", region)
		e.keys[region] = strings.TrimSpace(out)
	}
	e.base, e.cancel, e.done = e.serve(cfgPath, e.data)
	t.Cleanup(func() { e.stop() })
	return e
}

// serve starts `qiao serve` on a loopback port and waits until it listens.
func (e *e2e) serve(cfgPath, data string) (base string, cancel context.CancelFunc, done chan error) {
	e.t.Helper()
	m := e.newMain()
	addr := make(chan string, 1)
	m.Listening = func(a string) { addr <- a }
	if err := m.ParseFlags([]string{"serve", "--config", cfgPath, "--data", data, "--addr", "127.0.0.1:0", "--log-level", "warn"}); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan error, 1)
	go func() {
		err := m.Run(ctx)
		m.Close()
		done <- err
	}()
	select {
	case a := <-addr:
		return "http://" + a, cancel, done
	case err := <-done:
		e.t.Fatalf("serve stopped: %v\n%s", err, e.stderr)
	case <-time.After(30 * time.Second):
		e.t.Fatalf("serve did not start\n%s", e.stderr)
	}
	return "", cancel, done
}

func (e *e2e) newMain() *Main {
	return &Main{Stdout: &bytes.Buffer{}, Stderr: e.stderr, Getenv: func(k string) string { return e.env[k] }}
}

// run runs a one-shot qiao command and returns its standard output.
func (e *e2e) run(args ...string) string {
	e.t.Helper()
	m := e.newMain()
	var out bytes.Buffer
	m.Stdout = &out
	err := m.ParseFlags(args)
	if err == nil {
		err = m.Run(context.Background())
	}
	m.Close()
	if err != nil {
		e.t.Fatalf("qiao %s: %v\n%s", strings.Join(args, " "), err, e.stderr)
	}
	return out.String()
}

func (e *e2e) stop() error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		return err
	case <-time.After(20 * time.Second):
		e.t.Error("serve did not stop within 20s")
		return nil
	}
}

func (e *e2e) client(region string, opts ...option.RequestOption) *openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL(e.base + "/v1/"),
		option.WithAPIKey(e.keys[region]),
		option.WithMaxRetries(0),
	}
	c := openai.NewClient(append(base, opts...)...)
	return &c
}

func chatParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}
}

func TestE2EChat(t *testing.T) {
	e := startE2E(t)
	c := e.client("CN")
	var resp *http.Response
	out, err := c.Chat.Completions.New(context.Background(), chatParams("你好，介绍一下长城"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	got := out.Choices[0].Message.Content
	if !strings.Contains(got, "长城") || !strings.HasPrefix(got, "【AI生成】") {
		t.Errorf("answer %q: want the echo of the prompt after the explicit label", got)
	}
	if out.Choices[0].FinishReason != "stop" || out.Usage.TotalTokens == 0 {
		t.Errorf("finish %q usage %+v", out.Choices[0].FinishReason, out.Usage)
	}
	for h, want := range map[string]string{"X-Qiao-Region": "CN", "X-Qiao-Provider": "qwen-a", "X-Qiao-Filing": "Beijing-Test-0001"} {
		if resp.Header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, resp.Header.Get(h), want)
		}
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	aigc := out.JSON.ExtraFields["aigc"].Raw()
	if !strings.Contains(aigc, `"ContentProducer":"001191350100M000100Y4310000"`) {
		t.Errorf("implicit label missing or wrong: %s", aigc)
	}
	// The US key reaches the US provider only.
	us := e.client("US")
	out, err = us.Chat.Completions.New(context.Background(), chatParams("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Choices[0].Message.Content, "gpt-4o-mini") {
		t.Errorf("US answer %q", out.Choices[0].Message.Content)
	}
}

func TestE2EStreamWithUsage(t *testing.T) {
	e := startE2E(t)
	c := e.client("CN")
	p := chatParams("写一首关于春天的诗 [[sim:think]]")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(context.Background(), p)
	var text, reasoning strings.Builder
	var usage int64
	chunks := 0
	for s.Next() {
		ch := s.Current()
		chunks++
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
			if r, ok := ch.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
				var v string
				fmt.Sscanf(r.Raw(), "%q", &v)
				reasoning.WriteString(v)
			}
		}
		if ch.Usage.TotalTokens > 0 {
			usage = ch.Usage.TotalTokens
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 3 || !strings.Contains(text.String(), "春天") || usage == 0 {
		t.Errorf("%d chunks, text %q, usage %d", chunks, text.String(), usage)
	}
	if reasoning.Len() == 0 {
		t.Error("reasoning_content deltas were not passed through")
	}
}

func TestE2EToolCallAndImage(t *testing.T) {
	e := startE2E(t)
	c := e.client("CN")
	p := chatParams("请调用 get_weather 查询北京天气")
	p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name: "get_weather", Description: openai.String("weather for a city"),
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	})}
	out, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	calls := out.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || !strings.Contains(calls[0].Function.Arguments, `"city"`) {
		t.Fatalf("tool calls %+v", calls)
	}
	if out.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish %q", out.Choices[0].FinishReason)
	}
	// The tool result goes back and the model answers from it.
	p.Messages = append(p.Messages, out.Choices[0].Message.ToParam(), openai.ToolMessage("北京：晴，22°C", calls[0].ID))
	out, err = c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Choices[0].Message.Content, "22°C") {
		t.Errorf("answer after tool result: %q", out.Choices[0].Message.Content)
	}
	// An image part goes to the vision alias, which DashScope serves on its multimodal endpoint.
	img := openai.ChatCompletionNewParams{Model: "vision", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("这张图里有什么？"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
		}),
	}}
	out, err = c.Chat.Completions.New(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Choices[0].Message.Content, "1 张图片") {
		t.Errorf("vision answer %q", out.Choices[0].Message.Content)
	}
	last, _ := e.cn.Last()
	if !strings.Contains(last.Path, "multimodal-generation") || len(last.Messages) == 0 || len(last.Messages[len(last.Messages)-1].Images) != 1 {
		t.Errorf("upstream got %s %+v", last.Path, last.Messages)
	}
}

func TestE2EErrors(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	var apiErr *openai.Error

	_, err := e.client("CN").Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-5", Messages: chatParams("x").Messages})
	if !asAPIError(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}
	bad := openai.NewClient(option.WithBaseURL(e.base+"/v1/"), option.WithAPIKey("qk-wrong"), option.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(ctx, chatParams("x"))
	if !asAPIError(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("bad key: %v", err)
	}
	_, err = e.client("CN", option.WithHeader("X-Qiao-Region", "US")).Chat.Completions.New(ctx, chatParams("x"))
	if !asAPIError(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Errorf("wrong region: %v", err)
	}

	// A mid-stream upstream moderation error ends the stream cleanly: no SDK error, a
	// content_filter finish, and nothing after the block.
	s := e.client("CN").Chat.Completions.NewStreaming(ctx, chatParams("讲个故事 [[sim:block]]"))
	finish := ""
	for s.Next() {
		if ch := s.Current(); len(ch.Choices) > 0 && ch.Choices[0].FinishReason != "" {
			finish = ch.Choices[0].FinishReason
		}
	}
	if err := s.Err(); err != nil || finish != "content_filter" {
		t.Errorf("blocked stream: err %v, finish %q", err, finish)
	}

	// A connection cut mid-stream is a clean error on that request only.
	s = e.client("CN").Chat.Completions.NewStreaming(ctx, chatParams("长一点的回答 [[sim:cut]]"))
	for s.Next() {
	}
	if s.Err() == nil {
		t.Error("cut stream ended without an error")
	}
	if _, err := e.client("CN").Chat.Completions.New(ctx, chatParams("还在吗")); err != nil {
		t.Errorf("gateway unhealthy after a cut stream: %v", err)
	}
}

func asAPIError(err error, target **openai.Error) bool {
	if err == nil {
		return false
	}
	e, ok := err.(*openai.Error)
	if !ok {
		return false
	}
	*target = e
	return true
}

func TestE2EFallbackAndResidency(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	// The first CN provider fails: the second answers.
	e.cn.SetKnobs(sim.Knobs{ServerError: 503})
	var resp *http.Response
	out, err := e.client("CN").Chat.Completions.New(ctx, chatParams("你好"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Qiao-Provider") != "qwen-b" || !strings.Contains(out.Choices[0].Message.Content, "qwen-turbo") {
		t.Errorf("fallback: provider %q answer %q", resp.Header.Get("X-Qiao-Provider"), out.Choices[0].Message.Content)
	}
	// Every CN provider fails: 503 no_eligible_provider, and the US provider sees nothing.
	e.cn2.SetKnobs(sim.Knobs{ServerError: 500})
	before := e.us.Stats().Requests
	for i := 0; i < 8; i++ {
		_, err = e.client("CN").Chat.Completions.New(ctx, chatParams("你好"))
		var apiErr *openai.Error
		if !asAPIError(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "no_eligible_provider" {
			t.Fatalf("all CN down: %v", err)
		}
	}
	if n := e.us.Stats().Requests - before; n != 0 {
		t.Fatalf("CN traffic reached the US provider %d times", n)
	}
}

// TestE2EGracefulShutdown starts a slow stream, asks the server to stop, and checks that the
// stream still finishes and the server then exits.
func TestE2EGracefulShutdown(t *testing.T) {
	e := startE2E(t)
	e.cn.SetKnobs(sim.Knobs{ChunkDelay: 50 * time.Millisecond, ChunkRunes: 2})
	s := e.client("CN").Chat.Completions.NewStreaming(context.Background(), chatParams("请慢慢地回答这个问题"))
	if !s.Next() {
		t.Fatalf("no first chunk: %v", s.Err())
	}
	stopped := make(chan error, 1)
	go func() { stopped <- e.stop() }()
	var text strings.Builder
	for s.Next() {
		if ch := s.Current(); len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream cut by shutdown: %v", err)
	}
	if !strings.Contains(text.String(), "模拟器") {
		t.Errorf("stream incomplete: %q", text.String())
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	// New connections are refused after shutdown.
	if _, err := http.Get(e.base + "/healthz"); err == nil {
		t.Error("server still accepting after shutdown")
	}
}

// TestE2EUnknownFieldsPassThrough: fields Qiao does not know reach an OpenAI-compatible
// upstream untouched; DashScope's own extras are mapped into its native parameters.
func TestE2EUnknownFieldsPassThrough(t *testing.T) {
	e := startE2E(t)
	p := chatParams("hello")
	p.SetExtraFields(map[string]any{"vendor_option": map[string]any{"depth": 3, "tags": []string{"a", "b"}}})
	if _, err := e.client("US").Chat.Completions.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	last, _ := e.us.Last()
	if got := string(last.Parameters["vendor_option"]); got != `{"depth":3,"tags":["a","b"]}` {
		t.Errorf("US upstream got vendor_option %q", got)
	}
	p = chatParams("你好")
	p.SetExtraFields(map[string]any{"enable_thinking": true, "top_k": 20})
	if _, err := e.client("CN").Chat.Completions.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	last, _ = e.cn.Last()
	if string(last.Parameters["enable_thinking"]) != "true" || string(last.Parameters["top_k"]) != "20" {
		t.Errorf("DashScope parameters %v", last.Parameters)
	}
}
