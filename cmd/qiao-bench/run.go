package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Run sets up the simulator, the proxy and the gateways, measures every phase and writes
// the report.
func (m *Main) Run(ctx context.Context) error {
	o := &m.opts
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	started := time.Now()
	dir, err := os.MkdirTemp("", "qiao-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(m.Stderr, "qiao-bench: keeping %s\n", dir)
	} else {
		m.cleanup = append(m.cleanup, func() { os.RemoveAll(dir) })
	}
	procs := &procSet{}
	m.cleanup = append(m.cleanup, procs.stopAll)
	if m.Self == "" {
		if m.Self, err = os.Executable(); err != nil {
			return err
		}
	}

	env := &runEnv{Main: m, dir: dir, procs: procs}
	targets, err := env.setUp(ctx)
	if err != nil {
		return err
	}
	loadStart := readLoadavg()
	var results []Summary
	for _, stream := range o.modes {
		for _, rate := range o.rates {
			for _, t := range targets {
				if o.fresh && t.start != nil {
					if err := env.restart(t); err != nil {
						return err
					}
				}
				if o.warmup > 0 {
					ph := Phase{Target: t.name, Stream: stream, Rate: rate}
					s := t.attack(ctx, ph, o.warmup, o.prompt)
					m.logf("warm-up %-10s %-9s %5d/s: %d requests, %d errors", t.name, ph.Mode(), ph.Rate, s.Requests, s.Errors)
				}
			}
			procs.settle(ctx, 10*time.Second)
			// Each phase is measured in o.rounds slices, the targets taking turns, so a burst
			// of other load on the machine hits all of them rather than one.
			phases := make([]*phaseMeasure, len(targets))
			for i, t := range targets {
				phases[i] = &phaseMeasure{c: newCollector(Phase{Target: t.name, Stream: stream, Rate: rate})}
			}
			slice := o.duration / time.Duration(o.rounds)
			for round := 0; round < o.rounds; round++ {
				for i, t := range targets {
					if err := ctx.Err(); err != nil {
						return fmt.Errorf("stopped: %w", err)
					}
					if err := env.measure(ctx, t, phases[i], slice); err != nil {
						return err
					}
					sleepCtx(ctx, o.pause)
					procs.settle(ctx, 10*time.Second)
				}
			}
			for _, p := range phases {
				s := p.summary()
				results = append(results, s)
				m.logf("%s", progressLine(s))
			}
		}
	}
	m.results = results
	rep := report{
		Args: m.args, Opts: *o, Results: results, Started: started, Elapsed: time.Since(started),
		LoadStart: loadStart, LoadEnd: readLoadavg(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		PromptBytes: len(o.prompt), ProfileNote: env.profileNote,
	}
	md := rep.markdown()
	fmt.Fprint(m.Stdout, md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (m *Main) logf(format string, args ...any) {
	fmt.Fprintf(m.Stderr, "qiao-bench: "+format+"\n", args...)
}

// runEnv is one run's processes and files.
type runEnv struct {
	*Main
	dir         string
	procs       *procSet
	simKey      string
	simURL      string // base URL, ending in /v1
	profileNote string
}

// readyTimeout bounds how long a child may take to start (the gateway opens SQLite and
// may generate keys).
const readyTimeout = 60 * time.Second

func (e *runEnv) setUp(ctx context.Context) ([]*target, error) {
	o := &e.opts
	qiao := o.qiao
	needQiao := false
	for _, t := range o.targets {
		if (t == targetQiaoCN && o.cpuProfile == "") || t == targetQiaoMn {
			needQiao = true
		}
	}
	if needQiao && qiao == "" {
		qiao = filepath.Join(e.dir, "qiao")
		e.logf("building qiao (go build -o %s github.com/qiao-gateway/qiao/cmd/qiao)", qiao)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", qiao, "github.com/qiao-gateway/qiao/cmd/qiao")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build qiao (or pass -qiao PATH): %v\n%s", err, out)
		}
	}
	e.simKey = "sk-bench-" + randHex(8)
	cmd := exec.Command(e.Self, "-key", e.simKey, "-chunk-runes", strconv.Itoa(o.chunkRunes), "-chunk-delay", o.chunkDelay.String())
	cmd.Env = childEnv(roleEnv+"=sim", o.simProcs)
	p, u, _, err := startProc(cmd, e.dir, "sim", true, readyTimeout)
	if err != nil {
		return nil, err
	}
	e.procs.add(p)
	e.simURL = u

	var targets []*target
	for _, name := range o.targets {
		var t *target
		switch name {
		case targetDirect:
			t = newTarget(name, e.simURL+"/chat/completions", e.simKey, upstreamModel, nil)
		case targetProxy:
			origin, err := url.Parse(e.simURL)
			if err != nil {
				return nil, err
			}
			origin.Path = ""
			start := func() (*proc, string, error) {
				cmd := exec.Command(e.Self, "-target", origin.String())
				cmd.Env = childEnv(roleEnv+"=proxy", o.gatewayProcs)
				p, u, _, err := startProc(cmd, e.dir, name, true, readyTimeout)
				if err != nil {
					return nil, "", err
				}
				e.procs.add(p)
				return p, u + "/v1/chat/completions", nil
			}
			p, u, err := start()
			if err != nil {
				return nil, err
			}
			t = newTarget(name, u, e.simKey, upstreamModel, p)
			t.start = start
		case targetQiaoCN, targetQiaoMn:
			profile := profileCN
			if name == targetQiaoMn {
				profile = profileMinimal
			}
			var err error
			if name == targetQiaoCN && o.cpuProfile != "" {
				t, err = e.startInProcessGateway(ctx, name, profile)
			} else {
				t, err = e.startQiao(ctx, qiao, name, profile)
			}
			if err != nil {
				return nil, err
			}
		}
		if err := t.probe(ctx, o.prompt); err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// childEnv is this process's environment plus role settings; procs > 0 sets GOMAXPROCS.
func childEnv(extra string, procs int) []string {
	env := append(os.Environ(), extra)
	if procs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(procs))
	}
	return env
}

// writeConfig writes the gateway configuration for profile and returns its path and address.
// qiao, if set, is the binary whose built-in configuration is the base.
func (e *runEnv) writeConfig(ctx context.Context, qiao, name, profile string) (path, addr string, err error) {
	if addr, err = freePort(); err != nil {
		return "", "", err
	}
	data := filepath.Join(e.dir, name+"-data")
	var cfg []byte
	if qiao == "" {
		cfg, err = checkedGatewayConfig(profile, addr, data, e.simURL)
	} else {
		var base []byte
		if base, err = exec.CommandContext(ctx, qiao, "config", "default").Output(); err != nil {
			return "", "", fmt.Errorf("%s: qiao config default: %w", name, err)
		}
		cfg, err = gatewayConfig(base, profile, addr, data, e.simURL)
	}
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(e.dir, name+".yaml")
	return path, addr, os.WriteFile(path, cfg, 0o600)
}

// startQiao runs the qiao binary: `qiao keys create`, then `qiao serve`, both on a
// generated configuration.
func (e *runEnv) startQiao(ctx context.Context, qiao, name, profile string) (*target, error) {
	cfgPath, addr, err := e.writeConfig(ctx, qiao, name, profile)
	if err != nil {
		return nil, err
	}
	env := childEnv(simKeyEnv+"="+e.simKey, e.opts.gatewayProcs)
	keys := exec.CommandContext(ctx, qiao, "keys", "create", "--config", cfgPath, "--tenant", "bench", "--region", "CN")
	keys.Env = env
	var stderr strings.Builder
	keys.Stderr = &stderr
	out, err := keys.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: qiao keys create: %v\n%s", name, err, stderr.String())
	}
	key := strings.TrimSpace(string(out))
	if key == "" {
		return nil, fmt.Errorf("%s: qiao keys create printed no key", name)
	}
	url := "http://" + addr + "/v1/chat/completions"
	start := func() (*proc, string, error) {
		serve := exec.Command(qiao, "serve", "--config", cfgPath)
		serve.Env = env
		p, _, _, err := startProc(serve, e.dir, name, false, 0)
		if err != nil {
			return nil, "", err
		}
		e.procs.add(p)
		if err := waitHealthy(ctx, p, "http://"+addr+"/healthz", readyTimeout); err != nil {
			return nil, "", err
		}
		return p, url, nil
	}
	p, _, err := start()
	if err != nil {
		return nil, err
	}
	t := newTarget(name, url, key, "chat", p)
	t.start = start
	return t, nil
}

