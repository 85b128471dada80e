// Command qiao-bench measures what Qiao adds to a request. In one run it sends the same chat
// workload, at fixed request rates, non-streaming and streaming, (a) straight to a
// protocol-faithful simulator, (b) through the standard library's httputil.ReverseProxy —
// the floor any Go gateway starts from — and (c) through Qiao (the built-in CN profile, and
// a minimal profile), each gateway a separate process. It reports p50/p90/p99/max latency,
// time to first token for streams, errors, the gateway's peak RSS and CPU per request, and
// Qiao's added latency next to the floor's. See BENCHMARKS.md.
//
// Everything runs on 127.0.0.1 and stops by itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runChild(role, os.Args[1:]))
	}
	m := NewMain()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := m.ParseFlags(os.Args[1:])
	if err == nil {
		err = m.Run(ctx)
	}
	stop()
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "qiao-bench:", err)
		os.Exit(1)
	}
}

// Main is the program, shared with the smoke test.
type Main struct {
	Stdout, Stderr io.Writer
	// Self is the executable started for the simulator and proxy roles. Default
	// os.Executable(); the smoke test's binary plays the roles too (see roleEnv).
	Self string

	opts    options
	args    []string
	results []Summary // of the last Run, for tests
	cleanup []func()
}

// NewMain returns a Main wired to the process's standard streams.
func NewMain() *Main { return &Main{Stdout: os.Stdout, Stderr: os.Stderr} }

// Target names.
const (
	targetDirect = "direct"
	targetProxy  = "proxy"
	targetQiaoCN = "qiao-cn"
	targetQiaoMn = "qiao-min"
)

var allTargets = []string{targetDirect, targetProxy, targetQiaoCN, targetQiaoMn}

// defaultPrompt is a realistic short request (≈200 bytes of UTF-8) with a name and a phone
// number, so the CN profile's privacy stage has real work: it replaces both before the
// simulator sees them and restores them in the echoed answer.
const defaultPrompt = "你好，我叫王芳，手机13912345678。请帮我写一段周末计划：周六上午去西湖散步，中午吃杭帮菜，下午去浙江省博物馆，晚上早点回家休息，谢谢。"

type options struct {
	qiao          string
	rates         []int
	duration      time.Duration
	rounds        int
	fresh         bool
	warmup        time.Duration
	pause         time.Duration
	modes         []bool // stream?
	targets       []string
	prompt        string
	chunkRunes    int
	chunkDelay    time.Duration
	out           string
	cpuProfile    string
	simProcs      int
	gatewayProcs  int
	timeout       time.Duration
	keep          bool
	goalRatio     float64
	goalRSS       int64
	goalRSSAtRate int
}

// ParseFlags parses the command line.
func (m *Main) ParseFlags(args []string) error {
	m.args = args
	o := &m.opts
	fs := flag.NewFlagSet("qiao-bench", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: qiao-bench [flags]\n\nMeasures Qiao against a direct call and a bare reverse proxy. Flags:\n")
		fs.PrintDefaults()
	}
	rates := fs.String("rates", "200,500,1000", "request rates to measure, per second, comma-separated")
	modes := fs.String("modes", "non-stream,stream", "modes to measure: non-stream, stream")
	targets := fs.String("targets", strings.Join(allTargets, ","), "targets to measure: "+strings.Join(allTargets, ", "))
	fs.StringVar(&o.qiao, "qiao", "", "qiao binary to benchmark (default: go build ./cmd/qiao into a temporary directory)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured phase")
	fs.IntVar(&o.rounds, "rounds", 1, "measure each phase in this many slices, the targets taking turns, so bursts of other load hit all targets alike")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warm-up per target, mode and rate, not measured")
	fs.BoolVar(&o.fresh, "fresh", true, "restart the proxy and the qiao processes before each rate, so peak RSS is that rate's (the -cpuprofile gateway is never restarted)")
	fs.DurationVar(&o.pause, "pause", 500*time.Millisecond, "pause between phases; after it the run also waits (up to 10 s) until the simulator, proxy and gateways are idle, so one phase's leftover work does not land in the next")
	fs.StringVar(&o.prompt, "prompt", defaultPrompt, "user message of every request")
	fs.IntVar(&o.chunkRunes, "chunk-runes", 4, "simulator: runes per streamed delta")
	fs.DurationVar(&o.chunkDelay, "chunk-delay", 0, "simulator: wait between streamed events (0: as fast as possible)")
	fs.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "run qiao-cn in-process in a child of this binary (same gateway code as qiao serve) and write its CPU profile here")
	fs.IntVar(&o.simProcs, "sim-procs", 1, "GOMAXPROCS of the simulator process (0: Go's default)")
	fs.IntVar(&o.gatewayProcs, "gateway-procs", 0, "GOMAXPROCS of the gateway and proxy processes (0: Go's default, all cores)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "stop the whole run after this long")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs, data) and print its path")
	fs.Float64Var(&o.goalRatio, "goal-ratio", 1.5, "goal: Qiao's added p50 at most this multiple of the proxy's")
	goalRSS := fs.Int("goal-rss-mb", 60, "goal: Qiao's peak RSS under this many MB (MiB) ...")
	fs.IntVar(&o.goalRSSAtRate, "goal-rss-rate", 1000, "... at this request rate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o.goalRSS = int64(*goalRSS) << 20
	var err error
	if o.rates, err = parseRates(*rates); err != nil {
		return err
	}
	for _, s := range splitList(*modes) {
		switch s {
		case "non-stream", "nonstream":
			o.modes = append(o.modes, false)
		case "stream":
			o.modes = append(o.modes, true)
		default:
			return fmt.Errorf("-modes: unknown mode %q (want non-stream, stream)", s)
		}
	}
	for _, s := range splitList(*targets) {
		if !slices.Contains(allTargets, s) {
			return fmt.Errorf("-targets: unknown target %q (want %s)", s, strings.Join(allTargets, ", "))
		}
		if !slices.Contains(o.targets, s) {
			o.targets = append(o.targets, s)
		}
	}
	switch {
	case len(o.modes) == 0:
		return errors.New("-modes: give at least one mode")
	case len(o.targets) == 0:
		return errors.New("-targets: give at least one target")
	case o.duration <= 0:
		return errors.New("-duration must be positive")
	case o.rounds < 1 || o.duration/time.Duration(o.rounds) < 100*time.Millisecond:
		return errors.New("-rounds must be at least 1, with slices (-duration / -rounds) of at least 100ms")
	case o.warmup < 0 || o.pause < 0:
		return errors.New("-warmup and -pause cannot be negative")
	case strings.TrimSpace(o.prompt) == "":
		return errors.New("-prompt cannot be empty")
	case o.chunkRunes <= 0:
		return errors.New("-chunk-runes must be positive")
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 100000 {
			return nil, fmt.Errorf("-rates: %q is not a rate between 1 and 100000 requests per second", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("-rates: give at least one rate")
	}
	return out, nil
}

// Close removes what Run left behind.
func (m *Main) Close() error {
	for i := len(m.cleanup) - 1; i >= 0; i-- {
		m.cleanup[i]()
	}
	m.cleanup = nil
	return nil
}
