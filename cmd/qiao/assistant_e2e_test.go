package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const intents = `[
  {"name":"set_alarm","description":"Set an alarm","parameters":{"type":"object","properties":{"time":{"type":"string"},"label":{"type":"string"}},"required":["time"]}},
  {"name":"set_timer","description":"Start a timer","parameters":{"type":"object","properties":{"duration_seconds":{"type":"integer"}},"required":["duration_seconds"]}},
  {"name":"book_taxi","description":"Book a taxi to a destination","parameters":{"type":"object","properties":{"destination":{"type":"string"}},"required":["destination"]}}
]`

type turnAnswer struct {
	Path        string `json:"path"`
	Intent      string `json:"intent"`
	DisplayText string `json:"display_text"`
	SpeechText  string `json:"speech_text"`
	Actions     []struct {
		Intent            string          `json:"intent"`
		Parameters        json.RawMessage `json:"parameters"`
		NeedsConfirmation bool            `json:"needs_confirmation"`
	} `json:"actions"`
	Label          json.RawMessage `json:"label"`
	PrivacyReceipt string          `json:"privacy_receipt"`
	Filing         string          `json:"filing"`
	ConversationID string          `json:"conversation_id"`
}

func turnBody(utterance, locale string) string {
	u, _ := json.Marshal(utterance)
	return `{"utterance":` + string(u) + `,"locale":"` + locale + `","device":{"time_zone":"Asia/Shanghai","now":"2026-09-30T20:00:00+08:00"},"intents":` + intents + `}`
}

func TestE2EAssistantFastPath(t *testing.T) {
	e := startE2E(t)
	before := e.cn.Stats().Requests
	var a turnAnswer
	resp := e.call("POST", "/v1/assistant/turns", e.keys["CN"], turnBody("明天早上七点叫我起床", "zh-CN"), &a)
	if resp.StatusCode != 200 || a.Path != "fast" || len(a.Actions) != 1 || a.Actions[0].Intent != "set_alarm" {
		t.Fatalf("%d %+v", resp.StatusCode, a)
	}
	if !strings.Contains(string(a.Actions[0].Parameters), "2026-10-01T07:00:00+08:00") {
		t.Errorf("alarm time: %s", a.Actions[0].Parameters)
	}
	if a.Filing != "Beijing-Test-0001" {
		t.Errorf("filing %q", a.Filing)
	}
	var en turnAnswer
	e.call("POST", "/v1/assistant/turns", e.keys["US"], turnBody("set a timer for 10 minutes", "en-US"), &en)
	if en.Path != "fast" || len(en.Actions) != 1 || !strings.Contains(string(en.Actions[0].Parameters), "600") {
		t.Errorf("English timer: %+v", en)
	}
	if n := e.cn.Stats().Requests - before; n != 0 {
		t.Errorf("the fast path called the model %d times", n)
	}
}

func TestE2EAssistantModelPathToolCall(t *testing.T) {
	e := startE2E(t)
	var a turnAnswer
	resp := e.call("POST", "/v1/assistant/turns", e.keys["CN"], turnBody("帮我用 book_taxi 叫一辆车去首都机场，我的电话是13812345678", "zh-CN"), &a)
	if resp.StatusCode != 200 || a.Path != "model" {
		t.Fatalf("%d %+v", resp.StatusCode, a)
	}
	if len(a.Actions) != 1 || a.Actions[0].Intent != "book_taxi" || !strings.Contains(string(a.Actions[0].Parameters), "destination") {
		t.Fatalf("tool call not turned into an action: %+v", a.Actions)
	}
	if !strings.Contains(a.PrivacyReceipt, "phone") {
		t.Errorf("privacy receipt %q", a.PrivacyReceipt)
	}
	last, _ := e.cn.Last()
	if strings.Contains(string(last.Body), "13812345678") {
		t.Error("the phone number reached the model")
	}
	if len(last.Tools) == 0 {
		t.Error("the device's intents were not offered as tools")
	}
	// A question the fast path cannot answer goes to the model and carries the label.
	var q turnAnswer
	e.call("POST", "/v1/assistant/turns", e.keys["CN"], turnBody("给我讲讲长城的历史", "zh-CN"), &q)
	if q.Path != "model" || len(q.Label) == 0 || !strings.Contains(q.DisplayText, "长城") {
		t.Errorf("model answer %+v", q)
	}
}

func TestE2EAssistantStreamingTurn(t *testing.T) {
	e := startE2E(t)
	body := strings.Replace(turnBody("给我讲讲长城的历史", "zh-CN"), `"utterance"`, `"stream":true,"utterance"`, 1)
	req, _ := http.NewRequest("POST", e.base+"/v1/assistant/turns", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.keys["CN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	if resp.Header.Get("Content-Type") != "text/event-stream" || strings.Count(text, "event: delta") < 2 || !strings.Contains(text, "event: turn") {
		t.Fatalf("%s\n%s", resp.Header.Get("Content-Type"), text)
	}
	last := text[strings.LastIndex(text, "event: turn"):]
	if !strings.Contains(last, `"path":"model"`) || !strings.Contains(last, `"label"`) {
		t.Errorf("final turn event: %s", last)
	}
}
