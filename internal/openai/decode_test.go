package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

func TestDecodeRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		wantCode  string
		wantParam string
	}{
		{"empty", ``, "invalid_json", ""},
		{"not an object", `[1,2]`, "invalid_json", ""},
		{"truncated", `{"model":"chat","messages":[`, "invalid_json", ""},
		{"invalid utf8", "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", "invalid_encoding", ""},
		{"model wrong type", `{"model":5,"messages":[{"role":"user","content":"hi"}]}`, "invalid_type", "model"},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, "missing_model", "model"},
		{"missing messages", `{"model":"chat"}`, "missing_messages", "messages"},
		{"empty messages", `{"model":"chat","messages":[]}`, "missing_messages", "messages"},
		{"bad role", `{"model":"chat","messages":[{"role":"robot","content":"hi"}]}`, "invalid_value", "messages[0].role"},
		{"content number", `{"model":"chat","messages":[{"role":"user","content":5}]}`, "invalid_type", "messages[0].content"},
		{"user without content", `{"model":"chat","messages":[{"role":"user"}]}`, "missing_value", "messages[0].content"},
		{"tool without id", `{"model":"chat","messages":[{"role":"tool","content":"x"}]}`, "missing_value", "messages[0].tool_call_id"},
		{"image without url", `{"model":"chat","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, "missing_value", "messages[0].content[0].image_url.url"},
		{"image bad scheme", `{"model":"chat","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`, "invalid_value", "messages[0].content[0].image_url.url"},
		{"n=2", `{"model":"chat","n":2,"messages":[{"role":"user","content":"hi"}]}`, "unsupported_value", "n"},
		{"stream options without stream", `{"model":"chat","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, "invalid_value", "stream_options"},
		{"stop wrong type", `{"model":"chat","stop":5,"messages":[{"role":"user","content":"hi"}]}`, "invalid_type", "stop"},
		{"tool not function", `{"model":"chat","tools":[{"type":"retrieval"}],"messages":[{"role":"user","content":"hi"}]}`, "invalid_value", "tools[0].type"},
		{"temperature string", `{"model":"chat","temperature":"hot","messages":[{"role":"user","content":"hi"}]}`, "invalid_type", "temperature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.body), Limits{})
			e, ok := apierr.As(err)
			if !ok {
				t.Fatalf("err = %v, want *apierr.Error", err)
			}
			if e.Status != 400 || e.Code != tc.wantCode || e.Param != tc.wantParam {
				t.Errorf("got status %d code %q param %q; want 400 %q %q (%s)", e.Status, e.Code, e.Param, tc.wantCode, tc.wantParam, e.Message)
			}
		})
	}
}

func TestDecodeRequestTooManyMessages(t *testing.T) {
	msgs := strings.Repeat(`{"role":"user","content":"x"},`, 11)
	body := `{"model":"chat","messages":[` + strings.TrimSuffix(msgs, ",") + `]}`
	_, err := DecodeRequest([]byte(body), Limits{MaxMessages: 10})
	if e, ok := apierr.As(err); !ok || e.Code != "too_many_messages" {
		t.Fatalf("err = %v, want too_many_messages", err)
	}
	if _, err := DecodeRequest([]byte(body), Limits{MaxMessages: 11}); err != nil {
		t.Fatalf("11 messages with limit 11: %v", err)
	}
}

func TestDecodeRequestFull(t *testing.T) {
	body := `{
	  "model": "chat", "stream": true, "stream_options": {"include_usage": true},
	  "temperature": 0.5, "max_completion_tokens": 100, "stop": "END", "seed": 7,
	  "enable_thinking": true, "vendor_thing": {"a": [1, 2]},
	  "tools": [{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
	  "tool_choice": "auto",
	  "messages": [
	    {"role":"developer","content":"be brief"},
	    {"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},{"type":"input_audio","input_audio":{"data":"x"}}]},
	    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"北京\"}"}}]},
	    {"role":"tool","tool_call_id":"c1","content":"晴"}
	  ]}`
	req, err := DecodeRequest([]byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	temp, maxTok, seed := 0.5, 100, int64(7)
	want := &chat.Request{
		Model: "chat", Stream: true, IncludeUsage: true,
		Params:     chat.Params{Temperature: &temp, MaxTokens: &maxTok, Seed: &seed, Stop: []string{"END"}},
		ToolChoice: json.RawMessage(`"auto"`),
		Tools:      []chat.Tool{{Type: "function", Function: chat.Function{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}},
		Extra:      map[string]json.RawMessage{"enable_thinking": json.RawMessage(`true`), "vendor_thing": json.RawMessage(`{"a": [1, 2]}`)},
		Messages: []chat.Message{
			{Role: "system", Content: "be brief"},
			{Role: "user", Parts: []chat.Part{
				{Type: "text", Text: "what is this?"},
				{Type: "image_url", ImageURL: "data:image/png;base64,AAAA", Detail: "low"},
				{Type: "input_audio", Raw: json.RawMessage(`{"type":"input_audio","input_audio":{"data":"x"}}`)},
			}},
			{Role: "assistant", ToolCalls: []chat.ToolCall{{ID: "c1", Type: "function", Name: "get_weather", Arguments: `{"city":"北京"}`}}},
			{Role: "tool", ToolCallID: "c1", Content: "晴"},
		},
	}
	if d := cmp.Diff(want, req); d != "" {
		t.Errorf("decoded request mismatch (-want +got):\n%s", d)
	}

	// Encoding for an upstream and decoding again gives the same request: nothing is lost,
	// unknown fields included.
	out, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeRequest(out, Limits{})
	if err != nil {
		t.Fatalf("decode of encoded request: %v\n%s", err, out)
	}
	again.Extra["vendor_thing"] = compact(t, again.Extra["vendor_thing"])
	want.Extra["vendor_thing"] = compact(t, want.Extra["vendor_thing"])
	if d := cmp.Diff(want, again); d != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", d)
	}
}

func compact(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return b
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"model":"chat","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"chat","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x"}}]}],"tools":[{"type":"function","function":{"name":"f"}}]}`))
	f.Add([]byte(`{"model":"chat","stop":["a","b"],"messages":[{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body, Limits{MaxMessages: 64})
		if err != nil {
			if _, ok := apierr.As(err); !ok {
				t.Fatalf("error is not an *apierr.Error: %v", err)
			}
			return
		}
		if req.Model == "" || len(req.Messages) == 0 || len(req.Messages) > 64 {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		if _, err := EncodeRequest(req); err != nil {
			t.Fatalf("cannot encode a decoded request: %v", err)
		}
	})
}

// FuzzDecodeResponse: a whole upstream answer that decodes survives a round trip through
// the gateway's own encoding unchanged.
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"你好"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`))
	f.Add([]byte(`{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`))
	f.Add([]byte(`{"error":{"message":"Output data may contain inappropriate content.","type":"data_inspection_failed","code":"data_inspection_failed"}}`))
	f.Add([]byte(`{"choices":[{"message":{"content":"a","reasoning_content":"r"},"finish_reason":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, eb, err := DecodeResponse(body)
		if err != nil || eb != nil {
			return
		}
		b, err := EncodeResponse(Meta{ID: "chatcmpl-1", Model: "m"}, r)
		if err != nil {
			t.Fatalf("cannot encode a decoded response: %v", err)
		}
		again, eb, err := DecodeResponse(b)
		if err != nil || eb != nil {
			t.Fatalf("own encoding does not decode: %v %v\n%s", err, eb, b)
		}
		if r.FinishReason == "" {
			r.FinishReason = chat.FinishStop // the encoder's default for an answer without one
		}
		if d := cmp.Diff(r, again); d != "" {
			t.Fatalf("round trip differs (-first +again):\n%s", d)
		}
	})
}

// FuzzTextResponseDecode: whatever the reflection-free answer decoder accepts, the general
// one decodes to the same response.
func FuzzTextResponseDecode(f *testing.F) {
	for _, s := range textResponses {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`))
	f.Add([]byte(`{"error":{"message":"bad","type":"t","code":"data_inspection_failed"}}`))
	f.Add([]byte(`{"choices":[{"message":{"content":"a"}},{"message":{"content":"b"}}]}`))
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":1.5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeTextResponse(data)
		if !ok {
			return
		}
		slow, eb, err := decodeResponse(data)
		if err != nil || eb != nil {
			t.Fatalf("fast path accepted what the general decoder refuses (%v, %v): %q", err, eb, data)
		}
		if d := cmp.Diff(slow, fast); d != "" {
			t.Fatalf("responses differ (-general +fast) for %q:\n%s", data, d)
		}
	})
}

