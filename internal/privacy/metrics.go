package privacy

import "github.com/prometheus/client_golang/prometheus"

// detections counts detections by type and action. Values never appear in labels.
var detections = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "qiao",
	Subsystem: "privacy",
	Name:      "detections_total",
	Help:      "Personal data found in requests, by type and by the action taken.",
}, []string{"type", "action"})

// failures counts requests refused because detection failed (fail closed).
var failures = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "qiao",
	Subsystem: "privacy",
	Name:      "failures_total",
	Help:      "Requests refused because personal-data detection failed.",
})

// Collectors returns the package's metrics for registration with a Prometheus registry.
// Register them once per process; all engines share them.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{detections, failures}
}
