package openaicompat

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
	upstreamtest.Transcripts(t, "compat", func() upstream.Decoder { return NewDecoder("compat") })
}

func TestLineTooLong(t *testing.T) {
	data := "data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("x", upstream.MaxLine+10) + "\"}}]}\n\n"
	got := upstreamtest.Replay("compat", strings.NewReader(data), NewDecoder("compat"))
	if got.Error == nil || got.Error.Status != 502 || got.Error.Code != upstream.CodeUpstreamBadResponse {
		t.Errorf("got %+v, want a 502 bad response", got.Error)
	}
}

func FuzzDecode(f *testing.F) {
	upstreamtest.SeedTranscripts(f)
	f.Add([]byte("data: {\"choices\":null}\n\n"))
	f.Add([]byte("data: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := upstreamtest.Replay("compat", bytes.NewReader(data), NewDecoder("compat"))
		bytewise := upstreamtest.Replay("compat", iotest.OneByteReader(bytes.NewReader(data)), NewDecoder("compat"))
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
