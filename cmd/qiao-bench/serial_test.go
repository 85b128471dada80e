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
	// QIAO_BENCH_SERIAL_TARGET=qiao-min measures that target alone (and direct), for a
	// profile or a trace of one target.
	if only := os.Getenv("QIAO_BENCH_SERIAL_TARGET"); only != "" {
		targets = slices.DeleteFunc(targets, func(t serialTarget) bool { return t.name != "direct" && t.name != only })
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
			// do sends one request to t and returns when the first byte and the end of its
			// body arrived, measured from the send.
			do := func(t serialTarget) (at [2]time.Duration) {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPost, t.url+"/v1/chat/completions", bytes.NewReader(body[t.name]))
				req.Header.Set("Authorization", "Bearer "+t.key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var got []byte
				buf := make([]byte, 32<<10)
				for {
					n, err := resp.Body.Read(buf)
					if n > 0 && len(got) == 0 {
						at[0] = time.Since(start)
					}
					got = append(got, buf[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				resp.Body.Close()
				at[1] = time.Since(start)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: status %d: %s", t.name, resp.StatusCode, got)
				}
				if stream && !bytes.HasSuffix(got, []byte("data: [DONE]\n\n")) {
					b.Fatalf("%s: stream did not end with [DONE]: %s", t.name, got)
				}
				return at
			}
			for range 50 { // open the connections, fill the pools and caches
				for _, t := range targets {
					do(t)
				}
			}
			// took[i][k] are target i's times to the first byte (k=0) and the end (k=1).
			took := make([][2][]time.Duration, len(targets))
			b.ResetTimer()
			for range b.N {
				for i, t := range targets {
					at := do(t)
					for k := range at {
						took[i][k] = append(took[i][k], at[k])
					}
				}
			}
			b.StopTimer()
			direct := median(took[0][1])
			b.ReportMetric(float64(direct.Microseconds()), "direct-µs")
			for i, t := range targets[1:] {
				added := median(took[i+1][1]) - direct
				b.ReportMetric(float64(added.Microseconds()), t.name+"-added-µs")
			}
			if stream {
				// Where a stream's added time is: before the first byte, or after it.
				directFirst := median(took[0][0])
				for i, t := range targets[1:] {
					first := median(took[i+1][0]) - directFirst
					b.ReportMetric(float64(first.Microseconds()), t.name+"-first-µs")
				}
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
