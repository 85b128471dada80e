package openaicompat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/sim"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// benchTranscript is a 200-chunk answer in OpenAI framing, 4 runes per delta, then usage and
// [DONE].
func benchTranscript() []byte {
	var b bytes.Buffer
	const head = `"id":"chatcmpl-9f2c1e","object":"chat.completion.chunk","created":1763900000,"model":"qwen-plus"`
	for i := 1; i <= 200; i++ {
		finish := "null"
		if i == 200 {
			finish = `"stop"`
		}
		fmt.Fprintf(&b, "data: {%s,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"模拟回复\"},\"finish_reason\":%s}]}\n\n", head, finish)
	}
	fmt.Fprintf(&b, "data: {%s,\"choices\":[],\"usage\":{\"prompt_tokens\":22,\"completion_tokens\":400,\"total_tokens\":422}}\n\ndata: [DONE]\n\n", head)
	return b.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	data := benchTranscript()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := upstream.ReadEvents("compat", bytes.NewReader(data), NewDecoder("compat"))
		n := 0
		for {
			_, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 201 {
			b.Fatalf("%d chunks", n)
		}
	}
}

func BenchmarkChatRoundTrip(b *testing.B) {
	s := sim.NewOpenAI(sim.Options{})
	defer s.Close()
	c, _ := New(Config{BaseURL: s.URL(), APIKey: "k"})
	req := &chat.Request{Model: "qwen-plus", Messages: []chat.Message{{Role: chat.RoleUser, Content: "你好，请介绍一下你自己。"}}}
	b.ReportAllocs()
	for b.Loop() {
		st, err := c.Chat(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := chat.Collect(st); err != nil {
			b.Fatal(err)
		}
	}
}
