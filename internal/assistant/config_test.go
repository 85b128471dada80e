package assistant

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func decodeYAML(t *testing.T, src string) (Config, error) {
	t.Helper()
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

func TestConfigYAML(t *testing.T) {
	c, err := decodeYAML(t, `
locales: [zh-CN, zh-TW, en-US]
default_locale: zh-CN
calendar: cn
model: chat
memory_ttl: 5m
memory_turns: 8
redis: 127.0.0.1:6379
confirm_intents: [call, send_message, create_event]
prompts:
  zh: "你是乔。现在是{now}。"
wording:
  alarm_set: {zh: "闹钟定好了：{when}。"}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Locales: []string{"zh-CN", "zh-TW", "en-US"}, DefaultLocale: "zh-CN", Calendar: "cn", Model: "chat",
		MemoryTTL: 5 * time.Minute, MemoryTurns: 8, Redis: "127.0.0.1:6379",
		ConfirmIntents: []string{"call", "send_message", "create_event"},
		Prompts:        map[string]string{"zh": "你是乔。现在是{now}。"},
		Wording:        map[string]map[string]string{"alarm_set": {"zh": "闹钟定好了：{when}。"}},
	}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("-want +got\n%s", d)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if _, err := decodeYAML(t, "memory_tll: 5m\n"); err == nil {
		t.Error("a misspelled key must be rejected")
	}
}
