package label

import (
	"errors"
	"fmt"
	"strings"
)

// Positions of the explicit text label.
const (
	PositionStart = "start"
	PositionEnd   = "end"
)

// DefaultExplicit is the explicit text label used when Config.Explicit is empty.
const DefaultExplicit = "本内容由AI生成"

// Config is the label section of a region profile. The zero value means "labels off" (a
// region whose rules do not ask for them); as soon as Producer is set, the rest is checked.
type Config struct {
	// Explicit is the visible notice added to every text answer. It must name AI ("人工智能"
	// or "AI") and generation ("生成" or "合成"), as GB 45438 §5.1 requires; "AI助手" alone is
	// refused. Default DefaultExplicit.
	Explicit string `yaml:"explicit"`
	// Position is where the notice goes: "start" (before the first content) or "end" (after
	// the last content). Default "start": a label at the start survives a broken stream.
	Position string `yaml:"position"`
	// Producer is the 27-character ContentProducer code of the operator of this gateway
	// (TC260 practice guide: "0011" + unified social credit code + service type + 4-character
	// model code). Required; its USCC check character is verified at start.
	Producer string `yaml:"producer"`
	// Propagator is the ContentPropagator code written when the gateway passes on content that
	// another producer already labelled (an image the model partner signed). Optional; default
	// Producer.
	Propagator string `yaml:"propagator"`
	// KeyEnv names the environment variable holding the Ed25519 signing key: the 32-byte seed,
	// base64 (standard or URL alphabet, padding optional). Required. `qiao label keygen` makes
	// one. The public key, which can be published, is enough to verify.
	KeyEnv string `yaml:"key_env"`
}

// Enabled reports whether labels are configured.
func (c Config) Enabled() bool { return c != Config{} }

// ErrConfig is wrapped by every configuration problem.
var ErrConfig = errors.New("label: bad configuration")

// Validate checks the configuration. The zero value (labels off) is valid.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	c = c.withDefaults()
	if err := ValidExplicit(c.Explicit); err != nil {
		return fmt.Errorf("%w: explicit: %w", ErrConfig, err)
	}
	if c.Position != PositionStart && c.Position != PositionEnd {
		return fmt.Errorf("%w: position %q: want %q or %q", ErrConfig, c.Position, PositionStart, PositionEnd)
	}
	if c.Producer == "" {
		return fmt.Errorf("%w: producer is required", ErrConfig)
	}
	if err := ValidProducerCode(c.Producer); err != nil {
		return fmt.Errorf("%w: producer: %w", ErrConfig, err)
	}
	if err := ValidProducerCode(c.Propagator); err != nil {
		return fmt.Errorf("%w: propagator: %w", ErrConfig, err)
	}
	if c.KeyEnv == "" {
		return fmt.Errorf("%w: key_env is required (the variable holding the Ed25519 signing key)", ErrConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Explicit == "" {
		c.Explicit = DefaultExplicit
	}
	if c.Position == "" {
		c.Position = PositionStart
	}
	if c.Propagator == "" {
		c.Propagator = c.Producer
	}
	return c
}

// ErrExplicit is wrapped when an explicit label lacks a required element.
var ErrExplicit = errors.New("label: explicit label must name AI and generation")

// ValidExplicit checks the two elements GB 45438 requires in a text notice: an AI element
// ("人工智能" or "AI") and a generation element ("生成" or "合成"). "AI" is matched in capitals
// only, so that an English word containing "ai" does not count.
func ValidExplicit(s string) error {
	ai := strings.Contains(s, "人工智能") || strings.Contains(s, "AI")
	gen := strings.Contains(s, "生成") || strings.Contains(s, "合成")
	switch {
	case !ai && !gen:
		return fmt.Errorf("%w: %q has neither an AI element (人工智能 or AI) nor a generation element (生成 or 合成)", ErrExplicit, s)
	case !ai:
		return fmt.Errorf("%w: %q has no AI element (人工智能 or AI)", ErrExplicit, s)
	case !gen:
		return fmt.Errorf("%w: %q has no generation element (生成 or 合成)", ErrExplicit, s)
	}
	return nil
}