// startInProcessGateway runs the gateway inside a child of this binary with a CPU profile.
func (e *runEnv) startInProcessGateway(ctx context.Context, name, profile string) (*target, error) {
	cfgPath, _, err := e.writeConfig(ctx, "", name, profile)
	if err != nil {
		return nil, err
	}
	prof, err := filepath.Abs(e.opts.cpuProfile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(e.Self, "-config", cfgPath, "-cpuprofile", prof)
	cmd.Env = childEnv(roleEnv+"=gateway", e.opts.gatewayProcs)
	cmd.Env = append(cmd.Env, simKeyEnv+"="+e.simKey)
	p, u, extra, err := startProc(cmd, e.dir, name, true, readyTimeout)
	if err != nil {
		return nil, err
	}
	e.procs.add(p)
	if len(extra) != 1 {
		return nil, fmt.Errorf("%s: want one key line before READY, got %d", name, len(extra))
	}
	e.profileNote = fmt.Sprintf("%s ran in-process in a child of qiao-bench (gateway.Build + its server, as qiao serve does) and wrote a CPU profile of the whole run, warm-up included, to %s (profile written when the run ends).", name, prof)
	return newTarget(name, u+"/v1/chat/completions", extra[0], "chat", p), nil
}

// restart replaces t's process with a fresh one, so each phase's peak RSS is that phase's,
// not memory a busier earlier phase left behind (the Go runtime returns freed memory to the
// system only gradually).
func (e *runEnv) restart(t *target) error {
	old := t.proc
	old.stop()
	e.procs.remove(old)
	p, u, err := t.start()
	if err != nil {
		return fmt.Errorf("restart %s: %w", t.name, err)
	}
	t.proc, t.url = p, u
	// Pooled connections went to the old process; POSTs are not retried on them.
	t.client.CloseIdleConnections()
	return nil
}

// phaseMeasure accumulates one phase over its slices.
type phaseMeasure struct {
	c          *collector
	peakRSS    int64
	sinceStart bool
	cpu        time.Duration
}

func (p *phaseMeasure) summary() Summary {
	s := p.c.summary()
	s.PeakRSS, s.RSSSinceStart, s.CPU = p.peakRSS, p.sinceStart, p.cpu
	return s
}

// measure runs one slice of a phase against t, with the process's RSS high-water mark reset
// before it and read after it.
func (e *runEnv) measure(ctx context.Context, t *target, p *phaseMeasure, dur time.Duration) error {
	var resetErr, cpuErr error
	var cpu0 time.Duration
	if t.proc != nil {
		resetErr = resetPeakRSS(t.proc.pid())
		cpu0, cpuErr = cpuTime(t.proc.pid())
	}
	t.attackInto(ctx, p.c, vegeta.Rate{Freq: p.c.phase.Rate, Per: time.Second}, dur, e.opts.prompt)
	if t.proc == nil {
		return nil
	}
	ph := p.c.phase
	if t.proc.exited() {
		return fmt.Errorf("%s exited during %s at %d/s: %v; its log:\n%s", t.name, ph.Mode(), ph.Rate, t.proc.err, t.proc.logTail())
	}
	rss, err := peakRSS(t.proc.pid())
	if err != nil {
		return fmt.Errorf("%s: read peak RSS: %w", t.name, err)
	}
	p.peakRSS = max(p.peakRSS, rss)
	p.sinceStart = p.sinceStart || resetErr != nil
	if cpu1, err := cpuTime(t.proc.pid()); err == nil && cpuErr == nil {
		p.cpu += cpu1 - cpu0
	}
	return nil
}

func progressLine(s Summary) string {
	line := fmt.Sprintf("%-10s %-10s %5d/s: %6d req %4d err  p50 %-9s p99 %-9s max %-9s",
		s.Target, s.Mode(), s.Rate, s.Requests, s.Errors, fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), fmtDur(s.Latency.Max))
	if s.Stream {
		line += fmt.Sprintf(" ttft p50 %-9s", fmtDur(s.TTFT.P50))
	}
	if s.PeakRSS > 0 {
		line += fmt.Sprintf(" rss %s cpu/req %s", fmtMB(s.PeakRSS), fmtDur(s.CPUPerRequest()))
	}
	return line
}

func readLoadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
