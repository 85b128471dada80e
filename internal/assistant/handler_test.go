package assistant

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// fakeModel stands in for the gateway pipeline: it records requests and answers with fixed
// chunks, the way a provider stream arrives (content deltas, tool-call fragments).
type fakeModel struct {
	t      testing.TB
	chunks []chat.Chunk
	err    error
	meta   Meta
	reqs   []*chat.Request
	forbid bool // fail the test if called
}

func (f *fakeModel) Chat(_ context.Context, req *chat.Request) (chat.Stream, Meta, error) {
	if f.forbid {
		f.t.Errorf("model called for %q; the fast path must answer without it", req.Messages[len(req.Messages)-1].Content)
	}
	f.reqs = append(f.reqs, req)
	if f.err != nil {
		return nil, Meta{}, f.err
	}
	return chat.NewSliceStream(f.chunks...), f.meta, nil
}

func (f *fakeModel) LocalMeta() Meta { return Meta{Filing: "Beijing-QiaoAI-20260101"} }

var _ LocalMeta = (*fakeModel)(nil)

const fixedNow = "2026-11-23T10:00:00+08:00"

func turnBody(t testing.TB, utterance, locale string, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"utterance": utterance, "locale": locale,
		"device":  map[string]any{"time_zone": "Asia/Shanghai", "now": fixedNow},
		"intents": catalogIntents(nil),
	}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t testing.TB, h *Handler, body []byte, env Env) (*httptest.ResponseRecorder, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/assistant/turns", bytes.NewReader(body))
	w := httptest.NewRecorder()
	err := h.ServeTurn(w, r, env)
	return w, err
}

func decodeResp(t testing.TB, w *httptest.ResponseRecorder) TurnResponse {
	t.Helper()
	var resp TurnResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return resp
}

