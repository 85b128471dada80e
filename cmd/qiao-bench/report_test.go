package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestReportGolden(t *testing.T) {
	q := func(p50, p90, p99, max float64) Quantiles { return Quantiles{ms(p50), ms(p90), ms(p99), ms(max)} }
	var results []Summary
	add := func(target string, stream bool, lat, ttft Quantiles, rss int64, errs int) {
		s := Summary{Phase: Phase{Target: target, Stream: stream, Rate: 1000}, Requests: 5000, Errors: errs,
			Achieved: 999.8, Latency: lat, PeakRSS: rss, ErrorKinds: map[string]int{}}
		if stream {
			s.TTFT = ttft
		}
		if rss > 0 {
			s.CPU = 2500 * time.Millisecond
		}
		if errs > 0 {
			s.ErrorKinds["HTTP 502: bad gateway"] = errs
		}
		results = append(results, s)
	}
	add(targetDirect, false, q(0.5, 0.9, 3, 10), Quantiles{}, 0, 0)
	add(targetProxy, false, q(0.9, 1.5, 5, 12), Quantiles{}, 22<<20, 0)
	add(targetQiaoCN, false, q(1.4, 2.5, 9, 30), Quantiles{}, 48<<20, 2)
	add(targetQiaoMn, false, q(1.2, 2, 8, 25), Quantiles{}, 70<<20, 0)
	add(targetDirect, true, q(1, 2, 5, 10), q(0.6, 1, 3, 8), 0, 0)
	add(targetProxy, true, q(1.5, 3, 8, 15), q(0.9, 2, 5, 9), 23<<20, 0)
	add(targetQiaoCN, true, q(3, 6, 15, 40), q(1.5, 3, 9, 20), 55<<20, 0)
	add(targetQiaoMn, true, q(2.5, 5, 12, 35), q(1.2, 2.5, 8, 18), 52<<20, 0)
	var m Main
	m.Stderr = &strings.Builder{}
	if err := m.ParseFlags([]string{"-rates", "1000", "-duration", "5s"}); err != nil {
		t.Fatal(err)
	}
	r := report{Args: m.args, Opts: m.opts, Results: results,
		Started: time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC), Elapsed: 150 * time.Second,
		LoadStart: "3.10 2.50 2.00", LoadEnd: "3.20 2.60 2.10", CPUs: 2, GoVersion: "go1.26.8", PromptBytes: 185}
	got := r.markdown()
	golden := filepath.Join("testdata", "report.md.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("report (-golden +got):\n%s", diff)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "bad rate", args: []string{"-rates", "10,x"}, want: `"x" is not a rate`},
		{name: "zero rate", args: []string{"-rates", "0"}, want: "not a rate"},
		{name: "no rates", args: []string{"-rates", ","}, want: "at least one rate"},
		{name: "bad mode", args: []string{"-modes", "sse"}, want: `unknown mode "sse"`},
		{name: "bad target", args: []string{"-targets", "nginx"}, want: `unknown target "nginx"`},
		{name: "zero duration", args: []string{"-duration", "0s"}, want: "-duration must be positive"},
		{name: "empty prompt", args: []string{"-prompt", " "}, want: "-prompt cannot be empty"},
		{name: "stray argument", args: []string{"now"}, want: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Main{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}}
			err := m.ParseFlags(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
	m := &Main{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}}
	if err := m.ParseFlags([]string{"-targets", "proxy,direct,proxy", "-modes", "stream"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"proxy", "direct"}, m.opts.targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}
