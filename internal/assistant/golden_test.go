package assistant

import (
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s: -want +got\n%s", name, d)
	}
}

// TestGoldenWire pins the wire format of answers, SSE transcripts and error bodies.
func TestGoldenWire(t *testing.T) {
	cases := []struct {
		name, utterance, locale string
		stream                  bool
		model                   *fakeModel
	}{
		{name: "fast_alarm_zh.json", utterance: "每个工作日早上七点半叫我起床", locale: "zh-CN"},
		{name: "fast_message_en.json", utterance: "text mom saying I'll be late", locale: "en-US"},
		{name: "fast_clarify_zh.json", utterance: "2月30号早上八点叫我", locale: "zh-CN"},
		{name: "fast_stream_zh.sse", utterance: "打开蓝牙", locale: "zh-CN", stream: true},
		{name: "model_stream_zh.sse", utterance: "帮我跟张三说一声会议改到三点", locale: "zh-CN", stream: true,
			model: &fakeModel{chunks: toolCallChunks(), meta: Meta{PrivacyReceipt: "pii=1;restored=1", Filing: "F-1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t)
			m := tc.model
			if m == nil {
				m = &fakeModel{forbid: true}
			}
			m.t = t
			body := turnBody(t, tc.utterance, tc.locale, map[string]any{"stream": tc.stream, "conversation_id": "golden-1"})
			w, err := serve(t, h, body, Env{Model: m, Tenant: "g"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, w.Body.Bytes())
		})
	}
	t.Run("error_duplicate_intent.json", func(t *testing.T) {
		h := newTestHandler(t)
		_, err := serve(t, h, []byte(`{"utterance":"打开蓝牙","locale":"zh-CN","device":{"time_zone":"Asia/Shanghai"},"intents":[{"name":"call"},{"name":"call"}]}`), Env{})
		w := httptest.NewRecorder()
		apierr.Write(w, err)
		golden(t, "error_duplicate_intent.json", w.Body.Bytes())
	})
}
