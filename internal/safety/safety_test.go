package safety

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"go.yaml.in/yaml/v3"
)

// memFiles serves pack files from memory and can change them between reloads.
type memFiles struct {
	mu    sync.Mutex
	files map[string]string
}

func (m *memFiles) read(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.files[name]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return []byte(s), nil
}

func (m *memFiles) set(name, data string) {
	m.mu.Lock()
	m.files[name] = data
	m.mu.Unlock()
}

// newTestChecker builds a checker over testPack (as "t.pack") with the given config changes.
func newTestChecker(t *testing.T, mod func(*Config), opts Options) (*Checker, *memFiles) {
	t.Helper()
	files := &memFiles{files: map[string]string{"t.pack": testPack}}
	cfg := Config{Packs: []string{"t.pack"}}
	if mod != nil {
		mod(&cfg)
	}
	if opts.ReadFile == nil {
		opts.ReadFile = files.read
	}
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, files
}

func userReq(texts ...string) *chat.Request {
	r := &chat.Request{}
	for _, s := range texts {
		r.Messages = append(r.Messages, chat.Message{Role: chat.RoleUser, Content: s})
	}
	return r
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"zero value", Config{}, ""},
		{"bad mode", Config{InputMode: "shout"}, "input_mode"},
		{"window too big", Config{OutputWindow: 100000}, "output_window"},
		{"negative window", Config{OutputWindow: -1}, "output_window"},
		{"empty refusal", Config{Refusals: map[string]string{"fr": ""}}, "refusals[\"fr\"]"},
		{"unknown default locale", Config{DefaultLocale: "fr"}, "default_locale"},
		{"guard without model", Config{Guard: GuardConfig{BaseURL: "http://g", Input: true}}, "guard.model"},
		{"guard bad url", Config{Guard: GuardConfig{BaseURL: "ftp://g", Model: "m", Input: true}}, "guard.base_url"},
		{"guard off", Config{Guard: GuardConfig{BaseURL: "http://g", Model: "m"}}, "neither"},
		{"guard input without url", Config{Guard: GuardConfig{Input: true}}, "need guard.base_url"},
		{"guard bad format", Config{Guard: GuardConfig{BaseURL: "http://g", Model: "m", Input: true, Format: "x"}}, "guard.format"},
		{"thresholds out of order", Config{Offenders: OffenderConfig{Warn: 5, Limit: 3}}, "thresholds must grow"},
		{"empty pack path", Config{Packs: []string{""}}, "packs[0]"},
		{"unknown role", Config{ScanRoles: []string{"robot"}}, "scan_roles"},
		{"eval percent not fraction", Config{Eval: EvalConfig{MinRefusal: ptr(95.0)}}, "eval thresholds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestCheckInputRefusalMode(t *testing.T) {
	var incidents []Incident
	var decisions []Decision
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c, _ := newTestChecker(t, nil, Options{Now: func() time.Time { return now }, OnIncident: func(i Incident) { incidents = append(incidents, i) }})
	meta := Meta{RequestID: "req_1", KeyID: "k1", Tenant: "acme", Region: "CN", Locale: "zh-CN", OnDecision: func(d Decision) { decisions = append(decisions, d) }}
	d, err := c.CheckInput(context.Background(), meta, userReq("你好", "请问炸 药怎么买"))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Blocked() || d.Rule != "t/r.block" || d.Category != "A.1.6" || d.PackVersion != c.PackVersion() || d.Source != "lexicon" {
		t.Fatalf("decision %+v", d)
	}
	res, err := chat.Collect(d.Stream())
	if err != nil {
		t.Fatal(err)
	}
	want := chat.Response{Message: chat.Message{Role: chat.RoleAssistant, Content: defaultRefusals["zh"]}, FinishReason: chat.FinishContentFilter}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("refusal answer (-want +got):\n%s", diff)
	}
	wantInc := []Incident{{Time: now, RequestID: "req_1", KeyID: "k1", Tenant: "acme", Region: "CN", Stage: "input", Source: "lexicon",
		Rule: "t/r.block", Category: "A.1.6", PackVersion: c.PackVersion(), Standing: StandingOK}}
	if diff := cmp.Diff(wantInc, incidents); diff != "" {
		t.Errorf("incidents (-want +got):\n%s", diff)
	}
	if len(decisions) != 1 || !decisions[0].Blocked() {
		t.Errorf("decisions %+v", decisions)
	}
	if strings.Contains(incidents[0].Term, "炸") {
		t.Error("incident carries content without record_term")
	}

	// An allowed request: no incident, no stream, no error.
	d, err = c.CheckInput(context.Background(), meta, userReq("今天天气怎么样"))
	if err != nil || d.Blocked() || d.Stream() != nil || d.Err() != nil || len(incidents) != 1 {
		t.Fatalf("allowed request: %+v %v", d, err)
	}
	// A flag: allowed, reported as a decision, not an incident.
	d, err = c.CheckInput(context.Background(), meta, userReq("安眠药的副作用"))
	if err != nil || d.Blocked() || len(d.Flags) != 1 || len(incidents) != 1 || decisions[len(decisions)-1].Action != ActionFlag {
		t.Fatalf("flagged request: %+v %v", d, err)
	}
}

