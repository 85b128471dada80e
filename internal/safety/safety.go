// Package safety checks requests and answers against lexicon packs and an optional guard
// model, the way Chinese rules ask a generative AI service to (Interim Measures Art. 14,
// TC260-003): refuse a harmful request early, stop an answer the moment it turns harmful
// without ever delivering the harmful part, record each block as an incident, and step up
// from warning to suspension for keys that keep offending.
//
// Text is normalized before matching (normalize.go) so spacing, full-width letters,
// traditional characters and look-alike letters do not dodge a term; terms are matched by
// an in-house Aho-Corasick automaton (automaton.go) over packs of data (pack.go) that can
// be swapped while serving. Streamed answers pass through a hold-and-release wrapper
// (moderate.go) that holds back only as much text as could still become a match, bounded
// by a small window.
package safety

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

//go:embed packs/baseline.pack
var baselinePack []byte

// BaselinePackData returns the bytes of the pack shipped with Qiao.
func BaselinePackData() []byte { return append([]byte(nil), baselinePack...) }

// CodeSafetyUnavailable is the API error code when a stage cannot decide and fails closed.
const CodeSafetyUnavailable = "safety_unavailable"

// Options are the checker's connections to the rest of the gateway. All are optional.
type Options struct {
	// HTTPClient calls the guard model. Default: a client without its own timeout (each
	// call is bounded by guard.timeout).
	HTTPClient *http.Client
	// Getenv reads the guard's API key variable. Default os.Getenv.
	Getenv func(string) string
	// Now is the clock for incidents and offender windows. Default time.Now.
	Now func() time.Time
	// OnIncident receives every block. It is called synchronously and must not block for
	// long; the gateway connects it to the audit log and metrics.
	OnIncident func(Incident)
	// ReadFile reads pack files. Default os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Meta describes the request being checked.
type Meta struct {
	RequestID string
	KeyID     string
	Tenant    string
	Region    string
	// Locale picks the refusal text ("zh-CN", "en", ...).
	Locale string
	// Prompt is the user's last message. Output checks by the guard model judge the answer
	// as a reply to it; it is never stored.
	Prompt string
	// OnDecision, if set, receives every decision that is not a plain allow (blocks and
	// flags, input and output), e.g. to add it to the request's exchange.
	OnDecision func(Decision)
	// Pseudonyms, if set, is the request's pseudonymization by the privacy stage. The input
	// lexicon scans the messages with the client's values put back, so a term the privacy
	// stage replaced (a name) is still seen; the guard model gets the request as it is.
	// Output moderation sees the answer restored; what it sends to the guard model is cut
	// between values and pseudonymized again.
	Pseudonyms Pseudonyms
}

// Pseudonyms undoes and redoes one request's pseudonymization (a privacy.Vault).
type Pseudonyms interface {
	// RestoreString puts the client's values back in place of the placeholders.
	RestoreString(s string) string
	// ConcealString replaces the client's values, whole ones, by their placeholders.
	ConcealString(s string) string
	// SafeCut moves cut back so that s[:cut] holds no value in part.
	SafeCut(s string, cut int) int
}

// Decision is the outcome of one check.
type Decision struct {
	Action Action `json:"action"`
	// Stage is "input", "output" or "upstream" (the provider's own moderation).
	Stage string `json:"stage"`
	// Source is "lexicon", "guard" or "upstream".
	Source   string   `json:"source,omitempty"`
	Rule     string   `json:"rule,omitempty"`
	Category Category `json:"category,omitempty"`
	// PackVersion is the lexicon version in force, stamped on every decision.
	PackVersion string `json:"pack_version"`
	// Term is the normalized term that matched; set only with record_term.
	Term string `json:"term,omitempty"`
	// Flags are rules with the flag action that matched (the text was allowed).
	Flags []Hit `json:"flags,omitempty"`
	// Standing is the key's standing after this decision.
	Standing Standing `json:"standing,omitempty"`

	refusal string
}

// Blocked reports whether the decision refuses the text.
func (d Decision) Blocked() bool { return d.Action == ActionBlock }

// Refusal is the text said instead of a blocked request or answer.
func (d Decision) Refusal() string { return d.refusal }

// Stream returns the refusal as an answer (one chunk, role assistant, finish_reason
// content_filter) for a blocked request, and nil otherwise.
func (d Decision) Stream() chat.Stream {
	if !d.Blocked() {
		return nil
	}
	return chat.NewSliceStream(chat.Chunk{
		Delta:        chat.Delta{Role: chat.RoleAssistant, Content: d.refusal},
		FinishReason: chat.FinishContentFilter,
	})
}

// Err returns the API error for a blocked request (400, code content_filter), or nil.
func (d Decision) Err() error {
	if !d.Blocked() {
		return nil
	}
	return apierr.ContentFilter(d.refusal).WithCause(fmt.Errorf("safety: %s blocked by %s (%s)", d.Stage, d.Rule, d.Category))
}

// Incident is the record of one block. It holds no request or answer text.
type Incident struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"request_id"`
	KeyID       string    `json:"key_id,omitempty"`
	Tenant      string    `json:"tenant,omitempty"`
	Region      string    `json:"region,omitempty"`
	Stage       string    `json:"stage"`
	Source      string    `json:"source"`
	Rule        string    `json:"rule"`
	Category    Category  `json:"category,omitempty"`
	PackVersion string    `json:"pack_version"`
	Standing    Standing  `json:"standing"`
	Term        string    `json:"term,omitempty"`
}

// Checker is the safety stage of one region profile. It is safe for concurrent use.
type Checker struct {
	cfg       Config
	opts      Options
	lex       atomic.Pointer[lexicon]
	guard     *guardClient
	offenders *offenders
	reloadMu  sync.Mutex
	packHash  []string // hashes of the loaded packs, for Watch
	scanners  sync.Pool
}

// New builds a checker: it loads and compiles the packs and prepares the guard client.
func New(cfg Config, opts Options) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	c := &Checker{cfg: cfg, opts: opts, offenders: newOffenders(cfg.Offenders, opts.Now)}
	if g := cfg.Guard; g.BaseURL != "" {
		key := ""
		if g.APIKeyEnv != "" {
			key = opts.Getenv(g.APIKeyEnv)
			if key == "" {
				return nil, fmt.Errorf("safety: guard.api_key_env: variable %s is empty", g.APIKeyEnv)
			}
		}
		c.guard = &guardClient{cfg: g, url: strings.TrimSuffix(g.BaseURL, "/") + "/chat/completions", key: key, client: opts.HTTPClient}
	}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload re-reads every configured pack and swaps the new lexicon in. On any error the
// lexicon in service stays, and the error names the file and line.
func (c *Checker) Reload() error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	packs := make([]*Pack, 0, len(c.cfg.Packs))
	hashes := make([]string, 0, len(c.cfg.Packs))
	for _, src := range c.cfg.Packs {
		var data []byte
		name := src
		if src == BaselinePack {
			data, name = baselinePack, "embedded:baseline"
		} else {
			var err error
			if data, err = c.opts.ReadFile(src); err != nil {
				return fmt.Errorf("safety: read pack: %w", err)
			}
		}
		p, err := ParsePack(name, data)
		if err != nil {
			return err
		}
		packs = append(packs, p)
		hashes = append(hashes, p.Hash)
	}
	lx, err := compile(packs)
	if err != nil {
		return err
	}
	c.lex.Store(lx)
	c.packHash = hashes
	return nil
}

// Watch re-reads the packs every ReloadInterval until ctx ends, swapping in changes. A
// failed reload is reported to onError and the old lexicon keeps serving. Without a
// ReloadInterval it returns at once.
func (c *Checker) Watch(ctx context.Context, onError func(error)) {
	if c.cfg.ReloadInterval <= 0 {
		return
	}
	t := time.NewTicker(c.cfg.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !c.changed() {
				continue
			}
			if err := c.Reload(); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// changed reports whether a pack file's content differs from what is loaded.
func (c *Checker) changed() bool {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	for i, src := range c.cfg.Packs {
		if src == BaselinePack {
			continue
		}
		data, err := c.opts.ReadFile(src)
		if err != nil {
			return true // let Reload report it
		}
		if i >= len(c.packHash) || c.packHash[i] != hashHex(data) {
			return true
		}
	}
	return false
}

// PackVersion is the version of the lexicon in service: the packs' name@version#hash8,
// joined by "+".
func (c *Checker) PackVersion() string { return c.lex.Load().version }

// Stats describes the lexicon in service.
func (c *Checker) Stats() Stats { return c.lex.Load().stats }

// Standing returns the key's standing. The gateway refuses suspended keys (403) and
// rate-limits limited ones.
func (c *Checker) Standing(keyID string) Standing { return c.offenders.get(keyID) }

// Refusal returns the refusal text for a locale ("zh-CN" → "zh").
func (c *Checker) Refusal(locale string) string {
	r := c.cfg.Refusals
	if t, ok := r[locale]; ok {
		return t
	}
	l := strings.ToLower(locale)
	if t, ok := r[l]; ok {
		return t
	}
	if i := strings.IndexAny(l, "-_"); i > 0 {
		if t, ok := r[l[:i]]; ok {
			return t
		}
	}
	return r[c.cfg.DefaultLocale]
}

// unavailable is the error of a stage that cannot decide and fails closed.
func unavailable(err error) error {
	return apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, CodeSafetyUnavailable,
		"The content safety check is unavailable; please try again later.").WithCause(err)
}

func (c *Checker) getScanner(lx *lexicon) *scanner {
	if s, ok := c.scanners.Get().(*scanner); ok && s.lx == lx {
		s.reset()
		return s
	}
	return newScanner(lx)
}

func (c *Checker) putScanner(s *scanner) {
	if cap(s.ghits) > 1024 || cap(s.pending) > 1024 {
		return
	}
	c.scanners.Put(s)
}

func (c *Checker) scanRole(role string) bool {
	for _, r := range c.cfg.ScanRoles {
		if r == role {
			return true
		}
	}
	return false
}

// CheckInput checks a request: every message of a role in scan_roles (system, developer
// and user by default) through the lexicon, each on its own, then the last user message
// through the guard model if one is configured for input. A blocked
// request is recorded as an incident. In error mode a block also returns the content_filter
// API error; in refusal mode the caller answers with d.Stream(). When the guard cannot
// decide and the stage fails closed, the error is a 503 safety_unavailable.
func (c *Checker) CheckInput(ctx context.Context, meta Meta, req *chat.Request) (Decision, error) {
	lx := c.lex.Load()
	d := Decision{Action: ActionAllow, Stage: "input", PackVersion: lx.version, refusal: c.Refusal(meta.Locale)}
	sc := c.getScanner(lx)
	sc.deferCombos = true
	lastUser := ""
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == chat.RoleUser {
			lastUser = m.Text()
		}
		if !c.scanRole(m.Role) {
			continue
		}
		text := m.Text()
		if meta.Pseudonyms != nil {
			text = meta.Pseudonyms.RestoreString(text)
		}
		sc.reset()
		sc.feed(text)
		sc.finish()
		d.Flags = c.appendFlags(d.Flags, sc.flags)
		if sc.block != nil {
			d.Action, d.Source, d.Rule, d.Category = ActionBlock, "lexicon", sc.block.Rule, sc.block.Category
			if c.cfg.RecordTerm {
				d.Term = sc.block.Term
			}
			break
		}
	}
	c.putScanner(sc)
	if !d.Blocked() && c.guard != nil && c.cfg.Guard.Input && lastUser != "" {
		v, err := c.guard.check(ctx, lastUser, "", false)
		switch {
		case err != nil && (c.cfg.FailOpen || c.cfg.Guard.FailOpen):
			d.Flags = append(d.Flags, Hit{Rule: "guard/unavailable", Action: ActionFlag})
		case err != nil:
			return d, unavailable(err)
		case v.Unsafe:
			d.Action, d.Source, d.Rule, d.Category = ActionBlock, "guard", guardRule(v), v.Category
		case v.Controversial:
			d.Flags = append(d.Flags, Hit{Rule: "guard/controversial", Action: ActionFlag, Category: v.Category})
		}
	}
	if !d.Blocked() {
		if len(d.Flags) > 0 {
			d.Action = ActionFlag
			c.notify(meta, d)
			d.Action = ActionAllow
		}
		return d, nil
	}
	d = c.record(meta, d)
	if c.cfg.InputMode == InputError {
		return d, d.Err()
	}
	return d, nil
}

func guardRule(v Verdict) string {
	if len(v.Labels) > 0 {
		return "guard/" + v.Labels[0]
	}
	return "guard/unsafe"
}

// appendFlags copies flag hits, without their terms unless record_term is on.
func (c *Checker) appendFlags(dst, flags []Hit) []Hit {
	for _, f := range flags {
		if !c.cfg.RecordTerm {
			f.Term = ""
		}
		dst = append(dst, f)
	}
	return dst
}

// record counts a block against the key, emits the incident and the decision.
func (c *Checker) record(meta Meta, d Decision) Decision {
	d.Standing = c.offenders.record(meta.KeyID)
	if c.opts.OnIncident != nil {
		c.opts.OnIncident(Incident{
			Time: c.opts.Now(), RequestID: meta.RequestID, KeyID: meta.KeyID, Tenant: meta.Tenant,
			Region: meta.Region, Stage: d.Stage, Source: d.Source, Rule: d.Rule, Category: d.Category,
			PackVersion: d.PackVersion, Standing: d.Standing, Term: d.Term,
		})
	}
	c.notify(meta, d)
	return d
}

func (c *Checker) notify(meta Meta, d Decision) {
	if meta.OnDecision != nil {
		meta.OnDecision(d)
	}
}

// ScanText runs one text through the lexicon alone and returns the blocking hit, if any,
// and the flags. Tools (pack linting, evaluation) use it; requests go through CheckInput.
func (c *Checker) ScanText(text string) (block *Hit, flags []Hit) {
	lx := c.lex.Load()
	sc := newScanner(lx)
	sc.deferCombos = true
	sc.feed(text)
	sc.finish()
	return sc.block, append([]Hit(nil), sc.flags...)
}
