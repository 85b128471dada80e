// Package provider is the gateway's side of a model provider: the Provider interface the
// router calls, the per-provider configuration a region profile holds, and New, which builds
// the adapter for a configured kind (DashScope's native protocol, or any OpenAI-compatible
// upstream). The adapters and their protocol-faithful simulators live in the subpackages.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/dashscope"
	"github.com/qiao-gateway/qiao/internal/provider/openaicompat"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// Provider answers chat requests. req.Model is already the upstream model name. Chat returns
// once the first piece of the answer has arrived; its errors are *apierr.Error (Retryable set
// when another provider may be tried), or the context's error when ctx was cancelled.
type Provider interface {
	Chat(ctx context.Context, req *chat.Request) (chat.Stream, error)
}

// Kinds of provider.
const (
	KindDashScope = "dashscope"
	KindOpenAI    = "openai"
)

// Timeouts bound one upstream call; see upstream.Timeouts for each field and its default.
type Timeouts = upstream.Timeouts

// Config is one provider in a region profile.
type Config struct {
	// Kind is the protocol: "dashscope" (native DashScope API) or "openai" (any
	// OpenAI-compatible chat-completions API). Required.
	Kind string `yaml:"kind"`
	// BaseURL is where the API lives. dashscope: scheme and host, e.g. the Beijing endpoint;
	// the adapter appends /api/v1/services/aigc/.... openai: up to and including the version,
	// e.g. ".../v1" or ".../compatible-mode/v1"; the adapter appends /chat/completions.
	// Required.
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv names the environment variable holding the API key. The key itself is never
	// in the configuration file. Empty only for an openai provider that needs no key (a local
	// vLLM or Ollama), which then sends no Authorization header.
	APIKeyEnv string `yaml:"api_key_env"`
	// Jurisdiction is where this provider processes data ("CN", "EU", "US", ...); the router
	// offers a region only providers in its allowed jurisdictions. Required.
	Jurisdiction string `yaml:"jurisdiction"`
	// Timeouts bound each call. Zero fields take the defaults (connect 5s, first_byte 60s,
	// between_chunks 60s, total 10m).
	Timeouts Timeouts `yaml:"timeouts"`
	// Stream says when the upstream is asked for a streamed answer: "always", or
	// "as_requested" (only when the client asked for a stream; a whole answer comes as one
	// body). Default: always for dashscope (some Qwen models answer only in streaming mode),
	// as_requested for openai. Set always for an OpenAI-compatible endpoint serving
	// streaming-only models (DashScope's compatible mode with QwQ, for one).
	Stream upstream.StreamMode `yaml:"stream"`
	// Headers are extra static headers sent with every call (X-DashScope-WorkSpace, ...).
	// Authorization and Content-Type cannot be set here.
	Headers map[string]string `yaml:"headers"`
	// DataInspection (dashscope only), if set, is sent as X-DashScope-DataInspection to turn on
	// DashScope's extra content guardrail: "enable" or `{"input":"cip","output":"cip"}`.
	DataInspection string `yaml:"data_inspection"`
}

