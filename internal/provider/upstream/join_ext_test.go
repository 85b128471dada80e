package upstream_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/dashscope"
	"github.com/qiao-gateway/qiao/internal/provider/openaicompat"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// chunked delivers data in pieces of the sizes given (cycled; 0 means 1 byte), as the
// network would, and counts reads.
type chunked struct {
	data  []byte
	sizes []byte
	k     int
	reads int
}

func (r *chunked) Read(p []byte) (int, error) {
	r.reads++
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(r.sizes) > 0 {
		n = int(r.sizes[r.k%len(r.sizes)]) + 1
		r.k++
	}
	n = min(n, len(r.data), len(p))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// meaning is what a client makes of a stream: the text, the reasoning, and in order the role
// changes, tool calls, finishes and usage, and how it ended.
func meaning(t *testing.T, s chat.Stream) string {
	t.Helper()
	var content, reasoning strings.Builder
	var events []string
	role := ""
	for range 100000 {
		c, err := s.Recv()
		if err != nil {
			end := "end"
			if !errors.Is(err, io.EOF) {
				if e, ok := apierr.As(err); ok {
					end = e.Code + " retryable=" + strconv.FormatBool(e.Retryable)
				} else {
					end = err.Error()
				}
			}
			return strings.Join(append(events, "content="+content.String(), "reasoning="+reasoning.String(), end), "\n")
		}
		content.WriteString(c.Delta.Content)
		reasoning.WriteString(c.Delta.ReasoningContent)
		if c.Delta.Role != "" && c.Delta.Role != role {
			role = c.Delta.Role
			events = append(events, "role "+role)
		}
		for _, tc := range c.Delta.ToolCalls {
			events = append(events, "tool "+strconv.Itoa(tc.Index)+tc.ID+tc.Name+tc.Arguments)
		}
		if c.FinishReason != "" {
			events = append(events, "finish "+c.FinishReason)
		}
		if c.Usage != nil {
			events = append(events, "usage "+strconv.Itoa(c.Usage.TotalTokens))
		}
	}
	t.Fatal("the stream does not end")
	return ""
}

// FuzzJoinAgreesWithDecoders: with both providers' decoders, whatever pieces the upstream's
// bytes arrive in, a stream that joins buffered text means to the client exactly what the
// decoder's chunks one by one mean.
func FuzzJoinAgreesWithDecoders(f *testing.F) {
	for _, dir := range []string{"../openaicompat/testdata", "../dashscope/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sse"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, []byte{3, 200, 17, 255}, strings.Contains(dir, "dashscope"))
		}
	}
	f.Fuzz(func(t *testing.T, data, sizes []byte, dashScope bool) {
		dec := func() upstream.Decoder {
			if dashScope {
				return dashscope.NewDecoder("p")
			}
			return openaicompat.NewDecoder("p")
		}
		one := meaning(t, upstream.ReadEvents("p", bytes.NewReader(data), dec()))
		joined := meaning(t, upstream.ReadEvents("p", &chunked{data: data, sizes: sizes}, dec()).Joined())
		if one != joined {
			t.Fatalf("joined stream differs:\n-- one by one --\n%s\n-- joined --\n%s", one, joined)
		}
	})
}

// FuzzEventBuffered holds EventBuffered to its promise: whatever pieces the bytes arrive in,
// when it says an event is buffered, Next does not read.
func FuzzEventBuffered(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "data: a\r\n\r\ndata: b\n", ": x\n\n\n\nid: 1\ndata:\n\n", "data: a\n\r\r\n\n"} {
		f.Add([]byte(s), []byte{1, 5, 9})
	}
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		r := &chunked{data: data, sizes: sizes}
		s := upstream.NewSSEReader(r)
		for range 10000 {
			buffered := s.EventBuffered()
			before := r.reads
			_, err := s.Next()
			if buffered && r.reads != before {
				t.Fatalf("EventBuffered was true, but Next read")
			}
			if err != nil {
				return
			}
		}
	})
}
