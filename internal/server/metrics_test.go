package server

import (
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// series returns the gathered series of the metric family name: for each, its labels
// (name=value, sorted as gathered) and its counter value or histogram sample count.
func series(t *testing.T, m *Metrics, name string) map[string]float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			key := ""
			for _, l := range s.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			if h := s.GetHistogram(); h != nil {
				out[key] = float64(h.GetSampleCount())
			} else {
				out[key] = s.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestObserveExchange: the series a request touches add up across requests (they are kept
// once created), by status, and a series no request needed is never created: no TTFT
// histogram for answers that never sent a token, no token counters without usage.
func TestObserveExchange(t *testing.T) {
	m := NewMetrics()
	ok := &Exchange{Region: "CN", Endpoint: "chat", Provider: "p", Model: "q", Status: 200, Latency: time.Millisecond}
	refused := &Exchange{Region: "CN", Endpoint: "chat", Status: 403, Latency: time.Millisecond}
	m.observeExchange(refused)
	if s := series(t, m, "qiao_time_to_first_token_seconds"); len(s) != 0 {
		t.Errorf("TTFT series before any token was sent: %v", s)
	}
	if s := series(t, m, "qiao_tokens_total"); len(s) != 0 {
		t.Errorf("token series before any usage: %v", s)
	}
	streamed := *ok
	streamed.TTFT, streamed.Usage = time.Millisecond, &chat.Usage{PromptTokens: 3, CompletionTokens: 5}
	m.observeExchange(ok)
	m.observeExchange(&streamed)
	m.observeExchange(&streamed)
	for name, want := range map[string]map[string]float64{
		"qiao_requests_total": {
			"endpoint=chat model=q provider=p region=CN status=200 ":       3,
			"endpoint=chat model=none provider=none region=CN status=403 ": 1,
		},
		"qiao_request_duration_seconds": {
			"endpoint=chat model=q provider=p region=CN ":       3,
			"endpoint=chat model=none provider=none region=CN ": 1,
		},
		"qiao_time_to_first_token_seconds": {"model=q provider=p region=CN ": 2},
		"qiao_tokens_total": {
			"kind=completion model=q provider=p region=CN ": 10,
			"kind=prompt model=q provider=p region=CN ":     6,
		},
	} {
		got := series(t, m, name)
		if len(got) != len(want) {
			t.Errorf("%s: series %v, want %v", name, got, want)
			continue
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s{%s} = %v, want %v", name, k, got[k], v)
			}
		}
	}
}
