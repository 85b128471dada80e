package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/route"
)

// slowStream yields n chunks, one every d, and notes when it is closed.
type slowStream struct {
	n      int
	d      time.Duration
	closed chan struct{}
}

func (s *slowStream) Recv() (chat.Chunk, error) {
	if s.n == 0 {
		return chat.Chunk{}, io.EOF
	}
	s.n--
	time.Sleep(s.d)
	return chat.Chunk{Delta: chat.Delta{Content: "x"}}, nil
}

func (s *slowStream) Close() error {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	return nil
}

type slowRouter struct {
	fakeRouter
	stream *slowStream
}

func (r *slowRouter) Chat(ctx context.Context, region string, req *chat.Request) (chat.Stream, route.Target, error) {
	return r.stream, route.Target{Provider: "slow"}, nil
}

func TestGracefulShutdownDrainsStreamsWithoutLeaks(t *testing.T) {
	base := runtime.NumGoroutine()
	stream := &slowStream{n: 10, d: 30 * time.Millisecond, closed: make(chan struct{})}
	env := newTestEnv(t, &fakeRouter{}, nil)
	env.srv.Close() // use our own lifecycle below, not httptest's
	opts := Options{Router: &slowRouter{stream: stream}, Keys: env.store, Profiles: map[string]*Profile{"CN": {Region: "CN"}}, KeyCacheTTL: -1}
	s := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 5*time.Second) }()

	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/chat/completions",
		strings.NewReader(`{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+env.keys["cn"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM while the stream is open
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(body), `"content":"x"`) != 10 || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("stream did not finish during grace: err %v body %q", err, body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case <-stream.closed:
	default:
		t.Error("upstream stream was not closed")
	}
	tr.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after shutdown\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestShutdownGraceExpiryCancelsUpstream(t *testing.T) {
	stream := &slowStream{n: 1000, d: 20 * time.Millisecond, closed: make(chan struct{})}
	env := newTestEnv(t, &fakeRouter{}, nil)
	s := New(Options{Router: &slowRouter{stream: stream}, Keys: env.store, Profiles: map[string]*Profile{"CN": {Region: "CN"}}, KeyCacheTTL: -1})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 100*time.Millisecond) }()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/chat/completions",
		strings.NewReader(`{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+env.keys["cn"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cancel()
	if err := <-served; err == nil {
		t.Error("Serve reported a clean shutdown although the grace period ran out")
	}
	select {
	case <-stream.closed:
	case <-time.After(3 * time.Second):
		t.Error("the upstream stream outlived the forced shutdown")
	}
}

// TestAbandonedStreamIsAudited: a client that goes away mid-stream still leaves a record.
func TestAbandonedStreamIsAudited(t *testing.T) {
	stream := &slowStream{n: 1000, d: 5 * time.Millisecond, closed: make(chan struct{})}
	env := newTestEnv(t, &fakeRouter{}, nil)
	audited := make(chan *Exchange, 1)
	s := New(Options{Router: &slowRouter{stream: stream}, Keys: env.store, Profiles: map[string]*Profile{"CN": {Region: "CN"}}, KeyCacheTTL: -1,
		Audit: func(ctx context.Context, ex *Exchange) error { audited <- ex; return nil }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+env.keys["cn"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	resp.Body.Read(buf)
	cancel()
	resp.Body.Close()
	select {
	case ex := <-audited:
		if ex.Status != 499 || ex.ErrCode != "client_closed" {
			t.Errorf("record: status %d code %q", ex.Status, ex.ErrCode)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no audit record for the abandoned stream")
	}
	select {
	case <-stream.closed:
	case <-time.After(5 * time.Second):
		t.Error("upstream not closed after the client left")
	}
}
