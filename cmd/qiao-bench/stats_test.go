package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestQuantiles(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(float64(100 - i)) // 100 ms … 1 ms, unsorted on purpose
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    Quantiles
	}{
		{name: "none", samples: nil, want: Quantiles{}},
		{name: "one", samples: []time.Duration{ms(3)}, want: Quantiles{ms(3), ms(3), ms(3), ms(3)}},
		{name: "two", samples: []time.Duration{ms(2), ms(1)}, want: Quantiles{P50: ms(1), P90: ms(2), P99: ms(2), Max: ms(2)}},
		// Nearest rank: p50 of 1..100 is the 50th value, p90 the 90th, p99 the 99th.
		{name: "hundred", samples: hundred, want: Quantiles{P50: ms(50), P90: ms(90), P99: ms(99), Max: ms(100)}},
		{name: "ten", samples: []time.Duration{ms(10), ms(9), ms(8), ms(7), ms(6), ms(5), ms(4), ms(3), ms(2), ms(1)},
			want: Quantiles{P50: ms(5), P90: ms(9), P99: ms(10), Max: ms(10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, quantiles(tt.samples)); diff != "" {
				t.Errorf("quantiles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCollector(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		phase    Phase
		outcomes []outcome
		want     Summary
	}{
		{
			name:  "stream with an error",
			phase: Phase{Target: "qiao-cn", Stream: true, Rate: 2},
			outcomes: []outcome{
				{Sent: t0, Latency: ms(4), TTFT: ms(1)},
				{Sent: t0.Add(500 * time.Millisecond), Latency: ms(6), TTFT: ms(2)},
				{Sent: t0.Add(time.Second), Latency: ms(30), Err: "HTTP 502: x"},
				{Sent: t0.Add(1500 * time.Millisecond), Latency: ms(2), TTFT: ms(1)},
			},
			want: Summary{Phase: Phase{Target: "qiao-cn", Stream: true, Rate: 2}, Requests: 4, Errors: 1,
				Achieved:   2, // 3 intervals in 1.5 s
				Latency:    Quantiles{P50: ms(4), P90: ms(6), P99: ms(6), Max: ms(6)},
				TTFT:       Quantiles{P50: ms(1), P90: ms(2), P99: ms(2), Max: ms(2)},
				ErrorKinds: map[string]int{"HTTP 502: x": 1}},
		},
		{
			name:  "non-stream out of order",
			phase: Phase{Target: "direct", Rate: 10},
			outcomes: []outcome{
				{Sent: t0.Add(100 * time.Millisecond), Latency: ms(1)},
				{Sent: t0, Latency: ms(2)},
			},
			want: Summary{Phase: Phase{Target: "direct", Rate: 10}, Requests: 2, Achieved: 10,
				Latency: Quantiles{P50: ms(1), P90: ms(2), P99: ms(2), Max: ms(2)}, ErrorKinds: map[string]int{}},
		},
		{
			name:  "nothing",
			phase: Phase{Target: "proxy", Rate: 5},
			want:  Summary{Phase: Phase{Target: "proxy", Rate: 5}, ErrorKinds: map[string]int{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(tt.phase)
			for _, o := range tt.outcomes {
				c.add(o)
			}
			if diff := cmp.Diff(tt.want, c.summary()); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopErrors(t *testing.T) {
	s := Summary{ErrorKinds: map[string]int{"b": 2, "a": 2, "c": 5, "d": 1}}
	want := []string{"5× c", "2× a", "2× b"}
	if diff := cmp.Diff(want, s.topErrors(3)); diff != "" {
		t.Errorf("topErrors (-want +got):\n%s", diff)
	}
}

// TestCollectorSlices checks that the pause between two slices of a phase does not count as
// sending time: two slices at 10/s, an hour apart, still achieved 10/s.
func TestCollectorSlices(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c := newCollector(Phase{Target: "proxy", Rate: 10})
	for slice := 0; slice < 2; slice++ {
		start := t0.Add(time.Duration(slice) * time.Hour)
		for i := 0; i < 5; i++ {
			c.add(outcome{Sent: start.Add(time.Duration(i) * 100 * time.Millisecond), Latency: ms(1)})
		}
		c.endSlice()
	}
	s := c.summary()
	if s.Requests != 10 || s.Achieved < 9.99 || s.Achieved > 10.01 {
		t.Errorf("requests %d, achieved %.3f/s; want 10 and 10/s", s.Requests, s.Achieved)
	}
}
