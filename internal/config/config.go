// Package config loads Qiao's YAML configuration: the server, the providers, and one profile
// per region. Decoding is strict — an unknown field is an error — and every error names the
// line it is about, so `qiao config check` can explain a file to its author.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/qiao-gateway/qiao/internal/audit"
)

//go:embed default.yaml
var defaultYAML []byte

// Default returns the built-in configuration: CN, EU and US profiles.
func Default() []byte { return bytes.Clone(defaultYAML) }

// File is a whole configuration file.
type File struct {
	Server Server `yaml:"server"`
	// Audit selects the store (SQLite or PostgreSQL) for keys and the audit log, and the
	// audit log's keys and checkpoints. See docs/audit.md.
	Audit     audit.Config              `yaml:"audit"`
	Providers map[string]ProviderConfig `yaml:"providers"`
	Regions   map[string]*Region        `yaml:"regions"`

	root *yaml.Node
}

// Server configures the HTTP server.
type Server struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// DataDir holds the embedded database and generated keys. Default ./qiao-data.
	DataDir string `yaml:"data_dir"`
	// MaxBodyBytes limits request bodies. Default 8388608 (8 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxMessages limits messages per chat request. Default 1024.
	MaxMessages int `yaml:"max_messages"`
	// Grace is how long open streams may run after SIGTERM. Default 30s.
	Grace Duration `yaml:"grace"`
	// KeyCacheTTL bounds how late a key revocation takes effect. Default 5s.
	KeyCacheTTL Duration `yaml:"key_cache_ttl"`
	// Redis is the address (host:port) of a Redis server shared by the replicas, for
	// per-key rate limits and assistant conversation memory. Optional: without it each
	// replica keeps that state in memory. Checked at start.
	Redis string `yaml:"redis"`
	// AdminTokenEnv names the environment variable holding the admin bearer token for
	// /admin endpoints. Default QIAO_ADMIN_TOKEN; admin endpoints are off when it is unset.
	AdminTokenEnv string `yaml:"admin_token_env"`
}

// Duration is a time.Duration written as "30s", "5m", "1h30m".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (examples: 500ms, 30s, 5m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Error is one problem in a file, with the line it is on (0 if unknown).
type Error struct {
	Line int
	Msg  string
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Errors is every problem found in a file, in line order.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

var lineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse decodes and validates a configuration. Its error, if any, is an Errors.
func Parse(data []byte) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErrors(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	f := &File{root: &root}
	if err := dec.Decode(f); err != nil {
		return nil, yamlErrors(err)
	}
	f.setDefaults()
	if errs := f.validate(); len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return f, nil
}

func yamlErrors(err error) Errors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out Errors
	for _, m := range msgs {
		if g := lineRe.FindStringSubmatch(m); g != nil {
			n, _ := strconv.Atoi(g[1])
			out = append(out, Error{Line: n, Msg: g[2]})
		} else {
			out = append(out, Error{Msg: strings.TrimPrefix(m, "yaml: ")})
		}
	}
	return out
}

// Line returns the line of the value at a path of mapping keys ("regions", "CN", "models"),
// or 0. Validation uses it to point at the offending entry.
func (f *File) Line(path ...string) int {
	if f.root == nil || len(f.root.Content) == 0 {
		return 0
	}
	n := f.root.Content[0]
	line := n.Line
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

func (f *File) setDefaults() {
	s := &f.Server
	if s.Addr == "" {
		s.Addr = "127.0.0.1:8080"
	}
	if s.DataDir == "" {
		s.DataDir = "./qiao-data"
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 8 << 20
	}
	if s.MaxMessages == 0 {
		s.MaxMessages = 1024
	}
	if s.Grace == 0 {
		s.Grace = Duration(30 * time.Second)
	}
	if s.KeyCacheTTL == 0 {
		s.KeyCacheTTL = Duration(5 * time.Second)
	}
	if s.AdminTokenEnv == "" {
		s.AdminTokenEnv = "QIAO_ADMIN_TOKEN"
	}
	for name, r := range f.Regions {
		if r == nil {
			r = &Region{}
			f.Regions[name] = r
		}
		r.setDefaults(name)
	}
	if f.Audit.DataDir == "" {
		f.Audit.DataDir = s.DataDir
	}
	if f.Audit.RetentionDays == 0 {
		f.Audit.RetentionDays = f.retentionDays()
	}
	f.Audit = f.Audit.WithDefaults(f.minRetention())
}

// retentionDays is the longest retention any region asks for: the log is one chain per
// replica, so it keeps records as long as the strictest region needs them.
func (f *File) retentionDays() int {
	days := 0
	for _, r := range f.Regions {
		days = max(days, r.Audit.RetentionDays)
	}
	return days
}

func (f *File) minRetention() time.Duration {
	days := 0
	for _, r := range f.Regions {
		days = max(days, r.Audit.MinRetentionDays)
	}
	return time.Duration(days) * 24 * time.Hour
}

var regionNameRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,15}$`)

func (f *File) validate() Errors {
	var errs Errors
	add := func(line int, format string, args ...any) {
		errs = append(errs, Error{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	if f.Server.MaxBodyBytes < 1024 {
		add(f.Line("server", "max_body_bytes"), "server.max_body_bytes must be at least 1024")
	}
	if err := f.Audit.Validate(f.minRetention()); err != nil {
		add(f.Line("audit"), "%v", err)
	}
	if len(f.Providers) == 0 {
		add(f.Line("providers"), "no providers: configure at least one under providers:")
	}
	for name, p := range f.Providers {
		if err := p.Validate(); err != nil {
			add(f.Line("providers", name), "provider %s: %v", name, err)
		}
	}
	if len(f.Regions) == 0 {
		add(f.Line("regions"), "no regions: configure at least one under regions:")
	}
	for name, r := range f.Regions {
		at := func(path ...string) int { return f.Line(append([]string{"regions", name}, path...)...) }
		if !regionNameRe.MatchString(name) {
			add(at(), "region name %q must be upper case letters and digits, like CN or EU", name)
		}
		if len(r.Jurisdictions) == 0 {
			add(at("jurisdictions"), "region %s: jurisdictions is empty: say who may process this region's data, e.g. [%s]", name, name)
		}
		if len(r.Models) == 0 {
			add(at("models"), "region %s: no models: map at least one alias (chat) to provider/model targets", name)
		}
		for alias, targets := range r.Models {
			if len(targets) == 0 {
				add(at("models", alias), "region %s: alias %q has no targets", name, alias)
			}
			for _, t := range targets {
				pname, model, ok := strings.Cut(t, "/")
				if !ok || pname == "" || model == "" {
					add(at("models", alias), "region %s: target %q must be provider/model", name, t)
					continue
				}
				p, ok := f.Providers[pname]
				if !ok {
					add(at("models", alias), "region %s: target %q names unknown provider %q", name, t, pname)
					continue
				}
				if !slices.Contains(r.Jurisdictions, p.Jurisdiction) {
					add(at("models", alias), "region %s: target %q sends data to %s, but the region allows only %s (fail-closed residency: the gateway will not start)",
						name, t, p.Jurisdiction, strings.Join(r.Jurisdictions, ", "))
				}
			}
		}
		for _, e := range r.validate() {
			add(at(e.path...), "region %s: %s", name, e.msg)
		}
	}
	return errs
}
