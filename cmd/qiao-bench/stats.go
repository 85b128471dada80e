package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Quantiles are the latency figures reported for one phase. They are exact (nearest rank
// over every sample), not estimated: a phase holds at most a few tens of thousands of
// samples, so sorting them is cheap and leaves nothing to explain.
type Quantiles struct {
	P50, P90, P99, Max time.Duration
}

// quantiles computes nearest-rank quantiles of samples. It sorts samples in place. No
// samples gives zero Quantiles.
func quantiles(samples []time.Duration) Quantiles {
	if len(samples) == 0 {
		return Quantiles{}
	}
	slices.Sort(samples)
	return Quantiles{
		P50: rank(samples, 0.50),
		P90: rank(samples, 0.90),
		P99: rank(samples, 0.99),
		Max: samples[len(samples)-1],
	}
}

// rank is the nearest-rank percentile of sorted: the smallest sample with at least p of the
// samples at or below it.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Phase names one measurement: a target hit at a fixed rate in one mode.
type Phase struct {
	Target string // direct, proxy, qiao-cn, qiao-min
	Stream bool
	Rate   int // requests per second
}

// Mode is "stream" or "non-stream".
func (p Phase) Mode() string {
	if p.Stream {
		return "stream"
	}
	return "non-stream"
}

// Summary is the result of one phase.
type Summary struct {
	Phase
	Requests int // requests sent
	Errors   int // transport errors, non-2xx answers and malformed or incomplete bodies
	// Achieved is the rate at which requests were actually sent (requests per second over
	// the span between the first and last send). Below Rate means the load generator
	// itself could not keep up, and the phase did not measure what it says.
	Achieved float64
	Latency  Quantiles // whole response, successful requests only
	TTFT     Quantiles // streaming only: request sent → first non-empty content delta
	// PeakRSS is the gateway's (or proxy's) peak resident set in bytes during the phase, 0
	// for the direct target. RSSSinceStart says the kernel could not reset the high-water
	// mark, so PeakRSS is the peak since the process started.
	PeakRSS       int64
	RSSSinceStart bool
	// CPU is the CPU time the gateway (or proxy) process used during the phase: less
	// disturbed than latency by other load on the machine.
	CPU time.Duration
	// ErrorKinds counts errors by message, for the report.
	ErrorKinds map[string]int
}

// collector aggregates the outcomes of one phase as they arrive.
type collector struct {
	phase   Phase
	latency []time.Duration
	ttft    []time.Duration
	errors  int
	kinds   map[string]int
	n       int
	// The current slice's first and last send, and the closed slices' totals: a phase may
	// be measured in several slices (rounds), and the gaps between them are not sending time.
	first, last time.Time
	sliceN      int
	intervals   int
	span        time.Duration
}

func newCollector(p Phase) *collector {
	return &collector{phase: p, kinds: map[string]int{}}
}

// outcome is one request's result, already checked.
type outcome struct {
	Sent    time.Time
	Latency time.Duration
	TTFT    time.Duration // 0 if none was seen
	Err     string        // empty when the request succeeded
}

func (c *collector) add(o outcome) {
	c.n++
	c.sliceN++
	if c.first.IsZero() || o.Sent.Before(c.first) {
		c.first = o.Sent
	}
	if o.Sent.After(c.last) {
		c.last = o.Sent
	}
	if o.Err != "" {
		c.errors++
		c.kinds[o.Err]++
		return
	}
	c.latency = append(c.latency, o.Latency)
	if c.phase.Stream {
		c.ttft = append(c.ttft, o.TTFT)
	}
}

// endSlice closes the current slice of sends.
func (c *collector) endSlice() {
	if c.sliceN > 1 {
		// n sends span n-1 intervals.
		c.intervals += c.sliceN - 1
		c.span += c.last.Sub(c.first)
	}
	c.first, c.last, c.sliceN = time.Time{}, time.Time{}, 0
}

func (c *collector) summary() Summary {
	c.endSlice()
	s := Summary{Phase: c.phase, Requests: c.n, Errors: c.errors, ErrorKinds: c.kinds,
		Latency: quantiles(c.latency)}
	if c.phase.Stream {
		s.TTFT = quantiles(c.ttft)
	}
	if c.span > 0 {
		s.Achieved = float64(c.intervals) / c.span.Seconds()
	}
	return s
}

// CPUPerRequest is CPU time per request sent, 0 if unknown.
func (s Summary) CPUPerRequest() time.Duration {
	if s.Requests == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Requests)
}

// topErrors returns up to n error kinds, most frequent first, as "count× message".
func (s Summary) topErrors(n int) []string {
	type kv struct {
		msg   string
		count int
	}
	var all []kv
	for m, c := range s.ErrorKinds {
		all = append(all, kv{m, c})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].count != all[j].count {
			return all[i].count > all[j].count
		}
		return all[i].msg < all[j].msg
	})
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, fmt.Sprintf("%d× %s", all[i].count, all[i].msg))
	}
	return out
}
