package imagegen_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/imagegen"
)

// FuzzDashScopePoll feeds arbitrary task-poll answers to the adapter: it must return images or
// a typed API error, never panic or hang.
func FuzzDashScopePoll(f *testing.F) {
	f.Add([]byte(`{"output":{"task_id":"t","task_status":"SUCCEEDED","results":[{"url":"http://127.0.0.1:1/x.png"}]}}`), 200)
	f.Add([]byte(`{"output":{"task_id":"t","task_status":"FAILED","code":"DataInspectionFailed","message":"Output data may contain inappropriate content."}}`), 200)
	f.Add([]byte(`{"output":{"task_status":"SUCCEEDED","results":[{"code":"x"}]}}`), 200)
	f.Add([]byte(`{"code":"InvalidApiKey"}`), 401)
	f.Add([]byte(`not json`), 200)
	var mu sync.Mutex
	var body []byte
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, _ = w.Write([]byte(`{"output":{"task_id":"t1","task_status":"PENDING"},"request_id":"r"}`))
			return
		}
		mu.Lock()
		b, s := body, status
		mu.Unlock()
		w.WriteHeader(s)
		_, _ = w.Write(b)
	}))
	f.Cleanup(srv.Close)
	cfg := imagegen.Config{Name: "f", Kind: imagegen.KindDashScope, BaseURL: srv.URL, APIKeyEnv: "K", Jurisdiction: "CN",
		MaxWait: 50 * time.Millisecond}
	p, err := imagegen.New(cfg, imagegen.Options{Getenv: func(string) string { return "k" }, Sleep: instantSleep})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte, s int) {
		if s < 200 || s > 599 {
			s = 200
		}
		mu.Lock()
		body, status = b, s
		mu.Unlock()
		imgs, err := p.Generate(context.Background(), imagegen.Request{Prompt: "p", Size: "64x64"})
		if err == nil {
			for _, img := range imgs {
				if img.MIME != "image/png" && img.MIME != "image/jpeg" {
					t.Fatalf("MIME %q", img.MIME)
				}
			}
			return
		}
		if _, ok := apierr.As(err); !ok {
			t.Fatalf("untyped error %v", err)
		}
	})
}