func TestCheckInputErrorMode(t *testing.T) {
	c, _ := newTestChecker(t, func(cfg *Config) { cfg.InputMode = InputError; cfg.RecordTerm = true }, Options{})
	d, err := c.CheckInput(context.Background(), Meta{Locale: "en-US"}, userReq("how to make explosives"))
	if !d.Blocked() || d.Term != "explosive" {
		t.Fatalf("decision %+v", d)
	}
	ae, ok := apierr.As(err)
	if !ok || ae.Status != http.StatusBadRequest || ae.Code != apierr.CodeContentFilter || ae.Message != defaultRefusals["en"] {
		t.Fatalf("err = %#v", err)
	}
}

func TestCheckInputRoles(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	req := &chat.Request{Messages: []chat.Message{
		{Role: chat.RoleAssistant, Content: "炸药 was mentioned by the model earlier"},
		{Role: chat.RoleTool, Content: "a web page about 炸药"},
		{Role: chat.RoleUser, Parts: []chat.Part{{Type: chat.PartText, Text: "hello"}, {Type: chat.PartImageURL, ImageURL: "http://x/炸药.png"}}},
	}}
	if d, _ := c.CheckInput(context.Background(), Meta{}, req); d.Blocked() {
		t.Fatalf("assistant/tool history or image URL blocked: %+v", d)
	}
	req.Messages = append(req.Messages, chat.Message{Role: chat.RoleSystem, Content: "you explain 炸药"})
	if d, _ := c.CheckInput(context.Background(), Meta{}, req); !d.Blocked() {
		t.Fatal("system message not checked")
	}
	c, _ = newTestChecker(t, func(cfg *Config) { cfg.ScanRoles = []string{"user"} }, Options{})
	if d, _ := c.CheckInput(context.Background(), Meta{}, req); d.Blocked() {
		t.Fatal("system message checked although scan_roles is [user]")
	}
}

func TestRefusalLocale(t *testing.T) {
	c, _ := newTestChecker(t, func(cfg *Config) { cfg.Refusals = map[string]string{"ja": "申し訳ありません"} }, Options{})
	for loc, want := range map[string]string{
		"": defaultRefusals["zh"], "zh": defaultRefusals["zh"], "zh-Hans-CN": defaultRefusals["zh"],
		"en_GB": defaultRefusals["en"], "EN": defaultRefusals["en"], "ja-JP": "申し訳ありません", "fr": defaultRefusals["zh"],
	} {
		if got := c.Refusal(loc); got != want {
			t.Errorf("Refusal(%q) = %q, want %q", loc, got, want)
		}
	}
}

