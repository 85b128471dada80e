package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/route"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// waitingStream yields chunks and, before the ones listed in waits, calls chat.Wait as an
// upstream reader does before it waits for the network; onWait sees what the client has
// been sent at that moment.
type waitingStream struct {
	ctx    context.Context
	chunks []chat.Chunk
	waits  map[int]bool
	onWait func(i int)
	i      int
}

func (s *waitingStream) Recv() (chat.Chunk, error) {
	if s.i >= len(s.chunks) {
		return chat.Chunk{}, io.EOF
	}
	if s.waits[s.i] {
		chat.Wait(s.ctx)
		s.onWait(s.i)
	}
	s.i++
	return s.chunks[s.i-1], nil
}

func (s *waitingStream) Close() error { return nil }

type waitingRouter struct{ stream *waitingStream }

func (r *waitingRouter) Chat(ctx context.Context, region string, req *chat.Request) (chat.Stream, route.Target, error) {
	r.stream.ctx = ctx
	return r.stream, route.Target{Provider: "p", Model: "m"}, nil
}

func (r *waitingRouter) Aliases(string) []string { return []string{"chat"} }

// flushRecorder is a ResponseWriter that keeps what was written apart from what was flushed.
type flushRecorder struct {
	header  http.Header
	pending bytes.Buffer
	sent    []string // one entry per flush
}

func (f *flushRecorder) Header() http.Header { return f.header }
func (f *flushRecorder) WriteHeader(int)     {}
func (f *flushRecorder) Write(b []byte) (int, error) {
	return f.pending.Write(b)
}
func (f *flushRecorder) Flush() {
	f.sent = append(f.sent, f.pending.String())
	f.pending.Reset()
}

// TestStreamFlushesBeforeWaiting: events that are ready together leave in one flush, sent
// when the producer is about to wait, and nothing written stays behind while it waits.
func TestStreamFlushesBeforeWaiting(t *testing.T) {
	text := func(s string) chat.Chunk { return chat.Chunk{Delta: chat.Delta{Content: s}} }
	ws := &waitingStream{
		chunks: []chat.Chunk{text("a1"), text("b2"), text("c3"), text("d4"), text("e5"), {FinishReason: chat.FinishStop}},
		waits:  map[int]bool{0: true, 3: true},
	}
	rec := &flushRecorder{header: http.Header{}}
	var atWait [][]string
	ws.onWait = func(int) { atWait = append(atWait, append([]string(nil), rec.sent...)) }

	store := &tenant.MemStore{}
	secret, k, err := tenant.NewSecret("t", []string{"CN"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store.CreateKey(context.Background(), k)
	s := New(Options{Router: &waitingRouter{stream: ws}, Keys: store, Profiles: map[string]*Profile{"CN": {Region: "CN"}}, KeyCacheTTL: -1})
	req, _ := http.NewRequest("POST", "/v1/chat/completions",
		strings.NewReader(`{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	s.ServeHTTP(rec, req)

	if len(atWait) != 2 || len(atWait[0]) != 0 {
		t.Fatalf("flushes seen at the waits: %q; want none at the first", atWait)
	}
	if got := atWait[1]; len(got) != 1 || !containsAll(got[0], "a1", "b2", "c3") || strings.Contains(got[0], "d4") {
		t.Errorf("at the second wait the client had %q; want a1..c3 in one flush", got)
	}
	if len(rec.sent) != 2 {
		t.Fatalf("%d flushes, want 2: %q", len(rec.sent), rec.sent)
	}
	if last := rec.sent[1]; !containsAll(last, "d4", "e5", `"finish_reason":"stop"`, "data: [DONE]") {
		t.Errorf("last flush = %q; want the rest of the answer and [DONE]", last)
	}
	if rec.pending.Len() != 0 {
		t.Errorf("left unflushed: %q", rec.pending.String())
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
