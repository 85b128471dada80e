package main

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// contentKey is how a non-empty content delta starts in an OpenAI chat.completion.chunk
// as both the simulator and Qiao encode it (encoding/json, no spaces). The byte after it
// must not be '"': the first chunk of an answer usually carries "content":"" with the role.
// "reasoning_content" does not match, because the key must start with a quote.
var contentKey = []byte(`"content":"`)

// contentScanner finds the first non-empty content delta in a stream fed to it in pieces of
// any size. It keeps only the last few bytes between pieces.
type contentScanner struct {
	tail  []byte // up to len(contentKey) bytes left from the previous pieces
	found bool
}

// feed scans the next piece and reports whether the first non-empty content delta has been
// seen, in this piece or before.
func (s *contentScanner) feed(p []byte) bool {
	if s.found || len(p) == 0 {
		return s.found
	}
	buf := append(s.tail, p...)
	for off := 0; ; {
		i := bytes.Index(buf[off:], contentKey)
		if i < 0 {
			break
		}
		next := off + i + len(contentKey)
		if next >= len(buf) {
			// The key ends this piece: the next piece decides.
			break
		}
		if buf[next] != '"' {
			s.found = true
			s.tail = nil
			return true
		}
		off = next
	}
	keep := min(len(buf), len(contentKey))
	s.tail = append(s.tail[:0:0], buf[len(buf)-keep:]...)
	return false
}

// ttftTransport notes when each streamed answer delivers its first content. Vegeta reads
// whole bodies and reports one latency; it tags every request with X-Vegeta-Seq, so the
// transport files the first-content time under that sequence number, and the collector
// subtracts the time vegeta says the request was sent.
type ttftTransport struct {
	base http.RoundTripper

	mu    sync.Mutex
	first map[uint64]time.Time
}

func newTTFTTransport(base http.RoundTripper) *ttftTransport {
	return &ttftTransport{base: base, first: map[uint64]time.Time{}}
}

// RoundTrip implements http.RoundTripper.
func (t *ttftTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	seq, perr := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	if perr != nil {
		return resp, nil // not a vegeta request (readiness probe): nothing to time
	}
	resp.Body = &scanBody{ReadCloser: resp.Body, onFirst: func(at time.Time) { t.note(seq, at) }}
	return resp, nil
}

func (t *ttftTransport) note(seq uint64, at time.Time) {
	t.mu.Lock()
	t.first[seq] = at
	t.mu.Unlock()
}

// take returns and forgets the first-content time of request seq.
func (t *ttftTransport) take(seq uint64) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.first[seq]
	delete(t.first, seq)
	return at, ok
}

// reset forgets everything: vegeta numbers each attack's requests from 0.
func (t *ttftTransport) reset() {
	t.mu.Lock()
	t.first = map[uint64]time.Time{}
	t.mu.Unlock()
}

// scanBody is a response body that calls onFirst once, with the time, when the first
// non-empty content delta has been read.
type scanBody struct {
	io.ReadCloser
	sc      contentScanner
	onFirst func(time.Time)
}

func (b *scanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && !b.sc.found && b.sc.feed(p[:n]) {
		b.onFirst(time.Now())
	}
	return n, err
}
