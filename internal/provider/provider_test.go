package provider_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider"
	"github.com/qiao-gateway/qiao/internal/provider/sim"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

func decode(t *testing.T, src string) (provider.Config, error) {
	t.Helper()
	var c provider.Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

func TestConfigYAML(t *testing.T) {
	c, err := decode(t, `
kind: dashscope
base_url: https://dashscope.example.cn
api_key_env: DASHSCOPE_API_KEY
jurisdiction: CN
timeouts: {connect: 3s, first_byte: 20s, between_chunks: 15s, total: 2m}
headers: {X-DashScope-WorkSpace: ws-123}
data_inspection: enable
`)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Config{Kind: "dashscope", BaseURL: "https://dashscope.example.cn", APIKeyEnv: "DASHSCOPE_API_KEY",
		Jurisdiction: "CN", Timeouts: provider.Timeouts{Connect: 3 * time.Second, FirstByte: 20 * time.Second,
			BetweenChunks: 15 * time.Second, Total: 2 * time.Minute},
		Headers: map[string]string{"X-DashScope-WorkSpace": "ws-123"}, DataInspection: "enable"}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if _, err := decode(t, "kind: openai\napi_key: sk-in-the-file\n"); err == nil {
		t.Error("an unknown field (api_key) was accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	good := provider.Config{Kind: "openai", BaseURL: "http://127.0.0.1:8000/v1", Jurisdiction: "EU"}
	tests := []struct {
		name   string
		mutate func(*provider.Config)
		want   string // substring of the error; empty = valid
	}{
		{name: "valid openai without key", mutate: func(*provider.Config) {}},
		{name: "missing kind", mutate: func(c *provider.Config) { c.Kind = "" }, want: "kind is required"},
		{name: "unknown kind", mutate: func(c *provider.Config) { c.Kind = "anthropic" }, want: "unknown kind"},
		{name: "missing base url", mutate: func(c *provider.Config) { c.BaseURL = "" }, want: "base_url is required"},
		{name: "relative base url", mutate: func(c *provider.Config) { c.BaseURL = "/v1" }, want: "absolute http(s) URL"},
		{name: "credentials in url", mutate: func(c *provider.Config) { c.BaseURL = "https://u:p@h/v1" }, want: "credentials"},
		{name: "dashscope base url with api path", mutate: func(c *provider.Config) { c.Kind, c.APIKeyEnv, c.BaseURL = "dashscope", "K", "https://h/api/v1/" }, want: "stop before /api/v1"},
		{name: "openai base url with endpoint", mutate: func(c *provider.Config) { c.BaseURL = "https://h/v1/chat/completions" }, want: "stop before /chat/completions"},
		{name: "dashscope needs a key variable", mutate: func(c *provider.Config) { c.Kind = "dashscope" }, want: "api_key_env is required"},
		{name: "missing jurisdiction", mutate: func(c *provider.Config) { c.Jurisdiction = " " }, want: "jurisdiction is required"},
		{name: "negative timeout", mutate: func(c *provider.Config) { c.Timeouts.Total = -time.Second }, want: "timeouts.total"},
		{name: "authorization header", mutate: func(c *provider.Config) { c.Headers = map[string]string{"authorization": "x"} }, want: "cannot be set"},
		{name: "data inspection on openai", mutate: func(c *provider.Config) { c.DataInspection = "enable" }, want: "dashscope providers only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestNewAgainstSimulators builds each kind through New and talks to its simulator, the way
// the gateway does.
func TestNewAgainstSimulators(t *testing.T) {
	for _, kind := range []string{provider.KindDashScope, provider.KindOpenAI} {
		t.Run(kind, func(t *testing.T) {
			var s *sim.Server
			if kind == provider.KindDashScope {
				s = sim.NewDashScope(sim.Options{APIKeys: []string{"sk-real"}})
			} else {
				s = sim.NewOpenAI(sim.Options{APIKeys: []string{"sk-real"}})
			}
			defer s.Close()
			env := map[string]string{"KEY": "sk-real"}
			cfg := provider.Config{Kind: kind, BaseURL: s.URL(), APIKeyEnv: "KEY", Jurisdiction: "CN"}
			p, err := provider.New("p-"+kind, cfg, provider.Options{Getenv: func(k string) string { return env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			if !p.KeyConfigured() || p.Name() != "p-"+kind || p.Jurisdiction() != "CN" || p.Kind() != kind {
				t.Errorf("accessors: %v %q %q %q", p.KeyConfigured(), p.Name(), p.Jurisdiction(), p.Kind())
			}
			var _ provider.Provider = p
			st, err := p.Chat(context.Background(), &chat.Request{Model: "qwen-plus",
				Messages: []chat.Message{{Role: chat.RoleUser, Content: "你好"}}})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := chat.Collect(st)
			if err != nil || !strings.Contains(resp.Message.Content, "«你好»") {
				t.Errorf("resp = %+v, err = %v", resp, err)
			}

			unset, err := provider.New("unset", cfg, provider.Options{Getenv: func(string) string { return "" }})
			if err != nil {
				t.Fatal(err)
			}
			if unset.KeyConfigured() {
				t.Error("KeyConfigured with an empty variable")
			}
			_, err = unset.Chat(context.Background(), &chat.Request{Model: "qwen-plus",
				Messages: []chat.Message{{Role: chat.RoleUser, Content: "hi"}}})
			if e, ok := apierr.As(err); !ok || e.Code != upstream.CodeUpstreamCredential || !e.Retryable {
				t.Errorf("unset key: err = %v", err)
			}
			if n := len(s.Received()); n != 1 {
				t.Errorf("simulator got %d requests, want 1 (no call without a key)", n)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := provider.New("x", provider.Config{Kind: "dashscope"}, provider.Options{})
	if err == nil || !strings.Contains(err.Error(), "provider x") {
		t.Errorf("err = %v", err)
	}
}
