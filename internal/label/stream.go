package label

import (
	"errors"
	"io"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// separator keeps the notice apart from the answer, as its own paragraph.
const separator = "\n\n"

// Explicit returns the explicit text label.
func (l *Labeler) Explicit() string { return l.cfg.Explicit }

// ApplyText adds the explicit label to a complete answer, at the configured position. An
// empty answer stays empty: there is nothing generated to label.
func (l *Labeler) ApplyText(s string) string {
	if s == "" {
		return s
	}
	if l.cfg.Position == PositionEnd {
		return s + separator + l.cfg.Explicit
	}
	return l.cfg.Explicit + separator + s
}

// WrapStream returns a stream that carries the explicit label as part of the answer's
// content: at "start", prepended to the first chunk with content; at "end", appended to the
// content of the chunk that carries the finish reason (or in one extra chunk if the stream
// ends without one). An answer without content (only tool calls) gets no label, and chunks
// are otherwise passed through unchanged. Errors from s are passed on as they are.
func (l *Labeler) WrapStream(s chat.Stream) chat.Stream {
	return &labelStream{src: s, text: l.cfg.Explicit, end: l.cfg.Position == PositionEnd}
}

type labelStream struct {
	src        chat.Stream
	text       string
	end        bool
	sawContent bool
	done       bool // label placed (or no longer placeable)
	eof        bool
}

var _ chat.Stream = (*labelStream)(nil)

func (s *labelStream) Recv() (chat.Chunk, error) {
	if s.eof {
		return chat.Chunk{}, io.EOF
	}
	c, err := s.src.Recv()
	if errors.Is(err, io.EOF) {
		s.eof = true
		if s.end && s.sawContent && !s.done {
			// The upstream ended without a finish reason: the label still belongs at the end.
			s.done = true
			return chat.Chunk{Delta: chat.Delta{Content: separator + s.text}}, nil
		}
		return chat.Chunk{}, io.EOF
	}
	if err != nil {
		return c, err
	}
	if s.done {
		return c, nil
	}
	if c.Delta.Content != "" {
		if !s.end && !s.sawContent {
			c.Delta.Content = s.text + separator + c.Delta.Content
			s.done = true
		}
		s.sawContent = true
	}
	if s.end && c.FinishReason != "" {
		s.done = true
		if s.sawContent {
			c.Delta.Content += separator + s.text
		}
	}
	return c, nil
}

func (s *labelStream) Close() error { return s.src.Close() }
