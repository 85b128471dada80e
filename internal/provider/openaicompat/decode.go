package openaicompat

import (
	"bytes"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/openai"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// decoder implements upstream.Decoder for OpenAI-style streams.
type decoder struct {
	provider string
	emitted  bool // a chunk with a delta has been emitted
	// held is the chunk carrying the finish reason, held back until the usage chunk (which
	// OpenAI sends after it, with choices:[]) or the end, so that usage rides on the last
	// chunk, as with every adapter.
	held     *chat.Chunk
	finished bool
	usage    *chat.Usage
	one      [1]chat.Chunk // the array Event returns a single chunk in
}

// NewDecoder returns a decoder for one OpenAI-style streamed answer. It is exported for tests
// and tools that replay recorded transcripts (upstream.ReadEvents).
func NewDecoder(provider string) upstream.Decoder { return &decoder{provider: provider} }

var done = []byte("[DONE]")

// Event implements upstream.Decoder.
func (d *decoder) Event(ev *upstream.Event) ([]chat.Chunk, bool, error) {
	data := bytes.TrimSpace(ev.Data)
	if bytes.Equal(data, done) {
		if !d.finished {
			// [DONE] without a finish reason: some servers omit it after a complete answer;
			// an answer with nothing in it, though, is a failure.
			if !d.emitted {
				return nil, false, upstream.Truncated(d.provider)
			}
			d.finished = true
			d.held = &chat.Chunk{FinishReason: chat.FinishStop}
		}
		return d.flush(), true, nil
	}
	if len(data) == 0 {
		return nil, false, nil
	}
	c, eb, err := openai.DecodeChunk(data)
	if err != nil {
		return nil, false, err
	}
	if eb != nil {
		// A mid-stream error event: output moderation (data_inspection_failed), or an
		// upstream failure. Held chunks are dropped: the answer is not complete.
		return nil, false, upstream.Map(fromBody(d.provider, ev.HTTPStatus, eb))
	}
	if c.Usage != nil {
		d.usage = c.Usage
		c.Usage = nil
		if d.held != nil {
			// The usage chunk after the finish is the last one of the answer: only [DONE]
			// follows. Saying so now lets the stream end here and the rest of the body be
			// drained off the request's path, so the connection goes back to the pool.
			return d.flush(), true, nil
		}
	}
	if d.finished {
		// After the finish only the usage chunk belongs to the answer (handled above).
		return nil, false, nil
	}
	if c.FinishReason != "" {
		d.finished = true
		if !c.Delta.Empty() {
			// Emit the delta now; hold only the finish.
			fin := chat.Chunk{FinishReason: c.FinishReason}
			d.held = &fin
			c.FinishReason = ""
			d.emitted = true
			return d.emit(c), false, nil
		}
		held := c // a copy, so that c itself stays on the stack
		d.held = &held
		return nil, false, nil
	}
	if c.Delta.Empty() {
		return nil, false, nil
	}
	d.emitted = true
	return d.emit(c), false, nil
}

// emit returns c as Event's result, in an array reused from call to call.
func (d *decoder) emit(c chat.Chunk) []chat.Chunk {
	d.one[0] = c
	return d.one[:]
}

func (d *decoder) flush() []chat.Chunk {
	if d.held == nil {
		if d.usage != nil && d.finished {
			u := d.usage
			d.usage = nil
			return []chat.Chunk{{Usage: u}}
		}
		return nil
	}
	c := *d.held
	d.held = nil
	c.Usage = d.usage
	d.usage = nil
	return []chat.Chunk{c}
}

// End implements upstream.Decoder: a stream that ends without [DONE] is complete if a finish
// reason arrived (some servers omit [DONE]); otherwise it was cut.
func (d *decoder) End() ([]chat.Chunk, error) {
	if !d.finished {
		return nil, upstream.Truncated(d.provider)
	}
	return d.flush(), nil
}
