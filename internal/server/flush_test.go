package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/route"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// The texts are markers no request id or other field of an event can contain (ids are hex).

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

// serveWaiting serves one streamed chat request answered by ws into w; audit sees each record.
// setup, if given, adjusts the server first.
func serveWaiting(t *testing.T, ctx context.Context, ws *waitingStream, w http.ResponseWriter, audit func(*Exchange), setup ...func(*Server)) {
	t.Helper()
	store := &tenant.MemStore{}
	secret, k, err := tenant.NewSecret("t", []string{"CN"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store.CreateKey(context.Background(), k)
	s := New(Options{Router: &waitingRouter{stream: ws}, Keys: store, Profiles: map[string]*Profile{"CN": {Region: "CN"}}, KeyCacheTTL: -1,
		Audit: func(_ context.Context, ex *Exchange) error { audit(ex); return nil }})
	for _, f := range setup {
		f(s)
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", "/v1/chat/completions",
		strings.NewReader(`{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	s.ServeHTTP(w, req)
}

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
// when the producer is about to wait, and nothing written stays behind while it waits; what
// the last read brought leaves with the end of the body, after the audit record.
func TestStreamFlushesBeforeWaiting(t *testing.T) {
	text := func(s string) chat.Chunk { return chat.Chunk{Delta: chat.Delta{Content: s}} }
	ws := &waitingStream{
		chunks: []chat.Chunk{text("zqa"), text("zqb"), text("zqc"), text("zqd"), text("zqe"), {FinishReason: chat.FinishStop}},
		waits:  map[int]bool{0: true, 3: true},
	}
	rec := &flushRecorder{header: http.Header{}}
	var atWait [][]string
	ws.onWait = func(int) { atWait = append(atWait, append([]string(nil), rec.sent...)) }

	var atAudit []string
	serveWaiting(t, t.Context(), ws, rec, func(*Exchange) { atAudit = append([]string(nil), rec.sent...) })

	if len(atWait) != 2 || len(atWait[0]) != 0 {
		t.Fatalf("flushes seen at the waits: %q; want none at the first", atWait)
	}
	if got := atWait[1]; len(got) != 1 || !containsAll(got[0], "zqa", "zqb", "zqc") || strings.Contains(got[0], "zqd") {
		t.Errorf("at the second wait the client had %q; want zqa..zqc in one flush", got)
	}
	// The audit record is written before anything after the last wait goes out.
	if len(atAudit) != 1 || strings.Contains(atAudit[0], "zqd") {
		t.Errorf("when the record was written the client had %q; want zqa..zqc only", atAudit)
	}
	// The rest is written but not flushed: net/http sends it with the end of the chunked
	// body when the handler returns, in one write.
	if len(rec.sent) != 1 {
		t.Fatalf("%d flushes, want 1: %q", len(rec.sent), rec.sent)
	}
	if last := rec.pending.String(); !containsAll(last, "zqd", "zqe", `"finish_reason":"stop"`, "data: [DONE]") {
		t.Errorf("left for the end of the body: %q; want zqd, zqe, the finish and [DONE]", last)
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

// failingFlusher is a client that has gone: every flush fails.
type failingFlusher struct{ flushRecorder }

func (f *failingFlusher) FlushError() error { return errors.New("write: broken pipe") }

// TestStreamClientGoneAtTheEnd: a client that goes away during the last part of the answer
// (no flush of content follows the last wait) is recorded as 499 client_closed, not as a
// served answer: whether its connection closed (the request's context ends) or a write to it
// failed. A context ended by the server's own shutdown is not the client leaving.
func TestStreamClientGoneAtTheEnd(t *testing.T) {
	text := func(s string) chat.Chunk { return chat.Chunk{Delta: chat.Delta{Content: s}} }
	chunks := []chat.Chunk{text("zqa"), text("zqb"), {FinishReason: chat.FinishStop}}
	for _, tc := range []struct {
		name       string
		waitBefore int  // the chunk before which the producer waits
		cancel     bool // the request's context ends at the wait
		failWrites bool // every flush fails
		draining   bool
		status     int
	}{
		{name: "connection closed", waitBefore: 1, cancel: true, status: 499},
		{name: "write failed mid-answer", waitBefore: 1, failWrites: true, status: 499},
		{name: "write failed at the last wait", waitBefore: 2, failWrites: true, status: 499},
		{name: "context ended by shutdown", waitBefore: 1, cancel: true, draining: true, status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ws := &waitingStream{chunks: chunks, waits: map[int]bool{tc.waitBefore: true}, onWait: func(int) {
				if tc.cancel {
					cancel() // as net/http does when the connection closes
				}
			}}
			var w http.ResponseWriter = &flushRecorder{header: http.Header{}}
			if tc.failWrites {
				w = &failingFlusher{flushRecorder{header: http.Header{}}}
			}
			var audited []Exchange
			serveWaiting(t, ctx, ws, w, func(ex *Exchange) { audited = append(audited, *ex) },
				func(s *Server) { s.draining.Store(tc.draining) })
			if len(audited) != 1 || audited[0].Status != tc.status {
				t.Fatalf("audited %+v; want one record with status %d", audited, tc.status)
			}
			if tc.status == 499 && audited[0].ErrCode != "client_closed" {
				t.Errorf("error code %q, want client_closed", audited[0].ErrCode)
			}
		})
	}
}
