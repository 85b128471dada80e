// Package openaicompat is the adapter for any upstream that speaks OpenAI's chat-completions
// protocol: DashScope's compatible mode, vLLM, SGLang, Ollama, OpenAI itself. Requests are
// encoded with internal/openai (unknown fields pass through at top level); the answer's
// `data:` events are decoded until [DONE], with mid-stream `{"error":...}` events (DashScope's
// output moderation among them) ending the stream with an *apierr.Error.
package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/openai"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
)

// Config configures a Client.
type Config struct {
	// Name identifies the provider in errors and logs ("vllm-eu").
	Name string
	// BaseURL ends in the API version, e.g. "https://host/v1" or ".../compatible-mode/v1";
	// the adapter appends "/chat/completions". A trailing slash is ignored.
	BaseURL string
	// APIKey is sent as a bearer token. Empty: every call fails with a 502 saying the
	// credential is not configured (set AllowNoKey for local servers that need none).
	APIKey string
	// AllowNoKey sends requests without Authorization when APIKey is empty (Ollama, a local
	// vLLM).
	AllowNoKey bool
	// Timeouts bound each call; zero fields take upstream's defaults.
	Timeouts upstream.Timeouts
	// Stream says when the upstream is asked to stream; default as_requested (every
	// OpenAI-compatible server answers whole requests). Set always for streaming-only models.
	Stream upstream.StreamMode
	// Headers are extra static headers.
	Headers map[string]string
	// HTTPClient's Transport sends the calls (the client itself is skipped: redirects are
	// never followed, and Timeouts bound a call); nil uses upstream.NewHTTPClient().
	HTTPClient *http.Client
}

// Client calls one OpenAI-compatible endpoint. It is safe for concurrent use.
type Client struct {
	cfg    Config
	url    string
	client *http.Client
}

// New returns a client. It fails only when BaseURL is empty.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("openaicompat: base_url is required")
	}
	if cfg.Name == "" {
		cfg.Name = "openai"
	}
	c := &Client{cfg: cfg, url: strings.TrimRight(cfg.BaseURL, "/") + "/chat/completions", client: cfg.HTTPClient}
	if c.client == nil {
		c.client = upstream.NewHTTPClient()
	}
	return c, nil
}

// Chat sends req and returns the answer as a stream. The upstream call streams (with
// stream_options.include_usage) when the client asked for a stream, or always if the
// provider's stream mode says so; otherwise the upstream sends one JSON body, which is
// turned into a stream of one chunk. An upstream that answers a streamed call with one JSON
// body anyway is handled too.
//
// As with the DashScope adapter, Chat returns after the first piece of the answer, so
// failures before any output are returned here (retryable ones marked); later failures come
// from Recv, never retryable.
func (c *Client) Chat(ctx context.Context, req *chat.Request) (chat.Stream, error) {
	if c.cfg.APIKey == "" && !c.cfg.AllowNoKey {
		return nil, upstream.MissingCredential(c.cfg.Name)
	}
	up := *req
	up.Stream = c.cfg.Stream.Streams(req.Stream, upstream.StreamAsRequested)
	up.IncludeUsage = up.Stream
	timeouts := c.cfg.Timeouts
	if !up.Stream {
		timeouts = timeouts.ForWhole()
	}
	body, err := openai.EncodeRequest(&up)
	if err != nil {
		return nil, apierr.BadRequest("invalid_value", "the request cannot be encoded for the model provider").WithCause(err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, apierr.New(http.StatusInternalServerError, apierr.TypeAPI, "provider_misconfigured",
			"the model provider is misconfigured").WithCause(err)
	}
	for k, v := range c.cfg.Headers {
		hr.Header.Set(k, v)
	}
	if c.cfg.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	hr.Header.Set("Content-Type", "application/json")
	if up.Stream {
		hr.Header.Set("Accept", "text/event-stream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	call, err := upstream.Do(ctx, c.client, hr, timeouts, c.cfg.Name)
	if err != nil {
		return nil, err
	}
	if call.Resp.StatusCode != http.StatusOK {
		b, rerr := call.ReadBody(upstream.MaxErrorBody)
		e := upstream.Map(ParseError(c.cfg.Name, call.Resp.StatusCode, b))
		if rerr != nil && ctx.Err() != nil {
			return nil, rerr // the caller went away while the error body was read
		}
		if rerr != nil && len(b) == 0 {
			e.Err = errors.Join(e.Err, rerr)
		}
		return nil, e
	}
	if call.IsEventStream() {
		return upstream.Stream(call, NewDecoder(c.cfg.Name))
	}
	b, err := call.ReadBody(upstream.MaxBody)
	if err != nil {
		return nil, err
	}
	return decodeWhole(c.cfg.Name, b)
}

// decodeWhole turns a non-streamed chat.completion body into a stream.
func decodeWhole(provider string, b []byte) (chat.Stream, error) {
	resp, eb, err := openai.DecodeResponse(b)
	if err != nil {
		return nil, upstream.BadStream(provider, err)
	}
	if eb != nil {
		return nil, upstream.Map(fromBody(provider, 0, eb))
	}
	return openai.ResponseStream(resp), nil
}

// ParseError reads an error response body: OpenAI's {"error":{message,type,code,param}}, or
// DashScope's native {"code","message"} that some gateways in front of it return.
func ParseError(provider string, status int, body []byte) *upstream.Error {
	if eb := openai.DecodeError(body); eb != nil {
		return fromBody(provider, status, eb)
	}
	ue := &upstream.Error{Provider: provider, Status: status}
	var w struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &w) == nil {
		if s, ok := w.Code.(string); ok {
			ue.Code = s
		}
		ue.Message = w.Message
	}
	return ue
}

func fromBody(provider string, status int, eb *openai.ErrorBody) *upstream.Error {
	return &upstream.Error{Provider: provider, Status: status, Code: eb.Code, Type: eb.Type, Message: eb.Message}
}
