package route

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// fakeProvider answers according to a script of results, one per call; the last entry
// repeats. It records the models it was asked for.
type fakeProvider struct {
	mu     sync.Mutex
	script []error // nil = answer "ok"; errFirstChunk = fail on first Recv
	calls  []string
}

var errFirstChunk = apierr.New(http.StatusBadGateway, apierr.TypeAPI, "upstream_error", "error event in stream")

func init() { errFirstChunk.Retryable = true }

func (f *fakeProvider) Chat(ctx context.Context, req *chat.Request) (chat.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req.Model)
	i := len(f.calls) - 1
	if i >= len(f.script) {
		i = len(f.script) - 1
	}
	var err error
	if i >= 0 {
		err = f.script[i]
	}
	switch {
	case err == errFirstChunk:
		return &errStream{err: err}, nil
	case err != nil:
		return nil, err
	}
	return chat.NewSliceStream(chat.Chunk{Delta: chat.Delta{Content: "ok from " + req.Model}}, chat.Chunk{FinishReason: "stop"}), nil
}

func (f *fakeProvider) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.calls) }

type errStream struct{ err error }

func (e *errStream) Recv() (chat.Chunk, error) { return chat.Chunk{}, e.err }
func (e *errStream) Close() error              { return nil }

func retryable(status int, code string) error {
	e := apierr.New(status, apierr.TypeAPI, code, code)
	e.Retryable = true
	return e
}

