package config

import (
	"fmt"
	"time"

	"github.com/qiao-gateway/qiao/internal/assistant"
	"github.com/qiao-gateway/qiao/internal/label"
	"github.com/qiao-gateway/qiao/internal/privacy"
	"github.com/qiao-gateway/qiao/internal/provider"
	"github.com/qiao-gateway/qiao/internal/safety"
)

// Region is one region's profile: who may process its data, which models serve it, and
// every local rule (privacy, safety, labels, audit retention, filings, complaints).
type Region struct {
	// Jurisdictions lists where this region's data may be processed. Every route target's
	// provider must be in one of them, or the gateway refuses to start.
	Jurisdictions []string `yaml:"jurisdictions"`
	// Locale is the default language of refusals and notices (zh-CN, en-US, ...). Default
	// zh-CN for CN, en-US otherwise.
	Locale string `yaml:"locale"`
	// Models maps a model alias devices send ("chat", "vision", "image") to ordered
	// provider/model targets; later ones are fallbacks.
	Models map[string][]string `yaml:"models"`
	// Filings lists the filed models shown to users (GET /v1/compliance, X-Qiao-Filing).
	Filings []Filing `yaml:"filings"`
	// Complaints configures the complaint channel.
	Complaints Complaints `yaml:"complaints"`
	// Limits are per-key request limits.
	Limits Limits `yaml:"limits"`
	// Privacy decides which personal data is pseudonymized. Default: privacy.DefaultConfig.
	Privacy *privacy.Config `yaml:"privacy"`
	// Safety configures input checks, streamed output moderation and repeat offenders.
	// The zero value uses the baseline pack. See docs/safety.md.
	Safety safety.Config `yaml:"safety"`
	// Label configures AIGC labels (GB 45438). Empty: no labels.
	Label label.Config `yaml:"label"`
	// Assistant configures the assistant turn API: locales, holiday calendar, model alias,
	// conversation memory. See docs/assistant.md.
	Assistant assistant.Config `yaml:"assistant"`
	// Audit is the region's audit-log policy.
	Audit AuditPolicy `yaml:"audit"`
}

// Filing is one filed model.
type Filing struct {
	// Model is the upstream model name the filing covers (qwen-plus).
	Model string `yaml:"model"`
	// Name is the filed service or model name shown to users.
	Name string `yaml:"name"`
	// Number is the filing (备案) or registration (登记) number.
	Number string `yaml:"number"`
	// URL links to the public record, if any.
	URL string `yaml:"url"`
}

// Complaints configures the complaint channel (Interim Measures Art. 15).
type Complaints struct {
	// Deadline is the published time limit for handling a complaint. Default 360h (15 days).
	Deadline Duration `yaml:"deadline"`
	// Contact is shown with every complaint receipt (an e-mail or phone line).
	Contact string `yaml:"contact"`
}

// Limits are per-key request limits, enforced by each replica (or shared through Redis).
type Limits struct {
	// RequestsPerSecond is the sustained rate per key; 0 means unlimited.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// Burst is how many requests may come at once. Default: max(1, 2×rate).
	Burst int `yaml:"burst"`
}

// AuditPolicy is a region's audit-log policy.
type AuditPolicy struct {
	// RetentionDays is how long records are kept. Default 180 for CN (the legal minimum),
	// 365 elsewhere.
	RetentionDays int `yaml:"retention_days"`
	// MinRetentionDays is the floor RetentionDays may not go below. Default 180 for CN, 0
	// elsewhere.
	MinRetentionDays int `yaml:"min_retention_days"`
	// OnFailure is what happens when a record cannot be written: refuse (default) serves
	// nothing unlogged; serve answers anyway and logs the loss.
	OnFailure string `yaml:"on_failure"`
}

func (r *Region) setDefaults(name string) {
	if r.Locale == "" {
		r.Locale = "en-US"
		if name == "CN" {
			r.Locale = "zh-CN"
		}
	}
	if r.Privacy == nil {
		p := privacy.DefaultConfig(name)
		r.Privacy = &p
	}
	if r.Complaints.Deadline == 0 {
		r.Complaints.Deadline = Duration(15 * 24 * time.Hour)
	}
	if r.Limits.RequestsPerSecond > 0 && r.Limits.Burst == 0 {
		r.Limits.Burst = max(1, int(2*r.Limits.RequestsPerSecond))
	}
	a := &r.Audit
	if a.MinRetentionDays == 0 && name == "CN" {
		a.MinRetentionDays = 180
	}
	if a.RetentionDays == 0 {
		a.RetentionDays = 365
		if name == "CN" {
			a.RetentionDays = 180
		}
	}
	if a.OnFailure == "" {
		a.OnFailure = "refuse"
	}
}

type fieldError struct {
	path []string
	msg  string
}

func (r *Region) validate() []fieldError {
	var errs []fieldError
	add := func(msg string, path ...string) { errs = append(errs, fieldError{path, msg}) }
	if err := r.Privacy.Validate(); err != nil {
		add(err.Error(), "privacy")
	}
	if err := r.Assistant.Validate(); err != nil {
		add(err.Error(), "assistant")
	}
	if err := r.Safety.Validate(); err != nil {
		add(err.Error(), "safety")
	}
	if err := r.Label.Validate(); err != nil {
		add(err.Error(), "label")
	}
	if r.Audit.RetentionDays < r.Audit.MinRetentionDays {
		add(fmt.Sprintf("audit.retention_days %d is below the minimum of %d days", r.Audit.RetentionDays, r.Audit.MinRetentionDays), "audit", "retention_days")
	}
	if r.Audit.OnFailure != "refuse" && r.Audit.OnFailure != "serve" {
		add(fmt.Sprintf("audit.on_failure must be refuse or serve, not %q", r.Audit.OnFailure), "audit", "on_failure")
	}
	for i, f := range r.Filings {
		if f.Model == "" || f.Number == "" {
			add(fmt.Sprintf("filings[%d] needs model and number", i), "filings")
		}
	}
	if r.Limits.RequestsPerSecond < 0 {
		add("limits.requests_per_second must not be negative", "limits")
	}
	return errs
}

// ProviderConfig is one upstream provider; see package provider.
type ProviderConfig = provider.Config
