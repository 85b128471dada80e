package privacy

import (
	"fmt"
	"sort"
	"strings"
)

// Action says what happens to a detected value of a type.
type Action string

// Actions.
const (
	// ActionReplace swaps the value for a typed placeholder and restores it in the answer.
	ActionReplace Action = "replace"
	// ActionMask keeps the ends and stars out the middle (138****5678). Not restored.
	ActionMask Action = "mask"
	// ActionRefuse rejects the whole request with 400 pii_refused.
	ActionRefuse Action = "refuse"
	// ActionOff leaves the type alone; the same as leaving it out of the map.
	ActionOff Action = "off"
)

// Name detection modes.
const (
	// NamesPrecise finds a name only next to a cue (我叫, 姓名：, 先生, 女士, ...).
	NamesPrecise = "precise"
	// NamesAggressive also finds surname + given-name shapes without a cue.
	NamesAggressive = "aggressive"
)

// Config is the privacy section of a region profile.
type Config struct {
	// Enabled turns the stage on. A disabled engine passes requests through untouched.
	Enabled bool `yaml:"enabled"`
	// Types maps a type name (id_card, phone, ...) to an action (replace, mask, refuse,
	// off). Types not listed are off.
	Types map[Type]Action `yaml:"types"`
	// Names is the name detection mode: precise (default) or aggressive.
	Names string `yaml:"names"`
}

// cnTypes are the types the CN profile protects: all of them.
var cnTypes = AllTypes

// intlTypes are the types that make sense outside mainland China.
var intlTypes = map[string][]Type{
	"EU":     {Email, IP, PaymentCard, IBAN, E164},
	"US":     {Email, IP, PaymentCard, SSN, E164},
	"GLOBAL": {Email, IP, PaymentCard, SSN, IBAN, E164},
}

// DefaultConfig returns the default privacy configuration of a region. CN protects every
// type by replacement; EU and US protect an international subset; any other region gets
// the union of the international types. All defaults use the precise name mode.
func DefaultConfig(region string) Config {
	types := cnTypes
	if r := strings.ToUpper(region); r != "CN" {
		t, ok := intlTypes[r]
		if !ok {
			t = intlTypes["GLOBAL"]
		}
		types = t
	}
	c := Config{Enabled: true, Types: make(map[Type]Action, len(types)), Names: NamesPrecise}
	for _, t := range types {
		c.Types[t] = ActionReplace
	}
	return c
}

// Validate reports the first problem with c: an unknown type, an unknown action or an
// unknown name mode.
func (c Config) Validate() error {
	keys := make([]string, 0, len(c.Types))
	for t := range c.Types {
		keys = append(keys, string(t))
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := Type(k)
		if !t.valid() {
			return fmt.Errorf("privacy: unknown type %q (known: %s)", k, typeList())
		}
		switch c.Types[t] {
		case ActionReplace, ActionMask, ActionRefuse, ActionOff:
		default:
			return fmt.Errorf("privacy: type %s: unknown action %q (want replace, mask, refuse or off)", k, c.Types[t])
		}
	}
	switch c.Names {
	case "", NamesPrecise, NamesAggressive:
	default:
		return fmt.Errorf("privacy: unknown names mode %q (want precise or aggressive)", c.Names)
	}
	return nil
}

func typeList() string {
	s := make([]string, len(AllTypes))
	for i, t := range AllTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// action returns the action for t; off when not listed.
func (c Config) action(t Type) Action {
	a, ok := c.Types[t]
	if !ok {
		return ActionOff
	}
	return a
}
