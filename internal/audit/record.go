// Package audit keeps the tamper-evident audit log: one record per request (and per complaint,
// admin or key event), hash-chained per replica, with Ed25519-signed checkpoints, a group-commit
// writer that acknowledges a record only once it is durable, verification that says where and
// how a log was altered, JSON Lines export and retention that keeps what remains verifiable.
//
// Records hold decisions, counts and keyed hashes (HMAC) of content, never the content itself.
package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/jsonw"
)

// Kind says what a record is about.
type Kind string

// Record kinds.
const (
	KindRequest   Kind = "request"   // one API request, served or refused
	KindComplaint Kind = "complaint" // a complaint was filed or changed state
	KindAdmin     Kind = "admin"     // an administrative action (retention purge, config)
	KindKey       Kind = "key"       // an API key was created or revoked
)

func (k Kind) valid() bool {
	switch k {
	case KindRequest, KindComplaint, KindAdmin, KindKey:
		return true
	}
	return false
}

// HashSize is the size of chain hashes and content MACs (SHA-256).
const HashSize = sha256.Size

// Hash is a SHA-256 digest. It encodes as lowercase hex in JSON.
type Hash []byte

// MarshalJSON encodes h as a hex string ("" when empty).
func (h Hash) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+hex.EncodedLen(len(h)))
	b = append(b, '"')
	b = hex.AppendEncode(b, h)
	return append(b, '"'), nil
}

// UnmarshalJSON decodes a hex string.
func (h *Hash) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("audit: hash: %w", err)
	}
	if s == "" {
		*h = nil
		return nil
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("audit: hash: %w", err)
	}
	*h = d
	return nil
}

// String returns the hex form.
func (h Hash) String() string { return hex.EncodeToString(h) }

// SafetyOutcome is one moderation decision: which stage looked, which rule fired, in which
// category, from which version of the rule pack, and what was done.
type SafetyOutcome struct {
	Stage       string `json:"stage,omitempty"` // input | output | upstream
	Rule        string `json:"rule,omitempty"`
	Category    string `json:"category,omitempty"` // e.g. TC260 A.1 … A.5
	PackVersion string `json:"pack_version,omitempty"`
	Action      string `json:"action,omitempty"` // allow | block | retract | flag
}

// Usage is the token usage of a request.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens,omitempty"`
	CompletionTokens int64 `json:"completion_tokens,omitempty"`
}

// Record is one audit log entry. The caller fills the content fields; the Writer assigns
// Chain, Seq, PrevHash and Hash. Time is the caller's (the writer sets it if zero).
//
// Hash is SHA-256 over the canonical encoding (see Canonical) of every field except Seq and
// Hash itself; PrevHash links it to the previous record of the same chain. Seq is the
// storage position and deliberately not hashed: the chain order is defined by the links, so
// verification can tell an inserted or moved record from an edited one.
type Record struct {
	Seq      uint64    `json:"seq"`
	Chain    string    `json:"chain"`
	Time     time.Time `json:"time"`
	Kind     Kind      `json:"kind"`
	Request  string    `json:"request_id,omitempty"`
	Tenant   string    `json:"tenant,omitempty"`
	KeyID    string    `json:"key_id,omitempty"`
	Region   string    `json:"region,omitempty"`
	Provider string    `json:"provider,omitempty"`
	Model    string    `json:"model,omitempty"`
	// Route names the route and fallback steps taken ("qwen-plus>qwen-turbo").
	Route string `json:"route,omitempty"`
	// Privacy counts placeholders by PII type ("phone": 2).
	Privacy   map[string]int64 `json:"privacy,omitempty"`
	Safety    []SafetyOutcome  `json:"safety,omitempty"`
	Usage     Usage            `json:"usage"`
	LatencyMS int64            `json:"latency_ms,omitempty"`
	Status    int              `json:"status,omitempty"`     // HTTP status sent to the client
	ErrorCode string           `json:"error_code,omitempty"` // apierr code when refused or failed
	ProduceID string           `json:"produce_id,omitempty"` // GB 45438 content number
	// PromptMAC and AnswerMAC are HMAC-SHA256 of the content under the deployment's audit
	// HMAC key (ContentMAC): equal content can be recognised by whoever holds the key, but
	// the log alone does not reveal it.
	PromptMAC Hash `json:"prompt_hmac,omitempty"`
	AnswerMAC Hash `json:"answer_hmac,omitempty"`
	// Details holds a few small fields for complaint, admin and key events. Never content.
	Details  map[string]string `json:"details,omitempty"`
	PrevHash Hash              `json:"prev_hash"`
	Hash     Hash              `json:"hash"`
	// Corrupt is set by a store when a stored field could not be decoded; Verify reports
	// such a record as edited. Never set it yourself.
	Corrupt string `json:"-"`
}

