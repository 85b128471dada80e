package openai

import (
	"strings"
	"testing"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// A typical assistant request: a system prompt, a few turns, one tool.
var benchBody = []byte(`{"model":"chat","stream":true,"stream_options":{"include_usage":true},"temperature":0.7,
"tools":[{"type":"function","function":{"name":"set_alarm","description":"Set an alarm","parameters":{"type":"object","properties":{"time":{"type":"string"}},"required":["time"]}}}],
"messages":[{"role":"system","content":"你是手机上的语音助手。用简体中文简短回答。"},
{"role":"user","content":"` + strings.Repeat("帮我写一封请假邮件，说明明天身体不适需要休息一天。", 4) + `"},
{"role":"assistant","content":"好的，请问收件人是谁？"},
{"role":"user","content":"发给王经理，邮箱 wang@example.com"}]}`)

func BenchmarkDecodeRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if _, err := DecodeRequest(benchBody, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req, err := DecodeRequest(benchBody, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeChunk(b *testing.B) {
	meta := Meta{ID: "chatcmpl-0123456789abcdef", Created: 1700000000, Model: "qwen-plus"}
	c := chat.Chunk{Delta: chat.Delta{Content: "你好，这是一个流式"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeChunk(meta, c, false); err != nil {
			b.Fatal(err)
		}
	}
}
