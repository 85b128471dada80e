package openai

import (
	"strings"
	"testing"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/label"
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

// BenchmarkEncodeTextRequest encodes a request of text messages (benchBody without its tools)
// for an upstream; /reflect is the encoder the reflection-free path falls back to.
func BenchmarkEncodeTextRequest(b *testing.B) {
	req, err := DecodeRequest(benchBody, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	req.Tools = nil
	for _, reflective := range []bool{false, true} {
		name := "text"
		if reflective {
			name = "reflect"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if reflective {
					_, err = encodeRequest(req)
				} else {
					_, err = EncodeRequest(req)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeChunk(b *testing.B) {
	meta := Meta{ID: "chatcmpl-0123456789abcdef", Created: 1700000000, Model: "qwen-plus"}
	c := chat.Chunk{Delta: chat.Delta{Content: "你好，这是一个流式"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendChunk(nil, meta, c, false); err != nil {
			b.Fatal(err)
		}
	}
}

// A whole CN answer: ~600 bytes of Chinese, usage, and the two extra members (the signed
// implicit label and the privacy receipt).
func BenchmarkEncodeResponse(b *testing.B) {
	r := chat.Response{Message: chat.Message{Role: chat.RoleAssistant, Content: strings.Repeat("您好，这是模拟回答。", 20)},
		FinishReason: chat.FinishStop, Usage: &chat.Usage{PromptTokens: 60, CompletionTokens: 200}}
	label := label.Implicit{Label: "1", ContentProducer: "001191320114MA1XXXXXXX0000",
		ProduceID: "0192f1a2-7b3c-7d4e-8f50-123456789abc", ReservedCode1: strings.Repeat("A", 86)}
	meta := Meta{ID: "chatcmpl-0123456789abcdef", Created: 1700000000, Model: "qwen-plus",
		Extra: map[string]any{"aigc": label, "privacy": map[string]int{"name": 1, "phone": 1}}}
	for _, enc := range []struct {
		name string
		f    func(Meta, chat.Response) ([]byte, error)
	}{{"hand", EncodeResponse}, {"reflect", encodeResponse}} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.f(meta, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeResponse decodes a whole upstream answer of text with usage; /general is the
// reflective decoder the reflection-free path falls back to.
func BenchmarkDecodeResponse(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-0123456789abcdef","object":"chat.completion","created":1700000000,"model":"qwen-plus","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("好的，周六上午去西湖散步，中午吃杭帮菜。", 6) + `"},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":60,"completion_tokens":120,"total_tokens":180,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":null}`)
	for _, general := range []bool{false, true} {
		name := "text"
		if general {
			name = "general"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var err error
				if general {
					_, _, err = decodeResponse(body)
				} else {
					_, _, err = DecodeResponse(body)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
