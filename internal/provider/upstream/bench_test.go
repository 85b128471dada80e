package upstream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func BenchmarkSSEReader(b *testing.B) {
	ev := "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"模拟回复\",\"role\":\"assistant\"},\"finish_reason\":\"null\"}]},\"usage\":{\"total_tokens\":30,\"output_tokens\":8,\"input_tokens\":22},\"request_id\":\"5bf3b6a2-0f6a-9a5e-b3d1-6a4c3f0d1e2a\"}\n\n"
	data := []byte(strings.Repeat(ev, 200))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := NewSSEReader(bytes.NewReader(data))
		for {
			if _, err := s.Next(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
