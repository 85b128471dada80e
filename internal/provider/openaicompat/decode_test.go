package openaicompat

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
	"github.com/qiao-gateway/qiao/internal/provider/upstream/upstreamtest"
)

func transcripts(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	return files
}

// TestGolden replays each recorded transcript and compares the chunks and the final error
// with testdata/<name>.golden.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, f := range transcripts(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := upstreamtest.Replay("compat", bytes.NewReader(data), NewDecoder("compat"))
			upstreamtest.Golden(t, strings.TrimSuffix(f, ".sse")+".golden.json", got)
		})
	}
}

// TestSplitEverywhere checks that the bytes of a transcript arriving in two reads, split at
// every position (inside multi-byte runes too), decode to the same result.
func TestSplitEverywhere(t *testing.T) {
	for _, f := range transcripts(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := upstreamtest.Replay("compat", bytes.NewReader(data), NewDecoder("compat"))
		for i := 0; i <= len(data); i++ {
			got := upstreamtest.Replay("compat", upstreamtest.SplitReader(data, i), NewDecoder("compat"))
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s split at %d (-whole +split):\n%s", f, i, d)
			}
		}
	}
}

func TestLineTooLong(t *testing.T) {
	data := "data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("x", upstream.MaxLine+10) + "\"}}]}\n\n"
	got := upstreamtest.Replay("compat", strings.NewReader(data), NewDecoder("compat"))
	if got.Error == nil || got.Error.Status != 502 || got.Error.Code != upstream.CodeUpstreamBadResponse {
		t.Errorf("got %+v, want a 502 bad response", got.Error)
	}
}

func FuzzDecode(f *testing.F) {
	for _, file := range transcripts(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
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
