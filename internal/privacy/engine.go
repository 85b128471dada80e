package privacy

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Engine detects and pseudonymizes personal data according to one profile's Config. It is
// safe for concurrent use; each request gets its own Vault.
type Engine struct {
	cfg        Config
	aggressive bool

	// Now returns the current time; resident-ID birth dates must not lie in the future.
	// Tests set it; nil means time.Now.
	Now func() time.Time

	// counters are the detection counters of each type, for the configured action.
	counters map[Type]prometheus.Counter

	// beforeDetect, when set, runs before each detection; tests use it to make a
	// recognizer fail and check that Protect fails closed.
	beforeDetect func(text string)
}

// New returns an engine for cfg, or an error naming the first invalid setting.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := Config{Enabled: cfg.Enabled, Names: cfg.Names, Types: make(map[Type]Action, len(cfg.Types))}
	for t, a := range cfg.Types {
		c.Types[t] = a
	}
	if c.Names == "" {
		c.Names = NamesPrecise
	}
	e := &Engine{cfg: c, aggressive: c.Names == NamesAggressive, counters: make(map[Type]prometheus.Counter)}
	for _, t := range AllTypes {
		e.counters[t] = detections.WithLabelValues(string(t), string(c.action(t)))
	}
	return e, nil
}

// Config returns a copy of the engine's configuration.
func (e *Engine) Config() Config {
	c := e.cfg
	c.Types = make(map[Type]Action, len(e.cfg.Types))
	for t, a := range e.cfg.Types {
		c.Types[t] = a
	}
	return c
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// String describes the engine without anything request-specific.
func (e *Engine) String() string {
	return fmt.Sprintf("privacy.Engine{enabled:%v names:%s types:%d}", e.cfg.Enabled, e.cfg.Names, len(e.cfg.Types))
}
