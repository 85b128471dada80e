package assistant

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/qiao-gateway/qiao/internal/when"
)

// Config is the per-region assistant profile. The zero value is usable: Chinese and
// English, the "cn" holiday calendar, model alias "chat", ten minutes of memory in process.
type Config struct {
	// Locales are the locales this region accepts (BCP 47). Default: zh-CN, zh-TW, zh-HK,
	// en-US, en-GB. Only Chinese and English have a fast path; other languages listed here
	// go straight to the model.
	Locales []string `yaml:"locales"`
	// DefaultLocale is used when a turn has no locale. Default: the first of Locales.
	DefaultLocale string `yaml:"default_locale"`
	// Calendar is the holiday calendar id ("cn"); "none" disables holidays and working days.
	// Default: "cn".
	Calendar string `yaml:"calendar"`
	// Model is the model alias the model path asks the gateway for. Default: "chat".
	Model string `yaml:"model"`
	// MemoryTTL is how long a conversation is remembered after its last turn.
	// Default: 10m. Maximum: 24h.
	MemoryTTL time.Duration `yaml:"memory_ttl"`
	// MemoryTurns is how many earlier messages are sent with a model turn. Default: 12.
	MemoryTurns int `yaml:"memory_turns"`
	// Redis is the address (host:port) of a Redis server for conversation memory shared by
	// replicas; empty keeps memory in this process.
	Redis string `yaml:"redis"`
	// RedisPrefix prefixes memory keys. Default: "qiao:assistant:".
	RedisPrefix string `yaml:"redis_prefix"`
	// MaxUtteranceRunes bounds the utterance. Default: 1000.
	MaxUtteranceRunes int `yaml:"max_utterance_runes"`
	// MaxIntents bounds the number of declared intents. Default: 64.
	MaxIntents int `yaml:"max_intents"`
	// ConfirmIntents are intents whose actions need the user's confirmation.
	// Default: call, send_message.
	ConfirmIntents []string `yaml:"confirm_intents"`
	// SpeechMaxRunes bounds the spoken text of model answers. Default: 200.
	SpeechMaxRunes int `yaml:"speech_max_runes"`
	// Prompts are system prompts by language ("zh", "en", or a full locale); they may use
	// {now}, {time_zone} and {location}. Defaults are built in.
	Prompts map[string]string `yaml:"prompts"`
	// Wording overrides fast-path answer templates by key and language, e.g.
	// wording: {alarm_set: {zh: "好的，闹钟定在{time}。"}}. Keys are listed in docs/assistant.md.
	Wording map[string]map[string]string `yaml:"wording"`
}

func (c Config) withDefaults() Config {
	if len(c.Locales) == 0 {
		c.Locales = []string{"zh-CN", "zh-TW", "zh-HK", "en-US", "en-GB"}
	}
	if c.DefaultLocale == "" {
		c.DefaultLocale = c.Locales[0]
	}
	if c.Calendar == "" {
		c.Calendar = "cn"
	}
	if c.Model == "" {
		c.Model = "chat"
	}
	if c.MemoryTTL == 0 {
		c.MemoryTTL = 10 * time.Minute
	}
	if c.MemoryTurns == 0 {
		c.MemoryTurns = 12
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "qiao:assistant:"
	}
	if c.MaxUtteranceRunes == 0 {
		c.MaxUtteranceRunes = 1000
	}
	if c.MaxIntents == 0 {
		c.MaxIntents = 64
	}
	if c.ConfirmIntents == nil {
		c.ConfirmIntents = []string{IntentCall, IntentSendMessage}
	}
	if c.SpeechMaxRunes == 0 {
		c.SpeechMaxRunes = 200
	}
	return c
}

// Validate reports configuration errors with the offending field.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, l := range c.Locales {
		if _, err := language.Parse(l); err != nil {
			errs = append(errs, fmt.Errorf("assistant: locales: %q is not a BCP 47 tag", l))
		}
	}
	if !containsFold(c.Locales, c.DefaultLocale) {
		errs = append(errs, fmt.Errorf("assistant: default_locale %q is not in locales", c.DefaultLocale))
	}
	if c.Calendar != "none" {
		if _, err := when.LoadCalendar(c.Calendar); err != nil {
			errs = append(errs, fmt.Errorf("assistant: calendar: %w", err))
		}
	}
	if c.MemoryTTL < 0 || c.MemoryTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("assistant: memory_ttl %s must be between 0 and 24h", c.MemoryTTL))
	}
	if c.MemoryTurns < 0 || c.MemoryTurns > 100 {
		errs = append(errs, fmt.Errorf("assistant: memory_turns %d must be between 0 and 100", c.MemoryTurns))
	}
	if c.MaxUtteranceRunes < 1 || c.MaxUtteranceRunes > 100000 {
		errs = append(errs, fmt.Errorf("assistant: max_utterance_runes %d out of range", c.MaxUtteranceRunes))
	}
	if c.MaxIntents < 1 || c.MaxIntents > 1000 {
		errs = append(errs, fmt.Errorf("assistant: max_intents %d out of range", c.MaxIntents))
	}
	for key, byLang := range c.Wording {
		if _, ok := defaultWording[key]; !ok {
			errs = append(errs, fmt.Errorf("assistant: wording: unknown key %q", key))
		}
		for lang := range byLang {
			if lang != "zh" && lang != "en" {
				errs = append(errs, fmt.Errorf("assistant: wording.%s: language %q must be zh or en", key, lang))
			}
		}
	}
	return errors.Join(errs...)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
