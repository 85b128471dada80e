// Package imagegen generates images through upstream model APIs: DashScope's asynchronous
// image-synthesis tasks and OpenAI-compatible /images/generations. Adapters return the image
// bytes themselves (downloading result URLs with a size limit), so the gateway can label every
// image before it reaches a client. Errors are *apierr.Error, mapped like chat errors.
package imagegen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// Request is one image generation request (the OpenAI shape, after decoding).
type Request struct {
	// Model is the upstream model name (the router has resolved any alias).
	Model string
	// Prompt describes the image. Required.
	Prompt string
	// N is the number of images, 1-4. Zero means 1.
	N int
	// Size is "WIDTHxHEIGHT" in pixels; empty means DefaultSize.
	Size string
}

// DefaultSize is used when Request.Size is empty.
const DefaultSize = "1024x1024"

// MaxN is the most images one request may ask for (DashScope's limit).
const MaxN = 4

// Image is one generated image.
type Image struct {
	Data []byte
	// MIME is "image/png" or "image/jpeg", sniffed from Data.
	MIME string
	// RevisedPrompt is the prompt the model actually used, when the upstream reports it.
	RevisedPrompt string
}

// Provider generates images.
type Provider interface {
	Generate(ctx context.Context, req Request) ([]Image, error)
}

// Kinds of upstream.
const (
	KindDashScope = "dashscope"
	KindOpenAI    = "openai"
)

// Config describes one image-generation upstream. Its first five fields are those of a chat
// provider, so a region profile lists both the same way.
type Config struct {
	// Name identifies the provider in routes and logs.
	Name string `yaml:"name"`
	// Kind is "dashscope" (asynchronous image-synthesis tasks) or "openai"
	// (OpenAI-compatible /images/generations).
	Kind string `yaml:"kind"`
	// BaseURL is the upstream root: for dashscope the host (".../api/v1/..." is appended),
	// for openai the API root including /v1.
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv names the environment variable holding the upstream API key.
	APIKeyEnv string `yaml:"api_key_env"`
	// Jurisdiction is where the upstream processes data (CN, EU, US, ...). The router only
	// offers a provider to regions that allow its jurisdiction.
	Jurisdiction string `yaml:"jurisdiction"`
	// Model is the default upstream model when the request names none.
	Model string `yaml:"model"`
	// PollInterval is the first wait between task polls (dashscope); it grows by half each
	// poll up to 4× its value. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxWait bounds the whole generation: submit, polling and downloads. Default 120s.
	MaxWait time.Duration `yaml:"max_wait"`
	// MaxImageBytes refuses a larger generated image. Default 20 MiB.
	MaxImageBytes int64 `yaml:"max_image_bytes"`
	// ResponseFormat is sent to openai upstreams: "b64_json" (default), "url", or "none" to
	// omit the field (models that always answer with b64_json reject it).
	ResponseFormat string `yaml:"response_format"`
}

// Defaults.
const (
	DefaultPollInterval  = time.Second
	DefaultMaxWait       = 120 * time.Second
	DefaultMaxImageBytes = 20 << 20
)

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("imagegen: bad configuration")

// Validate checks c.
func (c Config) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: name is required", ErrConfig)
	}
	if c.Kind != KindDashScope && c.Kind != KindOpenAI {
		return fmt.Errorf("%w: provider %s: kind %q: want %q or %q", ErrConfig, c.Name, c.Kind, KindDashScope, KindOpenAI)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: provider %s: base_url %q is not an http(s) URL", ErrConfig, c.Name, c.BaseURL)
	}
	if c.APIKeyEnv == "" {
		return fmt.Errorf("%w: provider %s: api_key_env is required", ErrConfig, c.Name)
	}
	if c.Jurisdiction == "" {
		return fmt.Errorf("%w: provider %s: jurisdiction is required", ErrConfig, c.Name)
	}
	if c.PollInterval < 0 || c.MaxWait < 0 || c.MaxImageBytes < 0 {
		return fmt.Errorf("%w: provider %s: durations and limits must not be negative", ErrConfig, c.Name)
	}
	switch c.ResponseFormat {
	case "", "b64_json", "url", "none":
	default:
		return fmt.Errorf("%w: provider %s: response_format %q: want b64_json, url or none", ErrConfig, c.Name, c.ResponseFormat)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MaxImageBytes == 0 {
		c.MaxImageBytes = DefaultMaxImageBytes
	}
	if c.ResponseFormat == "" {
		c.ResponseFormat = "b64_json"
	}
	return c
}

// Options are injected dependencies; zero fields take the real ones.
type Options struct {
	HTTPClient *http.Client
	Getenv     func(string) string
	// Sleep waits d or until ctx ends (tests make polling instant).
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// New returns the adapter for cfg. The API key is read now, so a missing key fails at start.
func New(cfg Config, opts Options) (Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, opts = cfg.withDefaults(), opts.withDefaults()
	key := strings.TrimSpace(opts.Getenv(cfg.APIKeyEnv))
	if key == "" {
		return nil, fmt.Errorf("%w: provider %s: environment variable %s is empty", ErrConfig, cfg.Name, cfg.APIKeyEnv)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	switch cfg.Kind {
	case KindDashScope:
		return &DashScope{cfg: cfg, opts: opts, key: key, base: base}, nil
	default:
		return &OpenAI{cfg: cfg, opts: opts, key: key, base: base}, nil
	}
}

// checkRequest validates req and returns n, width and height.
func checkRequest(req Request) (n, w, h int, err error) {
	if strings.TrimSpace(req.Prompt) == "" {
		return 0, 0, 0, apierr.BadRequest("invalid_prompt", "prompt is required").WithParam("prompt")
	}
	n = req.N
	if n == 0 {
		n = 1
	}
	if n < 1 || n > MaxN {
		return 0, 0, 0, apierr.BadRequest("invalid_n", fmt.Sprintf("n must be between 1 and %d", MaxN)).WithParam("n")
	}
	size := req.Size
	if size == "" {
		size = DefaultSize
	}
	w, h, ok := ParseSize(size)
	if !ok {
		return 0, 0, 0, apierr.BadRequest("invalid_size", `size must look like "1024x1024" (64 to 4096 pixels a side)`).WithParam("size")
	}
	return n, w, h, nil
}

// ParseSize parses "WIDTHxHEIGHT" (or DashScope's "WIDTH*HEIGHT"), each side 64-4096.
func ParseSize(s string) (w, h int, ok bool) {
	a, b, found := strings.Cut(s, "x")
	if !found {
		a, b, found = strings.Cut(s, "*")
	}
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || w < 64 || h < 64 || w > 4096 || h > 4096 {
		return 0, 0, false
	}
	return w, h, true
}