func TestServeTurnBadInput(t *testing.T) {
	h := newTestHandler(t)
	good := func(mod func(m map[string]any)) []byte {
		m := map[string]any{"utterance": "打开蓝牙", "locale": "zh-CN", "device": map[string]any{"time_zone": "Asia/Shanghai"}}
		mod(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := []struct {
		name   string
		body   []byte
		status int
		code   string
		param  string
	}{
		{"empty utterance", good(func(m map[string]any) { m["utterance"] = "" }), 400, CodeInvalidUtterance, "utterance"},
		{"blank utterance", good(func(m map[string]any) { m["utterance"] = " \n\t " }), 400, CodeInvalidUtterance, "utterance"},
		{"enormous utterance", good(func(m map[string]any) { m["utterance"] = strings.Repeat("闹", 1001) }), 400, CodeInvalidUtterance, "utterance"},
		{"not json", []byte(`{"utterance":`), 400, CodeInvalidBody, ""},
		{"trailing data", append(good(func(map[string]any) {}), []byte(` {}`)...), 400, CodeInvalidBody, ""},
		{"wrong type", []byte(`{"utterance":42}`), 400, CodeInvalidBody, ""},
		{"unknown locale", good(func(m map[string]any) { m["locale"] = "fr-FR" }), 400, CodeUnsupported, "locale"},
		{"malformed locale", good(func(m map[string]any) { m["locale"] = "!!not a tag" }), 400, CodeUnsupported, "locale"},
		{"missing time zone", good(func(m map[string]any) { m["device"] = map[string]any{} }), 400, CodeInvalidDevice, "device.time_zone"},
		{"unknown time zone", good(func(m map[string]any) { m["device"] = map[string]any{"time_zone": "Mars/Olympus"} }), 400, CodeInvalidDevice, "device.time_zone"},
		{"bad clock", good(func(m map[string]any) {
			m["device"] = map[string]any{"time_zone": "Asia/Shanghai", "now": "tomorrow"}
		}), 400, CodeInvalidDevice, "device.now"},
		{"bad location", good(func(m map[string]any) {
			m["device"] = map[string]any{"time_zone": "Asia/Shanghai", "location": map[string]any{"latitude": 123, "longitude": 0, "consent": true}}
		}), 400, CodeInvalidDevice, "device.location"},
		{"bad conversation id", good(func(m map[string]any) { m["conversation_id"] = "../../etc" }), 400, CodeInvalidConvID, "conversation_id"},
		{"schema not an object", good(func(m map[string]any) {
			m["intents"] = []any{map[string]any{"name": "set_alarm", "parameters": "time"}}
		}), 400, CodeInvalidIntent, "intents[0].parameters"},
		{"schema of a string", good(func(m map[string]any) {
			m["intents"] = []any{map[string]any{"name": "set_alarm", "parameters": map[string]any{"type": "string"}}}
		}), 400, CodeInvalidIntent, "intents[0].parameters"},
		{"required not a property", good(func(m map[string]any) {
			m["intents"] = []any{map[string]any{"name": "set_alarm", "parameters": map[string]any{"type": "object", "properties": map[string]any{}, "required": []string{"time"}}}}
		}), 400, CodeInvalidIntent, "intents[0].parameters"},
		{"property not a schema", good(func(m map[string]any) {
			m["intents"] = []any{map[string]any{"name": "set_alarm", "parameters": map[string]any{"type": "object", "properties": map[string]any{"time": 3}}}}
		}), 400, CodeInvalidIntent, "intents[0].parameters"},
		{"duplicate intent", good(func(m map[string]any) {
			m["intents"] = []any{map[string]any{"name": "call"}, map[string]any{"name": "open_app"}, map[string]any{"name": "call"}}
		}), 400, CodeInvalidIntent, "intents[2].name"},
		{"bad intent name", good(func(m map[string]any) {
			m["intents"] = []any{map[string]any{"name": "set alarm!"}}
		}), 400, CodeInvalidIntent, "intents[0].name"},
		{"too large", append([]byte(`{"utterance":"`), bytes.Repeat([]byte("a"), MaxBodyBytes+10)...), 413, "body_too_large", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			model := &fakeModel{t: t, forbid: true}
			w, err := serve(t, h, tc.body, Env{Model: model, Tenant: "t1"})
			if err == nil {
				t.Fatalf("no error; response %d %s", w.Code, w.Body.String())
			}
			ae, ok := apierr.As(err)
			if !ok {
				t.Fatalf("error %v is not an *apierr.Error", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || ae.Param != tc.param {
				t.Errorf("got %d %s param %q (%s), want %d %s param %q", ae.Status, ae.Code, ae.Param, ae.Message, tc.status, tc.code, tc.param)
			}
			if w.Body.Len() != 0 {
				t.Errorf("handler wrote %q before returning an error", w.Body.String())
			}
		})
	}
}

// Times that do not exist get a clarifying question, never an action.
func TestNonexistentTimesClarify(t *testing.T) {
	h := newTestHandler(t)
	for _, u := range []struct{ text, locale string }{
		{"2月30号早上八点叫我", "zh-CN"}, {"25点叫我", "zh-CN"}, {"明天三点叫我", "zh-CN"},
		{"set an alarm for february 30 at 8am", "en-US"}, {"wake me up at 25:00", "en-US"},
	} {
		t.Run(u.text, func(t *testing.T) {
			w, err := serve(t, h, turnBody(t, u.text, u.locale, nil), Env{Model: &fakeModel{t: t, forbid: true}})
			if err != nil {
				t.Fatal(err)
			}
			resp := decodeResp(t, w)
			if len(resp.Actions) != 0 || !resp.ExpectFollowUp || resp.Intent != AnswerClarify || resp.DisplayText == "" {
				t.Errorf("got %+v, want a clarifying question without actions", resp)
			}
		})
	}
}

func TestFastPathAnswer(t *testing.T) {
	h := newTestHandler(t)
	model := &fakeModel{t: t, forbid: true}
	w, err := serve(t, h, turnBody(t, "给妈妈发短信说我晚点回家", "zh-CN", nil), Env{Model: model, Tenant: "t1", Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	resp := decodeResp(t, w)
	want := TurnResponse{
		ConversationID: resp.ConversationID, Path: PathFast, Intent: IntentSendMessage,
		DisplayText: "要给妈妈发送“我晚点回家”吗？", SpeechText: "要给妈妈发送“我晚点回家”吗？",
		Actions:        []Action{{Intent: IntentSendMessage, Parameters: json.RawMessage(`{"contact":"妈妈","text":"我晚点回家"}`), NeedsConfirmation: true}},
		ExpectFollowUp: false, Filing: "Beijing-QiaoAI-20260101",
	}
	if d := cmp.Diff(want, resp); d != "" {
		t.Errorf("-want +got\n%s", d)
	}
	if !strings.HasPrefix(resp.ConversationID, "c_") {
		t.Errorf("conversation id %q", resp.ConversationID)
	}
}

// toolCallChunks is a model answer that calls send_message, with the arguments split
// across chunks as providers stream them, plus a call to an intent the device did not
// declare.
func toolCallChunks() []chat.Chunk {
	return []chat.Chunk{
		{Delta: chat.Delta{Role: chat.RoleAssistant, Content: "好的，"}},
		{Delta: chat.Delta{Content: "我来帮你发给**张三**。"}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "call_1", Type: "function", Name: "send_message", Arguments: `{"contact":"张`}}}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, Arguments: `三","text":"会议改到三点"}`}}}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 1, ID: "call_2", Type: "function", Name: "format_disk", Arguments: `{}`}}}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 2, ID: "call_3", Type: "function", Name: "set_alarm", Arguments: `{"label":"x"}`}}}},
		{FinishReason: chat.FinishToolCalls},
	}
}

