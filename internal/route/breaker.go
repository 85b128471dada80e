package route

import (
	"sync"
	"time"
)

// breaker is a per-provider circuit breaker. After Threshold consecutive retryable failures
// it opens for Cooldown; then it lets one probe through (half-open). A success closes it, a
// failed probe opens it again. It is deliberately simple: a gateway with a handful of
// providers per region needs "stop hammering a dead upstream", not sliding-window statistics.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
}

// State names for metrics and errors.
const (
	stateClosed   = "closed"
	stateOpen     = "open"
	stateHalfOpen = "half_open"
)

// allow reports whether a call may go to the provider now. In half-open state only one
// caller at a time gets through.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true
	}
	if b.now().Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true
	return true
}

func (b *breaker) success() {
	b.mu.Lock()
	b.failures, b.probing = 0, false
	b.mu.Unlock()
}

func (b *breaker) failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.probing = false
	if b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.cooldown)
	}
}

// release gives back a half-open probe slot without a verdict (the call ended for a reason
// that says nothing about the provider's health, such as a client disconnect or a 400).
func (b *breaker) release() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

func (b *breaker) state() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.failures < b.threshold:
		return stateClosed
	case b.now().Before(b.openUntil):
		return stateOpen
	default:
		return stateHalfOpen
	}
}
