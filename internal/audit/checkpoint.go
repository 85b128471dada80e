package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Checkpoint is a signed statement "chain's record seq has hash Hash", made at Time. Anchor
// checkpoints are written by retention: they say the records up to and including Seq were
// purged on purpose, so the remaining chain may start at Seq+1 with PrevHash == Hash.
type Checkpoint struct {
	Chain     string    `json:"chain"`
	Seq       uint64    `json:"seq"`
	Hash      Hash      `json:"hash"`
	Time      time.Time `json:"time"`
	Anchor    bool      `json:"anchor,omitempty"`
	Signature []byte    `json:"signature"`
}

// SignedBytes returns the message that is signed: a versioned, line-oriented text that any
// verifier can rebuild.
func (c *Checkpoint) SignedBytes() []byte {
	kind := "checkpoint"
	if c.Anchor {
		kind = "anchor"
	}
	return []byte("qiao-audit-" + kind + "-v1\n" + c.Chain + "\n" +
		strconv.FormatUint(c.Seq, 10) + "\n" + c.Hash.String() + "\n" +
		strconv.FormatInt(c.Time.UnixNano(), 10) + "\n")
}

// Sign sets c.Signature.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) {
	c.Signature = ed25519.Sign(key, c.SignedBytes())
}

// VerifySignature reports whether any of keys signed c.
func (c *Checkpoint) VerifySignature(keys ...ed25519.PublicKey) bool {
	msg := c.SignedBytes()
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, c.Signature) {
			return true
		}
	}
	return false
}

// Key file names in the data directory.
const (
	SigningKeyFile = "audit-signing.key" // base64 Ed25519 seed, mode 0600
	PublicKeyFile  = "audit-signing.pub" // base64 public key, for verifiers
	HMACKeyFile    = "audit-hmac.key"    // base64 32-byte key, mode 0600
)

// ParseSigningKey decodes a base64 (std or URL, padded or not) Ed25519 seed of 32 bytes or
// a 64-byte private key.
func ParseSigningKey(s string) (ed25519.PrivateKey, error) {
	b, err := decodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(b), nil
	}
	return nil, fmt.Errorf("audit: signing key is %d bytes, want a %d-byte seed", len(b), ed25519.SeedSize)
}

// ParsePublicKey decodes a base64 Ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := decodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit: public key is %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// EncodeKey returns the base64 form used in key files and environment variables.
func EncodeKey(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not valid base64")
}

// LoadOrCreateSigningKey reads the signing key from dir/SigningKeyFile, creating it (0600)
// with a fresh key on first start, and writes dir/PublicKeyFile for verifiers.
func LoadOrCreateSigningKey(dir string) (ed25519.PrivateKey, error) {
	b, err := loadOrCreate(filepath.Join(dir, SigningKeyFile), ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	key, err := ParseSigningKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", SigningKeyFile, err)
	}
	pub := EncodeKey(key.Public().(ed25519.PublicKey)) + "\n"
	pubPath := filepath.Join(dir, PublicKeyFile)
	if b, err := os.ReadFile(pubPath); err == nil && string(b) == pub {
		return key, nil // up to date; also lets verify run on a read-only data directory
	}
	if err := os.WriteFile(pubPath, []byte(pub), 0o644); err != nil {
		return nil, fmt.Errorf("audit: write public key: %w", err)
	}
	return key, nil
}

// LoadOrCreateHMACKey reads the content HMAC key from dir/HMACKeyFile, creating it on first
// start.
func LoadOrCreateHMACKey(dir string) ([]byte, error) {
	b, err := loadOrCreate(filepath.Join(dir, HMACKeyFile), 32)
	if err != nil {
		return nil, err
	}
	k, err := decodeB64(string(b))
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("audit: %s: want base64 of at least 16 bytes", HMACKeyFile)
	}
	return k, nil
}

// loadOrCreate returns the file's content, creating it with n random bytes (base64) if it
// does not exist. O_EXCL makes two processes starting at once agree on one key.
func loadOrCreate(path string, n int) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: create key directory: %w", err)
	}
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("audit: generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}
	s := []byte(EncodeKey(raw) + "\n")
	if _, err := f.Write(s); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: sync key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("audit: close key: %w", err)
	}
	return s, nil
}
