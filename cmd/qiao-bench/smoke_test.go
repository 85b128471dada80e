package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the child roles (simulator, proxy, gateway) that
// qiao-bench starts by running its own executable.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runChild(role, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole tool briefly at a low rate: simulator and proxy as child
// processes, qiao-cn in-process with a CPU profile, qiao-min as the real qiao binary built
// from this tree, both modes. Every request must succeed and every figure be filled in.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the smoke test builds qiao and runs the whole tool for ~10 s; skipped with -short")
	}
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	out := filepath.Join(dir, "report.md")
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr, Self: os.Args[0]}
	args := []string{"-rates", "20", "-duration", "700ms", "-warmup", "0", "-pause", "50ms",
		"-cpuprofile", prof, "-out", out, "-timeout", "2m"}
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := m.Run(ctx)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	if got, want := len(m.results), len(allTargets)*2; got != want {
		t.Fatalf("got %d phases, want %d", got, want)
	}
	for _, s := range m.results {
		name := s.Target + " " + s.Mode()
		if s.Requests < 5 || s.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors %v; want ≥5 and none", name, s.Requests, s.Errors, s.topErrors(3))
		}
		if s.Latency.P50 <= 0 || s.Latency.Max < s.Latency.P99 || s.Latency.P99 < s.Latency.P50 {
			t.Errorf("%s: latency quantiles out of order: %+v", name, s.Latency)
		}
		if s.Stream && (s.TTFT.P50 <= 0 || s.TTFT.P50 > s.Latency.Max) {
			t.Errorf("%s: TTFT p50 %v not within (0, max latency %v]", name, s.TTFT.P50, s.Latency.Max)
		}
		if !s.Stream && s.TTFT != (Quantiles{}) {
			t.Errorf("%s: non-stream phase has a TTFT %+v", name, s.TTFT)
		}
		if gw := s.Target != targetDirect; gw != (s.PeakRSS > 0) {
			t.Errorf("%s: peak RSS %d, want > 0 exactly for proxy and gateways", name, s.PeakRSS)
		}
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("CPU profile of the in-process gateway: %v (size %v)", err, fi)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md, stdout.Bytes()) {
		t.Error("-out file differs from the report on stdout")
	}
	for _, want := range []string{"| non-stream | 20 | qiao-min |", "| stream | 20 | qiao-cn |", "qiao-cn added", "peak RSS"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
