package label

import (
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/chat"
)

func content(s string) chat.Chunk { return chat.Chunk{Delta: chat.Delta{Content: s}} }

func TestWrapStream(t *testing.T) {
	const lbl = "本内容由AI生成"
	role := chat.Chunk{Delta: chat.Delta{Role: chat.RoleAssistant}}
	stop := chat.Chunk{FinishReason: chat.FinishStop}
	usage := chat.Chunk{Usage: &chat.Usage{TotalTokens: 3}}
	tool := chat.Chunk{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, Name: "f"}}}}
	tests := []struct {
		name     string
		position string
		in       []chat.Chunk
		want     []chat.Chunk
	}{
		{"start: prefix the first content", PositionStart,
			[]chat.Chunk{role, content("你好"), content("！"), stop},
			[]chat.Chunk{role, content(lbl + "\n\n你好"), content("！"), stop}},
		{"end: append to the finish chunk", PositionEnd,
			[]chat.Chunk{role, content("你好"), stop, usage},
			[]chat.Chunk{role, content("你好"), {Delta: chat.Delta{Content: "\n\n" + lbl}, FinishReason: chat.FinishStop}, usage}},
		{"end: finish chunk with content", PositionEnd,
			[]chat.Chunk{content("a"), {Delta: chat.Delta{Content: "b"}, FinishReason: chat.FinishLength}},
			[]chat.Chunk{content("a"), {Delta: chat.Delta{Content: "b\n\n" + lbl}, FinishReason: chat.FinishLength}}},
		{"end: no finish reason, label before EOF", PositionEnd,
			[]chat.Chunk{content("a")},
			[]chat.Chunk{content("a"), content("\n\n" + lbl)}},
		{"start: tool calls only get no label", PositionStart,
			[]chat.Chunk{role, tool, {FinishReason: chat.FinishToolCalls}},
			[]chat.Chunk{role, tool, {FinishReason: chat.FinishToolCalls}}},
		{"end: tool calls only get no label", PositionEnd,
			[]chat.Chunk{role, tool, {FinishReason: chat.FinishToolCalls}},
			[]chat.Chunk{role, tool, {FinishReason: chat.FinishToolCalls}}},
		{"start: reasoning passes untouched", PositionStart,
			[]chat.Chunk{{Delta: chat.Delta{ReasoningContent: "思考"}}, content("答")},
			[]chat.Chunk{{Delta: chat.Delta{ReasoningContent: "思考"}}, content(lbl + "\n\n答")}},
		{"empty stream", PositionEnd, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLabeler(t, Config{Position: tt.position})
			s := l.WrapStream(chat.NewSliceStream(tt.in...))
			var got []chat.Chunk
			for {
				c, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, c)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
			if _, err := s.Recv(); !errors.Is(err, io.EOF) {
				t.Errorf("Recv after EOF = %v", err)
			}
		})
	}
}

type errStream struct {
	chunks []chat.Chunk
	err    error
	closed bool
}

func (s *errStream) Recv() (chat.Chunk, error) {
	if len(s.chunks) == 0 {
		return chat.Chunk{}, s.err
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *errStream) Close() error { s.closed = true; return nil }

func TestWrapStreamPassesErrorsAndClose(t *testing.T) {
	boom := errors.New("upstream broke")
	src := &errStream{chunks: []chat.Chunk{content("part")}, err: boom}
	l := newTestLabeler(t, Config{Position: PositionEnd})
	s := l.WrapStream(src)
	if c, err := s.Recv(); err != nil || c.Delta.Content != "part" {
		t.Fatalf("first Recv = %+v, %v", c, err)
	}
	if _, err := s.Recv(); !errors.Is(err, boom) {
		t.Fatalf("Recv = %v, want upstream error", err)
	}
	if err := s.Close(); err != nil || !src.closed {
		t.Fatalf("Close did not reach the source")
	}
}

func TestApplyText(t *testing.T) {
	start := newTestLabeler(t, Config{Explicit: "AI生成"})
	end := newTestLabeler(t, Config{Explicit: "AI生成", Position: PositionEnd})
	if got := start.ApplyText("答"); got != "AI生成\n\n答" {
		t.Errorf("start: %q", got)
	}
	if got := end.ApplyText("答"); got != "答\n\nAI生成" {
		t.Errorf("end: %q", got)
	}
	if got := end.ApplyText(""); got != "" {
		t.Errorf("empty answer labelled: %q", got)
	}
}

// FuzzWrapStream splits an answer at arbitrary points and checks that the collected answer is
// always the answer with the label at the configured end, exactly once.
func FuzzWrapStream(f *testing.F) {
	f.Add("你好，世界", []byte{1, 3}, true, true)
	f.Add("", []byte{}, false, false)
	f.Add("abc", []byte{0, 0, 2}, false, true)
	f.Fuzz(func(t *testing.T, answer string, cuts []byte, atEnd, finish bool) {
		pos := PositionStart
		if atEnd {
			pos = PositionEnd
		}
		l := newTestLabeler(t, Config{Position: pos})
		var chunks []chat.Chunk
		rest := answer
		for _, c := range cuts {
			n := min(int(c), len(rest))
			chunks = append(chunks, content(rest[:n])) // empty deltas included on purpose
			rest = rest[n:]
		}
		chunks = append(chunks, content(rest))
		if finish {
			chunks = append(chunks, chat.Chunk{FinishReason: chat.FinishStop})
		}
		resp, err := chat.Collect(l.WrapStream(chat.NewSliceStream(chunks...)))
		if err != nil {
			t.Fatal(err)
		}
		want := l.ApplyText(answer)
		if resp.Message.Content != want {
			t.Fatalf("content %q, want %q", resp.Message.Content, want)
		}
	})
}
