package imagegen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// OpenAIPath is appended to base_url (which includes /v1).
const OpenAIPath = "/images/generations"

// OpenAI generates images with an OpenAI-compatible POST /images/generations. It asks for
// b64_json by default and also accepts url answers, which it downloads.
type OpenAI struct {
	cfg  Config
	opts Options
	key  string
	base string
}

var _ Provider = (*OpenAI)(nil)

// OpenAIRequest is the body sent upstream.
type OpenAIRequest struct {
	Model          string `json:"model,omitempty"`
	Prompt         string `json:"prompt"`
	N              int    `json:"n,omitempty"`
	Size           string `json:"size,omitempty"`
	ResponseFormat string `json:"response_format,omitempty"`
}

// OpenAIResponse is the upstream answer.
type OpenAIResponse struct {
	Created int64 `json:"created"`
	Data    []struct {
		B64JSON       string `json:"b64_json,omitempty"`
		URL           string `json:"url,omitempty"`
		RevisedPrompt string `json:"revised_prompt,omitempty"`
	} `json:"data"`
}

func (o *OpenAI) name() string { return "openai " + o.cfg.Name }

func (o *OpenAI) decodeErr(status int, body []byte) *UpstreamError {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	code := ""
	switch c := e.Error.Code.(type) {
	case string:
		code = c
	case float64:
		code = strconv.FormatFloat(c, 'f', -1, 64)
	}
	if code == "" {
		code = e.Error.Type
	}
	if code == "" {
		code = "http_" + strconv.Itoa(status)
	}
	return &UpstreamError{Provider: o.name(), Status: status, Code: code, Message: e.Error.Message}
}

// Generate implements Provider.
func (o *OpenAI) Generate(ctx context.Context, r Request) ([]Image, error) {
	n, w, h, err := checkRequest(r)
	if err != nil {
		return nil, err
	}
	body := OpenAIRequest{Model: r.Model, Prompt: r.Prompt, N: n, Size: fmt.Sprintf("%dx%d", w, h)}
	if body.Model == "" {
		body.Model = o.cfg.Model
	}
	if o.cfg.ResponseFormat != "none" {
		body.ResponseFormat = o.cfg.ResponseFormat
	}
	raw, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeoutCause(ctx, o.cfg.MaxWait, errDeadline)
	defer cancel()
	req, err := http.NewRequest(http.MethodPost, o.base+OpenAIPath, bytes.NewReader(raw))
	if err != nil {
		return nil, badResponse(o.name(), err)
	}
	req.Header.Set("Authorization", "Bearer "+o.key)
	req.Header.Set("Content-Type", "application/json")
	var resp OpenAIResponse
	// n images as base64 (4/3 of their bytes) plus room for the envelope.
	limit := int64(n)*o.cfg.MaxImageBytes*4/3 + 1<<20
	upErr, err := doJSON(ctx, o.opts.HTTPClient, req, limit, &resp, o.decodeErr)
	if errors.Is(err, errDecode) {
		return nil, badResponse(o.name(), err)
	}
	if err != nil {
		return nil, transportError(o.name(), cause(ctx, err), true)
	}
	if upErr != nil {
		return nil, mapError(upErr)
	}
	if len(resp.Data) == 0 {
		return nil, badResponse(o.name(), fmt.Errorf("answer has no images"))
	}
	httpsOnly := strings.HasPrefix(o.base, "https:")
	out := make([]Image, 0, len(resp.Data))
	for i, d := range resp.Data {
		var img Image
		switch {
		case d.B64JSON != "":
			if int64(base64.StdEncoding.DecodedLen(len(d.B64JSON))) > o.cfg.MaxImageBytes+2 {
				return nil, downloadError(o.name(), ctx, errTooLarge{o.cfg.MaxImageBytes})
			}
			data, err := base64.StdEncoding.DecodeString(d.B64JSON)
			if err != nil {
				return nil, badResponse(o.name(), fmt.Errorf("image %d: b64_json: %w", i, err))
			}
			if int64(len(data)) > o.cfg.MaxImageBytes {
				return nil, downloadError(o.name(), ctx, errTooLarge{o.cfg.MaxImageBytes})
			}
			if img, err = sniff(data); err != nil {
				return nil, badResponse(o.name(), fmt.Errorf("image %d: %w", i, err))
			}
		case d.URL != "":
			if img, err = download(ctx, o.opts.HTTPClient, d.URL, httpsOnly, o.cfg.MaxImageBytes); err != nil {
				return nil, downloadError(o.name(), ctx, err)
			}
		default:
			return nil, badResponse(o.name(), fmt.Errorf("image %d has neither b64_json nor url", i))
		}
		img.RevisedPrompt = d.RevisedPrompt
		out = append(out, img)
	}
	return out, nil
}