// ContentMAC returns HMAC-SHA256(key, text), the keyed hash stored instead of content.
func ContentMAC(key []byte, text string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(text))
	return m.Sum(nil)
}

// MACer computes ContentMAC under one key. It keeps keyed HMAC states for reuse, so a MAC
// costs the hashing of the text, not the set-up of a new HMAC. It is safe for concurrent use.
type MACer struct{ pool sync.Pool }

// NewMACer returns a MACer for key.
func NewMACer(key []byte) *MACer {
	key = bytes.Clone(key)
	m := &MACer{}
	m.pool.New = func() any { return hmac.New(sha256.New, key) }
	return m
}

// MAC returns ContentMAC(key, text).
func (m *MACer) MAC(text string) []byte {
	h := m.New()
	io.WriteString(h, text)
	return m.Sum(h)
}

// New returns a keyed hash to write content into as it arrives; Sum gives its MAC.
func (m *MACer) New() hash.Hash {
	h := m.pool.Get().(hash.Hash)
	h.Reset()
	return h
}

// Sum returns the MAC of what was written to h, a hash from New, which must not be used
// afterwards.
func (m *MACer) Sum(h hash.Hash) []byte {
	sum := h.Sum(make([]byte, 0, HashSize))
	m.pool.Put(h)
	return sum
}

// canonicalRecord fixes the field order and representation that is hashed. Changing it
// changes every hash: bump the version prefix if it ever must change.
type canonicalRecord struct {
	V         int               `json:"v"`
	Chain     string            `json:"chain"`
	TimeNS    int64             `json:"time_ns"`
	Kind      Kind              `json:"kind"`
	Request   string            `json:"request_id,omitempty"`
	Tenant    string            `json:"tenant,omitempty"`
	KeyID     string            `json:"key_id,omitempty"`
	Region    string            `json:"region,omitempty"`
	Provider  string            `json:"provider,omitempty"`
	Model     string            `json:"model,omitempty"`
	Route     string            `json:"route,omitempty"`
	Privacy   map[string]int64  `json:"privacy,omitempty"`
	Safety    []SafetyOutcome   `json:"safety,omitempty"`
	Prompt    int64             `json:"prompt_tokens,omitempty"`
	Complete  int64             `json:"completion_tokens,omitempty"`
	LatencyMS int64             `json:"latency_ms,omitempty"`
	Status    int               `json:"status,omitempty"`
	ErrorCode string            `json:"error_code,omitempty"`
	ProduceID string            `json:"produce_id,omitempty"`
	PromptMAC string            `json:"prompt_hmac,omitempty"`
	AnswerMAC string            `json:"answer_hmac,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	PrevHash  string            `json:"prev_hash"`
}

// canonicalCap is the buffer a canonical encoding starts with: a CN request's record, with
// its two content MACs, privacy counts and safety outcomes, is 600-800 bytes.
const canonicalCap = 1024

// canonicalVersion is the "v" field of the canonical encoding.
const canonicalVersion = 1

// Canonical returns the bytes that are hashed: compact JSON with a fixed key order, map keys
// sorted, no HTML escaping, time as Unix nanoseconds, byte fields as lowercase hex, empty
// fields omitted (so nil and empty maps hash alike). Seq and Hash are not included.
//
// It is written by hand, byte for byte what encoding/json writes for canonicalRecord (the
// definition, and what FromCanonical reads back): FuzzCanonical compares the two.
func (r *Record) Canonical() ([]byte, error) {
	return r.appendCanonical(make([]byte, 0, canonicalCap)), nil
}

func (r *Record) appendCanonical(b []byte) []byte {
	str := func(name, v string) {
		if v != "" {
			b = append(append(append(b, ',', '"'), name...), '"', ':')
			b = jsonw.AppendString(b, v, false)
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			b = append(append(append(b, ',', '"'), name...), '"', ':')
			b = strconv.AppendInt(b, v, 10)
		}
	}
	hexStr := func(name string, h Hash) {
		if len(h) > 0 {
			b = append(append(append(b, ',', '"'), name...), `":"`...)
			b = append(hex.AppendEncode(b, h), '"')
		}
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, canonicalVersion, 10)
	b = append(b, `,"chain":`...)
	b = jsonw.AppendString(b, r.Chain, false)
	b = append(b, `,"time_ns":`...)
	b = strconv.AppendInt(b, r.Time.UnixNano(), 10)
	b = append(b, `,"kind":`...)
	b = jsonw.AppendString(b, string(r.Kind), false)
	str("request_id", r.Request)
	str("tenant", r.Tenant)
	str("key_id", r.KeyID)
	str("region", r.Region)
	str("provider", r.Provider)
	str("model", r.Model)
	str("route", r.Route)
	if len(r.Privacy) > 0 {
		b = appendCounts(append(b, `,"privacy":`...), r.Privacy, false)
	}
	if len(r.Safety) > 0 {
		b = appendSafety(append(b, `,"safety":`...), r.Safety, false)
	}
	num("prompt_tokens", r.Usage.PromptTokens)
	num("completion_tokens", r.Usage.CompletionTokens)
	num("latency_ms", r.LatencyMS)
	num("status", int64(r.Status))
	str("error_code", r.ErrorCode)
	str("produce_id", r.ProduceID)
	hexStr("prompt_hmac", r.PromptMAC)
	hexStr("answer_hmac", r.AnswerMAC)
	if len(r.Details) > 0 {
		b = appendDetails(append(b, `,"details":`...), r.Details, false)
	}
	b = append(b, `,"prev_hash":"`...)
	b = append(hex.AppendEncode(b, r.PrevHash), '"')
	return append(b, '}')
}

