package chat

import (
	"errors"
	"io"
	"sort"
)

// Delta is the increment one chunk adds to the answer.
type Delta struct {
	Role             string
	Content          string
	ReasoningContent string
	ToolCalls        []ToolCallDelta
}

// Empty reports whether the delta carries nothing.
func (d *Delta) Empty() bool {
	return d.Role == "" && d.Content == "" && d.ReasoningContent == "" && len(d.ToolCalls) == 0
}

// ToolCallDelta is a fragment of a tool call. Fragments with the same Index belong to the
// same call; ID, Type and Name usually arrive in the first fragment, Arguments in pieces.
type ToolCallDelta struct {
	Index     int
	ID        string
	Type      string
	Name      string
	Arguments string
}

// Chunk is one step of a streamed answer. The last chunk of an answer has a FinishReason;
// Usage may ride on any chunk (adapters put it on the last one they see).
type Chunk struct {
	Delta        Delta
	FinishReason string
	Usage        *Usage
}

// Stream is a streamed answer. Recv returns io.EOF after the last chunk. Close releases the
// upstream call; it is safe to call more than once and after io.EOF.
//
// Response-side stages wrap a Stream and return a Stream, the way io.Readers compose; a
// non-streaming answer is the same stream, collected with Collect.
//
// A Recv that may wait for anything (the network, a guard model) calls Wait with the
// request's context first, or reads through WaitReader: the server sends what it has
// buffered only then (see BeforeWait).
type Stream interface {
	Recv() (Chunk, error)
	Close() error
}

// SliceStream is a Stream over fixed chunks. It serves synthetic answers (refusals,
// fast-path replies) and tests.
type SliceStream struct {
	Chunks []Chunk
	i      int
}

// NewSliceStream returns a stream that yields chunks in order, then io.EOF.
func NewSliceStream(chunks ...Chunk) *SliceStream { return &SliceStream{Chunks: chunks} }

// Recv implements Stream.
func (s *SliceStream) Recv() (Chunk, error) {
	if s.i >= len(s.Chunks) {
		return Chunk{}, io.EOF
	}
	c := s.Chunks[s.i]
	s.i++
	return c, nil
}

// Close implements Stream.
func (s *SliceStream) Close() error { return nil }

var _ Stream = (*SliceStream)(nil)

// Response is a collected answer.
type Response struct {
	Message      Message // Role assistant; Content, ReasoningContent, ToolCalls
	FinishReason string
	Usage        *Usage
}

// Collect reads s to the end and assembles the answer; it closes s. On error it returns
// what was collected so far together with the error.
func Collect(s Stream) (Response, error) {
	defer s.Close()
	var acc Accumulator
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return acc.Response(), nil
		}
		if err != nil {
			return acc.Response(), err
		}
		acc.Add(c)
	}
}

// Accumulator assembles chunks into a Response. The zero value is ready to use.
type Accumulator struct {
	content, reasoning []byte
	calls              map[int]*ToolCall
	finish             string
	usage              *Usage
}

// Add folds one chunk in.
func (a *Accumulator) Add(c Chunk) {
	a.content = append(a.content, c.Delta.Content...)
	a.reasoning = append(a.reasoning, c.Delta.ReasoningContent...)
	for _, d := range c.Delta.ToolCalls {
		if a.calls == nil {
			a.calls = make(map[int]*ToolCall)
		}
		tc := a.calls[d.Index]
		if tc == nil {
			tc = &ToolCall{Type: "function"}
			a.calls[d.Index] = tc
		}
		if d.ID != "" {
			tc.ID = d.ID
		}
		if d.Type != "" {
			tc.Type = d.Type
		}
		tc.Name += d.Name
		tc.Arguments += d.Arguments
	}
	if c.FinishReason != "" {
		a.finish = c.FinishReason
	}
	if c.Usage != nil {
		u := *c.Usage
		a.usage = &u
	}
}

// Response returns the answer assembled so far.
func (a *Accumulator) Response() Response {
	r := Response{
		Message: Message{
			Role:             RoleAssistant,
			Content:          string(a.content),
			ReasoningContent: string(a.reasoning),
		},
		FinishReason: a.finish,
		Usage:        a.usage,
	}
	if len(a.calls) > 0 {
		idx := make([]int, 0, len(a.calls))
		for i := range a.calls {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			r.Message.ToolCalls = append(r.Message.ToolCalls, *a.calls[i])
		}
	}
	return r
}
