package dashscope

import (
	"encoding/json"
	"testing"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/openai"
)

// FuzzEncodeRequest feeds whatever the OpenAI decoder accepts to the native encoder: the result
// is valid JSON with messages inside input, or a 400.
func FuzzEncodeRequest(f *testing.F) {
	f.Add([]byte(`{"model":"qwen-plus","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}],"top_p":1,"seed":-1,"enable_thinking":true}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"1"}],"tools":[{"type":"function","function":{"name":"f"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.DecodeRequest(body, openai.Limits{})
		if err != nil {
			return
		}
		for _, mm := range []bool{false, true} {
			out, err := encodeRequest(req, mm, true)
			if err != nil {
				if e, ok := apierr.As(err); !ok || e.Status != 400 {
					t.Fatalf("encode error %v is not a 400", err)
				}
				continue
			}
			var w struct {
				Input struct {
					Messages []json.RawMessage `json:"messages"`
				} `json:"input"`
				Parameters map[string]json.RawMessage `json:"parameters"`
			}
			if err := json.Unmarshal(out, &w); err != nil {
				t.Fatalf("encoded body is not JSON: %v\n%s", err, out)
			}
			if len(w.Input.Messages) != len(req.Messages) || string(w.Parameters["result_format"]) != `"message"` {
				t.Fatalf("encoded body lost messages or result_format: %s", out)
			}
		}
	})
}
