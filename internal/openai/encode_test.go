package openai

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/label"
)

func TestChunkRoundTrip(t *testing.T) {
	meta := Meta{ID: "chatcmpl-1", Created: 1, Model: "qwen-plus", Extra: map[string]any{"aigc": map[string]string{"Label": "1"}}}
	for _, tc := range []struct {
		name string
		in   chat.Chunk
	}{
		{"role", chat.Chunk{Delta: chat.Delta{Role: "assistant"}}},
		{"content", chat.Chunk{Delta: chat.Delta{Content: "你好"}}},
		{"reasoning", chat.Chunk{Delta: chat.Delta{ReasoningContent: "think"}}},
		{"tool", chat.Chunk{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 1, ID: "c", Type: "function", Name: "f", Arguments: "{\"a\""}}}}},
		{"finish", chat.Chunk{FinishReason: "stop"}},
		{"usage only", chat.Chunk{Usage: &chat.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7, ReasoningTokens: 1, CachedTokens: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendChunk(nil, meta, tc.in, true)
			if err != nil {
				t.Fatal(err)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(b, &top); err != nil {
				t.Fatalf("not JSON: %s", b)
			}
			if _, ok := top["aigc"]; !ok {
				t.Errorf("extra member missing: %s", b)
			}
			got, eb, err := DecodeChunk(b)
			if err != nil || eb != nil {
				t.Fatalf("decode: %v %v", err, eb)
			}
			if d := cmp.Diff(tc.in, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s\n%s", d, b)
			}
		})
	}
}