var textResponses = []string{
	`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"qwen-plus","choices":[{"index":0,"message":{"role":"assistant","content":"你好\n\"世界\""},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":1}},"system_fingerprint":null}`,
	`{"choices":[{"message":{"role":"assistant","content":null,"reasoning_content":"想一想","refusal":null,"tool_calls":null},"finish_reason":null}],"usage":null}`,
	` { "choices" : [ { "index" : 0 , "message" : { "content" : "x" , "audio" : null } , "finish_reason" : "length" } ] , "usage" : { "prompt_tokens" : 1 , "completion_tokens" : 2 , "completion_tokens_details" : { "reasoning_tokens" : 1 , "audio_tokens" : 0 } , "prompt_tokens_details" : null } } `,
}

// TestTextResponseFastPath: the common answers take the reflection-free path, with the
// general decoder's result.
func TestTextResponseFastPath(t *testing.T) {
	for _, s := range textResponses {
		fast, ok := decodeTextResponse([]byte(s))
		if !ok {
			t.Errorf("fast path refused %s", s)
			continue
		}
		slow, _, err := decodeResponse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(slow, fast); d != "" {
			t.Errorf("%s (-general +fast):\n%s", s, d)
		}
	}
}

// FuzzTextChunkDecode: whatever the reflection-free chunk decoder accepts, the general one
// decodes to the same chunk.
func FuzzTextChunkDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"你好"},"finish_reason":null,"logprobs":null}],"system_fingerprint":null}`,
		`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"content":null,"reasoning_content":"a\nb\"c\\d\/e\tf"},"finish_reason":"stop"}],"usage":null}`,
		`{"choices":[{"delta":{"tool_calls":null,"content":"x"}}]}`,
		`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
		`{"choices":[{"index":0,"delta":{"content":"x"}},{"index":1,"delta":{"content":"y"}}]}`,
		`{"error":{"message":"bad","type":"t","code":"data_inspection_failed"}}`,
		` { "choices" : [ { "delta" : { "content" : "\u4f60" } } ] , "x" : [1, -2.5e3, true, {"a": []}] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeTextChunk(data)
		if !ok {
			return
		}
		slow, eb, err := decodeChunk(data)
		if err != nil || eb != nil {
			t.Fatalf("fast path accepted what the general decoder refuses (%v, %v): %q", err, eb, data)
		}
		if d := cmp.Diff(slow, fast); d != "" {
			t.Fatalf("chunks differ (-general +fast) for %q:\n%s", data, d)
		}
	})
}

// TestTextChunkFastPath: the common events take the reflection-free path; the others are
// left to the general decoder.
func TestTextChunkFastPath(t *testing.T) {
	for _, tc := range []struct {
		data string
		fast bool
	}{
		{`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"你好\n"},"finish_reason":null,"logprobs":null}],"system_fingerprint":null}`, true},
		{`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`, true},
		{`{"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"想"},"finish_reason":null}]}`, true},
		{`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`, true},
		{`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`, false},
		{`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, true},
		{`{"id":"c","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":null}}`, true},
		{`{"error":{"message":"bad","type":"t","code":"x"}}`, false},
		{`{"choices":[{"delta":{"content":"\u4f60"}}]}`, false},
	} {
		c, ok := decodeTextChunk([]byte(tc.data))
		if ok != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.data, ok, tc.fast)
			continue
		}
		want, _, err := decodeChunk([]byte(tc.data))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if d := cmp.Diff(want, c); d != "" {
				t.Errorf("%s (-general +fast):\n%s", tc.data, d)
			}
		}
		if got, _, _ := DecodeChunk([]byte(tc.data)); !cmp.Equal(got, want) {
			t.Errorf("%s: DecodeChunk = %+v, want %+v", tc.data, got, want)
		}
	}
}

// FuzzDecodeMembers: whatever the one-pass member decoder accepts, the two-pass split (the
// reference) decodes to the same members, known and unknown.
func FuzzDecodeMembers(f *testing.F) {
	f.Add(benchBody)
	f.Add([]byte(`{"model":"chat","messages":[{"role":"user","content":"hi"}],"x-vendor":{"a":[1, 2 ,"三"]},"n":1}`))
	f.Add([]byte(`{"model":"a","model":"b","messages":[]}`))
	f.Add([]byte(`{"x":1,"model":"chat","messages":[{"role":"user","content":"hi"}],"x":{"b":2}}`))
	f.Add([]byte(` {"mod\u0065l":"chat","stream_options":{"include_usage":true},"stream":true,"stop":"x"} `))
	f.Add([]byte(`{"model":"chat"} {}`))
	f.Add([]byte(`{"temperature":"hot","messages":[{"role":1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast wireRequest
		extra, ok := decodeMembers(body, &fast)
		if !ok {
			return
		}
		var ref wireRequest
		refExtra, err := splitMembers(body, &ref)
		if err != nil {
			t.Fatalf("one pass accepted what two passes refuse (%v): %s", err, body)
		}
		if d := cmp.Diff(ref, fast, cmp.AllowUnexported(wireRequest{})); d != "" {
			t.Fatalf("known members differ (-two passes +one):\n%s", d)
		}
		if d := cmp.Diff(refExtra, extra); d != "" {
			t.Fatalf("unknown members differ (-two passes +one):\n%s", d)
		}
	})
}

// TestDecodeMembersTakesCommonBodies: ordinary requests take the one-pass path (the fuzz
// test above only holds it to the reference when it does).
func TestDecodeMembersTakesCommonBodies(t *testing.T) {
	for _, body := range []string{
		string(benchBody),
		`{"model":"chat","messages":[{"role":"user","content":"hi"}],"x-vendor":{"a":1}}`,
		`{"model":"chat","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],"tool_choice":"auto"}`,
	} {
		var w wireRequest
		if _, ok := decodeMembers([]byte(body), &w); !ok || w.Model != "chat" {
			t.Errorf("one pass refused %s", body)
		}
	}
	// A repeated name, known or not, goes to the two passes, where the last one wins.
	for _, body := range []string{
		`{"x":1,"model":"chat","messages":[{"role":"user","content":"hi"}],"x":{"b":2}}`,
		`{"model":"a","messages":[{"role":"user","content":"hi"}],"model":"chat","x":{"b":2}}`,
	} {
		var w wireRequest
		if _, ok := decodeMembers([]byte(body), &w); ok {
			t.Errorf("one pass took a repeated name: %s", body)
		}
		req, err := DecodeRequest([]byte(body), Limits{})
		if err != nil || req.Model != "chat" || string(req.Extra["x"]) != `{"b":2}` {
			t.Errorf("%s: got %+v, %v; want the last of each", body, req, err)
		}
	}
}

// FuzzDecodeCommon holds the reflection-free path to the general one: whatever the body, the
// request (or the error) is the same with it as without it.
func FuzzDecodeCommon(f *testing.F) {
	for _, s := range commonBodies {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"model":"chat","messages":[{"role":"tool","content":"x","tool_call_id":"1"}]}`))
	f.Add([]byte(`{"model":"chat","messages":[{"role":"user","content":null}]}`))
	f.Add([]byte(`{"model":"chat","messages":[{"role":"user","content":"a","role":"system"}]}`))
	f.Add([]byte(`{"model":"chat","messages":[{"role":"user","content":"\ud800\u0041 \udc00 \ud83d\ude00 \ud83d"}]}`))
	f.Add([]byte(`{"model":"chat","max_tokens":1.5,"seed":-0,"n":2,"temperature":1e400,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"chat","stream_options":{},"messages":[{"role":"bot","content":"hi"}]}`))
	f.Add([]byte(`{"model":"chat","tools":[{"type":"function","function":{"name":"","parameters":null}}],"messages":[{"role":"user","content":"hi"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := Limits{MaxMessages: 3}
		want, wantErr := decodeRequest(body, lim, false)
		got, gotErr := decodeRequest(body, lim, true)
		// Errors come from the general path either way; of two bad members it may report
		// either (splitMembers), so only the kind of error is compared.
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && errCode(wantErr) != errCode(gotErr) {
			t.Fatalf("error %v, general path %v: %s", gotErr, wantErr, body)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("request differs (-general +common):\n%s\nbody: %s", d, body)
		}
	})
}

func errCode(err error) string {
	if e, ok := apierr.As(err); ok {
		return e.Code
	}
	return err.Error()
}

var commonBodies = []string{
	string(benchBody),
	`{"model":"chat","messages":[{"role":"user","content":"hi"}],"x-vendor":{"a":[1, 2 ,"三"]},"n":1}`,
	` {"model" : "chat" ,"messages":[ {"role":"developer","content":"be brief","name":"ops"} , {"role":"user","content":""}],"stream":false} `,
	`{"model":"chat","messages":[{"role":"user","content":"\u4f60\u597d\uD83D\uDE00 \"q\" \\ \/ \n\t\r\b\f"}],"stop":["\u3002","\n"],"tool_choice":"auto","Model":"x"}`,
	`{"model":"chat","stream":true,"stream_options":{"include_usage":false},"temperature":0,"top_p":1E-2,"max_tokens":100,"max_completion_tokens":50,"seed":-9007199254740993,"presence_penalty":-0.5,"frequency_penalty":2,"n":1,"messages":[{"role":"assistant","content":"ok"},{"role":"user","content":"again"}]}`,
	`{"model":"chat","tools":[],"messages":[{"role":"system","content":"s"}],"metadata":{"k":"\u00e9"},"user":"u-1","logit_bias":{"50256":-100}}`,
}

// TestDecodeCommonTakesCommonBodies: ordinary requests take the reflection-free path (the
// fuzz test above only holds it to the general path when it does), and what it cannot decode
// goes the general way.
func TestDecodeCommonTakesCommonBodies(t *testing.T) {
	for _, body := range commonBodies {
		var w wireRequest
		if _, _, ok := decodeCommon([]byte(strings.TrimSpace(body)), &w, Limits{}); !ok {
			t.Errorf("the common path refused %s", body)
		}
	}
	for _, body := range []string{
		`{"model":"chat","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"chat","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
		`{"model":"chat","messages":[{"role":"user","content":"hi"}],"model":"again"}`,
		`{"model":"chat","messages":[]}`,
	} {
		var w wireRequest
		if _, _, ok := decodeCommon([]byte(body), &w, Limits{}); ok {
			t.Errorf("the common path took %s", body)
		}
		if _, err := DecodeRequest([]byte(body), Limits{}); err != nil && !strings.Contains(body, `"messages":[]`) {
			t.Errorf("%s: %v", body, err)
		}
	}
}
