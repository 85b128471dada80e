package label

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Options are the labeler's injected dependencies. Zero fields take the real ones.
type Options struct {
	Now    func() time.Time         // default time.Now
	Rand   io.Reader                // default crypto/rand.Reader
	Getenv func(name string) string // default os.Getenv
}

// Labeler issues and checks labels for one region profile. It is safe for concurrent use.
//
// Signatures: ReservedCode1 is an Ed25519 signature by the producer key over the producer's
// fields, serialised as the TC260 practice guide (TC260-PG-202511A) does for its SM2
// SecurityData: `"Label":"1","ContentProducer":"…","ProduceID":"…"`. It does not cover the
// propagator fields, because a platform that passes the content on legitimately fills them
// later. ReservedCode2, written when this gateway is the propagator, signs the six other fields.
// Both are unpadded base64url (86 characters). Ed25519 rather than HMAC-SHA256: anyone holding
// the public key can verify a label, without being able to forge one; the secret never has to
// leave the gateway.
type Labeler struct {
	cfg  Config
	key  ed25519.PrivateKey
	pub  ed25519.PublicKey
	now  func() time.Time
	mu   sync.Mutex // guards rand, which need not be safe for concurrent use
	rand io.Reader
	mint minter // labels signed ahead, for Fresh
}

// NewLabeler validates cfg, loads the signing key from the environment variable cfg.KeyEnv
// and returns a Labeler. A disabled (zero) Config is an error: callers check Enabled first.
func NewLabeler(cfg Config, opts Options) (*Labeler, error) {
	if !cfg.Enabled() {
		return nil, fmt.Errorf("%w: labels are not configured (producer is empty)", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	seed, err := decodeKey(opts.Getenv(cfg.KeyEnv), ed25519.SeedSize)
	if err != nil {
		// The value itself is a secret: name the variable, never echo it.
		return nil, fmt.Errorf("%w: key_env %s: %w", ErrConfig, cfg.KeyEnv, err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	return &Labeler{cfg: cfg, key: key, pub: key.Public().(ed25519.PublicKey), now: opts.Now, rand: opts.Rand}, nil
}

func decodeKey(s string, size int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("not set or empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != size {
				return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), size)
			}
			return b, nil
		}
	}
	return nil, errors.New("not valid base64")
}

// GenerateKey returns a new signing key seed (for the variable named by key_env) and its
// public key, both base64 (standard alphabet).
func GenerateKey(r io.Reader) (seed, public string, err error) {
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return "", "", fmt.Errorf("label: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub), nil
}

// Config returns the effective configuration (defaults applied).
func (l *Labeler) Config() Config { return l.cfg }

// PublicKey returns the verification key, base64 (standard alphabet). It may be published.
func (l *Labeler) PublicKey() string { return base64.StdEncoding.EncodeToString(l.pub) }

// New returns a fresh implicit label for one piece of content this gateway produced: Label
// "1", ContentProducer from configuration, a new ProduceID (a UUIDv7: unique, and sortable by
// time so logs can be searched by it) and ReservedCode1. Propagator fields stay empty.
func (l *Labeler) New() Implicit {
	imp := Implicit{Label: LabelGenerated, ContentProducer: l.cfg.Producer, ProduceID: l.newID()}
	imp.ReservedCode1 = sign(l.key, producerMessage(imp))
	return imp
}

// Propagate returns imp, a label another producer issued, with this gateway's propagator
// fields filled in: ContentPropagator, a new PropagateID and ReservedCode2. The producer fields
// are kept as they are; the only label of the content is updated, not duplicated.
func (l *Labeler) Propagate(imp Implicit) Implicit {
	imp.ContentPropagator = l.cfg.Propagator
	imp.PropagateID = l.newID()
	imp.ReservedCode2 = sign(l.key, propagatorMessage(imp))
	return imp
}

// Relabel returns the label to write on content that may already carry one: a fresh label
// when it has none or carries one this gateway produced; the existing one with this
// gateway's propagator fields when another producer labelled it.
func (l *Labeler) Relabel(existing *Implicit) Implicit {
	if existing == nil || existing.ContentProducer == l.cfg.Producer || existing.Check() != nil {
		return l.New()
	}
	return l.Propagate(*existing)
}

// Errors of verification.
var (
	ErrBadSignature = errors.New("label: signature does not match: the label was altered or not issued with this key")
	ErrNotOurs      = errors.New("label: neither producer nor propagator is this gateway; cannot verify")
)

// Verify checks imp: its structure, and the signature of every part this gateway issued
// (ReservedCode1 if ContentProducer is ours, ReservedCode2 if ContentPropagator is ours). A
// label that names neither returns ErrNotOurs.
func (l *Labeler) Verify(imp Implicit) error {
	return VerifyWithKey(imp, l.pub, l.cfg.Producer, l.cfg.Propagator)
}

// VerifyWithKey is Verify for a verifier that holds only the public key and the codes: it
// checks ReservedCode1 when imp's ContentProducer equals producer and ReservedCode2 when its
// ContentPropagator equals propagator (empty propagator means producer).
func VerifyWithKey(imp Implicit, pub ed25519.PublicKey, producer, propagator string) error {
	if err := imp.Check(); err != nil {
		return err
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("label: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if propagator == "" {
		propagator = producer
	}
	checked := false
	if imp.ContentProducer == producer {
		if !verify(pub, producerMessage(imp), imp.ReservedCode1) {
			return fmt.Errorf("%w (ReservedCode1, ProduceID %s)", ErrBadSignature, imp.ProduceID)
		}
		checked = true
	}
	if imp.ContentPropagator != "" && imp.ContentPropagator == propagator {
		if !verify(pub, propagatorMessage(imp), imp.ReservedCode2) {
			return fmt.Errorf("%w (ReservedCode2, PropagateID %s)", ErrBadSignature, imp.PropagateID)
		}
		checked = true
	}
	if !checked {
		return fmt.Errorf("%w (ContentProducer %s)", ErrNotOurs, imp.ContentProducer)
	}
	return nil
}

// ParsePublicKey decodes a base64 Ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := decodeKey(s, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("label: public key: %w", err)
	}
	return ed25519.PublicKey(b), nil
}

func producerMessage(imp Implicit) []byte {
	return fmt.Appendf(nil, `"Label":%q,"ContentProducer":%q,"ProduceID":%q`, imp.Label, imp.ContentProducer, imp.ProduceID)
}

func propagatorMessage(imp Implicit) []byte {
	return fmt.Appendf(nil, `"Label":%q,"ContentProducer":%q,"ProduceID":%q,"ReservedCode1":%q,"ContentPropagator":%q,"PropagateID":%q`,
		imp.Label, imp.ContentProducer, imp.ProduceID, imp.ReservedCode1, imp.ContentPropagator, imp.PropagateID)
}

func sign(key ed25519.PrivateKey, msg []byte) string {
	return base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, msg))
}

func verify(pub ed25519.PublicKey, msg []byte, sig string) bool {
	b, err := base64.RawURLEncoding.DecodeString(sig)
	return err == nil && len(b) == ed25519.SignatureSize && ed25519.Verify(pub, msg, b)
}

// newID returns a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.
func (l *Labeler) newID() string {
	var u [16]byte
	ms := uint64(l.now().UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	l.mu.Lock()
	_, err := io.ReadFull(l.rand, u[6:])
	l.mu.Unlock()
	if err != nil {
		// An injected source ran dry. Duplicate IDs are not an option, and crypto/rand
		// does not fail (it aborts the program instead), so fall back to it.
		_, _ = rand.Read(u[6:])
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
