package chat

import (
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCollectAssemblesToolCallsAndText(t *testing.T) {
	s := NewSliceStream(
		Chunk{Delta: Delta{Role: RoleAssistant, ReasoningContent: "想一"}},
		Chunk{Delta: Delta{ReasoningContent: "想", Content: "你"}},
		Chunk{Delta: Delta{Content: "好", ToolCalls: []ToolCallDelta{{Index: 1, ID: "b", Name: "g", Arguments: `{"x"`}}}},
		Chunk{Delta: Delta{ToolCalls: []ToolCallDelta{{Index: 0, ID: "a", Type: "function", Name: "f", Arguments: "{}"}, {Index: 1, Arguments: `:1}`}}}},
		Chunk{FinishReason: FinishToolCalls, Usage: &Usage{PromptTokens: 1, CompletionTokens: 2}},
	)
	got, err := Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	want := Response{
		Message: Message{Role: RoleAssistant, Content: "你好", ReasoningContent: "想一想", ToolCalls: []ToolCall{
			{ID: "a", Type: "function", Name: "f", Arguments: "{}"},
			{ID: "b", Type: "function", Name: "g", Arguments: `{"x":1}`},
		}},
		FinishReason: FinishToolCalls,
		Usage:        &Usage{PromptTokens: 1, CompletionTokens: 2},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

type failing struct {
	SliceStream
	err    error
	closed bool
}

func (f *failing) Recv() (Chunk, error) {
	c, err := f.SliceStream.Recv()
	if errors.Is(err, io.EOF) {
		return Chunk{}, f.err
	}
	return c, err
}
func (f *failing) Close() error { f.closed = true; return nil }

func TestCollectReturnsPartialAnswerAndClosesOnError(t *testing.T) {
	boom := errors.New("boom")
	f := &failing{SliceStream: SliceStream{Chunks: []Chunk{{Delta: Delta{Content: "partial"}}}}, err: boom}
	got, err := Collect(f)
	if !errors.Is(err, boom) || got.Message.Content != "partial" || !f.closed {
		t.Fatalf("got %+v, %v, closed %v", got, err, f.closed)
	}
}

func TestMessageText(t *testing.T) {
	m := Message{Parts: []Part{{Type: PartText, Text: "a"}, {Type: PartImageURL, ImageURL: "https://x"}, {Type: PartText, Text: "b"}}}
	if got := m.Text(); got != "a\nb" {
		t.Errorf("Text() = %q", got)
	}
	if got := (&Message{Content: "plain"}).Text(); got != "plain" {
		t.Errorf("Text() = %q", got)
	}
}