// appendObject appends m as a JSON object with its keys sorted, as encoding/json writes maps
// (html: with its HTML escaping, as json.Marshal; without, as the canonical encoding).
func appendObject[V any](b []byte, m map[string]V, html bool, value func([]byte, V) []byte) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = value(append(jsonw.AppendString(b, k, html), ':'), m[k])
	}
	return append(b, '}')
}

func appendCounts(b []byte, m map[string]int64, html bool) []byte {
	return appendObject(b, m, html, func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) })
}

func appendDetails(b []byte, m map[string]string, html bool) []byte {
	return appendObject(b, m, html, func(b []byte, v string) []byte { return jsonw.AppendString(b, v, html) })
}

// appendSafety appends the outcomes as a JSON array, as encoding/json writes []SafetyOutcome
// (empty members left out).
func appendSafety(b []byte, outcomes []SafetyOutcome, html bool) []byte {
	b = append(b, '[')
	for i, o := range outcomes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		sep := false
		for _, f := range [...]struct{ name, v string }{{"stage", o.Stage}, {"rule", o.Rule},
			{"category", o.Category}, {"pack_version", o.PackVersion}, {"action", o.Action}} {
			if f.v == "" {
				continue
			}
			if sep {
				b = append(b, ',')
			}
			sep = true
			b = append(append(append(b, '"'), f.name...), '"', ':')
			b = jsonw.AppendString(b, f.v, html)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// FromCanonical is the inverse of Canonical: the record whose canonical encoding is c, with
// seq and hash (which the encoding leaves out) set. It checks that hash is the SHA-256 of c,
// so a damaged encoding is an error, not a different record.
func FromCanonical(seq uint64, hash Hash, c []byte) (Record, error) {
	if sum := sha256.Sum256(c); !bytes.Equal(sum[:], hash) {
		return Record{}, errors.New("audit: canonical record does not match its hash")
	}
	var cr canonicalRecord
	if err := json.Unmarshal(c, &cr); err != nil {
		return Record{}, fmt.Errorf("audit: canonical record: %w", err)
	}
	if cr.V != canonicalVersion {
		return Record{}, fmt.Errorf("audit: canonical record version %d, want %d", cr.V, canonicalVersion)
	}
	r := Record{
		Seq: seq, Hash: hash, Chain: cr.Chain, Time: time.Unix(0, cr.TimeNS).UTC(), Kind: cr.Kind,
		Request: cr.Request, Tenant: cr.Tenant, KeyID: cr.KeyID, Region: cr.Region,
		Provider: cr.Provider, Model: cr.Model, Route: cr.Route, Privacy: cr.Privacy,
		Safety: cr.Safety, Usage: Usage{PromptTokens: cr.Prompt, CompletionTokens: cr.Complete},
		LatencyMS: cr.LatencyMS, Status: cr.Status, ErrorCode: cr.ErrorCode, ProduceID: cr.ProduceID,
		Details: cr.Details,
	}
	for _, f := range []struct {
		dst *Hash
		hex string
	}{{&r.PromptMAC, cr.PromptMAC}, {&r.AnswerMAC, cr.AnswerMAC}, {&r.PrevHash, cr.PrevHash}} {
		if f.hex == "" {
			continue
		}
		h, err := hex.DecodeString(f.hex)
		if err != nil {
			return Record{}, fmt.Errorf("audit: canonical record: %w", err)
		}
		*f.dst = h
	}
	return r, nil
}

// ComputeHash returns SHA-256 of the record's canonical encoding.
func (r *Record) ComputeHash() (Hash, error) {
	b, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	return h[:], nil
}

// limits on caller-supplied fields keep one record small; the log is not a content store.
const (
	maxField   = 256
	maxDetails = 32
	maxSafety  = 64
)

// clean makes every string valid UTF-8 without NUL bytes, in place: JSON (the canonical
// encoding) cannot represent other strings exactly and PostgreSQL's text type rejects them,
// and a request must not be refused because a client sent a stray byte in a model name.
// The maps and the outcomes are copied (they are the caller's) only if one needs cleaning.
func (r *Record) clean() {
	for _, p := range []*string{&r.Request, &r.Tenant, &r.KeyID, &r.Region, &r.Provider,
		&r.Model, &r.Route, &r.ErrorCode, &r.ProduceID} {
		*p = cleanString(*p)
	}
	if r.isClean() {
		return
	}
	if len(r.Privacy) > 0 {
		m := make(map[string]int64, len(r.Privacy))
		for k, v := range r.Privacy {
			m[cleanString(k)] += v
		}
		r.Privacy = m
	}
	if len(r.Details) > 0 {
		m := make(map[string]string, len(r.Details))
		for k, v := range r.Details {
			m[cleanString(k)] = cleanString(v)
		}
		r.Details = m
	}
	if len(r.Safety) > 0 {
		s := make([]SafetyOutcome, len(r.Safety))
		for i, o := range r.Safety {
			s[i] = SafetyOutcome{Stage: cleanString(o.Stage), Rule: cleanString(o.Rule),
				Category: cleanString(o.Category), PackVersion: cleanString(o.PackVersion), Action: cleanString(o.Action)}
		}
		r.Safety = s
	}
}

// isClean reports whether the maps and outcomes need no cleaning.
func (r *Record) isClean() bool {
	for k := range r.Privacy {
		if !isCleanString(k) {
			return false
		}
	}
	for k, v := range r.Details {
		if !isCleanString(k) || !isCleanString(v) {
			return false
		}
	}
	for _, o := range r.Safety {
		for _, s := range [...]string{o.Stage, o.Rule, o.Category, o.PackVersion, o.Action} {
			if !isCleanString(s) {
				return false
			}
		}
	}
	return true
}

func isCleanString(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

func cleanString(s string) string {
	if isCleanString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// validate checks what the caller filled in.
func (r *Record) validate() error {
	if !r.Kind.valid() {
		return fmt.Errorf("audit: record kind %q is not one of request, complaint, admin, key", r.Kind)
	}
	// An array, not a map: this runs for every record, and a map literal is built, hashed and
	// iterated each time.
	for _, f := range [...]struct{ name, v string }{{"request_id", r.Request}, {"tenant", r.Tenant},
		{"key_id", r.KeyID}, {"region", r.Region}, {"provider", r.Provider}, {"model", r.Model},
		{"route", r.Route}, {"error_code", r.ErrorCode}, {"produce_id", r.ProduceID}} {
		if len(f.v) > maxField {
			return fmt.Errorf("audit: record field %s is %d bytes, limit %d", f.name, len(f.v), maxField)
		}
	}
	if len(r.Details) > maxDetails || len(r.Privacy) > maxDetails {
		return fmt.Errorf("audit: record has more than %d details or privacy counts", maxDetails)
	}
	for k, v := range r.Details {
		if len(k) > maxField || len(v) > maxField {
			return fmt.Errorf("audit: record detail %.32q is longer than %d bytes", k, maxField)
		}
	}
	if len(r.Safety) > maxSafety {
		return fmt.Errorf("audit: record has %d safety outcomes, limit %d", len(r.Safety), maxSafety)
	}
	for _, m := range []Hash{r.PromptMAC, r.AnswerMAC} {
		if len(m) != 0 && len(m) != HashSize {
			return fmt.Errorf("audit: content MAC is %d bytes, want %d (use ContentMAC)", len(m), HashSize)
		}
	}
	return nil
}
