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
	"os"
	"path/filepath"
	"strings"
	"testing"

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
