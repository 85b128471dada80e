package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"slices"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// MaxErrorBody and MaxBody bound how much of an upstream body is read into memory: error
// bodies are small; a whole non-streamed answer can be long but not unbounded.
const (
	MaxErrorBody = 64 << 10
	MaxBody      = 16 << 20
)

// IsEventStream reports whether the response is a server-sent-event stream.
func (c *Call) IsEventStream() bool {
	mt, _, _ := mime.ParseMediaType(c.Resp.Header.Get("Content-Type"))
	return mt == "text/event-stream"
}

// ReadBody reads at most limit bytes of the body under the call's timers, then closes the call.
func (c *Call) ReadBody(limit int64) ([]byte, error) {
	defer c.Close()
	b, err := io.ReadAll(io.LimitReader(c.Resp.Body, limit+1))
	if err != nil {
		return b, c.ReadErr(err, false)
	}
	if int64(len(b)) > limit {
		return b[:limit], BadStream(c.Provider, fmt.Errorf("body longer than %d bytes", limit))
	}
	return b, nil
}

// Stream returns the answer of a successful call as a chat.Stream: an event stream is read
// event by event (and primed, see EventStream.Prime); a JSON body (an upstream that answered
// without streaming) is read whole and decoded as one event.
func Stream(c *Call, dec Decoder) (chat.Stream, error) {
	if c.IsEventStream() {
		s := NewEventStream(c, dec)
		if err := s.Prime(); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	body, err := c.ReadBody(MaxBody) // under the first-byte timer; closes the call
	if err != nil {
		return nil, err
	}
	return Whole(c.Provider, body, dec)
}

// Whole decodes a complete body: one JSON object, or an SSE transcript (some upstreams send
// SSE framing under a JSON content type).
func Whole(provider string, body []byte, dec Decoder) (chat.Stream, error) {
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '{' {
		if !json.Valid(t) {
			return nil, BadStream(provider, fmt.Errorf("invalid JSON body"))
		}
		chunks, done, err := dec.Event(&Event{Data: t})
		if err != nil {
			if _, ok := apierr.As(err); !ok {
				err = BadStream(provider, err)
			}
			return nil, err
		}
		if !done {
			chunks = slices.Clone(chunks) // End may reuse the array Event returned
			more, err := dec.End()
			if err != nil {
				return nil, err
			}
			chunks = append(chunks, more...)
		}
		return chat.NewSliceStream(chunks...), nil
	}
	s := ReadEvents(provider, bytes.NewReader(body), dec).Joined()
	if err := s.Prime(); err != nil {
		return nil, err
	}
	return s, nil
}
