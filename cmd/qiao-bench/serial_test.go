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
	"slices"
	"testing"
	"time"
)

// BenchmarkSerial sends one request at a time over loopback TCP to the simulator directly,
// through the floor proxy and through Qiao (CN and minimal profiles); proxy and Qiao run in
// this process, the simulator in a child. Each iteration sends one request to every target
// in turn, so a burst of other load on the machine falls on all of them, and the metrics are
// medians: direct-µs is the simulator's own latency, <target>-added-µs what that target adds
// to one request — the quantity the load tool's added-p50 goal is about, without queueing
// behind other requests. ns/op is one round over all targets.
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

	targets := []serialTarget{
		{"direct", simURL.String(), simKey, upstreamModel},
		{"proxy", proxy.URL, simKey, upstreamModel},
	}
	for _, profile := range []string{profileCN, profileMinimal} {
		url, key := startSerialGateway(b, profile, base, simKey)
		targets = append(targets, serialTarget{"qiao-" + profile, url, key, "chat"})
	}
	for _, stream := range []bool{false, true} {
		mode := "non-stream"
		if stream {
			mode = "stream"
		}
		b.Run(mode, func(b *testing.B) {
			body := map[string][]byte{}
			for _, t := range targets {
				body[t.name] = chatBody(t.model, defaultPrompt, stream)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
			defer client.CloseIdleConnections()
			do := func(t serialTarget) time.Duration {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPost, t.url+"/v1/chat/completions", bytes.NewReader(body[t.name]))
				req.Header.Set("Authorization", "Bearer "+t.key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				took := time.Since(start)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: status %d, err %v: %s", t.name, resp.StatusCode, err, got)
				}
				if stream && !bytes.HasSuffix(got, []byte("data: [DONE]\n\n")) {
					b.Fatalf("%s: stream did not end with [DONE]: %s", t.name, got)
				}
				return took
			}
			for range 50 { // open the connections, fill the pools and caches
				for _, t := range targets {
					do(t)
				}
			}
			took := make([][]time.Duration, len(targets))
			b.ResetTimer()
			for range b.N {
				for i, t := range targets {
					took[i] = append(took[i], do(t))
				}
			}
			b.StopTimer()
			direct := median(took[0])
			b.ReportMetric(float64(direct.Microseconds()), "direct-µs")
			for i, t := range targets[1:] {
				added := median(took[i+1]) - direct
				b.ReportMetric(float64(added.Microseconds()), t.name+"-added-µs")
			}
		})
	}
}

// median returns the middle of d (sorted in place).
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

type serialTarget struct{ name, url, key, model string }

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
