package safety

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// fakeUpstream is a provider stream: chunks, then an optional error, then io.EOF. It
// records how many chunks were read and whether it was closed.
type fakeUpstream struct {
	chunks []chat.Chunk
	err    error
	read   int
	closed int
}

func (f *fakeUpstream) Recv() (chat.Chunk, error) {
	if f.closed > 0 {
		return chat.Chunk{}, errors.New("recv after close")
	}
	if f.read < len(f.chunks) {
		c := f.chunks[f.read]
		f.read++
		return c, nil
	}
	if f.err != nil {
		return chat.Chunk{}, f.err
	}
	return chat.Chunk{}, io.EOF
}

func (f *fakeUpstream) Close() error { f.closed++; return nil }

// contentChunks turns pieces of text into an answer: role first, finish reason last.
func contentChunks(pieces ...string) []chat.Chunk {
	out := []chat.Chunk{{Delta: chat.Delta{Role: chat.RoleAssistant}}}
	for _, p := range pieces {
		out = append(out, chat.Chunk{Delta: chat.Delta{Content: p}})
	}
	return append(out, chat.Chunk{FinishReason: chat.FinishStop, Usage: &chat.Usage{TotalTokens: 7}})
}

type moderated struct {
	chunks    []chat.Chunk
	err       error
	cancelled int
	up        *fakeUpstream
	decisions []Decision
}

func (m moderated) content() string {
	var b strings.Builder
	for _, c := range m.chunks {
		b.WriteString(c.Delta.Content)
	}
	return b.String()
}

func (m moderated) last() chat.Chunk { return m.chunks[len(m.chunks)-1] }

func runModerate(t *testing.T, c *Checker, up *fakeUpstream) moderated {
	t.Helper()
	res := moderated{up: up}
	meta := Meta{RequestID: "r", Locale: "en", OnDecision: func(d Decision) { res.decisions = append(res.decisions, d) }}
	s := c.Moderate(context.Background(), meta, up, func() { res.cancelled++ })
	for i := 0; ; i++ {
		ch, err := s.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				res.err = err
			}
			break
		}
		if i > 10000 {
			t.Fatal("stream does not end")
		}
		res.chunks = append(res.chunks, ch)
	}
	// After the end the stream keeps saying so.
	if _, err := s.Recv(); err == nil {
		t.Fatal("Recv after the end returned a chunk")
	}
	s.Close()
	s.Close()
	return res
}

// checkBlockedEnd asserts the clean end of a blocked answer.
func checkBlockedEnd(t *testing.T, m moderated, refusal string) {
	t.Helper()
	if m.err != nil {
		t.Fatalf("stream error %v, want a clean end", m.err)
	}
	last := m.last()
	if last.FinishReason != chat.FinishContentFilter || last.Delta.Content != refusal {
		t.Fatalf("last chunk %+v, want the refusal with finish_reason content_filter", last)
	}
	if m.cancelled == 0 {
		t.Fatal("upstream call not cancelled")
	}
	if m.up.closed == 0 {
		t.Fatal("upstream not closed")
	}
	roles := 0
	for _, c := range m.chunks {
		if c.Delta.Role != "" {
			roles++
		}
	}
	if roles != 1 {
		t.Fatalf("%d chunks carry a role, want 1", roles)
	}
}

func TestModerateCleanPassThrough(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	text := "今天天气很好。炸弹鱼是一种鱼吗？bombastic prose, and a method."
	for cut := 0; cut <= len(text); cut++ {
		m := runModerate(t, c, &fakeUpstream{chunks: contentChunks(text[:cut], text[cut:])})
		if m.err != nil || m.content() != text {
			t.Fatalf("cut %d: content %q err %v", cut, m.content(), m.err)
		}
		last := m.last()
		if last.FinishReason != chat.FinishStop || last.Usage == nil || last.Usage.TotalTokens != 7 {
			t.Fatalf("cut %d: last chunk %+v", cut, last)
		}
		if m.cancelled != 0 {
			t.Fatalf("cut %d: clean answer cancelled", cut)
		}
	}
}

// TestModerateSplitEverywhere: a blocked term split at every position across chunks is
// never delivered, the stream ends cleanly, and the upstream call is cancelled.
func TestModerateSplitEverywhere(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	refusal := c.Refusal("en")
	tests := []struct {
		name, before, blocked string
	}{
		{"cjk term", "这是一段正常的回答，", "炸药的做法如下"},
		{"spaced term", "正常内容。", "炸 - 药在这里"},
		{"latin term", "Sure, here is ", "meth synthesis"},
		{"combo", "好的。", "炸弹怎么做：第一步"},
		{"traditional", "好的。", "炸藥配方"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.before + tt.blocked
			check := func(desc string, m moderated) {
				t.Helper()
				checkBlockedEnd(t, m, refusal)
				got := strings.TrimSuffix(m.content(), refusal)
				if !strings.HasPrefix(tt.before, got) {
					t.Fatalf("%s: delivered %q, which goes beyond the clean prefix %q", desc, got, tt.before)
				}
				if len(m.decisions) != 1 || m.decisions[0].Stage != "output" || !m.decisions[0].Blocked() {
					t.Fatalf("%s: decisions %+v", desc, m.decisions)
				}
			}
			for i := 0; i <= len(text); i++ {
				for j := i; j <= len(text); j++ {
					m := runModerate(t, c, &fakeUpstream{chunks: contentChunks(text[:i], text[i:j], text[j:])})
					check("split at "+strconv.Itoa(i)+","+strconv.Itoa(j), m)
				}
			}
			var bytewise []string
			for i := 0; i < len(text); i++ {
				bytewise = append(bytewise, text[i:i+1])
			}
			check("byte by byte", runModerate(t, c, &fakeUpstream{chunks: contentChunks(bytewise...)}))
		})
	}
}

