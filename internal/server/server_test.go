package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/route"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// fakeRouter answers every request with fixed chunks, or an error.
type fakeRouter struct {
	chunks []chat.Chunk
	err    error
	got    *chat.Request
	closes atomic.Int64 // answers closed
}

func (f *fakeRouter) Chat(ctx context.Context, region string, req *chat.Request) (chat.Stream, route.Target, error) {
	f.got = req
	if f.err != nil {
		return nil, route.Target{}, f.err
	}
	return closeCounter{chat.NewSliceStream(f.chunks...), &f.closes}, route.Target{Provider: "sim-" + strings.ToLower(region), Model: "m1", Jurisdiction: region}, nil
}

// closeCounter counts the Close calls of the answers fakeRouter returned.
type closeCounter struct {
	chat.Stream
	n *atomic.Int64
}

func (c closeCounter) Close() error {
	c.n.Add(1)
	return c.Stream.Close()
}

func (f *fakeRouter) Aliases(region string) []string { return []string{"chat", "vision"} }

type testEnv struct {
	srv    *httptest.Server
	keys   map[string]string // name -> secret
	router *fakeRouter
	store  *tenant.MemStore
	audits []*Exchange
}

func newTestEnv(t *testing.T, router *fakeRouter, tweak func(*Options)) *testEnv {
	t.Helper()
	env := &testEnv{keys: map[string]string{}, router: router, store: &tenant.MemStore{}}
	for name, regions := range map[string][]string{"cn": {"CN"}, "multi": {"CN", "EU"}, "revoked": {"CN"}, "mars": {"MARS"}} {
		secret, k, err := tenant.NewSecret("t-"+name, regions, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		env.store.CreateKey(context.Background(), k)
		if name == "revoked" {
			env.store.RevokeKey(context.Background(), k.ID, time.Now())
		}
		env.keys[name] = secret
	}
	opts := Options{
		Router:   router,
		Keys:     env.store,
		Profiles: map[string]*Profile{"CN": {Region: "CN", Filing: "Beijing-Test-2026"}, "EU": {Region: "EU"}},
		Audit: func(ctx context.Context, ex *Exchange) error {
			cp := *ex
			env.audits = append(env.audits, &cp)
			return nil
		},
		MaxBodyBytes: 1 << 10,
		KeyCacheTTL:  -1,
	}
	if tweak != nil {
		tweak(&opts)
	}
	env.srv = httptest.NewServer(New(opts))
	t.Cleanup(env.srv.Close)
	return env
}

func (e *testEnv) do(t *testing.T, key, region, body string) (*http.Response, apierr.Body) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if region != "" {
		req.Header.Set("X-Qiao-Region", region)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b apierr.Body
	json.NewDecoder(resp.Body).Decode(&b)
	return resp, b
}

const okBody = `{"model":"chat","messages":[{"role":"user","content":"你好"}]}`

func TestAuthAndRegion(t *testing.T) {
	env := newTestEnv(t, &fakeRouter{chunks: []chat.Chunk{{Delta: chat.Delta{Content: "hi"}}, {FinishReason: "stop"}}}, nil)
	for _, tc := range []struct {
		name, key, region string
		status            int
		code, wantRegion  string
	}{
		{"no key", "", "", 401, "missing_api_key", "none"},
		{"unknown key", "qk-nope", "", 401, "invalid_api_key", "none"},
		{"revoked key", env.keys["revoked"], "", 401, "key_revoked", "none"},
		{"single region implied", env.keys["cn"], "", 200, "", "CN"},
		{"single region named", env.keys["cn"], "cn", 200, "", "CN"},
		{"other region", env.keys["cn"], "EU", 403, "region_not_allowed", "none"},
		{"multi without region", env.keys["multi"], "", 400, "missing_region", "none"},
		{"multi with region", env.keys["multi"], "EU", 200, "", "EU"},
		{"region not served", env.keys["mars"], "", 403, "region_not_allowed", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, tc.key, tc.region, okBody)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%+v)", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" && (body.Error.Code == nil || *body.Error.Code != tc.code) {
				t.Errorf("code %v, want %s", body.Error.Code, tc.code)
			}
			if got := resp.Header.Get("X-Qiao-Region"); got != tc.wantRegion {
				t.Errorf("X-Qiao-Region %q, want %q", got, tc.wantRegion)
			}
			if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("X-Qiao-Provider") == "" {
				t.Errorf("missing base headers: %v", resp.Header)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	env := newTestEnv(t, &fakeRouter{chunks: []chat.Chunk{{FinishReason: "stop"}}}, nil)
	key := env.keys["cn"]
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"malformed", `{"model":`, 400, "invalid_json"},
		{"too large", `{"model":"chat","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`, 413, "request_too_large"},
		{"invalid utf8", "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}", 400, "invalid_encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, key, "", tc.body)
			if resp.StatusCode != tc.status || body.Error.Code == nil || *body.Error.Code != tc.code {
				t.Fatalf("got %d %+v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	// Routing errors keep their status.
	env.router.err = apierr.New(404, apierr.TypeNotFound, "model_not_found", "no such model")
	resp, body := env.do(t, key, "", okBody)
	if resp.StatusCode != 404 || *body.Error.Code != "model_not_found" {
		t.Errorf("router error: %d %+v", resp.StatusCode, body)
	}
	// Refused requests are audited.
	if n := len(env.audits); n == 0 || env.audits[n-1].ErrCode != "model_not_found" {
		t.Errorf("refusal not audited: %d records", n)
	}
}

func TestStreamShape(t *testing.T) {
	router := &fakeRouter{chunks: []chat.Chunk{
		{Delta: chat.Delta{ReasoningContent: "想"}},
		{Delta: chat.Delta{Content: "你"}},
		{Delta: chat.Delta{Content: "好"}, FinishReason: "stop"},
		{Usage: &chat.Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7}},
	}}
	env := newTestEnv(t, router, func(o *Options) {
		o.Profiles["CN"].Label = func(ex *Exchange) (any, string, func(chat.Stream) chat.Stream) {
			return map[string]string{"Label": "1", "ProduceID": "p-1"}, "p-1", nil
		}
	})
	resp, err := http.DefaultClient.Do(mustReq(t, env, `{"model":"chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Qiao-Provider") != "sim-cn" || resp.Header.Get("X-Qiao-Filing") != "Beijing-Test-2026" {
		t.Fatalf("headers %v", resp.Header)
	}
	var events []map[string]any
	sc := bufio.NewScanner(resp.Body)
	done := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatal(err)
		}
		events = append(events, m)
	}
	if !done || len(events) != 4 {
		t.Fatalf("done=%v, %d events: %v", done, len(events), events)
	}
	if _, ok := events[0]["aigc"]; !ok {
		t.Errorf("first event lacks the label: %v", events[0])
	}
	last := events[len(events)-1]
	if _, ok := last["aigc"]; !ok || last["usage"] == nil || len(last["choices"].([]any)) != 0 {
		t.Errorf("last event should be usage-only with the label: %v", last)
	}
	if _, ok := events[1]["aigc"]; ok {
		t.Errorf("middle event carries the label: %v", events[1])
	}
	a := env.audits[len(env.audits)-1]
	if a.Status != 200 || a.Usage == nil || a.Usage.TotalTokens != 7 || a.ProduceID != "p-1" || a.TTFT <= 0 {
		t.Errorf("audit record %+v", a)
	}
}

func mustReq(t *testing.T, env *testEnv, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", env.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.keys["cn"])
	return req
}

func TestAuditFailureRefuses(t *testing.T) {
	env := newTestEnv(t, &fakeRouter{chunks: []chat.Chunk{{Delta: chat.Delta{Content: "x"}}, {FinishReason: "stop"}}}, func(o *Options) {
		o.Audit = func(context.Context, *Exchange) error { return errors.New("disk full") }
	})
	resp, body := env.do(t, env.keys["cn"], "", okBody)
	if resp.StatusCode != 503 || *body.Error.Code != "audit_unavailable" {
		t.Fatalf("got %d %+v", resp.StatusCode, body)
	}
	if strings.Contains(body.Error.Message, "disk full") {
		t.Errorf("internal cause leaked: %s", body.Error.Message)
	}
}

func TestUnknownURLAndPanics(t *testing.T) {
	env := newTestEnv(t, &fakeRouter{}, func(o *Options) {
		o.Routes = map[string]HandlerFunc{"POST /v1/boom": func(http.ResponseWriter, *http.Request, *Exchange) error { panic("boom") }}
	})
	resp, err := http.Get(env.srv.URL + "/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown URL: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", env.srv.URL+"/v1/boom", nil)
	req.Header.Set("Authorization", "Bearer "+env.keys["cn"])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("panic: %d", resp.StatusCode)
	}
}

func TestEveryResponseHasBaseHeaders(t *testing.T) {
	env := newTestEnv(t, &fakeRouter{}, nil)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/nope"} {
		resp, err := http.Get(env.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("X-Qiao-Region") != "none" || resp.Header.Get("X-Qiao-Provider") != "none" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
}

func TestEndpointOf(t *testing.T) {
	for pattern, want := range map[string]string{
		"POST /v1/complaints": "complaints", "GET /v1/complaints/{id}": "complaints",
		"POST /v1/images/generations": "images", "POST /v1/assistant/turns": "assistant", "POST /v1/labels/image": "labels",
	} {
		if got := endpointOf(pattern); got != want {
			t.Errorf("endpointOf(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// TestLabelPanicIsOneRequest: a label stage that panics fails that request with a 500 and
// closes its upstream call; the process and the next request are fine.
func TestLabelPanicIsOneRequest(t *testing.T) {
	boom := true
	router := &fakeRouter{chunks: []chat.Chunk{{Delta: chat.Delta{Content: "hi"}}, {FinishReason: "stop"}}}
	env := newTestEnv(t, router, func(o *Options) {
		o.Profiles["CN"].Label = func(*Exchange) (any, string, func(chat.Stream) chat.Stream) {
			if boom {
				panic("label boom")
			}
			return map[string]string{"Label": "1"}, "id-1", nil
		}
	})
	if resp, _ := env.do(t, env.keys["cn"], "", okBody); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	if n := router.closes.Load(); n != 1 {
		t.Fatalf("the upstream answer was closed %d times, want 1", n)
	}
	boom = false
	if resp, _ := env.do(t, env.keys["cn"], "", okBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("next request: status %d, want 200", resp.StatusCode)
	}
}

// TestContentMACs: with a ContentMAC the server hands the audit hook the keyed hashes of
// the prompt and of the answer the client read, streamed (hashed as it arrives) or not;
// an empty answer has no hash. Without one, the hook gets the texts.
func TestContentMACs(t *testing.T) {
	key := []byte("0123456789abcdef")
	const prompt = `"messages":[{"role":"system","content":"简短"},{"role":"user","content":"你好"}]`
	wantPrompt := audit.ContentMAC(key, "system:简短\nuser:你好\n")
	for _, tc := range []struct {
		name   string
		chunks []chat.Chunk
		stream bool
		answer string
	}{
		{"streamed", []chat.Chunk{{Delta: chat.Delta{Content: "你"}}, {Delta: chat.Delta{Content: "好，"}}, {Delta: chat.Delta{Content: "世界"}, FinishReason: "stop"}}, true, "你好，世界"},
		{"whole", []chat.Chunk{{Delta: chat.Delta{Content: "你好"}}, {FinishReason: "stop"}}, false, "你好"},
		{"streamed, empty", []chat.Chunk{{FinishReason: "stop"}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"model":"chat","stream":%v,%s}`, tc.stream, prompt)
			for _, keyed := range []bool{true, false} {
				env := newTestEnv(t, &fakeRouter{chunks: tc.chunks}, func(o *Options) {
					if keyed {
						o.ContentMAC = audit.NewMACer(key)
					}
				})
				resp, err := http.DefaultClient.Do(mustReq(t, env, body))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if len(env.audits) != 1 {
					t.Fatalf("%d records", len(env.audits))
				}
				a := env.audits[0]
				if !keyed {
					if a.PromptMAC != nil || a.AnswerMAC != nil || a.PromptText != "system:简短\nuser:你好\n" || a.AnswerText != tc.answer {
						t.Errorf("without a ContentMAC: prompt %q answer %q, MACs %x %x", a.PromptText, a.AnswerText, a.PromptMAC, a.AnswerMAC)
					}
					continue
				}
				if !bytes.Equal(a.PromptMAC, wantPrompt) {
					t.Errorf("PromptMAC %x, want %x", a.PromptMAC, wantPrompt)
				}
				var wantAnswer []byte
				if tc.answer != "" {
					wantAnswer = audit.ContentMAC(key, tc.answer)
				}
				if !bytes.Equal(a.AnswerMAC, wantAnswer) {
					t.Errorf("AnswerMAC %x, want %x (of %q)", a.AnswerMAC, wantAnswer, tc.answer)
				}
			}
		})
	}
}