func newTestRouter(t *testing.T, providers map[string]Provider, now func() time.Time) *Router {
	t.Helper()
	regions := []Region{
		{Name: "CN", Jurisdictions: []string{"CN"}, Aliases: map[string][]Target{
			"chat": {{Provider: "qwen-bj", Model: "qwen-plus", Jurisdiction: "CN"}, {Provider: "qwen-sh", Model: "qwen-turbo", Jurisdiction: "CN"}},
		}},
		{Name: "US", Jurisdictions: []string{"US"}, Aliases: map[string][]Target{
			"chat": {{Provider: "openai-us", Model: "gpt-4o-mini", Jurisdiction: "US"}},
		}},
	}
	r, err := New(regions, providers, Options{BreakerThreshold: 2, BreakerCooldown: time.Minute, Backoff: time.Millisecond, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func answer(t *testing.T, s chat.Stream) string {
	t.Helper()
	r, err := chat.Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	return r.Message.Content
}

func TestNewRefusesCrossBorderRoute(t *testing.T) {
	providers := map[string]Provider{"openai-us": &fakeProvider{}}
	_, err := New([]Region{{Name: "CN", Jurisdictions: []string{"CN"}, Aliases: map[string][]Target{
		"chat": {{Provider: "openai-us", Model: "gpt-4o", Jurisdiction: "US"}},
	}}}, providers, Options{})
	if err == nil || !strings.Contains(err.Error(), "does not allow") {
		t.Fatalf("err = %v, want a residency error", err)
	}
	_, err = New([]Region{{Name: "CN", Jurisdictions: []string{"CN"}, Aliases: map[string][]Target{
		"chat": {{Provider: "nope", Model: "m", Jurisdiction: "CN"}},
	}}}, providers, Options{})
	if err == nil || !strings.Contains(err.Error(), "unknown provider") {
		t.Fatalf("err = %v, want unknown provider", err)
	}
}

// TestResidencyWhenAllDomesticProvidersFail proves that CN traffic never reaches the US
// provider, even when every CN provider fails and the breakers open.
func TestResidencyWhenAllDomesticProvidersFail(t *testing.T) {
	bj := &fakeProvider{script: []error{retryable(502, "upstream_error")}}
	sh := &fakeProvider{script: []error{retryable(503, "upstream_error")}}
	us := &fakeProvider{}
	r := newTestRouter(t, map[string]Provider{"qwen-bj": bj, "qwen-sh": sh, "openai-us": us}, time.Now)
	for i := 0; i < 5; i++ {
		_, _, err := r.Chat(context.Background(), "CN", &chat.Request{Model: "chat"})
		e, ok := apierr.As(err)
		if !ok || e.Status != 503 || e.Code != apierr.CodeNoEligibleProvider {
			t.Fatalf("call %d: err = %v, want 503 no_eligible_provider", i, err)
		}
	}
	if us.count() != 0 {
		t.Fatalf("the US provider got %d CN calls", us.count())
	}
	if r.BreakerState("qwen-bj") != stateOpen || r.BreakerState("qwen-sh") != stateOpen {
		t.Errorf("breakers: %s %s, want open", r.BreakerState("qwen-bj"), r.BreakerState("qwen-sh"))
	}
	if bj.count() != 2 || sh.count() != 2 {
		t.Errorf("calls after breakers opened: bj %d sh %d, want 2 each", bj.count(), sh.count())
	}
}

func TestFallback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bj       []error
		wantText string
		wantCode string
		bjCalls  int
		shCalls  int
	}{
		{"first healthy", []error{nil}, "ok from qwen-plus", "", 1, 0},
		{"5xx falls back", []error{retryable(502, "upstream_error")}, "ok from qwen-turbo", "", 1, 1},
		{"error event before first chunk falls back", []error{errFirstChunk}, "ok from qwen-turbo", "", 1, 1},
		{"throttled is retried on the same target", []error{retryable(429, "rate_limited"), nil}, "ok from qwen-plus", "", 2, 0},
		{"throttled twice falls back", []error{retryable(429, "rate_limited")}, "ok from qwen-turbo", "", 2, 1},
		{"quota exhausted is final", []error{apierr.New(429, apierr.TypeRateLimit, "insufficient_quota", "quota")}, "", "insufficient_quota", 1, 0},
		{"content filter is final", []error{apierr.ContentFilter("blocked")}, "", apierr.CodeContentFilter, 1, 0},
		{"bad request is final", []error{apierr.BadRequest("invalid_parameter", "bad")}, "", "invalid_parameter", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bj := &fakeProvider{script: tc.bj}
			sh := &fakeProvider{}
			r := newTestRouter(t, map[string]Provider{"qwen-bj": bj, "qwen-sh": sh, "openai-us": &fakeProvider{}}, time.Now)
			req := &chat.Request{Model: "chat"}
			s, _, err := r.Chat(context.Background(), "CN", req)
			if req.Model != "chat" {
				t.Errorf("request model left as %q", req.Model)
			}
			if tc.wantCode != "" {
				if e, ok := apierr.As(err); !ok || e.Code != tc.wantCode {
					t.Fatalf("err = %v, want code %s", err, tc.wantCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got := answer(t, s); got != tc.wantText {
					t.Errorf("answer %q, want %q", got, tc.wantText)
				}
			}
			if bj.count() != tc.bjCalls || sh.count() != tc.shCalls {
				t.Errorf("calls bj=%d sh=%d, want %d %d", bj.count(), sh.count(), tc.bjCalls, tc.shCalls)
			}
		})
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	bj := &fakeProvider{script: []error{retryable(502, "x"), retryable(502, "x"), nil}}
	sh := &fakeProvider{}
	r := newTestRouter(t, map[string]Provider{"qwen-bj": bj, "qwen-sh": sh, "openai-us": &fakeProvider{}}, clock)
	for i := 0; i < 3; i++ {
		if _, _, err := r.Chat(context.Background(), "CN", &chat.Request{Model: "chat"}); err != nil {
			t.Fatal(err)
		}
	}
	if bj.count() != 2 {
		t.Fatalf("open breaker let calls through: %d", bj.count())
	}
	now = now.Add(2 * time.Minute)
	if r.BreakerState("qwen-bj") != stateHalfOpen {
		t.Fatalf("state %s, want half_open", r.BreakerState("qwen-bj"))
	}
	s, tgt, err := r.Chat(context.Background(), "CN", &chat.Request{Model: "chat"})
	if err != nil || tgt.Provider != "qwen-bj" {
		t.Fatalf("probe: %v %v", tgt, err)
	}
	answer(t, s)
	if r.BreakerState("qwen-bj") != stateClosed {
		t.Errorf("state after good probe %s", r.BreakerState("qwen-bj"))
	}
}

func TestUnknownAliasAndRegion(t *testing.T) {
	r := newTestRouter(t, map[string]Provider{"qwen-bj": &fakeProvider{}, "qwen-sh": &fakeProvider{}, "openai-us": &fakeProvider{}}, time.Now)
	_, _, err := r.Chat(context.Background(), "CN", &chat.Request{Model: "gpt-4o"})
	if e, ok := apierr.As(err); !ok || e.Status != 404 || e.Param != "model" {
		t.Errorf("unknown alias: %v", err)
	}
	_, _, err = r.Chat(context.Background(), "MARS", &chat.Request{Model: "chat"})
	if e, ok := apierr.As(err); !ok || e.Status != 403 {
		t.Errorf("unknown region: %v", err)
	}
	if got := r.Aliases("CN"); len(got) != 1 || got[0] != "chat" {
		t.Errorf("aliases %v", got)
	}
}

func TestClientGoneStopsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	bj := &fakeProvider{script: []error{retryable(429, "rate_limited")}}
	sh := &fakeProvider{}
	r := newTestRouter(t, map[string]Provider{"qwen-bj": bj, "qwen-sh": sh, "openai-us": &fakeProvider{}}, time.Now)
	cancel()
	_, _, err := r.Chat(ctx, "CN", &chat.Request{Model: "chat"})
	if err == nil || sh.count() != 0 {
		t.Fatalf("err %v, fallback calls %d", err, sh.count())
	}
}

func TestPeekReplaysFirstChunk(t *testing.T) {
	s, err := peek(chat.NewSliceStream(chat.Chunk{Delta: chat.Delta{Content: "a"}}, chat.Chunk{Delta: chat.Delta{Content: "b"}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := answer(t, s); got != "ab" {
		t.Errorf("got %q", got)
	}
	s, err = peek(chat.NewSliceStream())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("empty stream: %v", err)
	}
}
