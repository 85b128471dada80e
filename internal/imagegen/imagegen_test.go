package imagegen_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/imagegen"
	"github.com/qiao-gateway/qiao/internal/imagegen/sim"
)

const testKey = "sk-test-imagegen"

func instantSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func newProvider(t *testing.T, kind, base string, mutate func(*imagegen.Config)) imagegen.Provider {
	t.Helper()
	cfg := imagegen.Config{Name: "t", Kind: kind, BaseURL: base, APIKeyEnv: "IMG_KEY", Jurisdiction: "CN", Model: "wanx2.1-t2i-turbo"}
	if kind == imagegen.KindOpenAI {
		cfg.Model = "gpt-image-1"
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := imagegen.New(cfg, imagegen.Options{
		Getenv: func(string) string { return testKey },
		Sleep:  instantSleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func checkPNG(t *testing.T, img imagegen.Image, w, h int) {
	t.Helper()
	if img.MIME != "image/png" {
		t.Fatalf("MIME %q", img.MIME)
	}
	m, _, err := image.Decode(bytes.NewReader(img.Data))
	if err != nil {
		t.Fatal(err)
	}
	if m.Bounds().Dx() != w || m.Bounds().Dy() != h {
		t.Fatalf("image is %v, want %dx%d", m.Bounds(), w, h)
	}
}

func TestDashScopeAsyncTask(t *testing.T) {
	s := sim.NewDashScope(testKey)
	srv := httptest.NewServer(s)
	defer srv.Close()
	p := newProvider(t, imagegen.KindDashScope, srv.URL, nil)
	imgs, err := p.Generate(context.Background(), imagegen.Request{Prompt: "一只奔跑的猫", N: 2, Size: "640x480"})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Fatalf("%d images", len(imgs))
	}
	for _, img := range imgs {
		checkPNG(t, img, 640, 480)
		if img.RevisedPrompt != "一只奔跑的猫" {
			t.Errorf("RevisedPrompt %q", img.RevisedPrompt)
		}
	}
	if bytes.Equal(imgs[0].Data, imgs[1].Data) {
		t.Error("two images of one request are identical")
	}
	if submits, polls := s.Counts(); submits != 1 || polls != 2 {
		t.Errorf("submits %d polls %d, want 1 and 2 (RUNNING, SUCCEEDED)", submits, polls)
	}
}

// recorder wraps a handler and records the requests the adapter sends.
type recorder struct {
	h    http.Handler
	reqs []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path+" async="+req.Header.Get("X-DashScope-Async")+" auth="+req.Header.Get("Authorization"))
	r.h.ServeHTTP(w, req)
}

func TestDashScopeWireProtocol(t *testing.T) {
	rec := &recorder{h: sim.NewDashScope(testKey)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	p := newProvider(t, imagegen.KindDashScope, srv.URL, nil)
	if _, err := p.Generate(context.Background(), imagegen.Request{Prompt: "x"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /api/v1/services/aigc/text2image/image-synthesis async=enable auth=Bearer " + testKey,
		"GET /api/v1/tasks/",
		"GET /api/v1/tasks/",
		"GET /sim-results/",
	}
	if len(rec.reqs) != len(want) {
		t.Fatalf("requests:\n%s", strings.Join(rec.reqs, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(rec.reqs[i], w) {
			t.Errorf("request %d = %q, want prefix %q", i, rec.reqs[i], w)
		}
	}
}

func TestOpenAIImages(t *testing.T) {
	srv := httptest.NewServer(sim.NewOpenAI(testKey))
	defer srv.Close()
	for _, format := range []string{"b64_json", "url", "none"} {
		t.Run(format, func(t *testing.T) {
			p := newProvider(t, imagegen.KindOpenAI, srv.URL+"/v1", func(c *imagegen.Config) { c.ResponseFormat = format })
			imgs, err := p.Generate(context.Background(), imagegen.Request{Prompt: "harbour at dusk", N: 3, Size: "256x128"})
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 3 {
				t.Fatalf("%d images", len(imgs))
			}
			for _, img := range imgs {
				checkPNG(t, img, 256, 128)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	ds := httptest.NewServer(sim.NewDashScope(testKey))
	defer ds.Close()
	oa := httptest.NewServer(sim.NewOpenAI(testKey))
	defer oa.Close()
	wrongKey := httptest.NewServer(sim.NewDashScope("another-key"))
	defer wrongKey.Close()
	tests := []struct {
		name      string
		kind      string
		base      string
		mutate    func(*imagegen.Config)
		req       imagegen.Request
		status    int
		code      string
		retryable bool
	}{
		{"empty prompt", imagegen.KindDashScope, ds.URL, nil, imagegen.Request{Prompt: " "}, 400, "invalid_prompt", false},
		{"n too large", imagegen.KindDashScope, ds.URL, nil, imagegen.Request{Prompt: "a", N: 5}, 400, "invalid_n", false},
		{"bad size", imagegen.KindOpenAI, oa.URL + "/v1", nil, imagegen.Request{Prompt: "a", Size: "big"}, 400, "invalid_size", false},
		{"dashscope moderation at submit", imagegen.KindDashScope, ds.URL, nil, imagegen.Request{Prompt: "sim:block"}, 400, apierr.CodeContentFilter, false},
		{"openai moderation", imagegen.KindOpenAI, oa.URL + "/v1", nil, imagegen.Request{Prompt: "sim:block"}, 400, apierr.CodeContentFilter, false},
		{"task FAILED", imagegen.KindDashScope, ds.URL, nil, imagegen.Request{Prompt: "sim:fail"}, 502, imagegen.CodeUpstreamUnavailable, true},
		{"task never finishes", imagegen.KindDashScope, ds.URL, func(c *imagegen.Config) { c.MaxWait = 30 * time.Millisecond },
			imagegen.Request{Prompt: "sim:never"}, 504, imagegen.CodeUpstreamTimeout, false},
		{"image over the size limit", imagegen.KindDashScope, ds.URL, func(c *imagegen.Config) { c.MaxImageBytes = 1 << 20 },
			imagegen.Request{Prompt: "sim:huge", Size: "64x64"}, 502, imagegen.CodeImageTooLarge, false},
		{"b64 image over the size limit", imagegen.KindOpenAI, oa.URL + "/v1", func(c *imagegen.Config) { c.MaxImageBytes = 1000 },
			imagegen.Request{Prompt: "a", Size: "512x512"}, 502, imagegen.CodeImageTooLarge, false},
		{"wrong upstream key", imagegen.KindDashScope, wrongKey.URL, nil, imagegen.Request{Prompt: "a"}, 502, imagegen.CodeUpstreamAuth, true},
		{"unreachable upstream", imagegen.KindOpenAI, "http://127.0.0.1:1/v1", nil, imagegen.Request{Prompt: "a"}, 502, imagegen.CodeUpstreamUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.kind, tt.base, tt.mutate)
			_, err := p.Generate(context.Background(), tt.req)
			ae, ok := apierr.As(err)
			if !ok {
				t.Fatalf("error %v is not an *apierr.Error", err)
			}
			if ae.Status != tt.status || ae.Code != tt.code || ae.Retryable != tt.retryable {
				t.Errorf("got %d %s retryable=%v (%v), want %d %s retryable=%v", ae.Status, ae.Code, ae.Retryable, err, tt.status, tt.code, tt.retryable)
			}
			if strings.Contains(ae.Message, testKey) || strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestDashScopePartialResults(t *testing.T) {
	srv := httptest.NewServer(sim.NewDashScope(testKey))
	defer srv.Close()
	p := newProvider(t, imagegen.KindDashScope, srv.URL, nil)
	imgs, err := p.Generate(context.Background(), imagegen.Request{Prompt: "sim:partial", N: 3, Size: "64x64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Fatalf("%d images, want the 2 that succeeded", len(imgs))
	}
}

// TestDashScopePollRetriesTransientErrors: a 500 on a poll is not a failed task.
func TestDashScopePollRetriesTransientErrors(t *testing.T) {
	s := sim.NewDashScope(testKey)
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/tasks/") && polls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"code":"InternalError","message":"try later"}`))
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	p := newProvider(t, imagegen.KindDashScope, srv.URL, nil)
	if _, err := p.Generate(context.Background(), imagegen.Request{Prompt: "a", Size: "64x64"}); err != nil {
		t.Fatal(err)
	}
}

// TestResultURLMustBeHTTPS: over an https upstream, a result URL may not point to plain http.
func TestResultURLMustBeHTTPS(t *testing.T) {
	plain := httptest.NewServer(sim.NewDashScope(""))
	defer plain.Close()
	p := httpsTaskProvider(t, func(string) string { return plain.URL + "/sim-results/x/0.png" }, nil)
	_, err := p.Generate(context.Background(), imagegen.Request{Prompt: "a"})
	if ae, ok := apierr.As(err); !ok || ae.Code != imagegen.CodeUpstreamBadResponse {
		t.Fatalf("err = %v, want upstream_bad_response", err)
	}
}

// httpsTaskProvider returns a DashScope image provider reached over https, whose task
// succeeds with one result at resultURL(the server's URL); the server answers requests for
// paths under /result with result.
func httpsTaskProvider(t *testing.T, resultURL func(base string) string, result http.HandlerFunc) imagegen.Provider {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			_, _ = w.Write([]byte(`{"output":{"task_id":"t1","task_status":"PENDING"},"request_id":"r"}`))
		case result != nil && strings.HasPrefix(r.URL.Path, "/result"):
			result(w, r)
		default:
			_, _ = w.Write([]byte(`{"output":{"task_id":"t1","task_status":"SUCCEEDED","results":[{"url":"` + resultURL(srv.URL) + `"}]},"request_id":"r"}`))
		}
	}))
	t.Cleanup(srv.Close)
	cfg := imagegen.Config{Name: "t", Kind: imagegen.KindDashScope, BaseURL: srv.URL, APIKeyEnv: "K", Jurisdiction: "CN"}
	p, err := imagegen.New(cfg, imagegen.Options{HTTPClient: srv.Client(), Getenv: func(string) string { return testKey }, Sleep: instantSleep})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigValidate(t *testing.T) {
	good := imagegen.Config{Name: "ds", Kind: "dashscope", BaseURL: "https://example.invalid", APIKeyEnv: "K", Jurisdiction: "CN"}
	tests := []struct {
		name   string
		mutate func(*imagegen.Config)
		want   string
	}{
		{"good", func(*imagegen.Config) {}, ""},
		{"unknown kind", func(c *imagegen.Config) { c.Kind = "midjourney" }, "kind"},
		{"relative base_url", func(c *imagegen.Config) { c.BaseURL = "/v1" }, "base_url"},
		{"no key env", func(c *imagegen.Config) { c.APIKeyEnv = "" }, "api_key_env"},
		{"no jurisdiction", func(c *imagegen.Config) { c.Jurisdiction = "" }, "jurisdiction"},
		{"bad response_format", func(c *imagegen.Config) { c.ResponseFormat = "png" }, "response_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, imagegen.ErrConfig) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
	_, err := imagegen.New(good, imagegen.Options{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "environment variable K is empty") {
		t.Fatalf("New with no key = %v", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		w, h int
		ok   bool
	}{
		{"1024x1024", 1024, 1024, true},
		{"1280*720", 1280, 720, true},
		{"63x64", 0, 0, false},
		{"4097x64", 0, 0, false},
		{"x", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w, h, ok := imagegen.ParseSize(tt.in)
			if ok != tt.ok || (ok && (w != tt.w || h != tt.h)) {
				t.Fatalf("ParseSize(%q) = %d, %d, %v", tt.in, w, h, ok)
			}
		})
	}
}

// TestRedirects: a redirect of a call that carries the prompt is never followed (it could lead
// outside the region's jurisdictions): it is an upstream error. A result download follows a
// redirect only to a URL as acceptable as the result URL (https when the upstream is https).
func TestRedirects(t *testing.T) {
	var reached atomic.Int64
	abroad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer abroad.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, abroad.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	for _, kind := range []string{imagegen.KindDashScope, imagegen.KindOpenAI} {
		p := newProvider(t, kind, redirecting.URL, nil)
		if _, err := p.Generate(context.Background(), imagegen.Request{Prompt: "a"}); err == nil {
			t.Fatalf("%s: a redirected call succeeded", kind)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("a redirect of the prompt was followed %d times", n)
	}

	// An https upstream whose result URL is https and redirects: to another https URL the
	// download follows (and gets a picture), to plain http it refuses (and never asks).
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		w.Write(pic.Bytes())
	}))
	defer plain.Close()
	for _, tc := range []struct {
		to     func(base string) string
		wantOK bool
	}{
		{func(base string) string { return base + "/result/pic.png" }, true},
		{func(string) string { return plain.URL + "/pic.png" }, false},
	} {
		var base string
		p := httpsTaskProvider(t, func(b string) string { base = b; return b + "/result/0.png" }, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/result/pic.png" {
				w.Write(pic.Bytes())
				return
			}
			http.Redirect(w, r, tc.to(base), http.StatusFound)
		})
		_, err := p.Generate(context.Background(), imagegen.Request{Prompt: "a"})
		if (err == nil) != tc.wantOK {
			t.Fatalf("redirect to %s: err = %v", tc.to(base), err)
		}
	}
	if n := plainHits.Load(); n != 0 {
		t.Fatalf("a download followed a redirect from https to http (%d requests)", n)
	}
}
