package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"
)

func hit(t *testing.T, target string) {
	fails := 0
	for i := 0; i < 300; i++ {
		req, _ := http.NewRequest("POST", target+"/v1/chat/completions", bytes.NewReader([]byte(`{"model":"qwen-plus","stream":true,"messages":[{"role":"user","content":"hello there"}]}`)))
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fails++
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.HasSuffix(b, []byte("[DONE]\n\n")) {
			fails++
		}
	}
	t.Logf("%s: %d/300 failed", target, fails)
}

func TestScratchProxy(t *testing.T) {
	cmd := exec.Command("/tmp/qb/qiao-bench", "-key", "k")
	cmd.Env = append(os.Environ(), "QIAO_BENCH_ROLE=sim")
	p, simURL, _, err := startProc(cmd, t.TempDir(), "sim", true, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	u, _ := url.Parse(simURL)
	u.Path = ""
	px := httptest.NewServer(newFloorProxy(u))
	defer px.Close()
	hit(t, px.URL)
	cmd = exec.Command("/tmp/qb/qiao-bench", "-target", u.String())
	cmd.Env = append(os.Environ(), "QIAO_BENCH_ROLE=proxy")
	p2, pxURL, _, err := startProc(cmd, t.TempDir(), "proxy", true, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.stop()
	hit(t, pxURL)
}
