// Package upstreamtest replays recorded provider transcripts through a decoder and compares
// the outcome with golden files. Only tests import it; it registers the -update flag.
package upstreamtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// Update rewrites golden files instead of comparing with them (go test -update).
var Update = flag.Bool("update", false, "rewrite golden files")

// Chunk is a chat.Chunk in a compact, readable JSON form.
type Chunk struct {
	Role      string               `json:"role,omitempty"`
	Content   string               `json:"content,omitempty"`
	Reasoning string               `json:"reasoning,omitempty"`
	ToolCalls []chat.ToolCallDelta `json:"tool_calls,omitempty"`
	Finish    string               `json:"finish,omitempty"`
	Usage     *chat.Usage          `json:"usage,omitempty"`
}

// Error is the public face of the error that ended a stream.
type Error struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Result is what a stream produced.
type Result struct {
	Chunks []Chunk `json:"chunks"`
	Error  *Error  `json:"error,omitempty"`
}

// Replay decodes r with dec and returns every chunk and the terminal error.
func Replay(provider string, r io.Reader, dec upstream.Decoder) Result {
	s := upstream.ReadEvents(provider, r, dec)
	defer s.Close()
	var res Result
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return res
		}
		if err != nil {
			e := &Error{Status: -1, Message: err.Error()}
			if ae, ok := apierr.As(err); ok {
				e = &Error{Status: ae.Status, Code: ae.Code, Message: ae.Message, Retryable: ae.Retryable}
			}
			res.Error = e
			return res
		}
		res.Chunks = append(res.Chunks, Chunk{Role: c.Delta.Role, Content: c.Delta.Content,
			Reasoning: c.Delta.ReasoningContent, ToolCalls: c.Delta.ToolCalls, Finish: c.FinishReason, Usage: c.Usage})
	}
}

// Golden compares got with the JSON golden file at path, or rewrites it with -update.
func Golden(t *testing.T, path string, got Result) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *Update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	var w Result
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if d := cmp.Diff(w, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

// SplitReader returns the bytes of data in two reads, split at i.
func SplitReader(data []byte, i int) io.Reader {
	return io.MultiReader(bytes.NewReader(data[:i]), bytes.NewReader(data[i:]))
}

// Chatter is a provider adapter as tests drive it.
type Chatter interface {
	Chat(ctx context.Context, req *chat.Request) (chat.Stream, error)
}

// Collect sends req through c and reads the whole answer, failing the test on any error. It
// returns the assembled answer and every chunk as received.
func Collect(t testing.TB, c Chatter, req *chat.Request) (chat.Response, []chat.Chunk) {
	t.Helper()
	st, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	defer st.Close()
	var acc chat.Accumulator
	var chunks []chat.Chunk
	for {
		ch, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return acc.Response(), chunks
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		chunks = append(chunks, ch)
		acc.Add(ch)
	}
}

// Transcripts runs the transcript tests every adapter needs over testdata/*.sse:
//   - golden: each transcript replays to testdata/<name>.golden.json (-update rewrites);
//   - split: the same bytes arriving in two reads, split at every position (inside
//     multi-byte runes too), decode to the same result as the whole.
//
// newDecoder returns a fresh decoder for one answer.
func Transcripts(t *testing.T, provider string, newDecoder func() upstream.Decoder) {
	t.Helper()
	files, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := Replay(provider, bytes.NewReader(data), newDecoder())
		t.Run("golden/"+name, func(t *testing.T) {
			Golden(t, strings.TrimSuffix(f, ".sse")+".golden.json", want)
		})
		t.Run("split/"+name, func(t *testing.T) {
			for i := 0; i <= len(data); i++ {
				got := Replay(provider, SplitReader(data, i), newDecoder())
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("split at %d (-whole +split):\n%s", i, d)
				}
			}
		})
	}
}

// SeedTranscripts adds every testdata/*.sse transcript to a fuzzer's corpus.
func SeedTranscripts(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob("testdata/*.sse")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// ConnectionReuse checks that finished answers give their connection back to the pool,
// both when the caller reads to the end of the stream and when it stops at the chunk with
// the finish reason and closes (as output moderation does). newClient returns the adapter
// sending through hc; conns returns how many connections the upstream has accepted.
//
// The end of a finished body is drained in the background after Close, so before each
// next call the test waits until the previous response body has been closed.
func ConnectionReuse(t *testing.T, newClient func(hc *http.Client) Chatter, conns func() int64, req *chat.Request) {
	t.Helper()
	closed := make(chan struct{}, 16)
	hc := upstream.NewHTTPClient()
	hc.Transport = watchBodies{hc.Transport, closed}
	defer hc.CloseIdleConnections()
	c := newClient(hc)
	wait := func() {
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the response body was not closed within 5s of the stream's Close")
		}
	}
	for range 3 {
		Collect(t, c, req)
		wait()
	}
	for range 3 {
		st, err := c.Chat(context.Background(), req)
		if err != nil {
			t.Fatalf("Chat: %v", err)
		}
		recvToFinish(t, st)
		st.Close()
		wait()
	}
	if n := conns(); n != 1 {
		t.Errorf("the upstream accepted %d connections for 6 sequential calls, want 1", n)
	}
}

// watchBodies reports each response body's Close on closed.
type watchBodies struct {
	rt     http.RoundTripper
	closed chan<- struct{}
}

func (w watchBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.rt.RoundTrip(r)
	if err == nil {
		resp.Body = &watchedBody{ReadCloser: resp.Body, closed: w.closed}
	}
	return resp, err
}

type watchedBody struct {
	io.ReadCloser
	closed chan<- struct{}
	once   sync.Once
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.closed <- struct{}{} })
	return err
}

// ReleasedOnCancel checks that an answer that has ended but was never closed is still
// released when the caller's context ends: c's upstream must hold the body open after the
// last event (the simulators' end_delay), and cancelled must report the upstream seeing the
// request cancelled.
func ReleasedOnCancel(t *testing.T, c Chatter, req *chat.Request, cancelled func() int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := c.Chat(ctx, req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	recvToFinish(t, st)
	cancel() // and no Close: a caller that failed before it could close
	deadline := time.Now().Add(10 * time.Second)
	for cancelled() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the upstream request outlived the caller's context")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recvToFinish reads st up to and including the chunk with the finish reason, as output
// moderation does, and no further.
func recvToFinish(t *testing.T, st chat.Stream) {
	t.Helper()
	for {
		ch, err := st.Recv()
		if err != nil {
			t.Fatalf("Recv before the finish: %v", err)
		}
		if ch.FinishReason != "" {
			return
		}
	}
}
