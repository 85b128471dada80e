package main

import (
	"fmt"
	"strings"
	"time"
)

// report is one run's results, rendered as Markdown for BENCHMARKS.md.
type report struct {
	Args        []string
	Opts        options
	Results     []Summary
	Started     time.Time
	Elapsed     time.Duration
	LoadStart   string
	LoadEnd     string
	CPUs        int
	GoVersion   string
	PromptBytes int
	ProfileNote string
}

// fmtDur formats a latency in milliseconds with two decimals: one unit across the tables
// makes rows comparable at a glance.
func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// fmtDelta formats a latency difference with its sign.
func fmtDelta(d time.Duration) string {
	return fmt.Sprintf("%+.2f ms", float64(d)/float64(time.Millisecond))
}

// fmtMB formats bytes as MiB with one decimal.
func fmtMB(b int64) string {
	return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
}

func (r *report) find(target string, stream bool, rate int) (Summary, bool) {
	for _, s := range r.Results {
		if s.Target == target && s.Stream == stream && s.Rate == rate {
			return s, true
		}
	}
	return Summary{}, false
}

// ratio formats added/floor, or explains why there is none.
func ratio(added, floor time.Duration) string {
	if floor <= 0 {
		return "n/a (floor ≤ 0)"
	}
	return fmt.Sprintf("%.2f×", float64(added)/float64(floor))
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	o := r.Opts
	w("### Run of %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	w("- Command: `go run ./cmd/qiao-bench %s`\n", strings.Join(quoteArgs(r.Args), " "))
	w("- Machine: %d CPUs, %s; load average %s at start, %s at end (the CPUs are shared with other work: see the notes above).\n",
		r.CPUs, r.GoVersion, r.LoadStart, r.LoadEnd)
	slices := ""
	if o.rounds > 1 {
		slices = fmt.Sprintf(" (in %d slices of %s, the targets taking turns)", o.rounds, o.duration/time.Duration(o.rounds))
	}
	w("- Workload: one user message of %d bytes; %s per phase%s at a fixed arrival rate after %s of warm-up per target, mode and rate; whole run %s.\n",
		r.PromptBytes, o.duration, slices, o.warmup, r.Elapsed.Round(time.Second))
	if r.ProfileNote != "" {
		w("- Profile: %s\n", r.ProfileNote)
	}
	w("\n| mode | rate/s | target | sent | achieved/s | errors | p50 | p90 | p99 | max | TTFT p50 | TTFT p99 | peak RSS | CPU/req |\n")
	w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Results {
		ttft50, ttft99 := "–", "–"
		if s.Stream {
			ttft50, ttft99 = fmtDur(s.TTFT.P50), fmtDur(s.TTFT.P99)
		}
		rss, cpu := "–", "–"
		if s.PeakRSS > 0 {
			rss = fmtMB(s.PeakRSS)
			if s.RSSSinceStart {
				rss += " (since start)"
			}
		}
		if s.CPU > 0 {
			cpu = fmt.Sprintf("%.0f µs", float64(s.CPUPerRequest())/float64(time.Microsecond))
		}
		w("| %s | %d | %s | %d | %.0f | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			s.Mode(), s.Rate, s.Target, s.Requests, s.Achieved, s.Errors,
			fmtDur(s.Latency.P50), fmtDur(s.Latency.P90), fmtDur(s.Latency.P99), fmtDur(s.Latency.Max),
			ttft50, ttft99, rss, cpu)
	}

	w("\nAdded latency is the target's p50 minus the direct p50 at the same rate and mode; ×floor is Qiao's added p50 divided by the proxy's (goal ≤ %.1f×).\n\n", o.goalRatio)
	qiaos := []string{}
	for _, t := range []string{targetQiaoCN, targetQiaoMn} {
		for _, s := range r.Results {
			if s.Target == t {
				qiaos = append(qiaos, t)
				break
			}
		}
	}
	w("| mode | rate/s | direct p50 | proxy added |")
	for _, q := range qiaos {
		w(" %s added | ×floor |", q)
	}
	w(" proxy TTFT added |")
	for _, q := range qiaos {
		w(" %s TTFT added |", q)
	}
	w("\n|---|---:|---:|---:|")
	for range qiaos {
		w("---:|---:|")
	}
	w("---:|")
	for range qiaos {
		w("---:|")
	}
	w("\n")
	var goalLines []string
	for _, stream := range o.modes {
		for _, rate := range o.rates {
			d, ok := r.find(targetDirect, stream, rate)
			if !ok {
				continue
			}
			p, pok := r.find(targetProxy, stream, rate)
			pAdd := p.Latency.P50 - d.Latency.P50
			mode := Phase{Stream: stream}.Mode()
			w("| %s | %d | %s | %s |", mode, rate, fmtDur(d.Latency.P50), orDash(pok, fmtDelta(pAdd)))
			for _, q := range qiaos {
				s, ok := r.find(q, stream, rate)
				add := s.Latency.P50 - d.Latency.P50
				w(" %s | %s |", orDash(ok, fmtDelta(add)), orDash(ok && pok, ratio(add, pAdd)))
				if ok && pok {
					verdict := "missed"
					if pAdd > 0 && float64(add) <= o.goalRatio*float64(pAdd) {
						verdict = "met"
					}
					goalLines = append(goalLines, fmt.Sprintf("%s %s %d/s: added p50 %s vs floor %s → %s", q, mode, rate, fmtDelta(add), fmtDelta(pAdd), verdict))
				}
			}
			w(" %s |", orDash(pok && stream, fmtDelta(p.TTFT.P50-d.TTFT.P50)))
			for _, q := range qiaos {
				s, ok := r.find(q, stream, rate)
				w(" %s |", orDash(ok && stream, fmtDelta(s.TTFT.P50-d.TTFT.P50)))
			}
			w("\n")
		}
	}

	w("\nGoals (added p50 ≤ %.1f× the floor's; peak RSS < %s at %d/s):\n\n", o.goalRatio, fmtMB(o.goalRSS), o.goalRSSAtRate)
	for _, l := range goalLines {
		w("- %s\n", l)
	}
	for _, s := range r.Results {
		if (s.Target == targetQiaoCN || s.Target == targetQiaoMn) && s.Rate == o.goalRSSAtRate {
			verdict := "met"
			if s.PeakRSS >= o.goalRSS {
				verdict = "missed"
			}
			w("- %s %s %d/s: peak RSS %s → %s\n", s.Target, s.Mode(), s.Rate, fmtMB(s.PeakRSS), verdict)
		}
	}
	errHeader := false
	for _, s := range r.Results {
		if s.Errors == 0 {
			continue
		}
		if !errHeader {
			w("\nErrors:\n\n")
			errHeader = true
		}
		w("- %s %s %d/s: %s\n", s.Target, s.Mode(), s.Rate, strings.Join(s.topErrors(3), "; "))
	}
	return b.String()
}

func orDash(ok bool, s string) string {
	if !ok {
		return "–"
	}
	return s
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t'\"$`\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}
