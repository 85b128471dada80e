package dashscope

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
	"github.com/qiao-gateway/qiao/internal/provider/upstream/upstreamtest"
)

// TestTranscripts replays every recorded transcript against its golden file, whole and split
// at every byte position.
func TestTranscripts(t *testing.T) {
	upstreamtest.Transcripts(t, "dashscope", func() upstream.Decoder { return NewDecoder("dashscope") })
}

func TestLineTooLong(t *testing.T) {
	data := "id:1\nevent:result\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"" +
		strings.Repeat("长", upstream.MaxLine/3+10) + "\"},\"finish_reason\":\"stop\"}]}}\n\n"
	got := upstreamtest.Replay("dashscope", strings.NewReader(data), NewDecoder("dashscope"))
	if got.Error == nil || got.Error.Status != 502 || got.Error.Code != upstream.CodeUpstreamBadResponse {
		t.Errorf("got %+v, want a 502 bad response", got.Error)
	}
}

func FuzzDecode(f *testing.F) {
	upstreamtest.SeedTranscripts(f)
	f.Add([]byte("data:{\"output\":null}\n\n"))
	f.Add([]byte("event:error\ndata:{}\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := upstreamtest.Replay("dashscope", bytes.NewReader(data), NewDecoder("dashscope"))
		bytewise := upstreamtest.Replay("dashscope", iotest.OneByteReader(bytes.NewReader(data)), NewDecoder("dashscope"))
		if d := cmp.Diff(whole, bytewise); d != "" {
			t.Fatalf("byte-by-byte reading differs (-whole +bytewise):\n%s", d)
		}
		if whole.Error == nil {
			// A stream that ends cleanly must have finished its answer.
			if n := len(whole.Chunks); n == 0 || whole.Chunks[n-1].Finish == "" {
				t.Fatalf("clean end without a finish reason: %+v", whole.Chunks)
			}
		}
	})
}