func TestReload(t *testing.T) {
	c, files := newTestChecker(t, nil, Options{})
	v1 := c.PackVersion()
	if !strings.HasPrefix(v1, "t@1#") {
		t.Fatalf("version %q", v1)
	}
	// A malformed pack: a clear error naming the line; the old pack keeps serving.
	files.set("t.pack", "pack t\nversion 2\nterm x block A.1.6 : 新词\nterm y explode A.1.6 : z\n")
	err := c.Reload()
	if err == nil || !strings.Contains(err.Error(), "t.pack:4:") {
		t.Fatalf("reload error %v, want one naming t.pack:4", err)
	}
	if c.PackVersion() != v1 {
		t.Fatalf("version changed to %q after failed reload", c.PackVersion())
	}
	if d, _ := c.CheckInput(context.Background(), Meta{}, userReq("炸药")); !d.Blocked() {
		t.Fatal("old pack stopped serving after failed reload")
	}
	// A missing file is an error too.
	files.mu.Lock()
	delete(files.files, "t.pack")
	files.mu.Unlock()
	if err := c.Reload(); err == nil || c.PackVersion() != v1 {
		t.Fatalf("missing file: err %v, version %q", err, c.PackVersion())
	}
	// A good pack swaps in.
	files.set("t.pack", "pack t\nversion 2\nterm x block A.1.6 : 新词\n")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if v := c.PackVersion(); !strings.HasPrefix(v, "t@2#") {
		t.Fatalf("version %q after reload", v)
	}
	d, _ := c.CheckInput(context.Background(), Meta{}, userReq("新词"))
	if !d.Blocked() || !strings.HasPrefix(d.PackVersion, "t@2#") {
		t.Fatalf("new pack not in service: %+v", d)
	}
	if d, _ := c.CheckInput(context.Background(), Meta{}, userReq("炸药")); d.Blocked() {
		t.Fatal("old term still blocks")
	}
}

func TestWatch(t *testing.T) {
	c, files := newTestChecker(t, func(cfg *Config) { cfg.ReloadInterval = time.Millisecond }, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 16)
	done := make(chan struct{})
	go func() { c.Watch(ctx, func(err error) { errs <- err }); close(done) }()
	files.set("t.pack", "pack t\nversion 3\nterm x block A.1.6 : 新词\n")
	// Bounded waits so a broken Watch fails the test instead of hanging it.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(c.PackVersion(), "t@3#") {
		if time.Now().After(deadline) {
			t.Fatal("Watch never swapped in the changed pack")
		}
		time.Sleep(time.Millisecond)
	}
	files.set("t.pack", "pack t\nbroken line\n")
	var err error
	select {
	case err = <-errs:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch never reported the broken pack")
	}
	if !strings.Contains(err.Error(), "t.pack:2:") || !strings.HasPrefix(c.PackVersion(), "t@3#") {
		t.Fatalf("err %v, version %q", err, c.PackVersion())
	}
	cancel()
	<-done
}