func TestModerateReasoning(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	up := &fakeUpstream{chunks: []chat.Chunk{
		{Delta: chat.Delta{Role: chat.RoleAssistant, ReasoningContent: "用户想要炸"}},
		{Delta: chat.Delta{ReasoningContent: "药"}},
		{Delta: chat.Delta{Content: "never"}},
	}}
	m := runModerate(t, c, up)
	checkBlockedEnd(t, m, c.Refusal("en"))
	for _, ch := range m.chunks {
		if strings.Contains(ch.Delta.ReasoningContent, "炸") || strings.Contains(ch.Delta.Content, "never") {
			t.Fatalf("blocked reasoning delivered: %+v", m.chunks)
		}
	}
}

func TestModerateUpstreamBlock(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	up := &fakeUpstream{
		chunks: []chat.Chunk{{Delta: chat.Delta{Role: chat.RoleAssistant, Content: "好的，"}}, {Delta: chat.Delta{Content: "这是炸"}}},
		err:    apierr.ContentFilter("Output data may contain inappropriate content."),
	}
	m := runModerate(t, c, up)
	checkBlockedEnd(t, m, c.Refusal("en"))
	if strings.Contains(m.content(), "炸") {
		t.Fatalf("held text delivered after upstream block: %q", m.content())
	}
	if m.decisions[0].Stage != "upstream" || m.decisions[0].Rule != "upstream/data_inspection" {
		t.Fatalf("decision %+v", m.decisions[0])
	}
}

func TestModerateUpstreamError(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	boom := errors.New("connection reset")
	up := &fakeUpstream{chunks: contentChunks("hello 炸")[:2], err: boom}
	m := runModerate(t, c, up)
	if !errors.Is(m.err, boom) {
		t.Fatalf("err %v, want the upstream error", m.err)
	}
	if strings.Contains(m.content(), "炸") {
		t.Fatal("held text delivered after an upstream error")
	}
}

func TestModerateToolCallsAndEOFWithoutFinish(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	up := &fakeUpstream{chunks: []chat.Chunk{
		{Delta: chat.Delta{Role: chat.RoleAssistant, Content: "calling 炸"}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "c1", Name: "f", Arguments: "{}"}}}},
	}}
	m := runModerate(t, c, up)
	res := chat.Accumulator{}
	for _, ch := range m.chunks {
		res.Add(ch)
	}
	got := res.Response()
	want := chat.Response{Message: chat.Message{Role: chat.RoleAssistant, Content: "calling 炸", ToolCalls: []chat.ToolCall{{ID: "c1", Type: "function", Name: "f", Arguments: "{}"}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// TestModerateWindowBound: with a long term prefix in progress, never more than the
// window is held back.
func TestModerateWindowBound(t *testing.T) {
	long := strings.Repeat("长", 80)
	files := &memFiles{files: map[string]string{"l.pack": "pack l\nterm long block A.1.8 : " + long + "\n"}}
	c, err := New(Config{Packs: []string{"l.pack"}, OutputWindow: 16}, Options{ReadFile: files.read})
	if err != nil {
		t.Fatal(err)
	}
	var pieces []string
	for i := 0; i < 79; i++ {
		pieces = append(pieces, "长")
	}
	up := &fakeUpstream{chunks: contentChunks(pieces...)}
	s := c.Moderate(context.Background(), Meta{}, up, func() {})
	delivered := 0
	for {
		ch, err := s.Recv()
		if err != nil {
			break
		}
		delivered += utf8.RuneCountInString(ch.Delta.Content)
		pulled := up.read - 1 // minus the role chunk
		if pulled > 79 {
			pulled = 79
		}
		if held := pulled - delivered; held > 16 {
			t.Fatalf("after %d runes in, %d delivered: %d held > window 16", pulled, delivered, held)
		}
	}
	if delivered != 79 {
		t.Fatalf("delivered %d runes, want 79", delivered)
	}
}

func TestModerateNothingHeldForCleanText(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	up := &fakeUpstream{chunks: contentChunks("你好", "，世界")}
	s := c.Moderate(context.Background(), Meta{}, up, func() {})
	if ch, _ := s.Recv(); ch.Delta.Role != chat.RoleAssistant {
		t.Fatalf("first chunk %+v, want the role at once", ch)
	}
	if ch, _ := s.Recv(); ch.Delta.Content != "你好" {
		t.Fatalf("second chunk %+v, want the first text released at once", ch)
	}
}

// TestWindowDecidesFailingClosed: text the output window would release while a match or a
// combo is still undecided is decided first, failing closed, and nothing of it goes out.
// Before, with the shipped pack, "how to make a bomb" followed by a few words in small
// chunks was delivered, then blocked.
func TestWindowDecidesFailingClosed(t *testing.T) {
	c, err := New(Config{}, Options{}) // the shipped baseline pack, output_window 64
	if err != nil {
		t.Fatal(err)
	}
	for name, pieces := range map[string][]string{
		"combo waiting for an unless term": append([]string{"how to make a bomb"}, slices.Repeat([]string{" ok"}, 100)...),
		"term waiting for its boundary":    append([]string{"cook meth"}, slices.Repeat([]string{"\u0301"}, 70)...),
	} {
		res, err := chat.Collect(c.Moderate(context.Background(), Meta{}, &fakeUpstream{chunks: contentChunks(pieces...)}, func() {}))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.TrimSuffix(res.Message.Content, c.Refusal(""))
		if res.FinishReason != chat.FinishContentFilter || strings.Contains(got, "bomb") || strings.Contains(got, "meth") {
			t.Errorf("%s: finish %q, delivered %q; want a block before the terms", name, res.FinishReason, got)
		}
	}
}
