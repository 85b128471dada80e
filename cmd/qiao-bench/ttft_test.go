package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// scanPieces feeds pieces to a fresh scanner and returns the index of the piece in which it
// first reported content, or -1.
func scanPieces(pieces [][]byte) int {
	var sc contentScanner
	for i, p := range pieces {
		if sc.feed(p) {
			return i
		}
	}
	return -1
}

const (
	roleChunk  = `data: {"choices":[{"delta":{"content":"","role":"assistant"},"index":0}]}` + "\n\n"
	textChunk  = `data: {"choices":[{"delta":{"content":"你好"},"index":0}]}` + "\n\n"
	thinkChunk = `data: {"choices":[{"delta":{"content":null,"reasoning_content":"想"},"index":0}]}` + "\n\n"
	escChunk   = `data: {"choices":[{"delta":{"content":"\"quoted\""},"index":0}]}` + "\n\n"
	doneChunk  = "data: [DONE]\n\n"
)

func TestContentScannerWhole(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   bool
	}{
		{name: "role chunk only", stream: roleChunk + doneChunk, want: false},
		{name: "role then text", stream: roleChunk + textChunk + doneChunk, want: true},
		{name: "reasoning is not content", stream: roleChunk + thinkChunk + doneChunk, want: false},
		{name: "escaped quote is content", stream: roleChunk + escChunk, want: true},
		{name: "key at the very end", stream: roleChunk + `data: {"choices":[{"delta":{"content":"`, want: false},
		{name: "empty", stream: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanPieces([][]byte{[]byte(tt.stream)}) == 0
			if got != tt.want {
				t.Errorf("found = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestContentScannerSplits splits a stream in two at every byte and in single bytes: the
// scanner must report content in the piece that completes the first content byte.
func TestContentScannerSplits(t *testing.T) {
	stream := []byte(roleChunk + thinkChunk + textChunk + doneChunk)
	// The first content byte is the one after the first `"content":"` that is not followed
	// by a quote.
	at := len(roleChunk) + len(thinkChunk) + strings.Index(textChunk, `"content":"`) + len(`"content":"`)
	for cut := 0; cut <= len(stream); cut++ {
		got := scanPieces([][]byte{stream[:cut], stream[cut:]})
		want := 1
		if cut > at {
			want = 0
		}
		if got != want {
			t.Fatalf("cut at %d: found in piece %d, want %d", cut, got, want)
		}
	}
	var bytewise [][]byte
	for i := range stream {
		bytewise = append(bytewise, stream[i:i+1])
	}
	if got := scanPieces(bytewise); got != at {
		t.Errorf("byte by byte: found at %d, want %d", got, at)
	}
}

func FuzzContentScanner(f *testing.F) {
	f.Add([]byte(roleChunk+textChunk+doneChunk), uint8(7))
	f.Add([]byte(roleChunk+thinkChunk), uint8(1))
	f.Add([]byte(`"content":""content":"x`), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		whole := scanPieces([][]byte{stream}) == 0
		n := int(step%32) + 1
		var pieces [][]byte
		for i := 0; i < len(stream); i += n {
			pieces = append(pieces, stream[i:min(i+n, len(stream))])
		}
		split := scanPieces(pieces) >= 0
		if whole != split {
			t.Fatalf("whole stream says %v, pieces of %d say %v", whole, n, split)
		}
	})
}

// TestTTFTTransport checks that the transport files the first-content time under the
// request's X-Vegeta-Seq, after the first event and before the end of the answer.
func TestTTFTTransport(t *testing.T) {
	const gap = 30 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, roleChunk)
		w.(http.Flusher).Flush()
		time.Sleep(gap)
		io.WriteString(w, textChunk)
		w.(http.Flusher).Flush()
		time.Sleep(gap)
		io.WriteString(w, doneChunk)
	}))
	defer srv.Close()
	tt := newTTFTTransport(http.DefaultTransport)
	c := &http.Client{Transport: tt}

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("X-Vegeta-Seq", "42")
	sent := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := time.Now()
	if err != nil || !bytes.HasSuffix(body, []byte(doneChunk)) {
		t.Fatalf("body %q, err %v", body, err)
	}
	at, ok := tt.take(42)
	if !ok {
		t.Fatal("no first-content time for seq 42")
	}
	// Sleep guarantees at least gap; the bounds are causal, not timing assumptions.
	if at.Sub(sent) < gap || at.After(end) {
		t.Errorf("first content at %v after sending, answer ended at %v; want within [%v, end]", at.Sub(sent), end.Sub(sent), gap)
	}
	if _, ok := tt.take(42); ok {
		t.Error("take did not forget seq 42")
	}

	// A request without a vegeta sequence number (the readiness probe) is not timed.
	resp, err = c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if len(tt.first) != 0 {
		t.Errorf("untagged request was filed: %v", tt.first)
	}
}
