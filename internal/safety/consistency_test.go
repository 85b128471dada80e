package safety

import (
	"context"
	"testing"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/safety/eval"
)

// TestStreamAgreesWithWholeText checks that streamed output moderation reaches the same
// decision as scanning the whole text, whatever the chunking: an unless term that follows a
// combo ("什么是勒索病毒，企业如何防范？") lifts it in a stream too, because the stream holds
// the candidate back until its window has passed.
func TestStreamAgreesWithWholeText(t *testing.T) {
	c, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	items, err := eval.LoadBank("testdata/bank.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	wraps := []struct{ pre, post string }{
		{"", ""},
		{"模拟回复：收到 1 条消息，最后一条：«", "»。这是模拟器的回答。"},
		{"Sure. You asked: \"", "\" Here is what I can say."},
	}
	disagree := 0
	for _, it := range items {
		for _, w := range wraps {
			text := w.pre + it.Text + w.post
			blk, _ := c.ScanText(text)
			for _, size := range []int{1, 3, 7, 64} {
				got := streamBlocked(t, c, text, size)
				if got != (blk != nil) {
					disagree++
					if disagree <= 10 {
						t.Errorf("chunk %d: stream blocked=%v, whole text blocked=%v: %q", size, got, blk != nil, text)
					}
				}
			}
		}
	}
	if disagree > 0 {
		t.Errorf("%d disagreements", disagree)
	}
}

func streamBlocked(t *testing.T, c *Checker, text string, size int) bool {
	t.Helper()
	r := []rune(text)
	var chunks []chat.Chunk
	for i := 0; i < len(r); i += size {
		chunks = append(chunks, chat.Chunk{Delta: chat.Delta{Content: string(r[i:min(i+size, len(r))])}})
	}
	chunks = append(chunks, chat.Chunk{FinishReason: chat.FinishStop})
	resp, err := chat.Collect(c.Moderate(context.Background(), Meta{}, chat.NewSliceStream(chunks...), func() {}))
	if err != nil {
		t.Fatal(err)
	}
	return resp.FinishReason == chat.FinishContentFilter
}