func TestModelPathToolCall(t *testing.T) {
	h := newTestHandler(t)
	model := &fakeModel{t: t, chunks: toolCallChunks(), meta: Meta{
		Label: json.RawMessage(`{"Label":"1","ContentProducer":"qiao"}`), PrivacyReceipt: "pii=1;restored=1", Filing: "F-1"}}
	body := turnBody(t, "帮我跟张三说一声会议改到三点，顺便问问他吃了没", "zh-CN", map[string]any{
		"device": map[string]any{"time_zone": "Asia/Shanghai", "now": fixedNow,
			"location": map[string]any{"latitude": 39.9042, "longitude": 116.4074, "city": "北京", "consent": true}},
	})
	w, err := serve(t, h, body, Env{Model: model, Tenant: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	resp := decodeResp(t, w)
	if len(model.reqs) != 1 {
		t.Fatalf("model called %d times", len(model.reqs))
	}
	want := TurnResponse{
		ConversationID: resp.ConversationID, Path: PathModel,
		DisplayText: "好的，我来帮你发给**张三**。", SpeechText: "好的，我来帮你发给张三。",
		Actions: []Action{{Intent: "send_message", Parameters: json.RawMessage(`{"contact":"张三","text":"会议改到三点"}`), NeedsConfirmation: true}},
		Label:   json.RawMessage(`{"Label":"1","ContentProducer":"qiao"}`), PrivacyReceipt: "pii=1;restored=1", Filing: "F-1",
	}
	if d := cmp.Diff(want, resp); d != "" {
		t.Errorf("-want +got\n%s", d)
	}
	req := model.reqs[0]
	if req.Model != "chat" {
		t.Errorf("model alias %q", req.Model)
	}
	if len(req.Tools) != len(catalog) || string(req.ToolChoice) != `"auto"` {
		t.Errorf("tools %d, tool_choice %s", len(req.Tools), req.ToolChoice)
	}
	sys := req.Messages[0]
	if sys.Role != chat.RoleSystem || !strings.Contains(sys.Content, "简体中文") || !strings.Contains(sys.Content, "39.9, 116.4") {
		t.Errorf("system prompt %q", sys.Content)
	}
	if strings.Contains(sys.Content, "39.9042") {
		t.Error("location must be coarse")
	}
	if last := req.Messages[len(req.Messages)-1]; last.Role != chat.RoleUser || !strings.Contains(last.Content, "张三") {
		t.Errorf("last message %+v", last)
	}
}

func TestModelPathLocationWithoutConsent(t *testing.T) {
	h := newTestHandler(t)
	model := &fakeModel{t: t, chunks: []chat.Chunk{{Delta: chat.Delta{Content: "Hi."}}}}
	body := turnBody(t, "tell me a joke", "en-US", map[string]any{
		"device": map[string]any{"time_zone": "Asia/Shanghai", "now": fixedNow,
			"location": map[string]any{"latitude": 39.9042, "longitude": 116.4074, "consent": false}},
	})
	if _, err := serve(t, h, body, Env{Model: model}); err != nil {
		t.Fatal(err)
	}
	if sys := model.reqs[0].Messages[0].Content; strings.Contains(sys, "39.9") || !strings.Contains(sys, "voice assistant") {
		t.Errorf("system prompt %q", sys)
	}
}

func TestModelPathSSE(t *testing.T) {
	h := newTestHandler(t)
	model := &fakeModel{t: t, chunks: toolCallChunks()}
	w, err := serve(t, h, turnBody(t, "帮我跟张三说一声会议改到三点", "zh-CN", map[string]any{"stream": true}), Env{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	events := parseSSE(t, w.Body.String())
	var text strings.Builder
	var final *TurnResponse
	for i, e := range events {
		switch e.name {
		case "delta":
			var d struct{ Text string }
			if err := json.Unmarshal([]byte(e.data), &d); err != nil {
				t.Fatal(err)
			}
			text.WriteString(d.Text)
		case "turn":
			if i != len(events)-1 {
				t.Errorf("turn event is not last")
			}
			final = new(TurnResponse)
			if err := json.Unmarshal([]byte(e.data), final); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("unexpected event %q", e.name)
		}
	}
	if final == nil {
		t.Fatal("no turn event")
	}
	if text.String() != final.DisplayText || len(final.Actions) != 1 || final.Actions[0].Intent != "send_message" {
		t.Errorf("deltas %q, final %+v", text.String(), final)
	}
}

func TestFastPathSSE(t *testing.T) {
	h := newTestHandler(t)
	w, err := serve(t, h, turnBody(t, "打开蓝牙", "zh-CN", map[string]any{"stream": true}), Env{Model: &fakeModel{t: t, forbid: true}})
	if err != nil {
		t.Fatal(err)
	}
	events := parseSSE(t, w.Body.String())
	if len(events) != 1 || events[0].name != "turn" || !strings.Contains(events[0].data, `"change_setting"`) {
		t.Errorf("events %+v", events)
	}
}

type sseEvent struct{ name, data string }

func parseSSE(t testing.TB, s string) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			if cur.name != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		}
	}
	return out
}

func TestModelErrors(t *testing.T) {
	h := newTestHandler(t)
	t.Run("pipeline error passes through", func(t *testing.T) {
		model := &fakeModel{t: t, err: apierr.ContentFilter("blocked by policy")}
		_, err := serve(t, h, turnBody(t, "讲个笑话", "zh-CN", nil), Env{Model: model})
		if !apierr.IsContentFilter(err) {
			t.Errorf("err = %v, want content filter", err)
		}
	})
	t.Run("no model", func(t *testing.T) {
		_, err := serve(t, h, turnBody(t, "讲个笑话", "zh-CN", nil), Env{})
		ae, ok := apierr.As(err)
		if !ok || ae.Status != http.StatusServiceUnavailable {
			t.Errorf("err = %v, want 503", err)
		}
	})
	t.Run("stream error after start becomes an error event", func(t *testing.T) {
		model := &fakeModel{t: t}
		model.chunks = []chat.Chunk{{Delta: chat.Delta{Content: "一半"}}}
		bad := &failingModel{inner: model, failAfter: 1}
		w, err := serve(t, h, turnBody(t, "讲个笑话", "zh-CN", map[string]any{"stream": true}), Env{Model: bad})
		if err != nil {
			t.Fatal(err)
		}
		ev := parseSSE(t, w.Body.String())
		if len(ev) != 2 || ev[0].name != "delta" || ev[1].name != "error" || !strings.Contains(ev[1].data, "upstream_error") {
			t.Errorf("events %+v", ev)
		}
	})
}

// failingModel's stream fails after failAfter chunks.
type failingModel struct {
	inner     Model
	failAfter int
}

func (f *failingModel) Chat(ctx context.Context, req *chat.Request) (chat.Stream, Meta, error) {
	s, m, err := f.inner.Chat(ctx, req)
	return &failingStream{Stream: s, left: f.failAfter}, m, err
}

type failingStream struct {
	chat.Stream
	left int
}

func (s *failingStream) Recv() (chat.Chunk, error) {
	if s.left == 0 {
		return chat.Chunk{}, apierr.New(502, apierr.TypeAPI, "upstream_error", "upstream failed")
	}
	s.left--
	return s.Stream.Recv()
}

func TestFollowUps(t *testing.T) {
	cases := []struct {
		name, first, reply, locale string
		intent                     string
		params                     string
	}{
		{"am pm", "明天三点叫我", "下午", "zh-CN", IntentSetAlarm, `{"time":"2026-11-24T15:00:00+08:00"}`},
		{"missing time", "设个闹钟", "七点", "zh-CN", IntentSetAlarm, `{"time":"2026-11-23T19:00:00+08:00"}`},
		{"impossible date", "2月30号早上八点叫我", "3月1号早上八点", "zh-CN", IntentSetAlarm, `{"time":"2027-03-01T08:00:00+08:00"}`},
		{"message text", "给妈妈发消息", "我晚点回家", "zh-CN", IntentSendMessage, `{"contact":"妈妈","text":"我晚点回家"}`},
		{"reminder text", "明天早上八点提醒我", "开会", "zh-CN", IntentCreateReminder, `{"text":"开会","time":"2026-11-24T08:00:00+08:00"}`},
		{"en am pm", "set an alarm for tomorrow at 3", "in the afternoon", "en-US", IntentSetAlarm, `{"time":"2026-11-24T15:00:00+08:00"}`},
		{"en missing time", "set an alarm", "7am", "en-US", IntentSetAlarm, `{"time":"2026-11-24T07:00:00+08:00"}`},
		{"en message text", "text mom", "I'll be late", "en-US", IntentSendMessage, `{"contact":"mom","text":"I'll be late"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t)
			env := Env{Model: &fakeModel{t: t, forbid: true}, Tenant: "t1"}
			w, err := serve(t, h, turnBody(t, tc.first, tc.locale, nil), env)
			if err != nil {
				t.Fatal(err)
			}
			first := decodeResp(t, w)
			if !first.ExpectFollowUp || len(first.Actions) != 0 {
				t.Fatalf("first turn %+v, want a question", first)
			}
			w, err = serve(t, h, turnBody(t, tc.reply, tc.locale, map[string]any{"conversation_id": first.ConversationID}), env)
			if err != nil {
				t.Fatal(err)
			}
			second := decodeResp(t, w)
			if second.ConversationID != first.ConversationID || len(second.Actions) != 1 {
				t.Fatalf("second turn %+v", second)
			}
			if a := second.Actions[0]; a.Intent != tc.intent || string(a.Parameters) != tc.params {
				t.Errorf("action %s %s, want %s %s", a.Intent, a.Parameters, tc.intent, tc.params)
			}
		})
	}
}

func TestFollowUpCancelAndScope(t *testing.T) {
	h := newTestHandler(t)
	env := Env{Model: &fakeModel{t: t, forbid: true}, Tenant: "a"}
	w, _ := serve(t, h, turnBody(t, "明天三点叫我", "zh-CN", nil), env)
	id := decodeResp(t, w).ConversationID

	// Another tenant using the same conversation id sees nothing of tenant a's question.
	other := Env{Model: &fakeModel{t: t, chunks: []chat.Chunk{{Delta: chat.Delta{Content: "下午好！"}}}}, Tenant: "b"}
	w, err := serve(t, h, turnBody(t, "下午", "zh-CN", map[string]any{"conversation_id": id}), other)
	if err != nil {
		t.Fatal(err)
	}
	if r := decodeResp(t, w); r.Path != PathModel || len(r.Actions) != 0 {
		t.Errorf("tenant b got %+v", r)
	}

	w, _ = serve(t, h, turnBody(t, "算了", "zh-CN", map[string]any{"conversation_id": id}), env)
	if r := decodeResp(t, w); r.DisplayText != "好的，已取消。" || len(r.Actions) != 0 {
		t.Errorf("cancel got %+v", r)
	}
}

func TestModelHistoryFromMemory(t *testing.T) {
	h := newTestHandler(t)
	model := &fakeModel{t: t, chunks: []chat.Chunk{{Delta: chat.Delta{Content: "好的。"}}}}
	env := Env{Model: model, Tenant: "t"}
	w, _ := serve(t, h, turnBody(t, "讲个笑话", "zh-CN", nil), env)
	id := decodeResp(t, w).ConversationID
	if _, err := serve(t, h, turnBody(t, "再来一个", "zh-CN", map[string]any{"conversation_id": id}), env); err != nil {
		t.Fatal(err)
	}
	msgs := model.reqs[1].Messages
	var roles []string
	for _, m := range msgs {
		roles = append(roles, m.Role)
	}
	if d := cmp.Diff([]string{"system", "user", "assistant", "user"}, roles); d != "" {
		t.Errorf("roles -want +got\n%s", d)
	}
	if msgs[1].Content != "讲个笑话" || msgs[3].Content != "再来一个" {
		t.Errorf("history %+v", msgs)
	}
}

func TestActionsFromToolCalls(t *testing.T) {
	h := newTestHandler(t)
	tr, err := h.validate(&TurnRequest{Utterance: "x", Locale: "en-US", Device: Device{TimeZone: "UTC"}, Intents: catalogIntents(nil)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call chat.ToolCall
		want []Action
	}{
		{"declared", chat.ToolCall{Name: "open_app", Arguments: `{"app":"Maps"}`}, []Action{{Intent: "open_app", Parameters: json.RawMessage(`{"app":"Maps"}`)}}},
		{"confirm", chat.ToolCall{Name: "call", Arguments: `{"contact":"Li"}`}, []Action{{Intent: "call", Parameters: json.RawMessage(`{"contact":"Li"}`), NeedsConfirmation: true}}},
		{"undeclared", chat.ToolCall{Name: "wipe_phone", Arguments: `{}`}, nil},
		{"not json", chat.ToolCall{Name: "open_app", Arguments: `{"app":`}, nil},
		{"not an object", chat.ToolCall{Name: "open_app", Arguments: `["Maps"]`}, nil},
		{"missing required", chat.ToolCall{Name: "open_app", Arguments: `{}`}, nil},
		{"empty arguments", chat.ToolCall{Name: "call", Arguments: ``}, []Action{{Intent: "call", Parameters: json.RawMessage(`{}`), NeedsConfirmation: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := h.actions(tr, []chat.ToolCall{tc.call})
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("-want +got\n%s", d)
			}
		})
	}
}

func TestSpeech(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "你好。", "你好。"},
		{"markdown", "# 标题\n- **第一**：见[链接](http://x)\n- `代码`", "标题 第一：见链接 代码"},
		{"cut at sentence", strings.Repeat("很长的句子。", 50), strings.Repeat("很长的句子。", 33)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := speech(tc.in, 200); got != tc.want {
				t.Errorf("speech = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMemStoreTTLAndBound(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &MemStore{Max: 2, Now: func() time.Time { return now }}
	ctx := context.Background()
	st := &State{Messages: []MemoryMessage{{Role: "user", Content: "hi"}}}
	if err := s.Save(ctx, "a", st, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, "a")
	if err != nil || got == nil || got.Messages[0].Content != "hi" {
		t.Fatalf("load = %+v, %v", got, err)
	}
	now = now.Add(time.Minute)
	if got, _ := s.Load(ctx, "a"); got != nil {
		t.Errorf("expired state still loaded: %+v", got)
	}
	_ = s.Save(ctx, "b", st, 10*time.Minute)
	_ = s.Save(ctx, "c", st, 5*time.Minute)
	_ = s.Save(ctx, "d", st, 20*time.Minute) // full: evicts c, the closest to expiry
	if s.Len() != 2 {
		t.Errorf("len = %d, want 2", s.Len())
	}
	if got, _ := s.Load(ctx, "c"); got != nil {
		t.Error("c should have been evicted")
	}
	if got, _ := s.Load(ctx, "d"); got == nil {
		t.Error("d missing")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero value", Config{}, ""},
		{"bad locale", Config{Locales: []string{"zh-CN", "??"}}, "not a BCP 47 tag"},
		{"default not listed", Config{Locales: []string{"zh-CN"}, DefaultLocale: "en-US"}, "default_locale"},
		{"unknown calendar", Config{Calendar: "mars"}, "unknown holiday calendar"},
		{"no calendar", Config{Calendar: "none"}, ""},
		{"ttl", Config{MemoryTTL: 48 * time.Hour}, "memory_ttl"},
		{"wording key", Config{Wording: map[string]map[string]string{"nope": {"zh": "x"}}}, "unknown key"},
		{"wording lang", Config{Wording: map[string]map[string]string{"done": {"fr": "x"}}}, "must be zh or en"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestWordingOverride(t *testing.T) {
	h, err := NewHandler(Config{Wording: map[string]map[string]string{"app_open": {"zh": "马上打开{app}！"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := serve(t, h, turnBody(t, "打开微信", "zh-CN", nil), Env{Model: &fakeModel{t: t, forbid: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeResp(t, w).DisplayText; got != "马上打开微信！" {
		t.Errorf("display = %q", got)
	}
}

func TestServeTurnMethod(t *testing.T) {
	h := newTestHandler(t)
	r := httptest.NewRequest(http.MethodGet, "/v1/assistant/turns", nil)
	err := h.ServeTurn(httptest.NewRecorder(), r, Env{})
	if ae, ok := apierr.As(err); !ok || ae.Status != http.StatusMethodNotAllowed {
		t.Errorf("err = %v", err)
	}
	if !errors.Is(err, err) {
		t.Fatal("unreachable")
	}
}

// No clarifying question for an intent the device cannot perform: the model answers.
func TestUndeclaredIntentNoClarify(t *testing.T) {
	h := newTestHandler(t)
	model := &fakeModel{t: t, chunks: []chat.Chunk{{Delta: chat.Delta{Content: "这台设备不能设置闹钟。"}}}}
	body := turnBody(t, "设个闹钟", "zh-CN", map[string]any{"intents": catalogIntents([]string{IntentOpenApp})})
	w, err := serve(t, h, body, Env{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	if r := decodeResp(t, w); r.Path != PathModel || r.ExpectFollowUp {
		t.Errorf("got %+v, want the model path", r)
	}
}

// One handler serves many turns at once (run with -race).
func TestConcurrentTurns(t *testing.T) {
	h := newTestHandler(t)
	utterances := []struct{ text, locale string }{
		{"明天早上七点叫我起床", "zh-CN"}, {"明天三点叫我", "zh-CN"}, {"讲个笑话", "zh-CN"},
		{"set a timer for 10 minutes", "en-US"}, {"tell me a joke", "en-US"}, {"下午", "zh-CN"},
	}
	done := make(chan error)
	for g := 0; g < 6; g++ {
		go func() {
			model := &fakeModel{t: t, chunks: []chat.Chunk{{Delta: chat.Delta{Content: "好。"}}}}
			var err error
			for i := 0; i < 30 && err == nil; i++ {
				u := utterances[(g+i)%len(utterances)]
				r := httptest.NewRequest(http.MethodPost, "/v1/assistant/turns", bytes.NewReader(turnBody(t, u.text, u.locale, map[string]any{"conversation_id": "shared"})))
				err = h.ServeTurn(httptest.NewRecorder(), r, Env{Model: model, Tenant: "t"})
			}
			done <- err
		}()
	}
	for g := 0; g < 6; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
