package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkSerial sends one request at a time over loopback TCP to the simulator directly,
// through the floor proxy and through Qiao (CN and minimal profiles); proxy and Qiao run in
// this process, the simulator in a child. With nothing else in flight ns/op is a request's
// serial latency, so a target's ns/op minus direct's is what that target adds to one
// request — the quantity the load tool's added-p50 goal is about, without queueing behind
// other requests. Allocations are the whole process's: client, proxy or gateway.
//
//	go test -run '^$' -bench Serial -benchtime 2000x ./cmd/qiao-bench
func BenchmarkSerial(b *testing.B) {
	// The simulator is a child process with one CPU, as in a load run: in this process
	// its work would compete with the gateway's for the scheduler.
	simKey := "sk-sim-" + randHex(8)
	cmd := exec.Command(os.Args[0], "-key", simKey, "-chunk-runes", "4")
	cmd.Env = childEnv(roleEnv+"=sim", 1)
	p, base, _, err := startProc(cmd, b.TempDir(), "sim", true, readyTimeout)
	if err != nil {
		b.Fatal(err)
	}
	defer p.stop()
	simURL, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	simURL.Path = ""

	proxy := httptest.NewServer(newFloorProxy(simURL))
	defer proxy.Close()

	targets := []struct{ name, url, key, model string }{
		{"direct", simURL.String(), simKey, upstreamModel},
		{"proxy", proxy.URL, simKey, upstreamModel},
	}
	for _, profile := range []string{profileCN, profileMinimal} {
		url, key := startSerialGateway(b, profile, base, simKey)
		targets = append(targets, struct{ name, url, key, model string }{"qiao-" + profile, url, key, "chat"})
	}
	for _, stream := range []bool{false, true} {
		mode := "non-stream"
		if stream {
			mode = "stream"
		}
		for _, t := range targets {
			b.Run(mode+"/"+t.name, func(b *testing.B) {
				body := chatBody(t.model, defaultPrompt, stream)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
				defer client.CloseIdleConnections()
				do := func() {
					req, _ := http.NewRequest(http.MethodPost, t.url+"/v1/chat/completions", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+t.key)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					got, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d, err %v: %s", resp.StatusCode, err, got)
					}
					if stream && !bytes.HasSuffix(got, []byte("data: [DONE]\n\n")) {
						b.Fatalf("stream did not end with [DONE]: %s", got)
					}
				}
				for range 50 { // open the connections, fill the pools and caches
					do()
				}
				b.ResetTimer()
				for range b.N {
					do()
				}
			})
		}
	}
}

// startSerialGateway builds Qiao in this process for profile, the way `qiao serve` does,
// and returns its URL and a key for its CN region.
func startSerialGateway(b *testing.B, profile, simURL, simKey string) (string, string) {
	b.Setenv(simKeyEnv, simKey)
	raw, err := checkedGatewayConfig(profile, "127.0.0.1:0", b.TempDir(), simURL)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	g, secret, err := buildGateway(ctx, raw, "CN", slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { g.Server.Serve(ctx, ln, time.Second); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String(), secret
}
