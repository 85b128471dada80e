package upstream

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// Decoder turns a provider's SSE events into chat chunks. One Decoder serves one answer.
type Decoder interface {
	// Event decodes one event that carries data. It returns the chunks to emit (possibly none),
	// done when the provider has signalled the end of the answer (OpenAI's [DONE]), or an
	// error: an *apierr.Error for errors the upstream reported in the stream, another error
	// for undecodable events. chunks is valid until the next call of Event or End (a
	// decoder may return the same backing array every time: one less allocation per event),
	// and ev.Data only during the call.
	Event(ev *Event) (chunks []chat.Chunk, done bool, err error)
	// End is called when the byte stream ends without done. It returns final chunks, or an
	// error when the answer is incomplete (the connection was cut mid-answer).
	End() ([]chat.Chunk, error)
}

// EventStream is a chat.Stream over an SSE body. It owns the Call (if any) and closes it.
type EventStream struct {
	provider  string
	call      *Call
	body      io.Closer
	sse       *SSEReader
	dec       Decoder
	pending   []chat.Chunk
	events    int
	delivered bool
	// merge joins text that has already arrived into one chunk (see Recv); joined holds the
	// joined text while it is gathered.
	merge  bool
	joined []byte
	// ev is the event being decoded: a field, so that passing it to the decoder (an
	// interface) does not allocate one per event.
	ev Event
	// closed is atomic because Close may be called from another goroutine to abort a Recv
	// that is blocked on the network; everything else belongs to the Recv goroutine.
	closed atomic.Bool
	// ended is set when the answer finished normally; Close reads it (possibly from another
	// goroutine) to decide whether the rest of the body is worth reading for reuse.
	ended atomic.Bool
	err   error // sticky: io.EOF or the terminal error
}

// ErrClosed is returned by Recv after Close.
var ErrClosed = errors.New("upstream: stream closed")

var _ chat.Stream = (*EventStream)(nil)

// NewEventStream returns a stream reading c's response body with dec.
//
// Reads that may wait for the network first call the caller's chat.Wait hook (from the
// context the call was made with), so a consumer that buffers its output sends it then.
func NewEventStream(c *Call, dec Decoder) *EventStream {
	return &EventStream{provider: c.Provider, call: c, body: c.Resp.Body,
		sse: NewSSEReader(chat.WaitReader(c.parent, c.Resp.Body)), dec: dec, merge: true}
}

// ReadEvents returns a stream over r without a Call (no timeouts): for a body already read
// (Whole), and for tests and fuzzers that run a decoder over recorded transcripts. Its chunks
// are the decoder's, one by one; Joined turns on the joining of buffered text that a live
// stream does.
func ReadEvents(provider string, r io.Reader, dec Decoder) *EventStream {
	return &EventStream{provider: provider, sse: NewSSEReader(r), dec: dec}
}

// Prime reads ahead until the first chunk is available, the stream ends, or it fails, and
// returns the failure. Adapters call it before handing the stream out, so every failure that
// happens before any output (an error event at the start, a first-byte timeout) is returned
// by Chat itself, where the router can still fall back.
//
// Chunks that carry only a role (OpenAI's first chunk) do not count as output: Prime reads on
// past them, so an error that follows at once is still returned by Chat.
func (s *EventStream) Prime() error {
	for s.err == nil && !anyOutput(s.pending) {
		s.fill()
	}
	if !anyOutput(s.pending) && s.err != nil && !errors.Is(s.err, io.EOF) {
		s.pending = nil
		return s.err
	}
	return nil
}

func anyOutput(cs []chat.Chunk) bool {
	for i := range cs {
		c := &cs[i]
		if c.Delta.Content != "" || c.Delta.ReasoningContent != "" || len(c.Delta.ToolCalls) > 0 ||
			c.FinishReason != "" || c.Usage != nil {
			return true
		}
	}
	return false
}

// Recv implements chat.Stream.
func (s *EventStream) Recv() (chat.Chunk, error) {
	if s.closed.Load() {
		return chat.Chunk{}, ErrClosed
	}
	for len(s.pending) == 0 {
		if s.err != nil {
			return chat.Chunk{}, s.err
		}
		s.fill()
		if s.closed.Load() {
			return chat.Chunk{}, ErrClosed
		}
	}
	c := s.pop()
	if !s.delivered && anyOutput([]chat.Chunk{c}) {
		// Before join: an error that join reads after c must know that c was delivered.
		s.delivered = true
	}
	if s.merge && textKind(&c) != 0 {
		s.join(&c)
	}
	return c, nil
}

// Joined makes s join text as a live stream does (see Recv), and returns it.
func (s *EventStream) Joined() *EventStream {
	s.merge = true
	return s
}

func (s *EventStream) pop() chat.Chunk {
	c := s.pending[0]
	if len(s.pending) == 1 {
		s.pending = s.pending[:0] // the next append reuses the array
	} else {
		s.pending = s.pending[1:]
	}
	return c
}

// join appends to c the text of the chunks that follow it and have already arrived: decoded,
// or whole events in the read buffer. It never reads from the network, so c leaves no later
// than it would alone; but what came in one read (a fast upstream, or a consumer that fell
// behind) goes through the stages after this one (restore, moderation, labels, encoding) and
// out to the client as one chunk instead of one per event (against the load tool's simulator,
// ~8 events instead of 36 for the same text). Only plain text of the same kind joins; a new role, a tool call, a
// finish, usage or an error ends the run and comes in its own chunk, as before.
func (s *EventStream) join(c *chat.Chunk) {
	kind := textKind(c)
	joined := false
	for {
		if len(s.pending) == 0 {
			if s.err != nil || s.closed.Load() || !s.sse.EventBuffered() {
				break
			}
			s.fill()
			continue
		}
		next := &s.pending[0]
		// Some providers repeat the role on every delta: the same role joins.
		if textKind(next) != kind || next.Delta.Role != "" && next.Delta.Role != c.Delta.Role {
			break
		}
		if !joined {
			s.joined = append(s.joined[:0], c.Delta.Content...)
			s.joined = append(s.joined, c.Delta.ReasoningContent...)
			joined = true
		}
		s.joined = append(s.joined, next.Delta.Content...)
		s.joined = append(s.joined, next.Delta.ReasoningContent...)
		s.pop()
	}
	if !joined {
		return
	}
	if kind == kindContent {
		c.Delta.Content = string(s.joined)
	} else {
		c.Delta.ReasoningContent = string(s.joined)
	}
}

