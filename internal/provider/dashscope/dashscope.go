// Package dashscope is the adapter for Alibaba Cloud Model Studio's native DashScope protocol:
// it turns a canonical chat request into a text- or multimodal-generation call and the
// answer's server-sent events back into chat chunks, with DashScope's quirks (no [DONE], the
// string "null" as finish reason, cumulative usage on every event, errors as event:error with
// HTTP 200, output moderation that fires mid-stream) handled here and nowhere else.
package dashscope

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// Endpoint paths under the base URL.
const (
	TextPath       = "/api/v1/services/aigc/text-generation/generation"
	MultimodalPath = "/api/v1/services/aigc/multimodal-generation/generation"
)

// Config configures a Client.
type Config struct {
	// Name identifies the provider in errors and logs ("dashscope-cn").
	Name string
	// BaseURL is the scheme and host (and optional path prefix) before /api/v1, e.g. the
	// Beijing endpoint for mainland China; a trailing slash is ignored.
	BaseURL string
	// APIKey is sent as a bearer token. Empty: every call fails with a 502 saying the
	// credential is not configured.
	APIKey string
	// Timeouts bound each call; zero fields take upstream's defaults.
	Timeouts upstream.Timeouts
	// Stream says when the upstream is asked to stream; default always, since some models
	// (QwQ, QVQ, Omni, open-source Qwen3) answer only in streaming mode.
	Stream upstream.StreamMode
	// Headers are extra static headers (X-DashScope-WorkSpace, ...).
	Headers map[string]string
	// DataInspection, if set, is sent as X-DashScope-DataInspection ("enable" or
	// `{"input":"cip","output":"cip"}`).
	DataInspection string
	// HTTPClient's Transport sends the calls (the client itself is skipped: redirects are
	// never followed, and Timeouts bound a call); nil uses upstream.NewHTTPClient().
	HTTPClient *http.Client
}

// Client calls one DashScope endpoint. It is safe for concurrent use.
type Client struct {
	cfg    Config
	base   string
	client *http.Client
}

// New returns a client. It fails only when BaseURL is empty.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("dashscope: base_url is required")
	}
	if cfg.Name == "" {
		cfg.Name = "dashscope"
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), client: cfg.HTTPClient}
	if c.client == nil {
		c.client = upstream.NewHTTPClient()
	}
	return c, nil
}

// Chat sends req and returns the answer as a stream. By default the call is made in streaming
// mode with incremental output, also for a non-streaming client request: the answer is the
// same stream collected by the caller, and streaming-only models (QwQ, QVQ, Omni, open-source
// Qwen3) then work for everyone. With the stream mode as_requested a whole answer is asked
// for as one body (no X-DashScope-SSE) and decoded as one event.
//
// Chat returns once the first piece of the answer has arrived, so every failure that happens
// before any output (HTTP errors, an error event at the start, connect and first-byte
// timeouts) is returned here as an *apierr.Error, with Retryable set when another provider may
// be tried. Later failures come from Recv and are never retryable. Cancelling ctx aborts the
// upstream request; Close on the stream does too.
func (c *Client) Chat(ctx context.Context, req *chat.Request) (chat.Stream, error) {
	if c.cfg.APIKey == "" {
		return nil, upstream.MissingCredential(c.cfg.Name)
	}
	stream := c.cfg.Stream.Streams(req.Stream, upstream.StreamAlways)
	timeouts := c.cfg.Timeouts
	if !stream {
		timeouts = timeouts.ForWhole()
	}
	multimodal := IsMultimodal(req.Model) || hasImages(req)
	body, err := encodeRequest(req, multimodal, stream)
	if err != nil {
		return nil, err
	}
	path := TextPath
	if multimodal {
		path = MultimodalPath
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, apierr.New(http.StatusInternalServerError, apierr.TypeAPI, "provider_misconfigured",
			"the model provider is misconfigured").WithCause(err)
	}
	for k, v := range c.cfg.Headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	hr.Header.Set("Content-Type", "application/json")
	if stream {
		hr.Header.Set("Accept", "text/event-stream")
		hr.Header.Set("X-DashScope-SSE", "enable")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	if c.cfg.DataInspection != "" {
		hr.Header.Set("X-DashScope-DataInspection", c.cfg.DataInspection)
	}
	call, err := upstream.Do(ctx, c.client, hr, timeouts, c.cfg.Name)
	if err != nil {
		return nil, err
	}
	if call.Resp.StatusCode != http.StatusOK {
		b, rerr := call.ReadBody(upstream.MaxErrorBody)
		e := errorFromBody(c.cfg.Name, call.Resp.StatusCode, b)
		if rerr != nil && ctx.Err() != nil {
			return nil, rerr // the caller went away while the error body was read
		}
		if rerr != nil && len(b) == 0 {
			e.Err = errors.Join(e.Err, rerr)
		}
		return nil, e
	}
	return upstream.Stream(call, NewDecoder(c.cfg.Name))
}