func TestBaselineSelectedByDefault(t *testing.T) {
	c, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.PackVersion(), "baseline@") || c.Stats().Terms == 0 {
		t.Fatalf("version %q stats %+v", c.PackVersion(), c.Stats())
	}
	c, err = New(Config{Packs: []string{}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.PackVersion() != "none" {
		t.Fatalf("explicit empty pack list: version %q", c.PackVersion())
	}
	if d, _ := c.CheckInput(context.Background(), Meta{}, userReq("how to make a pipe bomb")); d.Blocked() {
		t.Fatal("no packs, yet blocked")
	}
	if _, err := New(Config{Packs: []string{"/nonexistent/x.pack"}}, Options{}); err == nil {
		t.Fatal("missing pack file accepted")
	}
}

func TestOffenders(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var incidents []Incident
	c, _ := newTestChecker(t, func(cfg *Config) {
		cfg.Offenders = OffenderConfig{Window: time.Hour, Warn: 2, Limit: 3, Suspend: 4, SuspendFor: 2 * time.Hour}
	}, Options{Now: clock, OnIncident: func(i Incident) { incidents = append(incidents, i) }})
	bad := userReq("炸药")
	want := []Standing{StandingOK, StandingWarn, StandingLimited, StandingSuspended}
	for i, w := range want {
		now = now.Add(time.Minute)
		d, _ := c.CheckInput(context.Background(), Meta{KeyID: "k"}, bad)
		if d.Standing != w || incidents[i].Standing != w || c.Standing("k") != w {
			t.Fatalf("block %d: standing %q (incident %q, Standing %q), want %q", i+1, d.Standing, incidents[i].Standing, c.Standing("k"), w)
		}
	}
	if c.Standing("other") != StandingOK {
		t.Fatal("other key affected")
	}
	// The window passes but the suspension lasts SuspendFor.
	now = now.Add(90 * time.Minute)
	if s := c.Standing("k"); s != StandingSuspended {
		t.Fatalf("after 90m: %q, want suspended", s)
	}
	now = now.Add(time.Hour)
	if s := c.Standing("k"); s != StandingOK {
		t.Fatalf("after suspension: %q, want ok", s)
	}
}

func TestOffendersBounded(t *testing.T) {
	now := time.Unix(0, 0)
	o := newOffenders(OffenderConfig{Window: time.Hour, Warn: 1, SuspendFor: time.Hour, MaxKeys: 100}, func() time.Time { return now })
	for i := 0; i < 1000; i++ {
		now = now.Add(time.Second)
		o.record(strings.Repeat("k", 1+i%7) + string(rune('a'+i%26)) + string(rune('0'+i%10)) + time.Duration(i).String())
	}
	if len(o.keys) > 100 {
		t.Fatalf("%d keys tracked, cap 100", len(o.keys))
	}
}

func TestDecisionErrWraps(t *testing.T) {
	c, _ := newTestChecker(t, func(cfg *Config) { cfg.InputMode = InputError }, Options{})
	_, err := c.CheckInput(context.Background(), Meta{}, userReq("炸药"))
	if !apierr.IsContentFilter(err) || errors.Unwrap(err) == nil {
		t.Fatalf("err %v", err)
	}
}

func TestCheckInputEnormousAndFlagsWithoutTerms(t *testing.T) {
	c, _ := newTestChecker(t, nil, Options{})
	big := strings.Repeat("正常的内容，安眠药 normal text. ", 300000) // ~8 MB, a flag term repeated
	d, err := c.CheckInput(context.Background(), Meta{}, userReq(big))
	if err != nil || d.Blocked() {
		t.Fatalf("%+v %v", d, err)
	}
	if len(d.Flags) != 1 || d.Flags[0].Term != "" {
		t.Fatalf("flags %+v: want one, without its term", d.Flags)
	}
	d, _ = c.CheckInput(context.Background(), Meta{}, userReq(big+"炸药"))
	if !d.Blocked() {
		t.Fatal("term after 8 MB not found")
	}
}

func TestConfigYAML(t *testing.T) {
	src := `
packs: [baseline, /etc/qiao/cn.pack]
input_mode: error
refusals: {en: "No."}
output_window: 32
fail_open: false
reload_interval: 30s
guard:
  base_url: http://guard:8000/v1
  model: Qwen/Qwen3Guard-Gen-4B
  format: qwen3guard
  timeout: 2s
  input: true
  output: true
  output_hold: 120
offenders: {window: 24h, warn: 3, limit: 10, suspend: 30, suspend_for: 72h}
`
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Packs: []string{"baseline", "/etc/qiao/cn.pack"}, InputMode: "error", Refusals: map[string]string{"en": "No."},
		OutputWindow: 32, ReloadInterval: 30 * time.Second,
		Guard: GuardConfig{BaseURL: "http://guard:8000/v1", Model: "Qwen/Qwen3Guard-Gen-4B", Format: "qwen3guard",
			Timeout: 2 * time.Second, Input: true, Output: true, OutputHold: 120},
		Offenders: OffenderConfig{Window: 24 * time.Hour, Warn: 3, Limit: 10, Suspend: 30, SuspendFor: 72 * time.Hour},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	bad := yaml.NewDecoder(strings.NewReader("output_windw: 3\n"))
	bad.KnownFields(true)
	if err := bad.Decode(&Config{}); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func ptr[T any](v T) *T { return &v }

func TestEvalThresholds(t *testing.T) {
	lo, hi := Config{}.EvalThresholds()
	if lo != 0.95 || hi != 0.05 {
		t.Fatalf("defaults %v %v", lo, hi)
	}
	lo, hi = Config{Eval: EvalConfig{MinRefusal: ptr(0.9), MaxAnswerRefusal: ptr(0.0)}}.EvalThresholds()
	if lo != 0.9 || hi != 0 {
		t.Fatalf("set %v %v", lo, hi)
	}
}
