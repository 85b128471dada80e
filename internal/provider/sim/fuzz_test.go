package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// serveOnce runs one request through the handler; a deliberate connection cut
// (http.ErrAbortHandler) is an allowed outcome, any other panic is a bug.
func serveOnce(t *testing.T, h http.Handler, path string, headers map[string]string, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				return
			}
			panic(r)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), req)
}

func FuzzDashScopeRequest(f *testing.F) {
	f.Add(`{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"hi [[sim:tool]]"}]},"parameters":{"tools":[{"type":"function","function":{"name":"f","parameters":{"required":["a"]}}}]}}`, true)
	f.Add(`{"model":"qwen-vl-plus","input":{"messages":[{"role":"user","content":[{"image":"x"},{"text":"[[sim:block]]"}]}]}}`, false)
	f.Add(`{"model":"qwen-plus","input":{"prompt":"[[sim:cut]][[sim:chunk=1]]"}}`, true)
	s, _ := New(KindDashScope, Options{MaxReceived: 4})
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string, stream bool) {
		hdr := map[string]string{}
		if stream {
			hdr["X-DashScope-SSE"] = "enable"
		}
		serveOnce(t, h, dsTextPath, hdr, body)
		serveOnce(t, h, dsMultimodalPath, hdr, body)
	})
}

func FuzzOpenAIRequest(f *testing.F) {
	f.Add(`{"model":"m","messages":[{"role":"user","content":"hi get_x"}],"tools":[{"type":"function","function":{"name":"get_x","parameters":{"properties":{"q":{"type":"string"}}}}}],"stream":true}`)
	f.Add(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"[[sim:block]]"}]}],"stream":true,"stream_options":{"include_usage":true}}`)
	s, _ := New(KindOpenAI, Options{MaxReceived: 4})
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		serveOnce(t, h, "/v1/chat/completions", nil, body)
	})
}

func FuzzClip(f *testing.F) {
	f.Add("我的电话是[PHONE_1]，请回电。", 8)
	f.Add("⟦A_1⟧⟦B_2⟧", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if !utf8.ValidString(s) || n < 0 || n > 1000 {
			return
		}
		got := clip(s, n)
		if got == s {
			return
		}
		body, ok := strings.CutSuffix(got, "…")
		if !ok || !strings.HasPrefix(s, body) {
			t.Fatalf("clip(%q, %d) = %q: not a prefix plus an ellipsis", s, n, got)
		}
	})
}

func FuzzToolArguments(f *testing.F) {
	f.Add(`{"properties":{"a":{"type":"string"}},"required":["a"]}`, "v")
	f.Fuzz(func(t *testing.T, schema, value string) {
		got := toolArguments([]byte(schema), value)
		if !strings.HasPrefix(got, "{") || !json.Valid([]byte(got)) {
			t.Fatalf("arguments %q are not a JSON object", got)
		}
	})
}
