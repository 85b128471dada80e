package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/label"
	"github.com/qiao-gateway/qiao/internal/safety"
	"github.com/qiao-gateway/qiao/internal/server"
)

// oneChunk is an upstream answer of one content chunk.
type oneChunk struct{ sent bool }

func (s *oneChunk) Recv() (chat.Chunk, error) {
	if s.sent {
		return chat.Chunk{}, io.EOF
	}
	s.sent = true
	return chat.Chunk{Delta: chat.Delta{Role: chat.RoleAssistant, Content: "好的，这是通知。"}, FinishReason: chat.FinishStop}, nil
}
func (s *oneChunk) Close() error { return nil }

// TestOutputGuardSeesThePrompt: the guard model judges an answer as a reply to the user's
// (pseudonymized) message, not to nothing.
func TestOutputGuardSeesThePrompt(t *testing.T) {
	var mu sync.Mutex
	var got [][]map[string]string
	guard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Messages []map[string]string }
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		got = append(got, req.Messages)
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"choices": []map[string]any{{"index": 0,
			"message": map[string]string{"role": "assistant", "content": "Safety: Safe\nCategories: None\nRefusal: No"}}}})
	}))
	defer guard.Close()
	raw := strings.Replace(string(config.Default()), "    complaints:\n",
		"    safety:\n      guard: {base_url: \""+guard.URL+"/v1\", model: Qwen/Qwen3Guard-Gen-4B, output: true, output_hold: 1}\n    complaints:\n", 1)
	cfg, err := config.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{checkers: map[string]*safety.Checker{}, labelers: map[string]*label.Labeler{}}
	p, err := g.buildProfile(cfg, "CN", Options{Getenv: func(string) string { return "" }, Logger: discardLogger(), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: "帮我写个通知，联系人：欧阳铁柱"}}}
	prot, err := p.Protect(req)
	if err != nil || prot.Pseudonyms == nil {
		t.Fatalf("protect: %+v %v", prot, err)
	}
	ex := &server.Exchange{RequestID: "req_1", Region: "CN", Pseudonyms: prot.Pseudonyms}
	s := p.Moderate(context.Background(), ex, req, &oneChunk{}, func() {})
	if _, err := chat.Collect(s); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the guard was not called")
	}
	for _, msgs := range got {
		if len(msgs) != 2 || msgs[0]["role"] != "user" || msgs[0]["content"] != "帮我写个通知，联系人：[NAME_1]" {
			t.Errorf("guard messages %v, want the pseudonymized prompt first", msgs)
		}
	}
}