// Validate checks the configuration without looking at the environment.
func (c *Config) Validate() error {
	switch c.Kind {
	case KindDashScope, KindOpenAI:
	case "":
		return errors.New("provider: kind is required (dashscope or openai)")
	default:
		return fmt.Errorf("provider: unknown kind %q (want dashscope or openai)", c.Kind)
	}
	if c.BaseURL == "" {
		return errors.New("provider: base_url is required")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("provider: base_url %q must be an absolute http(s) URL", c.BaseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("provider: base_url must not carry credentials, a query or a fragment")
	}
	path := strings.TrimRight(u.Path, "/")
	if c.Kind == KindDashScope && strings.HasSuffix(path, "/api/v1") {
		return fmt.Errorf("provider: base_url %q must stop before /api/v1 (the adapter appends the service path)", c.BaseURL)
	}
	if c.Kind == KindOpenAI && strings.HasSuffix(path, "/chat/completions") {
		return fmt.Errorf("provider: base_url %q must stop before /chat/completions (e.g. end in /v1)", c.BaseURL)
	}
	if c.Kind == KindDashScope && c.APIKeyEnv == "" {
		return errors.New("provider: api_key_env is required for dashscope")
	}
	if strings.TrimSpace(c.Jurisdiction) == "" {
		return errors.New("provider: jurisdiction is required (where this provider processes data, e.g. CN)")
	}
	if err := c.Timeouts.Validate(); err != nil {
		return fmt.Errorf("provider: %w", err)
	}
	if err := c.Stream.Validate(); err != nil {
		return fmt.Errorf("provider: %w", err)
	}
	for k := range c.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Content-Type", "Content-Length", "Host":
			return fmt.Errorf("provider: header %q cannot be set in headers", k)
		}
	}
	if c.DataInspection != "" && c.Kind != KindDashScope {
		return errors.New("provider: data_inspection applies to dashscope providers only")
	}
	return nil
}

// Options are what the gateway gives every provider.
type Options struct {
	// HTTPClient is shared by all providers so connections are pooled; nil builds one tuned
	// for streaming (upstream.NewHTTPClient).
	HTTPClient *http.Client
	// Getenv reads the API key variable; nil uses os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil uses time.Now. (Reserved: timers use the runtime clock.)
	Now func() time.Time
}

// Upstream is a configured provider.
type Upstream struct {
	name string
	cfg  Config
	key  bool
	p    Provider
}

var _ Provider = (*Upstream)(nil)

// New builds the provider called name from cfg. A missing API key is not an error: the
// provider is built, KeyConfigured reports false, and every call fails with a retryable 502
// (upstream_credential_missing), so a gateway can start with some providers unconfigured and
// say so.
func New(name string, cfg Config, opts Options) (*Upstream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("provider %s: %w", name, err)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	client := opts.HTTPClient
	if client == nil {
		client = upstream.NewHTTPClient()
	}
	key := ""
	if cfg.APIKeyEnv != "" {
		key = strings.TrimSpace(getenv(cfg.APIKeyEnv))
	}
	u := &Upstream{name: name, cfg: cfg, key: key != "" || cfg.APIKeyEnv == ""}
	var err error
	switch cfg.Kind {
	case KindDashScope:
		u.p, err = dashscope.New(dashscope.Config{Name: name, BaseURL: cfg.BaseURL, APIKey: key,
			Timeouts: cfg.Timeouts, Stream: cfg.Stream, Headers: cfg.Headers, DataInspection: cfg.DataInspection, HTTPClient: client})
	case KindOpenAI:
		u.p, err = openaicompat.New(openaicompat.Config{Name: name, BaseURL: cfg.BaseURL, APIKey: key,
			AllowNoKey: cfg.APIKeyEnv == "", Timeouts: cfg.Timeouts, Stream: cfg.Stream, Headers: cfg.Headers, HTTPClient: client})
	}
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", name, err)
	}
	return u, nil
}

// Chat implements Provider.
func (u *Upstream) Chat(ctx context.Context, req *chat.Request) (chat.Stream, error) {
	return u.p.Chat(ctx, req)
}

// Name returns the provider's name.
func (u *Upstream) Name() string { return u.name }

// Kind returns "dashscope" or "openai".
func (u *Upstream) Kind() string { return u.cfg.Kind }

// Jurisdiction returns where the provider processes data.
func (u *Upstream) Jurisdiction() string { return u.cfg.Jurisdiction }

// BaseURL returns the configured base URL (it never holds credentials; Validate refuses them).
func (u *Upstream) BaseURL() string { return u.cfg.BaseURL }

// KeyConfigured reports whether the API key variable was set (or the provider needs none).
func (u *Upstream) KeyConfigured() bool { return u.key }
