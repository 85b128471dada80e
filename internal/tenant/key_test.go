package tenant

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewSecretStoresOnlyAHash(t *testing.T) {
	secret, k, err := NewSecret("acme", []string{"CN"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "qk-") || len(secret) < 40 || !strings.HasPrefix(k.ID, "key_") {
		t.Fatalf("secret %q id %q", secret, k.ID)
	}
	if bytes.Contains(k.Hash, []byte(secret)) || !bytes.Equal(k.Hash, Hash(secret)) || !bytes.Equal(Hash(" "+secret+"\n"), k.Hash) {
		t.Error("hash is not the trimmed secret's SHA-256")
	}
	other, _, _ := NewSecret("acme", []string{"CN"}, time.Now())
	if other == secret {
		t.Error("two secrets are equal")
	}
}

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	var m MemStore
	secret, k, _ := NewSecret("acme", []string{"CN", "EU"}, time.Now())
	if err := m.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateKey(ctx, k); err == nil {
		t.Error("duplicate key accepted")
	}
	got, err := m.KeyByHash(ctx, Hash(secret))
	if err != nil || got.ID != k.ID {
		t.Fatalf("lookup: %v %v", got, err)
	}
	if _, err := m.KeyByHash(ctx, Hash("nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	if err := m.RevokeKey(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.KeyByHash(ctx, Hash(secret)); got.RevokedAt == nil {
		t.Error("revocation not stored")
	}
	if err := m.RevokeKey(ctx, "key_missing", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
}