const (
	kindContent = 1 + iota
	kindReasoning
)

// textKind says whether c is plain text that may be joined with its neighbours: answer text
// (kindContent) or reasoning (kindReasoning), and nothing else but possibly a role; 0 for
// anything else.
func textKind(c *chat.Chunk) int {
	if c.FinishReason != "" || c.Usage != nil || len(c.Delta.ToolCalls) > 0 {
		return 0
	}
	switch {
	case c.Delta.Content != "" && c.Delta.ReasoningContent == "":
		return kindContent
	case c.Delta.ReasoningContent != "" && c.Delta.Content == "":
		return kindReasoning
	}
	return 0
}

// fill reads one event and decodes it, appending to pending or setting err.
func (s *EventStream) fill() {
	var err error
	s.ev, err = s.sse.Next()
	ev := &s.ev
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.fail(s.readErr(err))
			return
		}
		chunks, err := s.dec.End()
		s.pending = append(s.pending, chunks...)
		if err != nil {
			s.fail(err)
			return
		}
		s.finish(io.EOF)
		return
	}
	if s.call != nil {
		s.call.Progress()
	}
	if ev.Data == nil {
		return // comment-only block: a keep-alive
	}
	s.events++
	chunks, done, err := s.dec.Event(ev)
	s.pending = append(s.pending, chunks...)
	if err != nil {
		if _, ok := apierr.As(err); !ok {
			err = BadStream(s.provider, fmt.Errorf("event %d: %w", s.events, err))
		}
		s.fail(err)
		return
	}
	if done {
		s.finish(io.EOF)
	}
}

func (s *EventStream) readErr(err error) error {
	if errors.Is(err, ErrLineTooLong) {
		return BadStream(s.provider, err)
	}
	if s.call != nil {
		return s.call.ReadErr(err, s.delivered || anyOutput(s.pending))
	}
	return BadStream(s.provider, err)
}

// fail records a terminal error. Once output (text, reasoning, a tool call, a finish) has been
// delivered nothing is retryable; an upstream error event that arrives before any output stays
// retryable if its code is.
func (s *EventStream) fail(err error) {
	if e, ok := apierr.As(err); ok && e.Retryable && (s.delivered || anyOutput(s.pending)) {
		cp := *e
		cp.Retryable = false
		err = &cp
	}
	s.finish(err)
	// The answer is over: release the connection now rather than when the caller gets to
	// Close (an upstream that sent garbage may keep sending).
	if s.call != nil {
		s.call.Close()
	}
}

func (s *EventStream) finish(err error) {
	s.err = err
	if errors.Is(err, io.EOF) {
		s.ended.Store(true)
	}
	// A finished answer must not be cancelled later by a timer that is still armed.
	if s.call != nil {
		s.call.stopTimers()
	}
}

// Close implements chat.Stream. It aborts the upstream request if the answer is not finished.
// It may be called from another goroutine to abort a blocked Recv, which then returns
// ErrClosed.
//
// A finished answer's body usually still holds a few bytes ([DONE], the chunked encoding's
// end). They are read in the background, briefly (drain), so the connection goes back to the
// pool without the caller waiting for an upstream that is slow to end its body.
func (s *EventStream) Close() error {
	wasClosed := s.closed.Swap(true)
	if s.call != nil {
		if !wasClosed && s.ended.Load() {
			// Until Close the call follows the caller's cancellation (a stream nobody closes
			// is still released when the request ends); from here the drain has its own bound.
			s.call.detach()
			if s.call.bodyEnded() {
				// The end of the body came with the answer's last read: the connection is
				// back in the pool already.
				return s.call.Close()
			}
			go func() {
				s.call.drain()
				s.call.Close()
			}()
			return nil
		}
		return s.call.Close()
	}
	if s.body != nil {
		return s.body.Close()
	}
	return nil
}

// BadStream is the error for an upstream byte stream the adapter cannot decode: garbage,
// truncated JSON, over-long lines. It is a 502 and not retryable (the upstream did answer; the
// router's breaker will notice a provider that keeps doing this).
func BadStream(provider string, cause error) *apierr.Error {
	return apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamBadResponse,
		"the model provider sent a malformed answer").WithCause(fmt.Errorf("%s: %w", provider, cause))
}

// Truncated is the error for a stream that ended before the answer was finished.
// It is retryable, which EventStream undoes once a chunk has been delivered.
func Truncated(provider string) *apierr.Error {
	e := apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamStreamBroken,
		"the model provider's answer stopped before it was finished").
		WithCause(fmt.Errorf("%s: stream ended without a finish reason", provider))
	e.Retryable = true
	return e
}

// MissingCredential is the error for a provider whose API key environment variable is empty.
// It is retryable: another provider may be configured.
func MissingCredential(provider string) *apierr.Error {
	e := apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamCredential,
		"the gateway has no credential configured for the model provider").
		WithCause(fmt.Errorf("%s: API key environment variable is empty", provider))
	e.Retryable = true
	return e
}
