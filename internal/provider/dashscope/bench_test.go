package dashscope

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

// benchTranscript is a 200-event answer in DashScope's framing, 4 runes per delta, with the
// cumulative usage every event carries.
func benchTranscript() []byte {
	var b bytes.Buffer
	for i := 1; i <= 200; i++ {
		finish := "null"
		if i == 200 {
			finish = "stop"
		}
		fmt.Fprintf(&b, "id:%d\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"模拟回复\",\"role\":\"assistant\"},\"finish_reason\":\"%s\"}]},\"usage\":{\"total_tokens\":%d,\"output_tokens\":%d,\"input_tokens\":22},\"request_id\":\"5bf3b6a2-0f6a-9a5e-b3d1-6a4c3f0d1e2a\"}\n\n", i, finish, 22+i*2, i*2)
	}
	return b.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	data := benchTranscript()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := upstream.ReadEvents("dashscope", bytes.NewReader(data), NewDecoder("dashscope"))
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
		if n != 200 {
			b.Fatalf("%d chunks", n)
		}
	}
}

// BenchmarkChatRoundTrip is one streamed answer (about 35 events) from the loopback
// simulator, through the adapter, collected.
func BenchmarkChatRoundTrip(b *testing.B) {
	s := sim.NewDashScope(sim.Options{})
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
