// Package upstream holds what the provider adapters share: the timeouts and the pooled HTTP
// client, one watched HTTP exchange (Call), a server-sent-events reader that tolerates both
// DashScope's and OpenAI's framing, the stream that turns SSE events into chat chunks, and the
// mapping from upstream error codes to apierr.Error.
package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxLine is the longest SSE line accepted. Real events are a few KiB; a longer line means the
// upstream is broken or hostile, and buffering it without bound would let it exhaust memory.
const MaxLine = 1 << 20

// ErrLineTooLong is returned when an SSE line, or the data of one event, exceeds MaxLine.
var ErrLineTooLong = errors.New("upstream: SSE line or event longer than 1 MiB")

// Event is one server-sent event.
type Event struct {
	ID   string
	Type string // the event: field ("result", "error", ...); empty when absent
	// Data is the data: lines joined with "\n". Nil when the event had no data line (a block
	// of comments only, such as a keep-alive). It is valid until the next call of Next: the
	// reader reuses its array for the next event.
	Data []byte
	// HTTPStatus is the status from a DashScope ":HTTP_STATUS/<code>" comment, 0 if none.
	HTTPStatus int
}

// SSEReader reads events from a byte stream. It accepts "field:value" with or without a space
// after the colon, CRLF or LF line ends, comment lines, and a last event that is not followed by
// a blank line (the stream simply ends).
type SSEReader struct {
	r    *bufio.Reader
	line []byte
	data []byte // the array behind the last event's Data
	err  error
}

// NewSSEReader returns a reader over r.
func NewSSEReader(r io.Reader) *SSEReader {
	// Events are a few hundred bytes; a longer line is gathered in s.line. A 32 KiB buffer
	// was a third of what a streamed request allocated.
	return &SSEReader{r: bufio.NewReaderSize(r, 4<<10), data: make([]byte, 0, 1<<10)}
}

// Next returns the next event. It returns io.EOF when the stream ends cleanly between events;
// a read error, or a line over MaxLine, is returned as is.
func (s *SSEReader) Next() (Event, error) {
	if s.err != nil {
		return Event{}, s.err
	}
	var ev Event
	seen := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && seen {
				// The stream ended without the blank line after the last event; keep the
				// event and report EOF on the next call.
				s.err = io.EOF
				return ev, nil
			}
			s.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if seen {
				return ev, nil
			}
			continue
		}
		seen = true
		if line[0] == ':' {
			if rest, ok := bytes.CutPrefix(line[1:], []byte("HTTP_STATUS/")); ok {
				if n, err := strconv.Atoi(string(bytes.TrimSpace(rest))); err == nil && n >= 100 && n <= 999 {
					ev.HTTPStatus = n
				}
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if len(ev.Data)+len(value) > MaxLine {
				// Many data: lines add up to one event; the bound applies to the whole.
				s.err = ErrLineTooLong
				return Event{}, s.err
			}
			if ev.Data == nil {
				ev.Data = append(s.data[:0], value...)
				if ev.Data == nil {
					ev.Data = []byte{} // "data:" with nothing is still data, not a comment block
				}
			} else {
				ev.Data = append(append(ev.Data, '\n'), value...)
			}
			s.data = ev.Data
		case "event":
			ev.Type = string(value)
		case "id":
			ev.ID = string(value)
		}
		// retry: and unknown fields are ignored, as the SSE specification says.
	}
}

// EventBuffered reports whether the next call of Next will return without reading from the
// underlying reader: a whole event (a line that is not blank, then a blank line) is already in
// the buffer, or the stream has ended. It never reads, so it never waits.
func (s *SSEReader) EventBuffered() bool {
	if s.err != nil {
		return true
	}
	b, _ := s.r.Peek(s.r.Buffered())
	seen := false
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		line := b[:i]
		b = b[i+1:]
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' { // what trimEOL makes empty
			if seen {
				return true
			}
			continue
		}
		seen = true
	}
}

// readLine returns one line without its line end. The returned slice is valid until the next
// call.
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(s.line)+len(frag) > MaxLine+2 {
			return nil, ErrLineTooLong
		}
		switch {
		case err == nil:
			if len(s.line) == 0 {
				return trimEOL(frag), nil
			}
			s.line = append(s.line, frag...)
			return trimEOL(s.line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			s.line = append(s.line, frag...)
		case errors.Is(err, io.EOF):
			if len(frag) == 0 && len(s.line) == 0 {
				return nil, io.EOF
			}
			s.line = append(s.line, frag...)
			// A last line without a newline still counts; the next call reports EOF.
			return trimEOL(s.line), nil
		default:
			return nil, fmt.Errorf("upstream: read SSE stream: %w", err)
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
