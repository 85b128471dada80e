package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/gateway"
	"github.com/qiao-gateway/qiao/internal/provider/sim"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// roleEnv selects a child role when qiao-bench starts itself as the simulator, the
// reverse-proxy floor or the profiled in-process gateway. An environment variable rather
// than a subcommand, so the smoke test's binary (a go test binary) can play the roles too.
const roleEnv = "QIAO_BENCH_ROLE"

// runChild runs the child role named by $QIAO_BENCH_ROLE until its stdin closes or it gets
// SIGTERM/SIGINT, and returns the process's exit code.
func runChild(role string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// The parent holds our stdin; EOF means it is gone.
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	var err error
	switch role {
	case "sim":
		err = childSim(ctx, args)
	case "proxy":
		err = childProxy(ctx, args)
	case "gateway":
		err = childGateway(ctx, args)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "qiao-bench %s: %v\n", role, err)
		return 1
	}
	return 0
}

// serveUntil serves h on a fresh loopback port, prints "READY <base>" and serves until ctx
// ends.
func serveUntil(ctx context.Context, h http.Handler, path string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// ReadHeaderTimeout keeps a stuck client from holding a goroutine; no write timeout,
	// because answers stream.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("READY http://%s%s\n", ln.Addr(), path)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

// childSim runs an OpenAI-compatible simulator. It keeps only the last received request
// (MaxReceived 1): the default log of 1,000 is copied on every request and would make the
// simulator, not the gateway, the bottleneck at high rates.
func childSim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	var k sim.Knobs
	key := fs.String("key", "", "accepted API key")
	fs.IntVar(&k.ChunkRunes, "chunk-runes", 4, "runes per streamed delta")
	fs.DurationVar(&k.ChunkDelay, "chunk-delay", 0, "wait between streamed events")
	fs.DurationVar(&k.FirstByteDelay, "first-byte-delay", 0, "wait before the first byte")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := sim.New(sim.KindOpenAI, sim.Options{APIKeys: []string{*key}, Knobs: k, MaxReceived: 1})
	if err != nil {
		return err
	}
	return serveUntil(ctx, s.Handler(), "/v1")
}

// newFloorProxy is the floor every gateway is compared with: the standard library's
// reverse proxy, with a connection pool as large as Qiao's upstream client (a default
// Transport keeps 2 idle connections per host and would measure connection churn instead).
//
// It enables full duplex on every request. Without it a bare ReverseProxy cuts a few
// percent of streamed answers when client, proxy and upstream are separate processes
// (golang/go#40747): writing the response headers makes the HTTP/1 server close the
// inbound body, the transport's final check read of that body then fails, and the
// transport tears down the upstream connection mid-answer ("read error during body copy:
// use of closed network connection"; the client sees unexpected EOF).
func newFloorProxy(target *url.URL) http.Handler {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		// Flush every write at once, as a gateway must for streamed answers.
		FlushInterval: -1,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
}

func childProxy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	target := fs.String("target", "", "origin to forward to (http://host:port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -target %q", *target)
	}
	return serveUntil(ctx, newFloorProxy(u), "")
}

// childGateway runs the gateway the way `qiao serve` does (gateway.Build, then its server)
// but inside this process, so it can write a CPU profile of exactly the gateway. It creates
// one key for the configured tenant and prints it before READY.
func childGateway(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	profile := fs.String("cpuprofile", "", "write a CPU profile here")
	region := fs.String("region", "CN", "region of the created key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	g, secret, err := buildGateway(ctx, raw, *region, logger)
	if err != nil {
		return err
	}
	defer g.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println(secret)
	fmt.Printf("READY http://%s\n", ln.Addr())
	err = g.Server.Serve(ctx, ln, 5*time.Second)
	if errors.Is(err, context.Canceled) || errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// buildGateway builds Qiao from the configuration raw, the way `qiao serve` does, and creates
// one key for region; it returns the gateway and the key's secret.
func buildGateway(ctx context.Context, raw []byte, region string, logger *slog.Logger) (*gateway.Gateway, string, error) {
	cfg, err := config.Parse(raw)
	if err != nil {
		return nil, "", err
	}
	g, err := gateway.Build(ctx, gateway.Options{Config: cfg, Getenv: os.Getenv, Logger: logger})
	if err != nil {
		return nil, "", err
	}
	secret, k, err := tenant.NewSecret("bench", []string{region}, time.Now())
	if err == nil {
		err = g.Keys.CreateKey(ctx, k)
	}
	if err != nil {
		g.Close()
		return nil, "", err
	}
	return g, secret, nil
}