func TestEncodeResponse(t *testing.T) {
	r := chat.Response{
		Message:      chat.Message{Role: "assistant", ToolCalls: []chat.ToolCall{{ID: "c1", Type: "function", Name: "f", Arguments: "{}"}}},
		FinishReason: "tool_calls",
		Usage:        &chat.Usage{PromptTokens: 1, CompletionTokens: 2},
	}
	b, err := EncodeResponse(Meta{ID: "x", Model: "m", Extra: map[string]any{"privacy": map[string]int{"phone": 1}}}, r)
	if err != nil {
		t.Fatal(err)
	}
	got, eb, err := DecodeResponse(b)
	if err != nil || eb != nil {
		t.Fatal(err, eb)
	}
	r.Usage.TotalTokens = 3 // filled in by the encoder
	if d := cmp.Diff(r, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	var top struct {
		Choices []struct {
			Message struct {
				Content *string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Privacy map[string]int `json:"privacy"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if top.Choices[0].Message.Content != nil {
		t.Errorf("content should be null for a tool-call-only answer: %s", b)
	}
	if top.Privacy["phone"] != 1 {
		t.Errorf("extra member lost: %s", b)
	}
}

func TestDecodeUpstreamError(t *testing.T) {
	_, eb, err := DecodeChunk([]byte(`{"error":{"message":"Output data may contain inappropriate content.","type":"data_inspection_failed","param":null,"code":"data_inspection_failed"}}`))
	if err != nil || eb == nil || eb.Code != "data_inspection_failed" {
		t.Fatalf("got %+v, %v", eb, err)
	}
	if e := DecodeError([]byte(`{"error":{"message":"x","type":"t","code":429}}`)); e == nil || e.Code != "429" {
		t.Fatalf("numeric code: %+v", e)
	}
	if e := DecodeError([]byte(`not json`)); e != nil {
		t.Fatalf("garbage decoded as error: %+v", e)
	}
}

// TestTextChunkMatchesGeneric: the reflection-free path renders the common chunks byte for
// byte as encoding/json does.
func TestTextChunkMatchesGeneric(t *testing.T) {
	meta := Meta{ID: "chatcmpl-<1>&\"x\"", Created: 1700000000, Model: "qwen-plus"}
	for _, c := range []chat.Chunk{
		{Delta: chat.Delta{Role: "assistant"}},
		{Delta: chat.Delta{Role: "assistant", Content: "你好"}},
		{Delta: chat.Delta{Content: "a\"b\\c\n\r\t\b\f\x00\x1f<>&\u2028\u2029\xff end"}},
		{Delta: chat.Delta{ReasoningContent: "思考"}},
		{Delta: chat.Delta{Role: "assistant", ReasoningContent: "r"}},
		{Delta: chat.Delta{Content: "c", ReasoningContent: "r"}},
		{FinishReason: "stop"},
		{Delta: chat.Delta{Content: "end"}, FinishReason: "content_filter"},
		{},
		{Usage: &chat.Usage{PromptTokens: 3, CompletionTokens: 4}},
		{Usage: &chat.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 9, ReasoningTokens: 1, CachedTokens: 2}},
		{Delta: chat.Delta{Content: "end"}, FinishReason: "stop", Usage: &chat.Usage{PromptTokens: 1}},
		{FinishReason: "length", Usage: &chat.Usage{CompletionTokens: 1}},
	} {
		fast, err := AppendChunk(nil, meta, c, false)
		if err != nil {
			t.Fatal(err)
		}
		generic, err := encodeChunk(meta, c)
		if err != nil {
			t.Fatal(err)
		}
		if string(fast) != string(generic) {
			t.Errorf("chunk %+v:\n fast    %s\n generic %s", c, fast, generic)
		}
	}
}

// referenceChunk is a chunk with its extra members as encoding/json renders them and
// mergeTopLevel adds them: what EncodeChunk must produce, frozen or not.
func referenceChunk(t *testing.T, meta Meta, c chat.Chunk) string {
	t.Helper()
	b, err := encodeChunk(meta, c)
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]json.RawMessage{}
	for k, v := range meta.Extra {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		extra[k] = raw
	}
	b, err = mergeTopLevel(b, extra)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChunkExtra: extra members, encoded per chunk or once by Freeze, come after the
// chunk's own members in key order, and never replace one of them.
func TestChunkExtra(t *testing.T) {
	extra := map[string]any{
		"privacy": map[string]int{"phone": 1}, "aigc": map[string]string{"Label": "1"},
		"model": "not this", "usage": "only without usage", "zz<&>": []int{1},
	}
	for _, c := range []chat.Chunk{
		{Delta: chat.Delta{Role: "assistant", Content: "你好"}},
		{FinishReason: "stop"},
		{Usage: &chat.Usage{PromptTokens: 3, CompletionTokens: 4}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "c", Name: "f"}}}},
	} {
		meta := Meta{ID: "chatcmpl-1", Created: 1, Model: "m", Extra: extra}
		want := referenceChunk(t, meta, c)
		got, err := AppendChunk(nil, meta, c, true)
		if err != nil || string(got) != want {
			t.Errorf("chunk %+v:\n got  %s (%v)\n want %s", c, got, err, want)
		}
		if err := meta.Freeze(); err != nil {
			t.Fatal(err)
		}
		frozen, err := AppendChunk(nil, meta, c, true)
		if err != nil || string(frozen) != want {
			t.Errorf("frozen chunk %+v:\n got  %s (%v)\n want %s", c, frozen, err, want)
		}
	}
	if err := (&Meta{Extra: map[string]any{"bad": func() {}}}).Freeze(); err == nil {
		t.Error("Freeze encoded a function")
	}
}

func FuzzTextChunk(f *testing.F) {
	f.Add("chatcmpl-1", int64(1), "qwen-plus", "assistant", "你好", "", "", -1, 0, 0, 0, 0)
	f.Add("", int64(-5), "m\u2028", "", "<a href=\"x\">&amp;</a>\n", "\x7f\xc3(", "stop", 0, 0, 0, 0, 0)
	f.Add("i", int64(0), "m", "", "", "", "", 3, 4, 0, 2, 1)
	f.Fuzz(func(t *testing.T, id string, created int64, model, role, content, reasoning, finish string,
		prompt, completion, total, cached, thought int) {
		meta := Meta{ID: id, Created: created, Model: model}
		c := chat.Chunk{Delta: chat.Delta{Role: role, Content: content, ReasoningContent: reasoning}, FinishReason: finish}
		if prompt >= 0 { // usage, on its own or on a chunk with text
			c.Usage = &chat.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: total, CachedTokens: cached, ReasoningTokens: thought}
		}
		fast, _ := AppendChunk(nil, meta, c, false)
		generic, err := encodeChunk(meta, c)
		if err != nil {
			t.Fatal(err)
		}
		if string(fast) != string(generic) {
			t.Fatalf("fast %s\ngeneric %s", fast, generic)
		}
	})
}

// FuzzEncodeResponse holds the hand-written EncodeResponse to the reflective encoding, byte
// for byte: content, reasoning and tool calls in any combination, usage or none, and extra
// members before, between, after and on top of the object's own (which win).
func FuzzEncodeResponse(f *testing.F) {
	f.Add("chatcmpl-1", int64(1), "qwen-plus", "你好", "", "", "stop", 3, 4, 0, 0, uint8(0b11), "x")
	f.Add("", int64(-5), "m\u2028", "<a>&amp;</a>\n", "\x7f\xc3(", "{\"a\":1}", "", 0, 0, 2, 5, uint8(0xff), "\xff")
	f.Add("i", int64(0), "m", "", "", "", "tool_calls", 1, 1, 0, 0, uint8(0b100100), "")
	f.Fuzz(func(t *testing.T, id string, created int64, model, content, reasoning, args, finish string,
		prompt, completion, cached, thought int, extras uint8, extraValue string) {
		r := chat.Response{Message: chat.Message{Role: chat.RoleAssistant, Content: content, ReasoningContent: reasoning}, FinishReason: finish}
		if args != "" {
			r.Message.ToolCalls = []chat.ToolCall{{ID: "call_1", Name: "f", Arguments: args}}
		}
		if prompt != 0 || completion != 0 || cached != 0 || thought != 0 {
			r.Usage = &chat.Usage{PromptTokens: prompt, CompletionTokens: completion, CachedTokens: cached, ReasoningTokens: thought}
		}
		meta := Meta{ID: id, Created: created, Model: model}
		// Each bit of extras adds one extra member; the keys fall before, among and after
		// the object's own.
		keys := []string{"aigc", "choices", "id", "privacy", "usage", "zz", "model", "a"}
		for i, k := range keys {
			if extras&(1<<i) == 0 {
				continue
			}
			if meta.Extra == nil {
				meta.Extra = map[string]any{}
			}
			switch i % 3 {
			case 0:
				meta.Extra[k] = map[string]int{"phone": prompt, "name": completion}
			case 1:
				meta.Extra[k] = extraValue
			default:
				meta.Extra[k] = struct {
					A string `json:"A"`
					B int    `json:"B"`
				}{extraValue, thought}
			}
		}
		fast, err := EncodeResponse(meta, r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := encodeResponse(meta, r)
		if err != nil {
			t.Fatal(err)
		}
		if string(fast) != string(want) {
			t.Fatalf("hand-written %s\nreflective  %s", fast, want)
		}
		// Frozen extras (a stream's, reused) encode the same.
		if meta.Extra != nil {
			if err := meta.Freeze(); err != nil {
				t.Fatal(err)
			}
			if frozen, _ := EncodeResponse(meta, r); string(frozen) != string(want) {
				t.Fatalf("with frozen extras %s\nreflective        %s", frozen, want)
			}
		}
	})
}

// encodeResponse is EncodeResponse by reflection: the reference the fuzz test holds the
// hand-written encoder to.
func encodeResponse(meta Meta, r chat.Response) ([]byte, error) {
	msg := wireRespMessage{Role: chat.RoleAssistant, ReasoningContent: r.Message.ReasoningContent}
	if r.Message.Content != "" || len(r.Message.ToolCalls) == 0 {
		c := r.Message.Content
		msg.Content = &c
	}
	for i, tc := range r.Message.ToolCalls {
		_ = i
		msg.ToolCalls = append(msg.ToolCalls, wireToolCall{ID: tc.ID, Type: orDefault(tc.Type, "function"),
			Function: wireFunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
	}
	finish := r.FinishReason
	if finish == "" {
		finish = chat.FinishStop
	}
	obj := map[string]any{
		"id":      meta.ID,
		"object":  "chat.completion",
		"created": meta.Created,
		"model":   meta.Model,
		"choices": []wireChoice{{Index: 0, Message: msg, FinishReason: finish}},
	}
	if r.Usage != nil {
		obj["usage"] = encodeUsage(r.Usage)
	}
	for k, v := range meta.Extra {
		if _, taken := obj[k]; !taken {
			obj[k] = v
		}
	}
	return json.Marshal(obj)
}

// TestEncodeResponseOddExtras: extras the fuzz test does not make — a nil pointer to a
// JSONAppender, and a member json.Marshal cannot encode under a name the object already
// has (never encoded, as when the object was a map) — come out as the reference's.
func TestEncodeResponseOddExtras(t *testing.T) {
	r := chat.Response{Message: chat.Message{Role: chat.RoleAssistant, Content: "hi"}}
	for name, extra := range map[string]map[string]any{
		"nil appender":         {"aigc": (*label.Implicit)(nil)},
		"unencodable under id": {"id": math.NaN(), "privacy": map[string]int{"phone": 1}},
		"nil receipt":          {"privacy": map[string]int(nil)},
	} {
		meta := Meta{ID: "x", Model: "m", Extra: extra}
		got, err := EncodeResponse(meta, r)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, err := encodeResponse(meta, r)
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
		}
	}
}

// FuzzEncodeTextRequest holds the reflection-free request encoder to the reflective one: for
// every request it takes (decoded from the fuzzed body), the bytes are the same.
func FuzzEncodeTextRequest(f *testing.F) {
	for _, s := range commonBodies {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"model":"m<&>","messages":[{"role":"user","content":"a<b>&\u2028c","name":"n"}],"temperature":1e-7,"top_p":1e21,"presence_penalty":-0.0000012345,"frequency_penalty":123456789012345678901234,"stop":["</s>","\n"],"seed":-1,"max_tokens":0,"stream":true,"stream_options":{"include_usage":true},"zz":{"a" : 1},"aa":[ 1 ]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":"","reasoning_content":"r"},{"role":"tool","content":"x","tool_call_id":"1"}],"stream":false,"stream_options":{"include_usage":false}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body, Limits{})
		if err != nil {
			return
		}
		fast, ok := appendTextRequest(nil, req)
		if !ok {
			return
		}
		ref, err := encodeRequest(req)
		if err != nil {
			t.Fatalf("the reflective encoder refuses what the fast one took: %v", err)
		}
		if !bytes.Equal(fast, ref) {
			t.Fatalf("encodings differ:\nfast: %s\nref:  %s", fast, ref)
		}
	})
}

// TestEncodeTextRequestTakesCommonRequests: text requests take the reflection-free path;
// tools, tool calls and parts are left to the reflective one.
func TestEncodeTextRequestTakesCommonRequests(t *testing.T) {
	for _, body := range []string{commonBodies[1], commonBodies[2], commonBodies[4]} {
		req, err := DecodeRequest([]byte(body), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := appendTextRequest(nil, req)
		ref, _ := encodeRequest(req)
		if !ok || !bytes.Equal(fast, ref) {
			t.Errorf("%s: fast path %v\nfast: %s\nref:  %s", body, ok, fast, ref)
		}
	}
	for _, body := range []string{
		string(benchBody), // tools
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
	} {
		req, err := DecodeRequest([]byte(body), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := appendTextRequest(nil, req); ok {
			t.Errorf("fast path took %s", body)
		}
	}
}

func TestAppendCountsMatchesMarshal(t *testing.T) {
	for _, m := range []map[string]int{
		nil,
		{},
		{"phone": 1},
		{"phone": 2, "name": 1, "id_card": 1, "address": 3, "email": -1},
		{"<b>&": 1, "引号\"": 0, "a\u2028": 7}, // escaped as json.Marshal escapes them
		{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendCounts([]byte("x"), m); string(got) != "x"+string(want) {
			t.Errorf("AppendCounts(%v) = %s, want x%s", m, got, want)
		}
	}
}
