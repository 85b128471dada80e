package privacy

import (
	"errors"
	"io"
	"sort"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// Restore wraps s so that the vault's placeholders in content, reasoning_content and
// tool-call arguments are replaced by the original values. In tool-call arguments (JSON
// text) the original is inserted JSON-string-escaped.
//
// The restorer holds back only the shortest suffix of each channel that is still a proper
// prefix of one of this vault's placeholders — text that cannot become one is passed on at
// once, so the first token is not delayed. Held text is flushed on the chunk that carries the
// finish reason, at the end of the stream, or before an upstream error is returned. A nil or empty vault returns s itself.
func (v *Vault) Restore(s chat.Stream) chat.Stream {
	if v.Len() == 0 {
		return s
	}
	return &restoreStream{src: s, v: v, args: make(map[int]string)}
}

type restoreStream struct {
	src                chat.Stream
	v                  *Vault
	content, reasoning string
	args               map[int]string // held tool-call argument text per call index
	eof                bool
	err                error // upstream error to return after the held text is flushed
}

var _ chat.Stream = (*restoreStream)(nil)

func (r *restoreStream) Recv() (chat.Chunk, error) {
	for {
		if r.err != nil {
			return chat.Chunk{}, r.err
		}
		if r.eof {
			return chat.Chunk{}, io.EOF
		}
		c, err := r.src.Recv()
		if errors.Is(err, io.EOF) {
			r.eof = true
			if f, ok := r.flush(chat.Chunk{}); ok {
				return f, nil
			}
			return chat.Chunk{}, io.EOF
		}
		if err != nil {
			// Pass on what was held (it is no placeholder, or the upstream would have
			// completed it), then the error.
			r.err = err
			if f, ok := r.flush(chat.Chunk{}); ok {
				return f, nil
			}
			return c, err
		}
		had := !c.Delta.Empty()
		c.Delta.Content = r.feed(&r.content, c.Delta.Content, false)
		c.Delta.ReasoningContent = r.feed(&r.reasoning, c.Delta.ReasoningContent, false)
		if len(c.Delta.ToolCalls) > 0 {
			tcs := make([]chat.ToolCallDelta, 0, len(c.Delta.ToolCalls))
			for _, td := range c.Delta.ToolCalls {
				held := r.args[td.Index]
				td.Arguments = r.feed(&held, td.Arguments, true)
				r.args[td.Index] = held
				if td.Arguments == "" && td.ID == "" && td.Type == "" && td.Name == "" {
					continue
				}
				tcs = append(tcs, td)
			}
			c.Delta.ToolCalls = tcs
		}
		if c.FinishReason != "" {
			c, _ = r.flush(c)
		}
		if had && c.Delta.Empty() && c.FinishReason == "" && c.Usage == nil {
			continue // everything in this chunk is held back
		}
		return c, nil
	}
}

// feed restores held+in and keeps the undecided suffix in *held.
func (r *restoreStream) feed(held *string, in string, esc bool) string {
	if in == "" {
		return ""
	}
	out, rest := r.v.restore(*held+in, esc, false)
	*held = rest
	return out
}

// flush appends all held text to c. Held text is a prefix of a placeholder that never
// completed; it is passed on as it is.
func (r *restoreStream) flush(c chat.Chunk) (chat.Chunk, bool) {
	any := false
	if r.content != "" {
		c.Delta.Content += r.content
		r.content, any = "", true
	}
	if r.reasoning != "" {
		c.Delta.ReasoningContent += r.reasoning
		r.reasoning, any = "", true
	}
	idx := make([]int, 0, len(r.args))
	for i, a := range r.args {
		if a != "" {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	for _, i := range idx {
		c.Delta.ToolCalls = append(c.Delta.ToolCalls, chat.ToolCallDelta{Index: i, Arguments: r.args[i]})
		delete(r.args, i)
		any = true
	}
	return c, any
}

func (r *restoreStream) Close() error { return r.src.Close() }
