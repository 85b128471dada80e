package upstream

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// wordDecoder decodes test events written as words: "c:TEXT" answer text, "a:TEXT" answer
// text with the assistant role, "r:TEXT" reasoning, "role", "tool", "finish", "usage", "err"
// (a retryable upstream error), "done".
type wordDecoder struct{ out [1]chat.Chunk }

func (d *wordDecoder) Event(ev *Event) ([]chat.Chunk, bool, error) {
	s := string(ev.Data)
	c := chat.Chunk{}
	switch {
	case strings.HasPrefix(s, "c:"):
		c.Delta.Content = s[2:]
	case strings.HasPrefix(s, "a:"):
		c.Delta.Role, c.Delta.Content = chat.RoleAssistant, s[2:]
	case strings.HasPrefix(s, "r:"):
		c.Delta.ReasoningContent = s[2:]
	case s == "role":
		c.Delta.Role = chat.RoleAssistant
	case s == "tool":
		c.Delta.ToolCalls = []chat.ToolCallDelta{{Index: 0, Name: "f"}}
	case s == "finish":
		c.FinishReason = chat.FinishStop
	case s == "usage":
		c.Usage = &chat.Usage{PromptTokens: 1}
	case s == "err":
		e := apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, "overloaded", "busy")
		e.Retryable = true
		return nil, false, e
	case s == "done":
		return nil, true, nil
	}
	d.out[0] = c
	return d.out[:], false, nil
}

func (d *wordDecoder) End() ([]chat.Chunk, error) { return nil, nil }

// joining returns a stream over r that joins buffered text, as a live stream does.
func joining(r io.Reader) *EventStream {
	return ReadEvents("p", r, &wordDecoder{}).Joined()
}

func events(words ...string) string {
	var b strings.Builder
	for _, w := range words {
		b.WriteString("data: " + w + "\n\n")
	}
	return b.String()
}

func recvAll(t *testing.T, s chat.Stream) ([]chat.Chunk, error) {
	t.Helper()
	var got []chat.Chunk
	for {
		c, err := s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return got, err
		}
		got = append(got, c)
	}
}

func TestJoinBufferedText(t *testing.T) {
	text := func(s string) chat.Chunk { return chat.Chunk{Delta: chat.Delta{Content: s}} }
	tests := []struct {
		name  string
		words []string
		body  string // instead of words
		want  []chat.Chunk
	}{{
		name:  "text joins, everything else stands alone",
		words: []string{"role", "c:Hel", "c:lo", "c: wor", "r:think", "r:ing", "c:!", "tool", "c:x", "finish", "usage", "done"},
		want: []chat.Chunk{
			{Delta: chat.Delta{Role: chat.RoleAssistant}},
			text("Hello wor"),
			{Delta: chat.Delta{ReasoningContent: "thinking"}},
			text("!"),
			{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, Name: "f"}}}},
			text("x"),
			{FinishReason: chat.FinishStop},
			{Usage: &chat.Usage{PromptTokens: 1}},
		},
	}, {
		name: "keep-alives between text are skipped",
		body: "data: c:a\n\n: keep-alive\n\ndata: c:b\n\n",
		want: []chat.Chunk{text("ab")},
	}, {
		name:  "a role ends a run",
		words: []string{"c:a", "role", "c:b", "a:c", "done"},
		want: []chat.Chunk{text("a"), {Delta: chat.Delta{Role: chat.RoleAssistant}}, text("b"),
			{Delta: chat.Delta{Role: chat.RoleAssistant, Content: "c"}}},
	}, {
		name:  "the same role on every delta joins",
		words: []string{"a:x", "a:y", "a:z", "done"},
		want:  []chat.Chunk{{Delta: chat.Delta{Role: chat.RoleAssistant, Content: "xyz"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if body == "" {
				body = events(tt.words...)
			}
			got, err := recvAll(t, joining(strings.NewReader(body)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("chunks (-want +got):\n%s", d)
			}
			// Without joining, the same events are the decoder's chunks one by one.
			one, _ := recvAll(t, ReadEvents("p", strings.NewReader(body), &wordDecoder{}))
			var a, b strings.Builder
			for _, c := range one {
				a.WriteString(c.Delta.Content + "|" + c.Delta.ReasoningContent)
			}
			for _, c := range got {
				b.WriteString(c.Delta.Content + "|" + c.Delta.ReasoningContent)
			}
			if strings.ReplaceAll(a.String(), "|", "") != strings.ReplaceAll(b.String(), "|", "") {
				t.Errorf("joined text %q differs from the events' %q", b.String(), a.String())
			}
		})
	}
}

// TestJoinNeverWaits: joining takes only what has arrived; a chunk never waits for the next
// event to come over the network.
func TestJoinNeverWaits(t *testing.T) {
	pr, pw := io.Pipe()
	s := joining(pr)
	defer s.Close()
	type result struct {
		c   chat.Chunk
		err error
	}
	recv := func() result {
		ch := make(chan result, 1)
		go func() { c, err := s.Recv(); ch <- result{c, err} }()
		select {
		case r := <-ch:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("Recv is waiting for an event that has not arrived")
			return result{}
		}
	}
	go pw.Write([]byte(events("c:a", "c:b") + "data: c:c\n")) // the third event is incomplete
	if r := recv(); r.err != nil || r.c.Delta.Content != "ab" {
		t.Fatalf("first Recv = %+v", r)
	}
	go pw.Write([]byte("\n" + events("c:d", "done")))
	if r := recv(); r.err != nil || r.c.Delta.Content != "cd" {
		t.Fatalf("second Recv = %+v", r)
	}
	if r := recv(); !errors.Is(r.err, io.EOF) {
		t.Fatalf("third Recv = %+v", r)
	}
}

// TestJoinThenError: an upstream error read while joining comes after the text, and is not
// retryable, since the text has been delivered.
func TestJoinThenError(t *testing.T) {
	got, err := recvAll(t, joining(strings.NewReader(events("c:a", "c:b", "err"))))
	if len(got) != 1 || got[0].Delta.Content != "ab" {
		t.Fatalf("chunks = %+v", got)
	}
	e, ok := apierr.As(err)
	if !ok || e.Code != "overloaded" || e.Retryable {
		t.Fatalf("err = %v (retryable %v)", err, ok && e.Retryable)
	}
}

func TestEventBuffered(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"data: a\n\n", true},
		{"data: a\r\n\r\n", true},
		{": keep-alive\n\n", true},
		{"\n\n\ndata: a\n\n", true},
		{"data: a\n", false},
		{"data: a\n\r", false},
		{"\n\n", false},
		{"data: a\n\r\r\n", false}, // "\r\r" is not a blank line
		{"", false},
	}
	for _, tt := range tests {
		s := NewSSEReader(strings.NewReader(tt.in))
		s.r.Peek(1) // fill the buffer, as a read of the previous event would have
		if got := s.EventBuffered(); got != tt.want {
			t.Errorf("EventBuffered(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
