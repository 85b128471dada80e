// Package tenant issues API keys, stores only their hashes, and resolves a presented key to
// its tenant and the regions it is bound to.
package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// Errors returned by stores.
var (
	ErrNotFound = errors.New("tenant: key not found")
	ErrRevoked  = errors.New("tenant: key revoked")
)

// Key is a stored API key. The secret itself is never stored: Hash is SHA-256 of the full
// key string. (Keys are 32 random bytes, so a fast hash is enough; a slow KDF protects
// low-entropy passwords, which these are not.)
type Key struct {
	ID        string // public identifier, "key_" + 12 hex chars; shown in lists and the audit log
	Tenant    string
	Regions   []string
	Hash      []byte // sha256 of the secret
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Store keeps keys. Implementations: store/sqlite, store/postgres.
type Store interface {
	CreateKey(ctx context.Context, k Key) error
	// KeyByHash returns the key with that hash, revoked or not; ErrNotFound if none.
	KeyByHash(ctx context.Context, hash []byte) (Key, error)
	ListKeys(ctx context.Context) ([]Key, error)
	// RevokeKey marks the key revoked at t; ErrNotFound if no such id.
	RevokeKey(ctx context.Context, id string, t time.Time) error
}

const secretPrefix = "qk-"

// NewSecret returns a new key: its secret (shown once) and the Key record to store.
func NewSecret(tenant string, regions []string, now time.Time) (string, Key, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Key{}, err
	}
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Key{}, err
	}
	secret := secretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	k := Key{
		ID:        "key_" + hex.EncodeToString(id[:]),
		Tenant:    tenant,
		Regions:   append([]string(nil), regions...),
		Hash:      Hash(secret),
		CreatedAt: now.UTC(),
	}
	return secret, k, nil
}

// Hash returns the stored form of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return h[:]
}
