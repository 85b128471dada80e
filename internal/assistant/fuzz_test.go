package assistant

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// FuzzUnderstand feeds arbitrary utterances to the fast path: it must not panic, and any
// action it produces must be a declared intent with parameters the schema accepts.
func FuzzUnderstand(f *testing.F) {
	for _, s := range []string{"明天早上七点叫我起床", "给妈妈发短信说我晚点回家", "打开蓝牙", "三加五等于几", "5英里是多少公里",
		"set an alarm for 7am tomorrow", "text mom saying hi", "what is 15 plus 27", "remind me to call mom at 5pm", "2月30号"} {
		f.Add(s, true)
	}
	h := newTestHandler(f)
	f.Fuzz(func(t *testing.T, s string, zh bool) {
		loc := "en-US"
		if zh {
			loc = "zh-CN"
		}
		tr, err := h.validate(&TurnRequest{Utterance: s, Locale: loc, Device: Device{TimeZone: "Asia/Shanghai", Now: fixedNow},
			Intents: catalogIntents([]string{IntentSetAlarm, IntentCall, IntentOpenApp})})
		if err != nil {
			return
		}
		r, ok := h.understand(tr, tr.req.Utterance)
		if !ok || !r.isAction() {
			return
		}
		sch, declared := tr.schemas[r.intent]
		if !declared || !sch.fits(r.params) {
			t.Fatalf("%q produced %s %v, not a declared intent with valid parameters", s, r.intent, r.params)
		}
		if _, err := json.Marshal(r.params); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzServeTurn sends arbitrary bodies: the answer is either a typed API error or a
// well-formed turn; never a panic or a 500.
func FuzzServeTurn(f *testing.F) {
	f.Add([]byte(`{"utterance":"打开蓝牙","locale":"zh-CN","device":{"time_zone":"Asia/Shanghai"},"intents":[{"name":"change_setting"}]}`))
	f.Add([]byte(`{"utterance":"x","intents":[{"name":"a","parameters":{"type":"object","required":["q"]}}]}`))
	f.Add([]byte(`{"utterance":"tell me a joke","locale":"en","device":{"time_zone":"UTC","now":"2026-01-01T00:00:00Z"},"stream":true}`))
	h := newTestHandler(f)
	model := &fakeModel{t: f, chunks: []chat.Chunk{{Delta: chat.Delta{Content: "ok"}}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/v1/assistant/turns", bytes.NewReader(body))
		err := h.ServeTurn(w, r, Env{Model: model, Tenant: "f"})
		if err != nil {
			ae, ok := apierr.As(err)
			if !ok || ae.Status >= 500 {
				t.Fatalf("error %v is not a typed client error", err)
			}
			return
		}
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	})
}
