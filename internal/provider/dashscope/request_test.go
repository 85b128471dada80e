package dashscope

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

func TestIsMultimodal(t *testing.T) {
	tests := []struct {
		model string
		want  bool
	}{
		{"qwen-plus", false}, {"qwen-max", false}, {"qwen-turbo", false}, {"qwen3-max", false},
		{"qwq-plus", false}, {"qwen2.5-72b-instruct", false}, {"qwen3-32b", false}, {"qwen-flash", false},
		{"qwen-vl-plus", true}, {"qwen-vl-max-latest", true}, {"qwen2.5-vl-72b-instruct", true},
		{"qwen3-vl-plus", true}, {"qvq-max", true}, {"qwen-omni-turbo", true}, {"qwen3-omni-flash", true},
		{"qwen-audio-turbo", true}, {"qwen3.5-plus", true}, {"qwen3.5-flash", true}, {"qwen3.6-plus", true},
		{"Qwen3.5-Plus", true}, {"qwen4-max", true}, {"qwen3.10-plus", true}, {"qwen", false}, {"", false},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			if got := IsMultimodal(tt.model); got != tt.want {
				t.Errorf("IsMultimodal(%q) = %v, want %v", tt.model, got, tt.want)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	temp := 0.3
	tests := []struct {
		name       string
		req        chat.Request
		multimodal bool
		want       string
	}{
		{name: "text with tools and history", req: chat.Request{Model: "qwen-plus",
			Messages: []chat.Message{
				{Role: "system", Content: "sys"},
				{Role: "user", Parts: []chat.Part{{Type: "text", Text: "a"}, {Type: "text", Text: "b"}}},
				{Role: "assistant", ToolCalls: []chat.ToolCall{{ID: "call_1", Type: "function", Name: "f", Arguments: `{"x":1}`}}},
				{Role: "tool", ToolCallID: "call_1", Name: "f", Content: "42"},
			},
			Tools:      []chat.Tool{{Type: "function", Function: chat.Function{Name: "f", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`)}}},
			ToolChoice: json.RawMessage(`"auto"`),
			Params:     chat.Params{Temperature: &temp, FrequencyPenalty: &temp},
			Extra:      map[string]json.RawMessage{"enable_thinking": json.RawMessage(`false`), "metadata": json.RawMessage(`{}`)},
		}, want: `{"model":"qwen-plus","input":{"messages":[
			{"role":"system","content":"sys"},
			{"role":"user","content":"a\nb"},
			{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},
			{"role":"tool","content":"42","name":"f","tool_call_id":"call_1"}]},
			"parameters":{"enable_thinking":false,"incremental_output":true,"result_format":"message","temperature":0.3,
			"tool_choice":"auto","tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}]}}`},
		{name: "multimodal items", multimodal: true, req: chat.Request{Model: "qwen-vl-plus",
			Messages: []chat.Message{
				{Role: "system", Content: "sys"},
				{Role: "user", Parts: []chat.Part{{Type: "image_url", ImageURL: "data:image/png;base64,AAAA"}, {Type: "text", Text: "看"}}},
			}}, want: `{"model":"qwen-vl-plus","input":{"messages":[
			{"role":"system","content":[{"text":"sys"}]},
			{"role":"user","content":[{"image":"data:image/png;base64,AAAA"},{"text":"看"}]}]},
			"parameters":{"incremental_output":true,"result_format":"message"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeRequest(&tt.req, tt.multimodal, true)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	neg := int64(-1)
	tests := []struct {
		name       string
		req        chat.Request
		multimodal bool
		param      string
	}{
		{name: "negative seed", req: chat.Request{Model: "m", Params: chat.Params{Seed: &neg}}, param: "seed"},
		{name: "audio part", multimodal: true, req: chat.Request{Model: "m", Messages: []chat.Message{{Role: "user",
			Parts: []chat.Part{{Type: "input_audio", Raw: json.RawMessage(`{}`)}}}}}, param: "messages[0].content[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := encodeRequest(&tt.req, tt.multimodal, true)
			e, ok := apierr.As(err)
			if !ok || e.Status != 400 || e.Param != tt.param {
				t.Errorf("err = %v (param %q), want a 400 on %s", err, e.Param, tt.param)
			}
		})
	}
}
