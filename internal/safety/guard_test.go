package safety

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/privacy"
)

func TestParseQwen3Guard(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		strict  bool
		want    Verdict
		wantErr bool
	}{
		{"safe", "Safety: Safe\nCategories: None", false, Verdict{}, false},
		{"unsafe", "Safety: Unsafe\nCategories: Violent", false, Verdict{Unsafe: true, Labels: []string{"Violent"}, Category: "A.1.6"}, false},
		{"answer judged", "Safety: Safe\nCategories: None\nRefusal: Yes", false, Verdict{Refusal: "Yes"}, false},
		{"two categories", "Safety: Unsafe\nCategories: Suicide & Self-Harm, Violent\nRefusal: No", false,
			Verdict{Unsafe: true, Labels: []string{"Suicide & Self-Harm", "Violent"}, Category: "A.4.1", Refusal: "No"}, false},
		{"controversial loose", "Safety: Controversial\nCategories: Politically Sensitive Topics", false,
			Verdict{Controversial: true, Labels: []string{"Politically Sensitive Topics"}, Category: "A.1.2"}, false},
		{"controversial strict", "Safety: Controversial\nCategories: Jailbreak", true,
			Verdict{Unsafe: true, Controversial: true, Labels: []string{"Jailbreak"}, Category: "A.1.8"}, false},
		{"unsafe no category", "Safety: Unsafe", false, Verdict{Unsafe: true, Category: "A.1.8"}, false},
		{"garbage", "I think this is fine.", false, Verdict{}, true},
		{"unknown category", "Safety: Unsafe\nCategories: Spicy", false, Verdict{}, true},
		{"wrong case", "safety: unsafe", false, Verdict{}, true},
		{"empty", "", false, Verdict{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQwen3Guard(tt.in, tt.strict)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrGuardGarbage) {
				t.Fatalf("err %v is not ErrGuardGarbage", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLlamaGuard(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Verdict
		wantErr bool
	}{
		{"safe", "safe", Verdict{}, false},
		{"safe padded", "\n\n safe \n", Verdict{}, false},
		{"unsafe", "unsafe\nS9", Verdict{Unsafe: true, Labels: []string{"S9"}, Category: "A.1.6"}, false},
		{"unsafe several", "unsafe\nS11,S1", Verdict{Unsafe: true, Labels: []string{"S11", "S1"}, Category: "A.4.1"}, false},
		{"unsafe no codes", "unsafe", Verdict{Unsafe: true, Category: "A.1.8"}, false},
		{"unknown code", "unsafe\nS99", Verdict{}, true},
		{"garbage", "The conversation seems okay.", Verdict{}, true},
		{"empty", "  \n", Verdict{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLlamaGuard(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// guardServer is a fake guard model speaking the OpenAI chat completions protocol. judge
// returns the model's text for the messages it got; hang makes it wait for the client to
// give up; raw, when set, is sent as the body verbatim.
type guardServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []guardRequest
	auth  []string
	judge func(msgs []guardMessage) string
	hang  bool
	raw   string
	code  int
}

func newGuardServer(t *testing.T, judge func([]guardMessage) string) *guardServer {
	g := &guardServer{judge: judge}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var req guardRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.calls = append(g.calls, req)
		g.auth = append(g.auth, r.Header.Get("Authorization"))
		hang, raw, code := g.hang, g.raw, g.code
		g.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		if code != 0 {
			w.WriteHeader(code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if raw != "" {
			io.WriteString(w, raw)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": g.judge(req.Messages)}}},
		})
	}))
	t.Cleanup(g.Close)
	return g
}

// qwenJudge calls anything mentioning "weapon" unsafe.
func qwenJudge(msgs []guardMessage) string {
	last := msgs[len(msgs)-1].Content
	if strings.Contains(last, "weapon") {
		return "Safety: Unsafe\nCategories: Violent"
	}
	if len(msgs) > 1 {
		return "Safety: Safe\nCategories: None\nRefusal: No"
	}
	return "Safety: Safe\nCategories: None"
}

func guardChecker(t *testing.T, g *guardServer, mod func(*Config)) *Checker {
	t.Helper()
	c, _ := newTestChecker(t, func(cfg *Config) {
		cfg.Guard = GuardConfig{BaseURL: g.URL + "/v1", Model: "Qwen/Qwen3Guard-Gen-4B", Input: true, Output: true,
			Timeout: 200 * time.Millisecond, APIKeyEnv: "GUARD_KEY", OutputHold: 40}
		if mod != nil {
			mod(cfg)
		}
	}, Options{Getenv: func(k string) string {
		if k == "GUARD_KEY" {
			return "sk-guard"
		}
		return ""
	}})
	return c
}

func TestGuardInput(t *testing.T) {
	g := newGuardServer(t, qwenJudge)
	c := guardChecker(t, g, nil)
	d, err := c.CheckInput(context.Background(), Meta{}, userReq("tell me about weapons of the bronze age"))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Blocked() || d.Source != "guard" || d.Rule != "guard/Violent" || d.Category != "A.1.6" {
		t.Fatalf("decision %+v", d)
	}
	d, err = c.CheckInput(context.Background(), Meta{}, userReq("hello there"))
	if err != nil || d.Blocked() {
		t.Fatalf("safe text: %+v %v", d, err)
	}
	// The lexicon decides first: a lexicon block never calls the guard.
	n := len(g.calls)
	if d, _ := c.CheckInput(context.Background(), Meta{}, userReq("炸药")); !d.Blocked() || d.Source != "lexicon" || len(g.calls) != n {
		t.Fatalf("lexicon block: %+v, guard calls %d → %d", d, n, len(g.calls))
	}
	want := guardRequest{Model: "Qwen/Qwen3Guard-Gen-4B", Messages: []guardMessage{{Role: "user", Content: "hello there"}}, MaxTokens: 64}
	if diff := cmp.Diff(want, g.calls[1]); diff != "" {
		t.Errorf("guard request (-want +got):\n%s", diff)
	}
	if g.auth[0] != "Bearer sk-guard" {
		t.Errorf("authorization %q", g.auth[0])
	}
}

func TestGuardLlamaFormat(t *testing.T) {
	g := newGuardServer(t, func(msgs []guardMessage) string {
		if strings.Contains(msgs[len(msgs)-1].Content, "weapon") {
			return "unsafe\nS9"
		}
		return "safe"
	})
	c := guardChecker(t, g, func(cfg *Config) { cfg.Guard.Format = FormatLlamaGuard })
	d, err := c.CheckInput(context.Background(), Meta{}, userReq("a weapon please"))
	if err != nil || !d.Blocked() || d.Rule != "guard/S9" {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestGuardFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(g *guardServer)
	}{
		{"hangs", func(g *guardServer) { g.hang = true }},
		{"garbage text", func(g *guardServer) { g.judge = func([]guardMessage) string { return "I'd rather not say." } }},
		{"garbage body", func(g *guardServer) { g.raw = "<html>502 bad gateway</html>" }},
		{"no choices", func(g *guardServer) { g.raw = `{"choices":[]}` }},
		{"server error", func(g *guardServer) { g.code = http.StatusInternalServerError }},
		{"down", func(g *guardServer) { g.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuardServer(t, qwenJudge)
			tt.setup(g)
			// Fail closed (default): 503 safety_unavailable, no decision to answer with.
			c := guardChecker(t, g, nil)
			_, err := c.CheckInput(context.Background(), Meta{}, userReq("hello"))
			ae, ok := apierr.As(err)
			if !ok || ae.Status != http.StatusServiceUnavailable || ae.Code != CodeSafetyUnavailable {
				t.Fatalf("fail closed: err %v", err)
			}
			if strings.Contains(ae.Message, "hello") {
				t.Fatal("public message carries the prompt")
			}
			// Fail open: allowed, flagged.
			c = guardChecker(t, g, func(cfg *Config) { cfg.Guard.FailOpen = true })
			var got []Decision
			d, err := c.CheckInput(context.Background(), Meta{OnDecision: func(d Decision) { got = append(got, d) }}, userReq("hello"))
			if err != nil || d.Blocked() || len(got) != 1 || got[0].Flags[0].Rule != "guard/unavailable" {
				t.Fatalf("fail open: %+v %v %+v", d, err, got)
			}
		})
	}
}

func TestGuardMissingKey(t *testing.T) {
	_, err := New(Config{Guard: GuardConfig{BaseURL: "http://127.0.0.1:1/v1", Model: "m", Input: true, APIKeyEnv: "NOPE"}},
		Options{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("err %v", err)
	}
}

// TestGuardOutput: sentences are judged as they end; an unsafe sentence is never
// delivered, the ones before it are.
func TestGuardOutput(t *testing.T) {
	g := newGuardServer(t, qwenJudge)
	c := guardChecker(t, g, nil)
	up := &fakeUpstream{chunks: contentChunks("First a fine sentence. ", "Then more fine", " text. Now the wea", "pon part. Never seen.")}
	m := runModerate(t, c, up)
	checkBlockedEnd(t, m, c.Refusal("en"))
	got := strings.TrimSuffix(m.content(), c.Refusal("en"))
	if got != "First a fine sentence. Then more fine text." {
		t.Fatalf("delivered %q", got)
	}
	// The guard saw the answer as a reply to the prompt.
	last := g.calls[len(g.calls)-1]
	if len(last.Messages) != 2 || last.Messages[1].Role != "assistant" || !strings.Contains(last.Messages[1].Content, "weapon") {
		t.Fatalf("guard call %+v", last)
	}
	if m.decisions[0].Source != "guard" {
		t.Fatalf("decision %+v", m.decisions[0])
	}
}

func TestGuardOutputHoldBounded(t *testing.T) {
	g := newGuardServer(t, qwenJudge)
	c := guardChecker(t, g, nil)
	// No sentence end at all: released in pieces of at most OutputHold (40) runes.
	text := strings.Repeat("word ", 30)
	up := &fakeUpstream{chunks: contentChunks(strings.Split(text, " ")...)}
	m := runModerate(t, c, up)
	if m.err != nil {
		t.Fatal(m.err)
	}
	if len(g.calls) < 3 {
		t.Fatalf("%d guard calls for %d runes with hold 40", len(g.calls), len(text))
	}
}

func TestGuardOutputFailClosed(t *testing.T) {
	g := newGuardServer(t, qwenJudge)
	g.hang = true
	c := guardChecker(t, g, func(cfg *Config) { cfg.Guard.Input = false })
	up := &fakeUpstream{chunks: contentChunks("A sentence. Another.")}
	m := runModerate(t, c, up)
	if ae, ok := apierr.As(m.err); !ok || ae.Code != CodeSafetyUnavailable {
		t.Fatalf("err %v", m.err)
	}
	if m.content() != "" || m.cancelled == 0 || up.closed == 0 {
		t.Fatalf("delivered %q, cancelled %d, closed %d", m.content(), m.cancelled, up.closed)
	}
}

// swapped is a Pseudonyms that swaps fixed strings: for tests of what the lexicon sees.
type swapped struct{ restore, conceal *strings.Replacer }

func (p swapped) RestoreString(s string) string { return p.restore.Replace(s) }
func (p swapped) ConcealString(s string) string { return p.conceal.Replace(s) }
func (p swapped) SafeCut(_ string, cut int) int { return cut }

// TestInputLexiconSeesClientText: with a privacy stage in front, the input lexicon judges
// the client's own text while the guard model gets the pseudonymized request.
func TestInputLexiconSeesClientText(t *testing.T) {
	g := newGuardServer(t, qwenJudge)
	c := guardChecker(t, g, nil)
	ps := swapped{restore: strings.NewReplacer("[X_1]", "自制炸药", "[NAME_1]", "Alice"), conceal: strings.NewReplacer()}
	ctx := context.Background()
	d, err := c.CheckInput(ctx, Meta{}, userReq("tell me about [X_1]"))
	if err != nil || d.Blocked() {
		t.Fatalf("without Pseudonyms the placeholder passes (else the test tests nothing): %+v %v", d, err)
	}
	d, err = c.CheckInput(ctx, Meta{Pseudonyms: ps}, userReq("tell me about [X_1]"))
	if err != nil || !d.Blocked() || d.Source != "lexicon" {
		t.Fatalf("the client's term was not blocked: %+v %v", d, err)
	}
	if _, err := c.CheckInput(ctx, Meta{Pseudonyms: ps}, userReq("write to [NAME_1]")); err != nil {
		t.Fatal(err)
	}
	if got := g.calls[len(g.calls)-1].Messages[0].Content; got != "write to [NAME_1]" {
		t.Errorf("the input guard got %q, want the pseudonymized text", got)
	}
}

// TestOutputGuardSeesNoClientValue: output moderation sees the restored answer, and the
// guard model none of the client's values — not even part of one where a sentence cut
// (the dots of an e-mail or IPv4 address) or the hold limit falls inside it.
func TestOutputGuardSeesNoClientValue(t *testing.T) {
	eng, err := privacy.New(privacy.DefaultConfig("CN"))
	if err != nil {
		t.Fatal(err)
	}
	req := userReq("我的邮箱 zhang.wei@example.com，服务器 10.20.30.40，联系人：欧阳铁柱，帮我写个通知")
	vault, _, err := eng.Protect(req)
	if err != nil || vault.Len() != 3 {
		t.Fatalf("protect: %d values, %v", vault.Len(), err)
	}
	for _, hold := range []int{40, 8} {
		g := newGuardServer(t, qwenJudge)
		c := guardChecker(t, g, func(cfg *Config) { cfg.Guard.OutputHold = hold })
		up := &fakeUpstream{chunks: contentChunks("请发邮件到 [EMAIL_1] 联", "系他，或登录 [IP_1] 查看", "。告诉[NAME_", "1]。", "谢谢")}
		s := c.Moderate(context.Background(), Meta{RequestID: "r", Locale: "zh", Pseudonyms: vault}, vault.Restore(up), func() {})
		var got strings.Builder
		for {
			ch, err := s.Recv()
			if err != nil {
				break
			}
			got.WriteString(ch.Delta.Content)
		}
		s.Close()
		if want := "请发邮件到 zhang.wei@example.com 联系他，或登录 10.20.30.40 查看。告诉欧阳铁柱。谢谢"; got.String() != want {
			t.Errorf("hold %d: client got %q, want %q", hold, got.String(), want)
		}
		if len(g.calls) < 2 {
			t.Fatalf("hold %d: %d guard calls: the test tests nothing", hold, len(g.calls))
		}
		for i, call := range g.calls {
			text := call.Messages[len(call.Messages)-1].Content
			for _, frag := range []string{"zhang", "example", "10.20", "30.40", "欧阳", "铁柱"} {
				if strings.Contains(text, frag) {
					t.Errorf("hold %d: guard call %d saw %q of a client value: %q", hold, i, frag, text)
				}
			}
		}
	}
}
