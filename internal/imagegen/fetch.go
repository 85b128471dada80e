package imagegen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// errDecode marks a 200 answer that is not the JSON expected: a bad response, not a transient
// failure worth retrying.
var errDecode = errors.New("undecodable answer")

// maxTaskJSON bounds a DashScope submit or poll answer, which holds no image data.
const maxTaskJSON = 1 << 20

// doJSON sends a request and decodes a 200 answer of at most maxJSONBytes into out; any other
// status is decoded as an upstream error with decodeErr.
func doJSON(ctx context.Context, c *http.Client, req *http.Request, maxJSONBytes int64, out any, decodeErr func(status int, body []byte) *UpstreamError) (*UpstreamError, error) {
	resp, err := withRedirects(c, noRedirect).Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > maxJSONBytes {
		return nil, fmt.Errorf("answer larger than %d bytes", maxJSONBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return decodeErr(resp.StatusCode, body), nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("%w: %v", errDecode, err)
	}
	return nil, nil
}

// noRedirect makes a call's redirect its answer: a prompt must not follow a redirect, which
// could lead to a host outside the region's jurisdictions. A 3xx is then an upstream error.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// maxDownloadRedirects bounds the redirects a result download follows (object stores sign
// URLs that may redirect); each one must be as acceptable as the result URL itself.
const maxDownloadRedirects = 5

// withRedirects returns a copy of c with its own redirect policy; the transport (and so the
// connection pool) is shared.
func withRedirects(c *http.Client, check func(*http.Request, []*http.Request) error) *http.Client {
	cc := *c
	cc.CheckRedirect = check
	return &cc
}

// download fetches a generated image from a result URL, refusing more than max bytes and
// anything that is not PNG or JPEG. When the upstream is reached over https, result URLs must
// be https too: an upstream answer must not steer the gateway to a plaintext or local URL.
func download(ctx context.Context, c *http.Client, rawURL string, httpsOnly bool, max int64) (Image, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && (httpsOnly || u.Scheme != "http")) || u.Host == "" {
		return Image{}, fmt.Errorf("result URL is not an acceptable http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Image{}, err
	}
	resp, err := withRedirects(c, func(r *http.Request, via []*http.Request) error {
		if len(via) >= maxDownloadRedirects {
			return fmt.Errorf("more than %d redirects", maxDownloadRedirects)
		}
		if r.URL.Scheme != "https" && (httpsOnly || r.URL.Scheme != "http") {
			return errors.New("redirect to a URL that is not acceptable")
		}
		return nil
	}).Do(req)
	if err != nil {
		return Image{}, fmt.Errorf("download result: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Image{}, fmt.Errorf("download result: HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > max {
		return Image{}, errTooLarge{max}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return Image{}, fmt.Errorf("download result: %w", err)
	}
	if int64(len(data)) > max {
		return Image{}, errTooLarge{max}
	}
	return sniff(data)
}

type errTooLarge struct{ max int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("generated image larger than %d bytes", e.max)
}

// sniff checks that data is a PNG or JPEG and returns it as an Image.
func sniff(data []byte) (Image, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return Image{Data: data, MIME: "image/png"}, nil
	case len(data) > 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return Image{Data: data, MIME: "image/jpeg"}, nil
	}
	return Image{}, fmt.Errorf("generated image is %s, not PNG or JPEG", http.DetectContentType(data))
}
