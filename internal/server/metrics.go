package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the gateway's Prometheus metrics, on their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	upstream *prometheus.HistogramVec
	ttft     *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	errors   *prometheus.CounterVec
	pii      *prometheus.CounterVec
	safety   *prometheus.CounterVec
	inflight prometheus.Gauge

	// The series every request touches, kept by label values once created: WithLabelValues
	// checks and hashes every value on every call, and a request's metrics are recorded
	// between its answer's last event and net/http sending it.
	reqSeries sync.Map // requestLabels → *requestSeries
	modSeries sync.Map // modelLabels → prometheus.Observer or prometheus.Counter
}

type requestLabels struct {
	region, endpoint, provider, model string
	status                            int
}

type requestSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// modelLabels name a ttft series (kind "") or a tokens series (kind prompt, completion).
type modelLabels struct{ region, provider, model, kind string }

// Latency buckets from 1ms to ~60s: model answers are slow, the gateway's own work is fast,
// and both need resolution.
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 2, 17)

// NewMetrics creates and registers the metrics.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qiao_requests_total", Help: "Requests served, by region, endpoint, provider, model and HTTP status.",
	}, []string{"region", "endpoint", "provider", "model", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "qiao_request_duration_seconds", Help: "Client-side request latency, from request to last byte.", Buckets: latencyBuckets,
	}, []string{"region", "endpoint", "provider", "model"})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "qiao_upstream_duration_seconds", Help: "Upstream latency to the first chunk, per attempt, by outcome.", Buckets: latencyBuckets,
	}, []string{"region", "provider", "model", "outcome"})
	m.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "qiao_time_to_first_token_seconds", Help: "Time from request to the first token sent to the client.", Buckets: latencyBuckets,
	}, []string{"region", "provider", "model"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qiao_tokens_total", Help: "Tokens reported by upstreams, by kind (prompt, completion, reasoning).",
	}, []string{"region", "provider", "model", "kind"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qiao_errors_total", Help: "Error responses by region, provider and error code.",
	}, []string{"region", "provider", "code"})
	m.pii = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qiao_pii_detections_total", Help: "Personal data items protected, by region and type.",
	}, []string{"region", "type"})
	m.safety = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qiao_safety_blocks_total", Help: "Moderation blocks by region, stage and category.",
	}, []string{"region", "stage", "category"})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "qiao_inflight_requests", Help: "Requests being served now.",
	})
	m.Registry.MustRegister(m.requests, m.latency, m.upstream, m.ttft, m.tokens, m.errors, m.pii, m.safety, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveUpstream records one upstream attempt.
func (m *Metrics) ObserveUpstream(region, provider, model string, err error, d time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.upstream.WithLabelValues(region, provider, model, outcome).Observe(d.Seconds())
}

func (m *Metrics) observeExchange(ex *Exchange) {
	provider, model := orNone(ex.Provider), orNone(ex.Model)
	region := orNone(ex.Region)
	rs := m.requestSeries(requestLabels{region, ex.Endpoint, provider, model, ex.Status})
	rs.requests.Inc()
	rs.latency.Observe(ex.Latency.Seconds())
	if ex.TTFT > 0 {
		m.modelSeries(modelLabels{region, provider, model, ""}).(prometheus.Observer).Observe(ex.TTFT.Seconds())
	}
	if u := ex.Usage; u != nil {
		m.modelSeries(modelLabels{region, provider, model, "prompt"}).(prometheus.Counter).Add(float64(u.PromptTokens))
		m.modelSeries(modelLabels{region, provider, model, "completion"}).(prometheus.Counter).Add(float64(u.CompletionTokens))
		if u.ReasoningTokens > 0 {
			m.tokens.WithLabelValues(region, provider, model, "reasoning").Add(float64(u.ReasoningTokens))
		}
	}
	if ex.ErrCode != "" {
		m.errors.WithLabelValues(region, provider, ex.ErrCode).Inc()
	}
	for typ, n := range ex.Privacy {
		m.pii.WithLabelValues(region, typ).Add(float64(n))
	}
	for _, o := range ex.Safety {
		if o.Action == "block" {
			m.safety.WithLabelValues(region, o.Stage, orNone(o.Category)).Inc()
		}
	}
}

// requestSeries returns the requests and latency series of l, created on first use.
func (m *Metrics) requestSeries(l requestLabels) *requestSeries {
	if s, ok := m.reqSeries.Load(l); ok {
		return s.(*requestSeries)
	}
	s := &requestSeries{
		requests: m.requests.WithLabelValues(l.region, l.endpoint, l.provider, l.model, strconv.Itoa(l.status)),
		latency:  m.latency.WithLabelValues(l.region, l.endpoint, l.provider, l.model),
	}
	v, _ := m.reqSeries.LoadOrStore(l, s)
	return v.(*requestSeries)
}

// modelSeries returns the ttft histogram (kind "") or the tokens counter of l, created on
// first use.
func (m *Metrics) modelSeries(l modelLabels) any {
	if s, ok := m.modSeries.Load(l); ok {
		return s
	}
	var s any
	if l.kind == "" {
		s = m.ttft.WithLabelValues(l.region, l.provider, l.model)
	} else {
		s = m.tokens.WithLabelValues(l.region, l.provider, l.model, l.kind)
	}
	v, _ := m.modSeries.LoadOrStore(l, s)
	return v
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
