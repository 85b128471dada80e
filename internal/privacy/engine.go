package privacy

import (
	"fmt"
	"time"
)

// Engine detects and pseudonymizes personal data according to one profile's Config. It is
// safe for concurrent use; each request gets its own Vault.
type Engine struct {
	cfg        Config
	aggressive bool

	// Now returns the current time; resident-ID birth dates must not lie in the future.
	// Tests set it; nil means time.Now.
	Now func() time.Time

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
	return &Engine{cfg: c, aggressive: c.Names == NamesAggressive}, nil
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
